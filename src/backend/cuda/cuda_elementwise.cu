/* cuda_elementwise.cu — the ops that touch each element once: ReLU, add,
 * the input normaliser and the SGD step.
 *
 * PyTorch: F.relu / its backward (grad where out > 0), torch.add,
 * robustness InputNormalize ((clamp(x, 0, 1) − mean[c]) / std[c]) and its
 * backward, torch.optim.SGD(momentum, weight_decay) without dampening or
 * Nesterov.
 *
 * Shapes: flat [count] for ReLU, add and SGD; [N, C, P] with per-channel
 * mean/std [C] for the normaliser. One thread per element (grid-stride), the
 * same element functions as the host (kernels.h: normalize_value,
 * normalize_grad, sgd_element), compiled with
 * --fmad=false (no fused multiply-add), IEEE division: every result here is
 * bit-identical to cpu-ref's, and trivially the same on every run. Aliasing
 * as the op table allows (out = in, din = dout, out = a or b) is safe: each
 * thread reads its element before writing it.
 */
#include "backend/cuda/cuda_internal.cuh"
#include "backend/kernels.h"

static __global__ void relu_kernel(float *out, const float *in, size_t count)
{
    GRID_STRIDE_LOOP(i, count)
        out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

static __global__ void relu_backward_kernel(float *din, const float *dout, const float *out,
                                            size_t count)
{
    GRID_STRIDE_LOOP(i, count)
        din[i] = out[i] > 0.0f ? dout[i] : 0.0f;
}

static __global__ void add_kernel(float *out, const float *a, const float *b, size_t count)
{
    GRID_STRIDE_LOOP(i, count)
        out[i] = a[i] + b[i];
}

static __global__ void normalize_kernel(float *out, const float *in, const float *mean,
                                        const float *std, size_t count, int channels, int spatial)
{
    GRID_STRIDE_LOOP(i, count) {
        int c = (int)(i / spatial % channels);
        out[i] = normalize_value(in[i], mean[c], std[c]);
    }
}

/* clamp passes the gradient where 0 ≤ x ≤ 1, ends included (PyTorch) */
static __global__ void normalize_backward_kernel(float *din, const float *dout, const float *in,
                                                 const float *std, size_t count, int channels,
                                                 int spatial)
{
    GRID_STRIDE_LOOP(i, count) {
        int c = (int)(i / spatial % channels);
        din[i] = normalize_grad(dout[i], in[i], std[c]);
    }
}

/* g = grad + wd·param; buf = first ? g : momentum·buf + g; param −= lr·buf */
static __global__ void sgd_kernel(float *param, float *momentum_buf, const float *grad,
                                  size_t count, float lr, float momentum, float weight_decay,
                                  int first_step)
{
    GRID_STRIDE_LOOP(i, count)
        sgd_element(&param[i], &momentum_buf[i], grad[i], lr, momentum, weight_decay, first_step);
}

void fb_cuda_relu_forward(float *out, const float *in, size_t count)
{
    if (!count)
        return;
    relu_kernel<<<fb_cuda_grid(count), FB_CUDA_THREADS>>>(out, in, count);
    LAUNCH_CHECK();
}

void fb_cuda_relu_backward(float *din, const float *dout, const float *out, size_t count)
{
    if (!count)
        return;
    relu_backward_kernel<<<fb_cuda_grid(count), FB_CUDA_THREADS>>>(din, dout, out, count);
    LAUNCH_CHECK();
}

void fb_cuda_add(float *out, const float *a, const float *b, size_t count)
{
    if (!count)
        return;
    add_kernel<<<fb_cuda_grid(count), FB_CUDA_THREADS>>>(out, a, b, count);
    LAUNCH_CHECK();
}

void fb_cuda_normalize_forward(float *out, const float *in, const float *mean, const float *std,
                               int batch, int channels, int spatial)
{
    size_t count = (size_t)batch * channels * spatial;
    if (!count)
        return;
    normalize_kernel<<<fb_cuda_grid(count), FB_CUDA_THREADS>>>(out, in, mean, std, count,
                                                               channels, spatial);
    LAUNCH_CHECK();
}

void fb_cuda_normalize_backward(float *din, const float *dout, const float *in, const float *std,
                                int batch, int channels, int spatial)
{
    size_t count = (size_t)batch * channels * spatial;
    if (!count)
        return;
    normalize_backward_kernel<<<fb_cuda_grid(count), FB_CUDA_THREADS>>>(din, dout, in, std, count,
                                                                        channels, spatial);
    LAUNCH_CHECK();
}

void fb_cuda_sgd_step(float *param, float *momentum_buf, const float *grad, size_t count,
                      float lr, float momentum, float weight_decay, int first_step)
{
    if (!count)
        return;
    sgd_kernel<<<fb_cuda_grid(count), FB_CUDA_THREADS>>>(param, momentum_buf, grad, count, lr,
                                                         momentum, weight_decay, first_step);
    LAUNCH_CHECK();
}
