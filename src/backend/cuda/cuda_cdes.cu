/* cuda_cdes.cu — the CDES training loss on the GPU with cuFFT: the
 * spectral-density term and the image term of src/spectrum/cdes_loss.c,
 * forward and backward, for `cdes-train --backend cuda`, so the toy model's
 * output and its gradient never leave the device.
 *
 * Per batch y, x [n, 3, H, W] (device; H = W = 32 gives the 20 bands):
 *   gray      g = 0.2989 R + 0.5870 G + 0.1140 B            one thread per pixel
 *   spectrum  F = fft2(g)                                   fb_cuda_fft2 (cuFFT)
 *   log       m_k = 20·ln(1+|F_k|)                          one thread per coefficient
 *   bands     Σ_{k in b} m_k in double, k ascending          one thread per (image, band)
 *   terms     p, a, Σ(a−t)², ∂L/∂p                          one thread per image
 *   weights   W_k F_k, W_k = ∂L/∂|F_k| / |F_k|              one thread per coefficient
 *   inverse   ∂L/∂g = H·W · real(ifft2(W ⊙ F))              fb_cuda_ifft2_real
 *   RGB       ∂L/∂y = (0.2989, 0.5870, 0.1140) · ∂L/∂g       one thread per pixel
 *   image     Σ(y−x)² and ∂L/∂y += 2(y−x)/count              fixed blocks, block sums
 * The log, terms and weights are the shared functions of
 * src/spectrum/cdes_terms.h, and every band sum adds its coefficients in the
 * host's order (ascending unshifted index), so the GPU differs from the host
 * only by the FFT rounding and logf's last bit. The per-image losses and the
 * image term's block partials come back to the host, which sums them in a
 * fixed order. No atomics: two runs give the same bits.
 */
#include <stdlib.h>

#include "backend/cuda/cuda_internal.cuh"

extern "C" {
#include "freqbias/cdes.h"
}
#include "spectrum/cdes_terms.h"

#define BANDS FB_CDES_BANDS
#define IMAGE_LOSS_BLOCKS 64 /* blocks of the image term; their partials sum on the host */

struct fb_cuda_cdes {
    int max_batch, h, w;
    int *d_band_of;        /* [H·W] band of each unshifted coefficient, or −1 */
    int *d_band_start;     /* [BANDS + 1] band b's coefficients: d_band_pixels[start[b] .. start[b+1]) */
    int *d_band_pixels;    /* [H·W] coefficient indices, by band, ascending within one */
    int *d_counts;         /* [BANDS] */
    float *d_target;       /* [BANDS] */
    float *d_gray;         /* [max_batch, H, W], then ∂L/∂g */
    float *d_spectrum;     /* [max_batch, H, W, 2] */
    float *d_log;          /* [max_batch, H, W] */
    float *d_weighted;     /* [max_batch, H, W, 2] */
    double *d_band_sum;    /* [max_batch, BANDS] */
    double *d_dp;          /* [max_batch, BANDS] */
    double *d_image_loss;  /* [max_batch] */
    float *d_density;      /* [max_batch, BANDS] */
    double *d_partials;    /* [IMAGE_LOSS_BLOCKS] */
};

/* ---- kernels ------------------------------------------------------------ */

/* gray[n, plane] from y[n, 3, plane] */
static __global__ void gray_kernel(float *gray, const float *y, size_t total, size_t plane)
{
    GRID_STRIDE_LOOP(i, total) {
        const float *r = y + (i / plane) * 3 * plane + i % plane;
        gray[i] = 0.2989f * r[0] + 0.5870f * r[plane] + 0.1140f * r[2 * plane];
    }
}

/* m[n, plane] = 20·ln(1+|F|) of spectrum[n, plane, 2] */
static __global__ void log_kernel(float *m, const float *spectrum, size_t total)
{
    GRID_STRIDE_LOOP(i, total)
        m[i] = fb_cdes_log_magnitude(spectrum[2 * i], spectrum[2 * i + 1]);
}

/* band_sum[n, BANDS]: each (image, band) summed serially, coefficients ascending */
static __global__ void band_sum_kernel(double *band_sum, const float *m, const int *band_start,
                                       const int *band_pixels, size_t total, size_t plane)
{
    GRID_STRIDE_LOOP(i, total) {
        const float *image = m + (i / BANDS) * plane;
        int b = (int)(i % BANDS);
        double sum = 0.0;
        for (int j = band_start[b]; j < band_start[b + 1]; j++)
            sum += image[band_pixels[j]];
        band_sum[i] = sum;
    }
}

/* per image: loss[n], density[n, BANDS], dp[n, BANDS] (dp may be NULL) */
static __global__ void terms_kernel(double *loss, float *density, double *dp, const double *band_sum,
                                    const int *counts, const float *target, double scale, int n)
{
    GRID_STRIDE_LOOP(i, (size_t)n)
        loss[i] = fb_cdes_density_terms(band_sum + i * BANDS, counts, target, scale,
                                        density + i * BANDS, dp ? dp + i * BANDS : NULL);
}

