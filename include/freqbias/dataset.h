/* freqbias/dataset.h — image classification datasets in memory, and their readers.
 *
 * Every reader produces the same thing: `count` images of C×H×W uint8 pixels
 * (planar, CHW per image, as the CIFAR binary files store them) and int32
 * labels in [0, num_classes). Readers validate sizes, magic numbers, dtypes
 * and label ranges, never read past a buffer, and fail with a message that
 * names the file and the problem (fb_error_message()).
 *
 * Supported (see shared FORMATS.md):
 *   cifar10        DIR/data_batch_1..5.bin (train), DIR/test_batch.bin (test)
 *   cifar100       DIR/train.bin, DIR/test.bin (fine labels; coarse on request)
 *   mnist, fashion-mnist   DIR/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]
 *   npy            the seed's layout: uint8 N×H×W×C images .npy + integer labels .npy
 *   cifar-file     one CIFAR-10-format .bin file (e.g. a generated HARS/CDES set)
 */
#ifndef FREQBIAS_DATASET_H
#define FREQBIAS_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "freqbias/error.h"

typedef enum fb_split { FB_SPLIT_TRAIN, FB_SPLIT_TEST } fb_split;

typedef struct fb_dataset {
    int count;                 /* images                                        */
    int channels, height, width;
    int num_classes;
    uint8_t *pixels;           /* [count, channels, height, width], owned       */
    int32_t *labels;           /* [count], owned                                */
    char source[512];          /* what was read (for messages and run records)  */
} fb_dataset;

/* Reads `kind` ("cifar10", "cifar100", "cifar100-coarse", "mnist",
 * "fashion-mnist") from a folder. */
fb_status fb_dataset_load(const char *dir, const char *kind, fb_split split, fb_dataset *out);

/* Reads a dataset given as a path: a CIFAR-10-format .bin file, a folder of
 * such files (all *.bin, sorted by name), or an images .npy whose labels are
 * in the same folder as "<stem with images→labels>.npy" or "labels.npy". */
fb_status fb_dataset_load_path(const char *path, fb_dataset *out);

fb_status fb_cifar10_read(const char *dir, fb_split split, fb_dataset *out);
fb_status fb_cifar100_read(const char *dir, fb_split split, int coarse, fb_dataset *out);
/* One or more CIFAR-10-format files (label byte + 3072 pixel bytes per record). */
fb_status fb_cifar10_read_files(const char *const *paths, int count, fb_dataset *out);
/* IDX images (N×H×W ubyte) + labels (N ubyte), each plain or gzip. */
fb_status fb_idx_read(const char *images_path, const char *labels_path, fb_dataset *out);
/* uint8 N×H×W×C (or N×H×W) images and integer (i1..i8, u1..u8) labels. */
fb_status fb_npy_dataset_read(const char *images_path, const char *labels_path, fb_dataset *out);

/* Writes CIFAR-10-format records (3 channels, 32×32, labels < 256); atomic. */
fb_status fb_cifar10_write(const char *path, const fb_dataset *data);

/* SHA-256 over labels and pixels (identifies the data in run records). */
void fb_dataset_sha256(const fb_dataset *data, char hex[65]);

void fb_dataset_free(fb_dataset *data);

#endif
