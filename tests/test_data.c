/* test_data.c — dataset readers: CIFAR-10/100 binary, IDX (plain and gzip),
 * the seed's .npy layout, path dispatch and the dataset hash.
 *
 * Every test builds its own small files in a temp folder (no downloaded data
 * is needed): CIFAR-10 written by fb_cifar10_write and read back through
 * fb_cifar10_read_files, fb_dataset_load_path (file and folder) and, for a
 * full-size test_batch.bin, fb_dataset_load; CIFAR-100 with fine and coarse
 * labels; IDX written plain and gzip-compressed with zlib, found with and
 * without ".gz"; .npy images in N×H×W×C and N×H×W, whose conversion to
 * planar C×H×W is checked pixel by pixel. Corrupt files — wrong official
 * size, truncated, trailing bytes, bad magic, label out of range, count
 * mismatch, wrong dtype or layout, Fortran order — must fail with the right
 * status and a message that contains the path and a phrase saying what is
 * wrong. The dataset hash is recomputed by hand from its definition and must
 * not depend on the file format the data came from.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "freqbias/dataset.h"
#include "freqbias/npy.h"
#include "freqbias/runtime.h"
#include "freqbias/sha256.h"
#include "testutil.h"

/* A recognisable pixel value for image n, channel c, row y, column x. */
static uint8_t pixel_value(int n, int c, int y, int x)
{
    return (uint8_t)(n * 37 + c * 101 + y * 13 + x * 7 + 3);
}

/* A dataset of count 3×32×32 images with labels i % classes. */
static fb_dataset make_cifar_like(int count, int classes, int seed)
{
    fb_dataset data = { .count = count, .channels = 3, .height = 32, .width = 32,
                        .num_classes = classes };
    data.pixels = malloc((size_t)count * 3072); /* [count, 3, 32, 32] */
    data.labels = malloc((size_t)count * sizeof *data.labels);
    for (int n = 0; n < count; n++) {
        data.labels[n] = (n + seed) % classes;
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++)
                    data.pixels[((size_t)n * 3 + c) * 1024 + y * 32 + x] =
                        pixel_value(n + seed, c, y, x);
    }
    return data;
}

static int same_data(const fb_dataset *a, const fb_dataset *b, int b_offset, const char *label)
{
    size_t image = (size_t)a->channels * a->height * a->width;
    int ok = a->channels == b->channels && a->height == b->height && a->width == b->width &&
             b->count >= b_offset + a->count;
    ok = ok && memcmp(a->pixels, b->pixels + (size_t)b_offset * image, a->count * image) == 0;
    for (int i = 0; ok && i < a->count; i++)
        ok = a->labels[i] == b->labels[b_offset + i];
    printf("[%s] %d images %dx%dx%d from offset %d: %s\n", label, a->count, a->channels, a->height,
           a->width, b_offset, ok ? "pixels and labels identical" : "DIFFER");
    return ok;
}

/* Checks a failure: status, and a message naming `path` and saying `phrase`. */
static void expect_error(fb_status status, fb_status want, const char *path, const char *phrase,
                         const char *what)
{
    const char *message = fb_error_message();
    printf("[rejects %s] %s -> %s\n", what, fb_status_name(status), message);
    assert_int_equal(status, want);
    if (path != NULL)
        assert_non_null(strstr(message, path));
    assert_non_null(strstr(message, phrase));
}

static void write_bytes(const char *path, const void *bytes, size_t length)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, length, f), length);
    fclose(f);
}

static void path_in(char *out, size_t size, const char *dir, const char *name)
{
    assert_true(snprintf(out, size, "%s/%s", dir, name) < (int)size);
}

/* ---- CIFAR-10 ---------------------------------------------------------------- */

