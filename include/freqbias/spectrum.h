/* freqbias/spectrum.h — the 2-D Fourier analysis every experiment of the paper uses.
 *
 * What is here (PAPER.md conventions C1–C4):
 *   fft.c     2-D DFT of real planes and its inverse (FFTW, single precision),
 *             fftshift/ifftshift, magnitude, log-magnitude and power of a spectrum
 *   mask.c    frequency masks on the SHIFTED layout: C1 radial low/high, bands,
 *             the seed's CDES mask C3, and the Hermitian-symmetry check
 *   radial.c  the azimuthal average "AI" (C2) in both conventions, grayscale
 *   filter.c  X_l / X_h filtering of image batches with C4 normalisation, the
 *             uint8 → float helper and the X_l + X_h = x check
 *
 * Layouts (all row-major, PyTorch/numpy order):
 *   real planes        float [count, H, W]
 *   complex planes     float [count, H, W, 2]  (re, im interleaved = numpy complex64
 *                      viewed as float32, and FFTW's fftwf_complex)
 *   images             float [count, C, H, W]
 *   masks              float [H, W], 0 or 1, on the shifted layout: the DC
 *                      coefficient sits at (H/2, W/2) (integer division), as after
 *                      np.fft.fftshift.
 *
 * Normalisation (numpy convention): the forward DFT is unnormalised,
 *   X[k,l] = Σ_{m,n} x[m,n] · exp(−2πi (km/H + ln/W)),
 * and the inverse carries the whole 1/(H·W):
 *   x[m,n] = 1/(H·W) · Σ_{k,l} X[k,l] · exp(+2πi (km/H + ln/W)).
 * FFTW computes both sums without any factor; fb_ifft2_real divides by H·W.
 *
 * Threads: FFTW's planner is not thread-safe. Plans live in a small table, one
 * entry per (H, W), created by fb_fft_prepare (which takes a lock, so two
 * callers may race safely, but never call it from inside an OpenMP parallel
 * region: FFTW's planner shares global state with plan execution in other
 * modules). The batch functions prepare the plans they need when called
 * outside a parallel region, then run `#pragma omp parallel for` over planes;
 * every plane is computed by exactly one thread with the same plan on
 * 64-byte-aligned scratch, so results are bit-identical for any thread count.
 * The *_plane functions are for callers that run their own parallel loop:
 * they never plan (FB_ERR_USAGE if fb_fft_prepare was not called first).
 */
#ifndef FREQBIAS_SPECTRUM_H
#define FREQBIAS_SPECTRUM_H

#include <stddef.h>
#include <stdint.h>

#include "freqbias/error.h"

/* ---- FFT (fft.c) -------------------------------------------------------- */

#define FB_FFT_MAX_PLANS 16   /* distinct (H, W) shapes a process may use     */

/* Creates the forward and inverse plans for H×W planes (no-op if they exist).
 * Call outside parallel regions. */
fb_status fb_fft_prepare(int h, int w);

/* Destroys every plan (end of program; not while any FFT may run). */
void fb_fft_cleanup(void);

/* Floats of 64-byte-aligned scratch one thread needs for the *_plane calls. */
size_t fb_fft_work_floats(int h, int w);

/* Forward: out[count,H,W,2] = fft2(in[count,H,W]) — the full spectrum
 * (np.fft.fft2 / torch.fft.fft2 of a real input). */
fb_status fb_fft2(float *out, const float *in, int count, int h, int w);

/* The same on `backend`, host arrays either way: the cuda backend runs
 * cuFFT (fb_cuda_fft2; equal to float rounding); NULL or a CPU backend is
 * fb_fft2 itself. */
struct fb_backend;
fb_status fb_fft2_on(const struct fb_backend *backend, float *out, const float *in, int count, int h,
                     int w);

/* Inverse, real part: out[count,H,W] = real(ifft2(in[count,H,W,2])), with the
 * 1/(H·W). If imag_ratio is not NULL it receives max|imag| / max|real| over
 * all planes (0 when the real part is all zero): ≈1e-7 for a Hermitian
 * spectrum, O(1) when the spectrum was not Hermitian and the imaginary part
 * that real() throws away was real signal. */
fb_status fb_ifft2_real(float *out, const float *in, int count, int h, int w, float *imag_ratio);

/* One plane, for use inside the caller's parallel loop (plans must exist).
 * out[H,W,2], in[H,W], work[fb_fft_work_floats(h,w)] 64-byte aligned. */
fb_status fb_fft2_plane(float *out, const float *in, int h, int w, float *work);

/* One plane inverse: out[H,W] = real(ifft2(in[H,W,2])); max_imag and max_real
 * (may be NULL) receive max|imag| and max|real| of the scaled result. */
fb_status fb_ifft2_real_plane(float *out, const float *in, int h, int w, float *work,
                              float *max_imag, float *max_real);

