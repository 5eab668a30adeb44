/* cuda_internal.cuh — what the CUDA backend's .cu files share.
 *
 *   - error checks: every CUDA / cuBLAS / cuFFT call is checked; the op
 *     table's functions return void, so a failure prints the call, the
 *     library's message and file:line, and aborts (never a silent wrong
 *     result);
 *   - launch geometry: 256-thread blocks, grid-stride loops, grids capped so
 *     an index never overflows;
 *   - the deterministic block sum: each thread accumulates its own elements
 *     serially (a fixed set in a fixed order), then the block adds the
 *     partials in a fixed binary tree in shared memory. The result depends
 *     on the data and on FB_CUDA_REDUCE_THREADS only — never on scheduling —
 *     and no atomics are used anywhere; block maxima (fb_block_max2) the
 *     same way;
 *   - row-major GEMM helpers over cuBLAS (column-major), TF32 off;
 *   - the prototypes of every op, gathered into fb_backend_cuda in
 *     cuda_backend.cu.
 *
 * Pointers named d_* or documented "device" are GPU memory; everything
 * runs on the legacy default stream (stream 0), in call order. Code relies
 * on that order (e.g. cuda_fft.cu's scratch is reused by the next call
 * while earlier work may still run), so never build with
 * --default-stream per-thread.
 */
#ifndef FREQBIAS_CUDA_INTERNAL_CUH
#define FREQBIAS_CUDA_INTERNAL_CUH

#include <stddef.h>
#include <stdint.h>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "backend/cuda/cuda_backend.h"

/* ---- errors ------------------------------------------------------------- */

/* Prints "freqbias: CUDA failure: <call>: <detail> (file:line)" and aborts. */
[[noreturn]] void fb_cuda_fail(const char *call, const char *detail, const char *file, int line);
const char *fb_cublas_status_text(cublasStatus_t status);

