/* freqbias/backend.h — the op table every model runs on.
 *
 * A backend is a struct of function pointers (ggml style). Models call only
 * these entries, so cpu-ref (naive loops, the oracle), cpu (im2col + OpenBLAS
 * + OpenMP) and a later cuda backend are interchangeable. Argument order
 * follows llm.c: outputs first, then inputs, then geometry, then workspace.
 * Every pointer is device memory of that backend (host memory for the CPU
 * ones). Every backward entry OVERWRITES its outputs (never accumulates);
 * models add contributions explicitly with `add`.
 *
 * Every sum over the samples of a batch (weight and bias gradients,
 * BatchNorm statistics and backward sums, the loss) follows one tree over
 * the samples (src/core/batch_tree.h), in every backend of this table that
 * promises bits (cpu-ref, cpu): so the thread count does not change them,
 * and a batch split into shards (freqbias/batch_view.h) gives the same bits.
 *
 * Shapes: activations N×C×H×W (NCHW, contiguous), conv weights OC×IC×KH×KW,
 * linear weights OUT×IN (as PyTorch). A NULL entry means "not supported by
 * this backend"; fb_backend_check() reports it by name instead of crashing.
 */
#ifndef FREQBIAS_BACKEND_H
#define FREQBIAS_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "freqbias/batch_view.h"
#include "freqbias/error.h"

/* PyTorch BatchNorm2d defaults. */
#define FB_BN_EPS 1e-5f
#define FB_BN_MOMENTUM 0.1f

typedef struct fb_conv_geom {
    int batch, in_channels, in_h, in_w;
    int out_channels, kernel, stride, pad; /* square kernels, as every model here */
    int out_h, out_w;
} fb_conv_geom;

/* Fills out_h/out_w = (in + 2·pad − kernel) / stride + 1. */
fb_conv_geom fb_conv_geom_make(int batch, int in_channels, int in_h, int in_w, int out_channels,
                               int kernel, int stride, int pad);

