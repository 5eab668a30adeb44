/* libm_probe — does this machine's libm give the same bits as another's?
 *
 *   libm_probe write OUT.bin          evaluate the functions below on 2
 *                                     million fixed arguments, save results
 *   libm_probe compare A.bin B.bin    per function: how many results differ
 *
 * Two runs to compare: two machines (copy the file), an x86-64 and an
 * aarch64 build (the second under qemu-aarch64), or glibc's FMA and non-FMA
 * code paths on one x86-64 machine:
 *   build/tools/libm_probe write fma.bin
 *   GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX2,-FMA build/tools/libm_probe write nofma.bin
 *   build/tools/libm_probe compare fma.bin nofma.bin
 * (measured on the project machine, glibc 2.36: exp differed for 1,403 and
 * log for 53 of the 2 million arguments; logf, hypotf and log1pf for none.
 * Between x86-64 and aarch64 — Debian 12, glibc 2.36, the aarch64 build run
 * under qemu-aarch64 — only log1pf differed: 146 of 2 million.) fb_exp,
 * fb_log and fb_logf (core/portable_math.h), which cpu-ref uses instead of
 * libm, are evaluated too: they differed in none of these comparisons, and
 * `compare` exits 1 if they ever do.
 *
 * Arguments come from the project's counter RNG (seed 2022, stream 0), in
 * the ranges the callers see: exp of x in [-60, 0] (softmax), log of x in
 * [1, 21] (a softmax sum), logf of any positive float and of 1 + m with m in
 * [0, 2000) (the CDES log-magnitude), hypotf of (a, b) in [-8192, 8192)²,
 * log1pf of m (the spectrum's log magnitude).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/portable_math.h"
#include "freqbias/rng.h"

#define ARGUMENTS 2000000L /* 144 MB of results */
#define FUNCTIONS 9

static const char *const names[FUNCTIONS] = {"exp [-60,0]", "log [1,21]", "logf (any float)", "logf (1+m)",
                                             "hypotf",      "log1pf",     "fb_exp [-60,0]",   "fb_log [1,21]",
                                             "fb_logf (1+m)"};

/* the FUNCTIONS results for argument i, each as 64 bits (floats widened exactly) */
static void evaluate(long i, double out[FUNCTIONS])
{
    uint32_t w[4];
    fb_rng_words(2022, 0, 0, (uint64_t)i, w);
    double u = (double)(((uint64_t)w[0] << 21) ^ w[1]) / 9007199254740992.0; /* [0, 1), 53 bits */
    double x = -60.0 * u, y = 1.0 + 20.0 * u;
    uint32_t bits = w[2] & 0x7fffffffu;
    float any;
    memcpy(&any, &bits, sizeof any);
    if (!isfinite(any) || any <= 0.0f)
        any = 1.0f;
    float m = (float)(w[3] % 2000000u) / 1000.0f;
    float a = (float)((int32_t)(w[2] >> 8) - 8388608) / 1024.0f, b = (float)((int32_t)(w[3] >> 8) - 8388608) / 1024.0f;
    out[0] = exp(x);
    out[1] = log(y);
    out[2] = logf(any);
    out[3] = logf(1.0f + m);
    out[4] = hypotf(a, b);
    out[5] = log1pf(m);
    out[6] = fb_exp(x);
    out[7] = fb_log(y);
    out[8] = fb_logf(1.0f + m);
}

static int write_results(const char *path)
{
    FILE *file = fopen(path, "wb");
    if (!file) {
        fprintf(stderr, "libm_probe: cannot create %s\n", path);
        return 2;
    }
    for (long i = 0; i < ARGUMENTS; i++) {
        double out[FUNCTIONS];
        evaluate(i, out);
        if (fwrite(out, sizeof out, 1, file) != 1)
            break;
    }
    int failed = ferror(file);
    if (fclose(file) != 0 || failed) {
        fprintf(stderr, "libm_probe: cannot write %s\n", path);
        return 2;
    }
    return 0;
}

static int compare_results(const char *path_a, const char *path_b)
{
    FILE *a = fopen(path_a, "rb"), *b = fopen(path_b, "rb");
    if (!a || !b) {
        fprintf(stderr, "libm_probe: cannot open %s\n", !a ? path_a : path_b);
        return 2;
    }
    long differ[FUNCTIONS] = {0}, count = 0;
    double ra[FUNCTIONS], rb[FUNCTIONS];
    while (fread(ra, sizeof ra, 1, a) == 1 && fread(rb, sizeof rb, 1, b) == 1) {
        for (int f = 0; f < FUNCTIONS; f++)
            differ[f] += memcmp(&ra[f], &rb[f], sizeof ra[f]) != 0;
        count++;
    }
    fclose(a);
    fclose(b);
    if (count != ARGUMENTS) {
        fprintf(stderr, "libm_probe: %s or %s is truncated (%ld of %ld arguments)\n", path_a, path_b, count,
                ARGUMENTS);
        return 2;
    }
    int own_differ = 0;
    for (int f = 0; f < FUNCTIONS; f++) {
        printf("%-18s %9ld of %ld results differ\n", names[f], differ[f], count);
        own_differ |= f >= 6 && differ[f] != 0;
    }
    if (own_differ)
        printf("libm_probe: fb_exp/fb_log/fb_logf differ: portable_math.h is not portable here\n");
    return own_differ ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "write") == 0)
        return write_results(argv[2]);
    if (argc == 4 && strcmp(argv[1], "compare") == 0)
        return compare_results(argv[2], argv[3]);
    fprintf(stderr, "usage: libm_probe write OUT.bin | libm_probe compare A.bin B.bin\n");
    return 1;
}
