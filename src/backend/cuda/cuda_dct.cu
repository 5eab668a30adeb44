/* cuda_dct.cu — the DCT square low-pass on the GPU, the twin of
 * fb_dct_square_lowpass (src/spectrum/dct.c) for `filter --freq dct` and
 * `test`/`sweep` on the cuda backend.
 *
 * Keeping the k×k lowest DCT-II coefficients and transforming back is a
 * linear projection, separable over rows and columns. With the orthonormal
 * DCT-II basis c_u(n) = s_u cos(π u (2n+1) / 2N) (s_0 = √(1/N), s_u = √(2/N)),
 * whose first k vectors span what survives along an axis of length N,
 *   P_N = Σ_{u < min(k, N)} c_u c_uᵀ          [N, N], symmetric
 *   out = P_H · x · P_W                       per plane
 * FFTW's REDFT10 / REDFT01 pair with the 1/(4HW) (dct.c) computes the same
 * projection, so the results agree to float rounding. P_H and P_W are built
 * in double on the host and rounded once; the two products per plane are
 * batched cuBLAS SGEMMs (TF32 off, the backend's handle), a chunk of at most
 * 2^24 pixels at a time, with the planes in host memory before and after.
 */
#include <math.h>
#include <stdlib.h>

#include "backend/cuda/cuda_internal.cuh"

/* projection[N, N] onto the first min(k, N) orthonormal DCT-II vectors */
static void projection(float *p, int n, int k)
{
    const double pi = 3.14159265358979323846;
    int kept = k < n ? k : n;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double sum = 0.0;
            for (int u = 0; u < kept; u++) {
                double scale = u == 0 ? 1.0 / n : 2.0 / n;
                sum += scale * cos(pi * u * (2 * i + 1) / (2.0 * n)) * cos(pi * u * (2 * j + 1) / (2.0 * n));
            }
            p[(size_t)i * n + j] = (float)sum;
        }
}

extern "C" fb_status fb_cuda_dct_square_lowpass(float *out, const float *in, size_t planes, int h, int w,
                                                int k)
{
    if (k < 1 || h < 1 || w < 1)
        return fb_error(FB_ERR_USAGE, "DCT low-pass: need k >= 1 (got %d) and a non-empty plane", k);
    if (planes == 0)
        return FB_OK;
    const size_t plane = (size_t)h * w;
    const int chunk = fb_cuda_chunk_planes((long long)planes, plane); /* ≤ 2^24 pixels */
    float *p_rows = (float *)malloc((size_t)h * h * sizeof(float)); /* host [H, H] */
    float *p_cols = (float *)malloc((size_t)w * w * sizeof(float)); /* host [W, W] */
    float *d_rows = (float *)fb_cuda_alloc((size_t)h * h * sizeof(float));          /* [H, H] */
    float *d_cols = (float *)fb_cuda_alloc((size_t)w * w * sizeof(float));          /* [W, W] */
    float *d_x = (float *)fb_cuda_alloc((size_t)chunk * plane * sizeof(float));     /* [chunk, H, W] */
    float *d_t = (float *)fb_cuda_alloc((size_t)chunk * plane * sizeof(float));     /* [chunk, H, W] */
    fb_status status = FB_OK;
    if (!p_rows || !p_cols || !d_rows || !d_cols || !d_x || !d_t)
        status = fb_error(FB_ERR_NOMEM, "cuda DCT low-pass: no memory for chunks of %d %dx%d planes", chunk,
                          h, w);
    if (status == FB_OK) {
        projection(p_rows, h, k);
        projection(p_cols, w, k);
        fb_cuda_to_device(d_rows, p_rows, (size_t)h * h * sizeof(float));
        fb_cuda_to_device(d_cols, p_cols, (size_t)w * w * sizeof(float));
    }
    for (size_t first = 0; status == FB_OK && first < planes; first += (size_t)chunk) {
        int count = planes - first < (size_t)chunk ? (int)(planes - first) : chunk;
        size_t bytes = (size_t)count * plane * sizeof(float);
        fb_cuda_to_device(d_x, in + first * plane, bytes);
        /* t_i[H, W] = P_H[H, H] · x_i[H, W]; then x_i = t_i · P_W[W, W] */
        fb_cuda_gemm_strided(0, 0, h, w, h, d_rows, h, 0, d_x, w, (long long)plane, 0.0f, d_t, w,
                             (long long)plane, count);
        fb_cuda_gemm_strided(0, 0, h, w, w, d_t, w, (long long)plane, d_cols, w, 0, 0.0f, d_x, w,
                             (long long)plane, count);
        fb_cuda_to_host(out + first * plane, d_x, bytes);
    }
    free(p_rows);
    free(p_cols);
    fb_cuda_release(d_rows);
    fb_cuda_release(d_cols);
    fb_cuda_release(d_x);
    fb_cuda_release(d_t);
    return status;
}
