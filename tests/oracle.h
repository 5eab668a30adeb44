/* oracle.h — every op of the backend table (freqbias/backend.h), written
 * again in double precision from the maths, as the tests' ground truth.
 *
 * The oracle shares no code with the backends: it is derived from the
 * definitions (cross-correlation, batch statistics, softmax, ...) and kept
 * as plain as possible. The backward functions are the exact adjoints of the
 * forward ones, which the finite-difference tests of test_ops.c confirm, so
 * a backend that matches the oracle's forward and backward is right.
 *
 * Shapes are those of backend.h: activations N×C×H×W, conv weights
 * OC×IC×K×K, linear weights OUT×IN. Outputs come first and are overwritten.
 * Differences from the backend signatures, both deliberate:
 *   - oracle_batchnorm_backward recomputes the batch statistics from `in`
 *     (exact, in double) instead of reading saved ones;
 *   - scalars (learning rate, ...) are doubles.
 */
#ifndef FREQBIAS_TESTS_ORACLE_H
#define FREQBIAS_TESTS_ORACLE_H

#include <stddef.h>
#include <stdint.h>

#include "freqbias/backend.h"

/* BatchNorm constants as PyTorch states them (eps 1e-5, momentum 0.1). */
#define ORACLE_BN_EPS 1e-5
#define ORACLE_BN_MOMENTUM 0.1

/* out = in ⋆ weight + bias (cross-correlation, zero padding); bias may be NULL. */
void oracle_conv2d_forward(double *out /* [N,OC,OH,OW] */, const double *in /* [N,IC,H,W] */,
                           const double *weight /* [OC,IC,K,K] */, const double *bias /* [OC] */,
                           const fb_conv_geom *g);
/* din = ∂L/∂in for L = Σ dout·out */
void oracle_conv2d_backward_data(double *din /* [N,IC,H,W] */,
                                 const double *dout /* [N,OC,OH,OW] */,
                                 const double *weight /* [OC,IC,K,K] */, const fb_conv_geom *g);
/* dweight = ∂L/∂weight, dbias = ∂L/∂bias (may be NULL) */
void oracle_conv2d_backward_filter(double *dweight /* [OC,IC,K,K] */, double *dbias /* [OC] */,
                                   const double *dout /* [N,OC,OH,OW] */,
                                   const double *in /* [N,IC,H,W] */, const fb_conv_geom *g);

/* Training forward: batch mean and biased variance per channel normalise;
 * save_invstd = 1/sqrt(var + eps); running stats move by the momentum towards
 * the mean and the unbiased variance. */
void oracle_batchnorm_forward_train(double *out /* [N,C,P] */, double *save_mean /* [C] */,
                                    double *save_invstd /* [C] */, double *running_mean /* [C] */,
                                    double *running_var /* [C] */, const double *in /* [N,C,P] */,
                                    const double *gamma /* [C] */, const double *beta /* [C] */,
                                    int batch, int channels, int spatial);
void oracle_batchnorm_forward_eval(double *out /* [N,C,P] */, const double *in /* [N,C,P] */,
                                   const double *gamma /* [C] */, const double *beta /* [C] */,
                                   const double *running_mean /* [C] */,
                                   const double *running_var /* [C] */, int batch, int channels,
                                   int spatial);
/* Gradient of the training forward, through the batch statistics. */
/* eval mode: din = dout·γ/sqrt(rv+eps), dγ = Σ dout·(x − rm)/sqrt(rv+eps), dβ = Σ dout */
void oracle_batchnorm_backward_eval(double *din /* [N,C,P] */, double *dgamma /* [C] */,
                                    double *dbeta /* [C] */, const double *dout /* [N,C,P] */,
                                    const double *in /* [N,C,P] */, const double *gamma /* [C] */,
                                    const double *running_mean /* [C] */,
                                    const double *running_var /* [C] */, int batch, int channels,
                                    int spatial);
void oracle_batchnorm_backward(double *din /* [N,C,P] */, double *dgamma /* [C] */,
                               double *dbeta /* [C] */, const double *dout /* [N,C,P] */,
                               const double *in /* [N,C,P] */, const double *gamma /* [C] */,
                               int batch, int channels, int spatial);

void oracle_relu_forward(double *out, const double *in, size_t count);
/* din = dout where out > 0, else 0 */
void oracle_relu_backward(double *din, const double *dout, const double *out, size_t count);
void oracle_add(double *out, const double *a, const double *b, size_t count);

/* Average pooling, kernel = stride = k, no padding: out[N,C,H/k,W/k]. */
void oracle_avgpool_forward(double *out /* [N,C,H/k,W/k] */, const double *in /* [N,C,H,W] */,
                            int batch, int channels, int h, int w, int k);
void oracle_avgpool_backward(double *din /* [N,C,H,W] */, const double *dout /* [N,C,H/k,W/k] */,
                             int batch, int channels, int h, int w, int k);

/* out = in · weightᵀ + bias (bias may be NULL) */
void oracle_linear_forward(double *out /* [N,OUT] */, const double *in /* [N,IN] */,
                           const double *weight /* [OUT,IN] */, const double *bias /* [OUT] */,
                           int batch, int in_features, int out_features);
/* din (may be NULL), dweight, dbias (may be NULL) */
void oracle_linear_backward(double *din /* [N,IN] */, double *dweight /* [OUT,IN] */,
                            double *dbias /* [OUT] */, const double *dout /* [N,OUT] */,
                            const double *in /* [N,IN] */, const double *weight /* [OUT,IN] */,
                            int batch, int in_features, int out_features);

/* out = (clamp(in, 0, 1) − mean[c]) / std[c] */
void oracle_normalize_forward(double *out /* [N,C,P] */, const double *in /* [N,C,P] */,
                              const double *mean /* [C] */, const double *std /* [C] */,
                              int batch, int channels, int spatial);
/* din = dout / std[c] where 0 ≤ in ≤ 1, else 0 */
void oracle_normalize_backward(double *din /* [N,C,P] */, const double *dout /* [N,C,P] */,
                               const double *in /* [N,C,P] */, const double *std /* [C] */,
                               int batch, int channels, int spatial);

/* Returns mean_n (logsumexp(logits_n) − logits_n[label_n]); probs = softmax. */
double oracle_cross_entropy_forward(double *probs /* [N,K] */, const double *logits /* [N,K] */,
                                    const int32_t *labels /* [N] */, int batch, int classes);
/* dlogits = ∂loss/∂logits = (probs − onehot(label)) / N */
void oracle_cross_entropy_backward(double *dlogits /* [N,K] */, const double *probs /* [N,K] */,
                                   const int32_t *labels /* [N] */, int batch, int classes);

/* torch.optim.SGD, no dampening, no Nesterov:
 * g = grad + wd·param; buf = first ? g : momentum·buf + g; param −= lr·buf */
void oracle_sgd_step(double *param, double *momentum_buf, const double *grad, size_t count,
                     double lr, double momentum, double weight_decay, int first_step);

#endif
