/* report_results.h — reading back what the stages wrote: CSV tables (with
 * a header row, quoted fields allowed), radius sweeps (sweep.csv), gradient
 * spectra (gradspec.csv), training logs (log.csv) and .npy vectors.
 *
 * Every loader returns FB_OK with the data, or an error naming the file;
 * the report treats a missing file as "stage did not run" and says so.
 */
#ifndef FREQBIAS_CLI_REPORT_RESULTS_H
#define FREQBIAS_CLI_REPORT_RESULTS_H

#include <stddef.h>

#include "freqbias/error.h"

/* The whole file as a NUL-terminated string in *text (free it), *size its
 * length; an error naming the file when it cannot be read or is larger than
 * CSV_MAX_BYTES (every text the report reads back is far smaller). */
fb_status read_text_file(const char *path, char **text, size_t *size);

/* ---------------------------------------------------------------- CSV */

/* Limits (README "Limits"): our stages write at most a few thousand rows
 * of at most ~50 columns. */
#define CSV_MAX_BYTES (256ul << 20)
#define CSV_MAX_COLUMNS 1024
#define CSV_MAX_ROWS 1000000

typedef struct csv_table {
    int rows, cols;     /* data rows (header excluded), columns of the header */
    char **fields;      /* every field present, row by row (≤ cols a row)     */
    size_t *row_first;  /* [rows + 2]: index in fields of each row's first one;
                           row 0 is the header; a short row reads "" beyond its end */
    char *storage;
} csv_table;

fb_status csv_read(const char *path, csv_table *table);
void csv_free(csv_table *table);
int csv_column(const csv_table *table, const char *name);            /* -1 if absent */
const char *csv_cell(const csv_table *table, int row, int column);   /* data row */
const char *csv_header(const csv_table *table, int column);          /* "" if absent */
double csv_number(const csv_table *table, int row, const char *name); /* NaN if absent */

/* -------------------------------------------------------------- sweeps */

#define SWEEP_MAX_ROWS 40

typedef struct sweep_row {
    char freq[8];   /* clean, low, high */
    double r, top1, top5, loss, inter, intra, ratio;
} sweep_row;

typedef struct sweep_result {
    int count;
    sweep_row rows[SWEEP_MAX_ROWS];
} sweep_result;

fb_status sweep_load(const char *dir, sweep_result *sweep);
/* The row for (freq, r) (r ignored for "clean"), or NULL. */
const sweep_row *sweep_find(const sweep_result *sweep, const char *freq, double r);
double sweep_top1(const sweep_result *sweep, const char *freq, double r);  /* NaN if absent */
double sweep_inter(const sweep_result *sweep, const char *freq, double r); /* NaN if absent */
/* Pearson correlation of top-1 and inter-class variance over all rows. */
double sweep_pearson(const sweep_result *sweep);

/* ---------------------------------------------------- gradient spectra */

#define GRADSPEC_MAX_ROWS 256
#define GRADSPEC_MAX_BANDS 64

typedef struct gradspec_result {
    int rows, bands;
    float mean[GRADSPEC_MAX_ROWS][GRADSPEC_MAX_BANDS];
    char label[GRADSPEC_MAX_ROWS][64];
} gradspec_result;

fb_status gradspec_load(const char *dir, gradspec_result *spectra);
int gradspec_peak_band(const gradspec_result *spectra, int row);
/* The value of (row, band) after one min-max over the whole matrix (as
 * the heat map shows it). */
double gradspec_scaled(const gradspec_result *spectra, int row, int band);

/* --------------------------------------------------------- train logs */

#define TRAIN_LOG_MAX 512

typedef struct train_log {
    int epochs;
    double lr[TRAIN_LOG_MAX], train_loss[TRAIN_LOG_MAX], train_acc[TRAIN_LOG_MAX];
    double test_loss[TRAIN_LOG_MAX], test_acc[TRAIN_LOG_MAX], seconds[TRAIN_LOG_MAX];
} train_log;

fb_status train_log_load(const char *dir, train_log *log);

/* ----------------------------------------------------------------- npy */

/* All values of a float32 .npy (any shape) into out[max]; *count = how many. */
fb_status npy_floats_load(const char *path, float *out, int max, int *count);

#endif
