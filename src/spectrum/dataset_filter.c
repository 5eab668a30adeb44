/* dataset_filter.c — low/high/band-pass copies of a whole dataset: the
 * filtered test sets of the paper's Fig. 3 (test.py's X_l^(r), X_h^(r)).
 *
 * Each channel of each image (pixels value/255) goes through
 * fftshift(fft2) → × C1 mask (DC at (H/2, W/2); low: d < r) → ifft2 of the
 * unshifted product → real part, then `norm` (PAPER.md C4: min-max per
 * image and channel, or none). fb_spectral_filter_on does the per-plane work
 * (in parallel on the host, or with cuFFT on the cuda backend); this file
 * only builds the mask and converts the pixels. "dct"
 * keeps the r×r lowest DCT-II coefficients instead (fb_dct_square_lowpass_on).
 */
#include <stdlib.h>
#include <string.h>

#include "freqbias/backend.h"
#include "freqbias/dataset.h"
#include "freqbias/spectrum.h"

static const char *const freq_names[] = {"low", "high", "band", "dct"};

fb_status fb_freq_parse(const char *name, fb_freq *freq)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(name, freq_names[i]) == 0) {
            *freq = (fb_freq)i;
            return FB_OK;
        }
    return fb_error(FB_ERR_USAGE, "unknown frequency band '%s' (low, high, band, dct)", name);
}

const char *fb_freq_name(fb_freq freq) { return freq_names[freq]; }

fb_status fb_filter_dataset(const fb_dataset *data, fb_freq freq, double r, double r2,
                            fb_norm norm, const fb_backend *backend, float **out, float *imag_ratio)
{
    int h = data->height, w = data->width;
    size_t count = (size_t)data->count * data->channels * h * w;
    if (!(r > 0.0) || (freq == FB_FREQ_BAND && !(r2 > r)))
        return fb_error(FB_ERR_USAGE, "filter radius must be > 0 (and r2 > r for a band): got %g, %g",
                        r, r2);
    float *mask = malloc((size_t)h * w * sizeof(float));     /* [H, W] shifted layout */
    float *images = malloc((count ? count : 1) * sizeof(float)); /* [count, C, H, W] */
    if (!mask || !images) {
        free(mask);
        free(images);
        return fb_error(FB_ERR_NOMEM, "%s: out of memory filtering %d images", data->source,
                        data->count);
    }
    fb_u8_to_unit(images, data->pixels, count);
    if (freq == FB_FREQ_DCT_LOW) {
        free(mask);
        fb_status status = fb_dct_square_lowpass_on(backend, images, images,
                                                    (size_t)data->count * data->channels, h, w, (int)r);
        if (status == FB_OK && norm == FB_NORM_MINMAX)
            fb_minmax_planes(images, (size_t)data->count * data->channels, (size_t)h * w);
        if (imag_ratio)
            *imag_ratio = 0.0f;
        if (status != FB_OK)
            free(images);
        else
            *out = images;
        return status;
    }
    if (freq == FB_FREQ_LOW)
        fb_mask_low(mask, h, w, r);
    else if (freq == FB_FREQ_HIGH)
        fb_mask_high(mask, h, w, r);
    else
        fb_mask_band(mask, h, w, r, r2);
    fb_status status = fb_spectral_filter_on(backend, images, images, data->count, data->channels, h,
                                             w, mask, norm, imag_ratio);
    free(mask);
    if (status != FB_OK) {
        free(images);
        return status;
    }
    *out = images;
    return FB_OK;
}
