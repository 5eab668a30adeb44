/* runtime.c — cpuid feature detection, the OpenBLAS kernel re-exec, and the
 * thread count shared by OpenMP and OpenBLAS (see freqbias/runtime.h).
 *
 * cpuid leaf 1 gives SSE4.2/AVX/FMA/OSXSAVE, leaf 7 AVX2 and the AVX-512
 * subsets; xgetbv(0) tells whether the OS saves the YMM (bits 1-2) and the
 * opmask/ZMM (bits 5-7) registers — without OS support the instructions
 * fault even though cpuid lists them.
 *
 * cpuid and xgetbv exist only on x86. Elsewhere (aarch64) fb_cpu_detect()
 * returns an all-zero feature set and fb_runtime_init() never re-execs:
 * OpenBLAS's own arm64 core detection is kept as loaded.
 */
#define _GNU_SOURCE
#include "freqbias/runtime.h"

#if defined(__x86_64__) || defined(__i386__)
#define FB_HAVE_CPUID 1
#include <cpuid.h>
#else
#define FB_HAVE_CPUID 0
#endif
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *openblas_get_corename(void);
void openblas_set_num_threads(int threads);

static char runtime_note[256] = "OpenBLAS kernel as loaded";

#if FB_HAVE_CPUID
static unsigned long long read_xcr0(void)
{
    unsigned int eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

fb_cpu_features fb_cpu_detect(void)
{
    fb_cpu_features f;
    memset(&f, 0, sizeof f);
    unsigned int eax, ebx, ecx, edx;
    unsigned int max_leaf = __get_cpuid_max(0, NULL);
    __cpuid(0, eax, ebx, ecx, edx);
    memcpy(f.vendor + 0, &ebx, 4);
    memcpy(f.vendor + 4, &edx, 4);
    memcpy(f.vendor + 8, &ecx, 4);
    /* gcc's cpuid.h returns unsigned int here, clang's int */
    if ((unsigned int)__get_cpuid_max(0x80000000u, NULL) >= 0x80000004u) {
        unsigned int *brand = (unsigned int *)f.brand;
        for (unsigned int leaf = 0; leaf < 3; leaf++)
            __cpuid(0x80000002u + leaf, brand[leaf * 4], brand[leaf * 4 + 1],
                    brand[leaf * 4 + 2], brand[leaf * 4 + 3]);
        f.brand[48] = '\0';
    }
    if (max_leaf >= 1) {
        __cpuid(1, eax, ebx, ecx, edx);
        f.sse42 = (ecx >> 20) & 1;
        f.fma = (ecx >> 12) & 1;
        f.avx = (ecx >> 28) & 1;
        int osxsave = (ecx >> 27) & 1;
        if (osxsave) {
            unsigned long long xcr0 = read_xcr0();
            f.os_avx = (xcr0 & 0x6) == 0x6;
            f.os_avx512 = (xcr0 & 0xE6) == 0xE6;
        }
    }
    if (max_leaf >= 7) {
        __cpuid_count(7, 0, eax, ebx, ecx, edx);
        f.avx2 = (ebx >> 5) & 1;
        f.avx512f = (ebx >> 16) & 1;
        f.avx512dq = (ebx >> 17) & 1;
        f.avx512bw = (ebx >> 30) & 1;
        f.avx512vl = (ebx >> 31) & 1;
    }
    return f;
}
#else
fb_cpu_features fb_cpu_detect(void)
{
    fb_cpu_features f;
    memset(&f, 0, sizeof f);
    return f;
}
#endif

const char *fb_cpu_best_blas_core(const fb_cpu_features *f)
{
    if (f->os_avx512 && f->avx512f && f->avx512bw && f->avx512vl && f->avx512dq)
        return "SkylakeX";
    if (f->os_avx && f->avx2 && f->fma)
        return "Haswell";
    if (f->os_avx && f->avx)
        return "Sandybridge";
    return "Prescott";
}

const char *fb_blas_corename(void) { return openblas_get_corename(); }

int fb_blas_core_rank(const char *name)
{
    static const char *const avx512[] = {"SkylakeX", "Cooperlake", "SapphireRapids"};
    static const char *const avx2[] = {"Haswell", "Zen", "Excavator", "Steamroller"};
    static const char *const avx[] = {"Sandybridge", "Bulldozer", "Piledriver"};
    for (size_t i = 0; i < sizeof avx512 / sizeof *avx512; i++)
        if (strcasecmp(name, avx512[i]) == 0)
            return 4;
    for (size_t i = 0; i < sizeof avx2 / sizeof *avx2; i++)
        if (strcasecmp(name, avx2[i]) == 0)
            return 3;
    for (size_t i = 0; i < sizeof avx / sizeof *avx; i++)
        if (strcasecmp(name, avx[i]) == 0)
            return 2;
    return name[0] ? 1 : 0;
}

void fb_runtime_init(int argc, char **argv)
{
    (void)argc;
    fb_set_threads(omp_get_max_threads()); /* OpenMP count unchanged */
    const char *loaded = fb_blas_corename();
    if (!FB_HAVE_CPUID) {
        snprintf(runtime_note, sizeof runtime_note,
                 "OpenBLAS kernel %s (as loaded; no cpuid on this architecture)", loaded);
        return;
    }
    const char *previous = getenv("FREQBIAS_REEXEC_FROM");
    if (previous) {
        snprintf(runtime_note, sizeof runtime_note,
                 "OpenBLAS kernel %s (re-exec with OPENBLAS_CORETYPE from %s)", loaded, previous);
        unsetenv("FREQBIAS_REEXEC_FROM");
        return;
    }
    fb_cpu_features features = fb_cpu_detect();
    const char *best = fb_cpu_best_blas_core(&features);
    if (fb_blas_core_rank(loaded) >= fb_blas_core_rank(best)) {
        snprintf(runtime_note, sizeof runtime_note, "OpenBLAS kernel %s (as loaded%s%s)", loaded,
                 getenv("OPENBLAS_CORETYPE") ? ", OPENBLAS_CORETYPE=" : "",
                 getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "");
        return;
    }
    const char *disabled = getenv("FREQBIAS_NO_REEXEC");
    if (disabled && strcmp(disabled, "0") != 0) {
        snprintf(runtime_note, sizeof runtime_note,
                 "OpenBLAS kernel %s, weaker than %s (re-exec disabled by FREQBIAS_NO_REEXEC)",
                 loaded, best);
        return;
    }
    setenv("OPENBLAS_CORETYPE", best, 1);
    setenv("FREQBIAS_REEXEC_FROM", loaded, 1);
    fflush(stdout);
    fflush(stderr);
    execv("/proc/self/exe", argv);
    /* Only reached if the exec failed: keep running with the slow kernel. */
    unsetenv("OPENBLAS_CORETYPE");
    unsetenv("FREQBIAS_REEXEC_FROM");
    snprintf(runtime_note, sizeof runtime_note,
             "OpenBLAS kernel %s, weaker than %s (re-exec failed)", loaded, best);
}

const char *fb_runtime_note(void) { return runtime_note; }

/* OpenMP's thread count. (OpenBLAS's own threading is not used: the cpu
 * backend runs every GEMM serially from its own OpenMP loops, see cpu.c.
 * In OpenMP builds openblas_set_num_threads also sets OpenMP's count, so it
 * is called first.) */
void fb_set_threads(int threads)
{
    if (threads < 1)
        threads = 1;
    openblas_set_num_threads(1);
    omp_set_num_threads(threads);
}

int fb_get_threads(void) { return omp_get_max_threads(); }