/* weighted[n, plane, 2] = W ⊙ F */
static __global__ void weight_kernel(float *weighted, const float *spectrum, const int *band_of,
                                     const double *dp, const int *counts, size_t total, size_t plane)
{
    GRID_STRIDE_LOOP(i, total) {
        float re = spectrum[2 * i], im = spectrum[2 * i + 1];
        float weight = fb_cdes_pixel_weight(re, im, band_of[i % plane], dp + (i / plane) * BANDS, counts);
        weighted[2 * i] = weight * re;
        weighted[2 * i + 1] = weight * im;
    }
}

/* grad[n, 3, plane] from dgray[n, plane] (the ifft2 result, times H·W) */
static __global__ void gray_backward_kernel(float *grad, const float *dgray, float rescale,
                                            size_t total, size_t plane)
{
    GRID_STRIDE_LOOP(i, total) {
        float dg = dgray[i] * rescale;
        float *g = grad + (i / plane) * 3 * plane + i % plane;
        g[0] = 0.2989f * dg;
        g[plane] = 0.5870f * dg;
        g[2 * plane] = 0.1140f * dg;
    }
}

/* partials[block] = Σ (y−x)² over the block's elements; grad += factor·(y−x).
 * Launched with IMAGE_LOSS_BLOCKS blocks of FB_CUDA_REDUCE_THREADS. */
static __global__ void image_loss_kernel(double *partials, float *grad, const float *y,
                                         const float *x, size_t count, float factor)
{
    double sum = 0.0;
    GRID_STRIDE_LOOP(i, count) {
        double diff = (double)y[i] - x[i];
        sum += diff * diff;
        if (grad)
            grad[i] += factor * (y[i] - x[i]);
    }
    double block_total = fb_block_sum(sum);
    if (threadIdx.x == 0)
        partials[blockIdx.x] = block_total;
}

/* ---- API ---------------------------------------------------------------- */

extern "C" void fb_cuda_cdes_free(fb_cuda_cdes *c)
{
    if (!c)
        return;
    void *buffers[] = {c->d_band_of, c->d_band_start, c->d_band_pixels, c->d_counts,
                       c->d_target, c->d_gray, c->d_spectrum, c->d_log, c->d_weighted,
                       c->d_band_sum, c->d_dp, c->d_image_loss, c->d_density, c->d_partials};
    for (size_t i = 0; i < sizeof buffers / sizeof buffers[0]; i++)
        fb_cuda_release(buffers[i]);
    free(c);
}

extern "C" fb_status fb_cuda_cdes_create(fb_cuda_cdes **out, int max_batch, int h, int w,
                                         const int *band_of, const int *counts)
{
    *out = NULL;
    if (max_batch < 1 || h < 2 || w < 2)
        return fb_error(FB_ERR_USAGE, "cuda CDES loss: bad geometry (batch %d, %dx%d)", max_batch, h, w);
    const size_t plane = (size_t)h * w, batch = (size_t)max_batch;
    /* the bands as lists of coefficients, each ascending (the host's summation order) */
    int start[BANDS + 1] = {0};
    int *pixels = (int *)malloc(plane * sizeof(int));
    if (!pixels)
        return fb_error(FB_ERR_NOMEM, "cuda CDES loss: out of memory");
    for (size_t k = 0; k < plane; k++)
        if (band_of[k] >= 0)
            start[band_of[k] + 1]++;
    for (int b = 0; b < BANDS; b++) {
        if (start[b + 1] != counts[b]) {
            free(pixels);
            return fb_error(FB_ERR_USAGE, "cuda CDES loss: band %d has %d coefficients, counts say %d",
                            b, start[b + 1], counts[b]);
        }
        start[b + 1] += start[b];
    }
    int fill[BANDS];
    for (int b = 0; b < BANDS; b++)
        fill[b] = start[b];
    for (size_t k = 0; k < plane; k++)
        if (band_of[k] >= 0)
            pixels[fill[band_of[k]]++] = (int)k;

    fb_cuda_cdes *c = (fb_cuda_cdes *)calloc(1, sizeof *c);
    if (!c) {
        free(pixels);
        return fb_error(FB_ERR_NOMEM, "cuda CDES loss: out of memory");
    }
    c->max_batch = max_batch;
    c->h = h;
    c->w = w;
    c->d_band_of = (int *)fb_cuda_alloc(plane * sizeof(int));
    c->d_band_start = (int *)fb_cuda_alloc((BANDS + 1) * sizeof(int));
    c->d_band_pixels = (int *)fb_cuda_alloc(plane * sizeof(int));
    c->d_counts = (int *)fb_cuda_alloc(BANDS * sizeof(int));
    c->d_target = (float *)fb_cuda_alloc(BANDS * sizeof(float));
    c->d_gray = (float *)fb_cuda_alloc(batch * plane * sizeof(float));
    c->d_spectrum = (float *)fb_cuda_alloc(batch * plane * 2 * sizeof(float));
    c->d_log = (float *)fb_cuda_alloc(batch * plane * sizeof(float));
    c->d_weighted = (float *)fb_cuda_alloc(batch * plane * 2 * sizeof(float));
    c->d_band_sum = (double *)fb_cuda_alloc(batch * BANDS * sizeof(double));
    c->d_dp = (double *)fb_cuda_alloc(batch * BANDS * sizeof(double));
    c->d_image_loss = (double *)fb_cuda_alloc(batch * sizeof(double));
    c->d_density = (float *)fb_cuda_alloc(batch * BANDS * sizeof(float));
    c->d_partials = (double *)fb_cuda_alloc(IMAGE_LOSS_BLOCKS * sizeof(double));
    if (!c->d_band_of || !c->d_band_start || !c->d_band_pixels || !c->d_counts || !c->d_target ||
        !c->d_gray || !c->d_spectrum || !c->d_log || !c->d_weighted || !c->d_band_sum || !c->d_dp ||
        !c->d_image_loss || !c->d_density || !c->d_partials) {
        free(pixels);
        fb_cuda_cdes_free(c);
        return fb_error(FB_ERR_NOMEM, "cuda CDES loss: no GPU memory for batches of %d", max_batch);
    }
    fb_cuda_to_device(c->d_band_of, band_of, plane * sizeof(int));
    fb_cuda_to_device(c->d_band_start, start, sizeof start);
    fb_cuda_to_device(c->d_band_pixels, pixels, plane * sizeof(int));
    fb_cuda_to_device(c->d_counts, counts, BANDS * sizeof(int));
    free(pixels);
    *out = c;
    return FB_OK;
}

