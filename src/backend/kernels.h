/* kernels.h — per-unit op bodies shared by the cpu-ref and cpu backends.
 *
 * Each function computes one independent unit of work (one image plane, one
 * row of logits, one element of SGD) with a fixed order. cpu-ref calls them
 * in plain loops; cpu hands the units to OpenMP threads. Because a unit is
 * always computed by one thread in the same order, both backends give the
 * same bits for these ops, whatever the thread count. The sums over a batch
 * built from them (BatchNorm statistics, the loss, the small layers' weight
 * gradients) follow the batch tree and live in batch_sums.h.
 *
 * The per-element expressions (FB_HOST_DEVICE, core/host_device.h) are also
 * what the CUDA kernels call (src/backend/cuda/), so the elementwise ops,
 * the running statistics and the softmax rows round the same there; only
 * the order of the big sums differs on the GPU.
 */
#ifndef FREQBIAS_BACKEND_KERNELS_H
#define FREQBIAS_BACKEND_KERNELS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "core/host_device.h"
#include "core/portable_math.h"
#include "freqbias/backend.h"

/* Address of element (n, c, p) of an N×C×P tensor. */
static inline size_t nchw_index(int n, int c, int p, int channels, int spatial)
{
    return ((size_t)n * channels + c) * spatial + p;
}

/* BatchNorm's sums over a channel keep BN_LANES double partial sums: value
 * p of every plane goes to lane p mod BN_LANES, and the lanes are added in a
 * fixed tree at the end (batch_sums.h: per leaf of the batch tree). The
 * lanes are independent chains, so the compiler vectorises the loops (one
 * chain of dependent adds ran at a quarter of the memory speed). */
enum { BN_LANES = 8 };

static inline double bn_lanes_total(const double *lane /* [BN_LANES] */)
{
    return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

/* 1/sqrt(var + eps) in double, rounded to float */
FB_HOST_DEVICE static inline float bn_invstd(double var)
{
    return (float)(1.0 / sqrt(var + FB_BN_EPS));
}

/* The running statistics move by FB_BN_MOMENTUM towards the batch mean and
 * the UNBIASED variance of `count` values (PyTorch). */
FB_HOST_DEVICE static inline void bn_update_running(float *running_mean, float *running_var, double mean,
                                                    double var, double count)
{
    double unbiased = count > 1 ? var * count / (count - 1) : var;
    *running_mean = (float)((1.0 - FB_BN_MOMENTUM) * *running_mean + FB_BN_MOMENTUM * mean);
    *running_var = (float)((1.0 - FB_BN_MOMENTUM) * *running_var + FB_BN_MOMENTUM * unbiased);
}

/* Training backward of one element, from the channel's sums (M = count). */
FB_HOST_DEVICE static inline float bn_backward_value(double scale, double count, float dout, double xhat,
                                                     double sum_dy, double sum_dy_xhat)
{
    return (float)(scale * (count * dout - sum_dy - xhat * sum_dy_xhat));
}

static inline void bn_eval_channel(float *out, const float *in, const float *gamma,
                                   const float *beta, const float *running_mean,
                                   const float *running_var, int batch, int channels,
                                   int spatial, int c)
{
    float invstd = bn_invstd(running_var[c]);
    float m = running_mean[c], scale = invstd * gamma[c], shift = beta[c];
    for (int n = 0; n < batch; n++)
        for (int p = 0; p < spatial; p++) {
            size_t i = nchw_index(n, c, p, channels, spatial);
            out[i] = (in[i] - m) * scale + shift;
        }
}

/* One row of the linear layer: out[o] = Σ_i in[i]·W[o, i] + b[o] (b may
 * be NULL), the sum in double, i in order, rounded once. */
static inline void linear_row(float *out /* [OUT] */, const float *in /* [IN] */,
                              const float *weight /* [OUT,IN] */, const float *bias, int in_f,
                              int out_f)
{
    for (int o = 0; o < out_f; o++) {
        double sum = 0.0;
        for (int i = 0; i < in_f; i++)
            sum += (double)in[i] * weight[(size_t)o * in_f + i];
        out[o] = (float)(sum + (bias ? bias[o] : 0.0f));
    }
}

/* din[i] = Σ_o dout[o]·W[o, i] of one row, in double, o in order. */
static inline void linear_input_grad_row(float *din /* [IN] */, const float *dout /* [OUT] */,
                                         const float *weight /* [OUT,IN] */, int in_f, int out_f)
{
    for (int i = 0; i < in_f; i++) {
        double sum = 0.0;
        for (int o = 0; o < out_f; o++)
            sum += (double)dout[o] * weight[(size_t)o * in_f + i];
        din[i] = (float)sum;
    }
}

/* One plane of average pooling with kernel = stride = k. */
static inline void avgpool_plane(float *out /* [H/k,W/k] */, const float *in /* [H,W] */,
                                 int h, int w, int k)
{
    int oh = h / k, ow = w / k;
    for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++) {
            float sum = 0.0f;
            for (int dy = 0; dy < k; dy++)
                for (int dx = 0; dx < k; dx++)
                    sum += in[(size_t)(y * k + dy) * w + x * k + dx];
            out[(size_t)y * ow + x] = sum / (float)(k * k);
        }
}