/* Half spectrum (np.fft.rfft2 / irfft2), one plane, plans must exist:
 *   fb_rfft2_plane:  out[H, W/2+1, 2] = the columns 0..W/2 of fft2(in[H,W])
 *   fb_irfft2_plane: out[H,W] = ifft2 of the Hermitian spectrum whose columns
 *                    0..W/2 are in[H, W/2+1, 2] (FFTW c2r, with the 1/(H·W));
 *                    in is left unchanged. */
fb_status fb_rfft2_plane(float *out, const float *in, int h, int w, float *work);
fb_status fb_irfft2_plane(float *out, const float *in, int h, int w, float *work);

/* numpy fftshift / ifftshift over both axes (roll by ±floor(n/2)), any parity:
 *   fftshift:  out[s,t] = in[(s − H/2) mod H, (t − W/2) mod W]
 *   ifftshift: out[s,t] = in[(s + H/2) mod H, (t + W/2) mod W]
 * out and in must not overlap. Real: [H,W]; complex: [H,W,2]. */
void fb_fftshift_real(float *out, const float *in, int h, int w);
void fb_ifftshift_real(float *out, const float *in, int h, int w);
void fb_fftshift_complex(float *out, const float *in, int h, int w);
void fb_ifftshift_complex(float *out, const float *in, int h, int w);

/* Per coefficient of a complex array in[n,2] → out[n]:
 *   magnitude      |F| = hypot(re, im)                 (np.abs)
 *   log magnitude  20·ln(1 + |F|)                      (the CDES "AI" input)
 *   power          |F|² = re² + im²                                            */
void fb_spectrum_magnitude(float *out, const float *in, size_t n);
void fb_spectrum_log_magnitude(float *out, const float *in, size_t n);
void fb_spectrum_power(float *out, const float *in, size_t n);

/* ---- masks (mask.c) ----------------------------------------------------- */

/* Each writes mask[H,W] (0/1 floats, shifted layout) and returns the number
 * of ones, or −1 with an fb_error message for bad arguments. d is the
 * Euclidean distance of (i, j) from the DC bin (H/2, W/2).
 *   low   (C1)  d <  r
 *   high  (C1)  1 − low: d ≥ r
 *   band        r1 ≤ d < r2                                                   */
int fb_mask_low(float *mask, int h, int w, double r);
int fb_mask_high(float *mask, int h, int w, double r);
int fb_mask_band(float *mask, int h, int w, double r1, double r2);

/* The seed's CDES recombination masks (C3, `--compat freqbias`), general H×W.
 * The seed measures distances only in the top-left quadrant, from (H/2, W/2),
 * and mirrors that quadrant up-down and left-right; so with c = H/2 (integer)
 *   a(i) = i for i < c,  H−1−i for i > H−1−c,  none for the middle row of an odd H
 *   dy(i) = c − a(i)      (1..c; for even H: |i − (H−1)/2| + 1/2)
 * and likewise dx(j) with W, and d² = dy² + dx². Then
 *   low  = d ≤ r          high = r + 1 ≤ d ≤ H
 * (rows/columns with no a(i), i.e. the middle ones of an odd size, are 0 in
 * both). At 32×32, r = 10: low 276, high 692, 56 in neither (10 < d < 11).
 * The masks are symmetric about ((H−1)/2, (W−1)/2), not about the DC bin, so
 * they are NOT Hermitian-symmetric: the real part then drops signal.
 * Returns 0, or FB_ERR_USAGE; *low_count, *high_count may be NULL. */
fb_status fb_mask_cdes(float *low, float *high, int h, int w, int r, int *low_count,
                       int *high_count);

/* The number of nonzero entries of mask[H,W]. */
int fb_mask_count(const float *mask, int h, int w);

/* Hermitian symmetry on the shifted layout. A real x has X[−k] = conj(X[k]);
 * after fftshift the coefficient k sits at s = (k + H/2) mod H, so −k sits at
 *   s' = (2·(H/2) − s) mod H   (even H: (H − s) mod H; odd H: H − 1 − s),
 * and likewise for columns. A mask keeps every real image's spectrum Hermitian
 * (so the inverse is real) iff m[s,t] == m[s',t'] everywhere. Returns the
 * number of positions where that fails (0 = symmetric). */
int fb_mask_hermitian_violations(const float *mask, int h, int w);

/* ---- radial average and grayscale (radial.c) ---------------------------- */

typedef enum fb_radial_convention {
    /* the seed's azimuthalAverage: centre ((W−1)/2, (H−1)/2), radius truncated,
     * first (radius 0) and last (largest radius) bins dropped; band b holds
     * the pixels with integer radius b + 1 (20 bands at 32×32) */
    FB_RADIAL_FREQBIAS,
    /* about the DC bin (H/2, W/2), radius rounded to nearest, all bins kept:
     * band b holds the pixels with round(radius) == b (24 bands at 32×32) */
    FB_RADIAL_CENTERED
} fb_radial_convention;

