/* cuda_filter.cu — frequency filtering of image planes with cuFFT, the GPU
 * twin of fb_spectral_filter (src/spectrum/filter.c): the X_l / X_h test
 * sets of `filter` and `sweep`, and the two halves of every HARS image.
 *
 * Per plane x [H, W] and a mask already ifftshift-ed to the unshifted
 * layout (m_u = ifftshift(m), which the caller makes once):
 *   y = real(ifft2(fft2(x) ⊙ m_u))                          (fb_cuda_fft2, a
 *       mask kernel, fb_cuda_ifft2_real_planes)
 *   MINMAX: y = (y − min y)/(max y − min y) per plane, 0 for a constant one
 * the same float expressions as filter.c (the product F·m, the min-max).
 * The host always takes the half-spectrum path for a Hermitian mask and the
 * full one otherwise; here every mask takes the full complex path (a 32×32
 * plane costs nothing on a GPU), so results differ from the host's by FFT
 * rounding only (~1e-7 relative), and the imaginary part that real() drops
 * is measured per plane whenever the caller asks for it.
 *
 * Data stay in host memory: the planes travel to the GPU in chunks of at most
 * 2^24 pixels (fb_cuda_chunk_planes; 16,384 planes of 32×32, ~20 bytes of
 * device memory per pixel with the FFT's scratch), so a 50,000-image
 * training split needs no more device memory than one chunk.
 * Deterministic: fixed plans per chunk size, order-independent maxima and
 * minima, no atomics.
 */
#include <stdlib.h>

#include "backend/cuda/cuda_internal.cuh"

/* spectrum[count, H·W, 2] *= mask[H·W] (unshifted layout) */
static __global__ void mask_kernel(float *spectrum, const float *mask, size_t total, size_t plane)
{
    GRID_STRIDE_LOOP(i, total) {
        float m = mask[i % plane];
        spectrum[2 * i] *= m;
        spectrum[2 * i + 1] *= m;
    }
}

/* each plane of y[count, plane] to [0, 1]: one block per plane */
static __global__ void minmax_kernel(float *y, size_t plane)
{
    float *v = y + (size_t)blockIdx.x * plane;
    float lo = v[0], hi = v[0];
    for (size_t p = threadIdx.x; p < plane; p += blockDim.x) {
        lo = fminf(lo, v[p]);
        hi = fmaxf(hi, v[p]);
    }
    float2 block = fb_block_max2(-lo, hi); /* (−min, max) */
    float low = -block.x, range = block.y - low;
    for (size_t p = threadIdx.x; p < plane; p += blockDim.x)
        v[p] = range > 0.0f ? (v[p] - low) / range : 0.0f;
}

extern "C" fb_status fb_cuda_spectral_filter(float *out, const float *in, long long planes, int h,
                                             int w, const float *unshifted_mask, int minmax,
                                             float *imag_ratio)
{
    if (planes < 0 || h < 2 || w < 2)
        return fb_error(FB_ERR_USAGE, "cuda filter: %lld planes of %dx%d (2x2 at least)", planes, h,
                        w);
    if (imag_ratio)
        *imag_ratio = 0.0f;
    if (planes == 0)
        return FB_OK;
    const size_t plane = (size_t)h * w;
    const int chunk = fb_cuda_chunk_planes(planes, plane);
    float *d_mask = (float *)fb_cuda_alloc(plane * sizeof(float));                     /* [H·W] */
    float *d_real = (float *)fb_cuda_alloc((size_t)chunk * plane * sizeof(float));     /* [chunk, H, W] */
    float *d_spectrum = (float *)fb_cuda_alloc((size_t)chunk * plane * 2 * sizeof(float)); /* [chunk, H, W, 2] */
    float *ratios = imag_ratio ? (float *)malloc((size_t)chunk * sizeof(float)) : NULL; /* host [chunk] */
    fb_status status = FB_OK;
    if (!d_mask || !d_real || !d_spectrum || (imag_ratio && !ratios))
        status = fb_error(FB_ERR_NOMEM, "cuda filter: no memory for chunks of %d %dx%d planes",
                          chunk, h, w);
    if (status == FB_OK)
        fb_cuda_to_device(d_mask, unshifted_mask, plane * sizeof(float));
    float max_ratio = 0.0f;
    for (long long first = 0; status == FB_OK && first < planes; first += chunk) {
        int count = planes - first < chunk ? (int)(planes - first) : chunk;
        size_t total = (size_t)count * plane, bytes = total * sizeof(float);
        fb_cuda_to_device(d_real, in + (size_t)first * plane, bytes);
        status = fb_cuda_fft2(d_spectrum, d_real, count, h, w);
        if (status != FB_OK)
            break;
        mask_kernel<<<fb_cuda_grid(total), FB_CUDA_THREADS>>>(d_spectrum, d_mask, total, plane);
        LAUNCH_CHECK();
        status = fb_cuda_ifft2_real_planes(d_real, d_spectrum, count, h, w, ratios);
        if (status != FB_OK)
            break;
        if (minmax) {
            minmax_kernel<<<count, FB_CUDA_THREADS>>>(d_real, plane);
            LAUNCH_CHECK();
        }
        fb_cuda_to_host(out + (size_t)first * plane, d_real, bytes);
        for (int p = 0; ratios && p < count; p++)
            max_ratio = fmaxf(max_ratio, ratios[p]);
    }
    if (status == FB_OK && imag_ratio)
        *imag_ratio = max_ratio;
    fb_cuda_release(d_mask);
    fb_cuda_release(d_real);
    fb_cuda_release(d_spectrum);
    free(ratios);
    return status;
}
