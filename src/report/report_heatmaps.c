/* report_heatmaps.c — the 2×2 Fourier heat map figure and the band-noise
 * curves of the report (see report_heatmaps.h), from the files each
 * model's fourier-heatmap stage wrote: heatmap.npy (float64 [S, S]),
 * bands.npy (float64 [20]) and summary.json (clean_error).
 *
 * The 2×2 figure is four fb_render_heatmap canvases, drawn with the same
 * cell size and one colour range (the smallest and largest error of all
 * four maps) and copied into one canvas: a colour means the same error in
 * every panel. A model whose stage did not finish leaves its panel empty
 * with a note.
 */
#include "report_heatmaps.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_util.h"
#include "freqbias/json.h"
#include "freqbias/npy.h"
#include "freqbias/plot.h"
#include "report_figures.h"

/* float64 .npy of exactly `count` values into out. */
static fb_status load_doubles(const char *path, double *out, size_t count, int ndim)
{
    fb_npy_array array;
    FB_TRY(fb_npy_read(path, &array));
    fb_status status = FB_OK;
    if (array.dtype != FB_NPY_F64 || array.ndim != ndim || array.count != count)
        status = fb_error(FB_ERR_FORMAT, "%s: expected float64 with %zu values in %d dimensions", path, count,
                          ndim);
    else
        memcpy(out, array.data, count * sizeof(double));
    fb_npy_free(&array);
    return status;
}

static fb_status load_one(const report_model *m, heatmap_result *r)
{
    char path[1200];
    fb_npy_array array;
    snprintf(path, sizeof path, "%s/heatmap.npy", m->heatmap);
    FB_TRY(fb_npy_read(path, &array));
    int size = array.ndim == 2 && array.shape[0] == array.shape[1] ? (int)array.shape[0] : 0;
    fb_npy_free(&array);
    if (size < 1 || size > HEATMAP_MAX_SIZE)
        return fb_error(FB_ERR_FORMAT, "%s: not a square heat map of at most %d", path, HEATMAP_MAX_SIZE);
    r->size = size;
    FB_TRY(load_doubles(path, r->cells, (size_t)size * size, 2));
    snprintf(path, sizeof path, "%s/bands.npy", m->heatmap);
    FB_TRY(fb_npy_read(path, &array));
    r->bands = array.ndim == 1 && array.count <= HEATMAP_MAX_BANDS ? (int)array.count : 0;
    fb_npy_free(&array);
    if (r->bands < 1)
        return fb_error(FB_ERR_FORMAT, "%s: not a vector of at most %d bands", path, HEATMAP_MAX_BANDS);
    FB_TRY(load_doubles(path, r->band_errors, (size_t)r->bands, 1));
    snprintf(path, sizeof path, "%s/summary.json", m->heatmap);
    size_t length = 0;
    char *text;
    FB_TRY(read_text_file(path, &text, &length));
    fb_json *root = NULL;
    fb_status status = fb_json_parse(text, length, &root, NULL, 0);
    free(text);
    if (status != FB_OK)
        return fb_error(FB_ERR_FORMAT, "%s: not JSON", path);
    r->clean = fb_json_number(fb_json_get(root, "clean_error"));
    fb_json_free(root);
    return FB_OK;
}

void report_heatmaps_load(const report_pipeline *p, heatmap_result results[MODEL_COUNT])
{
    heatmap_result *one = malloc(sizeof *one);
    for (int m = 0; m < MODEL_COUNT; m++) {
        heatmap_result *r = &results[m];
        memset(r, 0, sizeof *r);
        double band_squares[HEATMAP_MAX_BANDS] = {0};
        for (int k = 0; one && k < p->seeds; k++) {
            const report_model *model = &p->models[m][k];
            const report_stage *stage = report_model_stage(p, model, "heatmap");
            memset(one, 0, sizeof *one);
            if (!stage || !report_stage_finished(p, stage->name) || load_one(model, one) != FB_OK)
                continue;
            if (r->have && (one->size != r->size || one->bands != r->bands))
                continue; /* seeds made with other settings cannot be averaged */
            r->size = one->size;
            r->bands = one->bands;
            double mean = 0.0, high = -INFINITY;
            for (int i = 0; i < one->size * one->size; i++) {
                r->cells[i] += one->cells[i];
                mean += one->cells[i] / (one->size * one->size);
                high = fmax(high, one->cells[i]);
            }
            for (int b = 0; b < one->bands; b++) {
                r->band_errors[b] += one->band_errors[b];
                band_squares[b] += one->band_errors[b] * one->band_errors[b];
            }
            r->clean += one->clean;
            r->seed_clean[r->have] = one->clean;
            r->seed_mean[r->have] = mean;
            r->seed_max[r->have] = high;
            r->have++;
        }
        if (!r->have)
            continue;
        for (int i = 0; i < r->size * r->size; i++)
            r->cells[i] /= r->have;
        for (int b = 0; b < r->bands; b++) {
            r->band_errors[b] /= r->have;
            double variance = (band_squares[b] - r->have * r->band_errors[b] * r->band_errors[b]) / (r->have - 1);
            r->band_std[b] = r->have > 1 ? sqrt(fmax(variance, 0.0)) : NAN;
        }
        r->clean /= r->have;
    }
    free(one);
}

