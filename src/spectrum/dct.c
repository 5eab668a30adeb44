/* dct.c — the DCT square low-pass of PAPER.md (issue 4: "DCT square
 * low-pass"): keep the k×k lowest 2-D DCT-II coefficients of each channel.
 *
 * FFTW's REDFT10 is the unnormalised DCT-II, X[u] = 2 Σ_n x[n] cos(π u (2n+1) / 2N),
 * and REDFT01 its inverse up to a factor 2N per dimension, so
 * REDFT01(REDFT10(x)) = 4·H·W·x for a 2-D plane: the 1/(4HW) goes on the
 * inverse. Keeping u < k and v < k (the top-left square) is a separable
 * low-pass with no phase; k = H = W keeps everything (identity), k = 1
 * keeps the DC term (each channel becomes its mean). Plans (FFTW_ESTIMATE)
 * are made once per shape outside the parallel loop and executed per plane
 * with the new-array interface on 64-byte aligned scratch.
 * fb_dct_square_lowpass_on sends the work to the GPU on the cuda backend
 * (src/backend/cuda/cuda_dct.cu, the same projection as two matrix products).
 */
#include <fftw3.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "freqbias/backend.h"
#include "freqbias/spectrum.h"

#ifdef FB_WITH_CUDA
#include "backend/cuda/cuda_backend.h"
#endif

typedef struct dct_plans {
    int h, w;
    fftwf_plan forward, inverse;
} dct_plans;

static dct_plans cached;
static pthread_mutex_t dct_lock = PTHREAD_MUTEX_INITIALIZER;

static fb_status prepare(int h, int w)
{
    pthread_mutex_lock(&dct_lock);
    fb_status status = FB_OK;
    if (cached.h != h || cached.w != w) {
        float *scratch = fftwf_alloc_real((size_t)h * w);
        if (!scratch) {
            pthread_mutex_unlock(&dct_lock);
            return fb_error(FB_ERR_NOMEM, "DCT plans: out of memory");
        }
        if (cached.forward) {
            fftwf_destroy_plan(cached.forward);
            fftwf_destroy_plan(cached.inverse);
        }
        cached.forward = fftwf_plan_r2r_2d(h, w, scratch, scratch, FFTW_REDFT10, FFTW_REDFT10, FFTW_ESTIMATE);
        cached.inverse = fftwf_plan_r2r_2d(h, w, scratch, scratch, FFTW_REDFT01, FFTW_REDFT01, FFTW_ESTIMATE);
        cached.h = h;
        cached.w = w;
        fftwf_free(scratch);
        if (!cached.forward || !cached.inverse)
            status = fb_error(FB_ERR_UNSUPPORTED, "FFTW could not plan a %dx%d DCT", h, w);
    }
    pthread_mutex_unlock(&dct_lock);
    return status;
}

fb_status fb_dct_square_lowpass(float *out, const float *in, size_t planes, int h, int w, int k)
{
    if (k < 1 || h < 1 || w < 1)
        return fb_error(FB_ERR_USAGE, "DCT low-pass: need k >= 1 (got %d) and a non-empty plane", k);
    FB_TRY(prepare(h, w));
    size_t plane = (size_t)h * w;
    float scale = 1.0f / (4.0f * (float)h * (float)w);
    int failed = 0;
#pragma omp parallel reduction(| : failed)
    {
        float *work = fftwf_alloc_real(plane); /* [H, W] */
        if (!work)
            failed = 1;
#pragma omp for schedule(static)
        for (size_t p = 0; p < planes; p++) {
            if (!work)
                continue;
            memcpy(work, in + p * plane, plane * sizeof(float));
            fftwf_execute_r2r(cached.forward, work, work);
            for (int u = 0; u < h; u++)
                for (int v = 0; v < w; v++)
                    if (u >= k || v >= k)
                        work[(size_t)u * w + v] = 0.0f;
            fftwf_execute_r2r(cached.inverse, work, work);
            for (size_t i = 0; i < plane; i++)
                out[p * plane + i] = work[i] * scale;
        }
        fftwf_free(work);
    }
    return failed ? fb_error(FB_ERR_NOMEM, "DCT low-pass: out of memory") : FB_OK;
}

fb_status fb_dct_square_lowpass_on(const fb_backend *backend, float *out, const float *in, size_t planes,
                                   int h, int w, int k)
{
#ifdef FB_WITH_CUDA
    if (backend == &fb_backend_cuda)
        return fb_cuda_dct_square_lowpass(out, in, planes, h, w, k);
#else
    (void)backend; /* a build without CUDA has only host backends */
#endif
    return fb_dct_square_lowpass(out, in, planes, h, w, k);
}
