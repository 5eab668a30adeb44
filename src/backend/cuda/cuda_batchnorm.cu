/* cuda_batchnorm.cu — BatchNorm2d on the GPU: training forward (batch
 * statistics), eval forward (running statistics) and both backwards.
 *
 * PyTorch: F.batch_norm(x, running_mean, running_var, weight, bias,
 * training, momentum=0.1, eps=1e-5) and its autograd backward.
 *
 * Shapes: in/out/dout/din [N, C, P] (P = H·W), gamma/beta/statistics [C].
 * Maths (the same as kernels.h, which cpu and cpu-ref share):
 *   mean = Σx / M, var = Σ(x − mean)² / M (biased, two passes), M = N·P
 *   invstd = 1/sqrt(var + eps); y = (x − mean)·(invstd·γ) + β
 *   running_mean ← 0.9·running_mean + 0.1·mean
 *   running_var  ← 0.9·running_var + 0.1·var·M/(M−1)   (unbiased)
 *   backward: x̂ = (x − mean)·invstd, dβ = Σdy, dγ = Σdy·x̂,
 *             dx = γ·invstd/M · (M·dy − dβ − x̂·dγ)
 *   eval backward: dx = dy·γ/sqrt(rv + eps), dγ = Σdy·(x − rm)/sqrt(rv+eps), dβ = Σdy
 *
 * Work split: one thread block per channel for everything that sums (train
 * forward, both backwards); one thread per element for the eval forward.
 * The train forward runs in three kernels (Σx, then Σ(x − mean)², then the
 * normalisation) and the backward in two (Σdy and Σdy·x̂, then dx), each
 * sum kept per channel in double in a device scratch buffer between them.
 * When the call holds one shard of a batch (MPI ranks, batch_view.h), the
 * sums are combined across the ranks between the kernels: copied to the
 * host, merged by the view's combine, copied back (fb_cuda_combine_sums);
 * M is then the whole batch's total·P, and the backward's dγ, dβ are
 * written by the leading shard and −0.0 elsewhere, as on the CPU.
 * A block's threads walk the channel's M elements (element e = n·P + p,
 * thread t takes e = t, t + 1024, ...), accumulating in double, and the block
 * adds the 1024 partials in a fixed tree (fb_block_sum). So every statistic
 * has one fixed summation order: bit-identical from run to run, no atomics.
 * The per-element arithmetic is the float/double sequence of kernels.h
 * (built with --fmad=false, so no fused multiply-adds), which makes the
 * eval forward and the eval backward's din bit-identical to cpu-ref; the
 * sums differ from cpu-ref's serial order only in the last double bits.
 * (They do not follow the batch tree: a shard's sum is the block's strided
 * order over its own samples, so on this backend the bits depend on how
 * many ranks share a batch; for one rank count they are fixed.)
 */
#include "backend/cuda/cuda_internal.cuh"
#include "backend/kernels.h"

/* address of element e = n·P + p of channel c */
static __device__ size_t channel_index(size_t e, int c, int channels, int spatial)
{
    size_t p, n = fb_divmod(e, (size_t)spatial, &p);
    return (n * channels + c) * spatial + p;
}

/* sums[c] = Σ x over this call's samples of channel c (one block per c) */
static __global__ void __launch_bounds__(FB_CUDA_REDUCE_THREADS)
bn_sum_kernel(double *sums, const float *in, int batch, int channels, int spatial)
{
    const int c = blockIdx.x;
    const size_t M = (size_t)batch * spatial;
    double sum = 0.0;
    for (size_t e = threadIdx.x; e < M; e += blockDim.x)
        sum += in[channel_index(e, c, channels, spatial)];
    sum = fb_block_sum(sum);
    if (threadIdx.x == 0)
        sums[c] = sum;
}

/* squares[c] = Σ (x − mean)² with mean = sums[c] / count */
static __global__ void __launch_bounds__(FB_CUDA_REDUCE_THREADS)
bn_squares_kernel(double *squares, const double *sums, double count, const float *in, int batch,
                  int channels, int spatial)
{
    const int c = blockIdx.x;
    const size_t M = (size_t)batch * spatial;
    const double mean = sums[c] / count;
    double total = 0.0;
    for (size_t e = threadIdx.x; e < M; e += blockDim.x) {
        double d = in[channel_index(e, c, channels, spatial)] - mean;
        total += d * d;
    }
    total = fb_block_sum(total);
    if (threadIdx.x == 0)
        squares[c] = total;
}

