/* report_pipeline.h — the stages of `freqbias report`, in order, with the
 * exact command line of each, and where their results land in OUT.
 *
 *   data            verify CIFAR-10, take the preset's first N / M images
 *   baseline-train  ResNet-18 on CIFAR-10 with the online gradient spectrum
 *   baseline-sweep  low/high-pass test sets, r = 4, 8, 10, 12, 14, 16, 18
 *   cifar-spectrum  image and gradient spectral density, per-class KDE
 *   baseline-heatmap  Fourier heat map and band-noise errors (fourier-heatmap --bands)
 *   hars-build, hars-train, hars-sweep, hars-spectrum, hars-heatmap
 *   scr-kernels, scr-data, [scr-pack], scr-train, scr-sweep, scr-spectrum, scr-heatmap
 *   wcr-kernels, wcr-data, [wcr-pack], wcr-train, wcr-sweep, wcr-spectrum, wcr-heatmap
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

#define REPORT_MAX_STAGES 32
#define REPORT_OUT_MAX 512   /* --out paths are at most this long */
#define REPORT_DIR 600       /* OUT/<folder>/<name>                */
#define REPORT_SWEEP_RADII "4,8,10,12,14,16,18" /* Fig. 3's 4..16 and the CDES table's 10..18 */
#define REPORT_CDES_RADII "10,12,14,16,18"
#define REPORT_HARS_RADIUS 12

/* One of the four classifiers and what belongs to it. */
typedef struct report_model {
    const char *key;              /* "baseline", "hars", "scr", "wcr"       */
    const char *label;            /* "f_baseline", ...                      */
    char run[REPORT_DIR];         /* train --out                            */
    char sweep[REPORT_DIR];       /* sweep --out                            */
    char spectrum[REPORT_DIR];    /* spectrum --out                         */
    char heatmap[REPORT_DIR];     /* fourier-heatmap --out                  */
    char train_data[STAGE_PATH];  /* what it trained on                     */
    char test_data[STAGE_PATH];   /* what it is tested on                   */
    char dataset_dir[REPORT_DIR]; /* generated data folder ("" for CIFAR)   */
    char kernels[REPORT_DIR];     /* CDES kernel folder ("" otherwise)      */
} report_model;

enum { MODEL_BASELINE, MODEL_HARS, MODEL_SCR, MODEL_WCR, MODEL_COUNT };

typedef struct report_pipeline {
    const report_preset *preset;
    char out_dir[REPORT_OUT_MAX];
    char backend[32];
    uint64_t seed;
    report_data data;
    report_pack packs[2];
    report_model models[MODEL_COUNT];
    report_stage *stages; /* [count], heap */
    int count;
} report_pipeline;

/* Fills every stage's command, inputs and outputs (data.cifar_dir set by
 * the caller). Free with report_pipeline_free. */
fb_status report_pipeline_build(report_pipeline *pipeline);
void report_pipeline_free(report_pipeline *pipeline);

/* The stage called name, or NULL. */
const report_stage *report_pipeline_stage(const report_pipeline *pipeline, const char *name);

#endif
