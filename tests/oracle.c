/* oracle.c — the double-precision oracle (see oracle.h).
 *
 * How the backward ops are derived. Every forward op here is either linear
 * in its input or a composition of simple functions, so its backward is the
 * chain rule written out:
 *
 *   conv2d   out[n,o,y,x] = b[o] + Σ_{c,ky,kx} in[n,c,y·s−p+ky, x·s−p+kx] · w[o,c,ky,kx].
 *            Each product term ("tap") links one input pixel, one weight and
 *            one output pixel. The forward GATHERS the taps into the output;
 *            both backwards SCATTER dout through the same taps: into the input
 *            pixel (data) or into the weight (filter). One tap walker drives
 *            all three, so they are adjoint by construction.
 *   batchnorm  x̂ = (x − μ)·σ⁻¹, y = γ·x̂ + β, with μ, σ² the batch mean and
 *            biased variance over M = N·P values. Then ∂L/∂β = Σ dy,
 *            ∂L/∂γ = Σ dy·x̂, and, since ∂μ/∂x_i = 1/M and
 *            ∂σ²/∂x_i = 2(x_i − μ)/M,
 *            ∂L/∂x_i = γσ⁻¹·(dy_i − mean(dy) − x̂_i·mean(dy·x̂)).
 *   softmax cross-entropy  ℓ_n = logsumexp(z_n) − z_n[label]; ∂ℓ_n/∂z_n =
 *            softmax(z_n) − onehot(label); the batch mean divides by N.
 *
 * Loops are the obvious ones; speed does not matter, exactness does (sums in
 * double, no reassociation tricks).
 */
#include "oracle.h"

#include <math.h>
#include <string.h>

/* ---- convolution ------------------------------------------------------- */

/* Offset of in[n, c, iy, ix], or −1 when (iy, ix) is in the zero padding. */
static long input_offset(const fb_conv_geom *g, int n, int c, int iy, int ix)
{
    if (iy < 0 || iy >= g->in_h || ix < 0 || ix >= g->in_w)
        return -1;
    return (((long)n * g->in_channels + c) * g->in_h + iy) * g->in_w + ix;
}

static size_t output_offset(const fb_conv_geom *g, int n, int o, int y, int x)
{
    return (((size_t)n * g->out_channels + o) * g->out_h + y) * g->out_w + x;
}

static size_t weight_offset(const fb_conv_geom *g, int o, int c, int ky, int kx)
{
    return (((size_t)o * g->in_channels + c) * g->kernel + ky) * g->kernel + kx;
}

enum tap_mode { TAP_FORWARD, TAP_BACKWARD_DATA, TAP_BACKWARD_FILTER };

/* Visits every tap (n, o, y, x, c, ky, kx) that reads a real (not padding)
 * input pixel and applies the mode's update. `in_values` is the input for
 * the forward and the filter gradient; `out_values` is out (forward) or dout
 * (backwards); `target` is what the mode accumulates into. */
static void walk_taps(enum tap_mode mode, double *target, const double *in_values,
                      const double *out_values, const double *weight, const fb_conv_geom *g)
{
    for (int n = 0; n < g->batch; n++)
        for (int o = 0; o < g->out_channels; o++)
            for (int y = 0; y < g->out_h; y++)
                for (int x = 0; x < g->out_w; x++) {
                    size_t out_at = output_offset(g, n, o, y, x);
                    for (int c = 0; c < g->in_channels; c++)
                        for (int ky = 0; ky < g->kernel; ky++)
                            for (int kx = 0; kx < g->kernel; kx++) {
                                long in_at = input_offset(g, n, c, y * g->stride - g->pad + ky,
                                                          x * g->stride - g->pad + kx);
                                if (in_at < 0)
                                    continue;
                                size_t w_at = weight_offset(g, o, c, ky, kx);
                                switch (mode) {
                                case TAP_FORWARD:
                                    target[out_at] += in_values[in_at] * weight[w_at];
                                    break;
                                case TAP_BACKWARD_DATA:
                                    target[in_at] += out_values[out_at] * weight[w_at];
                                    break;
                                case TAP_BACKWARD_FILTER:
                                    target[w_at] += out_values[out_at] * in_values[in_at];
                                    break;
                                }
                            }
                }
}

