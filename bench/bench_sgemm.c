/* bench_sgemm.c — one OpenBLAS sgemm of a convolution's shape on one
 * thread, next to the machine's fp32 FMA peak measured in the same run.
 *
 * The README's "OpenBLAS kernel fix" compares the kernel Debian's OpenBLAS
 * picks on its own (Haswell, with OPENBLAS_CORETYPE=Haswell and
 * FREQBIAS_NO_REEXEC=1) with the one freqbias re-executes itself with
 * (SkylakeX on AVX-512 machines). The shape: a 3×3 convolution from 128
 * to 256 channels on a 32×32 map, one image, as im2col + GEMM — M = 256
 * output channels, N = 1,024 output pixels, K = 1,152 = 128·3·3. Prints
 * the best of REPEATS (default 20) timed calls after one warm-up:
 *   sgemm 256x1024x1152 kernel="..." gflops=... fma_peak_1thread=... share=...
 */
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#include "freqbias/rng.h"
#include "freqbias/runtime.h"
#include "freqbias/trace.h"

enum { M = 256, N = 1024, K = 1152 };

int main(int argc, char **argv)
{
    fb_runtime_init(argc, argv);
    int repeats = argc > 1 ? atoi(argv[1]) : 20;
    if (repeats < 1)
        repeats = 1;
    fb_set_threads(1);
    float *a = malloc((size_t)M * K * sizeof(float)); /* [M, K] */
    float *b = malloc((size_t)K * N * sizeof(float)); /* [K, N] */
    float *c = malloc((size_t)M * N * sizeof(float)); /* [M, N] */
    if (!a || !b || !c) {
        fprintf(stderr, "bench_sgemm: out of memory\n");
        return 2;
    }
    for (size_t i = 0; i < (size_t)M * K; i++)
        a[i] = fb_rng_uniform(1, FB_STREAM_DATA, 0, i);
    for (size_t i = 0; i < (size_t)K * N; i++)
        b[i] = fb_rng_uniform(1, FB_STREAM_DATA, 1, i);
    double best = 1e30;
    for (int r = 0; r <= repeats; r++) { /* call 0 warms up */
        double start = omp_get_wtime();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, a, K, b, N, 0.0f, c, N);
        double seconds = omp_get_wtime() - start;
        if (r > 0 && seconds < best)
            best = seconds;
    }
    double gflops = 2.0 * M * N * K / best / 1e9;
    double peak = fb_fma_peak_gflops(1, 0.2, 3);
    printf("sgemm %dx%dx%d kernel=\"%s\" gflops=%.1f fma_peak_1thread=%.1f (%s) share=%.0f%%\n", M, N, K,
           fb_runtime_note(), gflops, peak, fb_fma_kernel_name(), 100.0 * gflops / peak);
    free(a);
    free(b);
    free(c);
    return 0;
}
