/* cuda_fft.cu — batched 2-D FFTs of device arrays with cuFFT, the GPU twin
 * of fb_fft2 / fb_ifft2_real (src/spectrum/fft.c), for spectrum work on the
 * cuda backend (gradient spectra: src/spectrum/gradspec.c).
 *
 * Maths (numpy / torch.fft convention, PAPER.md C1):
 *   X[k,l] = Σ_{m<H, n<W} x[m,n] · e^{−2πi(km/H + ln/W)}             (no factor)
 *   x[m,n] = 1/(H·W) · Σ_{k<H, l<W} X[k,l] · e^{+2πi(km/H + ln/W)}   (inverse)
 * PyTorch: torch.fft.fft2(x) and torch.fft.ifft2(X).real on a CUDA tensor.
 *
 * Shapes: real planes [count, H, W], complex planes [count, H, W, 2]
 * (re, im interleaved = cufftComplex = numpy complex64 viewed as float32).
 *
 *   fb_cuda_fft2        cuFFT R2C over the batch → half spectrum
 *                       [count, H, W/2+1, 2] in scratch; a kernel writes the
 *                       full spectrum, the columns l > W/2 by Hermitian
 *                       symmetry X[k,l] = conj(X[(H−k) mod H, W−l]) (as fft.c)
 *   fb_cuda_ifft2_real  copy to scratch, cuFFT C2C inverse in place, then
 *                       out = re / (H·W) (a float division by the exactly
 *                       representable H·W, as fft.c); max|re| and max|im|
 *                       per plane (one block per plane) for imag_ratio
 *   fb_cuda_ifft2_real_planes  the same, with one imaginary ratio per plane
 *   fb_cuda_channel_sum out[n, p] = Σ_c in[n, c, p] in channel order, float
 *
 * Determinism: cuFFT runs the same plan with the same algorithm on every
 * call (the plan is fixed per (kind, H, W, count) and cached), on stream 0,
 * so results are identical from run to run on one GPU and library version;
 * against FFTW they differ by float rounding (~1e-7 relative). The maxima
 * are order-independent. cuFFT may pick other kernels for another batch
 * count, so a plane transformed in a batch of another size may differ in
 * the last bits (same batches, same bits). Plans and scratch are shared by
 * all callers, so every call holds one lock while it queues its work; the
 * work itself may still run after the lock is released, which is safe
 * because everything is queued on stream 0 and runs in that order.
 */
#include <pthread.h>
#include <stdlib.h>

#include <cufft.h>

#include "backend/cuda/cuda_internal.cuh"

#define MAX_PLANS 16

enum plan_kind { PLAN_R2C, PLAN_C2C };

typedef struct fft_plan {
    int kind, h, w, count;
    cufftHandle handle;
} fft_plan;

static fft_plan plans[MAX_PLANS];
static int plan_count;
static float *scratch;        /* device, scratch_floats long                 */
static size_t scratch_floats;
static pthread_mutex_t fft_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *cufft_text(cufftResult r)
{
    switch (r) {
    case CUFFT_SUCCESS: return "success";
    case CUFFT_INVALID_PLAN: return "invalid plan";
    case CUFFT_ALLOC_FAILED: return "allocation failed (GPU out of memory)";
    case CUFFT_INVALID_VALUE: return "invalid value";
    case CUFFT_INTERNAL_ERROR: return "internal error";
    case CUFFT_EXEC_FAILED: return "execution failed";
    case CUFFT_SETUP_FAILED: return "setup failed (no CUDA device?)";
    case CUFFT_INVALID_SIZE: return "invalid size";
    default: return "cuFFT error";
    }
}

static void destroy_plans(void)
{
    if (plan_count > 0) /* no queued transform may still use a plan */
        CUDA_CHECK(cudaDeviceSynchronize());
    for (int i = 0; i < plan_count; i++)
        cufftDestroy(plans[i].handle);
    plan_count = 0;
}

/* The cached plan for (kind, H, W, count); made on first use. */
static fb_status get_plan(int kind, int h, int w, int count, cufftHandle *handle)
{
    for (int i = 0; i < plan_count; i++)
        if (plans[i].kind == kind && plans[i].h == h && plans[i].w == w && plans[i].count == count) {
            *handle = plans[i].handle;
            return FB_OK;
        }
    if (plan_count == MAX_PLANS) /* many shapes: start over rather than grow */
        destroy_plans();
    int dims[2] = {h, w};
    fft_plan *p = &plans[plan_count];
    cufftResult r = cufftCreate(&p->handle);
    if (r == CUFFT_SUCCESS) { /* created apart from planning, so a failed plan is destroyed too */
        size_t work_bytes;
        r = cufftMakePlanMany(p->handle, 2, dims, NULL, 1, 0, NULL, 1, 0,
                              kind == PLAN_R2C ? CUFFT_R2C : CUFFT_C2C, count, &work_bytes);
        if (r == CUFFT_SUCCESS)
            r = cufftSetStream(p->handle, 0);
        if (r != CUFFT_SUCCESS)
            cufftDestroy(p->handle);
    }
    if (r != CUFFT_SUCCESS)
        return fb_error(r == CUFFT_ALLOC_FAILED ? FB_ERR_NOMEM : FB_ERR_UNSUPPORTED,
                        "cuFFT: cannot plan %d %dx%d %s transforms: %s", count, h, w,
                        kind == PLAN_R2C ? "R2C" : "C2C", cufft_text(r));
    p->kind = kind;
    p->h = h;
    p->w = w;
    p->count = count;
    *handle = p->handle;
    plan_count++;
    return FB_OK;
}

