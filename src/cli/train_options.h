/* train_options.h — the settings of a `freqbias train` run.
 *
 * They are parsed from the command line, stored in the run's training state
 * (state.safetensors metadata) as key=value strings, and read back by
 * --resume, so a resumed run continues with exactly the settings it began
 * with. */
#ifndef FREQBIAS_CLI_TRAIN_OPTIONS_H
#define FREQBIAS_CLI_TRAIN_OPTIONS_H

#include <stdint.h>

#define TRAIN_MAX_MILESTONES 16
#define TRAIN_OPTION_KEYS 21

typedef struct train_options {
    char data[512], dataset[32], train_data[512], test_data[512], out[512], init[512];
    char arch[16], backend[16];
    int width, epochs, batch, subset, augment, shuffle, threads;
    int gradspec;          /* test images for the online gradient spectrum (0 = off) */
    double lr, momentum, weight_decay, lr_gamma;
    int lr_step;
    int milestones[TRAIN_MAX_MILESTONES], milestone_count;
    uint64_t seed;
} train_options;

void train_options_defaults(train_options *o);
/* The learning rate of epoch e (0-based): lr × gamma^(milestones passed). */
double train_lr_at(const train_options *o, int epoch);

/* key=value pairs for the state file: keys[i], values[i] (values written
 * into the caller's storage, TRAIN_OPTION_KEYS entries of 600 bytes). */
int train_options_to_pairs(const train_options *o, const char **keys, char values[][600]);
/* Reads back what train_options_to_pairs wrote; unknown or missing keys keep
 * the defaults. lookup returns NULL for a missing key. */
void train_options_from_pairs(train_options *o, const char *(*lookup)(const void *ctx, const char *key),
                              const void *ctx);

#endif
