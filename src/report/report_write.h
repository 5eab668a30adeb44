/* report_write.h — turns the stages' results into OUT/report.md,
 * OUT/report.html, OUT/summary.txt and OUT/stages/summary.json.
 * Every number is the mean ± sample std over the seeds (report_stats.h).
 */
#ifndef FREQBIAS_CLI_REPORT_WRITE_H
#define FREQBIAS_CLI_REPORT_WRITE_H

#include "report_findings.h"
#include "report_pipeline.h"

/* How the stage loop ended. */
typedef struct report_outcome {
    int failed_stage;    /* index of the stage that failed, or -1 */
    fb_status status;    /* its status                             */
    char message[1024];  /* its error message                      */
    double seconds;      /* wall time of this invocation           */
    int threads;         /* --threads (0: the default)             */
} report_outcome;

/* What the command prints after the report is written. */
typedef struct report_printout {
    char findings[REPORT_FINDINGS][REPORT_LINE]; /* the five finding lines           */
    char times[REPORT_GROUPS][256];              /* per stage group; "" when empty   */
} report_printout;

/* Loads the results, draws the combined figures into OUT/figures, writes
 * the documents (report.md, report.html, summary.txt with the findings,
 * their criteria and the time per stage group, stages/summary.json). */
fb_status report_write(const report_pipeline *pipeline, const report_outcome *outcome, report_printout *printout);

#endif