/* Each input pixel of a pooling window gets 1/k² of the window's gradient;
 * pixels outside every window (when k does not divide the side) get 0. */
static inline void avgpool_backward_plane(float *din /* [H,W] */, const float *dout, int h,
                                          int w, int k)
{
    int oh = h / k, ow = w / k;
    for (size_t i = 0; i < (size_t)h * w; i++)
        din[i] = 0.0f;
    for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++) {
            float share = dout[(size_t)y * ow + x] / (float)(k * k);
            for (int dy = 0; dy < k; dy++)
                for (int dx = 0; dx < k; dx++)
                    din[(size_t)(y * k + dy) * w + x * k + dx] = share;
        }
}

/* The input normaliser of one value: clamp to [0,1], then (v − mean)/std;
 * its gradient passes where 0 ≤ x ≤ 1 (PyTorch includes the ends). */
FB_HOST_DEVICE static inline float normalize_value(float x, float mean, float std)
{
    float v = x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x);
    return (v - mean) / std;
}

FB_HOST_DEVICE static inline float normalize_grad(float dout, float x, float std)
{
    return (x >= 0.0f && x <= 1.0f) ? dout / std : 0.0f;
}

static inline void normalize_plane(float *out, const float *in, float mean, float std,
                                   int spatial)
{
    for (int p = 0; p < spatial; p++)
        out[p] = normalize_value(in[p], mean, std);
}

static inline void normalize_backward_plane(float *din, const float *dout, const float *in,
                                            float std, int spatial)
{
    for (int p = 0; p < spatial; p++)
        din[p] = normalize_grad(dout[p], in[p], std);
}

/* Softmax of one row (max-subtracted, in double) into probs; returns the
 * row's cross-entropy logsumexp(z) − z[label]. fb_exp/fb_log, not libm's:
 * the same bits on every machine (core/portable_math.h). */
FB_HOST_DEVICE static inline double cross_entropy_row(float *probs, const float *logits, int label,
                                                      int classes)
{
    float max = logits[0];
    for (int k = 1; k < classes; k++)
        max = logits[k] > max ? logits[k] : max;
    double sum = 0.0;
    for (int k = 0; k < classes; k++)
        sum += fb_exp((double)logits[k] - max);
    double log_sum = fb_log(sum) + max;
    for (int k = 0; k < classes; k++)
        probs[k] = (float)fb_exp((double)logits[k] - log_sum);
    return log_sum - logits[label];
}

/* ∂(mean loss)/∂logit from its softmax probability; batch = the whole batch */
FB_HOST_DEVICE static inline float cross_entropy_grad(float prob, int is_label, int batch)
{
    return (prob - (is_label ? 1.0f : 0.0f)) / (float)batch;
}

/* PyTorch SGD of one element: g = grad + wd·param; buf = first ? g :
 * momentum·buf + g; param −= lr·buf (no dampening, no Nesterov). */
FB_HOST_DEVICE static inline void sgd_element(float *param, float *momentum_buf, float grad, float lr,
                                              float momentum, float weight_decay, int first_step)
{
    float g = grad + weight_decay * *param;
    float buf = first_step ? g : momentum * *momentum_buf + g;
    *momentum_buf = buf;
    *param = *param - lr * buf;
}

/* PyTorch SGD on elements [begin, end). */
static inline void sgd_range(float *param, float *momentum_buf, const float *grad, size_t begin,
                             size_t end, float lr, float momentum, float weight_decay,
                             int first_step)
{
    for (size_t i = begin; i < end; i++)
        sgd_element(&param[i], &momentum_buf[i], grad[i], lr, momentum, weight_decay, first_step);
}

#endif