static fb_status get_scratch(size_t floats)
{
    if (floats <= scratch_floats)
        return FB_OK;
    fb_cuda_release(scratch);
    scratch_floats = 0;
    scratch = (float *)fb_cuda_alloc(floats * sizeof(float));
    if (!scratch)
        return fb_error(FB_ERR_NOMEM, "cuFFT: no GPU memory for %zu bytes of scratch",
                        floats * sizeof(float));
    scratch_floats = floats;
    return FB_OK;
}

/* cuFFT is not relied on for length-1 axes (whose 2-D transform is really
 * 1-D or the identity); the spectrum code's planes are 28×28 or 32×32. */
static fb_status check_shape(int count, int h, int w)
{
    if (count < 0 || h < 2 || w < 2 || (long long)h * w > (1LL << 26))
        return fb_error(FB_ERR_UNSUPPORTED,
                        "cuda fft: %d planes of %dx%d are not supported (2x2 to 2^26 pixels)", count,
                        h, w);
    return FB_OK;
}

/* ---- kernels ------------------------------------------------------------ */

/* out[count, H, W, 2] from half[count, H, W/2+1, 2] */
static __global__ void expand_kernel(float *out, const float *half, size_t total, int h, int w)
{
    const int wh = w / 2 + 1;
    GRID_STRIDE_LOOP(i, total) {
        int l = (int)(i % w), k = (int)(i / w % h);
        size_t plane = i / ((size_t)h * w);
        float re, im;
        if (l < wh) {
            const float *src = half + ((plane * h + k) * wh + l) * 2;
            re = src[0];
            im = src[1];
        } else { /* conj(X[−k, −l]) */
            const float *src = half + ((plane * h + (h - k) % h) * wh + (w - l)) * 2;
            re = src[0];
            im = -src[1];
        }
        out[2 * i] = re;
        out[2 * i + 1] = im;
    }
}

/* out[count, H, W] = re / (H·W) of c[count, H, W, 2] */
static __global__ void real_part_kernel(float *out, const float *c, size_t total, float scale)
{
    GRID_STRIDE_LOOP(i, total)
        out[i] = c[2 * i] / scale;
}

/* maxima[plane] = (max |re|/(H·W), max |im|/(H·W)) of one plane per block */
static __global__ void plane_max_kernel(float *maxima, const float *c, size_t hw, float scale)
{
    const float *plane = c + (size_t)blockIdx.x * hw * 2;
    float mr = 0.0f, mi = 0.0f;
    for (size_t p = threadIdx.x; p < hw; p += blockDim.x) {
        mr = fmaxf(mr, fabsf(plane[2 * p] / scale));
        mi = fmaxf(mi, fabsf(plane[2 * p + 1] / scale));
    }
    float2 block = fb_block_max2(mr, mi);
    if (threadIdx.x == 0) {
        maxima[2 * blockIdx.x] = block.x;
        maxima[2 * blockIdx.x + 1] = block.y;
    }
}

static __global__ void channel_sum_kernel(float *out, const float *in, size_t total, int channels,
                                          size_t plane)
{
    GRID_STRIDE_LOOP(i, total) {
        size_t n = i / plane, p = i % plane;
        float sum = 0.0f;
        for (int c = 0; c < channels; c++)
            sum += in[(n * channels + c) * plane + p];
        out[i] = sum;
    }
}

/* ---- API ---------------------------------------------------------------- */

extern "C" fb_status fb_cuda_fft2(float *out, const float *in, int count, int h, int w)
{
    FB_TRY(check_shape(count, h, w));
    if (count == 0)
        return FB_OK;
    pthread_mutex_lock(&fft_lock);
    cufftHandle plan;
    fb_status status = get_plan(PLAN_R2C, h, w, count, &plan);
    if (status == FB_OK)
        status = get_scratch((size_t)count * h * (w / 2 + 1) * 2);
    if (status == FB_OK) {
        cufftResult r = cufftExecR2C(plan, (cufftReal *)in, (cufftComplex *)scratch);
        if (r != CUFFT_SUCCESS) {
            status = fb_error(FB_ERR_UNSUPPORTED, "cuFFT: R2C of %d %dx%d planes failed: %s",
                              count, h, w, cufft_text(r));
        } else {
            size_t total = (size_t)count * h * w;
            expand_kernel<<<fb_cuda_grid(total), FB_CUDA_THREADS>>>(out, scratch, total, h, w);
            LAUNCH_CHECK();
        }
    }
    pthread_mutex_unlock(&fft_lock);
    return status;
}

