/* report_heatmaps.h — the report's view of the four fourier-heatmap stages
 * (baseline, HARS, SCR, WCR):
 *
 *   fourier_heatmaps.png   the four Fourier heat maps as a 2×2 figure on one
 *                          shared colour range, so the panels compare
 *   band_noise.png         error under band-limited noise against the band,
 *                          one curve per model, its clean error (same
 *                          images, no noise) in its legend entry
 *
 * Only stages that finished in this run are read (report_stage_finished).
 */
#ifndef FREQBIAS_CLI_REPORT_HEATMAPS_H
#define FREQBIAS_CLI_REPORT_HEATMAPS_H

#include "report_pipeline.h"

#define HEATMAP_MAX_SIZE 64
#define HEATMAP_MAX_BANDS 64

typedef struct heatmap_result {
    int have;                                      /* the stage finished and its files read */
    int size, bands;
    double cells[HEATMAP_MAX_SIZE * HEATMAP_MAX_SIZE]; /* [size, size] */
    double band_errors[HEATMAP_MAX_BANDS];         /* [bands] */
    double clean;                                  /* clean error on the same images */
} heatmap_result;

/* Reads OUT/heatmaps/<model> of every model whose stage finished. */
void report_heatmaps_load(const report_pipeline *pipeline, heatmap_result results[MODEL_COUNT]);

/* Draws fourier_heatmaps.png and band_noise.png into dir (nothing when no
 * model has a heat map); *drawn counts them. Errors only for write failures. */
fb_status report_heatmaps_draw(const report_pipeline *pipeline, const heatmap_result results[MODEL_COUNT],
                               const char *dir, int *drawn);

#endif
