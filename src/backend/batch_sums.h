/* batch_sums.h — the sums over a batch that cpu-ref and cpu share, each
 * in the order of the batch tree (core/batch_tree.h).
 *
 * BatchNorm's statistics and backward sums, the loss, the linear layer's
 * weight and bias gradients and a conv's bias gradient are sums over the
 * samples of a batch. Each is computed here as the tree prescribes: a leaf
 * (≤ 4 samples) is one chain in sample order (BatchNorm: in BN_LANES lanes
 * over the pixels, totalled per leaf), and inner nodes add their children,
 * left + right. BatchNorm's sums and the loss accumulate in double up the
 * whole tree (shards combine them as doubles); gradients round each leaf's
 * double chain to float and add the tree in float, since shards exchange
 * them as floats.
 * Both backends call these bodies (cpu with `parallel` set, which spreads
 * channels or output rows over OpenMP threads; a channel's whole tree stays
 * on one thread), so these ops give the same bits in cpu and cpu-ref, for
 * every thread count, and — through the batch view (freqbias/batch_view.h)
 * — for a batch split into shards: the BatchNorm and loss sums are combined
 * across shards before they are used; the weight and bias gradients come out
 * as the shard's partial sum.
 *
 * Threads at batch 128 (cpu): BatchNorm and a conv's bias gradient
 * parallelise over channels (C of them, 16–2048 in the models here), the
 * linear layer's gradient over its output rows (the classes); the loss is
 * one tree on one thread (128 rows of 10 classes).
 *
 * CPU only: the CUDA backend includes kernels.h, not this file.
 */
#ifndef FREQBIAS_BACKEND_BATCH_SUMS_H
#define FREQBIAS_BACKEND_BATCH_SUMS_H

#include "core/batch_tree.h"
#include "freqbias/batch_view.h"
#include "kernels.h"

/* Channels whose partials one combine call carries (a block of a layer's
 * channels; every model here has at most 2048). */
enum { BN_SYNC_CHANNELS = 2048 };


/* What a channel's tree sums read: in (and dout for the backward sums). */
typedef struct bn_sum_args {
    const float *in;       /* [N,C,P] */
    const float *dout;     /* [N,C,P], backward only */
    int channels, spatial, c;
    double mean, invstd;   /* x̂ = (x − mean)·invstd; squares use mean */
} bn_sum_args;

/* Σ x over one leaf's samples of channel c, in lanes. */
static inline double bn_leaf_sum(const void *ctx, fb_tree_node leaf)
{
    const bn_sum_args *a = ctx;
    double sum[BN_LANES] = {0};
    for (int n = leaf.lo; n < leaf.hi; n++) {
        const float *plane = a->in + nchw_index(n, a->c, 0, a->channels, a->spatial); /* [P] */
        int p = 0;
        for (; p + BN_LANES <= a->spatial; p += BN_LANES)
            for (int l = 0; l < BN_LANES; l++)
                sum[l] += plane[p + l];
        for (; p < a->spatial; p++)
            sum[p % BN_LANES] += plane[p];
    }
    return bn_lanes_total(sum);
}

/* Σ (x − mean)² over one leaf's samples of channel c, in lanes. */
static inline double bn_leaf_squares(const void *ctx, fb_tree_node leaf)
{
    const bn_sum_args *a = ctx;
    double squares[BN_LANES] = {0};
    for (int n = leaf.lo; n < leaf.hi; n++) {
        const float *plane = a->in + nchw_index(n, a->c, 0, a->channels, a->spatial); /* [P] */
        int p = 0;
        for (; p + BN_LANES <= a->spatial; p += BN_LANES)
            for (int l = 0; l < BN_LANES; l++) {
                double d = plane[p + l] - a->mean;
                squares[l] += d * d;
            }
        for (; p < a->spatial; p++) {
            double d = plane[p] - a->mean;
            squares[p % BN_LANES] += d * d;
        }
    }
    return bn_lanes_total(squares);
}

/* Σx of channel c over this call's samples [0, batch), in the tree's order. */
static inline double bn_channel_sum(const float *in /* [N,C,P] */, int batch, int channels,
                                    int spatial, int c)
{
    bn_sum_args a = {in, NULL, channels, spatial, c, 0.0, 0.0};
    return fb_tree_sum((fb_tree_node){0, batch}, bn_leaf_sum, &a);
}

/* Σ(x − mean)² of channel c, in the tree's order. */
static inline double bn_channel_squares(const float *in /* [N,C,P] */, int batch, int channels,
                                        int spatial, int c, double mean)
{
    bn_sum_args a = {in, NULL, channels, spatial, c, mean, 0.0};
    return fb_tree_sum((fb_tree_node){0, batch}, bn_leaf_squares, &a);
}

