/* report_figures.h — the figures of the report that no single subcommand
 * draws, made from the stages' result files with plot.h:
 *
 *   accuracy_vs_r.png        top-1 on X_l / X_h against r, baseline and HARS
 *   interclass_vs_r.png      inter-class variance of features, the same sets
 *   cdes_highpass.png        top-1 on X_h for f_scr, f_wcr, f_baseline, with
 *                            the paper's published table as its own lines
 *   density.png              image vs input-gradient spectral density per dataset
 *   training.png             clean test top-1 per epoch of the four classifiers
 *   filtered_samples.png     test images low/high-filtered at r = 4, 8, 12, 16
 *   dataset_samples.png      the same training images in CIFAR, HARS, SCR, WCR
 *
 * Each returns FB_OK having drawn what exists (a missing series is left
 * out), or an error if nothing at all could be drawn or writing failed.
 */
#ifndef FREQBIAS_CLI_REPORT_FIGURES_H
#define FREQBIAS_CLI_REPORT_FIGURES_H

#include "report_pipeline.h"
#include "report_results.h"

/* The measured results the figures and the text share. */
typedef struct report_results {
    int have_sweep[MODEL_COUNT], have_gradspec[MODEL_COUNT], have_log[MODEL_COUNT];
    int have_density[MODEL_COUNT];
    sweep_result sweep[MODEL_COUNT];
    gradspec_result gradspec[MODEL_COUNT];
    train_log log[MODEL_COUNT];
    int bands;
    float image_density[MODEL_COUNT][GRADSPEC_MAX_BANDS], gradient_density[MODEL_COUNT][GRADSPEC_MAX_BANDS];
} report_results;

/* Whether the stage called name finished in this run (ran, resumed, or
 * skipped with a matching record). */
int report_stage_finished(const report_pipeline *pipeline, const char *name);

/* Loads the results of the stages that finished (missing files leave
 * have_* at 0). */
void report_results_load(const report_pipeline *pipeline, report_results *results);

/* Draws every figure above into dir; *drawn counts them. Errors only for
 * write failures. */
fb_status report_figures_draw(const report_pipeline *pipeline, const report_results *results, const char *dir,
                              int *drawn);

#endif