static void test_cifar10_round_trip(void **state)
{
    (void)state;
    char *dir = make_temp_dir(), a[512], b[512], folder[512];
    path_in(folder, sizeof folder, dir, "gen");
    mkdir(folder, 0755);
    path_in(a, sizeof a, folder, "a.bin");
    path_in(b, sizeof b, folder, "b.bin");
    fb_dataset first = make_cifar_like(5, 10, 0), second = make_cifar_like(3, 10, 5);
    assert_int_equal(fb_cifar10_write(b, &second), FB_OK);
    assert_int_equal(fb_cifar10_write(a, &first), FB_OK);

    struct stat info;
    assert_int_equal(stat(a, &info), 0);
    assert_int_equal(info.st_size, 5 * 3073);

    const char *paths[2] = { a, b };
    fb_dataset back;
    assert_int_equal(fb_cifar10_read_files(paths, 2, &back), FB_OK);
    assert_int_equal(back.count, 8);
    assert_int_equal(back.num_classes, 10);
    assert_true(same_data(&first, &back, 0, "cifar10 write -> read_files, file 1"));
    assert_true(same_data(&second, &back, 5, "cifar10 write -> read_files, file 2"));
    assert_non_null(strstr(back.source, a));
    assert_non_null(strstr(back.source, b));
    fb_dataset_free(&back);

    /* A folder: every .bin, sorted by name (a.bin first though written last). */
    assert_int_equal(fb_dataset_load_path(folder, &back), FB_OK);
    assert_int_equal(back.count, 8);
    assert_true(same_data(&first, &back, 0, "load_path(folder), a.bin"));
    assert_true(same_data(&second, &back, 5, "load_path(folder), b.bin"));
    printf("[load_path folder] source: %s\n", back.source);
    fb_dataset_free(&back);
    assert_int_equal(fb_dataset_load_path(b, &back), FB_OK);
    assert_true(same_data(&second, &back, 0, "load_path(b.bin)"));
    fb_dataset_free(&back);

    /* Writer refuses what the format cannot hold. */
    first.labels[2] = 300;
    assert_int_equal(fb_cifar10_write(a, &first), FB_ERR_USAGE);
    first.labels[2] = 2;
    first.width = 31;
    assert_int_equal(fb_cifar10_write(a, &first), FB_ERR_USAGE);
    first.width = 32;
    fb_dataset_free(&first);
    fb_dataset_free(&second);
    remove_tree(dir);
    free(dir);
}

static void test_cifar10_official_layout(void **state)
{
    (void)state;
    char *dir = make_temp_dir(), path[512];
    fb_dataset full = make_cifar_like(10000, 10, 1), back;
    path_in(path, sizeof path, dir, "test_batch.bin");
    assert_int_equal(fb_cifar10_write(path, &full), FB_OK);
    assert_int_equal(fb_dataset_load(dir, "cifar10", FB_SPLIT_TEST, &back), FB_OK);
    assert_int_equal(back.count, 10000);
    assert_true(same_data(&full, &back, 0, "cifar10 test_batch.bin via fb_dataset_load"));
    assert_string_equal(back.source, path);
    fb_dataset_free(&back);
    fb_dataset_free(&full);

    /* A data_batch_1.bin of the wrong size is refused, naming file and size. */
    fb_dataset small = make_cifar_like(3, 10, 0);
    path_in(path, sizeof path, dir, "data_batch_1.bin");
    assert_int_equal(fb_cifar10_write(path, &small), FB_OK);
    expect_error(fb_dataset_load(dir, "cifar10", FB_SPLIT_TRAIN, &back), FB_ERR_FORMAT, path,
                 "9219 bytes, but a CIFAR-10 batch file is exactly 30730000 bytes",
                 "short data_batch_1.bin");
    assert_null(back.pixels);
    /* ... while the generic reader takes it as the 3 records it holds. */
    const char *paths[1] = { path };
    assert_int_equal(fb_cifar10_read_files(paths, 1, &back), FB_OK);
    assert_int_equal(back.count, 3);
    fb_dataset_free(&back);
    remove(path);
    expect_error(fb_cifar10_read(dir, FB_SPLIT_TRAIN, &back), FB_ERR_IO, path, "cannot open",
                 "missing data_batch_1.bin");
    fb_dataset_free(&small);
    remove_tree(dir);
    free(dir);
}

