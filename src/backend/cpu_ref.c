/* cpu_ref.c — the reference backend: every op as straight nested loops.
 *
 * This is the oracle the fast backends are checked against and the code to
 * read when learning what an op computes. Each output element is summed in
 * one fixed order (the loop order written below), single-threaded, with a
 * double accumulator rounded once to float at the end, so results are
 * bit-identical across runs, thread counts and x86-64 machines built with
 * the same compiler flags (PROFILE=ref disables FMA contraction), and as
 * close to the exact answer as a float output can be: in a ReLU network a
 * pre-activation within float rounding of 0 flips that element's gradient,
 * so the oracle keeps its own rounding as small as possible.
 * Statistics (BatchNorm sums, loss) accumulate in double too. Every sum
 * over the samples of a batch (weight and bias gradients, BatchNorm sums,
 * the loss) follows the batch tree (core/batch_tree.h, batch_sums.h), so a
 * batch split into shards gives the same bits (freqbias/batch_view.h); for
 * the weight gradients that means one float rounding per leaf of ≤ 4
 * samples and float additions up the tree, not one rounding in all.
 *
 * PyTorch equivalents: F.conv2d, F.batch_norm, F.relu, torch.add,
 * F.avg_pool2d, F.linear, clamp + normalise, F.cross_entropy, optim.SGD.
 */
#include <stdlib.h>
#include <string.h>

#include "freqbias/backend.h"
#include "batch_sums.h"

static void *ref_alloc(size_t bytes)
{
    size_t rounded = (bytes + 63) / 64 * 64;
    return aligned_alloc(64, rounded ? rounded : 64);
}
static void ref_release(void *ptr) { free(ptr); }
static void ref_copy(void *dst, const void *src, size_t bytes) { memcpy(dst, src, bytes); }
static void ref_zero(void *dst, size_t bytes) { memset(dst, 0, bytes); }

static size_t ref_conv2d_workspace(const fb_conv_geom *g)
{
    (void)g;
    return 0;
}

/* out[n,o,y,x] = bias[o] + Σ_c Σ_ky Σ_kx in[n,c,y·s−p+ky, x·s−p+kx] · w[o,c,ky,kx] */
static void ref_conv2d_forward(float *out, const float *in, const float *weight,
                               const float *bias, const fb_conv_geom *g, void *ws, size_t wsb)
{
    (void)ws; (void)wsb;
    const int K = g->kernel;
    for (int n = 0; n < g->batch; n++)
        for (int o = 0; o < g->out_channels; o++)
            for (int y = 0; y < g->out_h; y++)
                for (int x = 0; x < g->out_w; x++) {
                    double sum = 0.0;
                    for (int c = 0; c < g->in_channels; c++)
                        for (int ky = 0; ky < K; ky++) {
                            int iy = y * g->stride - g->pad + ky;
                            if (iy < 0 || iy >= g->in_h)
                                continue;
                            for (int kx = 0; kx < K; kx++) {
                                int ix = x * g->stride - g->pad + kx;
                                if (ix < 0 || ix >= g->in_w)
                                    continue;
                                sum += (double)in[((size_t)(n * g->in_channels + c) * g->in_h + iy) * g->in_w + ix] *
                                       weight[((size_t)(o * g->in_channels + c) * K + ky) * K + kx];
                            }
                        }
                    if (bias)
                        sum += bias[o];
                    out[((size_t)(n * g->out_channels + o) * g->out_h + y) * g->out_w + x] = sum;
                }
}

/* din[n,c,iy,ix] = Σ_o Σ_ky Σ_kx dout[n,o,y,x] · w[o,c,ky,kx]
 * over the (y, x) with y·s − p + ky = iy and x·s − p + kx = ix. */
static void ref_conv2d_backward_data(float *din, const float *dout, const float *weight,
                                     const fb_conv_geom *g, void *ws, size_t wsb)
{
    (void)ws; (void)wsb;
    const int K = g->kernel;
    for (int n = 0; n < g->batch; n++)
        for (int c = 0; c < g->in_channels; c++)
            for (int iy = 0; iy < g->in_h; iy++)
                for (int ix = 0; ix < g->in_w; ix++) {
                    double sum = 0.0;
                    for (int o = 0; o < g->out_channels; o++)
                        for (int ky = 0; ky < K; ky++) {
                            int ty = iy + g->pad - ky;
                            if (ty < 0 || ty % g->stride)
                                continue;
                            int y = ty / g->stride;
                            if (y >= g->out_h)
                                continue;
                            for (int kx = 0; kx < K; kx++) {
                                int tx = ix + g->pad - kx;
                                if (tx < 0 || tx % g->stride)
                                    continue;
                                int x = tx / g->stride;
                                if (x >= g->out_w)
                                    continue;
                                sum += (double)dout[((size_t)(n * g->out_channels + o) * g->out_h + y) * g->out_w + x] *
                                       weight[((size_t)(o * g->in_channels + c) * K + ky) * K + kx];
                            }
                        }
                    din[((size_t)(n * g->in_channels + c) * g->in_h + iy) * g->in_w + ix] = sum;
                }
}

