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
 * With K seeds the comparing figures (accuracy, inter-class variance,
 * CDES high-pass, training curves) show the mean over seeds with the
 * sample std as error bars; the densities show the mean over seeds.
 *
 * Each returns FB_OK having drawn what exists (a missing series is left
 * out), or an error if nothing at all could be drawn or writing failed.
 */
#ifndef FREQBIAS_CLI_REPORT_FIGURES_H
#define FREQBIAS_CLI_REPORT_FIGURES_H

#include "report_pipeline.h"
#include "report_results.h"
#include "report_stats.h"

/* What one classifier (one seed of one model) measured. */
typedef struct model_results {
    int have_sweep, have_gradspec, have_log, have_density;
    sweep_result sweep;
    gradspec_result gradspec;
    train_log log;
    float image_density[GRADSPEC_MAX_BANDS], gradient_density[GRADSPEC_MAX_BANDS];
} model_results;

/* The measured results the figures, tables and findings share. */
typedef struct report_results {
    int seeds;                                     /* K */
    int bands;
    model_results m[MODEL_SLOTS][REPORT_MAX_SEEDS]; /* [model][seed index] */
} report_results;

/* One number of every seed of a model, NaN where a seed lacks it; the
 * mean ± std of those in the summary functions.
 *   what: RESULT_TOP1 ... RESULT_RATIO of sweep row (freq, r);
 *         RESULT_PEARSON of the sweep (top-1 vs inter-class variance);
 *         RESULT_TRAIN_TOP1 / RESULT_TEST_TOP1 of the last epoch of log.csv */
typedef enum {
    RESULT_TOP1, RESULT_TOP5, RESULT_INTER, RESULT_INTRA, RESULT_RATIO, /* of sweep row (freq, r) */
    RESULT_PEARSON, RESULT_TRAIN_TOP1, RESULT_TEST_TOP1
} result_kind;
void results_values(const report_results *results, int model, result_kind what, const char *freq, double r,
                    double values[REPORT_MAX_SEEDS]);
stats_summary results_summary(const report_results *results, int model, result_kind what, const char *freq,
                              double r);
/* The first seed's sweep of a model that has one (its rows list the sets), or NULL. */
const sweep_result *results_any_sweep(const report_results *results, int model);
/* How many seeds of a model have a sweep / a gradient spectrum. */
int results_sweeps(const report_results *results, int model);
int results_gradspecs(const report_results *results, int model);

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
