/* dataset.c — choosing a reader, the dataset hash, and freeing.
 *
 * fb_dataset_load maps a dataset kind and split to its files:
 *   cifar10           DIR/data_batch_1..5.bin | DIR/test_batch.bin   (cifar.c)
 *   cifar100          DIR/train.bin | DIR/test.bin, fine labels       (cifar.c)
 *   cifar100-coarse   the same files, coarse labels                   (cifar.c)
 *   mnist, fashion-mnist
 *                     DIR/train-images-idx3-ubyte + train-labels-idx1-ubyte |
 *                     DIR/t10k-images-idx3-ubyte + t10k-labels-idx1-ubyte,
 *                     each also found as "<name>.gz"                  (idx.c)
 *
 * fb_dataset_load_path takes one path and decides by what it is:
 *   a folder          every "*.bin" in it, sorted by name, read as
 *                     CIFAR-10-format records (any number per file)
 *   "*.bin"           one CIFAR-10-format file
 *   "*.npy"           uint8 images; the labels are the same name with the
 *                     last "images" replaced by "labels" (x_images.npy →
 *                     x_labels.npy) if that exists, else labels.npy next to
 *                     it                                              (npy_dataset.c)
 *
 * fb_dataset_sha256 identifies the data in run records and checkpoints. It
 * hashes, in order: count, channels, height, width as four little-endian
 * int32; every label as a little-endian int32; then every pixel byte in the
 * planar order of fb_dataset. It is thus independent of the file format the
 * data came from: the same images read from CIFAR binary or from .npy give
 * the same hash.
 */
#include "freqbias/dataset.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "freqbias/sha256.h"

#define DATASET_MAX_PATH 4096

static int ends_with(const char *text, const char *suffix)
{
    size_t n = strlen(text), m = strlen(suffix);
    return n >= m && strcmp(text + n - m, suffix) == 0;
}

static int is_regular_file(const char *path)
{
    struct stat info;
    return stat(path, &info) == 0 && S_ISREG(info.st_mode);
}

static fb_status join(char *out, const char *dir, const char *name)
{
    int n = snprintf(out, DATASET_MAX_PATH, "%s/%s", dir, name);
    if (n < 0 || n >= DATASET_MAX_PATH)
        return fb_error(FB_ERR_USAGE, "%s: path too long", dir);
    return FB_OK;
}

static fb_status load_idx(const char *dir, const char *prefix, fb_dataset *out)
{
    char images[DATASET_MAX_PATH], labels[DATASET_MAX_PATH], name[64];
    snprintf(name, sizeof name, "%s-images-idx3-ubyte", prefix);
    FB_TRY(join(images, dir, name));
    snprintf(name, sizeof name, "%s-labels-idx1-ubyte", prefix);
    FB_TRY(join(labels, dir, name));
    return fb_idx_read(images, labels, out);
}

