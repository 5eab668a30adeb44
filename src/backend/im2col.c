/* im2col.c — the patch unfolding behind the cpu backend's convolutions
 * (layout in im2col.h).
 *
 * Row (c, ky, kx) of the column matrix is the input plane c shifted by
 * (ky − pad, kx − pad) and subsampled by the stride. For stride 1 each output
 * row y is a contiguous run of the input row iy = y − pad + ky, so the inner
 * loop is a memcpy with zero fill at the left and right borders.
 */
#include "im2col.h"

#include <string.h>

/* Columns x whose input column x·stride − pad + kx lies inside [0, in_w). */
static void valid_x_range(const fb_conv_geom *g, int kx, int *x_begin, int *x_end)
{
    int begin = 0, end = g->out_w;
    while (begin < end && begin * g->stride - g->pad + kx < 0)
        begin++;
    while (end > begin && (end - 1) * g->stride - g->pad + kx >= g->in_w)
        end--;
    *x_begin = begin;
    *x_end = end;
}

void fb_im2col(float *col, const float *in, const fb_conv_geom *g, int samples)
{
    fb_im2col_channels(col, in, g, samples, 0, g->in_channels);
}

void fb_im2col_channels(float *col, const float *in, const fb_conv_geom *g, int samples,
                        int c_begin, int c_end)
{
    const int K = g->kernel, OH = g->out_h, OW = g->out_w;
    const size_t out_plane = (size_t)OH * OW, in_plane = (size_t)g->in_h * g->in_w;
    const size_t row_length = (size_t)samples * out_plane;
    for (int c = c_begin; c < c_end; c++)
        for (int ky = 0; ky < K; ky++)
            for (int kx = 0; kx < K; kx++) {
                float *row = col + ((size_t)((c - c_begin) * K + ky) * K + kx) * row_length;
                int x_begin, x_end;
                valid_x_range(g, kx, &x_begin, &x_end);
                for (int s = 0; s < samples; s++) {
                    const float *plane = in + ((size_t)s * g->in_channels + c) * in_plane;
                    float *dst_plane = row + (size_t)s * out_plane;
                    for (int y = 0; y < OH; y++) {
                        float *dst = dst_plane + (size_t)y * OW;
                        int iy = y * g->stride - g->pad + ky;
                        if (iy < 0 || iy >= g->in_h || x_begin >= x_end) {
                            memset(dst, 0, (size_t)OW * sizeof(float));
                            continue;
                        }
                        const float *src = plane + (size_t)iy * g->in_w;
                        for (int x = 0; x < x_begin; x++)
                            dst[x] = 0.0f;
                        if (g->stride == 1) {
                            memcpy(dst + x_begin, src + x_begin - g->pad + kx,
                                   (size_t)(x_end - x_begin) * sizeof(float));
                        } else {
                            for (int x = x_begin; x < x_end; x++)
                                dst[x] = src[x * g->stride - g->pad + kx];
                        }
                        for (int x = x_end; x < OW; x++)
                            dst[x] = 0.0f;
                    }
                }
            }
}

void fb_col2im(float *in, const float *col, const fb_conv_geom *g, int samples)
{
    const int K = g->kernel, OH = g->out_h, OW = g->out_w;
    const size_t out_plane = (size_t)OH * OW, in_plane = (size_t)g->in_h * g->in_w;
    const size_t row_length = (size_t)samples * out_plane;
    memset(in, 0, (size_t)samples * g->in_channels * in_plane * sizeof(float));
    for (int c = 0; c < g->in_channels; c++)
        for (int ky = 0; ky < K; ky++)
            for (int kx = 0; kx < K; kx++) {
                const float *row = col + ((size_t)(c * K + ky) * K + kx) * row_length;
                int x_begin, x_end;
                valid_x_range(g, kx, &x_begin, &x_end);
                for (int s = 0; s < samples; s++) {
                    float *plane = in + ((size_t)s * g->in_channels + c) * in_plane;
                    const float *src_plane = row + (size_t)s * out_plane;
                    for (int y = 0; y < OH; y++) {
                        int iy = y * g->stride - g->pad + ky;
                        if (iy < 0 || iy >= g->in_h)
                            continue;
                        const float *src = src_plane + (size_t)y * OW;
                        float *dst = plane + (size_t)iy * g->in_w;
                        for (int x = x_begin; x < x_end; x++)
                            dst[x * g->stride - g->pad + kx] += src[x];
                    }
                }
            }
}
