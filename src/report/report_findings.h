/* report_findings.h — the five measured findings of the report, each one
 * line that gives the numbers and says REPRODUCED or NOT REPRODUCED by a
 * criterion stated in the report (or NOT MEASURED when its stages did not
 * finish):
 *
 *   1  low ≫ high (E1)         baseline top-1 on X_l exceeds X_h by ≥ 0.10
 *                              at r = 12 and at r = 16
 *   2  discrimination (E1)     Pearson(top-1, inter-class variance) ≥ 0.5 over
 *                              the sweep's sets, and inter-class variance on
 *                              X_l > X_h at r = 12
 *   3  learning priority (E2)  the peak band of the baseline's gradient
 *                              spectrum after the first epoch is ≤ 9 and
 *                              moves to a higher band by the last epoch
 *   4  CDES (E3)               top-1 on X_h at r = 10: f_scr > f_baseline > f_wcr
 *   5  HARS (E4)               top-1 on X_h at r = 12: f_hars > f_baseline
 */
#ifndef FREQBIAS_CLI_REPORT_FINDINGS_H
#define FREQBIAS_CLI_REPORT_FINDINGS_H

#include "report_figures.h"

#define REPORT_FINDINGS 5
#define REPORT_LINE 512

typedef struct report_finding {
    char line[REPORT_LINE];   /* the summary line                  */
    char criterion[256];      /* how the verdict is decided        */
    int measured, reproduced;
} report_finding;

void report_findings_compute(const report_results *results, report_finding findings[REPORT_FINDINGS]);

#endif
