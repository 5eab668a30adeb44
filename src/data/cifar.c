/* cifar.c — the CIFAR-10 and CIFAR-100 binary formats.
 *
 * Both store fixed-size records back to back, with no header (shared
 * FORMATS.md):
 *
 *   CIFAR-10   3073 bytes: label (0–9), then 3072 pixels
 *   CIFAR-100  3074 bytes: coarse label (0–19), fine label (0–99), 3072 pixels
 *
 * The 3072 pixels are three 32×32 planes, R then G then B, each row-major:
 * exactly the planar C×H×W layout of fb_dataset, so records are copied as
 * they are.
 *
 * Since there is no header, the file size is the only integrity check, and
 * it is a strong one for the official files:
 *   cifar-10-batches-bin/data_batch_{1..5}.bin, test_batch.bin  30,730,000 bytes each
 *   cifar-100-binary/train.bin 153,700,000 bytes, test.bin 30,740,000 bytes
 * A file of any other size (a truncated download, the wrong file) is refused
 * with its name and size. fb_cifar10_read_files, meant for generated sets,
 * accepts any non-zero multiple of 3073 bytes. Every label byte is checked
 * against its range; an error names the file and the record index.
 *
 * fb_cifar10_write writes the CIFAR-10 layout through an atomic
 * temp-file-and-rename.
 */
#include "freqbias/dataset.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "freqbias/atomic_file.h"

#define CIFAR_CHANNELS 3
#define CIFAR_SIDE 32
#define CIFAR_PIXELS (CIFAR_CHANNELS * CIFAR_SIDE * CIFAR_SIDE) /* 3072 */
#define CIFAR_BATCH_RECORDS 10000
#define CIFAR_MAX_PATH 4096

/* How one record is laid out and which label byte becomes the label. */
typedef struct record_format {
    int label_bytes;             /* label bytes before the pixels: 1 or 2        */
    int label_used;              /* index of the label byte kept                 */
    int label_limit[2];          /* each label byte must be < this               */
    const char *label_name[2];   /* for messages                                 */
} record_format;

static const record_format cifar10_format = { 1, 0, { 10, 0 }, { "label", NULL } };

static size_t record_size(const record_format *format)
{
    return (size_t)format->label_bytes + CIFAR_PIXELS;
}

