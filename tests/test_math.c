/* test_math.c — fb_exp, fb_log and fb_logf (src/core/portable_math.h), the
 * libm-independent functions that cpu-ref's softmax cross-entropy and the
 * CDES loss use, against long double expl/logl (64-bit mantissa on x86-64,
 * 113-bit on aarch64: a reference at least 2^11 times finer than a double).
 *
 * Printed per range: the largest error in units in the last place of the
 * double result (ulps), how many float roundings differ from the float
 * rounding of the reference (what the callers keep), and — for information
 * only — how many results differ from this machine's libm.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/portable_math.h"
#include "freqbias/runtime.h"
#include "testutil.h"

#define SAMPLES 400000

/* |got − want| in ulps of the double nearest to want */
static double ulps(double got, long double want)
{
    int exponent;
    frexpl(want, &exponent);
    long double ulp = ldexpl(1.0L, (exponent - 53 > -1074 ? exponent - 53 : -1074));
    return (double)(fabsl((long double)got - want) / ulp);
}

typedef struct accuracy {
    double max_ulps, worst_input;
    long float_mismatches, libm_differs;
} accuracy;

static accuracy measure(int use_exp, const double *inputs, size_t count)
{
    accuracy a = {0, 0, 0, 0};
    for (size_t i = 0; i < count; i++) {
        double x = inputs[i];
        double got = use_exp ? fb_exp(x) : fb_log(x);
        long double want = use_exp ? expl((long double)x) : logl((long double)x);
        double error = ulps(got, want);
        if (error > a.max_ulps) {
            a.max_ulps = error;
            a.worst_input = x;
        }
        a.float_mismatches += (float)got != (float)want;
        a.libm_differs += got != (use_exp ? exp(x) : log(x));
    }
    return a;
}

static void check_range(const char *label, int use_exp, const double *inputs, size_t count,
                        double max_ulps)
{
    accuracy a = measure(use_exp, inputs, count);
    int ok = a.max_ulps <= max_ulps && a.float_mismatches == 0;
    printf("[%s] n=%zu max_err=%.3f ulp (at %.17g) float roundings differing from the reference: %ld; "
           "differs from this libm: %ld %s\n",
           label, count, a.max_ulps, a.worst_input, a.float_mismatches, a.libm_differs, ok ? "ok" : "FAIL");
    assert_true(ok);
}

/* count doubles uniform in [lo, hi) */
static double *uniform(size_t count, uint64_t seed, double lo, double hi)
{
    double *x = malloc(count * sizeof *x);
    assert_non_null(x);
    fill_uniform_f64(x, count, seed, lo, hi);
    return x;
}

static void test_exp_accuracy(void **state)
{
    (void)state;
    /* softmax arguments z − max are ≤ 0; the CDES target's are −z²/2 */
    double *x = uniform(SAMPLES, 1, -60.0, 0.0);
    check_range("fb_exp [-60, 0]", 1, x, SAMPLES, 1.0);
    free(x);
    x = uniform(SAMPLES, 2, -1e-3, 1e-3);
    check_range("fb_exp [-1e-3, 1e-3]", 1, x, SAMPLES, 1.0);
    free(x);
    x = uniform(SAMPLES, 3, -708.0, 709.0);
    check_range("fb_exp [-708, 709]", 1, x, SAMPLES, 1.0);
    free(x);
}

static void test_log_accuracy(void **state)
{
    (void)state;
    double *x = uniform(SAMPLES, 4, 0.5, 2.0);
    check_range("fb_log [0.5, 2]", 0, x, SAMPLES, 1.0);
    free(x);
    x = uniform(SAMPLES, 5, 1.0, 21.0); /* sums of softmax terms: 1 ≤ Σ ≤ classes */
    check_range("fb_log [1, 21]", 0, x, SAMPLES, 1.0);
    free(x);
    /* m·2^e over the whole exponent range, subnormals included */
    double *e = uniform(SAMPLES, 6, -1074.0, 1024.0);
    x = uniform(SAMPLES, 7, 1.0, 2.0);
    for (size_t i = 0; i < SAMPLES; i++)
        x[i] = ldexp(x[i], (int)floor(e[i]) - 1);
    check_range("fb_log m*2^e, e in [-1075, 1023]", 0, x, SAMPLES, 1.0);
    free(x);
    free(e);
}

/* fb_logf on float arguments: the callers keep the float, so count how
 * often it is not the float nearest to ln x. Rounding a double that is
 * within an ulp of ln x to float can miss only when ln x lies within about
 * 2^-29 relative of a midpoint between two floats: allowed once per
 * million arguments (measured: 1 in 22 million). */
static void test_logf_rounding(void **state)
{
    (void)state;
    long mismatches = 0, libm_differs = 0, count = 0;
    /* every 97th positive finite float: 22 million, all exponents */
    for (uint32_t bits = 1; bits < 0x7f800000u; bits += 97, count++) {
        float x;
        memcpy(&x, &bits, sizeof x);
        float got = fb_logf(x);
        mismatches += got != (float)logl((long double)x);
        libm_differs += got != logf(x);
    }
    int ok = mismatches <= count / 1000000;
    printf("[fb_logf] %ld floats (every 97th bit pattern): %ld not correctly rounded; differs from this "
           "libm's logf: %ld %s\n", count, mismatches, libm_differs, ok ? "ok" : "FAIL");
    assert_true(ok);
}

static void test_special_values(void **state)
{
    (void)state;
    struct { const char *what; double got, want; } cases[] = {
        {"exp(0)", fb_exp(0.0), 1.0},
        {"exp(-0)", fb_exp(-0.0), 1.0},
        {"exp(-inf)", fb_exp(-INFINITY), 0.0},
        {"exp(inf)", fb_exp(INFINITY), INFINITY},
        {"exp(710)", fb_exp(710.0), INFINITY},
        {"exp(-746)", fb_exp(-746.0), 0.0},
        {"exp(-745)", fb_exp(-745.0), 4.9406564584124654e-324},
        {"log(1)", fb_log(1.0), 0.0},
        {"log(2)", fb_log(2.0), 0.6931471805599453},
        {"log(0)", fb_log(0.0), -INFINITY},
        {"log(inf)", fb_log(INFINITY), INFINITY},
        {"log(min subnormal)", fb_log(4.9406564584124654e-324), -744.4400719213812},
    };
    int ok = 1;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int same = cases[i].got == cases[i].want;
        printf("[special] %-18s = %.17g (want %.17g) %s\n", cases[i].what, cases[i].got, cases[i].want,
               same ? "ok" : "FAIL");
        ok &= same;
    }
    int nans = isnan(fb_exp(NAN)) && isnan(fb_log(NAN)) && isnan(fb_log(-1.0));
    printf("[special] exp(nan), log(nan), log(-1) are NaN: %s\n", nans ? "ok" : "FAIL");
    assert_true(ok && nans);
}

int main(int argc, char **argv)
{
    fb_runtime_init(argc, argv);
    const struct CMUnitTest math_tests[] = {
        cmocka_unit_test(test_exp_accuracy),
        cmocka_unit_test(test_log_accuracy),
        cmocka_unit_test(test_logf_rounding),
        cmocka_unit_test(test_special_values),
    };
    return cmocka_run_group_tests(math_tests, NULL, NULL);
}
