/* hars.c — the HARS dataset of the paper's Hypothesis II (PAPER.md E4;
 * the seed's tools/generate_freq_dataset.py, fixed).
 *
 * Every training image keeps its own high frequencies (C1 mask, r = 12 by
 * default) and receives the low frequencies of an image of ANOTHER class;
 * each low part is used exactly once. The label stays that of the
 * high-frequency image, so a classifier can only learn the labels from the
 * high frequencies: class consistency moves into the HFC.
 *
 * The seed drew donors by rejection sampling without replacement, which can
 * loop forever near the end (the last images may only have same-class donors
 * left). Here the pairing is a random permutation repaired by swaps, which
 * always terminates (fb_hars_pairing in freqbias/spectrum.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "freqbias/backend.h"
#include "freqbias/dataset.h"
#include "freqbias/rng.h"
#include "freqbias/spectrum.h"

fb_status fb_hars_pairing(int *donor, const int32_t *labels, int n, uint64_t seed)
{
    if (n < 2)
        return fb_error(FB_ERR_USAGE, "HARS pairing needs at least 2 images (got %d)", n);
    int largest = 0, max_label = 0;
    for (int i = 0; i < n; i++)
        max_label = labels[i] > max_label ? labels[i] : max_label;
    int *counts = calloc((size_t)max_label + 1, sizeof(int));
    if (!counts)
        return fb_error(FB_ERR_NOMEM, "HARS pairing: out of memory");
    for (int i = 0; i < n; i++)
        if (++counts[labels[i]] > largest)
            largest = counts[labels[i]];
    free(counts);
    if (2 * largest > n)
        return fb_error(FB_ERR_USAGE,
                        "HARS pairing: one class holds %d of %d images; no pairing with another class "
                        "for every image exists",
                        largest, n);
    /* a random permutation (Fisher–Yates on the counter RNG) */
    for (int i = 0; i < n; i++)
        donor[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)fb_rng_below(seed, FB_STREAM_PAIRING, 0, (uint64_t)i, (uint32_t)(i + 1));
        int swap = donor[i];
        donor[i] = donor[j];
        donor[j] = swap;
    }
    /* repair same-class pairs: swap donors with a partner k, scanned from a
     * random start, such that both pairs become valid */
    for (int i = 0; i < n; i++) {
        if (labels[donor[i]] != labels[i])
            continue;
        int start = (int)fb_rng_below(seed, FB_STREAM_PAIRING, 1, (uint64_t)i, (uint32_t)n), found = 0;
        for (int step = 0; step < n && !found; step++) {
            int k = (start + step) % n;
            if (labels[donor[k]] != labels[i] && labels[donor[i]] != labels[k]) {
                int swap = donor[i];
                donor[i] = donor[k];
                donor[k] = swap;
                found = 1;
            }
        }
        if (!found)
            return fb_error(FB_ERR_NUMERIC, "HARS pairing: no swap partner for image %d", i);
    }
    return FB_OK;
}

fb_status fb_hars_mix(float *out, const float *x, const float *donor, int channels, int h, int w,
                      const float *low_mask, const float *high_mask)
{
    size_t count = (size_t)channels * h * w;
    float *low = malloc(count * sizeof(float)); /* [C, H, W] */
    if (!low)
        return fb_error(FB_ERR_NOMEM, "HARS: out of memory");
    fb_status status = fb_spectral_filter(out, x, 1, channels, h, w, high_mask, FB_NORM_NONE, NULL);
    if (status == FB_OK)
        status = fb_spectral_filter(low, donor, 1, channels, h, w, low_mask, FB_NORM_NONE, NULL);
    if (status == FB_OK)
        for (size_t i = 0; i < count; i++)
            out[i] += low[i];
    free(low);
    return status;
}

fb_status fb_hars_build(fb_dataset *out, const fb_dataset *data, const int *donor, double r,
                        const fb_backend *backend)
{
    int C = data->channels, h = data->height, w = data->width, n = data->count;
    size_t image = (size_t)C * h * w, total = (size_t)n * image;
    float *pixels = malloc(total * sizeof(float));   /* [n, C, H, W] 0–255 */
    float *high = malloc(total * sizeof(float));     /* [n, C, H, W] */
    float *low = malloc(total * sizeof(float));      /* [n, C, H, W] */
    float *low_mask = malloc((size_t)h * w * sizeof(float));  /* [H, W] */
    float *high_mask = malloc((size_t)h * w * sizeof(float)); /* [H, W] */
    memset(out, 0, sizeof *out);
    out->pixels = malloc(total ? total : 1);
    out->labels = malloc((size_t)n * sizeof(int32_t));
    fb_status status = FB_OK;
    if (!pixels || !high || !low || !low_mask || !high_mask || !out->pixels || !out->labels)
        status = fb_error(FB_ERR_NOMEM, "HARS: out of memory for %d images", n);
    if (status == FB_OK) {
        fb_mask_low(low_mask, h, w, r);
        fb_mask_high(high_mask, h, w, r);
        for (size_t i = 0; i < total; i++)
            pixels[i] = (float)data->pixels[i];
        /* the transform is linear: mix = high(x) + low(donor), one batched
         * filter per part instead of a pair of FFTs per image */
        status = fb_spectral_filter_on(backend, high, pixels, n, C, h, w, high_mask, FB_NORM_NONE, NULL);
    }
    if (status == FB_OK)
        status = fb_spectral_filter_on(backend, low, pixels, n, C, h, w, low_mask, FB_NORM_NONE, NULL);
    if (status == FB_OK) {
#pragma omp parallel for schedule(static)
        for (int i = 0; i < n; i++) {
            float *mixed = high + (size_t)i * image;
            const float *donated = low + (size_t)donor[i] * image;
            for (size_t p = 0; p < image; p++)
                mixed[p] += donated[p];
        }
        fb_minmax_planes(high, (size_t)n * C, (size_t)h * w);
        for (size_t i = 0; i < total; i++) {
            float v = high[i] * 255.0f;
            out->pixels[i] = v <= 0.0f ? 0 : (v >= 255.0f ? 255 : (uint8_t)v);
        }
        memcpy(out->labels, data->labels, (size_t)n * sizeof(int32_t));
        out->count = n;
        out->channels = C;
        out->height = h;
        out->width = w;
        out->num_classes = data->num_classes;
        snprintf(out->source, sizeof out->source, "HARS r=%g of %.480s", r, data->source);
    } else {
        fb_dataset_free(out);
    }
    free(pixels);
    free(high);
    free(low);
    free(low_mask);
    free(high_mask);
    return status;
}
