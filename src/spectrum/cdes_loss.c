/* cdes_loss.c — the CDES spectral-density loss and its exact gradient
 * (PAPER.md E3; the seed's CDES/train_toy_models.py computed it with
 * torch.fft and autograd on a GPU).
 *
 * Forward, per image y [3, H, W] (H = W = 32 gives 20 bands):
 *   g   = 0.2989 R + 0.5870 G + 0.1140 B                        [H, W]
 *   F   = fft2(g), complex, unnormalised                          [H, W]
 *   m_k = 20·ln(1 + |F_k|)
 *   p_b = (1/n_b) Σ_{k in band b} m_k      (the seed's azimuthal average C2,
 *                                           bands defined on fftshift(F))
 *   a_b = (p_b − p_min)/(p_max − p_min)    (per-image min-max)
 *   L   = (1/(N·B)) Σ_images Σ_b (a_b − t_b)²
 *
 * Backward, per image, each line undoing one forward line:
 *   ∂L/∂a_b = 2(a_b − t_b)/(N·B)
 *   min-max: with R = p_max − p_min, ∂a_b/∂p_j = δ_bj/R for the direct
 *     term, ∂a_b/∂p_min = (a_b − 1)/R and ∂a_b/∂p_max = −a_b/R, so
 *       ∂L/∂p_j = ∂L/∂a_j / R
 *               + [j = argmin] Σ_b ∂L/∂a_b (a_b − 1)/R
 *               − [j = argmax] Σ_b ∂L/∂a_b  a_b / R
 *     (the first index wins a tie, as a one-hot selection — ties between
 *      two real band means do not occur in practice)
 *   ∂L/∂m_k   = ∂L/∂p_b / n_b for k in band b (0 for dropped pixels)
 *   ∂L/∂|F_k| = ∂L/∂m_k · 20/(1 + |F_k|)
 *   |F| of a real g: ∂|F_k|/∂g_x = Re(conj(F_k) e^{−2πi k·x/N}) / |F_k|, so
 *     ∂L/∂g_x = Σ_k W_k Re(conj(F_k) e^{−2πi k·x/N}),  W_k = ∂L/∂|F_k| / |F_k|
 *             = Re( Σ_k W_k F_k e^{+2πi k·x/N} )
 *             = Re( IDFT_unnormalised(W ⊙ F) )_x
 *     computed as H·W · real(ifft2(W ⊙ F)) with FFTW (ifft2 has the 1/(H·W);
 *     H·W is a power of two here, so the rescale is exact). W_k = 0 where
 *     |F_k| = 0, as torch's abs() backward gives there.
 *   ∂L/∂RGB   = (0.2989, 0.5870, 0.1140) · ∂L/∂g
 * tests/test_cdes.c checks all of it against finite differences of an
 * independent double-precision implementation (naive DFT).
 *
 * Each image is computed by one thread; the per-image losses are summed in
 * image order afterwards, so the result does not depend on the thread count.
 */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "core/portable_math.h"
#include "freqbias/backend.h"
#include "freqbias/cdes.h"
#include "freqbias/spectrum.h"
#include "spectrum/cdes_terms.h"

#ifdef FB_WITH_CUDA
#include "backend/cuda/cuda_backend.h"
#endif

struct fb_cdes_loss {
    int max_batch, h, w, threads;
    fb_radial_bins bins;   /* C2 bands on the shifted layout                   */
    int *band_unshifted;   /* [H*W] band of each fft2 (unshifted) index, or −1 */
    float *buffers;        /* per thread: FFT work, gray, spectrum, weights    */
    size_t thread_floats;
    double *image_loss;    /* [max_batch]                                      */
#ifdef FB_WITH_CUDA
    fb_cuda_cdes *gpu;     /* the batch loss on the cuda backend, else NULL    */
#endif
};

void fb_cdes_target(float *target, double rho)
{
    double value[FB_CDES_BANDS], low = INFINITY, high = -INFINITY;
    const double two_pi = 6.283185307179586476925;
    double norm = 1.0 / (FB_CDES_SIGMA * sqrt(two_pi));
    for (int d = 0; d < FB_CDES_BANDS; d++) {
        double z0 = d / FB_CDES_SIGMA, z1 = (d - FB_CDES_SECOND_PEAK) / FB_CDES_SIGMA;
        value[d] = norm * fb_exp(-0.5 * z0 * z0) + rho * norm * fb_exp(-0.5 * z1 * z1);
        low = fmin(low, value[d]);
        high = fmax(high, value[d]);
    }
    for (int d = 0; d < FB_CDES_BANDS; d++)
        target[d] = (float)((value[d] - low) / (high - low));
}