/* y = (x − mean)·invstd·γ + β from the (whole batch's) sums; saves mean
 * and invstd, moves the running statistics */
static __global__ void __launch_bounds__(FB_CUDA_REDUCE_THREADS)
bn_normalize_kernel(float *out, float *save_mean, float *save_invstd, float *running_mean,
                    float *running_var, const float *in, const float *gamma, const float *beta,
                    const double *sums, const double *squares, double count, int batch,
                    int channels, int spatial)
{
    const int c = blockIdx.x;
    const size_t M = (size_t)batch * spatial;
    const double mean = sums[c] / count, var = squares[c] / count;
    const float invstd = bn_invstd(var);
    const float m = (float)mean, scale = invstd * gamma[c], shift = beta[c];
    for (size_t e = threadIdx.x; e < M; e += blockDim.x) {
        size_t i = channel_index(e, c, channels, spatial);
        out[i] = (in[i] - m) * scale + shift;
    }
    if (threadIdx.x == 0) {
        save_mean[c] = m;
        save_invstd[c] = invstd;
        bn_update_running(&running_mean[c], &running_var[c], mean, var, count);
    }
}

static __global__ void bn_eval_kernel(float *out, const float *in, const float *gamma,
                                      const float *beta, const float *running_mean,
                                      const float *running_var, size_t total, int channels,
                                      int spatial)
{
    GRID_STRIDE_LOOP(i, total) {
        int c = (int)(i / spatial % channels);
        float scale = bn_invstd(running_var[c]) * gamma[c];
        out[i] = (in[i] - running_mean[c]) * scale + beta[c];
    }
}

/* sums[c] = Σ dy, sums[channels + c] = Σ dy·x̂ of channel c */
static __global__ void __launch_bounds__(FB_CUDA_REDUCE_THREADS)
bn_backward_sums_kernel(double *sums, const float *dout, const float *in, const float *save_mean,
                        const float *save_invstd, int batch, int channels, int spatial)
{
    const int c = blockIdx.x;
    const size_t M = (size_t)batch * spatial;
    const double mean = save_mean[c], invstd = save_invstd[c];
    double dy = 0.0, dy_xhat = 0.0;
    for (size_t e = threadIdx.x; e < M; e += blockDim.x) {
        size_t i = channel_index(e, c, channels, spatial);
        dy += dout[i];
        dy_xhat += dout[i] * ((in[i] - mean) * invstd);
    }
    dy = fb_block_sum(dy);
    dy_xhat = fb_block_sum(dy_xhat);
    if (threadIdx.x == 0) {
        sums[c] = dy;
        sums[channels + c] = dy_xhat;
    }
}

/* dx from the (whole batch's) sums; dγ, dβ where this shard leads, else −0.0 */
static __global__ void __launch_bounds__(FB_CUDA_REDUCE_THREADS)
bn_backward_apply_kernel(float *din, float *dgamma, float *dbeta, const float *dout,
                         const float *in, const float *gamma, const float *save_mean,
                         const float *save_invstd, const double *sums, double count, int leads,
                         int batch, int channels, int spatial)
{
    const int c = blockIdx.x;
    const size_t M = (size_t)batch * spatial;
    const double mean = save_mean[c], invstd = save_invstd[c];
    const double sum_dy = sums[c], sum_dy_xhat = sums[channels + c];
    const double scale = (double)gamma[c] * invstd / count;
    for (size_t e = threadIdx.x; e < M; e += blockDim.x) {
        size_t i = channel_index(e, c, channels, spatial);
        double xhat = (in[i] - mean) * invstd;
        din[i] = bn_backward_value(scale, count, dout[i], xhat, sum_dy, sum_dy_xhat);
    }
    if (threadIdx.x == 0) {
        dgamma[c] = leads ? (float)sum_dy_xhat : -0.0f;
        dbeta[c] = leads ? (float)sum_dy : -0.0f;
    }
}

