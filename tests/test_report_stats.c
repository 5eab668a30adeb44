/* test_report_stats.c — the statistics of the report's verdicts
 * (src/report/report_stats.c) against values with a stated source:
 *
 *  - ln Γ against libm's lgamma (x from 0.1 to 60) and Γ(½) = √π;
 *  - I_x(a, b) against its closed forms I_x(a, 1) = x^a and
 *    I_x(1, b) = 1 − (1 − x)^b, and the symmetry I_x(a,b) = 1 − I_{1−x}(b,a);
 *  - the t CDF against the closed forms for 1 and 2 degrees of freedom,
 *    F_1(t) = ½ + atan(t)/π and F_2(t) = ½ + t / (2 √(2 + t²)), and against
 *    the critical values of a printed t table (quantiles 0.95, 0.975, 0.995,
 *    six decimals: the CDF at them must give the level to 1e-6);
 *  - Welch and one-sample tests against SciPy 1.10.1
 *    (scipy.stats.ttest_ind(a, b, equal_var=False, alternative='greater'),
 *    scipy.stats.ttest_1samp(a, 0.5, alternative='greater'); values
 *    printed by /usr/bin/python3 on this machine, copied below), and the
 *    single-seed and zero-spread cases.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report/report_stats.h"

static const double PI = 3.14159265358979323846;

/* Prints one comparison line and returns whether |got − want| ≤ tol. */
static int close_to(const char *what, double got, double want, double tol)
{
    double err = fabs(got - want);
    int ok = err <= tol;
    printf("[%s] got %.15g want %.15g abs err %.3g (tol %.1g) %s\n", what, got, want, err, tol, ok ? "ok" : "FAIL");
    return ok;
}

static void test_log_gamma(void **state)
{
    (void)state;
    double worst = 0.0, worst_x = 0.0;
    for (double x = 0.1; x < 60.0; x += 0.37) {
        double err = fabs(stats_log_gamma(x) - lgamma(x)) / fmax(1.0, fabs(lgamma(x)));
        if (err > worst) {
            worst = err;
            worst_x = x;
        }
    }
    printf("[log gamma vs libm lgamma, x = 0.1..60] max rel err %.3g at x = %g\n", worst, worst_x);
    assert_true(worst < 1e-13);
    assert_true(close_to("ln Gamma(1/2) = ln sqrt(pi)", stats_log_gamma(0.5), 0.5 * log(PI), 1e-14));
    assert_true(close_to("ln Gamma(5) = ln 24", stats_log_gamma(5.0), log(24.0), 1e-13));
}

static void test_incomplete_beta(void **state)
{
    (void)state;
    static const double xs[] = {0.01, 0.2, 0.5, 0.77, 0.99};
    static const double as[] = {0.5, 1.5, 3.0, 12.5};
    int ok = 1;
    for (size_t i = 0; i < sizeof xs / sizeof *xs; i++)
        for (size_t j = 0; j < sizeof as / sizeof *as; j++) {
            double x = xs[i], a = as[j];
            ok &= close_to("I_x(a,1) = x^a", stats_incomplete_beta(a, 1.0, x), pow(x, a), 1e-13);
            ok &= close_to("I_x(1,b) = 1-(1-x)^b", stats_incomplete_beta(1.0, a, x), 1.0 - pow(1.0 - x, a), 1e-13);
            ok &= close_to("I_x(a,b) + I_1-x(b,a) = 1",
                           stats_incomplete_beta(a, 2.5, x) + stats_incomplete_beta(2.5, a, 1.0 - x), 1.0, 1e-13);
        }
    ok &= close_to("I_0.3(2.5,4) (SciPy beta.cdf)", stats_incomplete_beta(2.5, 4.0, 0.3), 0.3521975859067672, 1e-13);
    assert_true(ok);
    assert_true(isnan(stats_incomplete_beta(-1.0, 1.0, 0.5)));
    assert_true(isnan(stats_incomplete_beta(1.0, 1.0, 1.5)));
}

