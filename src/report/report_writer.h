/* report_writer.h — what report_write.c and report_sections.c share while
 * writing the report: the writer (the pipeline, its measured results and
 * the document being written), the helpers every section uses, and the
 * sections of report_sections.c. Internal to the report.
 */
#ifndef FREQBIAS_REPORT_WRITER_H
#define FREQBIAS_REPORT_WRITER_H

#include <stddef.h>

#include "report_doc.h"
#include "report_heatmaps.h"
#include "report_results.h"
#include "report_times.h"
#include "report_write.h"

typedef struct writer {
    const report_pipeline *p;
    const report_outcome *outcome;
    const report_results *res;
    const heatmap_result *heatmaps; /* [MODEL_COUNT] */
    const report_group_time *times; /* [REPORT_GROUPS] */
    report_doc doc;
} writer;

/* path relative to the report folder (paths inside it start with OUT/). */
const char *writer_relative(const writer *w, const char *path);
/* A figure; made_by names the stage that draws it (NULL: the report's own
 * figures). A figure of a stage that did not finish is not shown. */
void writer_image(writer *w, const char *made_by, const char *path, const char *caption);
/* value with format, "–" for NaN. */
void writer_number(char *out, size_t size, double value, const char *format);
/* "Produced by stage X (ran, 12.3 s):", the command, and the checkpoint. */
void writer_produced_by(writer *w, const char *stage_name, const char *checkpoint);
/* The same for a model's stage (train, sweep, spectrum, heatmap) of its
 * first seed, with a note naming the other seeds' stages. */
void writer_produced_by_model(writer *w, int model, const char *what, int with_checkpoint);
/* mean ± std of one number of a model's seeds (results_values) into out. */
void writer_cell(writer *w, char *out, size_t size, int model, result_kind what, const char *freq, double r,
                const char *format);

/* report_sections.c */
void report_section_e1(writer *w);
void report_section_e2(writer *w);
void report_section_e3(writer *w);
void report_section_e4(writer *w);
void report_section_e5(writer *w);
void report_section_heatmaps(writer *w);
void report_section_samples(writer *w);

#endif
