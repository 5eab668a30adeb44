/* report_stats.c — mean ± std, Student's t CDF and the one-sided Welch and
 * one-sample t-tests of the report's verdicts (see report_stats.h for the
 * formulas and why these tests).
 *
 * Incomplete beta: the continued fraction of Numerical Recipes §6.4,
 *   I_x(a, b) = x^a (1 − x)^b / (a B(a, b)) · 1 / (1 + d1/(1 + d2/(1 + …)))
 *   d_{2m+1} = −(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1))
 *   d_{2m}   = m (b − m) x / ((a + 2m − 1)(a + 2m)),
 * which converges fast for x < (a + 1)/(a + b + 2); above that the
 * symmetry I_x(a, b) = 1 − I_{1−x}(b, a) is used. Evaluated by the
 * modified Lentz method until a step changes the value by < 1e-15.
 */
#include "report_stats.h"

#include <math.h>
#include <stdio.h>

#include "core/portable_math.h"

stats_summary stats_of(const double *values, int count)
{
    stats_summary s = {0, NAN, NAN};
    double sum = 0.0;
    for (int i = 0; i < count; i++)
        if (isfinite(values[i])) {
            sum += values[i];
            s.n++;
        }
    if (s.n == 0)
        return s;
    s.mean = sum / s.n;
    if (s.n < 2)
        return s;
    double squares = 0.0;
    for (int i = 0; i < count; i++)
        if (isfinite(values[i]))
            squares += (values[i] - s.mean) * (values[i] - s.mean);
    s.std = sqrt(squares / (s.n - 1));
    return s;
}

void stats_format(char *out, size_t size, stats_summary s, const char *number_format)
{
    char mean[64], std[64];
    if (s.n == 0) {
        snprintf(out, size, "–");
        return;
    }
    snprintf(mean, sizeof mean, number_format, s.mean);
    if (s.n < 2) {
        snprintf(out, size, "%s", mean);
        return;
    }
    snprintf(std, sizeof std, number_format, s.std);
    snprintf(out, size, "%s ± %s", mean, std);
}

double stats_log_gamma(double x)
{
    static const double lanczos[9] = {0.99999999999980993,   676.5203681218851,     -1259.1392167224028,
                                      771.32342877765313,    -176.61502916214059,   12.507343278686905,
                                      -0.13857109526572012,  9.9843695780195716e-6, 1.5056327351493116e-7};
    if (!(x > 0.0))
        return NAN;
    if (x < 0.5) /* Γ(x) = Γ(x + 1) / x keeps the series in its accurate range */
        return stats_log_gamma(x + 1.0) - fb_log(x);
    double z = x - 1.0, sum = lanczos[0];
    for (int i = 1; i < 9; i++)
        sum += lanczos[i] / (z + i);
    double t = z + 7.5;
    return 0.91893853320467274178 /* ln √(2π) */ + (z + 0.5) * fb_log(t) - t + fb_log(sum);
}

/* The continued fraction of I_x(a, b) without its front factor. */
static double beta_fraction(double a, double b, double x)
{
    const double tiny = 1e-300;
    double qab = a + b, qap = a + 1.0, qam = a - 1.0;
    double c = 1.0, d = 1.0 - qab * x / qap;
    if (fabs(d) < tiny)
        d = tiny;
    d = 1.0 / d;
    double h = d;
    for (int m = 1; m <= 1000; m++) {
        int m2 = 2 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        d = fabs(d) < tiny ? 1.0 / tiny : 1.0 / d;
        c = 1.0 + aa / c;
        if (fabs(c) < tiny)
            c = tiny;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        d = fabs(d) < tiny ? 1.0 / tiny : 1.0 / d;
        c = 1.0 + aa / c;
        if (fabs(c) < tiny)
            c = tiny;
        double step = d * c;
        h *= step;
        if (fabs(step - 1.0) < 1e-15)
            break;
    }
    return h;
}

double stats_incomplete_beta(double a, double b, double x)
{
    if (!(a > 0.0) || !(b > 0.0) || !(x >= 0.0 && x <= 1.0))
        return NAN;
    if (x == 0.0 || x == 1.0)
        return x;
    double log_front = stats_log_gamma(a + b) - stats_log_gamma(a) - stats_log_gamma(b) + a * fb_log(x) +
                       b * fb_log(1.0 - x);
    double front = fb_exp(log_front);
    if (x < (a + 1.0) / (a + b + 2.0))
        return front * beta_fraction(a, b, x) / a;
    return 1.0 - front * beta_fraction(b, a, 1.0 - x) / b;
}

double stats_t_cdf(double t, double df)
{
    if (isnan(t) || !(df > 0.0))
        return NAN;
    if (isinf(t))
        return t > 0 ? 1.0 : 0.0;
    double tail = 0.5 * stats_incomplete_beta(0.5 * df, 0.5, df / (df + t * t)); /* P(T > |t|) */
    return t > 0 ? 1.0 - tail : tail;
}

/* Fills p and significant from t and df (se 0: decided by the gap's sign). */
static void decide(stats_test *r, double alpha)
{
    if (r->se > 0.0) {
        r->t = r->gap / r->se;
        r->p = 1.0 - stats_t_cdf(r->t, r->df);
    } else {
        r->t = r->gap > 0 ? INFINITY : r->gap < 0 ? -INFINITY : 0.0;
        r->p = r->gap > 0 ? 0.0 : 1.0;
    }
    r->significant = r->p < alpha;
}

stats_test stats_welch_greater(const double *a, int na, const double *b, int nb, double margin, double alpha)
{
    stats_test r = {0, 0, NAN, NAN, NAN, NAN, NAN};
    stats_summary sa = stats_of(a, na), sb = stats_of(b, nb);
    if (sa.n < 2 || sb.n < 2)
        return r;
    r.evaluable = 1;
    double va = sa.std * sa.std / sa.n, vb = sb.std * sb.std / sb.n;
    r.gap = sa.mean - sb.mean - margin;
    r.se = sqrt(va + vb);
    if (r.se > 0.0)
        r.df = (va + vb) * (va + vb) / (va * va / (sa.n - 1) + vb * vb / (sb.n - 1));
    decide(&r, alpha);
    return r;
}

stats_test stats_one_sample_greater(const double *a, int na, double threshold, double alpha)
{
    stats_test r = {0, 0, NAN, NAN, NAN, NAN, NAN};
    stats_summary s = stats_of(a, na);
    if (s.n < 2)
        return r;
    r.evaluable = 1;
    r.gap = s.mean - threshold;
    r.se = s.std / sqrt((double)s.n);
    r.df = s.n - 1;
    decide(&r, alpha);
    return r;
}

void stats_test_format(char *out, size_t size, const stats_test *r)
{
    if (!r->evaluable)
        snprintf(out, size, "not evaluable");
    else if (!(r->se > 0.0))
        snprintf(out, size, "zero spread, p = %g", r->p);
    else
        snprintf(out, size, "t = %.2f, df = %.1f, p = %.3g", r->t, r->df, r->p);
}