static __global__ void __launch_bounds__(FB_CUDA_REDUCE_THREADS)
bn_backward_eval_kernel(float *din, float *dgamma, float *dbeta, const float *dout, const float *in,
                        const float *gamma, const float *running_mean, const float *running_var,
                        int batch, int channels, int spatial)
{
    const int c = blockIdx.x;
    const size_t M = (size_t)batch * spatial;
    const double invstd = 1.0 / sqrt((double)running_var[c] + FB_BN_EPS);
    const double rm = running_mean[c];
    const float scale = (float)(gamma[c] * invstd);
    double dy = 0.0, dy_xhat = 0.0;
    for (size_t e = threadIdx.x; e < M; e += blockDim.x) {
        size_t i = channel_index(e, c, channels, spatial);
        dy += dout[i];
        dy_xhat += dout[i] * ((in[i] - rm) * invstd);
        din[i] = dout[i] * scale;
    }
    const double sum_dy = fb_block_sum(dy), sum_dy_xhat = fb_block_sum(dy_xhat);
    if (threadIdx.x == 0) {
        dgamma[c] = (float)sum_dy_xhat;
        dbeta[c] = (float)sum_dy;
    }
}

void fb_cuda_batchnorm_forward_train(float *out, float *save_mean, float *save_invstd,
                                     float *running_mean, float *running_var, const float *in,
                                     const float *gamma, const float *beta, int batch,
                                     int channels, int spatial, const fb_batch_view *view)
{
    if (channels < 1)
        return;
    const double count = (double)fb_batch_view_total(view, batch) * spatial;
    double *sums = fb_cuda_sum_scratch(2 * (size_t)channels); /* [C] Σx, then [C] Σ(x − mean)² */
    double *squares = sums + channels;
    bn_sum_kernel<<<channels, FB_CUDA_REDUCE_THREADS>>>(sums, in, batch, channels, spatial);
    LAUNCH_CHECK();
    fb_cuda_combine_sums(view, sums, channels);
    bn_squares_kernel<<<channels, FB_CUDA_REDUCE_THREADS>>>(squares, sums, count, in, batch,
                                                            channels, spatial);
    LAUNCH_CHECK();
    fb_cuda_combine_sums(view, squares, channels);
    bn_normalize_kernel<<<channels, FB_CUDA_REDUCE_THREADS>>>(out, save_mean, save_invstd,
                                                              running_mean, running_var, in, gamma,
                                                              beta, sums, squares, count, batch,
                                                              channels, spatial);
    LAUNCH_CHECK();
}

void fb_cuda_batchnorm_forward_eval(float *out, const float *in, const float *gamma,
                                    const float *beta, const float *running_mean,
                                    const float *running_var, int batch, int channels, int spatial)
{
    size_t total = (size_t)batch * channels * spatial;
    if (total == 0)
        return;
    bn_eval_kernel<<<fb_cuda_grid(total), FB_CUDA_THREADS>>>(out, in, gamma, beta, running_mean,
                                                             running_var, total, channels, spatial);
    LAUNCH_CHECK();
}

void fb_cuda_batchnorm_backward(float *din, float *dgamma, float *dbeta, const float *dout,
                                const float *in, const float *gamma, const float *save_mean,
                                const float *save_invstd, int batch, int channels, int spatial,
                                const fb_batch_view *view)
{
    if (channels < 1)
        return;
    const double count = (double)fb_batch_view_total(view, batch) * spatial;
    double *sums = fb_cuda_sum_scratch(2 * (size_t)channels); /* [C] Σdy, [C] Σdy·x̂ */
    bn_backward_sums_kernel<<<channels, FB_CUDA_REDUCE_THREADS>>>(sums, dout, in, save_mean,
                                                                  save_invstd, batch, channels,
                                                                  spatial);
    LAUNCH_CHECK();
    fb_cuda_combine_sums(view, sums, 2 * channels);
    bn_backward_apply_kernel<<<channels, FB_CUDA_REDUCE_THREADS>>>(
        din, dgamma, dbeta, dout, in, gamma, save_mean, save_invstd, sums, count,
        fb_batch_view_leads(view), batch, channels, spatial);
    LAUNCH_CHECK();
}

void fb_cuda_batchnorm_backward_eval(float *din, float *dgamma, float *dbeta, const float *dout,
                                     const float *in, const float *gamma,
                                     const float *running_mean, const float *running_var,
                                     int batch, int channels, int spatial)
{
    if (channels < 1)
        return;
    bn_backward_eval_kernel<<<channels, FB_CUDA_REDUCE_THREADS>>>(din, dgamma, dbeta, dout, in, gamma,
                                                           running_mean, running_var, batch,
                                                           channels, spatial);
    LAUNCH_CHECK();
}