const char *fb_radial_convention_name(fb_radial_convention convention); /* "freqbias", "centered" */

typedef struct fb_radial_bins {
    int h, w;
    fb_radial_convention convention;
    int bands;        /* number of output values per plane                    */
    int *band_of;     /* [H*W] band of each pixel, −1 if the pixel is dropped */
    int *counts;      /* [bands] pixels per band                             */
} fb_radial_bins;

/* Builds the binning for H×W planes (owned arrays; free with fb_radial_free). */
fb_status fb_radial_init(fb_radial_bins *bins, int h, int w, fb_radial_convention convention);
void fb_radial_free(fb_radial_bins *bins);

/* out[count, bands] = mean over each band of in[count, H, W] (sums in double,
 * pixel order; an empty band gives 0). Parallel over planes. */
fb_status fb_radial_average(float *out, const float *in, int count, const fb_radial_bins *bins);

/* out[count,H,W] = 0.2989 R + 0.5870 G + 0.1140 B of in[count,3,H,W]
 * (the seed's RGB2gray; the same weights as MATLAB rgb2gray). */
void fb_grayscale(float *out, const float *in, int count, int h, int w);

/* ---- filtering (filter.c) ----------------------------------------------- */

typedef enum fb_norm {
    FB_NORM_NONE,    /* the real part as it is (may leave [0,1], never wrapped) */
    FB_NORM_MINMAX   /* per image, per channel: (x − min)/(max − min); a constant
                        channel becomes all 0                                   */
} fb_norm;

const char *fb_norm_name(fb_norm norm); /* "none", "minmax" */

/* out[count,C,H,W] = per channel real(ifft2(ifftshift(fftshift(fft2(x)) · mask)))
 * then `norm` (C4). in[count,C,H,W] is float at whatever scale the caller wants:
 * the seed's HARS works on 0–255 pixels, the filtered test sets on [0,1]
 * (fb_u8_to_unit). mask[H,W] on the shifted layout (fb_mask_*). in and out
 * may be the same array. Hermitian masks (fb_mask_hermitian_violations = 0)
 * take the half-spectrum path, rfft2 → mask → irfft2, whose result is real by
 * construction; other masks the full complex path, of whose inverse the real
 * part is kept, as the seed does. If imag_ratio is not NULL it receives the
 * largest max|imag|/max|real| of any plane before normalisation (0 on the
 * half-spectrum path). */
fb_status fb_spectral_filter(float *out, const float *in, int count, int channels, int h, int w,
                             const float *mask, fb_norm norm, float *imag_ratio);

/* The same on `backend` (host arrays either way): the cuda backend filters
 * on the GPU with cuFFT (fb_cuda_spectral_filter: the full complex path for
 * every mask, the same float products and min-max, so the result differs
 * from the host's by FFT rounding only, ~1e-7 relative; imag_ratio as
 * above, 0 for a Hermitian mask); NULL or a CPU backend is
 * fb_spectral_filter itself. */
struct fb_backend;
fb_status fb_spectral_filter_on(const struct fb_backend *backend, float *out, const float *in,
                                int count, int channels, int h, int w, const float *mask,
                                fb_norm norm, float *imag_ratio);

/* out[n] = in[n] / 255 (uint8 pixels → [0,1] floats, as torchvision's ToTensor). */
void fb_u8_to_unit(float *out, const uint8_t *in, size_t n);

/* In place, per plane of data[planes, H*W]: min-max to [0,1] (constant → 0). */
void fb_minmax_planes(float *data, size_t planes, size_t plane_size);

/* max |x_low + x_high − x| over n values (the C1 invariant X_l + X_h = x). */
double fb_check_low_high_sum(const float *x, const float *x_low, const float *x_high, size_t n);

/* ---- DCT square low-pass ----------------------------------------------------- */

/* out[planes, H, W] = inverse DCT-II of the k×k lowest DCT-II coefficients of
 * each plane of in (u < k and v < k); out may alias in. k ≥ H, W is the
 * identity, k = 1 leaves each plane's mean. */
fb_status fb_dct_square_lowpass(float *out, const float *in, size_t planes, int h, int w, int k);

/* The same on `backend` (host arrays either way): the cuda backend computes
 * the equivalent projection P_H · x · P_W (P = Σ_{u<k} c_u c_uᵀ over the
 * orthonormal DCT-II vectors) with cuBLAS (fb_cuda_dct_square_lowpass),
 * equal to float rounding; NULL or a CPU backend is fb_dct_square_lowpass. */
fb_status fb_dct_square_lowpass_on(const struct fb_backend *backend, float *out, const float *in,
                                   size_t planes, int h, int w, int k);