extern "C" fb_status fb_cuda_cdes_loss(fb_cuda_cdes *c, float *grad, double *image_losses,
                                       float *density, double *squared_error, const float *y,
                                       const float *x, int n, const float *target, double scale)
{
    if (n < 1 || n > c->max_batch)
        return fb_error(FB_ERR_USAGE, "cuda CDES loss: batch of %d outside 1..%d", n, c->max_batch);
    const size_t plane = (size_t)c->h * c->w, pixels = (size_t)n * plane;
    const size_t bands = (size_t)n * BANDS;
    fb_cuda_to_device(c->d_target, target, BANDS * sizeof(float));

    gray_kernel<<<fb_cuda_grid(pixels), FB_CUDA_THREADS>>>(c->d_gray, y, pixels, plane);
    LAUNCH_CHECK();
    FB_TRY(fb_cuda_fft2(c->d_spectrum, c->d_gray, n, c->h, c->w));
    log_kernel<<<fb_cuda_grid(pixels), FB_CUDA_THREADS>>>(c->d_log, c->d_spectrum, pixels);
    LAUNCH_CHECK();
    band_sum_kernel<<<fb_cuda_grid(bands), FB_CUDA_THREADS>>>(c->d_band_sum, c->d_log, c->d_band_start,
                                                              c->d_band_pixels, bands, plane);
    LAUNCH_CHECK();
    terms_kernel<<<fb_cuda_grid((size_t)n), FB_CUDA_THREADS>>>(c->d_image_loss, c->d_density,
                                                               grad ? c->d_dp : NULL, c->d_band_sum,
                                                               c->d_counts, c->d_target, scale, n);
    LAUNCH_CHECK();
    if (grad) {
        weight_kernel<<<fb_cuda_grid(pixels), FB_CUDA_THREADS>>>(c->d_weighted, c->d_spectrum, c->d_band_of,
                                                                 c->d_dp, c->d_counts, pixels, plane);
        LAUNCH_CHECK();
        FB_TRY(fb_cuda_ifft2_real(c->d_gray, c->d_weighted, n, c->h, c->w, NULL));
        gray_backward_kernel<<<fb_cuda_grid(pixels), FB_CUDA_THREADS>>>(grad, c->d_gray, (float)plane,
                                                                        pixels, plane);
        LAUNCH_CHECK();
    }
    if (x) {
        size_t count = pixels * 3;
        image_loss_kernel<<<IMAGE_LOSS_BLOCKS, FB_CUDA_REDUCE_THREADS>>>(
            c->d_partials, grad, y, x, count, 2.0f / (float)count);
        LAUNCH_CHECK();
        double partials[IMAGE_LOSS_BLOCKS];
        fb_cuda_to_host(partials, c->d_partials, sizeof partials);
        double total = 0.0;
        for (int b = 0; b < IMAGE_LOSS_BLOCKS; b++)
            total += partials[b];
        *squared_error = total;
    }
    fb_cuda_to_host(image_losses, c->d_image_loss, (size_t)n * sizeof(double));
    if (density)
        fb_cuda_to_host(density, c->d_density, bands * sizeof(float));
    return FB_OK;
}
