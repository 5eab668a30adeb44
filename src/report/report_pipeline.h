/* report_pipeline.h — the stages of `freqbias report`, in order, with the
 * exact command line of each, and where their results land in OUT.
 *
 *   data            verify CIFAR-10, take the preset's first N / M images
 *   per seed S:  baseline-train-sS   ResNet-18 on CIFAR-10 with the online gradient spectrum
 *                baseline-sweep-sS   low/high-pass test sets, r = 4, 8, 10, 12, 14, 16, 18
 *                cifar-spectrum-sS   image and gradient spectral density, per-class KDE
 *                baseline-heatmap-sS Fourier heat map and band-noise errors
 *   hars-build      (once) each image's own high band + another class's low band
 *   per seed S:  hars-train-sS, hars-sweep-sS, hars-spectrum-sS, hars-heatmap-sS
 *                [e4-baseline-train-sS, e4-baseline-sweep-sS: only when the
 *                 preset's E4 protocol differs from the main one]
 *   scr-kernels, scr-data, [scr-pack]   (once: they do not depend on the classifier seed)
 *   per seed S:  scr-train-sS, scr-sweep-sS, scr-spectrum-sS, scr-heatmap-sS
 *   wcr-kernels, wcr-data, [wcr-pack], then wcr-*-sS as for scr
 *
 * Seeds: K classifier seeds S = --seed, --seed + 1, ...; each seed's
 * stages have their own records and folders (runs/<model>/seed<S>, ...),
 * so a rerun with a larger K skips the seeds already there. The data-making
 * stages (data, hars-build, CDES kernels and generation) run once, with
 * the first seed.
 *
 * The CDES stages come last so that a build or run without them still
 * leaves every other result (and a report that says what is missing).
 */
#ifndef FREQBIAS_CLI_REPORT_PIPELINE_H
#define FREQBIAS_CLI_REPORT_PIPELINE_H

#include <stdint.h>

#include "report_data.h"
#include "report_preset.h"
#include "report_stage.h"

#define REPORT_MAX_SEEDS 10
#define REPORT_OUT_MAX 512   /* --out paths are at most this long */
#define REPORT_DIR 600       /* OUT/<folder>/<name>/seed<S>     */
#define REPORT_SWEEP_RADII "4,8,10,12,14,16,18" /* Fig. 3's 4..16 and the CDES table's 10..18 */
#define REPORT_CDES_RADII "10,12,14,16,18"
#define REPORT_HARS_RADIUS 12

/* One classifier (one seed of one model) and what belongs to it. */
typedef struct report_model {
    const char *key;              /* "baseline", "hars", "scr", "wcr", "e4-baseline" */
    const char *label;            /* "f_baseline", ...                      */
    unsigned long long seed;      /* its training (and heat map) seed       */
    char run[REPORT_DIR];         /* train --out                            */
    char sweep[REPORT_DIR];       /* sweep --out                            */
    char spectrum[REPORT_DIR];    /* spectrum --out                         */
    char heatmap[REPORT_DIR];     /* fourier-heatmap --out                  */
    char train_data[STAGE_PATH];  /* what it trained on                     */
    char test_data[STAGE_PATH];   /* what it is tested on                   */
    char dataset_dir[REPORT_DIR]; /* generated data folder ("" for CIFAR)   */
    char kernels[REPORT_DIR];     /* CDES kernel folder ("" otherwise)      */
} report_model;

/* The four classifiers every preset trains, then the E4 baseline, trained
 * only when the E4 protocol differs from the main one. */
enum { MODEL_BASELINE, MODEL_HARS, MODEL_SCR, MODEL_WCR, MODEL_COUNT };
#define MODEL_E4_BASELINE MODEL_COUNT
#define MODEL_SLOTS (MODEL_COUNT + 1)

/* Stage groups, for the time per group the report prints. */
#define REPORT_GROUPS 8
extern const char *const report_group_names[REPORT_GROUPS];

typedef struct report_pipeline {
    const report_preset *preset;
    char out_dir[REPORT_OUT_MAX];
    char backend[32];
    unsigned long long seed;    /* the first seed; data stages use it     */
    int seeds;                  /* K: classifiers trained with seed .. seed + K − 1 */
    int e4_model;               /* MODEL_BASELINE, or MODEL_E4_BASELINE when the protocols differ */
    report_data data;
    report_pack packs[2];
    report_model models[MODEL_SLOTS][REPORT_MAX_SEEDS];
    report_stage *stages; /* [count], heap */
    int count, capacity;
} report_pipeline;

/* Fills every stage's command, inputs and outputs (data.cifar_dir set by
 * the caller). Free with report_pipeline_free. */
fb_status report_pipeline_build(report_pipeline *pipeline);
void report_pipeline_free(report_pipeline *pipeline);

/* The stage called name, or NULL. */
const report_stage *report_pipeline_stage(const report_pipeline *pipeline, const char *name);
/* The stage "<key>-<what>-s<seed>" of a model (what: train, sweep, spectrum,
 * heatmap; the baseline's spectrum stage is "cifar-spectrum-s<seed>"), or NULL. */
const report_stage *report_model_stage(const report_pipeline *pipeline, const report_model *model,
                                       const char *what);
/* Its name, into name[48]. */
void report_model_stage_name(const report_model *model, const char *what, char name[48]);

#endif
