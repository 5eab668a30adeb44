/* report_findings.c — the five summary lines, computed from the measured
 * numbers only (criteria in report_findings.h). A verdict says whether
 * this run shows the paper's qualitative claim beyond the seed-to-seed
 * spread, not whether the numbers match the paper's.
 *
 * Every line names its numbers as mean ± sample std over the seeds that
 * finished (K = n), then the verdict, then the tests' t, df and p.
 */
#include "report_findings.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report_stats.h"

typedef struct number {
    double values[REPORT_MAX_SEEDS];
    stats_summary s;
    char text[64];
} number;

/* One sweep number of every seed of a model, summarised and formatted. */
static void sweep_number(number *n, const report_results *res, int model, result_kind what, const char *freq,
                         double r, const char *format)
{
    results_values(res, model, what, freq, r, n->values);
    n->s = stats_of(n->values, res->seeds);
    stats_format(n->text, sizeof n->text, n->s, format);
}

static void not_measured(report_finding *f, const char *what, const char *stages)
{
    snprintf(f->line, sizeof f->line, "%s: NOT MEASURED (not every stage of %s finished)", what, stages);
    f->measured = 0;
    f->reproduced = 0;
}

/* The verdict of tests[count] (all must be significant); with one seed
 * they cannot be evaluated, and the verdict says whether the point
 * estimates are at least ordered as claimed. */
static void verdict(report_finding *f, const stats_test *tests, int count, int ordered, char *out, size_t size)
{
    int evaluable = 1, significant = 1;
    for (int i = 0; i < count; i++) {
        evaluable &= tests[i].evaluable;
        significant &= tests[i].significant;
    }
    f->measured = 1;
    f->reproduced = evaluable && significant;
    if (!evaluable) {
        snprintf(out, size, "CANNOT EVALUATE (single seed: no error bar; the point estimates are %sordered as "
                 "claimed)", ordered ? "" : "NOT ");
        return;
    }
    size_t used = (size_t)snprintf(out, size, "%s (", f->reproduced ? "REPRODUCED" : "NOT REPRODUCED");
    for (int i = 0; i < count && used < size; i++) {
        char stat[96];
        stats_test_format(stat, sizeof stat, &tests[i]);
        used += (size_t)snprintf(out + used, size - used, "%s%s", i ? "; " : "", stat);
    }
    if (used < size)
        snprintf(out + used, size - used, ")");
}

static void low_vs_high(const report_results *res, report_finding *f)
{
    snprintf(f->criterion, sizeof f->criterion,
             "baseline top-1 on X_l exceeds X_h by more than 0.10 at r = 12 and at r = 16: one-sided Welch "
             "t-tests (margin 0.10) over the seeds, both at 5 %%");
    number l12, h12, l16, h16, clean;
    sweep_number(&l12, res, MODEL_BASELINE, RESULT_TOP1, "low", 12, "%.3f");
    sweep_number(&h12, res, MODEL_BASELINE, RESULT_TOP1, "high", 12, "%.3f");
    sweep_number(&l16, res, MODEL_BASELINE, RESULT_TOP1, "low", 16, "%.3f");
    sweep_number(&h16, res, MODEL_BASELINE, RESULT_TOP1, "high", 16, "%.3f");
    sweep_number(&clean, res, MODEL_BASELINE, RESULT_TOP1, "clean", 0, "%.3f");
    if (!l12.s.n || !h12.s.n || !l16.s.n || !h16.s.n) {
        not_measured(f, "Low >> high (E1)", "baseline-sweep");
        return;
    }
    stats_test tests[2] = {
        stats_welch_greater(l12.values, res->seeds, h12.values, res->seeds, 0.10, REPORT_ALPHA),
        stats_welch_greater(l16.values, res->seeds, h16.values, res->seeds, 0.10, REPORT_ALPHA)};
    int ordered = l12.s.mean - h12.s.mean > 0.10 && l16.s.mean - h16.s.mean > 0.10;
    char v[320];
    verdict(f, tests, 2, ordered, v, sizeof v);
    snprintf(f->line, sizeof f->line,
             "Low >> high (E1): baseline top-1 at r=12 low %s vs high %s, at r=16 %s vs %s (clean %s; K = %d): %s",
             l12.text, h12.text, l16.text, h16.text, clean.text, l12.s.n, v);
}