static size_t conv_in_count(const fb_conv_geom *g)
{
    return (size_t)g->batch * g->in_channels * g->in_h * g->in_w;
}

static size_t conv_out_count(const fb_conv_geom *g)
{
    return (size_t)g->batch * g->out_channels * g->out_h * g->out_w;
}

void oracle_conv2d_forward(double *out, const double *in, const double *weight, const double *bias,
                           const fb_conv_geom *g)
{
    size_t plane = (size_t)g->out_h * g->out_w;
    for (int n = 0; n < g->batch; n++)
        for (int o = 0; o < g->out_channels; o++)
            for (size_t p = 0; p < plane; p++)
                out[((size_t)n * g->out_channels + o) * plane + p] = bias ? bias[o] : 0.0;
    walk_taps(TAP_FORWARD, out, in, NULL, weight, g);
}

void oracle_conv2d_backward_data(double *din, const double *dout, const double *weight,
                                 const fb_conv_geom *g)
{
    memset(din, 0, conv_in_count(g) * sizeof *din);
    walk_taps(TAP_BACKWARD_DATA, din, NULL, dout, weight, g);
}

void oracle_conv2d_backward_filter(double *dweight, double *dbias, const double *dout,
                                   const double *in, const fb_conv_geom *g)
{
    size_t weight_count = (size_t)g->out_channels * g->in_channels * g->kernel * g->kernel;
    memset(dweight, 0, weight_count * sizeof *dweight);
    walk_taps(TAP_BACKWARD_FILTER, dweight, in, dout, NULL, g);
    if (!dbias)
        return;
    size_t plane = (size_t)g->out_h * g->out_w;
    for (int o = 0; o < g->out_channels; o++)
        dbias[o] = 0.0;
    for (size_t i = 0; i < conv_out_count(g); i++)
        dbias[(i / plane) % g->out_channels] += dout[i];
}

/* ---- batch normalisation ----------------------------------------------- */

static size_t at(int n, int c, int p, int channels, int spatial)
{
    return ((size_t)n * channels + c) * spatial + p;
}

/* Mean and biased variance of channel c over the batch and the plane. */
static void channel_moments(const double *in, int batch, int channels, int spatial, int c,
                            double *mean, double *var)
{
    double count = (double)batch * spatial, sum = 0.0, squares = 0.0;
    for (int n = 0; n < batch; n++)
        for (int p = 0; p < spatial; p++)
            sum += in[at(n, c, p, channels, spatial)];
    *mean = sum / count;
    for (int n = 0; n < batch; n++)
        for (int p = 0; p < spatial; p++) {
            double d = in[at(n, c, p, channels, spatial)] - *mean;
            squares += d * d;
        }
    *var = squares / count;
}

void oracle_batchnorm_forward_train(double *out, double *save_mean, double *save_invstd,
                                    double *running_mean, double *running_var, const double *in,
                                    const double *gamma, const double *beta, int batch,
                                    int channels, int spatial)
{
    double count = (double)batch * spatial;
    for (int c = 0; c < channels; c++) {
        double mean, var;
        channel_moments(in, batch, channels, spatial, c, &mean, &var);
        double invstd = 1.0 / sqrt(var + ORACLE_BN_EPS);
        for (int n = 0; n < batch; n++)
            for (int p = 0; p < spatial; p++) {
                size_t i = at(n, c, p, channels, spatial);
                out[i] = gamma[c] * (in[i] - mean) * invstd + beta[c];
            }
        save_mean[c] = mean;
        save_invstd[c] = invstd;
        double unbiased = count > 1 ? var * count / (count - 1) : var;
        running_mean[c] = (1.0 - ORACLE_BN_MOMENTUM) * running_mean[c] + ORACLE_BN_MOMENTUM * mean;
        running_var[c] =
            (1.0 - ORACLE_BN_MOMENTUM) * running_var[c] + ORACLE_BN_MOMENTUM * unbiased;
    }
}

void oracle_batchnorm_forward_eval(double *out, const double *in, const double *gamma,
                                   const double *beta, const double *running_mean,
                                   const double *running_var, int batch, int channels,
                                   int spatial)
{
    for (int c = 0; c < channels; c++) {
        double invstd = 1.0 / sqrt(running_var[c] + ORACLE_BN_EPS);
        for (int n = 0; n < batch; n++)
            for (int p = 0; p < spatial; p++) {
                size_t i = at(n, c, p, channels, spatial);
                out[i] = gamma[c] * (in[i] - running_mean[c]) * invstd + beta[c];
            }
    }
}

