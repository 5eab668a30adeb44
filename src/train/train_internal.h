/* train_internal.h — what the files of src/train share: one training run
 * in progress (trainer.c drives it, run_files.c writes its files). */
#ifndef FREQBIAS_TRAIN_INTERNAL_H
#define FREQBIAS_TRAIN_INTERNAL_H

#include "freqbias/model.h"
#include "freqbias/train.h"

/* The settings as key=value pairs for state.safetensors: keys[i],
 * values[i] (written into the caller's storage, TRAIN_SETTING_KEYS
 * entries of 600 bytes). */
#define TRAIN_SETTING_KEYS 21
int train_settings_to_pairs(const fb_train_settings *settings, const char **keys, char values[][600]);

typedef struct train_run {
    const fb_train_job *job;
    const fb_train_settings *s;  /* &job->settings */
    char train_sha[65], test_sha[65];
    fb_model *model;
    int next_epoch, best_epoch;
    double best_top1;
    double seconds;              /* training wall time so far */
    char *log;                   /* log.csv text so far */
    fb_gradspec_rows gradspec;   /* online gradient spectrum, one row per epoch + 1 */
    fb_radial_bins bins;
} train_run;

/* Writes text to path atomically. */
fb_status train_write_text(const char *path, const char *text);

/* run.json: the command, versions, data hashes, progress and status. */
fb_status train_write_run_json(const train_run *run, const char *status);
/* The log.csv header and the rows of epochs 0..next_epoch − 1 of an
 * existing log in out, sized by that file, not by next_epoch (NULL when
 * out of memory). */
char *train_restore_log(const char *out, int next_epoch);
fb_status train_append_log(train_run *run, const char *row);
/* After epoch `epoch`: checkpoints, log.csv, then state.safetensors (the
 * commit point of a resume), then run.json. */
fb_status train_save_epoch(train_run *run, int epoch, int improved);

#endif
