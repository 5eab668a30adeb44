/* freqbias/runtime.h — CPU features, the OpenBLAS kernel fix, threads.
 *
 * Debian's OpenBLAS 0.3.21 (DYNAMIC_ARCH) picks its kernel from a CPU table
 * that predates recent Xeons and EPYCs, so on an AVX-512 machine it may run
 * its SSE3 "Prescott" or AVX2 "Haswell" kernels. It reads OPENBLAS_CORETYPE
 * only while the library loads, so setenv() at run time is too late: the
 * fix is to compare the kernel in use with what cpuid says the CPU can run
 * and, if it is weaker, re-exec the program with OPENBLAS_CORETYPE set.
 * fb_runtime_init() does that first thing in main(); FREQBIAS_NO_REEXEC=1
 * turns it off. An OPENBLAS_CORETYPE already in the environment is kept
 * when it is as strong as the CPU allows, and upgraded when it is weaker
 * (some machines export OPENBLAS_CORETYPE=Haswell for all programs; the
 * tests compare the upgraded kernel against the naive cpu-ref backend).
 */
#ifndef FREQBIAS_RUNTIME_H
#define FREQBIAS_RUNTIME_H

typedef struct fb_cpu_features {
    char vendor[13];
    char brand[49];
    int sse42, avx, avx2, fma, avx512f, avx512bw, avx512vl, avx512dq;
    int os_avx, os_avx512;   /* the OS saves the YMM / ZMM+opmask state */
} fb_cpu_features;

fb_cpu_features fb_cpu_detect(void);

/* The best OpenBLAS core name this CPU can run ("SkylakeX", "Haswell",
 * "Sandybridge" or "Prescott"). */
const char *fb_cpu_best_blas_core(const fb_cpu_features *features);

/* The kernel OpenBLAS is running now (openblas_get_corename()). */
const char *fb_blas_corename(void);

/* Rank of an OpenBLAS core name: 4 AVX-512, 3 AVX2, 2 AVX, 1 SSE, 0 unknown. */
int fb_blas_core_rank(const char *corename);

/* Call first in main(): re-execs once with OPENBLAS_CORETYPE if the loaded
 * kernel is weaker than the CPU allows (see above). Returns normally
 * otherwise (also when the re-exec itself fails: the program still works,
 * only slower, and fb_runtime_note() says so). */
void fb_runtime_init(int argc, char **argv);

/* One line for logs: what happened at start-up ("kernel SkylakeX (re-exec
 * from Haswell)"). */
const char *fb_runtime_note(void);

/* Thread count for OpenMP regions and OpenBLAS (≥ 1). */
void fb_set_threads(int threads);
int fb_get_threads(void);

#endif