void oracle_batchnorm_backward(double *din, double *dgamma, double *dbeta, const double *dout,
                               const double *in, const double *gamma, int batch, int channels,
                               int spatial)
{
    double count = (double)batch * spatial;
    for (int c = 0; c < channels; c++) {
        double mean, var;
        channel_moments(in, batch, channels, spatial, c, &mean, &var);
        double invstd = 1.0 / sqrt(var + ORACLE_BN_EPS);
        double sum_dy = 0.0, sum_dy_xhat = 0.0;
        for (int n = 0; n < batch; n++)
            for (int p = 0; p < spatial; p++) {
                size_t i = at(n, c, p, channels, spatial);
                sum_dy += dout[i];
                sum_dy_xhat += dout[i] * (in[i] - mean) * invstd;
            }
        double mean_dy = sum_dy / count, mean_dy_xhat = sum_dy_xhat / count;
        for (int n = 0; n < batch; n++)
            for (int p = 0; p < spatial; p++) {
                size_t i = at(n, c, p, channels, spatial);
                double xhat = (in[i] - mean) * invstd;
                din[i] = gamma[c] * invstd * (dout[i] - mean_dy - xhat * mean_dy_xhat);
            }
        dgamma[c] = sum_dy_xhat;
        dbeta[c] = sum_dy;
    }
}

/* ---- elementwise ------------------------------------------------------- */

void oracle_relu_forward(double *out, const double *in, size_t count)
{
    for (size_t i = 0; i < count; i++)
        out[i] = in[i] > 0.0 ? in[i] : 0.0;
}

void oracle_relu_backward(double *din, const double *dout, const double *out, size_t count)
{
    for (size_t i = 0; i < count; i++)
        din[i] = out[i] > 0.0 ? dout[i] : 0.0;
}

void oracle_add(double *out, const double *a, const double *b, size_t count)
{
    for (size_t i = 0; i < count; i++)
        out[i] = a[i] + b[i];
}

/* ---- average pooling --------------------------------------------------- */

void oracle_avgpool_forward(double *out, const double *in, int batch, int channels, int h, int w,
                            int k)
{
    int oh = h / k, ow = w / k;
    for (int plane = 0; plane < batch * channels; plane++) {
        const double *source = in + (size_t)plane * h * w;
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                double sum = 0.0;
                for (int dy = 0; dy < k; dy++)
                    for (int dx = 0; dx < k; dx++)
                        sum += source[(size_t)(y * k + dy) * w + (x * k + dx)];
                out[((size_t)plane * oh + y) * ow + x] = sum / (k * k);
            }
    }
}

void oracle_avgpool_backward(double *din, const double *dout, int batch, int channels, int h,
                             int w, int k)
{
    int oh = h / k, ow = w / k;
    for (int plane = 0; plane < batch * channels; plane++)
        for (int iy = 0; iy < h; iy++)
            for (int ix = 0; ix < w; ix++) {
                int y = iy / k, x = ix / k;
                double grad = 0.0;
                if (y < oh && x < ow) /* rows/columns past the last full window get nothing */
                    grad = dout[((size_t)plane * oh + y) * ow + x] / (k * k);
                din[((size_t)plane * h + iy) * w + ix] = grad;
            }
}

/* ---- linear ------------------------------------------------------------ */

void oracle_linear_forward(double *out, const double *in, const double *weight, const double *bias,
                           int batch, int in_features, int out_features)
{
    for (int n = 0; n < batch; n++)
        for (int o = 0; o < out_features; o++) {
            double sum = bias ? bias[o] : 0.0;
            for (int i = 0; i < in_features; i++)
                sum += in[(size_t)n * in_features + i] * weight[(size_t)o * in_features + i];
            out[(size_t)n * out_features + o] = sum;
        }
}

