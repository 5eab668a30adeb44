/* report_results.c — readers for the stages' result files (see
 * report_results.h). The CSV reader handles what our writers produce:
 * comma-separated fields, optionally double-quoted (with "" for a quote),
 * one record per line, a header row first.
 */
#include "report_results.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "freqbias/npy.h"

char *read_text_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *text = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long end = ftell(f);
        if (end >= 0 && fseek(f, 0, SEEK_SET) == 0 && (text = malloc((size_t)end + 1))) {
            *size = fread(text, 1, (size_t)end, f);
            text[*size] = '\0';
        }
    }
    fclose(f);
    return text;
}

fb_status csv_read(const char *path, csv_table *table)
{
    memset(table, 0, sizeof *table);
    size_t size = 0;
    char *text = read_text_file(path, &size);
    if (!text)
        return fb_error(FB_ERR_IO, "%s: cannot read", path);
    /* first pass: count lines and the header's fields */
    int lines = 0, cols = 1, in_quotes = 0;
    for (size_t i = 0; i < size; i++) {
        if (text[i] == '"')
            in_quotes = !in_quotes;
        if (!in_quotes && text[i] == ',' && lines == 0)
            cols++;
        if (!in_quotes && text[i] == '\n')
            lines++;
    }
    if (size && text[size - 1] != '\n')
        lines++;
    if (lines < 1) {
        free(text);
        return fb_error(FB_ERR_FORMAT, "%s: empty CSV file (no header row)", path);
    }
    table->cols = cols;
    table->rows = lines - 1;
    table->storage = text;
    table->cells = calloc((size_t)lines * cols, sizeof *table->cells);
    if (!table->cells) {
        csv_free(table);
        return fb_error(FB_ERR_NOMEM, "%s: out of memory", path);
    }
    for (size_t i = 0; i < (size_t)lines * cols; i++)
        table->cells[i] = "";
    /* second pass: cut the fields in place, removing quotes */
    int row = 0, col = 0;
    char *read = text, *write = text, *field = text;
    in_quotes = 0;
    while (read < text + size && row < lines) {
        char c = *read++;
        if (c == '"') {
            if (in_quotes && *read == '"') {
                *write++ = '"';
                read++;
            } else {
                in_quotes = !in_quotes;
            }
            continue;
        }
        if (!in_quotes && (c == ',' || c == '\n' || c == '\r')) {
            if (c == '\r' && *read == '\n')
                read++;
            *write++ = '\0';
            if (col < cols)
                table->cells[(size_t)row * cols + col] = field;
            field = write;
            if (c == ',') {
                col++;
            } else {
                row++;
                col = 0;
            }
            continue;
        }
        *write++ = c;
    }
    if (row < lines && write > field) {
        *write = '\0';
        if (col < cols)
            table->cells[(size_t)row * cols + col] = field;
    }
    return FB_OK;
}

void csv_free(csv_table *table)
{
    free(table->cells);
    free(table->storage);
    memset(table, 0, sizeof *table);
}

int csv_column(const csv_table *table, const char *name)
{
    for (int c = 0; c < table->cols; c++)
        if (strcmp(table->cells[c], name) == 0)
            return c;
    return -1;
}

const char *csv_cell(const csv_table *table, int row, int column)
{
    if (row < 0 || row >= table->rows || column < 0 || column >= table->cols)
        return "";
    return table->cells[(size_t)(row + 1) * table->cols + column];
}

double csv_number(const csv_table *table, int row, const char *name)
{
    const char *cell = csv_cell(table, row, csv_column(table, name));
    char *end;
    double value = strtod(cell, &end);
    return *cell && end != cell ? value : NAN;
}

fb_status sweep_load(const char *dir, sweep_result *sweep)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/sweep.csv", dir);
    memset(sweep, 0, sizeof *sweep);
    csv_table table;
    FB_TRY(csv_read(path, &table));
    if (csv_column(&table, "freq") < 0 || csv_column(&table, "top1") < 0 ||
        csv_column(&table, "inter_class_var") < 0) {
        csv_free(&table);
        return fb_error(FB_ERR_FORMAT, "%s: not a sweep table (needs freq, top1, inter_class_var columns)", path);
    }
    for (int i = 0; i < table.rows && sweep->count < SWEEP_MAX_ROWS; i++) {
        sweep_row *row = &sweep->rows[sweep->count++];
        snprintf(row->freq, sizeof row->freq, "%s", csv_cell(&table, i, csv_column(&table, "freq")));
        row->r = csv_number(&table, i, "r");
        row->top1 = csv_number(&table, i, "top1");
        row->top5 = csv_number(&table, i, "top5");
        row->loss = csv_number(&table, i, "loss");
        row->inter = csv_number(&table, i, "inter_class_var");
        row->intra = csv_number(&table, i, "intra_class_var");
        row->ratio = csv_number(&table, i, "ratio");
    }
    csv_free(&table);
    return FB_OK;
}

