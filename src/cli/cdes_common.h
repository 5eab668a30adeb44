/* cdes_common.h — what `cdes-train` and `cdes-generate` share: the image
 * sets each kernel set is trained on, checkpoint names, the toy model, and
 * the density figure. */
#ifndef FREQBIAS_CLI_CDES_COMMON_H
#define FREQBIAS_CLI_CDES_COMMON_H

#include <stdint.h>

#include "freqbias/dataset.h"
#include "freqbias/model.h"

#define CDES_WCR_SET 10 /* set key of the shared WCR kernels (SCR sets are the classes 0..9) */

typedef enum cdes_mode { CDES_SCR, CDES_WCR } cdes_mode;

fb_status cdes_mode_parse(const char *name, cdes_mode *mode); /* "scr", "wcr" */
const char *cdes_mode_name(cdes_mode mode);

/* Both splits from --data DIR: a folder in the CIFAR-10 layout itself
 * (test_batch.bin + data_batch_1.bin, ... of any length, e.g. a small
 * fixture or another generated set), else DIR/--dataset as everywhere. */
fb_status cdes_load_splits(const char *dir, const char *kind, fb_dataset *train, fb_dataset *test);

/* The images one kernel set trains on, as floats in [0,1]: SCR class c =
 * that class's training images then its test images, in order; WCR = all
 * training then all test images. At most `subset` of them (≤ 0: all).
 * *images = malloc'd [*count, 3, H, W]. */
fb_status cdes_gather_set(float **images, int *count, const fb_dataset *train, const fb_dataset *test,
                          cdes_mode mode, int class_index, int subset);

/* DIR/scr_class<c>_epoch<k>.safetensors, DIR/wcr_epoch<k>.safetensors, and
 * with epoch < 0 the final kernels DIR/scr_class<c>_last.safetensors /
 * DIR/wcr_last.safetensors. */
void cdes_checkpoint_path(char *path, size_t size, const char *dir, cdes_mode mode, int class_index,
                          int epoch);

/* A toy model Conv(3→filters, k) → Conv(filters→3, k) for 32×32 images. */
fb_status cdes_model_create(fb_model **model, int filters, int kernel, int max_batch,
                            const char *backend_name);

/* Achieved vs target density figure: target[20], mean densities of the
 * kernel outputs and of the originals (each [20]). */
fb_status cdes_density_figure(const char *path, const char *title, const float *target,
                              const float *achieved, const float *original);

#endif
