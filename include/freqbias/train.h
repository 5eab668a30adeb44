/* freqbias/train.h — training a CIFAR ResNet: the seed's easy_train.py as
 * one library call, deterministic and resumable.
 *
 * Recipe (PAPER.md "Training recipe"): SGD lr 0.1, momentum 0.9, weight
 * decay 5e-4, batch 128 shuffled with drop_last=False, mean cross-entropy,
 * reflect-pad 4 → random crop → horizontal flip, lr × 0.1 every 50 epochs.
 *
 *     fb_train_settings settings;
 *     fb_train_settings_default(&settings);          then set out, arch, ...
 *     fb_train_job job = {.train = &train_set, .test = &test_set, ...};
 *     job.settings = settings;
 *     fb_train_outcome outcome;
 *     FB_TRY(fb_train_run(&job, &outcome));
 *
 * After every epoch fb_train_run evaluates on the test set and writes into
 * settings.out: epoch_NNN.safetensors, last.safetensors, best.safetensors
 * (best clean top-1), log.csv, run.json and state.safetensors (model +
 * momentum + settings: the single commit point of a resume). A killed run
 * resumes from the last state (job.resume = 1) and produces the same bytes
 * as a run that was never killed: the data order and augmentation of epoch
 * e are pure functions of (seed, e, image).
 *
 * With settings.gradspec = N the gradient spectrum of the first N test
 * images is measured before training and after every epoch (the paper's
 * Fig. 3 evolution, online): gradspec_mean.npy, gradspec_std.npy,
 * gradspec.csv, gradspec.png — rows kept in fb_gradspec_rows, which
 * `freqbias gradspec` also uses for its one-row-per-checkpoint files.
 *
 * The settings are checked by ONE function, fb_train_settings_problem, for
 * the command line and for a state file read back by --resume alike: a
 * hostile state file is rejected with the file and the field named, never
 * trained on.
 */
#ifndef FREQBIAS_TRAIN_H
#define FREQBIAS_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "freqbias/dataset.h"
#include "freqbias/error.h"
#include "freqbias/spectrum.h"

#define FB_TRAIN_MAX_MILESTONES 16
/* The largest epoch count (and epoch index) a run may have: keeps
 * epochs + 1 rows of the gradient spectrum and every epoch number far
 * from int overflow. */
#define FB_TRAIN_MAX_EPOCHS 1000000

/* ---- settings ---- */

typedef struct fb_train_settings {
    /* where the data came from, recorded in the state so a resume reloads
     * it (the trainer itself receives loaded datasets) */
    char data[512], dataset[32], train_data[512], test_data[512];
    char out[512];            /* output folder; must exist */
    char init[512];           /* starting checkpoint ("" = seeded init)   */
    char arch[16], backend[16];
    int width, epochs, batch;
    int subset;               /* train on the first N images (0 = all)    */
    int augment, shuffle;     /* 0 or 1 */
    int threads;              /* not stored: a resume may use other ones   */
    int gradspec;             /* test images for the online gradient spectrum (0 = off) */
    double lr, momentum, weight_decay, lr_gamma;
    int lr_step;              /* lr × gamma every lr_step epochs (0 = never) ...   */
    int milestones[FB_TRAIN_MAX_MILESTONES], milestone_count; /* ... unless milestones */
    uint64_t seed;
} fb_train_settings;

/* The robustness recipe: resnet18 width 64, 200 epochs, batch 128, ... */
void fb_train_settings_default(fb_train_settings *settings);

/* NULL when the settings can be trained on; else the state-file key of the
 * first bad field ("width", "lr_gamma", ...) with the reason in why. The
 * command line and the state reader both call this. */
const char *fb_train_settings_problem(const fb_train_settings *settings, char *why, size_t why_size);

/* Parses "60,120,180" into settings->milestones; 0 when the text is not a
 * list of 1..FB_TRAIN_MAX_MILESTONES epochs in 0..FB_TRAIN_MAX_EPOCHS. */
int fb_train_parse_milestones(fb_train_settings *settings, const char *text);

