/* portable_math.h — exp and log that give the same bits on every machine.
 *
 * Why: libm's exp and log are accurate to about one unit in the last place
 * (ulp), but which of the two neighbours they return depends on the library
 * and even on the CPU. glibc on x86-64 picks a different code path on CPUs
 * with FMA (an "ifunc"): measured on this project's test machine with the
 * FMA path switched off (GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX2,-FMA), exp
 * returned another double for 1,403 of 2 million arguments in [-60, 0] and
 * log for 53 of 2 million in [1, 21] (tools/libm_probe.c says how to
 * repeat it; fb_exp/fb_log differed for none). cpu-ref promises the same bits
 * on every machine, so its softmax cross-entropy, the CDES target and the
 * CDES log-magnitude use these functions instead: only +, −, ×, ÷ (each correctly rounded by IEEE
 * 754, and compiled without FMA contraction: -ffp-contract=off, nvcc
 * --fmad=false) and the exact scalings frexp/ldexp. Same input, same bits,
 * on any IEEE machine, host or GPU (FB_HOST_DEVICE).
 *
 * fb_exp(x)   e^x. x = k·ln2 + r with k = round(x/ln2) and |r| ≤ ln2/2
 *             (Cody–Waite: ln2 split in a high part with 21 trailing zero
 *             bits, so hi = x − k·ln2_hi is exact, and lo = k·ln2_lo), the
 *             Taylor series s = e^r − 1 − r = r²·(1/2! + r/3! + … + r¹¹/13!)
 *             (truncation < 4e-18 relative) by Horner, then
 *             e^r = 1 + (hi − (lo − s)) — the small terms are added first,
 *             so the result carries about 0.75 ulp of rounding error —
 *             then ×2^k with ldexp.
 * fb_log(x)   ln x. x = 2^e·m with m in [√½, √2) (frexp), f = m − 1 (exact),
 *             s = f/(2 + f), ln(1+f) = 2s + s·R(s²) where
 *             R(z) = Σ_{j=1..11} 2 z^j / (2j+1) is the atanh series
 *             (|s| ≤ 0.172: truncation < 1e-19), arranged as in fdlibm:
 *             e·ln2_hi − ((f²/2 − (s·(f²/2 + R) + e·ln2_lo)) − f).
 * fb_logf(x)  (float)fb_log(x).
 *
 * Accuracy against long double expl/logl is measured by tests/test_math.c
 * (max error in ulps, and how often the float rounding differs).
 */
#ifndef FREQBIAS_PORTABLE_MATH_H
#define FREQBIAS_PORTABLE_MATH_H

#include <math.h>

#include "core/host_device.h"

FB_HOST_DEVICE static inline double fb_exp(double x)
{
    const double inv_ln2 = 1.44269504088896338700e+00;
    const double ln2_hi = 6.93147180369123816490e-01; /* ln 2, its low 21 bits zero */
    const double ln2_lo = 1.90821492927058770002e-10; /* ln 2 − ln2_hi (to 1e-26)   */
    if (x != x)
        return x;
    if (x > 709.782712893384)
        return INFINITY;
    if (x < -745.1332191019412)
        return 0.0;
    double kd = x * inv_ln2;
    int k = (int)(kd < 0 ? kd - 0.5 : kd + 0.5);
    double hi = x - k * ln2_hi, lo = k * ln2_lo, r = hi - lo;
    /* q = 1/2! + r/3! + … + r¹¹/13!, Horner from the highest term */
    double p = 1.0 / 6227020800.0;
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    double s = r * r * p;
    p = 1.0 + (hi - (lo - s));
    /* two steps keep 2^k representable when the result is subnormal */
    if (k < -1000)
        return ldexp(ldexp(p, k + 1000), -1000);
    return ldexp(p, k);
}

FB_HOST_DEVICE static inline double fb_log(double x)
{
    const double ln2_hi = 6.93147180369123816490e-01;
    const double ln2_lo = 1.90821492927058770002e-10;
    const double sqrt_half = 0.70710678118654752440;
    if (x != x || x == INFINITY)
        return x;
    if (x < 0)
        return NAN;
    if (x == 0)
        return -INFINITY;
    int e;
    double m = frexp(x, &e); /* x = m·2^e, m in [0.5, 1) */
    if (m < sqrt_half) {
        m *= 2.0;
        e -= 1;
    }
    double f = m - 1.0; /* exact: m in [√½, √2) */
    double s = f / (2.0 + f), z = s * s;
    /* R(z) = Σ_{j=1..11} 2 z^j / (2j+1), Horner from j = 11 */
    double R = 2.0 / 23.0;
    R = R * z + 2.0 / 21.0;
    R = R * z + 2.0 / 19.0;
    R = R * z + 2.0 / 17.0;
    R = R * z + 2.0 / 15.0;
    R = R * z + 2.0 / 13.0;
    R = R * z + 2.0 / 11.0;
    R = R * z + 2.0 / 9.0;
    R = R * z + 2.0 / 7.0;
    R = R * z + 2.0 / 5.0;
    R = R * z + 2.0 / 3.0;
    R *= z;
    double half_f_squared = 0.5 * f * f, ed = (double)e;
    return ed * ln2_hi - ((half_f_squared - (s * (half_f_squared + R) + ed * ln2_lo)) - f);
}

FB_HOST_DEVICE static inline float fb_logf(float x) { return (float)fb_log((double)x); }

#endif
