/* cli_util.h — what the subcommands share: loading the datasets named by
 * the options, a progress bar, folders, small text files, exit codes. */
#ifndef FREQBIAS_CLI_UTIL_H
#define FREQBIAS_CLI_UTIL_H

#include <stdio.h>

#include "freqbias/dataset.h"
#include "freqbias/error.h"

/* Prints "freqbias <command>: <message>" to stderr and returns the exit code
 * for status (1 usage, 2 input/output, 3 numeric). With more than one MPI
 * rank it ends the whole job instead (fb_dist_abort, the rank named), so no
 * rank is left waiting in a collective for this one. */
int cli_fail(const char *command, fb_status status);

/* The training or test split from --data DIR --dataset KIND, or from a
 * --train-data / --test-data path when given (that wins; a folder in the
 * CIFAR-10 layout — the official one or a generated CDES set — gives the
 * requested split: test_batch.bin, or data_batch_1.bin, 2, ... as far as
 * they exist, of any length). DIR may
 * hold the files directly or in the official archive's subfolder
 * (cifar-10-batches-bin, cifar-100-binary). */
fb_status cli_load_dataset(const char *dir, const char *kind, const char *path, fb_split split,
                           fb_dataset *out);

/* A model shaped like the checkpoint (architecture from its metadata or
 * tensor shapes) for data's images, batches up to `batch`, on `backend`;
 * with load, the checkpoint's values are loaded too. */
struct fb_model;
struct fb_backend;
fb_status cli_model_for(struct fb_model **model, const char *ckpt, const fb_dataset *data,
                        int batch, const struct fb_backend *backend, int load);

/* uint8 planar images [count, C, H, W] as the seed's N×H×W×C .npy (atomic). */
fb_status cli_write_nhwc_npy(const char *path, const uint8_t *pixels, int count, int channels,
                             int height, int width);

/* A growing string for files built piece by piece (reports, records,
 * CSV, run.json). On an allocation failure it stops growing and sets
 * failed, so the caller reports it instead of writing a truncated file. */
typedef struct cli_text {
    char *data;
    size_t used, capacity;
    int failed;
} cli_text;

void cli_text_add(cli_text *text, const char *format, ...) __attribute__((format(printf, 2, 3)));
void cli_text_free(cli_text *text);
/* Writes the text to path (cli_write_text), or FB_ERR_NOMEM naming path
 * when it failed to grow, so no truncated file is written. */
fb_status cli_text_write(const char *path, const cli_text *text);

/* mkdir -p */
fb_status cli_make_dirs(const char *path);

/* Writes text to path atomically. */
fb_status cli_write_text(const char *path, const char *text);

/* A progress bar on stderr, drawn only when stderr is a terminal (and only
 * by MPI rank 0). */
typedef struct cli_progress {
    int enabled;
    double start;
    const char *label;
} cli_progress;

void cli_progress_start(cli_progress *progress, const char *label);
void cli_progress_update(cli_progress *progress, long done, long total, long images);
void cli_progress_finish(cli_progress *progress);

double cli_now(void);

#endif
