/* cuda_conv.cu — conv2d forward and backward on the GPU: im2col / col2im
 * kernels + cuBLAS SGEMM (TF32 off), the GPU twin of cpu.c's convolution.
 *
 * PyTorch: F.conv2d(x, w, b, stride, padding) and its two gradients
 * (torch.nn.grad.conv2d_input / conv2d_weight); cross-correlation, no flip.
 *
 * Shapes (row-major, as everywhere): in[N,C,H,W], weight[OC,C,K,K],
 * out[N,OC,OH,OW]; P = OH·OW, CKK = C·K·K. The batch is cut into chunks of S
 * samples, S chosen from the geometry (at most 128 MiB of columns) and, if
 * the caller's workspace is smaller than conv2d_workspace asked for, from
 * what fits. Per chunk the column matrix is the Caffe layout of im2col.h:
 *   col[CKK, S·P], row (c, ky, kx), column s·P + y·OW + x.
 *   forward        out_s[OC, P]   = W[OC, CKK] × col[:, s·P .. s·P+P)
 *                  (one strided-batched GEMM over the S samples, written
 *                  straight into NCHW; the column block of sample s has
 *                  leading dimension S·P)
 *   backward data  dcol[:, s·P ..) = Wᵀ × dout_s[OC, P]  (strided-batched),
 *                  then col2im
 *   backward filt. dW[OC, CKK]    = Σ_chunks dout_chunk[OC, S·P] × colᵀ
 *                  (dout gathered into [OC, S·P]; chunks accumulated with
 *                  beta = 1 in chunk order)
 * A 1×1, stride-1, unpadded conv needs no im2col for forward and backward
 * data: the input itself is [C, P] per sample (one strided GEMM over N).
 *
 * Determinism. im2col, the gather and the bias add copy or add one term per
 * element. col2im is written as a gather, not a scatter: the thread of input
 * pixel (s, c, iy, ix) sums the col entries that read it in (ky, kx) order —
 * the same terms in the same order as cpu.c's fb_col2im, so no atomics. The
 * bias gradient is one block per output channel (fb_cuda_bias_grad). The
 * chunking depends only on the geometry and the workspace size, the GEMMs
 * run on one stream: same inputs → same bits on every run.
 *
 * Workspace: [col: CKK·S·P floats][gather: OC·S·P floats], each rounded up
 * to 64 floats (256 bytes).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "backend/cuda/cuda_internal.cuh"

#define COL_BUDGET_FLOATS ((size_t)1 << 25) /* 128 MiB of im2col columns per chunk */

typedef struct conv_plan {
    int samples;          /* S: samples per chunk                             */
    int chunks;           /* ceil(N / S)                                      */
    int direct;           /* 1×1, stride 1, pad 0: forward/backward-data use the input as col */
    size_t P, ckk;        /* output pixels per plane, C·K·K                   */
    size_t col_floats;    /* CKK·S·P, rounded to 64                           */
    size_t gather_floats; /* OC·S·P, rounded to 64                            */
} conv_plan;

static size_t round64(size_t floats) { return (floats + 63) / 64 * 64; }

static size_t plan_floats(const fb_conv_geom *g, size_t P, size_t ckk, size_t samples)
{
    return round64(ckk * samples * P) + round64((size_t)g->out_channels * samples * P);
}

static int is_direct(const fb_conv_geom *g)
{
    return g->kernel == 1 && g->stride == 1 && g->pad == 0;
}

/* The chunking for a workspace of workspace_bytes (SIZE_MAX: as large as
 * the geometry wants, which is what conv2d_workspace reports). */
static conv_plan plan_conv(const fb_conv_geom *g, size_t workspace_bytes)
{
    conv_plan plan;
    plan.P = (size_t)g->out_h * g->out_w;
    plan.ckk = (size_t)g->in_channels * g->kernel * g->kernel;
    plan.direct = is_direct(g);
    size_t per_sample = plan.ckk * plan.P;
    size_t samples = per_sample ? COL_BUDGET_FLOATS / per_sample : 1;
    if (samples > (size_t)g->batch)
        samples = (size_t)g->batch;
    if (samples < 1)
        samples = 1;
    if (workspace_bytes != SIZE_MAX) {
        /* the most samples whose two (rounded-up) blocks fit */
        size_t available = workspace_bytes / sizeof(float);
        size_t per = (plan.ckk + (size_t)g->out_channels) * plan.P;
        size_t fit = per ? available / per : samples;
        while (fit > 0 && plan_floats(g, plan.P, plan.ckk, fit) > available)
            fit--;
        if (fit < samples)
            samples = fit;
        if (samples < 1) {
            fprintf(stderr,
                    "freqbias: internal error: cuda conv workspace of %zu bytes is smaller than "
                    "one sample needs (%zu)\n",
                    workspace_bytes, plan_floats(g, plan.P, plan.ckk, 1) * sizeof(float));
            abort();
        }
    }
    plan.samples = (int)samples;
    plan.chunks = (g->batch + plan.samples - 1) / plan.samples;
    plan.col_floats = round64(plan.ckk * plan.samples * plan.P);
    plan.gather_floats = round64((size_t)g->out_channels * plan.samples * plan.P);
    return plan;
}

