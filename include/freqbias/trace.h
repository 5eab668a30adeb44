/* freqbias/trace.h — one training step, op by op, and the machine's limit.
 *
 * A trace wraps a real backend in a tracing one: every op is forwarded to
 * the real entry unchanged (same arguments, same bits), timed around the
 * call, and recorded with its shapes, FLOPs and bytes. A model created on
 * fb_trace_backend(real) runs exactly as on `real`; fb_trace_step then runs
 * one training step (train-mode forward, mean cross-entropy, backward, SGD
 * lr 0.1 momentum 0.9 wd 5e-4, as `freqbias train`) and returns the list.
 * Layers are named by mapping the op's weight and activation pointers back
 * to the model's state_dict names ("layer2.0.conv1", "layer2.0.bn1", and the
 * block "layer2.0" for its residual add and the ReLU after it).
 *
 * Counting conventions (per op; M = elements of the op's activation):
 *   conv forward          2·N·OC·IC·K²·OH·OW (+ N·OC·OH·OW with a bias)
 *   conv backward data    2·N·OC·IC·K²·OH·OW          (din = Wᵀ·dout, col2im)
 *   conv backward filter  2·N·OC·IC·K²·OH·OW (+ N·OC·OH·OW for dbias)
 *   linear forward        2·N·IN·OUT + N·OUT; backward 2·N·IN·OUT per GEMM
 *                         (dW, and din when asked) + N·OUT for dbias
 *   BN train forward 8·M  (statistics 4: sum, subtract, square, sum;
 *                          output 4: subtract, ×invstd, ×γ, +β)
 *   BN backward 10·M      (Σdy 1, x̂ 2, Σdy·x̂ 2, din 5); eval forward 4·M,
 *                         eval backward 6·M
 *   ReLU, add: 1·M; avg pool: 1 per input element (+1 per output forward)
 *   normalize 3·M forward, 2·M backward; cross-entropy 4·N·K + N forward,
 *   2·N·K backward; SGD 6 per parameter (decay 2, momentum 2, update 2)
 * gemm_macs holds the multiply-adds of the conv and linear GEMMs alone: the
 * number the literature quotes (ResNet-18, width 64, 32×32: 555,422,720
 * per image forward). bytes is the compulsory traffic: every float32 tensor
 * the op reads or writes counted once (im2col workspace not counted), a
 * lower bound on what the memory system moves.
 *
 * One trace at a time (the tracing backend keeps the real one in a static).
 * Times are host wall clock around each call: meaningful for the
 * synchronous CPU backends (fb_trace_backend refuses others).
 */
#ifndef FREQBIAS_TRACE_H
#define FREQBIAS_TRACE_H

#include <stdint.h>

#include "freqbias/backend.h"
#include "freqbias/model.h"

typedef enum fb_trace_kind {
    FB_TRACE_NORMALIZE_FWD,
    FB_TRACE_CONV_FWD,
    FB_TRACE_BN_FWD,
    FB_TRACE_BN_FWD_EVAL,
    FB_TRACE_RELU_FWD,
    FB_TRACE_ADD,
    FB_TRACE_AVGPOOL_FWD,
    FB_TRACE_LINEAR_FWD,
    FB_TRACE_CE_FWD,
    FB_TRACE_CE_BWD,
    FB_TRACE_LINEAR_BWD,
    FB_TRACE_AVGPOOL_BWD,
    FB_TRACE_RELU_BWD,
    FB_TRACE_BN_BWD,
    FB_TRACE_BN_BWD_EVAL,
    FB_TRACE_CONV_BWD_FILTER,
    FB_TRACE_CONV_BWD_DATA,
    FB_TRACE_NORMALIZE_BWD,
    FB_TRACE_SGD,
    FB_TRACE_KINDS
} fb_trace_kind;

typedef enum fb_trace_pass { FB_PASS_FORWARD, FB_PASS_BACKWARD, FB_PASS_UPDATE } fb_trace_pass;

typedef struct fb_trace_op {
    fb_trace_kind kind;
    fb_trace_pass pass;
    char layer[FB_NAME_MAX];  /* "layer2.0.conv1", "layer2.0" (residual), "linear", "sgd" */
    char block[FB_NAME_MAX];  /* "input", "stem", "layer2.0", "pool", "linear", "loss", "sgd" */
    char in_shape[48];        /* main input, e.g. "128x64x32x32"            */
    char out_shape[48];       /* main output                                  */
    double gemm_macs;         /* conv/linear multiply-adds (0 for other ops)  */
    double flops, bytes, seconds;
} fb_trace_op;

typedef struct fb_trace {
    fb_trace_op *ops;         /* [count] in execution order                    */
    int count, capacity;
} fb_trace;

/* The op name, e.g. "conv2d_forward" (the fb_backend entry it wraps). */
const char *fb_trace_kind_name(fb_trace_kind kind);

/* A backend that forwards every entry to real and records while a step is
 * traced. real must be "cpu" or "cpu-ref" (host-synchronous); else NULL and
 * an FB_ERR_UNSUPPORTED message. Replaces any previous real backend. */
const fb_backend *fb_trace_backend(const fb_backend *real);

/* One training step of model (created on fb_trace_backend) on images[n,C,S,S]
 * and labels[n] (host memory), every op recorded into trace (reset first).
 * Returns the loss in *loss. */
fb_status fb_trace_step(fb_trace *trace, fb_model *model, const float *images,
                        const int32_t *labels, int n, float *loss);
void fb_trace_free(fb_trace *trace);

/* ---- the single-precision FMA peak: what "fast" is measured against ----
 * Register-only: each thread runs FB_FMA_CHAINS independent chains
 * acc ← acc·a + b of the widest vectors the CPU and OS support (AVX-512,
 * else AVX2+FMA, else a portable multiply-then-add on 4-float vectors), so
 * the FMA pipes never wait for a previous result or for memory. */
#define FB_FMA_CHAINS 16

/* "avx512 fma", "avx2 fma" or "portable mul+add". */
const char *fb_fma_kernel_name(void);
/* Runs `iterations` steps of every chain on each of `threads` threads with
 * a = 1, b = 1 (the values come from memory, so nothing is folded) and
 * returns the FLOPs done (2 per lane per FMA); *seconds the wall time of
 * the parallel region, *checksum the sum over all lanes of all threads
 * (= threads·chains·lanes·iterations exactly while iterations < 2^24). */
double fb_fma_run(int threads, long iterations, double *seconds, double *checksum);
/* The best of `repeats` runs of about min_seconds each, in GFLOP/s. */
double fb_fma_peak_gflops(int threads, double min_seconds, int repeats);

#endif