void oracle_linear_backward(double *din, double *dweight, double *dbias, const double *dout,
                            const double *in, const double *weight, int batch, int in_features,
                            int out_features)
{
    if (din)
        for (int n = 0; n < batch; n++)
            for (int i = 0; i < in_features; i++) {
                double sum = 0.0;
                for (int o = 0; o < out_features; o++)
                    sum += dout[(size_t)n * out_features + o] * weight[(size_t)o * in_features + i];
                din[(size_t)n * in_features + i] = sum;
            }
    for (int o = 0; o < out_features; o++)
        for (int i = 0; i < in_features; i++) {
            double sum = 0.0;
            for (int n = 0; n < batch; n++)
                sum += dout[(size_t)n * out_features + o] * in[(size_t)n * in_features + i];
            dweight[(size_t)o * in_features + i] = sum;
        }
    if (dbias)
        for (int o = 0; o < out_features; o++) {
            double sum = 0.0;
            for (int n = 0; n < batch; n++)
                sum += dout[(size_t)n * out_features + o];
            dbias[o] = sum;
        }
}

/* ---- input normaliser -------------------------------------------------- */

void oracle_normalize_forward(double *out, const double *in, const double *mean, const double *std,
                              int batch, int channels, int spatial)
{
    for (int n = 0; n < batch; n++)
        for (int c = 0; c < channels; c++)
            for (int p = 0; p < spatial; p++) {
                size_t i = at(n, c, p, channels, spatial);
                double clamped = fmin(fmax(in[i], 0.0), 1.0);
                out[i] = (clamped - mean[c]) / std[c];
            }
}

void oracle_normalize_backward(double *din, const double *dout, const double *in,
                               const double *std, int batch, int channels, int spatial)
{
    for (int n = 0; n < batch; n++)
        for (int c = 0; c < channels; c++)
            for (int p = 0; p < spatial; p++) {
                size_t i = at(n, c, p, channels, spatial);
                int inside = in[i] >= 0.0 && in[i] <= 1.0;
                din[i] = inside ? dout[i] / std[c] : 0.0;
            }
}

/* ---- cross-entropy ----------------------------------------------------- */

double oracle_cross_entropy_forward(double *probs, const double *logits, const int32_t *labels,
                                    int batch, int classes)
{
    double total = 0.0;
    for (int n = 0; n < batch; n++) {
        const double *z = logits + (size_t)n * classes;
        double largest = z[0];
        for (int k = 1; k < classes; k++)
            largest = fmax(largest, z[k]);
        double sum = 0.0;
        for (int k = 0; k < classes; k++)
            sum += exp(z[k] - largest);
        double log_sum_exp = largest + log(sum);
        for (int k = 0; k < classes; k++)
            probs[(size_t)n * classes + k] = exp(z[k] - log_sum_exp);
        total += log_sum_exp - z[labels[n]];
    }
    return total / batch;
}

void oracle_cross_entropy_backward(double *dlogits, const double *probs, const int32_t *labels,
                                   int batch, int classes)
{
    for (int n = 0; n < batch; n++)
        for (int k = 0; k < classes; k++) {
            size_t i = (size_t)n * classes + k;
            double onehot = k == labels[n] ? 1.0 : 0.0;
            dlogits[i] = (probs[i] - onehot) / batch;
        }
}

/* ---- optimiser --------------------------------------------------------- */

void oracle_sgd_step(double *param, double *momentum_buf, const double *grad, size_t count,
                     double lr, double momentum, double weight_decay, int first_step)
{
    for (size_t i = 0; i < count; i++) {
        double g = grad[i] + weight_decay * param[i];
        momentum_buf[i] = first_step ? g : momentum * momentum_buf[i] + g;
        param[i] -= lr * momentum_buf[i];
    }
}

void oracle_batchnorm_backward_eval(double *din, double *dgamma, double *dbeta, const double *dout,
                                    const double *in, const double *gamma,
                                    const double *running_mean, const double *running_var,
                                    int batch, int channels, int spatial)
{
    for (int c = 0; c < channels; c++) {
        double invstd = 1.0 / sqrt(running_var[c] + 1e-5), sum_dy = 0.0, sum_dy_xhat = 0.0;
        for (int n = 0; n < batch; n++)
            for (int p = 0; p < spatial; p++) {
                size_t i = ((size_t)n * channels + c) * spatial + p;
                din[i] = dout[i] * gamma[c] * invstd;
                sum_dy += dout[i];
                sum_dy_xhat += dout[i] * (in[i] - running_mean[c]) * invstd;
            }
        dgamma[c] = sum_dy_xhat;
        dbeta[c] = sum_dy;
    }
}