#define CUDA_CHECK(call)                                                             \
    do {                                                                             \
        cudaError_t fb_cuda_err_ = (call);                                           \
        if (fb_cuda_err_ != cudaSuccess)                                             \
            fb_cuda_fail(#call, cudaGetErrorString(fb_cuda_err_), __FILE__, __LINE__); \
    } while (0)

#define CUBLAS_CHECK(call)                                                             \
    do {                                                                               \
        cublasStatus_t fb_blas_err_ = (call);                                          \
        if (fb_blas_err_ != CUBLAS_STATUS_SUCCESS)                                     \
            fb_cuda_fail(#call, fb_cublas_status_text(fb_blas_err_), __FILE__, __LINE__); \
    } while (0)

/* After every kernel launch: reports a bad launch configuration at once.
 * An error inside the kernel (a bad address, say) surfaces at the next
 * synchronising call, named after that call; with FREQBIAS_CUDA_SYNC=1 in
 * the environment every launch is followed by cudaDeviceSynchronize, so it
 * is reported at the launch that caused it (slow: for debugging and for the
 * tests of bench/gpu_check.sh). */
void fb_cuda_launch_check(const char *file, int line);
#define LAUNCH_CHECK() fb_cuda_launch_check(__FILE__, __LINE__)

/* ---- shards of a batch (MPI ranks, freqbias/batch_view.h) ---------------- */

/* A device buffer of at least `count` doubles for the per-channel sums of
 * the BatchNorm and loss ops, grown on demand (cudaFree/cudaMalloc wait for
 * the device) and reused by the next op: the ops run one after another on
 * stream 0 from the training thread. */
double *fb_cuda_sum_scratch(size_t count);

/* The view's combine on device partials d_partials[count]: copied to the
 * host, merged with the other shards' (view->combine), copied back. Does
 * nothing without a combine (the whole batch in one process). */
void fb_cuda_combine_sums(const fb_batch_view *view, double *d_partials, int count);

/* ---- launch geometry ---------------------------------------------------- */

#define FB_CUDA_THREADS 256   /* threads per block of elementwise kernels; a power of two */
/* threads per block of the kernels that sum with fb_block_sum (one block
 * per channel / output): many loads in flight per block, since such a
 * kernel may have only as many blocks as channels (64 in a ResNet's first
 * stage). A power of two; their register use (≤ 53, ptxas -v) fits. */
#define FB_CUDA_REDUCE_THREADS 1024
#define FB_CUDA_MAX_GRID 65535u

/* Blocks for a grid-stride loop over count elements (at least 1). */
static inline unsigned fb_cuda_grid(size_t count)
{
    size_t blocks = (count + FB_CUDA_THREADS - 1) / FB_CUDA_THREADS;
    if (blocks < 1)
        blocks = 1;
    return blocks > FB_CUDA_MAX_GRID ? FB_CUDA_MAX_GRID : (unsigned)blocks;
}

/* Planes of plane_size elements per chunk of the host-array spectrum tools
 * (cuda_filter.cu, cuda_dct.cu): at most 2^24 elements (16384 planes of
 * 32×32; a few hundred MiB of device buffers with the FFT's complex ones),
 * at least 1, never more than `planes`. Also keeps count·H·W within the
 * int sizes of a cuFFT plan. */
static inline int fb_cuda_chunk_planes(long long planes, size_t plane_size)
{
    long long fit = (long long)((1u << 24) / (plane_size ? plane_size : 1));
    if (fit < 1)
        fit = 1;
    return (int)(planes < fit ? planes : fit);
}

/* for (i = global thread index; i < count; i += all threads) */
#define GRID_STRIDE_LOOP(i, count)                                                  \
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (count);   \
         i += (size_t)blockDim.x * gridDim.x)

/* q = e / d, *rem = e % d, in 32-bit arithmetic when both fit: a 64-bit
 * division is emulated on the GPU at several times the instructions, which
 * shows in the per-channel reduction kernels (one block walks a whole
 * channel). Same result either way. */
static __device__ __forceinline__ size_t fb_divmod(size_t e, size_t d, size_t *rem)
{
    if (e <= 0xFFFFFFFFu && d <= 0xFFFFFFFFu) {
        unsigned q = (unsigned)e / (unsigned)d;
        *rem = (unsigned)e - q * (unsigned)d;
        return q;
    }
    *rem = e % d;
    return e / d;
}

/* ---- deterministic block sums -------------------------------------------- */

/* Sum of every thread's `value` over the block (blockDim.x must be
 * FB_CUDA_REDUCE_THREADS), returned to every thread. Fixed tree: step s adds
 * partial[t + s] into partial[t] for t < s, s = 512, 256, ..., 1. */
static __device__ double fb_block_sum(double value)
{
    __shared__ double partial[FB_CUDA_REDUCE_THREADS];
    unsigned t = threadIdx.x;
    partial[t] = value;
    __syncthreads();
    for (unsigned s = FB_CUDA_REDUCE_THREADS / 2; s > 0; s >>= 1) {
        if (t < s)
            partial[t] += partial[t + s];
        __syncthreads();
    }
    double total = partial[0];
    __syncthreads(); /* the array is reused by the next call */
    return total;
}

/* Block-wide maxima of two per-thread values (blockDim.x must be
 * FB_CUDA_THREADS), returned to every thread as (max a, max b). A maximum
 * does not depend on the order it is taken in, so this is exact and
 * deterministic; a minimum is −max(−x). */
static __device__ float2 fb_block_max2(float a, float b)
{
    __shared__ float first[FB_CUDA_THREADS], second[FB_CUDA_THREADS];
    unsigned t = threadIdx.x;
    first[t] = a;
    second[t] = b;
    __syncthreads();
    for (unsigned s = FB_CUDA_THREADS / 2; s > 0; s >>= 1) {
        if (t < s) {
            first[t] = fmaxf(first[t], first[t + s]);
            second[t] = fmaxf(second[t], second[t + s]);
        }
        __syncthreads();
    }
    float2 result = make_float2(first[0], second[0]);
    __syncthreads(); /* the arrays are reused by the next call */
    return result;
}

/* ---- cuBLAS (cuda_runtime.cu) --------------------------------------------
 * Row-major products C[M,N] = op(A)·op(B) (+ beta·C), the layout the rest of
 * the project uses, mapped onto column-major cuBLAS by computing
 * Cᵀ = op(B)ᵀ·op(A)ᵀ. lda/ldb/ldc are row-major leading dimensions (the
 * distance between rows). The handle uses CUBLAS_DEFAULT_MATH (no TF32: a
 * float32 GEMM keeps float32 products and sums), atomics not allowed,
 * stream 0. */
cublasHandle_t fb_cuda_blas(void);
void fb_cuda_gemm(int trans_a, int trans_b, int m, int n, int k, const float *a, int lda,
                  const float *b, int ldb, float beta, float *c, int ldc);
/* batch products: A_i = a + i·stride_a, etc. (stride 0 = shared operand) */
void fb_cuda_gemm_strided(int trans_a, int trans_b, int m, int n, int k, const float *a, int lda,
                          long long stride_a, const float *b, int ldb, long long stride_b,
                          float beta, float *c, int ldc, long long stride_c, int batch);

/* ---- the ops (one family per file) --------------------------------------- */

/* cuda_runtime.cu */
void *fb_cuda_alloc(size_t bytes);
void fb_cuda_release(void *ptr);
void fb_cuda_to_device(void *dst, const void *src, size_t bytes);
void fb_cuda_to_host(void *dst, const void *src, size_t bytes);
void fb_cuda_zero(void *dst, size_t bytes);

/* cuda_conv.cu */
size_t fb_cuda_conv2d_workspace(const fb_conv_geom *g);
void fb_cuda_conv2d_forward(float *out, const float *in, const float *weight, const float *bias,
                            const fb_conv_geom *g, void *workspace, size_t workspace_bytes);
void fb_cuda_conv2d_backward_data(float *din, const float *dout, const float *weight,
                                  const fb_conv_geom *g, void *workspace, size_t workspace_bytes);
void fb_cuda_conv2d_backward_filter(float *dweight, float *dbias, const float *dout,
                                    const float *in, const fb_conv_geom *g, void *workspace,
                                    size_t workspace_bytes);

/* cuda_batchnorm.cu */
void fb_cuda_batchnorm_forward_train(float *out, float *save_mean, float *save_invstd,
                                     float *running_mean, float *running_var, const float *in,
                                     const float *gamma, const float *beta, int batch,
                                     int channels, int spatial, const fb_batch_view *view);
void fb_cuda_batchnorm_forward_eval(float *out, const float *in, const float *gamma,
                                    const float *beta, const float *running_mean,
                                    const float *running_var, int batch, int channels,
                                    int spatial);
void fb_cuda_batchnorm_backward(float *din, float *dgamma, float *dbeta, const float *dout,
                                const float *in, const float *gamma, const float *save_mean,
                                const float *save_invstd, int batch, int channels, int spatial,
                                const fb_batch_view *view);
void fb_cuda_batchnorm_backward_eval(float *din, float *dgamma, float *dbeta, const float *dout,
                                     const float *in, const float *gamma,
                                     const float *running_mean, const float *running_var,
                                     int batch, int channels, int spatial);

/* cuda_elementwise.cu */
void fb_cuda_relu_forward(float *out, const float *in, size_t count);
void fb_cuda_relu_backward(float *din, const float *dout, const float *out, size_t count);
void fb_cuda_add(float *out, const float *a, const float *b, size_t count);
void fb_cuda_normalize_forward(float *out, const float *in, const float *mean, const float *std,
                               int batch, int channels, int spatial);
void fb_cuda_normalize_backward(float *din, const float *dout, const float *in, const float *std,
                                int batch, int channels, int spatial);
void fb_cuda_sgd_step(float *param, float *momentum_buf, const float *grad, size_t count,
                      float lr, float momentum, float weight_decay, int first_step);

/* cuda_pool_linear.cu */
void fb_cuda_avgpool_forward(float *out, const float *in, int batch, int channels, int h, int w,
                             int k);
void fb_cuda_avgpool_backward(float *din, const float *dout, int batch, int channels, int h,
                              int w, int k);
void fb_cuda_linear_forward(float *out, const float *in, const float *weight, const float *bias,
                            int batch, int in_features, int out_features);
void fb_cuda_linear_backward(float *din, float *dweight, float *dbias, const float *dout,
                             const float *in, const float *weight, int batch, int in_features,
                             int out_features);
/* dbias[o] = Σ_n Σ_p dout[n, o, p] for dout[N, O, P], one block per o,
 * summed in double (shared by the conv and linear backward). */
void fb_cuda_bias_grad(float *dbias, const float *dout, int batch, int outputs, size_t spatial);

/* cuda_loss.cu */
void fb_cuda_cross_entropy_forward(float *loss, float *probs, const float *logits,
                                   const int32_t *labels, int batch, int classes,
                                   const fb_batch_view *view);
void fb_cuda_cross_entropy_backward(float *dlogits, const float *probs, const int32_t *labels,
                                    int batch, int classes, const fb_batch_view *view);

#endif
