/* im2col.h — unfold image patches into columns (Caffe layout), and back.
 *
 * For a chunk of S samples, the column matrix col[C·K·K, S·OH·OW] has one
 * row per (c, ky, kx), in that order, and one column per output pixel
 * (sample s, y, x) at s·OH·OW + y·OW + x. Then a convolution of the chunk is
 * one GEMM: out[OC, S·OH·OW] = W[OC, C·K·K] × col. Padding pixels become 0.
 */
#ifndef FREQBIAS_IM2COL_H
#define FREQBIAS_IM2COL_H

#include "freqbias/backend.h"

/* col[C·K·K, S·OH·OW] from in[S, C, H, W] */
void fb_im2col(float *col, const float *in, const fb_conv_geom *g, int samples);

/* The rows of input channels [c_begin, c_end) only:
 * col[(c_end − c_begin)·K·K, S·OH·OW], the same rows fb_im2col writes there. */
void fb_im2col_channels(float *col, const float *in, const fb_conv_geom *g, int samples,
                        int c_begin, int c_end);

/* in[S, C, H, W] = Σ of the col entries that read each pixel (overwrites in);
 * the transpose of fb_im2col, summed in the fixed (c, ky, kx, s, y, x) order. */
void fb_col2im(float *in, const float *col, const fb_conv_geom *g, int samples);

#endif