fb_status fb_dataset_load(const char *dir, const char *kind, fb_split split, fb_dataset *out)
{
    memset(out, 0, sizeof *out);
    if (dir == NULL || kind == NULL)
        return fb_error(FB_ERR_USAGE, "dataset folder or kind missing");
    if (strcmp(kind, "cifar10") == 0)
        return fb_cifar10_read(dir, split, out);
    if (strcmp(kind, "cifar100") == 0)
        return fb_cifar100_read(dir, split, 0, out);
    if (strcmp(kind, "cifar100-coarse") == 0)
        return fb_cifar100_read(dir, split, 1, out);
    if (strcmp(kind, "mnist") == 0 || strcmp(kind, "fashion-mnist") == 0)
        return load_idx(dir, split == FB_SPLIT_TRAIN ? "train" : "t10k", out);
    return fb_error(FB_ERR_USAGE,
                    "unknown dataset kind '%s' (known: cifar10, cifar100, cifar100-coarse, "
                    "mnist, fashion-mnist)",
                    kind);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every "*.bin" regular file in dir, sorted by name, read as CIFAR-10 records. */
static fb_status load_bin_folder(const char *dir, fb_dataset *out)
{
    DIR *folder = opendir(dir);
    if (folder == NULL)
        return fb_error(FB_ERR_IO, "%s: cannot open folder: %s", dir, strerror(errno));
    char **paths = NULL; /* [count] full paths, owned */
    int count = 0, capacity = 0;
    fb_status status = FB_OK;
    struct dirent *entry;
    while (status == FB_OK && (entry = readdir(folder)) != NULL) {
        if (!ends_with(entry->d_name, ".bin") || strlen(entry->d_name) == 4)
            continue;
        char path[DATASET_MAX_PATH];
        status = join(path, dir, entry->d_name);
        if (status != FB_OK || !is_regular_file(path))
            continue;
        if (count == capacity) {
            int grown = capacity ? 2 * capacity : 16;
            char **bigger = realloc(paths, (size_t)grown * sizeof *paths);
            if (bigger == NULL) {
                status = fb_error(FB_ERR_NOMEM, "%s: out of memory", dir);
                break;
            }
            paths = bigger;
            capacity = grown;
        }
        paths[count] = strdup(path);
        if (paths[count] == NULL)
            status = fb_error(FB_ERR_NOMEM, "%s: out of memory", dir);
        else
            count++;
    }
    closedir(folder);
    if (status == FB_OK && count == 0)
        status = fb_error(FB_ERR_FORMAT, "%s: folder has no .bin files (CIFAR-10 format expected)",
                          dir);
    if (status == FB_OK) {
        qsort(paths, (size_t)count, sizeof *paths, compare_names);
        status = fb_cifar10_read_files((const char *const *)paths, count, out);
    }
    for (int i = 0; i < count; i++)
        free(paths[i]);
    free(paths);
    return status;
}

/* Finds the labels .npy that goes with an images .npy (see the top). */
static fb_status find_labels(const char *images_path, char labels[DATASET_MAX_PATH])
{
    const char *slash = strrchr(images_path, '/');
    const char *name = slash ? slash + 1 : images_path;
    size_t dir_length = (size_t)(name - images_path);
    if (strlen(images_path) >= DATASET_MAX_PATH)
        return fb_error(FB_ERR_USAGE, "%s: path too long", images_path);

    const char *found = NULL;
    for (const char *at = strstr(name, "images"); at != NULL; at = strstr(at + 1, "images"))
        found = at;
    char by_stem[DATASET_MAX_PATH] = "";
    if (found != NULL) {
        size_t before = (size_t)(found - images_path);
        snprintf(by_stem, sizeof by_stem, "%.*slabels%s", (int)before, images_path, found + 6);
        if (is_regular_file(by_stem)) {
            memcpy(labels, by_stem, sizeof by_stem);
            return FB_OK;
        }
    }
    snprintf(labels, DATASET_MAX_PATH, "%.*slabels.npy", (int)dir_length, images_path);
    if (strcmp(labels, images_path) == 0)
        return fb_error(FB_ERR_USAGE, "%s: this is the labels file; give the images .npy",
                        images_path);
    if (is_regular_file(labels))
        return FB_OK;
    if (found != NULL)
        return fb_error(FB_ERR_IO, "%s: no labels file next to it (tried %s and %s)", images_path,
                        by_stem, labels);
    return fb_error(FB_ERR_IO, "%s: no labels file next to it (tried %s)", images_path, labels);
}

fb_status fb_dataset_load_path(const char *path, fb_dataset *out)
{
    memset(out, 0, sizeof *out);
    struct stat info;
    if (path == NULL)
        return fb_error(FB_ERR_USAGE, "dataset path missing");
    if (stat(path, &info) != 0)
        return fb_error(FB_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(info.st_mode))
        return load_bin_folder(path, out);
    if (ends_with(path, ".bin")) {
        const char *paths[1] = { path };
        return fb_cifar10_read_files(paths, 1, out);
    }
    if (ends_with(path, ".npy")) {
        char labels[DATASET_MAX_PATH];
        FB_TRY(find_labels(path, labels));
        return fb_npy_dataset_read(path, labels, out);
    }
    return fb_error(FB_ERR_USAGE,
                    "%s: expected a CIFAR-10-format .bin file, a folder of them, or an images .npy",
                    path);
}

static void put_le32(uint8_t *out, uint32_t value)
{
    out[0] = (uint8_t)value;
    out[1] = (uint8_t)(value >> 8);
    out[2] = (uint8_t)(value >> 16);
    out[3] = (uint8_t)(value >> 24);
}

void fb_dataset_sha256(const fb_dataset *data, char hex[65])
{
    fb_sha256 ctx;
    fb_sha256_init(&ctx);
    uint8_t buffer[4 * 1024]; /* [1024 int32 LE] */
    put_le32(buffer, (uint32_t)data->count);
    put_le32(buffer + 4, (uint32_t)data->channels);
    put_le32(buffer + 8, (uint32_t)data->height);
    put_le32(buffer + 12, (uint32_t)data->width);
    fb_sha256_update(&ctx, buffer, 16);
    int count = data->count > 0 ? data->count : 0;
    for (int first = 0; first < count; first += 1024) {
        int n = count - first < 1024 ? count - first : 1024;
        for (int i = 0; i < n; i++)
            put_le32(buffer + 4 * i, (uint32_t)data->labels[first + i]);
        fb_sha256_update(&ctx, buffer, 4 * (size_t)n);
    }
    if (count > 0)
        fb_sha256_update(&ctx, data->pixels,
                         (size_t)count * data->channels * data->height * data->width);
    fb_sha256_final_hex(&ctx, hex);
}

void fb_dataset_free(fb_dataset *data)
{
    if (data == NULL)
        return;
    free(data->pixels);
    free(data->labels);
    memset(data, 0, sizeof *data);
}