typedef struct fb_backend {
    const char *name;
    /* 1 when alloc returns memory the host cannot read (a GPU's): callers
     * that must touch a buffer on the host (an MPI allreduce) copy it with
     * to_host / to_device first; 0 for the CPU backends */
    int device_memory;

    /* memory: device buffers and transfers (identity copies on the CPU) */
    void *(*alloc)(size_t bytes);
    void (*release)(void *ptr);
    void (*to_device)(void *dst, const void *host_src, size_t bytes);
    void (*to_host)(void *host_dst, const void *src, size_t bytes);
    void (*zero)(void *dst, size_t bytes);

    /* conv2d: cross-correlation (no kernel flip), zero padding, optional bias.
     * workspace bytes for a geometry (and this backend's thread count). */
    size_t (*conv2d_workspace)(const fb_conv_geom *g);
    /* out[N,OC,OH,OW] = in[N,IC,H,W] ⋆ weight[OC,IC,K,K] + bias[OC] (bias may be NULL) */
    void (*conv2d_forward)(float *out, const float *in, const float *weight, const float *bias,
                           const fb_conv_geom *g, void *workspace, size_t workspace_bytes);
    /* din[N,IC,H,W] = ∂L/∂in given dout[N,OC,OH,OW] */
    void (*conv2d_backward_data)(float *din, const float *dout, const float *weight,
                                 const fb_conv_geom *g, void *workspace, size_t workspace_bytes);
    /* dweight[OC,IC,K,K] and dbias[OC] (dbias may be NULL) from dout and in */
    void (*conv2d_backward_filter)(float *dweight, float *dbias, const float *dout,
                                   const float *in, const fb_conv_geom *g, void *workspace,
                                   size_t workspace_bytes);

    /* batchnorm2d over N·HW per channel. Train: batch statistics, biased
     * variance to normalise, running_var updated with the unbiased one,
     * momentum FB_BN_MOMENTUM; saves mean and 1/sqrt(var+eps) per channel.
     * `view` (NULL: the whole batch here) makes the statistics those of the
     * whole batch when this call holds one shard (freqbias/batch_view.h). */
    void (*batchnorm_forward_train)(float *out, float *save_mean, float *save_invstd,
                                    float *running_mean, float *running_var, const float *in,
                                    const float *gamma, const float *beta, int batch,
                                    int channels, int spatial, const fb_batch_view *view);
    void (*batchnorm_forward_eval)(float *out, const float *in, const float *gamma,
                                   const float *beta, const float *running_mean,
                                   const float *running_var, int batch, int channels,
                                   int spatial);
    /* din, dgamma[C], dbeta[C] from dout, the forward input and saved stats
     * (view as in the forward; dγ, dβ then as batch_view.h says) */
    void (*batchnorm_backward)(float *din, float *dgamma, float *dbeta, const float *dout,
                               const float *in, const float *gamma, const float *save_mean,
                               const float *save_invstd, int batch, int channels, int spatial,
                               const fb_batch_view *view);

    /* the backward of batchnorm_forward_eval (a per-channel affine map):
     * din = dout·γ/sqrt(running_var+eps), dγ = Σ dout·x̂, dβ = Σ dout with
     * x̂ = (x − running_mean)/sqrt(running_var+eps). Input gradients of a
     * trained model in eval mode (gradient spectra) need it. */
    void (*batchnorm_backward_eval)(float *din, float *dgamma, float *dbeta, const float *dout,
                                    const float *in, const float *gamma, const float *running_mean,
                                    const float *running_var, int batch, int channels, int spatial);

    /* elementwise; out may alias in */
    void (*relu_forward)(float *out, const float *in, size_t count);
    /* din = dout where out > 0 else 0; din may alias dout */
    void (*relu_backward)(float *din, const float *dout, const float *out, size_t count);
    /* out = a + b; out may alias a or b */
    void (*add)(float *out, const float *a, const float *b, size_t count);

    /* average pool, kernel = stride = k, no padding: out[N,C,H/k,W/k] */
    void (*avgpool_forward)(float *out, const float *in, int batch, int channels, int h, int w,
                            int k);
    void (*avgpool_backward)(float *din, const float *dout, int batch, int channels, int h,
                             int w, int k);

    /* out[N,OUT] = in[N,IN] · weight[OUT,IN]ᵀ + bias[OUT] */
    void (*linear_forward)(float *out, const float *in, const float *weight, const float *bias,
                           int batch, int in_features, int out_features);
    /* din (may be NULL), dweight, dbias */
    void (*linear_backward)(float *din, float *dweight, float *dbias, const float *dout,
                            const float *in, const float *weight, int batch, int in_features,
                            int out_features);

    /* out = (clamp(in, 0, 1) − mean[c]) / std[c]  (robustness InputNormalize) */
    void (*normalize_forward)(float *out, const float *in, const float *mean, const float *std,
                              int batch, int channels, int spatial);
    /* din = dout / std[c] where 0 ≤ in ≤ 1, else 0 (clamp's gradient;
     * at exactly 0 or 1 PyTorch passes the gradient, and so do we) */
    void (*normalize_backward)(float *din, const float *dout, const float *in, const float *std,
                               int batch, int channels, int spatial);

    /* loss[1] = mean_n (logsumexp(logits_n) − logits_n[label_n]); probs[N,K]
     * saved. With a view: the mean over the whole batch, on every shard. */
    void (*cross_entropy_forward)(float *loss, float *probs, const float *logits,
                                  const int32_t *labels, int batch, int classes,
                                  const fb_batch_view *view);
    /* dlogits = (probs − onehot(label)) / N, N the whole batch's size */
    void (*cross_entropy_backward)(float *dlogits, const float *probs, const int32_t *labels,
                                   int batch, int classes, const fb_batch_view *view);

    /* PyTorch SGD: g = grad + wd·param; buf = first ? g : momentum·buf + g;
     * param −= lr·buf  (no dampening, no Nesterov) */
    void (*sgd_step)(float *param, float *momentum_buf, const float *grad, size_t count,
                     float lr, float momentum, float weight_decay, int first_step);
} fb_backend;

extern const fb_backend fb_backend_cpu_ref;
extern const fb_backend fb_backend_cpu;

/* "cpu", "cpu-ref" (and "cuda" when built with it); NULL + error otherwise. */
const fb_backend *fb_backend_by_name(const char *name);
/* Names of the backends built into this binary, e.g. "cpu cpu-ref". */
const char *fb_backend_list(void);
/* FB_ERR_UNSUPPORTED naming the first NULL entry, else FB_OK. */
fb_status fb_backend_check(const fb_backend *backend);

#endif