static void test_cifar10_corrupt(void **state)
{
    (void)state;
    char *dir = make_temp_dir(), path[512];
    path_in(path, sizeof path, dir, "gen.bin");
    fb_dataset data = make_cifar_like(4, 10, 0), back;
    const char *paths[1] = { path };

    data.labels[2] = 10;
    assert_int_equal(fb_cifar10_write(path, &data), FB_OK);
    expect_error(fb_cifar10_read_files(paths, 1, &back), FB_ERR_FORMAT, path,
                 "record 2 has label 10, outside 0..9", "label out of range");
    assert_null(back.pixels);

    data.labels[2] = 2;
    assert_int_equal(fb_cifar10_write(path, &data), FB_OK);
    assert_int_equal(truncate(path, 3 * 3073 + 100), 0);
    expect_error(fb_cifar10_read_files(paths, 1, &back), FB_ERR_FORMAT, path,
                 "9319 bytes is not a whole", "truncated record");
    assert_int_equal(fb_cifar10_write(path, &data), FB_OK);
    FILE *f = fopen(path, "ab");
    fputc('x', f);
    fclose(f);
    expect_error(fb_cifar10_read_files(paths, 1, &back), FB_ERR_FORMAT, path, "not a whole",
                 "one trailing byte");
    write_bytes(path, "", 0);
    expect_error(fb_cifar10_read_files(paths, 1, &back), FB_ERR_FORMAT, path, "0 bytes",
                 "empty file");
    expect_error(fb_dataset_load_path(dir, &back), FB_ERR_FORMAT, path, "0 bytes",
                 "folder with an empty .bin");
    fb_dataset_free(&data);
    remove_tree(dir);
    free(dir);
}

/* ---- CIFAR-100 --------------------------------------------------------------- */

static void test_cifar100(void **state)
{
    (void)state;
    char *dir = make_temp_dir(), path[512];
    path_in(path, sizeof path, dir, "test.bin");
    const int count = 10000;
    uint8_t *bytes = malloc((size_t)count * 3074); /* [count, 2 + 3072] */
    for (int n = 0; n < count; n++) {
        uint8_t *record = bytes + (size_t)n * 3074;
        record[0] = (uint8_t)(n % 20);
        record[1] = (uint8_t)(n % 100);
        for (int p = 0; p < 3072; p++)
            record[2 + p] = pixel_value(n, p / 1024, p / 32 % 32, p % 32);
    }
    write_bytes(path, bytes, (size_t)count * 3074);

    fb_dataset fine, coarse;
    assert_int_equal(fb_dataset_load(dir, "cifar100", FB_SPLIT_TEST, &fine), FB_OK);
    assert_int_equal(fb_dataset_load(dir, "cifar100-coarse", FB_SPLIT_TEST, &coarse), FB_OK);
    int ok = fine.count == count && coarse.count == count && fine.num_classes == 100 &&
             coarse.num_classes == 20;
    for (int n = 0; ok && n < count; n++)
        ok = fine.labels[n] == n % 100 && coarse.labels[n] == n % 20 &&
             memcmp(fine.pixels + (size_t)n * 3072, bytes + (size_t)n * 3074 + 2, 3072) == 0;
    printf("[cifar100 test.bin] %d records: fine labels (100 classes), coarse labels (20), "
           "pixels: %s\n", count, ok ? "all match" : "MISMATCH");
    assert_true(ok);
    fb_dataset_free(&fine);
    fb_dataset_free(&coarse);

    bytes[7 * 3074 + 1] = 100;
    write_bytes(path, bytes, (size_t)count * 3074);
    expect_error(fb_cifar100_read(dir, FB_SPLIT_TEST, 0, &fine), FB_ERR_FORMAT, path,
                 "record 7 has fine label 100, outside 0..99", "fine label out of range");
    bytes[7 * 3074 + 1] = 7;
    bytes[9 * 3074] = 20;
    write_bytes(path, bytes, (size_t)count * 3074);
    expect_error(fb_cifar100_read(dir, FB_SPLIT_TEST, 0, &fine), FB_ERR_FORMAT, path,
                 "record 9 has coarse label 20, outside 0..19", "coarse label out of range");
    write_bytes(path, bytes, (size_t)count * 3073);
    expect_error(fb_cifar100_read(dir, FB_SPLIT_TEST, 1, &fine), FB_ERR_FORMAT, path,
                 "30730000 bytes, but CIFAR-100 test.bin is exactly 30740000",
                 "CIFAR-10-sized test.bin");
    free(bytes);
    remove_tree(dir);
    free(dir);
}

