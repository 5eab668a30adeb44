/* fb_gradspec_rows.c — storing gradient-spectrum rows (see freqbias/train.h):
 * the online spectrum of a training run (one row before training and one
 * per epoch) and `freqbias gradspec` (one row per checkpoint). */
#include "freqbias/train.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train_internal.h"
#include "freqbias/npy.h"
#include "freqbias/plot.h"

fb_status fb_gradspec_rows_init(fb_gradspec_rows *rows, int capacity, int bands,
                             fb_radial_convention convention)
{
    memset(rows, 0, sizeof *rows);
    rows->capacity = capacity;
    rows->bands = bands;
    rows->convention = convention;
    rows->mean = calloc((size_t)capacity * bands, sizeof(float));
    rows->std = calloc((size_t)capacity * bands, sizeof(float));
    rows->label = calloc((size_t)capacity, sizeof *rows->label);
    if (!rows->mean || !rows->std || !rows->label) {
        fb_gradspec_rows_free(rows);
        return fb_error(FB_ERR_NOMEM, "gradspec: out of memory for %d rows", capacity);
    }
    return FB_OK;
}

void fb_gradspec_rows_label(fb_gradspec_rows *rows, int row, const char *label)
{
    snprintf(rows->label[row], sizeof rows->label[row], "%s", label);
}

/* The heat map of the mean profiles after one global min-max. */
static fb_status write_heatmap(const fb_gradspec_rows *rows, const char *dir, const char *y_label,
                               double y_first)
{
    char path[1100];
    size_t count = (size_t)rows->count * rows->bands;
    float *scaled = malloc(count * sizeof(float)); /* [rows, bands] */
    if (!scaled)
        return fb_error(FB_ERR_NOMEM, "gradspec.png: out of memory");
    float lo = rows->mean[0], hi = rows->mean[0];
    for (size_t i = 0; i < count; i++) {
        lo = rows->mean[i] < lo ? rows->mean[i] : lo;
        hi = rows->mean[i] > hi ? rows->mean[i] : hi;
    }
    for (size_t i = 0; i < count; i++)
        scaled[i] = hi > lo ? (rows->mean[i] - lo) / (hi - lo) : 0.0f;
    fb_heatmap_labels labels = fb_heatmap_labels_default();
    labels.title = "Gradient spectrum over training";
    labels.x_label = rows->convention == FB_RADIAL_FREQBIAS ? "frequency band (radius - 1)"
                                                            : "frequency band (radius)";
    labels.y_label = y_label;
    labels.colorbar_label = "normalised |FFT of input gradient|";
    labels.fixed_range = 1;
    labels.v_min = 0.0;
    labels.v_max = 1.0;
    labels.y_first = y_first;
    snprintf(path, sizeof path, "%s/gradspec.png", dir);
    fb_status status = fb_plot_heatmap(path, scaled, rows->count, rows->bands, &labels);
    free(scaled);
    return status;
}

fb_status fb_gradspec_rows_write(const fb_gradspec_rows *rows, const char *dir, const char *y_label,
                              double y_first)
{
    char path[1100];
    int64_t shape[2] = {rows->count, rows->bands};
    snprintf(path, sizeof path, "%s/gradspec_mean.npy", dir);
    FB_TRY(fb_npy_write(path, FB_NPY_F32, 2, shape, rows->mean));
    snprintf(path, sizeof path, "%s/gradspec_std.npy", dir);
    FB_TRY(fb_npy_write(path, FB_NPY_F32, 2, shape, rows->std));
    size_t size = 256 + (size_t)rows->count * (300 + (size_t)rows->bands * 32);
    char *csv = malloc(size);
    if (!csv)
        return fb_error(FB_ERR_NOMEM, "gradspec.csv: out of memory");
    size_t used = (size_t)snprintf(csv, size, "row,source,convention");
    for (int b = 0; b < rows->bands; b++)
        used += (size_t)snprintf(csv + used, size - used, ",mean_%d", b);
    for (int b = 0; b < rows->bands; b++)
        used += (size_t)snprintf(csv + used, size - used, ",std_%d", b);
    used += (size_t)snprintf(csv + used, size - used, "\n");
    for (int r = 0; r < rows->count; r++) {
        used += (size_t)snprintf(csv + used, size - used, "%d,\"%s\",%s", r, rows->label[r],
                                 fb_radial_convention_name(rows->convention));
        for (int b = 0; b < rows->bands; b++)
            used += (size_t)snprintf(csv + used, size - used, ",%.6f", rows->mean[(size_t)r * rows->bands + b]);
        for (int b = 0; b < rows->bands; b++)
            used += (size_t)snprintf(csv + used, size - used, ",%.6f", rows->std[(size_t)r * rows->bands + b]);
        used += (size_t)snprintf(csv + used, size - used, "\n");
    }
    snprintf(path, sizeof path, "%s/gradspec.csv", dir);
    fb_status status = train_write_text(path, csv);
    free(csv);
    if (status == FB_OK)
        status = write_heatmap(rows, dir, y_label, y_first);
    return status;
}

fb_status fb_gradspec_rows_restore(fb_gradspec_rows *rows, const char *dir, int keep)
{
    char path[1100];
    fb_npy_array mean, std;
    rows->count = 0;
    snprintf(path, sizeof path, "%s/gradspec_mean.npy", dir);
    if (fb_npy_read(path, &mean) != FB_OK)
        return FB_OK;
    snprintf(path, sizeof path, "%s/gradspec_std.npy", dir);
    if (fb_npy_read(path, &std) != FB_OK) {
        fb_npy_free(&mean);
        return FB_OK;
    }
    fb_status status = FB_OK;
    if (mean.dtype != FB_NPY_F32 || std.dtype != FB_NPY_F32 || mean.ndim != 2 || std.ndim != 2 ||
        mean.shape[1] != rows->bands || std.shape[0] != mean.shape[0] || std.shape[1] != rows->bands) {
        status = fb_error(FB_ERR_FORMAT, "%s: gradspec files do not match %d bands", dir, rows->bands);
    } else {
        int64_t count64 = mean.shape[0] < keep ? mean.shape[0] : keep;
        int count = count64 < 0 ? 0 : (int)count64;
        count = count < rows->capacity ? count : rows->capacity;
        memcpy(rows->mean, mean.data, (size_t)count * rows->bands * sizeof(float));
        memcpy(rows->std, std.data, (size_t)count * rows->bands * sizeof(float));
        for (int r = 0; r < count; r++)
            snprintf(rows->label[r], sizeof rows->label[r], r == 0 ? "before training" : "epoch %d", r - 1);
        rows->count = count;
    }
    fb_npy_free(&mean);
    fb_npy_free(&std);
    return status;
}

void fb_gradspec_rows_free(fb_gradspec_rows *rows)
{
    free(rows->mean);
    free(rows->std);
    free(rows->label);
    memset(rows, 0, sizeof *rows);
}