fb_status fb_cdes_loss_create(fb_cdes_loss **out, const fb_backend *backend, int max_batch, int h,
                              int w)
{
    *out = NULL;
    if (max_batch < 1 || h < 2 || w < 2)
        return fb_error(FB_ERR_USAGE, "CDES loss: bad geometry (batch %d, %dx%d)", max_batch, h, w);
    fb_cdes_loss *loss = calloc(1, sizeof *loss);
    if (!loss)
        return fb_error(FB_ERR_NOMEM, "CDES loss: out of memory");
    loss->max_batch = max_batch;
    loss->h = h;
    loss->w = w;
    loss->threads = omp_get_max_threads();
    fb_status status = fb_fft_prepare(h, w);
    if (status == FB_OK)
        status = fb_radial_init(&loss->bins, h, w, FB_RADIAL_FREQBIAS);
    if (status == FB_OK && loss->bins.bands != FB_CDES_BANDS)
        status = fb_error(FB_ERR_USAGE, "CDES loss: %dx%d images give %d bands, the target has %d "
                                        "(the seed's 32x32 CIFAR images)",
                          h, w, loss->bins.bands, FB_CDES_BANDS);
    size_t plane = (size_t)h * w;
    size_t work = (fb_fft_work_floats(h, w) + 15) & ~(size_t)15;
    /* work | gray [H·W] | spectrum [H·W·2] | weighted [H·W·2] | dgray [H·W] */
    loss->thread_floats = (work + plane * 6 + 15) & ~(size_t)15;
    loss->band_unshifted = malloc(plane * sizeof(int));
    loss->buffers = aligned_alloc(64, loss->thread_floats * loss->threads * sizeof(float));
    loss->image_loss = malloc((size_t)max_batch * sizeof(double));
    if (status == FB_OK && (!loss->band_unshifted || !loss->buffers || !loss->image_loss))
        status = fb_error(FB_ERR_NOMEM, "CDES loss: out of memory");
    if (status != FB_OK) {
        fb_cdes_loss_free(loss);
        return status;
    }
    /* fftshift moves unshifted index (u, v) to ((u + H/2) mod H, (v + W/2) mod W) */
    for (int u = 0; u < h; u++)
        for (int v = 0; v < w; v++)
            loss->band_unshifted[u * w + v] = loss->bins.band_of[((u + h / 2) % h) * w + (v + w / 2) % w];
#ifdef FB_WITH_CUDA
    if (backend == &fb_backend_cuda)
        status = fb_cuda_cdes_create(&loss->gpu, max_batch, h, w, loss->band_unshifted, loss->bins.counts);
    if (status != FB_OK) {
        fb_cdes_loss_free(loss);
        return status;
    }
#else
    (void)backend; /* every backend of a build without CUDA keeps its memory on the host */
#endif
    *out = loss;
    return FB_OK;
}

void fb_cdes_loss_free(fb_cdes_loss *loss)
{
    if (!loss)
        return;
#ifdef FB_WITH_CUDA
    fb_cuda_cdes_free(loss->gpu);
#endif
    fb_radial_free(&loss->bins);
    free(loss->band_unshifted);
    free(loss->buffers);
    free(loss->image_loss);
    free(loss);
}

/* One image: returns Σ_b (a_b − t_b)²; writes a[B] and, if dimage is not
 * NULL, ∂L/∂image [3, H, W] for the loss scaled by `scale` = 1/(N·B). */
