/* filter.c — low-/high-frequency filtered images (PAPER.md C1, C4).
 *
 * Per image and channel x[H, W] and a mask m[H, W] on the shifted layout:
 *   y = real(ifft2(ifftshift(fftshift(fft2(x)) · m)))        then norm (C4)
 * Shifting the spectrum, masking and shifting back is the same as masking
 * the unshifted spectrum with the unshifted mask (a permutation applied and
 * undone): fftshift(F) · m = fftshift(F · ifftshift(m)). So the mask is
 * ifftshift-ed once per call and the spectra are never permuted.
 *
 * A Hermitian-symmetric mask (all C1 masks) keeps the spectrum of a real x
 * Hermitian, so only the columns 0..W/2 are needed: rfft2 → mask → irfft2
 * (FFTW r2c/c2r), about half the work of the complex path, with a real result
 * by construction. Any other mask (the seed's C3) takes the full complex path
 * and keeps the real part, reporting the imaginary part it dropped.
 *
 * Normalisation (C4): NONE leaves the real part as it is — high-pass images
 * are centred on 0 and have negative values, kept as floats, never wrapped to
 * uint8 as the seed's stored test sets were; MINMAX maps each image's channel
 * to [0,1] by (y − min)/(max − min), a constant channel to 0.
 *
 * Pixel scale is the caller's: pass 0–255 floats for HARS (as the seed),
 * [0,1] floats (fb_u8_to_unit) for the filtered test sets. Linear in x, so
 * NONE results scale with the input; MINMAX results do not depend on it.
 *
 * PyTorch:
 *   F = torch.fft.fftshift(torch.fft.fft2(x), dim=(-2, -1)) * mask
 *   y = torch.fft.ifft2(torch.fft.ifftshift(F, dim=(-2, -1))).real
 *   y = (y − y.amin((-2,-1), keepdim=True)) / (y.amax(...) − y.amin(...))   # MINMAX
 *
 * Threads: parallel over the count·C planes, each computed whole by one thread
 * with the same plan and aligned scratch: bit-identical for any thread count.
 *
 * fb_spectral_filter_on sends the work to the GPU when the backend is cuda
 * (src/backend/cuda/cuda_filter.cu); everything else runs here.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "freqbias/backend.h"
#include "freqbias/spectrum.h"

#ifdef FB_WITH_CUDA
#include "backend/cuda/cuda_backend.h"
#endif

const char *fb_norm_name(fb_norm norm)
{
    return norm == FB_NORM_MINMAX ? "minmax" : "none";
}

void fb_u8_to_unit(float *out, const uint8_t *in, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (float)in[i] / 255.0f;
}

static void minmax_plane(float *plane, size_t n)
{
    if (n == 0)
        return;
    float lo = plane[0], hi = plane[0];
    for (size_t i = 1; i < n; i++) {
        lo = fminf(lo, plane[i]);
        hi = fmaxf(hi, plane[i]);
    }
    float range = hi - lo;
    for (size_t i = 0; i < n; i++)
        plane[i] = range > 0.0f ? (plane[i] - lo) / range : 0.0f;
}

void fb_minmax_planes(float *data, size_t planes, size_t plane_size)
{
    for (size_t p = 0; p < planes; p++)
        minmax_plane(data + p * plane_size, plane_size);
}

double fb_check_low_high_sum(const float *x, const float *x_low, const float *x_high, size_t n)
{
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)x_low[i] + (double)x_high[i] - (double)x[i]);
        if (e > worst || isnan(e))
            worst = e;
    }
    return worst;
}

/* Aligned per-thread buffers: the FFT scratch, then the spectrum. */
static float *alloc_thread_buffers(int h, int w, size_t spectrum_floats, float **spectrum)
{
    size_t work = (fb_fft_work_floats(h, w) + 15) & ~(size_t)15;
    size_t bytes = ((work + spectrum_floats) * sizeof(float) + 63) & ~(size_t)63;
    float *buffer = aligned_alloc(64, bytes);
    *spectrum = buffer ? buffer + work : NULL;
    return buffer;
}

