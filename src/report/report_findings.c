/* report_findings.c — the five summary lines, computed from the measured
 * numbers only (criteria in report_findings.h). A verdict is a plain
 * comparison of our numbers: it says whether this run shows the paper's
 * qualitative claim, not whether the numbers match the paper's.
 */
#include "report_findings.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *verdict(int reproduced)
{
    return reproduced ? "REPRODUCED" : "NOT REPRODUCED";
}

static void not_measured(report_finding *f, const char *what, const char *stages)
{
    snprintf(f->line, sizeof f->line, "%s: NOT MEASURED (not every stage of %s finished)", what, stages);
    f->measured = 0;
    f->reproduced = 0;
}

static void low_vs_high(const report_results *res, report_finding *f)
{
    snprintf(f->criterion, sizeof f->criterion,
             "baseline top-1 on X_l exceeds X_h by at least 0.10 at r = 12 and at r = 16");
    const sweep_result *s = &res->sweep[MODEL_BASELINE];
    double l12 = sweep_top1(s, "low", 12), h12 = sweep_top1(s, "high", 12);
    double l16 = sweep_top1(s, "low", 16), h16 = sweep_top1(s, "high", 16);
    double clean = sweep_top1(s, "clean", 0);
    if (!res->have_sweep[MODEL_BASELINE] || isnan(l12 + h12 + l16 + h16)) {
        not_measured(f, "Low >> high (E1)", "baseline-sweep");
        return;
    }
    f->measured = 1;
    f->reproduced = l12 - h12 >= 0.10 && l16 - h16 >= 0.10;
    snprintf(f->line, sizeof f->line,
             "Low >> high (E1): baseline top-1 at r=12 low %.3f vs high %.3f, at r=16 %.3f vs %.3f "
             "(clean %.3f): %s", l12, h12, l16, h16, clean, verdict(f->reproduced));
}

static void discrimination(const report_results *res, report_finding *f)
{
    snprintf(f->criterion, sizeof f->criterion,
             "Pearson correlation of top-1 and inter-class variance over the sweep's sets >= 0.5, and "
             "inter-class variance on X_l > X_h at r = 12");
    const sweep_result *s = &res->sweep[MODEL_BASELINE];
    double pearson = sweep_pearson(s), l12 = sweep_inter(s, "low", 12), h12 = sweep_inter(s, "high", 12);
    if (!res->have_sweep[MODEL_BASELINE] || isnan(l12 + h12)) {
        not_measured(f, "Feature discrimination (E1)", "baseline-sweep");
        return;
    }
    f->measured = 1;
    f->reproduced = pearson >= 0.5 && l12 > h12;
    snprintf(f->line, sizeof f->line,
             "Feature discrimination follows accuracy (E1): Pearson(top-1, inter-class variance) %.2f over %d "
             "sets; inter-class variance at r=12 low %.3g vs high %.3g: %s",
             pearson, s->count, l12, h12, verdict(f->reproduced));
}

static void learning_priority(const report_results *res, report_finding *f)
{
    snprintf(f->criterion, sizeof f->criterion,
             "the peak band of the baseline's input-gradient spectrum after the first epoch is <= 9 (low/mid) "
             "and moves to a higher band by the last epoch");
    const gradspec_result *g = &res->gradspec[MODEL_BASELINE];
    if (!res->have_gradspec[MODEL_BASELINE] || g->rows < 3) {
        not_measured(f, "Learning priority (E2)", "baseline-train");
        return;
    }
    int first = 1, last = g->rows - 1; /* row 0 is before training */
    int peak_first = gradspec_peak_band(g, first), peak_last = gradspec_peak_band(g, last);
    double high = 0.0;
    int high_bands = 0;
    for (int b = g->bands - 3; b < g->bands; b++, high_bands++)
        high += gradspec_scaled(g, last, b);
    high /= high_bands;
    f->measured = 1;
    f->reproduced = peak_first <= 9 && peak_last > peak_first;
    snprintf(f->line, sizeof f->line,
             "Learning priority (E2): peak band of the baseline's gradient spectrum moves from %d (epoch 1) to "
             "%d (epoch %d); bands %d-%d end at %.2f of the heat map's range (paper: they stay dark): %s",
             peak_first, peak_last, last, g->bands - 3, g->bands - 1, high, verdict(f->reproduced));
}

static void cdes(const report_results *res, report_finding *f)
{
    snprintf(f->criterion, sizeof f->criterion,
             "top-1 on the high-pass (r = 10) test set of each model's own dataset: f_scr > f_baseline > f_wcr");
    double scr = sweep_top1(&res->sweep[MODEL_SCR], "high", 10);
    double wcr = sweep_top1(&res->sweep[MODEL_WCR], "high", 10);
    double base = sweep_top1(&res->sweep[MODEL_BASELINE], "high", 10);
    if (!res->have_sweep[MODEL_SCR] || !res->have_sweep[MODEL_WCR] || !res->have_sweep[MODEL_BASELINE] ||
        isnan(scr + wcr + base)) {
        not_measured(f, "CDES (E3)", "scr-sweep / wcr-sweep / baseline-sweep");
        return;
    }
    f->measured = 1;
    f->reproduced = scr > base && base > wcr;
    snprintf(f->line, sizeof f->line,
             "CDES (E3): top-1 on X_h at r=10: f_scr %.3f, f_baseline %.3f, f_wcr %.3f (paper 0.790 > 0.432 > "
             "0.204; SCR > baseline > WCR): %s", scr, base, wcr, verdict(f->reproduced));
}

static void hars(const report_results *res, report_finding *f)
{
    snprintf(f->criterion, sizeof f->criterion,
             "top-1 on the CIFAR-10 high-pass test set at r = 12 (the HARS radius): f_hars > f_baseline");
    double hh = sweep_top1(&res->sweep[MODEL_HARS], "high", 12), bh = sweep_top1(&res->sweep[MODEL_BASELINE], "high", 12);
    double hl = sweep_top1(&res->sweep[MODEL_HARS], "low", 12), bl = sweep_top1(&res->sweep[MODEL_BASELINE], "low", 12);
    if (!res->have_sweep[MODEL_HARS] || !res->have_sweep[MODEL_BASELINE] || isnan(hh + bh)) {
        not_measured(f, "HARS (E4)", "hars-sweep / baseline-sweep");
        return;
    }
    f->measured = 1;
    f->reproduced = hh > bh;
    snprintf(f->line, sizeof f->line,
             "HARS (E4): X_h top-1 at r=12: f_hars %.3f vs f_baseline %.3f (X_l: %.3f vs %.3f): %s", hh, bh, hl,
             bl, verdict(f->reproduced));
}

void report_findings_compute(const report_results *res, report_finding findings[REPORT_FINDINGS])
{
    memset(findings, 0, sizeof(report_finding) * REPORT_FINDINGS);
    low_vs_high(res, &findings[0]);
    discrimination(res, &findings[1]);
    learning_priority(res, &findings[2]);
    cdes(res, &findings[3]);
    hars(res, &findings[4]);
}
