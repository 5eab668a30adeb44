/* cdes.c — CDES input noise and recombination (PAPER.md E3, C3).
 *
 * Noise. The seed trains and generates on noisy images:
 *   noise = torch.rand_like(x); noise = (noise − min)/(max − min) · x.mean()/10
 * over the whole batch tensor. Here u comes from the counter RNG
 * (seed, FB_STREAM_NOISE, epoch key, batch key · 2^24 + element), so a batch's
 * noise is the same on any thread count and after a resume.
 *
 * Recombination. A generated image keeps the low frequencies of the clean
 * original x and takes the high frequencies of the kernel output y:
 *   out_c = real(ifft2(ifftshift(low ⊙ fftshift(fft2 x_c) + high ⊙ fftshift(fft2 y_c))))
 * Multiplying the shifted spectrum by a shifted-layout mask is the same as
 * multiplying the unshifted spectrum by the mask read at the shifted index,
 * which is what the loop does (no shift copies). With the C1 masks low + high
 * = 1, so the output's low band equals x's exactly (tests/test_cdes.c checks
 * it); with the seed's C3 masks 56 coefficients are in neither.
 */
#include <math.h>
#include <stdlib.h>

#include "freqbias/cdes.h"
#include "freqbias/rng.h"

#define NOISE_ELEMENTS_PER_BATCH ((uint64_t)1 << 24)

void fb_cdes_add_noise(float *noisy, const float *x, size_t count, uint64_t seed, uint32_t key_epoch,
                       uint64_t key_batch)
{
    double mean = 0.0;
    for (size_t i = 0; i < count; i++)
        mean += x[i];
    mean /= (double)count;
    uint64_t base = key_batch * NOISE_ELEMENTS_PER_BATCH;
    float low = INFINITY, high = -INFINITY;
    for (size_t i = 0; i < count; i++) {
        float u = fb_rng_uniform(seed, FB_STREAM_NOISE, key_epoch, base + i);
        noisy[i] = u;
        low = fminf(low, u);
        high = fmaxf(high, u);
    }
    float scale = (float)(mean / 10.0);
    float range = high - low;
    for (size_t i = 0; i < count; i++) {
        float unit = range > 0.0f ? (noisy[i] - low) / range : 0.0f;
        noisy[i] = x[i] + unit * scale;
    }
}

size_t fb_cdes_recombine_work_floats(int h, int w)
{
    size_t work = (fb_fft_work_floats(h, w) + 15) & ~(size_t)15;
    return work + (size_t)h * w * 4;
}

fb_status fb_cdes_recombine(float *out, const float *x, const float *y, int channels, int h, int w,
                            const float *low, const float *high, float *work)
{
    size_t plane = (size_t)h * w;
    float *fft_work = work;
    float *spectrum_x = work + ((fb_fft_work_floats(h, w) + 15) & ~(size_t)15); /* [H, W, 2] */
    float *spectrum_y = spectrum_x + 2 * plane;                                  /* [H, W, 2] */
    for (int c = 0; c < channels; c++) {
        FB_TRY(fb_fft2_plane(spectrum_x, x + c * plane, h, w, fft_work));
        FB_TRY(fb_fft2_plane(spectrum_y, y + c * plane, h, w, fft_work));
        for (int u = 0; u < h; u++)
            for (int v = 0; v < w; v++) {
                size_t k = (size_t)u * w + v;
                size_t shifted = (size_t)((u + h / 2) % h) * w + (v + w / 2) % w;
                spectrum_x[2 * k] = low[shifted] * spectrum_x[2 * k] + high[shifted] * spectrum_y[2 * k];
                spectrum_x[2 * k + 1] =
                    low[shifted] * spectrum_x[2 * k + 1] + high[shifted] * spectrum_y[2 * k + 1];
            }
        FB_TRY(fb_ifft2_real_plane(out + c * plane, spectrum_x, h, w, fft_work, NULL, NULL));
    }
    return FB_OK;
}