static void test_t_cdf(void **state)
{
    (void)state;
    int ok = 1;
    for (double t = -30.0; t <= 30.0; t += 0.73) {
        ok &= close_to("t CDF df=1 (Cauchy)", stats_t_cdf(t, 1.0), 0.5 + atan(t) / PI, 1e-13);
        ok &= close_to("t CDF df=2", stats_t_cdf(t, 2.0), 0.5 + t / (2.0 * sqrt(2.0 + t * t)), 1e-13);
    }
    /* a t table's critical values: P(T <= t) = level */
    static const struct {
        double df, t, level;
    } table[] = {{1, 6.313752, 0.95},  {2, 2.919986, 0.95},  {3, 2.353363, 0.95},  {5, 2.015048, 0.95},
                 {10, 1.812461, 0.95}, {30, 1.697261, 0.95}, {1, 12.706205, 0.975}, {4, 2.776445, 0.975},
                 {10, 2.228139, 0.975}, {3, 5.840909, 0.995}, {20, 2.845340, 0.995}};
    for (size_t i = 0; i < sizeof table / sizeof *table; i++) {
        char what[64];
        snprintf(what, sizeof what, "t table df=%g level %g", table[i].df, table[i].level);
        ok &= close_to(what, stats_t_cdf(table[i].t, table[i].df), table[i].level, 1e-6);
        ok &= close_to("symmetry", stats_t_cdf(-table[i].t, table[i].df), 1.0 - table[i].level, 1e-6);
    }
    /* non-integer degrees of freedom, as Welch gives (SciPy t.cdf) */
    ok &= close_to("t CDF(0.7, df 7.3) SciPy", stats_t_cdf(0.7, 7.3), 0.7471914299068707, 1e-12);
    ok &= close_to("t CDF(-1.3, df 2.6) SciPy", stats_t_cdf(-1.3, 2.6), 0.14842568924622565, 1e-12);
    assert_true(ok);
}

static void test_tests(void **state)
{
    (void)state;
    const double a[3] = {0.71, 0.74, 0.72}, b[3] = {0.60, 0.66, 0.61};
    stats_test w = stats_welch_greater(a, 3, b, 3, 0.0, 0.05);
    int ok = w.evaluable && w.significant;
    ok &= close_to("Welch t (SciPy ttest_ind)", w.t, 4.866642633922866, 1e-12);
    ok &= close_to("Welch df (Welch-Satterthwaite)", w.df, 2.8594059405940597, 1e-12);
    ok &= close_to("Welch one-sided p (SciPy)", w.p, 0.009254628340339674, 1e-12);
    const double c[4] = {0.91, 0.95, 0.97, 0.93};
    stats_test o = stats_one_sample_greater(c, 4, 0.5, 0.05);
    ok &= o.evaluable && o.significant;
    ok &= close_to("one-sample t (SciPy ttest_1samp)", o.t, 34.082253446625316, 1e-10);
    ok &= close_to("one-sample p (SciPy)", o.p, 2.7765885431614695e-05, 1e-12);
    /* a margin shifts the hypothesis: a − b > 0.2 does not hold */
    stats_test m = stats_welch_greater(a, 3, b, 3, 0.2, 0.05);
    ok &= m.evaluable && !m.significant && m.p > 0.5;
    printf("[Welch with margin 0.2] gap %.3f p %.3f (not significant)\n", m.gap, m.p);
    /* one seed: no error bar, nothing to evaluate */
    stats_test single = stats_welch_greater(a, 1, b, 1, 0.0, 0.05);
    ok &= !single.evaluable && !single.significant;
    /* every value equal: decided by the sign of the gap */
    const double same_hi[2] = {3, 3}, same_lo[2] = {1, 1};
    stats_test flat = stats_welch_greater(same_hi, 2, same_lo, 2, 0.0, 0.05);
    ok &= flat.evaluable && flat.significant && flat.p == 0.0;
    stats_test flat_rev = stats_welch_greater(same_lo, 2, same_hi, 2, 0.0, 0.05);
    ok &= flat_rev.evaluable && !flat_rev.significant && flat_rev.p == 1.0;
    printf("[single seed / zero spread] evaluable %d / significant %d, reversed %d\n", single.evaluable,
           flat.significant, flat_rev.significant);
    assert_true(ok);
}

static void test_summary(void **state)
{
    (void)state;
    const double v[4] = {1.0, NAN, 2.0, 3.0};
    stats_summary s = stats_of(v, 4);
    assert_int_equal(s.n, 3);
    assert_true(close_to("mean skips NaN", s.mean, 2.0, 0.0));
    assert_true(close_to("sample std (n - 1)", s.std, 1.0, 1e-15));
    char text[64];
    stats_format(text, sizeof text, s, "%.3f");
    printf("[format] '%s'\n", text);
    assert_string_equal(text, "2.000 ± 1.000");
    stats_format(text, sizeof text, stats_of(v, 1), "%.3f");
    assert_string_equal(text, "1.000");
    stats_format(text, sizeof text, stats_of(v + 1, 1), "%.3f");
    assert_string_equal(text, "–");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_gamma), cmocka_unit_test(test_incomplete_beta), cmocka_unit_test(test_t_cdf),
        cmocka_unit_test(test_tests),     cmocka_unit_test(test_summary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