/* The backward's two sums of one channel: Σ dy and Σ dy·x̂. */
typedef struct bn_pair {
    double dy, dy_xhat;
} bn_pair;

static inline bn_pair bn_leaf_pair(const bn_sum_args *a, fb_tree_node leaf)
{
    double dy[BN_LANES] = {0}, dy_xhat[BN_LANES] = {0};
    for (int n = leaf.lo; n < leaf.hi; n++) {
        size_t base = nchw_index(n, a->c, 0, a->channels, a->spatial);
        const float *grad = a->dout + base, *x = a->in + base; /* [P] each */
        int p = 0;
        for (; p + BN_LANES <= a->spatial; p += BN_LANES)
            for (int l = 0; l < BN_LANES; l++) {
                dy[l] += grad[p + l];
                dy_xhat[l] += grad[p + l] * ((x[p + l] - a->mean) * a->invstd);
            }
        for (; p < a->spatial; p++) {
            dy[p % BN_LANES] += grad[p];
            dy_xhat[p % BN_LANES] += grad[p] * ((x[p] - a->mean) * a->invstd);
        }
    }
    return (bn_pair){bn_lanes_total(dy), bn_lanes_total(dy_xhat)};
}

/* Both sums over `node` in the tree's order (one pass over dy and x). */
static inline bn_pair bn_tree_pair(const bn_sum_args *a, fb_tree_node node)
{
    if (node.lo == node.hi)
        return (bn_pair){0.0, 0.0};
    if (fb_tree_is_leaf(node))
        return bn_leaf_pair(a, node);
    bn_pair left = bn_tree_pair(a, fb_tree_left(node));
    bn_pair right = bn_tree_pair(a, fb_tree_right(node));
    return (bn_pair){left.dy + right.dy, left.dy_xhat + right.dy_xhat};
}


/* Training forward of channel c from the batch statistics (over `count`
 * values): y = (x − mean)·invstd·γ + β, invstd = 1/sqrt(var + eps); running
 * stats move by FB_BN_MOMENTUM towards the batch mean and the UNBIASED
 * batch variance (PyTorch). */
