/* cuda_backend.h — the CUDA backend as C code sees it (only with CUDA=1).
 *
 * What it is: the same op table as cpu and cpu-ref (freqbias/backend.h),
 * computed on an NVIDIA GPU: im2col/col2im kernels + cuBLAS SGEMM for the
 * convolutions and the linear layer (TF32 off: full float32 products, as
 * PyTorch with torch.backends.cuda.matmul.allow_tf32 = False), one thread
 * block per BatchNorm channel / per output sum, elementwise kernels for the
 * rest, and cuFFT for the spectrum code. Every pointer an op receives is
 * device memory from fb_backend_cuda.alloc; to_device / to_host also accept
 * device pointers (cudaMemcpyDefault), so a device → device copy works too.
 *
 * Determinism: no atomics anywhere. Every sum is owned by one thread block
 * (or one thread) and reduced in a fixed order (a serial loop per thread,
 * then a fixed shared-memory tree), cuBLAS runs on one stream with atomics
 * disallowed, cuFFT plans are fixed per shape. So two runs of the same
 * program on the same GPU, driver and CUDA version give identical bits.
 * Against cpu-ref the results agree to float rounding (tests/test_cuda.c).
 *
 * Everything runs on the legacy default stream, in call order; to_host
 * waits for all earlier work, so reading a result back is the only
 * synchronisation a caller needs. A CUDA failure inside an op (the table's
 * ops return void) prints the CUDA error and where, then aborts.
 */
#ifndef FREQBIAS_CUDA_BACKEND_H
#define FREQBIAS_CUDA_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" { /* the project's headers are C: C linkage for their functions */
#endif

#include "freqbias/backend.h"

extern const fb_backend fb_backend_cuda;

/* Number of usable CUDA devices; 0 when there is none or no driver (then
 * fb_cuda_describe says why). Never aborts. */
int fb_cuda_device_count(void);

/* Makes this process use device local_rank mod (devices): an MPI rank
 * passes its rank on the machine (fb_dist_local_rank), one process 0.
 * Call before the first op; nothing happens without a device. */
void fb_cuda_use_device_of_rank(int local_rank);

/* One line about the device the backend uses (device 0 of the visible
 * ones, or the rank's: fb_cuda_use_device_of_rank), e.g. "NVIDIA H200 (sm_90, 132 SMs, 139.8 GiB), driver 13.0,
 * runtime 13.0, cuBLAS 130100, cuFFT 12000", or why there is none:
 * "no CUDA device: <the CUDA runtime's reason>". Writes text[size];
 * returns 1 when a device is there, 0 otherwise. */
int fb_cuda_describe(char *text, size_t size);

/* ---- cuFFT (cuda_fft.cu): batched 2-D FFTs of device arrays ------------
 * Same layouts and normalisation as fb_fft2 / fb_ifft2_real
 * (freqbias/spectrum.h): real planes [count,H,W], complex planes
 * [count,H,W,2] interleaved, forward unnormalised, the inverse carries the
 * whole 1/(H·W). Pointers are device memory (the cuda backend's alloc).
 * Planes must be at least 2×2 (FB_ERR_UNSUPPORTED otherwise). Plans are
 * made on first use of a (shape, count) and kept; the calls hold a lock, so
 * concurrent callers take turns. */

/* out[count,H,W,2] = fft2(in[count,H,W]): the full spectrum (cuFFT R2C,
 * the other half filled in by Hermitian symmetry, as fb_fft2). */
fb_status fb_cuda_fft2(float *out, const float *in, int count, int h, int w);

/* out[count,H,W] = real(ifft2(in[count,H,W,2])) with the 1/(H·W) (cuFFT
 * C2C inverse, then a float division by H·W, as fb_ifft2_real). in is left
 * unchanged. imag_ratio (host, may be NULL) receives max|imag| / max|real|
 * over all planes (0 when the real part is all zero). */
fb_status fb_cuda_ifft2_real(float *out, const float *in, int count, int h, int w,
                             float *imag_ratio);

/* The same inverse; plane_ratio (host [count], may be NULL) receives
 * max|imag| / max|real| of each plane on its own (0 where the real part is
 * zero), the figure fb_spectral_filter reports per plane. */
fb_status fb_cuda_ifft2_real_planes(float *out, const float *in, int count, int h, int w,
                                    float *plane_ratio);

/* out[count, plane] = Σ_c in[count, C, plane], channels summed in order
 * c = 0, 1, ... in float — the same arithmetic as fb_gradient_profiles,
 * so the result is bit-identical to the CPU's. */
fb_status fb_cuda_channel_sum(float *out, const float *in, int count, int channels,
                              size_t plane);

/* ---- spectrum tools on the GPU (cuda_filter.cu, cuda_cdes.cu) ---------- */

/* fb_spectral_filter on the GPU, for HOST arrays out, in [planes, H, W]
 * (out may be in): y = real(ifft2(fft2(x) ⊙ mask)), then per-plane min-max
 * to [0, 1] if minmax. unshifted_mask (host [H, W]) is the C1 mask already
 * ifftshift-ed. imag_ratio (may be NULL) receives the largest per-plane
 * max|imag| / max|real| that real() dropped. Planes travel in chunks. */
fb_status fb_cuda_spectral_filter(float *out, const float *in, long long planes, int h, int w,
                                  const float *unshifted_mask, int minmax, float *imag_ratio);

/* fb_dct_square_lowpass on the GPU (cuda_dct.cu), for HOST arrays out, in
 * [planes, H, W] (out may be in): each plane projected onto its k×k lowest
 * DCT-II basis functions as P_H · x · P_W with two batched SGEMMs. */
fb_status fb_cuda_dct_square_lowpass(float *out, const float *in, size_t planes, int h, int w, int k);

/* The CDES training loss (src/spectrum/cdes_loss.c) on device batches.
 * band_of (host [H·W]): the band of each unshifted fft2 coefficient or −1;
 * counts (host [FB_CDES_BANDS]): coefficients per band. */
typedef struct fb_cuda_cdes fb_cuda_cdes;
fb_status fb_cuda_cdes_create(fb_cuda_cdes **cdes, int max_batch, int h, int w, const int *band_of,
                              const int *counts);
void fb_cuda_cdes_free(fb_cuda_cdes *cdes);

/* For device y, x [n, 3, H, W] and host target [FB_CDES_BANDS]:
 *   image_losses (host [n])   Σ_b (a_b − t_b)² per image
 *   density (host [n, B])     a, if not NULL
 *   grad (device [n, 3, H, W]) if not NULL: OVERWRITTEN with ∂L_spec/∂y for
 *                              the spectral loss scaled by `scale`, then, if
 *                              x is not NULL, 2(y − x)/count ADDED
 *   squared_error (host)      Σ (y − x)² in double, if x is not NULL. */
fb_status fb_cuda_cdes_loss(fb_cuda_cdes *cdes, float *grad, double *image_losses, float *density,
                            double *squared_error, const float *y, const float *x, int n,
                            const float *target, double scale);

/* Destroys the cached plans and scratch (end of program). */
void fb_cuda_fft_cleanup(void);

#ifdef __cplusplus
}
#endif

#endif