static fb_status file_size(const char *path, uint64_t *size)
{
    struct stat info;
    if (stat(path, &info) != 0)
        return fb_error(FB_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (!S_ISREG(info.st_mode))
        return fb_error(FB_ERR_IO, "%s: not a regular file", path);
    *size = (uint64_t)info.st_size;
    return FB_OK;
}

/* "a, b, c", or "a, ..., c (N files)" when that does not fit. */
static void set_source(fb_dataset *out, const char *const *paths, int count)
{
    size_t used = 0, room = sizeof out->source;
    out->source[0] = '\0';
    for (int i = 0; i < count; i++) {
        int n = snprintf(out->source + used, room - used, "%s%s", i ? ", " : "", paths[i]);
        if (n < 0 || (size_t)n >= room - used) {
            snprintf(out->source, room, "%.200s, ..., %.200s (%d files)", paths[0],
                     paths[count - 1], count);
            return;
        }
        used += (size_t)n;
    }
}

static fb_status allocate(fb_dataset *out, int64_t count, const char *what)
{
    if (count > INT_MAX)
        return fb_error(FB_ERR_FORMAT, "%s: %" PRId64 " records is more than this reader handles",
                        what, count);
    out->count = (int)count;
    out->channels = CIFAR_CHANNELS;
    out->height = CIFAR_SIDE;
    out->width = CIFAR_SIDE;
    out->pixels = malloc((size_t)count * CIFAR_PIXELS + 1);
    out->labels = malloc((size_t)count * sizeof *out->labels + 1);
    if (out->pixels == NULL || out->labels == NULL)
        return fb_error(FB_ERR_NOMEM, "%s: out of memory for %" PRId64 " images", what, count);
    return FB_OK;
}

/* Reads `records` records of one file into out, starting at image `first`,
 * validating every label byte. */
static fb_status read_one_file(const char *path, int64_t records, int64_t first,
                               const record_format *format, fb_dataset *out)
{
    FILE *stream = fopen(path, "rb");
    if (stream == NULL)
        return fb_error(FB_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char record[CIFAR_PIXELS + 2]; /* [label_bytes + 3072] */
    size_t size = record_size(format);
    fb_status status = FB_OK;
    for (int64_t r = 0; r < records && status == FB_OK; r++) {
        if (fread(record, 1, size, stream) != size) {
            status = ferror(stream)
                         ? fb_error(FB_ERR_IO, "%s: read failed: %s", path, strerror(errno))
                         : fb_error(FB_ERR_FORMAT,
                                    "%s: unexpected end of file at record %" PRId64
                                    " (file changed while reading?)",
                                    path, r);
            break;
        }
        for (int b = 0; b < format->label_bytes && status == FB_OK; b++) {
            if (record[b] >= format->label_limit[b])
                status = fb_error(FB_ERR_FORMAT, "%s: record %" PRId64 " has %s %d, outside 0..%d",
                                  path, r, format->label_name[b], record[b],
                                  format->label_limit[b] - 1);
        }
        if (status != FB_OK)
            break;
        out->labels[first + r] = record[format->label_used];
        memcpy(out->pixels + (size_t)(first + r) * CIFAR_PIXELS, record + format->label_bytes,
               CIFAR_PIXELS);
    }
    fclose(stream);
    return status;
}

/* The common reader: sizes were checked by the caller and give records[]. */
static fb_status read_records(const char *const *paths, const int64_t *records, int file_count,
                              const record_format *format, int num_classes, fb_dataset *out)
{
    int64_t total = 0;
    for (int i = 0; i < file_count; i++)
        total += records[i];
    fb_status status = allocate(out, total, paths[0]);
    int64_t first = 0;
    for (int i = 0; i < file_count && status == FB_OK; i++) {
        status = read_one_file(paths[i], records[i], first, format, out);
        first += records[i];
    }
    if (status != FB_OK) {
        fb_dataset_free(out);
        return status;
    }
    out->num_classes = num_classes;
    set_source(out, paths, file_count);
    return FB_OK;
}

fb_status fb_cifar10_read_files(const char *const *paths, int count, fb_dataset *out)
{
    memset(out, 0, sizeof *out);
    if (count <= 0)
        return fb_error(FB_ERR_USAGE, "no CIFAR-10 files given");
    int64_t *records = calloc((size_t)count, sizeof *records);
    if (records == NULL)
        return fb_error(FB_ERR_NOMEM, "out of memory");
    fb_status status = FB_OK;
    for (int i = 0; i < count && status == FB_OK; i++) {
        uint64_t size = 0;
        status = file_size(paths[i], &size);
        if (status == FB_OK && (size == 0 || size % record_size(&cifar10_format) != 0))
            status = fb_error(FB_ERR_FORMAT,
                              "%s: %" PRIu64 " bytes is not a whole, non-zero number of "
                              "3073-byte CIFAR-10 records",
                              paths[i], size);
        records[i] = (int64_t)(size / record_size(&cifar10_format));
    }
    if (status == FB_OK)
        status = read_records(paths, records, count, &cifar10_format, 10, out);
    free(records);
    return status;
}

/* Builds dir/name into path, failing if it does not fit. */
static fb_status join(char *path, const char *dir, const char *name)
{
    int n = snprintf(path, CIFAR_MAX_PATH, "%s/%s", dir, name);
    if (n < 0 || n >= CIFAR_MAX_PATH)
        return fb_error(FB_ERR_USAGE, "%s: path too long", dir);
    return FB_OK;
}

/* Refuses a file whose size is not the official one. */
static fb_status check_exact_size(const char *path, uint64_t expected, const char *what)
{
    uint64_t size = 0;
    FB_TRY(file_size(path, &size));
    if (size != expected)
        return fb_error(FB_ERR_FORMAT,
                        "%s: %" PRIu64 " bytes, but %s is exactly %" PRIu64
                        " bytes (truncated or wrong file?)",
                        path, size, what, expected);
    return FB_OK;
}

fb_status fb_cifar10_read(const char *dir, fb_split split, fb_dataset *out)
{
    memset(out, 0, sizeof *out);
    static const char *const train_names[] = { "data_batch_1.bin", "data_batch_2.bin",
                                               "data_batch_3.bin", "data_batch_4.bin",
                                               "data_batch_5.bin" };
    static const char *const test_names[] = { "test_batch.bin" };
    const char *const *names = split == FB_SPLIT_TRAIN ? train_names : test_names;
    int count = split == FB_SPLIT_TRAIN ? 5 : 1;

    char storage[5][CIFAR_MAX_PATH];
    const char *paths[5];
    int64_t records[5];
    const uint64_t batch_bytes = (uint64_t)CIFAR_BATCH_RECORDS * record_size(&cifar10_format);
    for (int i = 0; i < count; i++) {
        FB_TRY(join(storage[i], dir, names[i]));
        FB_TRY(check_exact_size(storage[i], batch_bytes, "a CIFAR-10 batch file"));
        paths[i] = storage[i];
        records[i] = CIFAR_BATCH_RECORDS;
    }
    return read_records(paths, records, count, &cifar10_format, 10, out);
}

fb_status fb_cifar100_read(const char *dir, fb_split split, int coarse, fb_dataset *out)
{
    memset(out, 0, sizeof *out);
    const record_format format = { 2, coarse ? 0 : 1, { 20, 100 }, { "coarse label", "fine label" } };
    int64_t records = split == FB_SPLIT_TRAIN ? 50000 : 10000;
    char path[CIFAR_MAX_PATH];
    FB_TRY(join(path, dir, split == FB_SPLIT_TRAIN ? "train.bin" : "test.bin"));
    FB_TRY(check_exact_size(path, (uint64_t)records * record_size(&format),
                            split == FB_SPLIT_TRAIN ? "CIFAR-100 train.bin" : "CIFAR-100 test.bin"));
    const char *paths[1] = { path };
    return read_records(paths, &records, 1, &format, coarse ? 20 : 100, out);
}

fb_status fb_cifar10_write(const char *path, const fb_dataset *data)
{
    if (data->channels != CIFAR_CHANNELS || data->height != CIFAR_SIDE || data->width != CIFAR_SIDE)
        return fb_error(FB_ERR_USAGE, "%s: CIFAR-10 format needs 3×32×32 images, not %d×%d×%d",
                        path, data->channels, data->height, data->width);
    if (data->count < 0 || (data->count > 0 && (data->pixels == NULL || data->labels == NULL)))
        return fb_error(FB_ERR_USAGE, "%s: dataset has no pixels or labels", path);
    for (int i = 0; i < data->count; i++)
        if (data->labels[i] < 0 || data->labels[i] > 255)
            return fb_error(FB_ERR_USAGE, "%s: label %" PRId32 " of image %d does not fit in a byte",
                            path, data->labels[i], i);

    fb_atomic_file file;
    FB_TRY(fb_atomic_open(path, &file));
    int ok = 1;
    for (int i = 0; i < data->count && ok; i++) {
        ok = fputc(data->labels[i], file.stream) != EOF &&
             fwrite(data->pixels + (size_t)i * CIFAR_PIXELS, 1, CIFAR_PIXELS, file.stream) ==
                 CIFAR_PIXELS;
    }
    if (!ok) {
        int saved = errno;
        fb_atomic_abort(&file);
        return fb_error(FB_ERR_IO, "%s: write failed: %s", path, strerror(saved));
    }
    return fb_atomic_commit(&file);
}