const sweep_row *sweep_find(const sweep_result *sweep, const char *freq, double r)
{
    for (int i = 0; sweep && i < sweep->count; i++)
        if (strcmp(sweep->rows[i].freq, freq) == 0 && (strcmp(freq, "clean") == 0 || fabs(sweep->rows[i].r - r) < 1e-9))
            return &sweep->rows[i];
    return NULL;
}

double sweep_top1(const sweep_result *sweep, const char *freq, double r)
{
    const sweep_row *row = sweep_find(sweep, freq, r);
    return row ? row->top1 : NAN;
}

double sweep_inter(const sweep_result *sweep, const char *freq, double r)
{
    const sweep_row *row = sweep_find(sweep, freq, r);
    return row ? row->inter : NAN;
}

double sweep_pearson(const sweep_result *sweep)
{
    int n = sweep->count;
    if (n < 2)
        return NAN;
    double mx = 0, my = 0, sxx = 0, syy = 0, sxy = 0;
    for (int i = 0; i < n; i++) {
        mx += sweep->rows[i].top1 / n;
        my += sweep->rows[i].inter / n;
    }
    for (int i = 0; i < n; i++) {
        double dx = sweep->rows[i].top1 - mx, dy = sweep->rows[i].inter - my;
        sxx += dx * dx;
        syy += dy * dy;
        sxy += dx * dy;
    }
    return sxx > 0 && syy > 0 ? sxy / sqrt(sxx * syy) : NAN;
}

fb_status gradspec_load(const char *dir, gradspec_result *spectra)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/gradspec.csv", dir);
    spectra->rows = spectra->bands = 0;
    csv_table table;
    FB_TRY(csv_read(path, &table));
    int bands = 0;
    while (bands < GRADSPEC_MAX_BANDS) {
        char name[32];
        snprintf(name, sizeof name, "mean_%d", bands);
        if (csv_column(&table, name) < 0)
            break;
        bands++;
    }
    if (bands == 0 || table.rows == 0) {
        csv_free(&table);
        return fb_error(FB_ERR_FORMAT, "%s: no mean_<band> columns or no rows", path);
    }
    spectra->bands = bands;
    for (int r = 0; r < table.rows && r < GRADSPEC_MAX_ROWS; r++) {
        for (int b = 0; b < bands; b++) {
            char name[32];
            snprintf(name, sizeof name, "mean_%d", b);
            spectra->mean[r][b] = (float)csv_number(&table, r, name);
        }
        snprintf(spectra->label[r], sizeof spectra->label[r], "%s", csv_cell(&table, r, csv_column(&table, "source")));
        spectra->rows = r + 1;
    }
    csv_free(&table);
    return FB_OK;
}

int gradspec_peak_band(const gradspec_result *spectra, int row)
{
    int best = 0;
    for (int b = 1; b < spectra->bands; b++)
        if (spectra->mean[row][b] > spectra->mean[row][best])
            best = b;
    return best;
}

double gradspec_scaled(const gradspec_result *spectra, int row, int band)
{
    double lo = INFINITY, hi = -INFINITY;
    for (int r = 0; r < spectra->rows; r++)
        for (int b = 0; b < spectra->bands; b++) {
            lo = fmin(lo, spectra->mean[r][b]);
            hi = fmax(hi, spectra->mean[r][b]);
        }
    return hi > lo ? (spectra->mean[row][band] - lo) / (hi - lo) : 0.0;
}

fb_status train_log_load(const char *dir, train_log *log)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/log.csv", dir);
    log->epochs = 0;
    csv_table table;
    FB_TRY(csv_read(path, &table));
    if (csv_column(&table, "test_acc") < 0) {
        csv_free(&table);
        return fb_error(FB_ERR_FORMAT, "%s: no test_acc column", path);
    }
    for (int r = 0; r < table.rows && r < TRAIN_LOG_MAX; r++) {
        log->lr[r] = csv_number(&table, r, "lr");
        log->train_loss[r] = csv_number(&table, r, "train_loss");
        log->train_acc[r] = csv_number(&table, r, "train_acc");
        log->test_loss[r] = csv_number(&table, r, "test_loss");
        log->test_acc[r] = csv_number(&table, r, "test_acc");
        log->seconds[r] = csv_number(&table, r, "seconds");
        log->epochs = r + 1;
    }
    csv_free(&table);
    return FB_OK;
}

fb_status npy_floats_load(const char *path, float *out, int max, int *count)
{
    fb_npy_array array;
    *count = 0;
    FB_TRY(fb_npy_read(path, &array));
    fb_status status = FB_OK;
    if (array.dtype != FB_NPY_F32) {
        status = fb_error(FB_ERR_FORMAT, "%s: expected float32", path);
    } else {
        size_t n = 1;
        for (int d = 0; d < array.ndim; d++)
            n *= (size_t)array.shape[d];
        *count = n < (size_t)max ? (int)n : max;
        memcpy(out, array.data, (size_t)*count * sizeof(float));
    }
    fb_npy_free(&array);
    return status;
}
