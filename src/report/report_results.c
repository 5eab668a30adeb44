/* report_results.c — readers for the stages' result files (see
 * report_results.h). The CSV reader handles what our writers produce:
 * comma-separated fields, optionally double-quoted (with "" for a quote),
 * one record per line, a header row first.
 */
#include "report_results.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "freqbias/npy.h"

fb_status read_text_file(const char *path, char **text, size_t *size)
{
    *text = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return fb_error(FB_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    fb_status status = FB_OK;
    long end = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        end = ftell(f);
    if (end < 0 || fseek(f, 0, SEEK_SET) != 0)
        status = fb_error(FB_ERR_IO, "%s: cannot read (not a regular file?)", path);
    else if ((unsigned long)end > CSV_MAX_BYTES)
        status = fb_error(FB_ERR_FORMAT, "%s: text file of %ld bytes, more than the limit of %lu",
                          path, end, (unsigned long)CSV_MAX_BYTES);
    else if (!(*text = malloc((size_t)end + 1)))
        status = fb_error(FB_ERR_NOMEM, "%s: out of memory", path);
    else {
        *size = fread(*text, 1, (size_t)end, f);
        (*text)[*size] = '\0';
    }
    fclose(f);
    return status;
}

/* Memory: the table keeps the fields each row really has (row_first[r] is
 * the index of row r's first field), never rows × columns cells, so what it
 * allocates is proportional to the file's size: a 40 KB file of 20,000
 * commas and 20,000 newlines takes about 400 KB (it used to ask for a
 * 3.2 GB table). A header wider than CSV_MAX_COLUMNS or more than
 * CSV_MAX_ROWS rows is an error naming the file. */
fb_status csv_read(const char *path, csv_table *table)
{
    memset(table, 0, sizeof *table);
    size_t size = 0;
    char *text;
    FB_TRY(read_text_file(path, &text, &size));
    /* first pass: count lines, the header's fields and all separators */
    size_t lines = 0, separators = 0, cols = 1;
    int in_quotes = 0;
    for (size_t i = 0; i < size; i++) {
        if (text[i] == '"')
            in_quotes = !in_quotes;
        if (!in_quotes && text[i] == ',') {
            separators++;
            if (lines == 0)
                cols++;
        }
        if (!in_quotes && text[i] == '\n')
            lines++;
    }
    if (size && text[size - 1] != '\n')
        lines++;
    fb_status status = FB_OK;
    if (lines < 1)
        status = fb_error(FB_ERR_FORMAT, "%s: empty CSV file (no header row)", path);
    else if (cols > CSV_MAX_COLUMNS)
        status = fb_error(FB_ERR_FORMAT, "%s: the header row has %zu columns, more than the limit "
                          "of %d", path, cols, CSV_MAX_COLUMNS);
    else if (lines - 1 > CSV_MAX_ROWS)
        status = fb_error(FB_ERR_FORMAT, "%s: %zu data rows, more than the limit of %d", path,
                          lines - 1, CSV_MAX_ROWS);
    if (status != FB_OK) {
        free(text);
        return status;
    }
    table->cols = (int)cols;
    table->rows = (int)lines - 1;
    table->storage = text;
    /* at most every separator and line end closes a field */
    table->fields = malloc((separators + lines + 1) * sizeof *table->fields);
    table->row_first = malloc((lines + 1) * sizeof *table->row_first);
    if (!table->fields || !table->row_first) {
        csv_free(table);
        return fb_error(FB_ERR_NOMEM, "%s: out of memory", path);
    }
    /* second pass: cut the fields in place, removing quotes; a row keeps at
     * most cols fields */
    size_t row = 0, col = 0, count = 0;
    char *read = text, *write = text, *field = text;
    table->row_first[0] = 0;
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
                table->fields[count++] = field;
            field = write;
            if (c == ',') {
                col++;
            } else {
                table->row_first[++row] = count;
                col = 0;
            }
            continue;
        }
        *write++ = c;
    }
    if (row < lines && write > field) {
        *write = '\0';
        if (col < cols)
            table->fields[count++] = field;
    }
    while (row < lines)
        table->row_first[++row] = count;
    return FB_OK;
}

void csv_free(csv_table *table)
{
    free(table->fields);
    free(table->row_first);
    free(table->storage);
    memset(table, 0, sizeof *table);
}

/* Field `column` of table row `row` (0 = the header), "" where the row is short. */
static const char *table_field(const csv_table *table, int row, int column)
{
    size_t first = table->row_first[row], next = table->row_first[row + 1];
    return first + (size_t)column < next ? table->fields[first + (size_t)column] : "";
}

int csv_column(const csv_table *table, const char *name)
{
    for (int c = 0; c < table->cols; c++)
        if (strcmp(table_field(table, 0, c), name) == 0)
            return c;
    return -1;
}

const char *csv_cell(const csv_table *table, int row, int column)
{
    if (row < 0 || row >= table->rows || column < 0 || column >= table->cols)
        return "";
    return table_field(table, row + 1, column);
}

const char *csv_header(const csv_table *table, int column)
{
    if (column < 0 || column >= table->cols)
        return "";
    return table_field(table, 0, column);
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
