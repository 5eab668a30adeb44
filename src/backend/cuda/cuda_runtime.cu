/* cuda_runtime.cu — the CUDA backend's memory entries, its cuBLAS handle,
 * which device a process uses, the staging of a batch shard's sums through
 * the host, and what `freqbias info` says about the device.
 *
 * Device: a process uses device 0 of the visible ones, an MPI rank device
 * (its rank on the machine) mod (devices): one GPU per rank when the
 * machine has as many, ranks sharing GPUs round-robin otherwise.
 *
 * Memory (PyTorch: torch.empty(..., device="cuda"), .to("cuda"), .cpu(),
 * .zero_()):
 *   alloc      cudaMalloc (256-byte aligned, more than the 64 bytes the
 *              arenas promise); NULL when the GPU is out of memory, so the
 *              arena reports which role did not fit; any other CUDA error
 *              (a fault left by an earlier kernel) aborts with its message
 *   release    cudaFree
 *   to_device  cudaMemcpy with cudaMemcpyDefault: the source may be host or
 *   to_host    device memory (unified addressing); to_host returns after
 *              every earlier kernel on stream 0 has finished
 *   zero       cudaMemset
 * Copies are synchronous with respect to the host for pageable memory, so
 * the caller may reuse its buffer as soon as the call returns.
 *
 * GEMM. cuBLAS is column-major; the project is row-major. A row-major
 * X[R,C] with leading dimension L is, byte for byte, the column-major Xᵀ
 * with the same L, so C = op(A)·op(B) in row-major is Cᵀ = op(B)ᵀ·op(A)ᵀ in
 * column-major: the call swaps A and B and the roles of M and N. The handle
 * is created once, with
 *   CUBLAS_DEFAULT_MATH        for float32 this never uses TF32 (which keeps
 *                              10 mantissa bits of each product and would
 *                              miss cpu-ref by ~1e-3); TF32 only comes with
 *                              CUBLAS_TF32_TENSOR_OP_MATH, which we never set
 *   CUBLAS_ATOMICS_NOT_ALLOWED the default, stated: no atomics-based kernels
 *   stream 0                   the same stream as every kernel here
 * cuBLAS documents bit-wise identical results run to run for the same
 * problem on the same GPU architecture, SM count and library version when
 * one stream is used, which is what we rely on for reproducibility.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <cufft.h>

#include "backend/cuda/cuda_internal.cuh"

/* ---- errors ------------------------------------------------------------- */

void fb_cuda_fail(const char *call, const char *detail, const char *file, int line)
{
    fprintf(stderr, "freqbias: CUDA failure: %s: %s (%s:%d)\n", call, detail, file, line);
    fflush(stderr);
    abort();
}

static pthread_once_t sync_once = PTHREAD_ONCE_INIT;
static int sync_after_launch; /* FREQBIAS_CUDA_SYNC=1 */

static void read_sync_setting(void)
{
    const char *value = getenv("FREQBIAS_CUDA_SYNC");
    sync_after_launch = value && value[0] == '1';
}

void fb_cuda_launch_check(const char *file, int line)
{
    cudaError_t err = cudaGetLastError();
    if (err != cudaSuccess)
        fb_cuda_fail("kernel launch", cudaGetErrorString(err), file, line);
    pthread_once(&sync_once, read_sync_setting);
    if (sync_after_launch && (err = cudaDeviceSynchronize()) != cudaSuccess)
        fb_cuda_fail("kernel (FREQBIAS_CUDA_SYNC=1)", cudaGetErrorString(err), file, line);
}

const char *fb_cublas_status_text(cublasStatus_t status)
{
    return cublasGetStatusString(status);
}

/* ---- devices ------------------------------------------------------------ */

static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static int probed_devices;
static char probe_reason[160];

static void probe(void)
{
    int count = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) {
        snprintf(probe_reason, sizeof probe_reason, "%s (%s)", cudaGetErrorString(err),
                 cudaGetErrorName(err));
        cudaGetLastError(); /* clear it: it must not surface at a later check */
        count = 0;
    } else if (count == 0) {
        snprintf(probe_reason, sizeof probe_reason, "the CUDA runtime sees 0 devices");
    }
    probed_devices = count;
}

extern "C" int fb_cuda_device_count(void)
{
    pthread_once(&probe_once, probe);
    return probed_devices;
}

extern "C" void fb_cuda_use_device_of_rank(int local_rank)
{
    int count = fb_cuda_device_count();
    if (count > 0)
        CUDA_CHECK(cudaSetDevice(local_rank % count));
}

