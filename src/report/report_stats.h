/* report_stats.h — the statistics behind the report's error bars and
 * verdicts: mean and sample standard deviation over seeds, Student's t
 * distribution, and the one-sided tests the five findings use.
 *
 * Why a t-test. The report trains each classifier K times (seeds), so a
 * claim such as "f_scr beats f_baseline on X_h" is a claim about two small
 * groups of numbers. The one-sided Welch t-test asks whether the gap of the
 * two means exceeds what the seed-to-seed spread explains, without assuming
 * the two groups spread alike (f_wcr and f_baseline need not), and with the
 * small-sample t distribution, not the normal one: with K = 3, "gap > 2
 * standard errors" would accept at a one-sided level of about 7–9 %, the
 * t-test at exactly the stated 5 %.
 *
 *   mean ± s        s the sample standard deviation (divisor n − 1), NaN
 *                   for n < 2
 *   Welch           t = (mean_a − mean_b − margin) / √(s_a²/n_a + s_b²/n_b),
 *                   df by Welch–Satterthwaite, p = P(T_df ≥ t)
 *   one-sample      t = (mean − threshold) / (s / √n), df = n − 1
 *
 * Both need n ≥ 2 in every group (else `evaluable` is 0: a single seed has
 * no error bar). When every value of both groups is the same (standard
 * error 0) the test is decided by the sign of the gap (p = 0 or 1).
 *
 * The t CDF goes through the regularized incomplete beta function,
 * P(T ≤ t) = 1 − ½ I_x(df/2, ½) for t > 0 with x = df / (df + t²),
 * evaluated by its continued fraction (modified Lentz), with log Γ from a
 * Lanczos series and exp/log from core/portable_math.h: only +, −, ×, ÷ and
 * those, so the same inputs give the same bits on every machine.
 * tests/test_report_stats.c checks it against closed forms and t tables.
 */
#ifndef FREQBIAS_REPORT_STATS_H
#define FREQBIAS_REPORT_STATS_H

#include <stddef.h>

typedef struct stats_summary {
    int n;            /* how many finite values                 */
    double mean, std; /* std: sample std (n − 1); NaN when n < 2 */
} stats_summary;

/* Mean and sample std of the finite values of values[count] (NaN skipped). */
stats_summary stats_of(const double *values, int count);

/* "0.757 ± 0.012" with number_format for both numbers; just the mean when
 * n < 2; "–" when n = 0. */
void stats_format(char *out, size_t size, stats_summary summary, const char *number_format);

/* ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; relative error < 1e-14). */
double stats_log_gamma(double x);
/* The regularized incomplete beta function I_x(a, b), a, b > 0, x in [0, 1]. */
double stats_incomplete_beta(double a, double b, double x);
/* P(T ≤ t) for Student's t with df > 0 degrees of freedom (df may be real). */
double stats_t_cdf(double t, double df);

typedef struct stats_test {
    int evaluable;    /* every group has n ≥ 2                          */
    int significant;  /* p < alpha                                      */
    double gap;       /* mean_a − mean_b − margin (one-sample: mean − threshold) */
    double se, t, df, p;
} stats_test;

/* H1: mean(a) − mean(b) > margin, one-sided Welch t-test at level alpha. */
stats_test stats_welch_greater(const double *a, int na, const double *b, int nb, double margin, double alpha);
/* H1: mean(a) > threshold, one-sided one-sample t-test at level alpha. */
stats_test stats_one_sample_greater(const double *a, int na, double threshold, double alpha);

/* "t = 3.21, df = 3.8, p = 0.017" (or "zero spread, p = 0"). */
void stats_test_format(char *out, size_t size, const stats_test *test);

#endif
