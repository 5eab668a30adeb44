/* cdes_terms.h — the per-image steps of the CDES spectral-density loss that
 * sit between the FFTs, written once for the host (cdes_loss.c) and the GPU
 * (src/backend/cuda/cuda_cdes.cu), so both compute them with the same float
 * and double expressions in the same order.
 *
 * The maths and its derivation are in cdes_loss.c. Here, for one image:
 *   fb_cdes_log_magnitude  m_k = 20·ln(1 + |F_k|) of one coefficient
 *   fb_cdes_density_terms  band sums Σ_{k in b} 20·ln(1+|F_k|) (double)
 *                          → p_b = band mean, a_b = min-max of p,
 *                          Σ_b (a_b − t_b)², and ∂L/∂p_b through the min-max
 *   fb_cdes_pixel_weight   W_k = ∂L/∂|F_k| / |F_k| for one coefficient
 *
 * Both sides compile them (FB_HOST_DEVICE, core/host_device.h), and the
 * arithmetic rounds the same on both: sqrtf is correctly rounded on both,
 * and the logarithm is fb_logf (core/portable_math.h), plain arithmetic,
 * not a libm's or CUDA's logf (which differ from each other and between
 * glibc versions and CPUs).
 */
#ifndef FREQBIAS_CDES_TERMS_H
#define FREQBIAS_CDES_TERMS_H

#include <math.h>

#include "core/host_device.h"
#include "core/portable_math.h"
#include "freqbias/cdes.h"

/* m = 20·ln(1 + |F|) of F = (re, im) */
FB_HOST_DEVICE static inline float fb_cdes_log_magnitude(float re, float im)
{
    float magnitude = sqrtf(re * re + im * im);
    return 20.0f * fb_logf(1.0f + magnitude);
}

/* From band_sum[FB_CDES_BANDS] (Σ of 20·ln(1+|F|) over each band's
 * counts[b] coefficients) and target[FB_CDES_BANDS]: writes the density
 * a[FB_CDES_BANDS] to density (may be NULL) and, if dp is not NULL,
 * dp[FB_CDES_BANDS] = ∂L/∂p for the loss scaled by `scale` (= 1/(N·B)).
 * Returns Σ_b (a_b − t_b)² (NaN when the band means are all equal). */
FB_HOST_DEVICE static inline double fb_cdes_density_terms(const double *band_sum, const int *counts,
                                                          const float *target, double scale,
                                                          float *density, double *dp)
{
    float p[FB_CDES_BANDS], a[FB_CDES_BANDS];
    int argmin = 0, argmax = 0;
    for (int b = 0; b < FB_CDES_BANDS; b++) {
        p[b] = (float)(band_sum[b] / counts[b]);
        if (p[b] < p[argmin])
            argmin = b;
        if (p[b] > p[argmax])
            argmax = b;
    }
    float range = p[argmax] - p[argmin];
    double sum_squares = 0.0;
    for (int b = 0; b < FB_CDES_BANDS; b++) {
        a[b] = (p[b] - p[argmin]) / range; /* range 0 → NaN, reported by the caller */
        double diff = (double)a[b] - target[b];
        sum_squares += diff * diff;
        if (density)
            density[b] = a[b];
    }
    if (!dp)
        return sum_squares;
    /* ∂L/∂a → ∂L/∂p through the min-max */
    double da[FB_CDES_BANDS], shift_term = 0.0, scale_term = 0.0;
    for (int b = 0; b < FB_CDES_BANDS; b++) {
        da[b] = 2.0 * ((double)a[b] - target[b]) * scale;
        shift_term += da[b] * ((double)a[b] - 1.0);
        scale_term += da[b] * a[b];
    }
    for (int b = 0; b < FB_CDES_BANDS; b++)
        dp[b] = da[b] / range;
    dp[argmin] += shift_term / range;
    dp[argmax] -= scale_term / range;
    return sum_squares;
}

/* W = ∂L/∂|F| / |F| of one coefficient F = (re, im) in band `band` (−1:
 * outside every band), from dp[FB_CDES_BANDS] of its image: ∂L/∂m =
 * dp_b / n_b, ∂L/∂|F| = ∂L/∂m · 20/(1 + |F|). 0 where |F| = 0, as torch's
 * abs() backward gives there. */
FB_HOST_DEVICE static inline float fb_cdes_pixel_weight(float re, float im, int band, const double *dp,
                                                        const int *counts)
{
    float magnitude = sqrtf(re * re + im * im);
    if (band < 0 || !(magnitude > 0.0f))
        return 0.0f;
    double dm = dp[band] / counts[band];
    return (float)(dm * 20.0 / (1.0 + magnitude) / magnitude);
}

#endif