extern "C" int fb_cuda_describe(char *text, size_t size)
{
    if (fb_cuda_device_count() < 1) {
        snprintf(text, size, "no CUDA device: %s", probe_reason);
        return 0;
    }
    cudaDeviceProp p;
    int device = 0, driver = 0, runtime = 0, cufft_version = 0, blas_major = 0, blas_minor = 0,
        blas_patch = 0;
    CUDA_CHECK(cudaGetDevice(&device));
    CUDA_CHECK(cudaGetDeviceProperties(&p, device));
    cudaDriverGetVersion(&driver);
    cudaRuntimeGetVersion(&runtime);
    cublasGetProperty(MAJOR_VERSION, &blas_major);
    cublasGetProperty(MINOR_VERSION, &blas_minor);
    cublasGetProperty(PATCH_LEVEL, &blas_patch);
    cufftGetVersion(&cufft_version);
    snprintf(text, size,
             "device %d of %d: %s (sm_%d%d, %d SMs, %.1f GiB), driver %d.%d, runtime %d.%d, "
             "cuBLAS %d.%d.%d, cuFFT %d",
             device, fb_cuda_device_count(), p.name, p.major, p.minor, p.multiProcessorCount,
             (double)p.totalGlobalMem / (1024.0 * 1024.0 * 1024.0), driver / 1000,
             driver % 1000 / 10, runtime / 1000, runtime % 1000 / 10, blas_major, blas_minor,
             blas_patch, cufft_version);
    return 1;
}

/* ---- memory ------------------------------------------------------------- */

void *fb_cuda_alloc(size_t bytes)
{
    void *ptr = NULL;
    cudaError_t err = cudaMalloc(&ptr, bytes ? bytes : 256);
    if (err == cudaErrorMemoryAllocation) {
        cudaGetLastError(); /* out of memory is reported by the caller, not later */
        return NULL;
    }
    if (err != cudaSuccess) /* e.g. a sticky error of an earlier kernel: not "out of memory" */
        fb_cuda_fail("cudaMalloc", cudaGetErrorString(err), __FILE__, __LINE__);
    return ptr;
}

void fb_cuda_release(void *ptr)
{
    if (ptr)
        CUDA_CHECK(cudaFree(ptr));
}

void fb_cuda_to_device(void *dst, const void *src, size_t bytes)
{
    if (bytes)
        CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDefault));
}

void fb_cuda_to_host(void *dst, const void *src, size_t bytes)
{
    if (bytes)
        CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDefault));
}

void fb_cuda_zero(void *dst, size_t bytes)
{
    if (bytes)
        CUDA_CHECK(cudaMemset(dst, 0, bytes));
}

/* ---- shards of a batch ------------------------------------------------------ */

static double *sum_scratch;    /* [sum_capacity] device */
static size_t sum_capacity;

double *fb_cuda_sum_scratch(size_t count)
{
    if (count > sum_capacity) {
        fb_cuda_release(sum_scratch);
        sum_scratch = NULL;
        sum_capacity = 0;
        CUDA_CHECK(cudaMalloc(&sum_scratch, count * sizeof(double)));
        sum_capacity = count;
    }
    return sum_scratch;
}

void fb_cuda_combine_sums(const fb_batch_view *view, double *d_partials, int count)
{
    if (!view || !view->combine || count < 1)
        return;
    size_t bytes = (size_t)count * sizeof(double);
    double *host = (double *)malloc(bytes); /* [count] */
    if (!host)
        fb_cuda_fail("fb_cuda_combine_sums", "out of host memory", __FILE__, __LINE__);
    fb_cuda_to_host(host, d_partials, bytes);
    view->combine(host, count, view->user);
    fb_cuda_to_device(d_partials, host, bytes);
    free(host);
}

/* ---- cuBLAS ------------------------------------------------------------- */

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;
static cublasHandle_t blas_handle;

static void create_blas(void)
{
    CUBLAS_CHECK(cublasCreate(&blas_handle));
    CUBLAS_CHECK(cublasSetMathMode(blas_handle, CUBLAS_DEFAULT_MATH));
    CUBLAS_CHECK(cublasSetAtomicsMode(blas_handle, CUBLAS_ATOMICS_NOT_ALLOWED));
    CUBLAS_CHECK(cublasSetStream(blas_handle, 0));
    CUBLAS_CHECK(cublasSetPointerMode(blas_handle, CUBLAS_POINTER_MODE_HOST));
}

cublasHandle_t fb_cuda_blas(void)
{
    pthread_once(&blas_once, create_blas);
    return blas_handle;
}

static cublasOperation_t op(int transpose) { return transpose ? CUBLAS_OP_T : CUBLAS_OP_N; }

/* Row-major C[M,N] = op(A)[M,K]·op(B)[K,N] + beta·C as column-major
 * Cᵀ[N,M] = op(B)ᵀ[N,K]·op(A)ᵀ[K,M]. */
void fb_cuda_gemm(int trans_a, int trans_b, int m, int n, int k, const float *a, int lda,
                  const float *b, int ldb, float beta, float *c, int ldc)
{
    const float one = 1.0f;
    CUBLAS_CHECK(cublasSgemm(fb_cuda_blas(), op(trans_b), op(trans_a), n, m, k, &one, b, ldb, a,
                             lda, &beta, c, ldc));
}

void fb_cuda_gemm_strided(int trans_a, int trans_b, int m, int n, int k, const float *a, int lda,
                          long long stride_a, const float *b, int ldb, long long stride_b,
                          float beta, float *c, int ldc, long long stride_c, int batch)
{
    const float one = 1.0f;
    CUBLAS_CHECK(cublasSgemmStridedBatched(fb_cuda_blas(), op(trans_b), op(trans_a), n, m, k, &one,
                                           b, ldb, stride_b, a, lda, stride_a, &beta, c, ldc,
                                           stride_c, batch));
}