/* ---- IDX --------------------------------------------------------------------- */

/* An IDX file: magic, big-endian dims, payload, plus `extra` trailing bytes,
 * with the payload cut to `payload` bytes; gzip-compressed if gz. */
static void write_idx(const char *path, uint32_t magic, const uint32_t *dims, int ndim,
                      const uint8_t *data, size_t payload, size_t extra, int gz)
{
    uint8_t header[16];
    for (int b = 0; b < 4; b++)
        header[b] = (uint8_t)(magic >> (24 - 8 * b));
    for (int d = 0; d < ndim; d++)
        for (int b = 0; b < 4; b++)
            header[4 + 4 * d + b] = (uint8_t)(dims[d] >> (24 - 8 * b));
    size_t header_bytes = 4 + 4 * (size_t)ndim;
    uint8_t *bytes = calloc(header_bytes + payload + extra, 1);
    memcpy(bytes, header, header_bytes);
    memcpy(bytes + header_bytes, data, payload);
    size_t total = header_bytes + payload + extra;
    if (gz) {
        gzFile f = gzopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(gzwrite(f, bytes, (unsigned)total), (int)total);
        gzclose(f);
    } else {
        write_bytes(path, bytes, total);
    }
    free(bytes);
}

enum { IDX_N = 4, IDX_H = 5, IDX_W = 6 };

static void idx_sample(uint8_t images[IDX_N * IDX_H * IDX_W], uint8_t labels[IDX_N])
{
    for (int n = 0; n < IDX_N; n++) {
        labels[n] = (uint8_t)(9 - n);
        for (int y = 0; y < IDX_H; y++)
            for (int x = 0; x < IDX_W; x++)
                images[(n * IDX_H + y) * IDX_W + x] = pixel_value(n, 0, y, x);
    }
}

static int check_idx(const fb_dataset *d, const uint8_t *images, const uint8_t *labels,
                     const char *label)
{
    int ok = d->count == IDX_N && d->channels == 1 && d->height == IDX_H && d->width == IDX_W &&
             d->num_classes == 10 && memcmp(d->pixels, images, IDX_N * IDX_H * IDX_W) == 0;
    for (int n = 0; ok && n < IDX_N; n++)
        ok = d->labels[n] == labels[n];
    printf("[%s] %d images 1x%dx%d (%s): %s\n", label, d->count, d->height, d->width, d->source,
           ok ? "pixels and labels identical" : "DIFFER");
    return ok;
}

