/* freqbias/loader.h — batches for training and evaluation.
 *
 * Training order: epoch e visits the images in a permutation drawn by a
 * Fisher–Yates shuffle whose swaps come from the counter RNG keyed by
 * (seed, SHUFFLE, e, position); no shuffle = dataset order. Augmentation of
 * the image at position p of epoch e (PAPER.md recipe, as torchvision's
 * RandomCrop(32, padding=4, padding_mode='reflect') then
 * RandomHorizontalFlip()): words = Philox(seed, AUGMENT, e, dataset index);
 * crop offsets dy = words[0] mod 9, dx = words[1] mod 9 into the
 * reflect-padded (H+8)×(W+8) image, flip when words[2] is odd. Every
 * decision is a pure function of (seed, epoch, image), so a run is the same
 * on any thread count and resumes exactly. Batches keep the last partial
 * batch (drop_last=False). Pixels become float32 value/255 (ToTensor).
 */
#ifndef FREQBIAS_LOADER_H
#define FREQBIAS_LOADER_H

#include <stdint.h>

#include "freqbias/dataset.h"

typedef struct fb_loader {
    const fb_dataset *data;
    uint64_t seed;
    int shuffle, augment;
    int batch_size;
    int count;             /* images used (a --subset may be smaller)        */
    int *order;            /* [count] dataset index at each position         */
    int epoch;
} fb_loader;

fb_status fb_loader_init(fb_loader *loader, const fb_dataset *data, int count, int batch_size,
                         uint64_t seed, int shuffle, int augment);
void fb_loader_free(fb_loader *loader);

/* Sets the visiting order of an epoch. */
void fb_loader_start_epoch(fb_loader *loader, int epoch);
int fb_loader_batches(const fb_loader *loader);

/* Batch b of the current epoch: images [n, C, H, W] float in [0,1] and
 * labels [n]; returns n (the last batch may be short). Threads split the
 * images; each image's pixels depend only on (seed, epoch, index). */
int fb_loader_batch(const fb_loader *loader, int batch, float *images, int32_t *labels);

/* How many images batch b of the epoch has (the last may be short). */
int fb_loader_batch_size(const fb_loader *loader, int batch);
/* Only the samples [lo, hi) of batch b, as fb_loader_batch would put them at
 * rows lo..hi−1: images [hi − lo, C, H, W], labels [hi − lo]. A training
 * shard (one MPI rank's node of the batch tree) loads and augments just its
 * own samples; they are the same pixels a single process makes. */
void fb_loader_batch_part(const fb_loader *loader, int batch, int lo, int hi, float *images,
                          int32_t *labels);
/* The augmentation decisions for one image (exposed for tests). */
typedef struct fb_augment_choice {
    int dy, dx, flip;
} fb_augment_choice;
fb_augment_choice fb_augment_choose(uint64_t seed, int epoch, int index);

/* One image: uint8 [C, H, W] → float [C, H, W], cropped from the 4-pixel
 * reflect-padded image at (dy, dx) and mirrored when flip. dy = dx = 4 and
 * flip = 0 is the identity. */
void fb_augment_image(float *out, const uint8_t *pixels, int channels, int height, int width,
                      fb_augment_choice choice);

#endif