/* One weight's gradient over one leaf of the batch tree: the chain of
 * dout·in products over the leaf's samples, rows and columns, in double. */
typedef struct filter_element {
    const float *dout, *in;
    const fb_conv_geom *g;
    int o, c, ky, kx;
} filter_element;

static double filter_element_leaf(const void *ctx, fb_tree_node leaf)
{
    const filter_element *e = ctx;
    const fb_conv_geom *g = e->g;
    double sum = 0.0;
    for (int n = leaf.lo; n < leaf.hi; n++)
        for (int y = 0; y < g->out_h; y++) {
            int iy = y * g->stride - g->pad + e->ky;
            if (iy < 0 || iy >= g->in_h)
                continue;
            for (int x = 0; x < g->out_w; x++) {
                int ix = x * g->stride - g->pad + e->kx;
                if (ix < 0 || ix >= g->in_w)
                    continue;
                sum += (double)e->dout[((size_t)(n * g->out_channels + e->o) * g->out_h + y) * g->out_w + x] *
                       e->in[((size_t)(n * g->in_channels + e->c) * g->in_h + iy) * g->in_w + ix];
            }
        }
    return sum;
}

/* dw[o,c,ky,kx] = Σ_n Σ_y Σ_x dout[n,o,y,x] · in[n,c,y·s−p+ky, x·s−p+kx];
 * dbias[o] = Σ_n Σ_y Σ_x dout[n,o,y,x]; both over n in the batch tree's
 * order: each leaf chained in double and rounded to float, the leaves added
 * up the tree in float, as shards exchange gradients (batch_view.h). */
static void ref_conv2d_backward_filter(float *dweight, float *dbias, const float *dout,
                                       const float *in, const fb_conv_geom *g, void *ws,
                                       size_t wsb)
{
    (void)ws; (void)wsb;
    const int K = g->kernel;
    fb_tree_node batch = {0, g->batch};
    for (int o = 0; o < g->out_channels; o++)
        for (int c = 0; c < g->in_channels; c++)
            for (int ky = 0; ky < K; ky++)
                for (int kx = 0; kx < K; kx++) {
                    filter_element e = {dout, in, g, o, c, ky, kx};
                    dweight[((size_t)(o * g->in_channels + c) * K + ky) * K + kx] =
                        fb_tree_sum_float(batch, filter_element_leaf, &e);
                }
    if (dbias)
        conv_bias_grad(dbias, dout, g->batch, g->out_channels, (size_t)g->out_h * g->out_w, 0);
}

static void ref_batchnorm_forward_train(float *out, float *save_mean, float *save_invstd,
                                        float *running_mean, float *running_var,
                                        const float *in, const float *gamma, const float *beta,
                                        int batch, int channels, int spatial,
                                        const fb_batch_view *view)
{
    bn_forward_train_channels(out, save_mean, save_invstd, running_mean, running_var, in, gamma,
                              beta, batch, channels, spatial, view, 0);
}

static void ref_batchnorm_forward_eval(float *out, const float *in, const float *gamma,
                                       const float *beta, const float *running_mean,
                                       const float *running_var, int batch, int channels,
                                       int spatial)
{
    for (int c = 0; c < channels; c++)
        bn_eval_channel(out, in, gamma, beta, running_mean, running_var, batch, channels, spatial,
                        c);
}

static void ref_batchnorm_backward(float *din, float *dgamma, float *dbeta, const float *dout,
                                   const float *in, const float *gamma, const float *save_mean,
                                   const float *save_invstd, int batch, int channels, int spatial,
                                   const fb_batch_view *view)
{
    bn_backward_channels(din, dgamma, dbeta, dout, in, gamma, save_mean, save_invstd, batch,
                         channels, spatial, view, 0);
}

static void ref_batchnorm_backward_eval(float *din, float *dgamma, float *dbeta,
                                        const float *dout, const float *in, const float *gamma,
                                        const float *running_mean, const float *running_var,
                                        int batch, int channels, int spatial)
{
    for (int c = 0; c < channels; c++)
        bn_backward_eval_channel(din, dgamma, dbeta, dout, in, gamma, running_mean, running_var,
                                 batch, channels, spatial, c);
}

