/* freqbias/cdes.h — CDES: toy kernels trained to a target spectral density
 * (PAPER.md E3, the seed's CDES/ folder).
 *
 * The experiment asks whether the *spectral density* of a class decides how
 * early a CNN learns its frequencies. It makes images whose spectrum has a
 * second peak at high frequencies: a linear toy model (two 7×7 convolutions,
 * include/freqbias/model.h FB_ARCH_TOYKERNEL) is trained so that its output
 * keeps looking like its (noisy) input while the output's azimuthally
 * averaged log spectrum follows a double-peaked target. The kernels' output is
 * then recombined with the originals: low frequencies of the clean image +
 * high frequencies of the kernel output. SCR trains one kernel set per class
 * (a class-specific high-frequency signature), WCR one for all images.
 *
 * Pieces, all deterministic for a seed:
 *   fb_cdes_target          the 20-band target density t(d)
 *   fb_cdes_add_noise       x + min-max(U[0,1)) · mean(x)/10, per batch
 *   fb_cdes_loss_*          spectral-density loss and its exact gradient
 *   fb_cdes_recombine       low(x) + high(y) → one generated image
 */
#ifndef FREQBIAS_CDES_H
#define FREQBIAS_CDES_H

#include <stddef.h>
#include <stdint.h>

#include "freqbias/error.h"
#include "freqbias/spectrum.h"

#define FB_CDES_BANDS 20          /* the seed's azimuthal average at 32×32 (C2) */
#define FB_CDES_SIGMA 3.2         /* width of both target peaks, in bands       */
#define FB_CDES_SECOND_PEAK 16.0  /* centre of the high-frequency peak          */

/* t[d], d = 0..FB_CDES_BANDS−1: N(d; 0, σ) + ρ·N(d; 16, σ) (Gaussian
 * densities), then min-max normalised to [0, 1]. With ρ = 1 the peaks at 0
 * and 16 are both 1 and the minimum is at d = 8. */
void fb_cdes_target(float *target, double rho);

/* noisy[count] = x + noise, noise = (u − min u)/(max u − min u) · mean(x)/10,
 * u ~ U[0,1) drawn per element from (seed, FB_STREAM_NOISE, key, index): the
 * seed's torch.rand_like(batch) min-max normalised over the whole batch
 * tensor and scaled by the batch mean. `key` names the batch (e.g. epoch and
 * batch number) so every batch gets fresh, reproducible noise. */
void fb_cdes_add_noise(float *noisy, const float *x, size_t count, uint64_t seed, uint32_t key_epoch,
                       uint64_t key_batch);

/* The spectral-density loss of a batch of RGB images y[n, 3, H, W]:
 *   g = 0.2989 R + 0.5870 G + 0.1140 B                 (grayscale)
 *   F = fftshift(fft2(g))                               (unnormalised)
 *   m = 20·ln(1 + |F|)
 *   p[b] = mean of m over band b (C2, the seed's convention, 20 bands)
 *   a = (p − min p)/(max p − min p)                     (per image)
 *   L = mean over n and b of (a[b] − t[b])²
 * Backward, per image (derived in cdes_loss.c): ∂L/∂a → ∂L/∂p through the
 * min-max (the min and max entries receive the terms of the shift and the
 * scale) → ∂L/∂m spread evenly over each band's pixels → ∂L/∂|F| = ∂L/∂m ·
 * 20/(1+|F|) → ∂L/∂g = Re(IDFT_unnormalised(W ⊙ F)) with W = ∂L/∂|F| / |F|
 * (0 where |F| = 0) → ∂L/∂RGB by the grayscale weights. */
typedef struct fb_cdes_loss fb_cdes_loss;
struct fb_backend;

/* For batches of up to max_batch 3×H×W images (FFT plans made here, so
 * call outside parallel regions). `backend` says where fb_cdes_batch_loss
 * finds its arrays and computes: the cuda backend keeps them on the GPU and
 * uses cuFFT (src/backend/cuda/cuda_cdes.cu); any other backend, or NULL,
 * the host and FFTW. */
fb_status fb_cdes_loss_create(fb_cdes_loss **loss, const struct fb_backend *backend, int max_batch,
                              int h, int w);
void fb_cdes_loss_free(fb_cdes_loss *loss);

/* 1 when the loss was made for the cuda backend (fb_cdes_batch_loss then
 * takes device arrays), else 0. */
int fb_cdes_loss_on_device(const fb_cdes_loss *loss);

