/* radial.c — the azimuthal average "AI" of a spectrum (PAPER.md C2), and grayscale.
 *
 * The azimuthal average turns an [H, W] magnitude spectrum (after fftshift)
 * into a 1-D profile: the mean of the pixels in each ring of integer radius.
 * Two conventions:
 *
 *   freqbias (the seed's azimuthalAverage, the default)
 *     centre  (cy, cx) = ((H−1)/2, (W−1)/2)  — (15.5, 15.5) at 32×32, between
 *             the four central pixels, NOT the DC bin (16, 16)
 *     ring    floor(hypot(y − cy, x − cx))  (the seed's .astype(int))
 *     kept    rings 1 .. R−1, R the largest ring: the seed drops the first
 *             (radius 0) and the last (the corners). At 32×32 R = 21, leaving
 *             20 bands, band b = ring b + 1, with 8, 20, 20, 28, ... 36, 12 pixels.
 *   centered
 *     centre  the DC bin (H/2, W/2)
 *     ring    round(hypot(y − H/2, x − W/2))  (never a tie: sqrt of an integer
 *             is never k + 1/2)
 *     kept    every ring 0 .. R (24 bands at 32×32, band 0 = DC alone)
 *
 * The seed sorted the pixels by radius and took differences of a float32
 * cumulative sum; here each band is a plain double sum over pixels in
 * row-major order divided by the count: the same mean, without the
 * cancellation, in a fixed order. The seed's grouping assumed every integer
 * radius occurs; if one did not (it does at every size we use) its bands
 * would shift, ours keep the empty band with the value 0.
 *
 * numpy (freqbias convention):
 *   y, x = np.indices((H, W)); r = np.hypot(x − (W−1)/2, y − (H−1)/2).astype(int)
 *   prof = np.bincount(r.ravel(), img.ravel()) / np.bincount(r.ravel()); prof[1:-1]
 *
 * Grayscale: the seed's RGB2gray, 0.2989 R + 0.5870 G + 0.1140 B (ITU-R 601
 * luma weights as MATLAB's rgb2gray rounds them), computed in float.
 */
#include <math.h>
#include <stdlib.h>

#include "freqbias/spectrum.h"

const char *fb_radial_convention_name(fb_radial_convention convention)
{
    return convention == FB_RADIAL_CENTERED ? "centered" : "freqbias";
}

static int ring_of(int y, int x, int h, int w, fb_radial_convention convention)
{
    if (convention == FB_RADIAL_CENTERED)
        return (int)lround(hypot((double)(y - h / 2), (double)(x - w / 2)));
    return (int)hypot(y - (h - 1) / 2.0, x - (w - 1) / 2.0);
}

fb_status fb_radial_init(fb_radial_bins *bins, int h, int w, fb_radial_convention convention)
{
    *bins = (fb_radial_bins){.h = h, .w = w, .convention = convention};
    if (h < 1 || w < 1 || (long long)h * w > (1LL << 26))
        return fb_error(FB_ERR_USAGE, "radial average: plane shape %dx%d is not supported", h, w);
    if (convention != FB_RADIAL_FREQBIAS && convention != FB_RADIAL_CENTERED)
        return fb_error(FB_ERR_USAGE, "radial average: unknown convention %d", (int)convention);
    size_t hw = (size_t)h * (size_t)w;
    int *band_of = malloc(hw * sizeof *band_of); /* [H*W] */
    if (!band_of)
        return fb_error(FB_ERR_NOMEM, "radial average: no memory for %dx%d", h, w);
    int largest = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int ring = ring_of(y, x, h, w, convention);
            band_of[(size_t)y * w + x] = ring;
            if (ring > largest)
                largest = ring;
        }
    /* freqbias: ring k → band k − 1 for 1 ≤ k < largest, else dropped */
    int bands = convention == FB_RADIAL_CENTERED ? largest + 1 : largest - 1;
    if (bands < 1) {
        free(band_of);
        return fb_error(FB_ERR_USAGE, "radial average: %dx%d is too small for the %s convention",
                        h, w, fb_radial_convention_name(convention));
    }
    int *counts = calloc((size_t)bands, sizeof *counts); /* [bands] */
    if (!counts) {
        free(band_of);
        return fb_error(FB_ERR_NOMEM, "radial average: no memory for %d bands", bands);
    }
    for (size_t p = 0; p < hw; p++) {
        int band = band_of[p];
        if (convention == FB_RADIAL_FREQBIAS)
            band = band >= 1 && band < largest ? band - 1 : -1;
        band_of[p] = band;
        if (band >= 0)
            counts[band]++;
    }
    bins->bands = bands;
    bins->band_of = band_of;
    bins->counts = counts;
    return FB_OK;
}

void fb_radial_free(fb_radial_bins *bins)
{
    free(bins->band_of);
    free(bins->counts);
    bins->band_of = NULL;
    bins->counts = NULL;
    bins->bands = 0;
}

fb_status fb_radial_average(float *out, const float *in, int count, const fb_radial_bins *bins)
{
    if (!bins->band_of || count < 0)
        return fb_error(FB_ERR_USAGE, "radial average: bins not initialised or count %d", count);
    size_t hw = (size_t)bins->h * (size_t)bins->w;
    int bands = bins->bands, failed = 0;
#pragma omp parallel
    {
        double *sums = malloc((size_t)bands * sizeof *sums); /* [bands], this thread's */
        if (!sums) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(static)
        for (int n = 0; n < count; n++) {
            const float *plane = in + (size_t)n * hw;        /* [H, W] */
            float *profile = out + (size_t)n * bands;        /* [bands] */
            if (!sums)
                continue;
            for (int b = 0; b < bands; b++)
                sums[b] = 0.0;
            for (size_t p = 0; p < hw; p++)
                if (bins->band_of[p] >= 0)
                    sums[bins->band_of[p]] += plane[p];
            for (int b = 0; b < bands; b++)
                profile[b] = bins->counts[b] ? (float)(sums[b] / bins->counts[b]) : 0.0f;
        }
        free(sums);
    }
    if (failed)
        return fb_error(FB_ERR_NOMEM, "radial average: no memory for %d band sums", bands);
    return FB_OK;
}

void fb_grayscale(float *out, const float *in, int count, int h, int w)
{
    size_t hw = (size_t)h * (size_t)w;
    for (int n = 0; n < count; n++) {
        const float *r = in + (size_t)n * 3 * hw, *g = r + hw, *b = g + hw; /* [H, W] each */
        float *gray = out + (size_t)n * hw;                                /* [H, W] */
        for (size_t p = 0; p < hw; p++)
            gray[p] = 0.2989f * r[p] + 0.5870f * g[p] + 0.1140f * b[p];
    }
}
