/* freqbias/fourier.h — where in the spectrum a model is fragile: the
 * Fourier heat map of Yin et al. (NeurIPS 2019, "A Fourier Perspective on
 * Model Robustness in Computer Vision") and band-limited noise robustness
 * over the seed's 20 radial bands (PAPER.md C2).
 *
 * Conventions (the README's "Fourier heat maps" section says the same):
 *
 *   layout     frequencies sit on the CENTRED (fftshift) grid of an H×W
 *              spectrum: position (s, t) is the frequency
 *              (k, l) = (s − H/2, t − W/2) cycles per image, DC at (H/2, W/2).
 *   mirror     the Hermitian partner of (s, t) is
 *              ((2·(H/2) − s) mod H, (2·(W/2) − t) mod W) — the frequency
 *              (−k, −l) folded back into [−H/2, H/2) (spectrum.h's mask rule).
 *   basis      U(s,t) = real(ifft2(ifftshift(E))) / ‖·‖₂, E one at (s, t)
 *              and at its mirror (one entry when they coincide: DC and the
 *              Nyquist points). That is √(2/HW)·cos(2π(km/H + ln/W)), or
 *              √(1/HW)·cos(...) at a self-mirrored point: real, unit L2 norm,
 *              and U(s,t) = U(mirror(s,t)), so only half the plane is computed.
 *   perturb    x̃[c] = clip(x[c] + r[c]·eps·U(s,t), 0, 1) per channel c, pixels
 *              in [0, 1]; r[c] = ±1 from the counter RNG (rng.h) keyed by
 *              (seed, FB_STREAM_FOURIER_SIGN, the canonical (smaller) row-major
 *              index of the pair {(s,t), mirror}, image·C + c): the same signs
 *              for a frequency and its mirror, on any thread count.
 *   error      top-1 error rate (argmax, the first of equal maxima, ≠ label)
 *              or the mean cross-entropy, over the first n images, eval mode.
 *   crop       the heat map is the central S×S window of the centred grid
 *              (S = H: all of it); row r, column c is the frequency
 *              (r − S/2, c − S/2) cycles per image.
 *
 *   band noise for band b of the C2 binning (fb_radial_bins, "freqbias"
 *              convention): a white Gaussian image per image and channel
 *              (FB_STREAM_BAND_NOISE, the same for every band), filtered
 *              with the band's Hermitian closure M_b = {p : band(p) = b or
 *              band(mirror p) = b} (the seed's bands are centred at
 *              (15.5, 15.5), not at DC, so a band alone is not Hermitian and
 *              its noise would not be real), then scaled to L2 norm eps per
 *              channel — the same energy as one heat-map perturbation —
 *              added and clipped to [0, 1].
 */
#ifndef FREQBIAS_FOURIER_H
#define FREQBIAS_FOURIER_H

#include <stdint.h>

#include "freqbias/dataset.h"
#include "freqbias/error.h"
#include "freqbias/model.h"
#include "freqbias/spectrum.h"

typedef enum fb_fourier_error_type {
    FB_FOURIER_TOP1, /* top-1 error rate in [0, 1]   */
    FB_FOURIER_LOSS  /* mean cross-entropy           */
} fb_fourier_error_type;

const char *fb_fourier_error_name(fb_fourier_error_type type); /* "top1", "loss" */
fb_status fb_fourier_error_parse(const char *name, fb_fourier_error_type *type);

typedef struct fb_fourier_options {
    int n;                           /* the first n images of the dataset  */
    double eps;                      /* L2 norm of a perturbation, per channel */
    int size;                        /* heat map S×S, S ≤ H, W             */
    uint64_t seed;
    int batch;                       /* perturbed images per forward pass  */
    fb_fourier_error_type error_type;
    /* called after every forward pass (may be NULL) */
    void (*progress)(void *context, long done, long total);
    void *progress_context;
} fb_fourier_options;

/* n 1000, eps 4, size 32, seed 0, batch 128, top-1, no progress. */
fb_fourier_options fb_fourier_options_default(void);

/* The Hermitian partner of centred position (s, t) of an H×W spectrum. */
void fb_fourier_mirror(int h, int w, int s, int t, int *mirror_s, int *mirror_t);

/* The key of the pair {(s, t), mirror}: the smaller row-major index
 * s·W + t of the two (the RNG epoch of its signs). */
uint32_t fb_fourier_pair_key(int h, int w, int s, int t);

/* basis[H, W] = U(s, t) (see above), built with FFTW (fb_fft_prepare is
 * called, so not from inside a parallel region). */
fb_status fb_fourier_basis(float *basis, int h, int w, int s, int t);

/* out[C, H, W] = clip(image[C,H,W] + r[c]·eps·basis[H,W], 0, 1), r[c] the
 * sign for (seed, key, image_index, c). */
void fb_fourier_perturb(float *out, const float *image, const float *basis, int channels, int h,
                        int w, double eps, uint64_t seed, uint32_t key, long image_index);

/* The sign r ∈ {−1, +1} of image image_index, channel c, frequency key. */
int fb_fourier_sign(uint64_t seed, uint32_t key, long image_index, int channels, int c);

/* The error of model on the first options->n images unperturbed (the
 * reference every other number is compared with). */
fb_status fb_fourier_clean_error(fb_model *model, const fb_dataset *data,
                                 const fb_fourier_options *options, double *error);

/* The error (options->error_type) of model on the first options->n images
 * of data perturbed along U(s, t) — one frequency, computed directly. */
fb_status fb_fourier_error_at(fb_model *model, const fb_dataset *data,
                              const fb_fourier_options *options, int s, int t, double *error);

/* heatmap[S, S] (S = options->size) of errors: each Hermitian pair inside the
 * window is evaluated once (all its images batched with other frequencies'
 * through shared forward passes) and written to both positions. */
fb_status fb_fourier_heatmap(fb_model *model, const fb_dataset *data,
                             const fb_fourier_options *options, double *heatmap);

/* masks[bins->bands, H, W] (0/1, centred layout): the Hermitian closure of
 * each band of bins (see above); every mask passes
 * fb_mask_hermitian_violations. */
fb_status fb_band_noise_masks(float *masks, const fb_radial_bins *bins);

/* noise[C, H, W] for image image_index restricted to mask[H, W] (a
 * Hermitian closure), L2 norm eps per channel (0 where the mask is empty). */
fb_status fb_band_noise(float *noise, const float *mask, int channels, int h, int w, double eps,
                        uint64_t seed, long image_index);

/* errors[bins->bands]: the error under band-limited noise of each band. */
fb_status fb_band_noise_errors(fb_model *model, const fb_dataset *data,
                               const fb_fourier_options *options, const fb_radial_bins *bins,
                               double *errors);

#endif