static double image_term(const fb_cdes_loss *loss, float *dimage, float *density, const float *image,
                         const float *target, double scale, float *buffer)
{
    int h = loss->h, w = loss->w;
    size_t plane = (size_t)h * w;
    size_t work_floats = (fb_fft_work_floats(h, w) + 15) & ~(size_t)15;
    float *work = buffer;                      /* FFT scratch          */
    float *gray = work + work_floats;          /* [H, W]               */
    float *spectrum = gray + plane;            /* [H, W, 2] unshifted  */
    float *weighted = spectrum + 2 * plane;    /* [H, W, 2]            */
    float *dgray = weighted + 2 * plane;       /* [H, W]               */
    const int *band_of = loss->band_unshifted;
    const int *counts = loss->bins.counts;

    fb_grayscale(gray, image, 1, h, w);
    fb_fft2_plane(spectrum, gray, h, w, work);
    double band_sum[FB_CDES_BANDS] = { 0 };
    for (size_t k = 0; k < plane; k++) {
        if (band_of[k] >= 0)
            band_sum[band_of[k]] += fb_cdes_log_magnitude(spectrum[2 * k], spectrum[2 * k + 1]);
    }
    double dp[FB_CDES_BANDS];
    double sum_squares = fb_cdes_density_terms(band_sum, counts, target, scale, density, dimage ? dp : NULL);
    if (!dimage)
        return sum_squares;
    /* → ∂L/∂m per pixel → ∂L/∂|F| → W·F */
    for (size_t k = 0; k < plane; k++) {
        float re = spectrum[2 * k], im = spectrum[2 * k + 1];
        float weight = fb_cdes_pixel_weight(re, im, band_of[k], dp, counts);
        weighted[2 * k] = weight * re;
        weighted[2 * k + 1] = weight * im;
    }
    /* ∂L/∂g = H·W · real(ifft2(W ⊙ F)) */
    fb_ifft2_real_plane(dgray, weighted, h, w, work, NULL, NULL);
    float rescale = (float)plane;
    for (size_t k = 0; k < plane; k++) {
        float dg = dgray[k] * rescale;
        dimage[k] = 0.2989f * dg;
        dimage[plane + k] = 0.5870f * dg;
        dimage[2 * plane + k] = 0.1140f * dg;
    }
    return sum_squares;
}

float fb_cdes_spectral_loss(fb_cdes_loss *loss, float *grad, float *density, const float *y, int n,
                            const float *target)
{
    if (n < 1 || n > loss->max_batch)
        return NAN;
    size_t image_floats = (size_t)3 * loss->h * loss->w;
    double scale = 1.0 / ((double)n * FB_CDES_BANDS);
#pragma omp parallel for schedule(static) num_threads(loss->threads)
    for (int i = 0; i < n; i++) {
        float *buffer = loss->buffers + loss->thread_floats * omp_get_thread_num();
        loss->image_loss[i] = image_term(loss, grad ? grad + i * image_floats : NULL,
                                         density ? density + (size_t)i * FB_CDES_BANDS : NULL,
                                         y + i * image_floats, target, scale, buffer);
    }
    double total = 0.0;
    for (int i = 0; i < n; i++)
        total += loss->image_loss[i];
    return (float)(total * scale);
}

float fb_cdes_image_loss(float *grad, const float *y, const float *x, size_t count)
{
    double total = 0.0;
    for (size_t i = 0; i < count; i++) {
        double diff = (double)y[i] - x[i];
        total += diff * diff;
    }
    if (grad) {
        float factor = 2.0f / (float)count;
        for (size_t i = 0; i < count; i++)
            grad[i] += factor * (y[i] - x[i]);
    }
    return (float)(total / (double)count);
}

int fb_cdes_loss_on_device(const fb_cdes_loss *loss)
{
#ifdef FB_WITH_CUDA
    return loss->gpu != NULL;
#else
    (void)loss;
    return 0;
#endif
}

fb_status fb_cdes_batch_loss(fb_cdes_loss *loss, float *grad, const float *y, const float *x, int n,
                             const float *target, float *spectral, float *image)
{
    if (n < 1 || n > loss->max_batch)
        return fb_error(FB_ERR_USAGE, "CDES loss: batch of %d outside 1..%d", n, loss->max_batch);
    size_t count = (size_t)n * 3 * loss->h * loss->w;
#ifdef FB_WITH_CUDA
    if (loss->gpu) {
        double scale = 1.0 / ((double)n * FB_CDES_BANDS), squared_error = 0.0;
        FB_TRY(fb_cuda_cdes_loss(loss->gpu, grad, loss->image_loss, NULL, &squared_error, y, x, n,
                                 target, scale));
        double total = 0.0; /* image order, as fb_cdes_spectral_loss */
        for (int i = 0; i < n; i++)
            total += loss->image_loss[i];
        *spectral = (float)(total * scale);
        *image = (float)(squared_error / (double)count);
        return FB_OK;
    }
#endif
    *spectral = fb_cdes_spectral_loss(loss, grad, NULL, y, n, target);
    *image = fb_cdes_image_loss(grad, y, x, count);
    return FB_OK;
}