/* The learning rate of epoch e (0-based): lr × gamma^(milestones passed). */
double fb_train_lr_at(const fb_train_settings *settings, int epoch);

/* ---- the training state (state.safetensors metadata) ---- */

typedef struct fb_train_resume_point {
    fb_train_settings settings; /* threads = 0: the caller chooses */
    int next_epoch;             /* first epoch still to train (0..FB_TRAIN_MAX_EPOCHS) */
    int best_epoch;             /* -1 = none yet */
    double best_top1, seconds;  /* best clean top-1 so far, training wall time so far */
} fb_train_resume_point;

/* Reads and checks the metadata of a training state file: every number
 * must parse completely and pass fb_train_settings_problem; next_epoch,
 * best_epoch, best_top1 and train_seconds must be in range. A bad file
 * gives FB_ERR_FORMAT naming path and field. Weights are not loaded here
 * (fb_train_run does that). */
fb_status fb_train_state_read(const char *path, fb_train_resume_point *point);

/* ---- running ---- */

typedef enum fb_train_event_kind {
    FB_TRAIN_EPOCH_START, /* epoch, epochs, batches, lr                           */
    FB_TRAIN_BATCH_DONE,  /* + batch (1-based count done), images so far            */
    FB_TRAIN_EPOCH_DONE   /* + train/test loss and top-1, images per second, seconds */
} fb_train_event_kind;

typedef struct fb_train_event {
    fb_train_event_kind kind;
    int epoch, epochs, batch, batches;
    long images;
    double lr, train_loss, train_top1, test_loss, test_top1, images_per_second, seconds;
} fb_train_event;

typedef void (*fb_train_callback)(const fb_train_event *event, void *user);

typedef struct fb_train_job {
    fb_train_settings settings;    /* checked by fb_train_run */
    const fb_dataset *train, *test; /* same square image size */
    int resume;                    /* continue from settings.out/state.safetensors */
    const char *const *command;    /* recorded in run.json (may be NULL) */
    int command_count;
    fb_train_callback callback;    /* progress (may be NULL) */
    void *user;
} fb_train_job;

typedef struct fb_train_outcome {
    int epochs_done, best_epoch;
    double best_top1, seconds;
} fb_train_outcome;

/* Trains (or resumes) job->settings.epochs epochs. FB_ERR_NUMERIC when the
 * loss becomes non-finite (the last good checkpoint stays intact and
 * run.json says "stopped: non-finite loss"). Under MPI every rank calls it
 * with the same job: each trains its shard of every batch, and the files
 * rank 0 writes have the bytes of one process on cpu and cpu-ref; on cuda
 * they are fixed for a given number of ranks (trainer.c). */
fb_status fb_train_run(const fb_train_job *job, fb_train_outcome *outcome);

/* ---- gradient-spectrum rows and their files ---- */

typedef struct fb_gradspec_rows {
    int capacity, count, bands;
    fb_radial_convention convention;
    float *mean, *std;   /* [capacity, bands] */
    char (*label)[256];  /* [capacity] what each row is (a checkpoint path, "init", "epoch 3") */
} fb_gradspec_rows;

fb_status fb_gradspec_rows_init(fb_gradspec_rows *rows, int capacity, int bands,
                                fb_radial_convention convention);
void fb_gradspec_rows_label(fb_gradspec_rows *rows, int row, const char *label);
/* Writes the first rows->count rows into dir (atomic files), and
 * gradspec.png: the heat map after one global min-max over all rows, x =
 * frequency band, y = row (row 0 at the bottom, labelled y_label, numbered
 * from y_first). */
fb_status fb_gradspec_rows_write(const fb_gradspec_rows *rows, const char *dir, const char *y_label,
                                 double y_first);
/* Reads back up to `keep` (>= 0) rows of an earlier gradspec_mean/std.npy
 * in dir (for a resume); missing files leave count = 0. */
fb_status fb_gradspec_rows_restore(fb_gradspec_rows *rows, const char *dir, int keep);
void fb_gradspec_rows_free(fb_gradspec_rows *rows);

#endif
