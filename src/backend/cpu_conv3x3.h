/* cpu_conv3x3.h — direct 3×3 convolution (stride 1, pad 1) for the cpu
 * backend's small-channel layers, where an im2col + sgemm with 16 or 32
 * output channels runs far below the machine's peak. What it computes, the
 * loop order and what is bit-exact are described in cpu_conv3x3.c.
 */
#ifndef FREQBIAS_CPU_CONV3X3_H
#define FREQBIAS_CPU_CONV3X3_H

#include <stddef.h>

#include "freqbias/backend.h"

/* 1 when the cpu backend takes the direct path for this geometry: kernel 3,
 * stride 1, pad 1, width a multiple of 16 and few enough channels that the
 * im2col GEMM is the slower choice. */
int fb_conv3x3_selected(const fb_conv_geom *g);

/* Workspace bytes for all three ops with `threads` threads. */
size_t fb_conv3x3_workspace(const fb_conv_geom *g, int threads);

/* out[N,OC,H,W] = in[N,C,H,W] ⋆ weight[OC,C,3,3] (+ bias[OC] when not NULL) */
void fb_conv3x3_forward(float *out, const float *in, const float *weight, const float *bias,
                        const fb_conv_geom *g, void *workspace, size_t workspace_bytes);

/* din[N,C,H,W] = ∂L/∂in from dout[N,OC,H,W] (overwrites din) */
void fb_conv3x3_backward_data(float *din, const float *dout, const float *weight,
                              const fb_conv_geom *g, void *workspace, size_t workspace_bytes);

/* dweight[OC,C,3,3] = Σ_n,y,x dout ⊗ shifted in (overwrites dweight) */
void fb_conv3x3_backward_filter(float *dweight, const float *dout, const float *in,
                                const fb_conv_geom *g, void *workspace, size_t workspace_bytes);

#endif