/* ---- gradient spectra (PAPER.md E2, grad.py) ----------------------------- */

/* Per image of input gradients grads[n, C, H, W]: sum over channels →
 * fft2 → fftshift → |F| (not log, not squared) → azimuthal average with
 * `bins` → min-max to [0,1] → profiles[n, bins->bands]. */
fb_status fb_gradient_profiles(float *profiles, const float *grads, int n, int channels, int h,
                               int w, const fb_radial_bins *bins);

/* Mean and (population) standard deviation over n profiles of `bands`
 * values, summed in double in image order: mean[bands], std[bands]. */
void fb_profile_mean_std(float *mean, float *std, const float *profiles, int n, int bands);

/* The gradient spectrum of a model on the first n images of data: eval mode
 * (BatchNorm running statistics), gradient of the mean cross-entropy of the
 * true labels w.r.t. the input pixels in [0,1], in batches of `batch`, then
 * fb_gradient_profiles and fb_profile_mean_std → mean[bands], std[bands].
 * Parameter gradients of the model are overwritten. Under MPI (more than
 * one rank, freqbias/dist.h) it is collective: the ranks share the batches
 * and only rank 0's mean and std are written, with one process's bits. */
struct fb_model;
struct fb_dataset;
typedef struct fb_gradspec_timing {
    double model_seconds;    /* forward + backward to the input pixels       */
    double spectrum_seconds; /* FFTs, azimuthal averages, min-max, mean/std  */
} fb_gradspec_timing;
/* timing (may be NULL) receives where the time went. */
fb_status fb_model_gradient_spectrum(struct fb_model *model, const struct fb_dataset *data, int n,
                                     int batch, const fb_radial_bins *bins, float *mean,
                                     float *std, fb_gradspec_timing *timing);

/* ---- HARS (PAPER.md E4) -------------------------------------------------- */

/* A pairing: donor[i] is the image whose low frequencies image i receives.
 * It is a permutation (every low part used exactly once) with
 * labels[donor[i]] != labels[i]. Built from the counter RNG (seed, PAIRING):
 * a random permutation, then every same-class pair is repaired by swapping
 * donors with a randomly scanned partner that keeps both valid; each repair
 * scans at most n partners, so the algorithm always terminates. Fails with
 * FB_ERR_USAGE when one class holds more than half of the images (no valid
 * pairing exists) or, should a repair find no partner, says so. */
fb_status fb_hars_pairing(int *donor, const int32_t *labels, int n, uint64_t seed);

/* One HARS image before normalisation, per channel of x [C, H, W] and donor
 * [C, H, W] (0–255 floats): out = real(ifft2(high·F(x) + low·F(donor)))
 * with the C1 masks low (d < r) and high = 1 − low (shifted layout, [H, W]).
 * Because the transform is linear this is filter(x, high) + filter(donor, low). */
fb_status fb_hars_mix(float *out, const float *x, const float *donor, int channels, int h, int w,
                      const float *low_mask, const float *high_mask);

/* The whole set: images of data mixed with their donors at radius r, then per
 * image and channel min-max, ×255 and truncated to uint8 (as the seed's
 * generate_freq_dataset.py); labels stay those of the high-frequency image.
 * *out gets a dataset the caller frees with fb_dataset_free. The two
 * filters run on `backend` (fb_spectral_filter_on: cuda → cuFFT; NULL →
 * host). */
fb_status fb_hars_build(struct fb_dataset *out, const struct fb_dataset *data, const int *donor,
                        double r, const struct fb_backend *backend);

/* ---- whole datasets (filter and test --freq) ---------------------------- */

typedef enum fb_freq {
    FB_FREQ_LOW,    /* C1 radial low-pass, d < r                  */
    FB_FREQ_HIGH,   /* its complement, d >= r                     */
    FB_FREQ_BAND,   /* r <= d < r2                                */
    FB_FREQ_DCT_LOW /* the r×r lowest DCT-II coefficients ("dct") */
} fb_freq;

fb_status fb_freq_parse(const char *name, fb_freq *freq);   /* "low", "high", "band", "dct" */
const char *fb_freq_name(fb_freq freq);

/* The images of a dataset (uint8, taken as value/255 in [0,1]) filtered per
 * channel with the C1 mask of `freq` and normalised by `norm`:
 * *out = malloc'd float [count, C, H, W]. imag_ratio (may be NULL) gets the
 * largest imaginary residual of the inverse FFTs. The filters run on
 * `backend` (fb_spectral_filter_on / fb_dct_square_lowpass_on: cuda → the
 * GPU; NULL → the host). */
fb_status fb_filter_dataset(const struct fb_dataset *data, fb_freq freq, double r, double r2,
                            fb_norm norm, const struct fb_backend *backend, float **out,
                            float *imag_ratio);

#endif
