/* report_heatmaps.h — the report's view of the four fourier-heatmap stages
 * (baseline, HARS, SCR, WCR):
 *
 *   fourier_heatmaps.png   the four Fourier heat maps as a 2×2 figure on one
 *                          shared colour range, so the panels compare
 *   band_noise.png         error under band-limited noise against the band,
 *                          one curve per model, its clean error (same
 *                          images, no noise) in its legend entry
 *
 * With K seeds each model's maps are averaged over the seeds whose stage
 * finished: the 2×2 figure shows the mean map, the band curves the mean
 * with the sample std over seeds as error bars. Only stages that finished
 * in this run are read (report_stage_finished).
 */
#ifndef FREQBIAS_CLI_REPORT_HEATMAPS_H
#define FREQBIAS_CLI_REPORT_HEATMAPS_H

#include "report_pipeline.h"

#define HEATMAP_MAX_SIZE 64
#define HEATMAP_MAX_BANDS 64

typedef struct heatmap_result {
    int have;                                      /* seeds whose stage finished and files read */
    int size, bands;
    double cells[HEATMAP_MAX_SIZE * HEATMAP_MAX_SIZE]; /* [size, size], mean over seeds */
    double band_errors[HEATMAP_MAX_BANDS];         /* [bands], mean over seeds            */
    double band_std[HEATMAP_MAX_BANDS];            /* [bands], sample std (NaN for 1 seed) */
    double clean;                                  /* clean error on the same images, mean */
    /* per seed [have]: clean error, mean and max of its map */
    double seed_clean[REPORT_MAX_SEEDS], seed_mean[REPORT_MAX_SEEDS], seed_max[REPORT_MAX_SEEDS];
} heatmap_result;

/* Reads OUT/heatmaps/<model>/seed<S> of every seed whose stage finished
 * and averages them per model. */
void report_heatmaps_load(const report_pipeline *pipeline, heatmap_result results[MODEL_COUNT]);

/* Draws fourier_heatmaps.png and band_noise.png into dir (nothing when no
 * model has a heat map); *drawn counts them. Errors only for write failures. */
fb_status report_heatmaps_draw(const report_pipeline *pipeline, const heatmap_result results[MODEL_COUNT],
                               const char *dir, int *drawn);

#endif
