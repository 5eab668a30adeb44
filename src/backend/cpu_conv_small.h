/* cpu_conv_small.h — direct convolution for the cpu backend's small maps
 * (the late ResNet stages, strided convs and 1×1 shortcuts), vectorised
 * over channels instead of pixels. What it computes, the loop order and what
 * is bit-exact are described in cpu_conv_small.c.
 */
#ifndef FREQBIAS_CPU_CONV_SMALL_H
#define FREQBIAS_CPU_CONV_SMALL_H

#include <stddef.h>

#include "freqbias/backend.h"

/* 1 when the cpu backend takes this path for the geometry: kernel 1 or 3,
 * stride 1 or 2, both channel counts multiples of 16 and at most 128, at most
 * 256 output pixels, and not a geometry of the direct 3×3 path
 * (cpu_conv3x3.h), which is checked first. */
int fb_convsmall_selected(const fb_conv_geom *g);

/* Workspace bytes for all three ops with `threads` threads. */
size_t fb_convsmall_workspace(const fb_conv_geom *g, int threads);

/* out[N,OC,OH,OW] = in[N,C,H,W] ⋆ weight[OC,C,K,K] (+ bias[OC] when not NULL) */
void fb_convsmall_forward(float *out, const float *in, const float *weight, const float *bias,
                          const fb_conv_geom *g, void *workspace, size_t workspace_bytes);

/* din[N,C,H,W] = ∂L/∂in from dout[N,OC,OH,OW] (overwrites din) */
void fb_convsmall_backward_data(float *din, const float *dout, const float *weight,
                                const fb_conv_geom *g, void *workspace, size_t workspace_bytes);

/* dweight[OC,C,K,K] = Σ_n,q dout ⊗ shifted in (overwrites dweight) */
void fb_convsmall_backward_filter(float *dweight, const float *dout, const float *in,
                                  const fb_conv_geom *g, void *workspace, size_t workspace_bytes);

#endif
