/* report_findings.h — the five measured findings of the report, each one
 * line that gives the numbers (mean ± sample std over the K seeds) and a
 * verdict by a stated statistical criterion, with the test statistics it
 * used. All tests are one-sided at 5 % (report_stats.h says why Welch):
 *
 *   1  low ≫ high (E1)         baseline top-1 on X_l exceeds X_h by more than
 *                              0.10, at r = 12 and at r = 16 (Welch, margin 0.10)
 *   2  discrimination (E1)     the per-seed Pearson(top-1, inter-class variance)
 *                              over the sweep's sets exceeds 0.5 (one-sample t),
 *                              and inter-class variance on X_l > X_h at r = 12
 *                              (Welch)
 *   3  learning priority (E2)  in every seed the peak band of the baseline's
 *                              gradient spectrum after epoch 1 is ≤ 9, and its
 *                              move to the last epoch's peak is > 0 (one-sample t)
 *   4  CDES (E3)               top-1 on X_h at r = 10: f_scr > f_baseline and
 *                              f_baseline > f_wcr (Welch, both)
 *   5  HARS (E4)               only if f_hars learned (mean final training
 *                              top-1 ≥ 0.5, five times chance: else NOT
 *                              TESTABLE); top-1 on X_h at r = 12: f_hars >
 *                              the baseline of the same (E4) protocol (Welch)
 *
 * Verdicts: REPRODUCED (every test significant), NOT REPRODUCED, NOT
 * MEASURED (its stages did not finish), CANNOT EVALUATE (single seed: no
 * error bar; the line still says whether the point estimates are ordered
 * as claimed), NOT TESTABLE (E4 when f_hars did not learn).
 */
#ifndef FREQBIAS_CLI_REPORT_FINDINGS_H
#define FREQBIAS_CLI_REPORT_FINDINGS_H

#include "report_figures.h"

#define REPORT_FINDINGS 5
#define REPORT_LINE 768
#define REPORT_ALPHA 0.05       /* level of every one-sided test            */
#define REPORT_HARS_LEARNED 0.5 /* f_hars's final training top-1 to test E4 */

typedef struct report_finding {
    char line[REPORT_LINE];   /* the summary line, with the test statistics */
    char criterion[384];      /* how the verdict is decided                 */
    int measured, reproduced;
} report_finding;

void report_findings_compute(const report_results *results, int e4_model, report_finding findings[REPORT_FINDINGS]);

#endif