size_t fb_cuda_conv2d_workspace(const fb_conv_geom *g)
{
    conv_plan plan = plan_conv(g, SIZE_MAX);
    return (plan.col_floats + plan.gather_floats) * sizeof(float);
}

/* ---- kernels ------------------------------------------------------------ */

/* col[CKK, S·P] from in[S, C, H, W]; padding reads give 0. */
static __global__ void im2col_kernel(float *col, const float *in, fb_conv_geom g, int samples)
{
    const int K = g.kernel;
    const size_t P = (size_t)g.out_h * g.out_w, row_length = (size_t)samples * P;
    const size_t total = (size_t)g.in_channels * K * K * row_length;
    GRID_STRIDE_LOOP(i, total) {
        size_t row = i / row_length, column = i % row_length;
        int s = (int)(column / P), p = (int)(column % P);
        int y = p / g.out_w, x = p % g.out_w;
        int kx = (int)(row % K), ky = (int)(row / K % K), c = (int)(row / K / K);
        int iy = y * g.stride - g.pad + ky, ix = x * g.stride - g.pad + kx;
        float v = 0.0f;
        if (iy >= 0 && iy < g.in_h && ix >= 0 && ix < g.in_w)
            v = in[(((size_t)s * g.in_channels + c) * g.in_h + iy) * g.in_w + ix];
        col[i] = v;
    }
}

/* in[S, C, H, W] = Σ over the col entries that read each pixel, summed in
 * (ky, kx) order by the pixel's own thread (overwrites in). */
static __global__ void col2im_kernel(float *in, const float *col, fb_conv_geom g, int samples)
{
    const int K = g.kernel;
    const size_t P = (size_t)g.out_h * g.out_w, row_length = (size_t)samples * P;
    const size_t total = (size_t)samples * g.in_channels * g.in_h * g.in_w;
    GRID_STRIDE_LOOP(i, total) {
        int ix = (int)(i % g.in_w), iy = (int)(i / g.in_w % g.in_h);
        int c = (int)(i / ((size_t)g.in_w * g.in_h) % g.in_channels);
        int s = (int)(i / ((size_t)g.in_w * g.in_h * g.in_channels));
        float sum = 0.0f;
        for (int ky = 0; ky < K; ky++) {
            int ty = iy + g.pad - ky;
            if (ty < 0 || ty % g.stride)
                continue;
            int y = ty / g.stride;
            if (y >= g.out_h)
                continue;
            for (int kx = 0; kx < K; kx++) {
                int tx = ix + g.pad - kx;
                if (tx < 0 || tx % g.stride)
                    continue;
                int x = tx / g.stride;
                if (x >= g.out_w)
                    continue;
                size_t row = ((size_t)c * K + ky) * K + kx;
                sum += col[row * row_length + (size_t)s * P + (size_t)y * g.out_w + x];
            }
        }
        in[i] = sum;
    }
}

/* gathered[OC, S·P] from dout[S, OC, P] (the chunk layout of the filter GEMM) */
static __global__ void gather_kernel(float *gathered, const float *dout, int samples,
                                     int channels, size_t P)
{
    const size_t total = (size_t)channels * samples * P;
    GRID_STRIDE_LOOP(i, total) {
        size_t p = i % P, s = i / P % samples, o = i / P / samples;
        gathered[i] = dout[(s * channels + o) * P + p];
    }
}

/* out[N, OC, P] += bias[OC] */
static __global__ void add_bias_kernel(float *out, const float *bias, size_t total, int channels,
                                       size_t P)
{
    GRID_STRIDE_LOOP(i, total)
        out[i] += bias[i / P % channels];
}

static void im2col(float *col, const float *in, const fb_conv_geom *g, int samples, size_t total)
{
    im2col_kernel<<<fb_cuda_grid(total), FB_CUDA_THREADS>>>(col, in, *g, samples);
    LAUNCH_CHECK();
}

/* ---- ops ---------------------------------------------------------------- */