fb_status fb_spectral_filter(float *out, const float *in, int count, int channels, int h, int w,
                             const float *mask, fb_norm norm, float *imag_ratio)
{
    if (count < 0 || channels < 1)
        return fb_error(FB_ERR_USAGE, "filter: bad batch %d x %d channels", count, channels);
    if (norm != FB_NORM_NONE && norm != FB_NORM_MINMAX)
        return fb_error(FB_ERR_USAGE, "filter: unknown normalisation %d", (int)norm);
    FB_TRY(fb_fft_prepare(h, w));
    size_t hw = (size_t)h * (size_t)w;
    float *unshifted = malloc(hw * sizeof *unshifted); /* [H, W] = ifftshift(mask) */
    if (!unshifted)
        return fb_error(FB_ERR_NOMEM, "filter: no memory for a %dx%d mask", h, w);
    fb_ifftshift_real(unshifted, mask, h, w);
    const int half = fb_mask_hermitian_violations(mask, h, w) == 0;
    const int wh = half ? w / 2 + 1 : w;            /* spectrum columns kept */
    const size_t spectrum_floats = (size_t)h * wh * 2;
    const long long planes = (long long)count * channels;
    int failed = 0;
    float max_ratio = 0.0f;
#pragma omp parallel reduction(max : max_ratio)
    {
        float *spectrum;                            /* [H, wh, 2] */
        float *buffer = alloc_thread_buffers(h, w, spectrum_floats, &spectrum);
        if (!buffer) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(static)
        for (long long p = 0; p < planes; p++) {
            if (!buffer)
                continue;
            const float *x = in + (size_t)p * hw;   /* [H, W] */
            float *y = out + (size_t)p * hw;        /* [H, W], may be x */
            if (half)
                fb_rfft2_plane(spectrum, x, h, w, buffer);
            else
                fb_fft2_plane(spectrum, x, h, w, buffer);
            for (int k = 0; k < h; k++)
                for (int l = 0; l < wh; l++) {
                    float m = unshifted[(size_t)k * w + l];
                    spectrum[((size_t)k * wh + l) * 2] *= m;
                    spectrum[((size_t)k * wh + l) * 2 + 1] *= m;
                }
            if (half) {
                fb_irfft2_plane(y, spectrum, h, w, buffer);
            } else {
                float mi, mr;
                fb_ifft2_real_plane(y, spectrum, h, w, buffer, &mi, &mr);
                max_ratio = fmaxf(max_ratio, mr > 0.0f ? mi / mr : 0.0f);
            }
            if (norm == FB_NORM_MINMAX)
                minmax_plane(y, hw);
        }
        free(buffer);
    }
    free(unshifted);
    if (failed)
        return fb_error(FB_ERR_NOMEM, "filter: no memory for the per-thread scratch");
    if (imag_ratio)
        *imag_ratio = max_ratio;
    return FB_OK;
}

fb_status fb_spectral_filter_on(const fb_backend *backend, float *out, const float *in, int count,
                                int channels, int h, int w, const float *mask, fb_norm norm,
                                float *imag_ratio)
{
#ifdef FB_WITH_CUDA
    if (backend == &fb_backend_cuda) {
        if (count < 0 || channels < 1)
            return fb_error(FB_ERR_USAGE, "filter: bad batch %d x %d channels", count, channels);
        if (norm != FB_NORM_NONE && norm != FB_NORM_MINMAX)
            return fb_error(FB_ERR_USAGE, "filter: unknown normalisation %d", (int)norm);
        if (h < 2 || w < 2)
            return fb_error(FB_ERR_UNSUPPORTED, "filter on cuda: %dx%d planes (2x2 at least)", h, w);
        float *unshifted = malloc((size_t)h * w * sizeof *unshifted); /* [H, W] = ifftshift(mask) */
        if (!unshifted)
            return fb_error(FB_ERR_NOMEM, "filter: no memory for a %dx%d mask", h, w);
        fb_ifftshift_real(unshifted, mask, h, w);
        /* as the host: the imaginary residual is only measured for a mask
         * that can leave one */
        int hermitian = fb_mask_hermitian_violations(mask, h, w) == 0;
        if (imag_ratio)
            *imag_ratio = 0.0f;
        fb_status status = fb_cuda_spectral_filter(out, in, (long long)count * channels, h, w, unshifted,
                                                   norm == FB_NORM_MINMAX, hermitian ? NULL : imag_ratio);
        free(unshifted);
        return status;
    }
#else
    (void)backend; /* a build without CUDA has only host backends */
#endif
    return fb_spectral_filter(out, in, count, channels, h, w, mask, norm, imag_ratio);
}