/* out = real(ifft2(in)) of count planes; if maxima (host [count, 2]) is not
 * NULL it receives each plane's (max|re|, max|im|) of the scaled result. */
static fb_status inverse_real(float *out, const float *in, int count, int h, int w, float *maxima)
{
    const size_t hw = (size_t)h * w, complex_floats = (size_t)count * hw * 2;
    const float scale = (float)hw;
    pthread_mutex_lock(&fft_lock);
    cufftHandle plan;
    fb_status status = get_plan(PLAN_C2C, h, w, count, &plan);
    if (status == FB_OK) /* [count, H, W, 2] transform, then [count, 2] maxima */
        status = get_scratch(complex_floats + (size_t)count * 2);
    if (status == FB_OK) {
        CUDA_CHECK(cudaMemcpy(scratch, in, complex_floats * sizeof(float), cudaMemcpyDefault));
        cufftResult r = cufftExecC2C(plan, (cufftComplex *)scratch, (cufftComplex *)scratch,
                                     CUFFT_INVERSE);
        if (r != CUFFT_SUCCESS) {
            status = fb_error(FB_ERR_UNSUPPORTED, "cuFFT: inverse C2C of %d %dx%d planes failed: %s",
                              count, h, w, cufft_text(r));
        } else {
            size_t total = (size_t)count * hw;
            real_part_kernel<<<fb_cuda_grid(total), FB_CUDA_THREADS>>>(out, scratch, total, scale);
            LAUNCH_CHECK();
            if (maxima) {
                float *d_maxima = scratch + complex_floats; /* [count, 2] */
                plane_max_kernel<<<count, FB_CUDA_THREADS>>>(d_maxima, scratch, hw, scale);
                LAUNCH_CHECK();
                fb_cuda_to_host(maxima, d_maxima, (size_t)count * 2 * sizeof(float));
            }
        }
    }
    pthread_mutex_unlock(&fft_lock);
    return status;
}

extern "C" fb_status fb_cuda_ifft2_real(float *out, const float *in, int count, int h, int w,
                                        float *imag_ratio)
{
    FB_TRY(check_shape(count, h, w));
    if (imag_ratio)
        *imag_ratio = 0.0f;
    if (count == 0)
        return FB_OK;
    float *maxima = NULL; /* host [count, 2] */
    if (imag_ratio && !(maxima = (float *)malloc((size_t)count * 2 * sizeof(float))))
        return fb_error(FB_ERR_NOMEM, "cuda fft: out of memory");
    fb_status status = inverse_real(out, in, count, h, w, maxima);
    if (status == FB_OK && imag_ratio) {
        float max_real = 0.0f, max_imag = 0.0f;
        for (int p = 0; p < count; p++) {
            max_real = fmaxf(max_real, maxima[2 * p]);
            max_imag = fmaxf(max_imag, maxima[2 * p + 1]);
        }
        *imag_ratio = max_real > 0.0f ? max_imag / max_real : 0.0f;
    }
    free(maxima);
    return status;
}

extern "C" fb_status fb_cuda_ifft2_real_planes(float *out, const float *in, int count, int h, int w,
                                               float *plane_ratio)
{
    FB_TRY(check_shape(count, h, w));
    if (count == 0)
        return FB_OK;
    float *maxima = NULL; /* host [count, 2] */
    if (plane_ratio && !(maxima = (float *)malloc((size_t)count * 2 * sizeof(float))))
        return fb_error(FB_ERR_NOMEM, "cuda fft: out of memory");
    fb_status status = inverse_real(out, in, count, h, w, maxima);
    if (status == FB_OK && plane_ratio)
        for (int p = 0; p < count; p++)
            plane_ratio[p] = maxima[2 * p] > 0.0f ? maxima[2 * p + 1] / maxima[2 * p] : 0.0f;
    free(maxima);
    return status;
}

extern "C" fb_status fb_cuda_channel_sum(float *out, const float *in, int count, int channels,
                                         size_t plane)
{
    if (count < 0 || channels < 1)
        return fb_error(FB_ERR_USAGE, "cuda channel sum: %d images of %d channels", count, channels);
    size_t total = (size_t)count * plane;
    if (!total)
        return FB_OK;
    channel_sum_kernel<<<fb_cuda_grid(total), FB_CUDA_THREADS>>>(out, in, total, channels, plane);
    LAUNCH_CHECK();
    return FB_OK;
}

extern "C" void fb_cuda_fft_cleanup(void)
{
    pthread_mutex_lock(&fft_lock);
    destroy_plans();
    fb_cuda_release(scratch);
    scratch = NULL;
    scratch_floats = 0;
    pthread_mutex_unlock(&fft_lock);
}