static void ref_relu_forward(float *out, const float *in, size_t count)
{
    for (size_t i = 0; i < count; i++)
        out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

static void ref_relu_backward(float *din, const float *dout, const float *out, size_t count)
{
    for (size_t i = 0; i < count; i++)
        din[i] = out[i] > 0.0f ? dout[i] : 0.0f;
}

static void ref_add(float *out, const float *a, const float *b, size_t count)
{
    for (size_t i = 0; i < count; i++)
        out[i] = a[i] + b[i];
}

static void ref_avgpool_forward(float *out, const float *in, int batch, int channels, int h,
                                int w, int k)
{
    size_t in_plane = (size_t)h * w, out_plane = (size_t)(h / k) * (w / k);
    for (int plane = 0; plane < batch * channels; plane++)
        avgpool_plane(out + plane * out_plane, in + plane * in_plane, h, w, k);
}

static void ref_avgpool_backward(float *din, const float *dout, int batch, int channels, int h,
                                 int w, int k)
{
    size_t in_plane = (size_t)h * w, out_plane = (size_t)(h / k) * (w / k);
    for (int plane = 0; plane < batch * channels; plane++)
        avgpool_backward_plane(din + plane * in_plane, dout + plane * out_plane, h, w, k);
}

static void ref_linear_forward(float *out, const float *in, const float *weight,
                               const float *bias, int batch, int in_f, int out_f)
{
    for (int n = 0; n < batch; n++)
        linear_row(out + (size_t)n * out_f, in + (size_t)n * in_f, weight, bias, in_f, out_f);
}

static void ref_linear_backward(float *din, float *dweight, float *dbias, const float *dout,
                                const float *in, const float *weight, int batch, int in_f,
                                int out_f)
{
    if (din)
        for (int n = 0; n < batch; n++)
            linear_input_grad_row(din + (size_t)n * in_f, dout + (size_t)n * out_f, weight, in_f,
                                  out_f);
    linear_weight_grad(dweight, dbias, dout, in, batch, in_f, out_f, 0);
}

static void ref_normalize_forward(float *out, const float *in, const float *mean,
                                  const float *std, int batch, int channels, int spatial)
{
    for (int n = 0; n < batch; n++)
        for (int c = 0; c < channels; c++) {
            size_t offset = nchw_index(n, c, 0, channels, spatial);
            normalize_plane(out + offset, in + offset, mean[c], std[c], spatial);
        }
}

static void ref_normalize_backward(float *din, const float *dout, const float *in,
                                   const float *std, int batch, int channels, int spatial)
{
    for (int n = 0; n < batch; n++)
        for (int c = 0; c < channels; c++) {
            size_t offset = nchw_index(n, c, 0, channels, spatial);
            normalize_backward_plane(din + offset, dout + offset, in + offset, std[c], spatial);
        }
}

static void ref_sgd_step(float *param, float *momentum_buf, const float *grad, size_t count,
                         float lr, float momentum, float weight_decay, int first_step)
{
    sgd_range(param, momentum_buf, grad, 0, count, lr, momentum, weight_decay, first_step);
}

const fb_backend fb_backend_cpu_ref = {
    .name = "cpu-ref",
    .alloc = ref_alloc,
    .release = ref_release,
    .to_device = ref_copy,
    .to_host = ref_copy,
    .zero = ref_zero,
    .conv2d_workspace = ref_conv2d_workspace,
    .conv2d_forward = ref_conv2d_forward,
    .conv2d_backward_data = ref_conv2d_backward_data,
    .conv2d_backward_filter = ref_conv2d_backward_filter,
    .batchnorm_forward_train = ref_batchnorm_forward_train,
    .batchnorm_forward_eval = ref_batchnorm_forward_eval,
    .batchnorm_backward = ref_batchnorm_backward,
    .batchnorm_backward_eval = ref_batchnorm_backward_eval,
    .relu_forward = ref_relu_forward,
    .relu_backward = ref_relu_backward,
    .add = ref_add,
    .avgpool_forward = ref_avgpool_forward,
    .avgpool_backward = ref_avgpool_backward,
    .linear_forward = ref_linear_forward,
    .linear_backward = ref_linear_backward,
    .normalize_forward = ref_normalize_forward,
    .normalize_backward = ref_normalize_backward,
    .cross_entropy_forward = cross_entropy_forward_rows,
    .cross_entropy_backward = cross_entropy_backward_rows,
    .sgd_step = ref_sgd_step,
};
