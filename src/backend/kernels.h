/* kernels.h — per-unit op bodies shared by the cpu-ref and cpu backends.
 *
 * Each function computes one independent unit of work (one BatchNorm
 * channel, one image plane, one row of logits) with a fixed summation order.
 * cpu-ref calls them in plain loops; cpu hands the units to OpenMP threads.
 * Because a unit is always summed by one thread in the same order, both
 * backends give the same bits for these ops, whatever the thread count.
 * Sums of many terms (BatchNorm statistics, the loss) accumulate in double;
 * BatchNorm sums keep 8 lanes (p mod 8) added in a fixed tree at the end.
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

/* Sums over a channel's N·P values keep BN_LANES double partial sums:
 * value p of every plane goes to lane p mod BN_LANES, and the lanes are
 * added in a fixed tree at the end. The lanes are independent chains, so
 * the compiler vectorises the loops (one chain of dependent adds ran at a
 * quarter of the memory speed), and the order is the same in both
 * backends and for every thread count. */
enum { BN_LANES = 8 };

static inline double bn_lanes_total(const double *lane /* [BN_LANES] */)
{
    return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

/* Two-pass batch statistics of channel c in double: mean, biased variance. */
static inline void bn_channel_stats(const float *in /* [N,C,P] */, int batch, int channels,
                                    int spatial, int c, double *mean, double *var)
{
    double sum[BN_LANES] = {0}, squares[BN_LANES] = {0};
    for (int n = 0; n < batch; n++) {
        const float *plane = in + nchw_index(n, c, 0, channels, spatial); /* [P] */
        int p = 0;
        for (; p + BN_LANES <= spatial; p += BN_LANES)
            for (int l = 0; l < BN_LANES; l++)
                sum[l] += plane[p + l];
        for (; p < spatial; p++)
            sum[p % BN_LANES] += plane[p];
    }
    double count = (double)batch * spatial;
    double m = bn_lanes_total(sum) / count;
    for (int n = 0; n < batch; n++) {
        const float *plane = in + nchw_index(n, c, 0, channels, spatial); /* [P] */
        int p = 0;
        for (; p + BN_LANES <= spatial; p += BN_LANES)
            for (int l = 0; l < BN_LANES; l++) {
                double d = plane[p + l] - m;
                squares[l] += d * d;
            }
        for (; p < spatial; p++) {
            double d = plane[p] - m;
            squares[p % BN_LANES] += d * d;
        }
    }
    *mean = m;
    *var = bn_lanes_total(squares) / count;
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

/* Training forward of channel c: y = (x − mean)·invstd·γ + β, invstd =
 * 1/sqrt(var + eps); running stats move by FB_BN_MOMENTUM towards the batch
 * mean and the UNBIASED batch variance (PyTorch). */
static inline void bn_train_channel(float *out, float *save_mean, float *save_invstd,
                                    float *running_mean, float *running_var, const float *in,
                                    const float *gamma, const float *beta, int batch,
                                    int channels, int spatial, int c)
{
    double mean, var, count = (double)batch * spatial;
    bn_channel_stats(in, batch, channels, spatial, c, &mean, &var);
    float invstd = bn_invstd(var);
    float m = (float)mean, scale = invstd * gamma[c], shift = beta[c];
    for (int n = 0; n < batch; n++)
        for (int p = 0; p < spatial; p++) {
            size_t i = nchw_index(n, c, p, channels, spatial);
            out[i] = (in[i] - m) * scale + shift;
        }
    save_mean[c] = m;
    save_invstd[c] = invstd;
    bn_update_running(&running_mean[c], &running_var[c], mean, var, count);
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

/* Backward of channel c, with x̂ = (x − mean)·invstd and M = N·P:
 * dβ = Σ dy, dγ = Σ dy·x̂, dx = γ·invstd/M · (M·dy − dβ − x̂·dγ). */
static inline void bn_backward_channel(float *din, float *dgamma, float *dbeta,
                                       const float *dout, const float *in, const float *gamma,
                                       const float *save_mean, const float *save_invstd,
                                       int batch, int channels, int spatial, int c)
{
    double count = (double)batch * spatial, dy[BN_LANES] = {0}, dy_xhat[BN_LANES] = {0};
    double mean = save_mean[c], invstd = save_invstd[c];
    for (int n = 0; n < batch; n++) {
        size_t base = nchw_index(n, c, 0, channels, spatial);
        const float *grad = dout + base, *x = in + base; /* [P] each */
        int p = 0;
        for (; p + BN_LANES <= spatial; p += BN_LANES)
            for (int l = 0; l < BN_LANES; l++) {
                dy[l] += grad[p + l];
                dy_xhat[l] += grad[p + l] * ((x[p + l] - mean) * invstd);
            }
        for (; p < spatial; p++) {
            dy[p % BN_LANES] += grad[p];
            dy_xhat[p % BN_LANES] += grad[p] * ((x[p] - mean) * invstd);
        }
    }
    double sum_dy = bn_lanes_total(dy), sum_dy_xhat = bn_lanes_total(dy_xhat);
    double scale = (double)gamma[c] * invstd / count;
    for (int n = 0; n < batch; n++)
        for (int p = 0; p < spatial; p++) {
            size_t i = nchw_index(n, c, p, channels, spatial);
            double xhat = (in[i] - mean) * invstd;
            din[i] = bn_backward_value(scale, count, dout[i], xhat, sum_dy, sum_dy_xhat);
        }
    dgamma[c] = (float)sum_dy_xhat;
    dbeta[c] = (float)sum_dy;
}

/* Eval-mode backward of channel c: the running statistics are constants. */
static inline void bn_backward_eval_channel(float *din, float *dgamma, float *dbeta,
                                            const float *dout, const float *in, const float *gamma,
                                            const float *running_mean, const float *running_var,
                                            int batch, int channels, int spatial, int c)
{
    double invstd = 1.0 / sqrt((double)running_var[c] + FB_BN_EPS), sum_dy = 0.0, sum_dy_xhat = 0.0;
    float scale = (float)(gamma[c] * invstd);
    for (int n = 0; n < batch; n++)
        for (int p = 0; p < spatial; p++) {
            size_t i = nchw_index(n, c, p, channels, spatial);
            sum_dy += dout[i];
            sum_dy_xhat += dout[i] * ((in[i] - (double)running_mean[c]) * invstd);
            din[i] = dout[i] * scale;
        }
    dgamma[c] = (float)sum_dy_xhat;
    dbeta[c] = (float)sum_dy;
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

/* Mean cross-entropy over the batch, rows summed in order. */
static inline void cross_entropy_forward_rows(float *loss, float *probs, const float *logits,
                                              const int32_t *labels, int batch, int classes)
{
    double total = 0.0;
    for (int n = 0; n < batch; n++)
        total += cross_entropy_row(probs + (size_t)n * classes, logits + (size_t)n * classes,
                                   labels[n], classes);
    loss[0] = (float)(total / batch);
}

/* ∂(mean loss)/∂logit from its softmax probability */
FB_HOST_DEVICE static inline float cross_entropy_grad(float prob, int is_label, int batch)
{
    return (prob - (is_label ? 1.0f : 0.0f)) / (float)batch;
}

static inline void cross_entropy_backward_rows(float *dlogits, const float *probs,
                                               const int32_t *labels, int batch, int classes)
{
    for (int n = 0; n < batch; n++)
        for (int k = 0; k < classes; k++) {
            size_t i = (size_t)n * classes + k;
            dlogits[i] = cross_entropy_grad(probs[i], k == labels[n], batch);
        }
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