static void test_idx(void **state)
{
    (void)state;
    char *dir = make_temp_dir(), images_path[512], labels_path[512], gz_path[512];
    uint8_t images[IDX_N * IDX_H * IDX_W], labels[IDX_N];
    idx_sample(images, labels);
    const uint32_t image_dims[3] = { IDX_N, IDX_H, IDX_W }, label_dims[1] = { IDX_N };

    /* train: gzip only (found from the plain name); t10k: plain. */
    path_in(gz_path, sizeof gz_path, dir, "train-images-idx3-ubyte.gz");
    write_idx(gz_path, 0x803, image_dims, 3, images, sizeof images, 0, 1);
    path_in(gz_path, sizeof gz_path, dir, "train-labels-idx1-ubyte.gz");
    write_idx(gz_path, 0x801, label_dims, 1, labels, sizeof labels, 0, 1);
    path_in(images_path, sizeof images_path, dir, "t10k-images-idx3-ubyte");
    write_idx(images_path, 0x803, image_dims, 3, images, sizeof images, 0, 0);
    path_in(labels_path, sizeof labels_path, dir, "t10k-labels-idx1-ubyte");
    write_idx(labels_path, 0x801, label_dims, 1, labels, sizeof labels, 0, 0);

    fb_dataset d;
    assert_int_equal(fb_dataset_load(dir, "mnist", FB_SPLIT_TRAIN, &d), FB_OK);
    assert_true(check_idx(&d, images, labels, "idx gzip via mnist train"));
    assert_non_null(strstr(d.source, ".gz"));
    fb_dataset_free(&d);
    assert_int_equal(fb_dataset_load(dir, "fashion-mnist", FB_SPLIT_TEST, &d), FB_OK);
    assert_true(check_idx(&d, images, labels, "idx plain via fashion-mnist test"));
    fb_dataset_free(&d);

    /* Corrupt files, plain and gzip. */
    const uint32_t bad_count[1] = { IDX_N - 1 }, zero_dims[3] = { IDX_N, 0, IDX_W };
    write_idx(images_path, 0x804, image_dims, 3, images, sizeof images, 0, 0);
    expect_error(fb_idx_read(images_path, labels_path, &d), FB_ERR_FORMAT, images_path,
                 "bad magic number 0x00000804", "wrong magic");
    assert_null(d.pixels);
    write_idx(images_path, 0x80D03, image_dims, 3, images, sizeof images, 0, 0);
    expect_error(fb_idx_read(images_path, labels_path, &d), FB_ERR_FORMAT, images_path,
                 "bad magic number", "magic with nonzero first bytes");
    write_idx(images_path, 0x803, zero_dims, 3, images, 0, 0, 0);
    expect_error(fb_idx_read(images_path, labels_path, &d), FB_ERR_FORMAT, images_path,
                 "dimension 1 is 0", "zero height");
    write_idx(images_path, 0x803, image_dims, 3, images, sizeof images - 1, 0, 0);
    expect_error(fb_idx_read(images_path, labels_path, &d), FB_ERR_FORMAT, images_path,
                 "truncated", "truncated pixels");
    write_idx(images_path, 0x803, image_dims, 3, images, sizeof images - 10, 0, 1);
    expect_error(fb_idx_read(images_path, labels_path, &d), FB_ERR_FORMAT, images_path,
                 "truncated", "truncated pixels (gzip)");
    write_idx(images_path, 0x803, image_dims, 3, images, sizeof images, 3, 0);
    expect_error(fb_idx_read(images_path, labels_path, &d), FB_ERR_FORMAT, images_path,
                 "trailing bytes", "trailing bytes");
    write_idx(images_path, 0x803, image_dims, 3, images, sizeof images, 1, 1);
    expect_error(fb_idx_read(images_path, labels_path, &d), FB_ERR_FORMAT, images_path,
                 "trailing bytes", "trailing bytes (gzip)");
    write_idx(images_path, 0x803, image_dims, 3, images, sizeof images, 0, 0);
    write_idx(labels_path, 0x801, bad_count, 1, labels, IDX_N - 1, 0, 0);
    expect_error(fb_idx_read(images_path, labels_path, &d), FB_ERR_FORMAT, labels_path,
                 "count mismatch", "count mismatch");
    labels[2] = 10;
    write_idx(labels_path, 0x801, label_dims, 1, labels, IDX_N, 0, 1);
    expect_error(fb_idx_read(images_path, labels_path, &d), FB_ERR_FORMAT, labels_path,
                 "label 10 of record 2 is outside 0..9", "label out of range");

    /* A .gz that is not gzip data past its header. */
    uint8_t garbage[64];
    memcpy(garbage, "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10);
    memset(garbage + 10, 0xff, sizeof garbage - 10);
    write_bytes(labels_path, garbage, sizeof garbage);
    expect_error(fb_idx_read(images_path, labels_path, &d), FB_ERR_FORMAT, labels_path,
                 "corrupt gzip", "corrupt gzip stream");
    remove(labels_path);
    expect_error(fb_idx_read(images_path, labels_path, &d), FB_ERR_IO, labels_path,
                 "no such file", "missing labels");
    remove_tree(dir);
    free(dir);
}

/* ---- .npy datasets ----------------------------------------------------------- */

static void test_npy_dataset(void **state)
{
    (void)state;
    char *dir = make_temp_dir(), images_path[512], labels_path[512];
    enum { N = 3, H = 4, W = 5, C = 3 };
    uint8_t nhwc[N * H * W * C];
    for (int n = 0; n < N; n++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                for (int c = 0; c < C; c++)
                    nhwc[((n * H + y) * W + x) * C + c] = pixel_value(n, c, y, x);
    const int64_t labels_i8[N] = { 6, 0, 2 };
    path_in(images_path, sizeof images_path, dir, "train_images.npy");
    path_in(labels_path, sizeof labels_path, dir, "train_labels.npy");
    assert_int_equal(fb_npy_write(images_path, FB_NPY_U8, 4, (int64_t[]){ N, H, W, C }, nhwc), FB_OK);
    assert_int_equal(fb_npy_write(labels_path, FB_NPY_I64, 1, (int64_t[]){ N }, labels_i8), FB_OK);

    fb_dataset d;
    assert_int_equal(fb_dataset_load_path(images_path, &d), FB_OK);
    int mismatches = 0;
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++)
                    mismatches += d.pixels[((n * C + c) * H + y) * W + x] != pixel_value(n, c, y, x);
    printf("[npy NHWC -> CHW] %d images %dx%dx%d, %d of %d pixels misplaced, labels %d %d %d, "
           "num_classes %d, source %s\n", d.count, d.channels, d.height, d.width, mismatches,
           N * C * H * W, d.labels[0], d.labels[1], d.labels[2], d.num_classes, d.source);
    assert_int_equal(mismatches, 0);
    assert_int_equal(d.count, N);
    assert_int_equal(d.channels, C);
    assert_int_equal(d.labels[0], 6);
    assert_int_equal(d.labels[2], 2);
    assert_int_equal(d.num_classes, 7);
    assert_non_null(strstr(d.source, labels_path));
    fb_dataset_free(&d);

    /* N×H×W grey images, u1 labels in "labels.npy", all zero → 2 classes. */
    uint8_t grey[N * H * W], zeros[N] = { 0 };
    for (int i = 0; i < N * H * W; i++)
        grey[i] = (uint8_t)(i * 3);
    path_in(images_path, sizeof images_path, dir, "grey.npy");
    path_in(labels_path, sizeof labels_path, dir, "labels.npy");
    assert_int_equal(fb_npy_write(images_path, FB_NPY_U8, 3, (int64_t[]){ N, H, W }, grey), FB_OK);
    assert_int_equal(fb_npy_write(labels_path, FB_NPY_U8, 1, (int64_t[]){ N }, zeros), FB_OK);
    assert_int_equal(fb_dataset_load_path(images_path, &d), FB_OK);
    assert_int_equal(d.channels, 1);
    assert_int_equal(d.num_classes, 2);
    assert_memory_equal(d.pixels, grey, sizeof grey);
    printf("[npy N×H×W] %d images 1x%dx%d with labels.npy: pixels identical, num_classes %d\n",
           d.count, d.height, d.width, d.num_classes);
    fb_dataset_free(&d);

    /* Wrong dtypes, layouts and labels. */
    float as_float[N * H * W];
    memset(as_float, 0, sizeof as_float);
    assert_int_equal(fb_npy_write(images_path, FB_NPY_F32, 3, (int64_t[]){ N, H, W }, as_float), FB_OK);
    expect_error(fb_npy_dataset_read(images_path, labels_path, &d), FB_ERR_FORMAT, images_path,
                 "dtype float32; expected uint8", "float images");
    assert_int_equal(fb_npy_write(images_path, FB_NPY_U8, 4, (int64_t[]){ 1, 3, 4, 5 }, grey), FB_OK);
    expect_error(fb_npy_dataset_read(images_path, labels_path, &d), FB_ERR_FORMAT, images_path,
                 "looks like (N, C, H, W)", "NCHW images");
    assert_int_equal(fb_npy_write(images_path, FB_NPY_U8, 3, (int64_t[]){ N, H, W }, grey), FB_OK);
    const int32_t negative[N] = { 1, -1, 2 };
    assert_int_equal(fb_npy_write(labels_path, FB_NPY_I32, 1, (int64_t[]){ N }, negative), FB_OK);
    expect_error(fb_npy_dataset_read(images_path, labels_path, &d), FB_ERR_FORMAT, labels_path,
                 "label -1 at index 1", "negative label");
    assert_int_equal(fb_npy_write(labels_path, FB_NPY_U8, 1, (int64_t[]){ N - 1 }, zeros), FB_OK);
    expect_error(fb_npy_dataset_read(images_path, labels_path, &d), FB_ERR_FORMAT, labels_path,
                 "2 labels for 3 images (count mismatch)", "count mismatch");
    assert_int_equal(fb_npy_write(labels_path, FB_NPY_F64, 1, (int64_t[]){ N }, as_float), FB_OK);
    expect_error(fb_npy_dataset_read(images_path, labels_path, &d), FB_ERR_FORMAT, labels_path,
                 "expected an integer dtype", "float labels");
    assert_int_equal(fb_npy_write(labels_path, FB_NPY_U8, 2, (int64_t[]){ N, 1 }, zeros), FB_OK);
    expect_error(fb_npy_dataset_read(images_path, labels_path, &d), FB_ERR_FORMAT, labels_path,
                 "expected shape (N,)", "2-d labels");

    /* Fortran order comes from npy.c, and still names the file. */
    FILE *f = fopen(images_path, "r+b");
    char header[129];
    assert_int_equal(fread(header, 1, 128, f), 128);
    header[128] = '\0';
    char *order = strstr(header + 10, "False"); /* the dict starts at byte 10 */
    assert_non_null(order);
    memcpy(order, "True ", 5);
    fseek(f, 0, SEEK_SET);
    fwrite(header, 1, 128, f);
    fclose(f);
    expect_error(fb_npy_dataset_read(images_path, labels_path, &d), FB_ERR_FORMAT, images_path,
                 "Fortran", "Fortran-order images");
    remove(labels_path);
    expect_error(fb_dataset_load_path(images_path, &d), FB_ERR_IO, images_path, "no labels file",
                 "images without labels");
    remove_tree(dir);
    free(dir);
}

/* ---- dispatch and hash ------------------------------------------------------- */

static void test_dispatch_errors(void **state)
{
    (void)state;
    char *dir = make_temp_dir(), path[512];
    fb_dataset d;
    expect_error(fb_dataset_load(dir, "imagenet", FB_SPLIT_TRAIN, &d), FB_ERR_USAGE, NULL,
                 "unknown dataset kind 'imagenet'", "unknown kind");
    expect_error(fb_dataset_load_path(dir, &d), FB_ERR_FORMAT, dir, "no .bin files",
                 "empty folder");
    path_in(path, sizeof path, dir, "data.csv");
    write_bytes(path, "1,2\n", 4);
    expect_error(fb_dataset_load_path(path, &d), FB_ERR_USAGE, path, "expected a CIFAR-10-format",
                 "unknown extension");
    path_in(path, sizeof path, dir, "missing.bin");
    expect_error(fb_dataset_load_path(path, &d), FB_ERR_IO, path, "cannot open", "missing file");
    remove_tree(dir);
    free(dir);
}

static void test_sha256(void **state)
{
    (void)state;
    char *dir = make_temp_dir(), bin[512], images[512], labels[512];
    fb_dataset data = make_cifar_like(6, 10, 3), from_bin, from_npy;

    /* The definition, by hand: 4 LE int32 header, labels as LE int32, pixels. */
    fb_sha256 ctx;
    fb_sha256_init(&ctx);
    const uint8_t header[16] = { 6, 0, 0, 0, 3, 0, 0, 0, 32, 0, 0, 0, 32, 0, 0, 0 };
    fb_sha256_update(&ctx, header, sizeof header);
    for (int i = 0; i < data.count; i++) {
        uint8_t le[4] = { (uint8_t)data.labels[i], 0, 0, 0 };
        fb_sha256_update(&ctx, le, 4);
    }
    fb_sha256_update(&ctx, data.pixels, (size_t)data.count * 3072);
    char want[65], got[65], got_bin[65], got_npy[65];
    fb_sha256_final_hex(&ctx, want);
    fb_dataset_sha256(&data, got);
    printf("[dataset sha256] by hand %s, fb_dataset_sha256 %s\n", want, got);
    assert_string_equal(got, want);

    /* Same images through CIFAR binary and through .npy (NHWC) hash alike. */
    path_in(bin, sizeof bin, dir, "six.bin");
    assert_int_equal(fb_cifar10_write(bin, &data), FB_OK);
    uint8_t *nhwc = malloc((size_t)data.count * 3072); /* [6, 32, 32, 3] */
    for (int n = 0; n < data.count; n++)
        for (int c = 0; c < 3; c++)
            for (int p = 0; p < 1024; p++)
                nhwc[((size_t)n * 1024 + p) * 3 + c] = data.pixels[((size_t)n * 3 + c) * 1024 + p];
    path_in(images, sizeof images, dir, "six_images.npy");
    path_in(labels, sizeof labels, dir, "six_labels.npy");
    assert_int_equal(fb_npy_write(images, FB_NPY_U8, 4, (int64_t[]){ 6, 32, 32, 3 }, nhwc), FB_OK);
    assert_int_equal(fb_npy_write(labels, FB_NPY_I32, 1, (int64_t[]){ 6 }, data.labels), FB_OK);
    assert_int_equal(fb_dataset_load_path(bin, &from_bin), FB_OK);
    assert_int_equal(fb_dataset_load_path(images, &from_npy), FB_OK);
    fb_dataset_sha256(&from_bin, got_bin);
    fb_dataset_sha256(&from_npy, got_npy);
    printf("[dataset sha256] from .bin %s, from .npy %s\n", got_bin, got_npy);
    assert_string_equal(got_bin, want);
    assert_string_equal(got_npy, want);
    from_npy.labels[5] ^= 1;
    fb_dataset_sha256(&from_npy, got_npy);
    printf("[dataset sha256] one label changed: %s\n", got_npy);
    assert_string_not_equal(got_npy, want);
    free(nhwc);
    fb_dataset_free(&from_bin);
    fb_dataset_free(&from_npy);
    fb_dataset_free(&data);
    remove_tree(dir);
    free(dir);
}

int main(int argc, char **argv)
{
    fb_runtime_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cifar10_round_trip),
        cmocka_unit_test(test_cifar10_official_layout),
        cmocka_unit_test(test_cifar10_corrupt),
        cmocka_unit_test(test_cifar100),
        cmocka_unit_test(test_idx),
        cmocka_unit_test(test_npy_dataset),
        cmocka_unit_test(test_dispatch_errors),
        cmocka_unit_test(test_sha256),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
