/* gradspec_output.h — the rows of a gradient-spectrum evolution and their
 * files (gradspec_mean.npy, gradspec_std.npy, gradspec.csv), shared by
 * `freqbias gradspec` (one row per checkpoint) and `freqbias train
 * --gradspec N` (one row before training and one per epoch). */
#ifndef FREQBIAS_CLI_GRADSPEC_OUTPUT_H
#define FREQBIAS_CLI_GRADSPEC_OUTPUT_H

#include "freqbias/error.h"
#include "freqbias/spectrum.h"

typedef struct gradspec_rows {
    int capacity, count, bands;
    fb_radial_convention convention;
    float *mean, *std;   /* [capacity, bands] */
    char (*label)[256];  /* [capacity] what each row is (a checkpoint path, "init", "epoch 3") */
} gradspec_rows;

fb_status gradspec_rows_init(gradspec_rows *rows, int capacity, int bands,
                             fb_radial_convention convention);
void gradspec_rows_label(gradspec_rows *rows, int row, const char *label);
/* Writes the first rows->count rows into dir (atomic files), and
 * gradspec.png: the heat map after one global min-max over all rows, x =
 * frequency band, y = row (row 0 at the bottom, labelled y_label, numbered
 * from y_first). */
fb_status gradspec_rows_write(const gradspec_rows *rows, const char *dir, const char *y_label,
                              double y_first);
/* Reads back up to `keep` rows of an earlier gradspec_mean/std.npy in dir
 * (for --resume); missing files leave count = 0. */
fb_status gradspec_rows_restore(gradspec_rows *rows, const char *dir, int keep);
void gradspec_rows_free(gradspec_rows *rows);

#endif
