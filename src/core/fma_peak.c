/* fma_peak.c — how many single-precision FLOPs this machine can do at most.
 *
 * Every speed number in freqbias (`trace`, `bench_train`, the README) means
 * little without the ceiling it is measured against. A core's ceiling for
 * float32 is its fused multiply-add throughput: pipes × lanes × 2 FLOPs per
 * cycle. Reaching it needs work with no memory traffic and no dependency
 * stalls, which is what this microbenchmark is:
 *
 *   acc_j ← acc_j · a + b     for j = 0 … FB_FMA_CHAINS−1, `iterations` times
 *
 * on vectors held in registers. An FMA takes ~4 cycles before its result can
 * be used again, and a core issues up to 2 per cycle, so at least 8 chains
 * must be in flight; 16 leave margin (and still fit the 16 AVX2 / 32
 * AVX-512 registers). a and b are read through a volatile, so the compiler
 * cannot fold a = 1. The kernel is chosen at run time from CPUID and the
 * OS's saved register state (fb_cpu_detect): AVX-512, else AVX2 + FMA, else
 * a portable multiply then add on 4-float GCC vectors (2 FLOPs per lane too,
 * but not fused: the project builds with -ffp-contract=off).
 *
 * One thread count at a time: a parallel region of `threads` threads, each
 * running the same chains; the wall time of the whole region is the time.
 */
#include <omp.h>

#include "freqbias/runtime.h"
#include "freqbias/trace.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define FMA_X86 1
#endif

static volatile float chain_a = 1.0f, chain_b = 1.0f;

/* Sixteen statements, not a loop over an array: the accumulators must stay
 * in registers at every optimisation level. */
#define CHAINS_16(step)                                                                            \
    step(0) step(1) step(2) step(3) step(4) step(5) step(6) step(7) step(8) step(9) step(10)       \
        step(11) step(12) step(13) step(14) step(15)

#ifdef FMA_X86
__attribute__((target("avx512f"))) static double chains_avx512(long iterations, float av, float bv)
{
    __m512 a = _mm512_set1_ps(av), b = _mm512_set1_ps(bv);
#define DECLARE(j) __m512 acc##j = _mm512_setzero_ps();
#define STEP(j) acc##j = _mm512_fmadd_ps(acc##j, a, b);
#define SUM(j) total += _mm512_reduce_add_ps(acc##j);
    CHAINS_16(DECLARE)
    for (long i = 0; i < iterations; i++) {
        CHAINS_16(STEP)
    }
    double total = 0.0;
    CHAINS_16(SUM)
    return total;
#undef DECLARE
#undef STEP
#undef SUM
}

__attribute__((target("avx2,fma"))) static double chains_avx2(long iterations, float av, float bv)
{
    __m256 a = _mm256_set1_ps(av), b = _mm256_set1_ps(bv);
#define DECLARE(j) __m256 acc##j = _mm256_setzero_ps();
#define STEP(j) acc##j = _mm256_fmadd_ps(acc##j, a, b);
#define SUM(j)                                                                                     \
    {                                                                                              \
        float lanes[8];                                                                            \
        _mm256_storeu_ps(lanes, acc##j);                                                           \
        for (int l = 0; l < 8; l++)                                                                \
            total += lanes[l];                                                                     \
    }
    CHAINS_16(DECLARE)
    for (long i = 0; i < iterations; i++) {
        CHAINS_16(STEP)
    }
    double total = 0.0;
    CHAINS_16(SUM)
    return total;
#undef DECLARE
#undef STEP
#undef SUM
}
#endif

typedef float float4 __attribute__((vector_size(16)));

static double chains_portable(long iterations, float av, float bv)
{
    float4 a = {av, av, av, av}, b = {bv, bv, bv, bv};
#define DECLARE(j) float4 acc##j = {0.0f, 0.0f, 0.0f, 0.0f};
#define STEP(j) acc##j = acc##j * a + b;
#define SUM(j) total += (double)acc##j[0] + acc##j[1] + acc##j[2] + acc##j[3];
    CHAINS_16(DECLARE)
    for (long i = 0; i < iterations; i++) {
        CHAINS_16(STEP)
    }
    double total = 0.0;
    CHAINS_16(SUM)
    return total;
#undef DECLARE
#undef STEP
#undef SUM
}

typedef enum { KERNEL_AVX512, KERNEL_AVX2, KERNEL_PORTABLE } fma_kernel;

static fma_kernel choose_kernel(void)
{
#ifdef FMA_X86
    fb_cpu_features f = fb_cpu_detect();
    if (f.avx512f && f.os_avx512)
        return KERNEL_AVX512;
    if (f.avx2 && f.fma && f.os_avx)
        return KERNEL_AVX2;
#endif
    return KERNEL_PORTABLE;
}

static int kernel_lanes(fma_kernel k) { return k == KERNEL_AVX512 ? 16 : k == KERNEL_AVX2 ? 8 : 4; }

const char *fb_fma_kernel_name(void)
{
    fma_kernel k = choose_kernel();
    return k == KERNEL_AVX512 ? "avx512 fma" : k == KERNEL_AVX2 ? "avx2 fma" : "portable mul+add";
}

static double run_chains(fma_kernel k, long iterations)
{
    float a = chain_a, b = chain_b;
#ifdef FMA_X86
    if (k == KERNEL_AVX512)
        return chains_avx512(iterations, a, b);
    if (k == KERNEL_AVX2)
        return chains_avx2(iterations, a, b);
#endif
    (void)k;
    return chains_portable(iterations, a, b);
}

double fb_fma_run(int threads, long iterations, double *seconds, double *checksum)
{
    fma_kernel k = choose_kernel();
    double total = 0.0, start = 0.0, stop = 0.0;
#pragma omp parallel num_threads(threads) reduction(+ : total)
    {
#pragma omp barrier
#pragma omp master
        start = omp_get_wtime();
        total += run_chains(k, iterations);
#pragma omp barrier
#pragma omp master
        stop = omp_get_wtime();
    }
    *seconds = stop - start;
    *checksum = total;
    return 2.0 * threads * (double)iterations * FB_FMA_CHAINS * kernel_lanes(k);
}

double fb_fma_peak_gflops(int threads, double min_seconds, int repeats)
{
    double seconds, checksum, best = 0.0;
    long iterations = 1 << 16;
    /* grow the run until one takes min_seconds on one thread's chains */
    for (;;) {
        fb_fma_run(threads, iterations, &seconds, &checksum);
        if (seconds >= min_seconds || iterations > (1L << 40))
            break;
        iterations *= 2;
    }
    for (int r = 0; r < repeats; r++) {
        double flops = fb_fma_run(threads, iterations, &seconds, &checksum);
        if (seconds > 0.0 && flops / seconds > best)
            best = flops / seconds;
    }
    return best * 1e-9;
}