static void discrimination(const report_results *res, report_finding *f)
{
    snprintf(f->criterion, sizeof f->criterion,
             "the per-seed Pearson correlation of top-1 and inter-class variance over the sweep's sets exceeds "
             "0.5 (one-sided one-sample t-test), and inter-class variance on X_l > X_h at r = 12 (one-sided "
             "Welch t-test), both at 5 %%");
    number pearson, l12, h12;
    sweep_number(&pearson, res, MODEL_BASELINE, RESULT_PEARSON, "", 0, "%.2f");
    sweep_number(&l12, res, MODEL_BASELINE, RESULT_INTER, "low", 12, "%.3g");
    sweep_number(&h12, res, MODEL_BASELINE, RESULT_INTER, "high", 12, "%.3g");
    if (!pearson.s.n || !l12.s.n || !h12.s.n) {
        not_measured(f, "Feature discrimination (E1)", "baseline-sweep");
        return;
    }
    int sets = 0;
    for (int k = 0; k < res->seeds; k++)
        if (res->m[MODEL_BASELINE][k].have_sweep)
            sets = res->m[MODEL_BASELINE][k].sweep.count;
    stats_test tests[2] = {
        stats_one_sample_greater(pearson.values, res->seeds, 0.5, REPORT_ALPHA),
        stats_welch_greater(l12.values, res->seeds, h12.values, res->seeds, 0.0, REPORT_ALPHA)};
    char v[320];
    verdict(f, tests, 2, pearson.s.mean > 0.5 && l12.s.mean > h12.s.mean, v, sizeof v);
    snprintf(f->line, sizeof f->line,
             "Feature discrimination follows accuracy (E1): Pearson(top-1, inter-class variance) %s over %d sets; "
             "inter-class variance at r=12 low %s vs high %s (K = %d): %s",
             pearson.text, sets, l12.text, h12.text, pearson.s.n, v);
}

static void learning_priority(const report_results *res, report_finding *f)
{
    snprintf(f->criterion, sizeof f->criterion,
             "in every seed the peak band of the baseline's input-gradient spectrum after the first epoch is "
             "<= 9 (low/mid), and the move from it to the last epoch's peak band is > 0 (one-sided one-sample "
             "t-test at 5 %%)");
    double first[REPORT_MAX_SEEDS], last[REPORT_MAX_SEEDS], moves[REPORT_MAX_SEEDS], high[REPORT_MAX_SEEDS];
    int n = 0, max_first = 0, epochs = 0, bands = 0;
    for (int k = 0; k < res->seeds; k++) {
        const model_results *m = &res->m[MODEL_BASELINE][k];
        first[k] = last[k] = moves[k] = high[k] = NAN;
        if (!m->have_gradspec || m->gradspec.rows < 3)
            continue;
        const gradspec_result *g = &m->gradspec;
        int peak_first = gradspec_peak_band(g, 1), peak_last = gradspec_peak_band(g, g->rows - 1); /* row 0: before training */
        first[k] = peak_first;
        last[k] = peak_last;
        moves[k] = peak_last - peak_first;
        high[k] = 0.0;
        for (int b = g->bands - 3; b < g->bands; b++)
            high[k] += gradspec_scaled(g, g->rows - 1, b) / 3.0;
        max_first = n == 0 || peak_first > max_first ? peak_first : max_first;
        epochs = g->rows - 1;
        bands = g->bands;
        n++;
    }
    if (!n) {
        not_measured(f, "Learning priority (E2)", "baseline-train");
        return;
    }
    char t_first[64], t_last[64], t_high[64];
    stats_format(t_first, sizeof t_first, stats_of(first, res->seeds), "%.1f");
    stats_format(t_last, sizeof t_last, stats_of(last, res->seeds), "%.1f");
    stats_format(t_high, sizeof t_high, stats_of(high, res->seeds), "%.2f");
    stats_test move = stats_one_sample_greater(moves, res->seeds, 0.0, REPORT_ALPHA);
    stats_summary moved = stats_of(moves, res->seeds);
    char v[320];
    verdict(f, &move, 1, max_first <= 9 && moved.mean > 0, v, sizeof v);
    if (move.evaluable && max_first > 9) {
        f->reproduced = 0;
        snprintf(v, sizeof v, "NOT REPRODUCED (a seed's peak after epoch 1 is band %d > 9)", max_first);
    }
    snprintf(f->line, sizeof f->line,
             "Learning priority (E2): peak band of the baseline's gradient spectrum moves from %s (epoch 1) to "
             "%s (epoch %d); bands %d-%d end at %s of the heat map's range (paper: they stay dark) (K = %d): %s",
             t_first, t_last, epochs, bands - 3, bands - 1, t_high, n, v);
}

