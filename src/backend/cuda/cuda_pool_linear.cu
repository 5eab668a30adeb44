/* cuda_pool_linear.cu — the head of the ResNets: average pooling and the
 * linear layer, plus the per-output bias gradient the conv backward shares.
 *
 * PyTorch: F.avg_pool2d(x, k) (kernel = stride = k, no padding) and
 * F.linear(x, W, b) with their gradients.
 *
 * Shapes: pool in[N, C, H, W] → out[N, C, H/k, W/k]; linear in[N, IN],
 * weight[OUT, IN], bias[OUT], out[N, OUT].
 *
 * Pooling: one thread per output (forward) or per input pixel (backward),
 * the float sums of kernels.h in the same (dy, dx) order, so the results
 * are bit-identical to cpu-ref's. Pixels outside every window (k does not
 * divide the side) get gradient 0.
 * Linear: cuBLAS SGEMM (TF32 off, see cuda_runtime.cu)
 *   out  = in × Wᵀ          then + bias per row (one thread per element)
 *   din  = dout × W
 *   dW   = doutᵀ × in
 *   dbias[o] = Σ_n dout[n, o]   (one block per output, double, fixed tree)
 * GEMMs on one stream are reproducible run to run (cuBLAS's promise for a
 * fixed GPU and library); against cpu-ref they differ by float rounding.
 */
#include "backend/cuda/cuda_internal.cuh"

static __global__ void avgpool_kernel(float *out, const float *in, size_t total, int h, int w,
                                      int k)
{
    const int oh = h / k, ow = w / k;
    GRID_STRIDE_LOOP(i, total) {
        int x = (int)(i % ow), y = (int)(i / ow % oh);
        size_t plane = i / ((size_t)oh * ow);
        const float *src = in + plane * h * w;
        float sum = 0.0f;
        for (int dy = 0; dy < k; dy++)
            for (int dx = 0; dx < k; dx++)
                sum += src[(size_t)(y * k + dy) * w + x * k + dx];
        out[i] = sum / (float)(k * k);
    }
}

static __global__ void avgpool_backward_kernel(float *din, const float *dout, size_t total, int h,
                                               int w, int k)
{
    const int oh = h / k, ow = w / k;
    GRID_STRIDE_LOOP(i, total) {
        int x = (int)(i % w), y = (int)(i / w % h);
        size_t plane = i / ((size_t)h * w);
        int py = y / k, px = x / k;
        din[i] = (py < oh && px < ow) ? dout[(plane * oh + py) * ow + px] / (float)(k * k) : 0.0f;
    }
}

void fb_cuda_avgpool_forward(float *out, const float *in, int batch, int channels, int h, int w,
                             int k)
{
    size_t total = (size_t)batch * channels * (h / k) * (w / k);
    if (!total)
        return;
    avgpool_kernel<<<fb_cuda_grid(total), FB_CUDA_THREADS>>>(out, in, total, h, w, k);
    LAUNCH_CHECK();
}

void fb_cuda_avgpool_backward(float *din, const float *dout, int batch, int channels, int h,
                              int w, int k)
{
    size_t total = (size_t)batch * channels * h * w;
    if (!total)
        return;
    avgpool_backward_kernel<<<fb_cuda_grid(total), FB_CUDA_THREADS>>>(din, dout, total, h, w, k);
    LAUNCH_CHECK();
}

/* out[N, OUT] += bias[OUT] */
static __global__ void add_row_bias_kernel(float *out, const float *bias, size_t total, int outputs)
{
    GRID_STRIDE_LOOP(i, total)
        out[i] += bias[i % outputs];
}

/* dbias[o] = Σ_n Σ_p dout[n, o, p]: block o, thread t takes elements
 * e = n·P + p = t, t + 1024, ..., in double; fixed tree at the end. */
static __global__ void __launch_bounds__(FB_CUDA_REDUCE_THREADS)
bias_grad_kernel(float *dbias, const float *dout, int batch, int outputs, size_t spatial)
{
    const int o = blockIdx.x;
    const size_t M = (size_t)batch * spatial;
    double sum = 0.0;
    for (size_t e = threadIdx.x; e < M; e += blockDim.x) {
        size_t p, n = fb_divmod(e, spatial, &p);
        sum += dout[(n * outputs + o) * spatial + p];
    }
    double total = fb_block_sum(sum);
    if (threadIdx.x == 0)
        dbias[o] = (float)total;
}

void fb_cuda_bias_grad(float *dbias, const float *dout, int batch, int outputs, size_t spatial)
{
    if (outputs < 1)
        return;
    bias_grad_kernel<<<outputs, FB_CUDA_REDUCE_THREADS>>>(dbias, dout, batch, outputs, spatial);
    LAUNCH_CHECK();
}

void fb_cuda_linear_forward(float *out, const float *in, const float *weight, const float *bias,
                            int batch, int in_f, int out_f)
{
    if (batch < 1 || out_f < 1)
        return;
    /* out[N, OUT] = in[N, IN] × W[OUT, IN]ᵀ */
    fb_cuda_gemm(0, 1, batch, out_f, in_f, in, in_f, weight, in_f, 0.0f, out, out_f);
    if (bias) {
        size_t total = (size_t)batch * out_f;
        add_row_bias_kernel<<<fb_cuda_grid(total), FB_CUDA_THREADS>>>(out, bias, total, out_f);
        LAUNCH_CHECK();
    }
}

void fb_cuda_linear_backward(float *din, float *dweight, float *dbias, const float *dout,
                             const float *in, const float *weight, int batch, int in_f, int out_f)
{
    if (batch < 1) { /* no samples: the parameter gradients are exactly zero */
        fb_cuda_zero(dweight, (size_t)out_f * in_f * sizeof(float));
        if (dbias)
            fb_cuda_zero(dbias, (size_t)out_f * sizeof(float));
        return;
    }
    if (din) /* din[N, IN] = dout[N, OUT] × W[OUT, IN] */
        fb_cuda_gemm(0, 0, batch, in_f, out_f, dout, out_f, weight, in_f, 0.0f, din, in_f);
    /* dW[OUT, IN] = dout[N, OUT]ᵀ × in[N, IN] */
    fb_cuda_gemm(1, 0, out_f, in_f, batch, dout, out_f, in, in_f, 0.0f, dweight, in_f);
    if (dbias)
        fb_cuda_bias_grad(dbias, dout, batch, out_f, 1);
}