void fb_cuda_conv2d_forward(float *out, const float *in, const float *weight, const float *bias,
                            const fb_conv_geom *g, void *workspace, size_t workspace_bytes)
{
    if (g->batch < 1)
        return;
    /* the direct path needs no workspace: plan as if it were unlimited */
    const conv_plan plan = plan_conv(g, is_direct(g) ? SIZE_MAX : workspace_bytes);
    const int OC = g->out_channels, P = (int)plan.P, CKK = (int)plan.ckk;
    const size_t in_sample = (size_t)g->in_channels * g->in_h * g->in_w, out_sample = (size_t)OC * P;
    if (plan.direct) { /* out_n[OC, P] = W[OC, C] × in_n[C, P], all samples in one call */
        fb_cuda_gemm_strided(0, 0, OC, P, CKK, weight, CKK, 0, in, P, (long long)in_sample, 0.0f,
                             out, P, (long long)out_sample, g->batch);
    } else {
        float *col = (float *)workspace; /* [CKK, S·P] */
        for (int chunk = 0; chunk < plan.chunks; chunk++) {
            int first = chunk * plan.samples;
            int samples = g->batch - first < plan.samples ? g->batch - first : plan.samples;
            int columns = samples * P;
            im2col(col, in + first * in_sample, g, samples, plan.ckk * columns);
            fb_cuda_gemm_strided(0, 0, OC, P, CKK, weight, CKK, 0, col, columns, P, 0.0f,
                                 out + first * out_sample, P, (long long)out_sample, samples);
        }
    }
    if (bias) {
        size_t total = (size_t)g->batch * out_sample;
        add_bias_kernel<<<fb_cuda_grid(total), FB_CUDA_THREADS>>>(out, bias, total, OC, plan.P);
        LAUNCH_CHECK();
    }
}

void fb_cuda_conv2d_backward_data(float *din, const float *dout, const float *weight,
                                  const fb_conv_geom *g, void *workspace, size_t workspace_bytes)
{
    if (g->batch < 1)
        return;
    /* the direct path needs no workspace: plan as if it were unlimited */
    const conv_plan plan = plan_conv(g, is_direct(g) ? SIZE_MAX : workspace_bytes);
    const int OC = g->out_channels, P = (int)plan.P, CKK = (int)plan.ckk;
    const size_t in_sample = (size_t)g->in_channels * g->in_h * g->in_w, out_sample = (size_t)OC * P;
    if (plan.direct) { /* din_n[C, P] = Wᵀ[C, OC] × dout_n[OC, P] */
        fb_cuda_gemm_strided(1, 0, CKK, P, OC, weight, CKK, 0, dout, P, (long long)out_sample,
                             0.0f, din, P, (long long)in_sample, g->batch);
        return;
    }
    float *col = (float *)workspace; /* [CKK, S·P] */
    for (int chunk = 0; chunk < plan.chunks; chunk++) {
        int first = chunk * plan.samples;
        int samples = g->batch - first < plan.samples ? g->batch - first : plan.samples;
        int columns = samples * P;
        fb_cuda_gemm_strided(1, 0, CKK, P, OC, weight, CKK, 0, dout + first * out_sample, P,
                             (long long)out_sample, 0.0f, col, columns, P, samples);
        size_t total = (size_t)samples * in_sample;
        col2im_kernel<<<fb_cuda_grid(total), FB_CUDA_THREADS>>>(din + first * in_sample, col, *g,
                                                                samples);
        LAUNCH_CHECK();
    }
}

void fb_cuda_conv2d_backward_filter(float *dweight, float *dbias, const float *dout,
                                    const float *in, const fb_conv_geom *g, void *workspace,
                                    size_t workspace_bytes)
{
    const int OC = g->out_channels, CKK = g->in_channels * g->kernel * g->kernel;
    if (g->batch < 1) { /* no samples: the gradients are exactly zero */
        fb_cuda_zero(dweight, (size_t)OC * CKK * sizeof(float));
        if (dbias)
            fb_cuda_zero(dbias, (size_t)OC * sizeof(float));
        return;
    }
    const conv_plan plan = plan_conv(g, workspace_bytes);
    const int P = (int)plan.P;
    const size_t in_sample = (size_t)g->in_channels * g->in_h * g->in_w, out_sample = (size_t)OC * P;
    float *col = (float *)workspace;                     /* [CKK, S·P] */
    float *gathered = (float *)workspace + plan.col_floats; /* [OC, S·P]  */
    for (int chunk = 0; chunk < plan.chunks; chunk++) {
        int first = chunk * plan.samples;
        int samples = g->batch - first < plan.samples ? g->batch - first : plan.samples;
        int columns = samples * P;
        im2col(col, in + first * in_sample, g, samples, plan.ckk * columns);
        const float *grad = dout + first * out_sample; /* one sample: already [OC, P] */
        if (samples > 1) {
            size_t total = (size_t)OC * columns;
            gather_kernel<<<fb_cuda_grid(total), FB_CUDA_THREADS>>>(gathered, grad, samples, OC,
                                                                    plan.P);
            LAUNCH_CHECK();
            grad = gathered;
        }
        /* dW[OC, CKK] (+)= grad[OC, S·P] × col[CKK, S·P]ᵀ, chunks in order */
        fb_cuda_gemm(0, 1, OC, CKK, columns, grad, columns, col, columns,
                     chunk == 0 ? 0.0f : 1.0f, dweight, CKK);
    }
    if (dbias)
        fb_cuda_bias_grad(dbias, dout, g->batch, OC, plan.P);
}