static inline void bn_normalize_channel(float *out, float *save_mean, float *save_invstd,
                                        float *running_mean, float *running_var, const float *in,
                                        const float *gamma, const float *beta, int batch,
                                        int channels, int spatial, int c, double mean, double var,
                                        double count)
{
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

/* The training forward of every channel: two-pass statistics in double over
 * the whole batch (count = total·P), then the normalisation. Without a
 * combine each channel runs start to end on one thread (its data stays in
 * cache); with one, the channels go in blocks through three phases around
 * the two combines. Both run the same per-channel sums, so the same bits.
 * `parallel` spreads channels over OpenMP threads (the cpu backend). */
static inline void bn_forward_train_channels(float *out, float *save_mean, float *save_invstd,
                                             float *running_mean, float *running_var,
                                             const float *in, const float *gamma,
                                             const float *beta, int batch, int channels,
                                             int spatial, const fb_batch_view *view, int parallel)
{
    double count = (double)fb_batch_view_total(view, batch) * spatial;
    if (!view || !view->combine) {
#pragma omp parallel for schedule(static) if (parallel)
        for (int c = 0; c < channels; c++) {
            double mean = bn_channel_sum(in, batch, channels, spatial, c) / count;
            double var = bn_channel_squares(in, batch, channels, spatial, c, mean) / count;
            bn_normalize_channel(out, save_mean, save_invstd, running_mean, running_var, in, gamma,
                                 beta, batch, channels, spatial, c, mean, var, count);
        }
        return;
    }
    double mean[BN_SYNC_CHANNELS], var[BN_SYNC_CHANNELS];
    for (int c0 = 0; c0 < channels; c0 += BN_SYNC_CHANNELS) {
        int block = channels - c0 < BN_SYNC_CHANNELS ? channels - c0 : BN_SYNC_CHANNELS;
#pragma omp parallel for schedule(static) if (parallel)
        for (int i = 0; i < block; i++)
            mean[i] = bn_channel_sum(in, batch, channels, spatial, c0 + i);
        fb_batch_view_combine(view, mean, block);
#pragma omp parallel for schedule(static) if (parallel)
        for (int i = 0; i < block; i++) {
            mean[i] = mean[i] / count;
            var[i] = bn_channel_squares(in, batch, channels, spatial, c0 + i, mean[i]);
        }
        fb_batch_view_combine(view, var, block);
#pragma omp parallel for schedule(static) if (parallel)
        for (int i = 0; i < block; i++)
            bn_normalize_channel(out, save_mean, save_invstd, running_mean, running_var, in, gamma,
                                 beta, batch, channels, spatial, c0 + i, mean[i], var[i] / count,
                                 count);
    }
}


/* dx of channel c, with x̂ = (x − mean)·invstd and M = count:
 * dx = γ·invstd/M · (M·dy − Σdy − x̂·Σdy·x̂). */
static inline void bn_input_grad_channel(float *din, const float *dout, const float *in,
                                         const float *gamma, double mean, double invstd,
                                         int batch, int channels, int spatial, int c,
                                         double count, bn_pair sums)
{
    double scale = (double)gamma[c] * invstd / count;
    for (int n = 0; n < batch; n++)
        for (int p = 0; p < spatial; p++) {
            size_t i = nchw_index(n, c, p, channels, spatial);
            double xhat = (in[i] - mean) * invstd;
            din[i] = bn_backward_value(scale, count, dout[i], xhat, sums.dy, sums.dy_xhat);
        }
}

/* The training backward of every channel: dβ = Σ dy, dγ = Σ dy·x̂ over the
 * whole batch (tree order, combined across shards), then dx. dγ, dβ are
 * written by the leading shard only, −0.0 elsewhere (batch_view.h). */
static inline void bn_backward_channels(float *din, float *dgamma, float *dbeta,
                                        const float *dout, const float *in, const float *gamma,
                                        const float *save_mean, const float *save_invstd,
                                        int batch, int channels, int spatial,
                                        const fb_batch_view *view, int parallel)
{
    double count = (double)fb_batch_view_total(view, batch) * spatial;
    int leads = fb_batch_view_leads(view);
    if (!view || !view->combine) {
#pragma omp parallel for schedule(static) if (parallel)
        for (int c = 0; c < channels; c++) {
            bn_sum_args a = {in, dout, channels, spatial, c, save_mean[c], save_invstd[c]};
            bn_pair sums = bn_tree_pair(&a, (fb_tree_node){0, batch});
            bn_input_grad_channel(din, dout, in, gamma, a.mean, a.invstd, batch, channels,
                                  spatial, c, count, sums);
            dgamma[c] = leads ? (float)sums.dy_xhat : -0.0f;
            dbeta[c] = leads ? (float)sums.dy : -0.0f;
        }
        return;
    }
    double sums[2 * BN_SYNC_CHANNELS]; /* [Σdy of the block..., Σdy·x̂ of the block...] */
    for (int c0 = 0; c0 < channels; c0 += BN_SYNC_CHANNELS) {
        int block = channels - c0 < BN_SYNC_CHANNELS ? channels - c0 : BN_SYNC_CHANNELS;
#pragma omp parallel for schedule(static) if (parallel)
        for (int i = 0; i < block; i++) {
            int c = c0 + i;
            bn_sum_args a = {in, dout, channels, spatial, c, save_mean[c], save_invstd[c]};
            bn_pair pair = bn_tree_pair(&a, (fb_tree_node){0, batch});
            sums[i] = pair.dy;
            sums[block + i] = pair.dy_xhat;
        }
        fb_batch_view_combine(view, sums, 2 * block);
#pragma omp parallel for schedule(static) if (parallel)
        for (int i = 0; i < block; i++) {
            int c = c0 + i;
            bn_pair pair = {sums[i], sums[block + i]};
            bn_input_grad_channel(din, dout, in, gamma, save_mean[c], save_invstd[c], batch,
                                  channels, spatial, c, count, pair);
            dgamma[c] = leads ? (float)pair.dy_xhat : -0.0f;
            dbeta[c] = leads ? (float)pair.dy : -0.0f;
        }
    }
}

/* Eval-mode backward of channel c: the running statistics are constants;
 * dγ, dβ are this call's sums (tree order), din = dout·γ·invstd. */
static inline void bn_backward_eval_channel(float *din, float *dgamma, float *dbeta,
                                            const float *dout, const float *in, const float *gamma,
                                            const float *running_mean, const float *running_var,
                                            int batch, int channels, int spatial, int c)
{
    double invstd = 1.0 / sqrt((double)running_var[c] + FB_BN_EPS);
    bn_sum_args a = {in, dout, channels, spatial, c, (double)running_mean[c], invstd};
    bn_pair sums = bn_tree_pair(&a, (fb_tree_node){0, batch});
    float scale = (float)(gamma[c] * invstd);
    for (int n = 0; n < batch; n++)
        for (int p = 0; p < spatial; p++) {
            size_t i = nchw_index(n, c, p, channels, spatial);
            din[i] = dout[i] * scale;
        }
    dgamma[c] = (float)sums.dy_xhat;
    dbeta[c] = (float)sums.dy;
}


/* The rows of one leaf: their softmax into probs, their losses as a chain. */
typedef struct ce_rows_args {
    float *probs;            /* [N,K] */
    const float *logits;     /* [N,K] */
    const int32_t *labels;   /* [N]   */
    int classes;
} ce_rows_args;

static inline double ce_leaf_loss(const void *ctx, fb_tree_node leaf)
{
    const ce_rows_args *a = ctx;
    double chain = 0.0;
    for (int n = leaf.lo; n < leaf.hi; n++)
        chain += cross_entropy_row(a->probs + (size_t)n * a->classes,
                                   a->logits + (size_t)n * a->classes, a->labels[n], a->classes);
    return chain;
}

/* Mean cross-entropy over the (whole) batch: rows summed in the tree's
 * order, combined across shards, divided by the whole batch's size. */
static inline void cross_entropy_forward_rows(float *loss, float *probs, const float *logits,
                                              const int32_t *labels, int batch, int classes,
                                              const fb_batch_view *view)
{
    ce_rows_args a = {probs, logits, labels, classes};
    double total = fb_tree_sum((fb_tree_node){0, batch}, ce_leaf_loss, &a);
    fb_batch_view_combine(view, &total, 1);
    loss[0] = (float)(total / fb_batch_view_total(view, batch));
}


/* dlogits = (probs − onehot) / N with N the whole batch's size */
static inline void cross_entropy_backward_rows(float *dlogits, const float *probs,
                                               const int32_t *labels, int batch, int classes,
                                               const fb_batch_view *view)
{
    int total = fb_batch_view_total(view, batch);
    for (int n = 0; n < batch; n++)
        for (int k = 0; k < classes; k++) {
            size_t i = (size_t)n * classes + k;
            dlogits[i] = cross_entropy_grad(probs[i], k == labels[n], total);
        }
}

/* ---- weight and bias gradients of the small layers ------------------------ */

/* A product sum Σ_n Σ_p a[n·a_stride + p]·b[n·b_stride + p] over the
 * samples of the batch, p < count (b NULL: Σ a alone): a chain in double per
 * leaf, rounded to float, leaves added up the tree in float (gradients are
 * exchanged between shards as floats). The linear layer's dW (count 1) and
 * dbias, and a conv's dbias (count P) are such sums. */
typedef struct sample_dot_args {
    const float *a, *b;
    size_t a_stride, b_stride, count;
} sample_dot_args;

static inline double sample_dot_leaf(const void *ctx, fb_tree_node leaf)
{
    const sample_dot_args *d = ctx;
    double chain = 0.0;
    for (int n = leaf.lo; n < leaf.hi; n++) {
        const float *a = d->a + (size_t)n * d->a_stride;
        if (d->b) {
            const float *b = d->b + (size_t)n * d->b_stride;
            for (size_t p = 0; p < d->count; p++)
                chain += (double)a[p] * b[p];
        } else {
            for (size_t p = 0; p < d->count; p++)
                chain += a[p];
        }
    }
    return chain;
}

static inline float sample_dot(const float *a, size_t a_stride, const float *b, size_t b_stride,
                               size_t count, int batch)
{
    sample_dot_args d = {a, b, a_stride, b_stride, count};
    return fb_tree_sum_float((fb_tree_node){0, batch}, sample_dot_leaf, &d);
}

/* dbias[o] = Σ_n Σ_p dout[n, o, p] of a conv's output gradient [N, OC, P]. */
static inline void conv_bias_grad(float *dbias /* [OC] */, const float *dout, int batch,
                                  int out_channels, size_t spatial, int parallel)
{
#pragma omp parallel for schedule(static) if (parallel)
    for (int o = 0; o < out_channels; o++)
        dbias[o] = sample_dot(dout + (size_t)o * spatial, (size_t)out_channels * spatial, NULL, 0,
                              spatial, batch);
}

/* The linear layer's dW[o, i] = Σ_n dout[n, o]·in[n, i] and dbias[o] =
 * Σ_n dout[n, o] (dbias may be NULL). */
static inline void linear_weight_grad(float *dweight /* [OUT,IN] */, float *dbias /* [OUT] */,
                                      const float *dout /* [N,OUT] */, const float *in /* [N,IN] */,
                                      int batch, int in_f, int out_f, int parallel)
{
#pragma omp parallel for schedule(static) if (parallel)
    for (int o = 0; o < out_f; o++) {
        for (int i = 0; i < in_f; i++)
            dweight[(size_t)o * in_f + i] =
                sample_dot(dout + o, (size_t)out_f, in + i, (size_t)in_f, 1, batch);
        if (dbias)
            dbias[o] = sample_dot(dout + o, (size_t)out_f, NULL, 0, 1, batch);
    }
}

#endif
