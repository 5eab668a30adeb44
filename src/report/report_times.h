/* report_times.h — the measured wall time of each stage group of a report
 * (data, baseline, HARS, E4 baseline, CDES SCR, CDES WCR, heat maps,
 * figures), from the stages' own records: a stage that ran (or resumed) in
 * this invocation counts its wall time; a stage skipped because its record
 * matched counts as "cached" (its recorded time, from the run that made it,
 * is shown apart); a stage that failed or did not run is counted as such.
 * The report prints the lines on stdout and writes them into report.md and
 * summary.txt.
 */
#ifndef FREQBIAS_REPORT_TIMES_H
#define FREQBIAS_REPORT_TIMES_H

#include <stddef.h>

#include "report_pipeline.h"

#define REPORT_GROUP_FIGURES (REPORT_GROUPS - 1) /* drawn in process, not a stage */

typedef struct report_group_time {
    int stages, ran, cached, other;   /* other: failed or not run           */
    double ran_seconds;               /* wall time of this invocation's runs */
    double cached_seconds;            /* recorded time of the cached ones    */
    int in_process;                   /* the figures: no stages, just a time */
} report_group_time;

/* Sums the stages per group; figures_seconds is the report's own drawing
 * time (the last group). */
void report_times_compute(const report_pipeline *pipeline, double figures_seconds,
                          report_group_time times[REPORT_GROUPS]);

/* "312.4 s (6 stages ran); 2 cached (612.0 s when they ran)" for one
 * group, or "" for a group without stages. */
void report_time_line(const report_group_time *time, char *out, size_t size);

#endif