static void cdes(const report_results *res, report_finding *f)
{
    snprintf(f->criterion, sizeof f->criterion,
             "top-1 on the high-pass (r = 10) test set of each model's own dataset: f_scr > f_baseline and "
             "f_baseline > f_wcr, one-sided Welch t-tests over the seeds, both at 5 %%");
    number scr, wcr, base;
    sweep_number(&scr, res, MODEL_SCR, RESULT_TOP1, "high", 10, "%.3f");
    sweep_number(&wcr, res, MODEL_WCR, RESULT_TOP1, "high", 10, "%.3f");
    sweep_number(&base, res, MODEL_BASELINE, RESULT_TOP1, "high", 10, "%.3f");
    if (!scr.s.n || !wcr.s.n || !base.s.n) {
        not_measured(f, "CDES (E3)", "scr-sweep / wcr-sweep / baseline-sweep");
        return;
    }
    stats_test tests[2] = {
        stats_welch_greater(scr.values, res->seeds, base.values, res->seeds, 0.0, REPORT_ALPHA),
        stats_welch_greater(base.values, res->seeds, wcr.values, res->seeds, 0.0, REPORT_ALPHA)};
    char v[320];
    verdict(f, tests, 2, scr.s.mean > base.s.mean && base.s.mean > wcr.s.mean, v, sizeof v);
    snprintf(f->line, sizeof f->line,
             "CDES (E3): top-1 on X_h at r=10: f_scr %s, f_baseline %s, f_wcr %s (paper 0.790 > 0.432 > 0.204; "
             "SCR > baseline > WCR; K = %d): %s", scr.text, base.text, wcr.text, scr.s.n, v);
}

static void hars(const report_results *res, int e4_model, report_finding *f)
{
    snprintf(f->criterion, sizeof f->criterion,
             "only if f_hars learned its training set (mean final training top-1 >= %.1f, five times chance; "
             "else NOT TESTABLE): top-1 on the CIFAR-10 high-pass test set at r = 12 (the HARS radius), "
             "f_hars > the baseline trained with the same (E4) protocol, one-sided Welch t-test at 5 %%",
             REPORT_HARS_LEARNED);
    number train, hh, bh, hl, bl;
    sweep_number(&train, res, MODEL_HARS, RESULT_TRAIN_TOP1, "", 0, "%.3f");
    sweep_number(&hh, res, MODEL_HARS, RESULT_TOP1, "high", 12, "%.3f");
    sweep_number(&bh, res, e4_model, RESULT_TOP1, "high", 12, "%.3f");
    sweep_number(&hl, res, MODEL_HARS, RESULT_TOP1, "low", 12, "%.3f");
    sweep_number(&bl, res, e4_model, RESULT_TOP1, "low", 12, "%.3f");
    if (!train.s.n || !hh.s.n || !bh.s.n) {
        not_measured(f, "HARS (E4)", "hars-train / hars-sweep / baseline-sweep");
        return;
    }
    char v[320];
    if (train.s.mean < REPORT_HARS_LEARNED) {
        f->measured = 1;
        f->reproduced = 0;
        snprintf(v, sizeof v, "NOT TESTABLE: f_hars did not learn (train top-1 below %.1f)", REPORT_HARS_LEARNED);
    } else {
        stats_test test = stats_welch_greater(hh.values, res->seeds, bh.values, res->seeds, 0.0, REPORT_ALPHA);
        verdict(f, &test, 1, hh.s.mean > bh.s.mean, v, sizeof v);
    }
    snprintf(f->line, sizeof f->line,
             "HARS (E4): f_hars train top-1 %s; X_h top-1 at r=12: f_hars %s vs f_baseline %s (X_l: %s vs %s; "
             "K = %d): %s", train.text, hh.text, bh.text, hl.text, bl.text, train.s.n, v);
}

void report_findings_compute(const report_results *res, int e4_model, report_finding findings[REPORT_FINDINGS])
{
    memset(findings, 0, sizeof(report_finding) * REPORT_FINDINGS);
    low_vs_high(res, &findings[0]);
    discrimination(res, &findings[1]);
    learning_priority(res, &findings[2]);
    cdes(res, &findings[3]);
    hars(res, e4_model, &findings[4]);
}