/* The training loss of one batch, L = spectral(y) + mean((y − x)²):
 * *spectral and *image get the two terms; grad (may be NULL) is
 * OVERWRITTEN with ∂L/∂y. y, x, grad [n, 3, H, W] live in the memory of the
 * loss's backend (device arrays on cuda); target [FB_CDES_BANDS] is host.
 * On the host this is exactly fb_cdes_spectral_loss + fb_cdes_image_loss;
 * on the GPU the same steps (cdes_terms.h), with cuFFT. */
fb_status fb_cdes_batch_loss(fb_cdes_loss *loss, float *grad, const float *y, const float *x, int n,
                             const float *target, float *spectral, float *image);

/* On the host, whatever the loss's backend: returns L for y[n, 3, H, W] and
 * target[FB_CDES_BANDS]. If grad is not NULL
 * it is OVERWRITTEN with ∂L/∂y [n, 3, H, W]; if density is not NULL it gets
 * the normalised densities a [n, FB_CDES_BANDS]. Parallel over images,
 * same bits for any thread count. NaN if an image's density is constant. */
float fb_cdes_spectral_loss(fb_cdes_loss *loss, float *grad, float *density, const float *y, int n,
                            const float *target);

/* Mean squared error mean((y − x)²) over count values and, if grad is not
 * NULL, grad += 2(y − x)/count (ADDED, so it composes with the spectral
 * term). Sums in double, in index order. */
float fb_cdes_image_loss(float *grad, const float *y, const float *x, size_t count);

/* One generated image before normalisation, per channel c of x, y [C, H, W]:
 *   out = real(ifft2(ifftshift(low ⊙ S(x) + high ⊙ S(y))))
 * with S = fftshift∘fft2 and low, high [H, W] on the shifted layout:
 * fb_mask_low/fb_mask_high at r (C1, the default: nothing lost) or
 * fb_mask_cdes (C3, --compat freqbias). Plans must exist
 * (fb_fft_prepare); work[fb_cdes_recombine_work_floats(h, w)] 64-byte
 * aligned, one per thread. */
size_t fb_cdes_recombine_work_floats(int h, int w);
fb_status fb_cdes_recombine(float *out, const float *x, const float *y, int channels, int h, int w,
                            const float *low, const float *high, float *work);

/* ---- training the kernels and running them (cdes_train.c) -------------- */

struct fb_model;

/* The seed's recipe (CDES README): SGD lr 0.01, momentum 0.9, weight decay
 * 1e-4, StepLR(step 5, γ 0.1) per epoch, 20 epochs, batches of 100 in
 * dataset order (no shuffling), loss = spectral + image term, 1:1. */
typedef struct fb_cdes_schedule {
    int epochs, batch, step_lr;
    float lr, momentum, weight_decay, gamma;
} fb_cdes_schedule;

fb_cdes_schedule fb_cdes_schedule_default(void);
/* lr · γ^⌊epoch/step⌋ for a 0-based epoch. */
float fb_cdes_lr(const fb_cdes_schedule *schedule, int epoch);

/* Per-epoch means over batches of the two loss terms. */
typedef struct fb_cdes_epoch_losses {
    double spectral, image;
} fb_cdes_epoch_losses;

/* Batch buffers for a toy model (device input/gradient, host copies). */
typedef struct fb_cdes_trainer fb_cdes_trainer;
fb_status fb_cdes_trainer_create(fb_cdes_trainer **trainer, struct fb_model *model, int batch);
void fb_cdes_trainer_free(fb_cdes_trainer *trainer);

/* One epoch (0-based `epoch`) over images[n, 3, H, W] in [0,1], in order:
 * per batch, noisy = fb_cdes_add_noise(x) with keys (epoch, set_key·2^20 +
 * batch index), y = model(noisy), L = spectral(y, target) + mse(y, noisy),
 * backward, one SGD step at fb_cdes_lr. NaN or Inf in a loss stops with
 * FB_ERR_NUMERIC naming the batch. */
fb_status fb_cdes_train_epoch(fb_cdes_trainer *trainer, fb_cdes_loss *loss, const float *images, int n,
                              const fb_cdes_schedule *schedule, int epoch, uint64_t seed,
                              uint64_t set_key, const float *target, fb_cdes_epoch_losses *losses);

/* out[n, 3, H, W] = model(in[n, 3, H, W]) for n ≤ the trainer's batch (host
 * arrays; no noise added here). */
fb_status fb_cdes_apply(fb_cdes_trainer *trainer, float *out, const float *in, int n);

#endif