/* Copies src into dst with its top-left at (x, y). */
static void blit(fb_canvas *dst, const fb_canvas *src, int x, int y)
{
    for (int row = 0; row < src->height; row++)
        for (int col = 0; col < src->width; col++) {
            const uint8_t *p = src->pixels + ((size_t)row * src->width + col) * 3;
            fb_canvas_set(dst, x + col, y + row, (fb_rgb){p[0], p[1], p[2]});
        }
}

static fb_status heatmap_grid(const report_pipeline *p, const heatmap_result *res, const char *path)
{
    double low = INFINITY, high = -INFINITY;
    for (int m = 0; m < MODEL_COUNT; m++)
        for (int i = 0; res[m].have && i < res[m].size * res[m].size; i++) {
            low = fmin(low, res[m].cells[i]);
            high = fmax(high, res[m].cells[i]);
        }
    fb_canvas panels[MODEL_COUNT];
    memset(panels, 0, sizeof panels);
    int panel_w = 0, panel_h = 0;
    fb_status status = FB_OK;
    for (int m = 0; m < MODEL_COUNT && status == FB_OK; m++) {
        if (!res[m].have)
            continue;
        int size = res[m].size;
        float values[HEATMAP_MAX_SIZE * HEATMAP_MAX_SIZE]; /* [size, size] */
        for (int i = 0; i < size * size; i++)
            values[i] = (float)res[m].cells[i];
        char title[128];
        if (res[m].have > 1)
            snprintf(title, sizeof title, "%s, mean of %d seeds (clean error %.3f)", p->models[m][0].label,
                     res[m].have, res[m].clean);
        else
            snprintf(title, sizeof title, "%s (clean error %.3f)", p->models[m][0].label, res[m].clean);
        fb_heatmap_labels labels = fb_heatmap_labels_default();
        labels.title = title;
        labels.x_label = "horizontal frequency (cycles/image)";
        labels.y_label = "vertical frequency";
        labels.colorbar_label = "top-1 error";
        labels.colormap = FB_COLORMAP_JET;
        labels.fixed_range = 1;
        labels.v_min = low;
        labels.v_max = high;
        labels.x_first = labels.y_first = -(size / 2);
        labels.cell_w = labels.cell_h = 320 / size > 1 ? 320 / size : 1;
        status = fb_render_heatmap(&panels[m], values, size, size, &labels, NULL);
        if (status == FB_OK) {
            panel_w = panels[m].width > panel_w ? panels[m].width : panel_w;
            panel_h = panels[m].height > panel_h ? panels[m].height : panel_h;
        }
    }
    fb_canvas figure = {0};
    if (status == FB_OK && panel_w > 0)
        status = fb_canvas_create(&figure, 2 * panel_w, 2 * panel_h);
    for (int m = 0; status == FB_OK && m < MODEL_COUNT; m++) {
        int x = (m % 2) * panel_w, y = (m / 2) * panel_h;
        if (res[m].have)
            blit(&figure, &panels[m], x, y);
        else
            fb_canvas_text(&figure, x + 40, y + 40, "(heat map not made in this run)", 2, (fb_rgb){90, 90, 90});
    }
    if (status == FB_OK && panel_w > 0)
        status = fb_canvas_save_png(&figure, path);
    fb_canvas_free(&figure);
    for (int m = 0; m < MODEL_COUNT; m++)
        fb_canvas_free(&panels[m]);
    return status;
}

static fb_status band_figure(const report_pipeline *p, const heatmap_result *res, const char *path)
{
    fb_line_series series[MODEL_COUNT];
    char names[MODEL_COUNT][96];
    int count = 0;
    for (int m = 0; m < MODEL_COUNT; m++) {
        if (!res[m].have)
            continue;
        snprintf(names[m], sizeof names[m], "%s (clean %.3f)", p->models[m][0].label, res[m].clean);
        series[count++] = (fb_line_series){names[m], NULL, res[m].band_errors, res[m].bands, res[m].band_std};
    }
    if (!count)
        return FB_OK;
    fb_plot_labels labels = fb_plot_labels_default();
    labels.title = p->seeds > 1 ? "Error under band-limited noise (bars: std over seeds)"
                                : "Top-1 error under Gaussian noise restricted to one radial band";
    labels.x_label = "frequency band (azimuthal average, band b = radius b+1)";
    labels.y_label = "top-1 error (own test split)";
    labels.fixed_y = 1;
    labels.y_min = 0.0;
    labels.y_max = 1.0;
    return fb_plot_lines(path, series, count, &labels);
}

fb_status report_heatmaps_draw(const report_pipeline *p, const heatmap_result res[MODEL_COUNT], const char *dir,
                               int *drawn)
{
    char path[1200];
    *drawn = 0;
    snprintf(path, sizeof path, "%s/fourier_heatmaps.png", dir);
    remove(path); /* never leave an older run's figure */
    FB_TRY(heatmap_grid(p, res, path));
    snprintf(path, sizeof path, "%s/band_noise.png", dir);
    remove(path);
    FB_TRY(band_figure(p, res, path));
    for (int m = 0; m < MODEL_COUNT; m++)
        if (res[m].have) {
            *drawn = 2;
            break;
        }
    return FB_OK;
}
