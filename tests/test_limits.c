/* test_limits.c — hostile files meet the limits of issue 15 item 2: a clear
 * error (exit code 2) naming the file and the field, within a second or
 * two and a bounded amount of memory — never an out-of-memory kill, a
 * minutes-long parse or a petabyte request.
 *
 * Each case runs in a child process (fork), so its peak memory can be read
 * back exactly (wait4's ru_maxrss, the child's own high-water mark) and a
 * runaway case cannot take the test program down with it. The child prints
 * the error, checks the message names what it must, and exits with
 * fb_status_exit_code of the result. The parent checks: exit code 2, wall
 * time under TIME_LIMIT and peak memory under MEMORY_LIMIT_MB. The bounds
 * are generous for a busy machine (and for SANITIZE=1, where ASan adds its
 * own memory: the worst case there measured 0.64 s and 41 MB), yet the code
 * before this change (4b9414c) failed every test: this file built against
 * it and run under `ulimit -v 2000000` took 6.3 s and 423 MB for the 8 MiB
 * value flood, 12.4 s for 20,000 'layer1.K' names, 17 s and 1.4 GB (then
 * out of memory) for a 22 KB checkpoint claiming 20,000,000 classes, and
 * ran out of memory, without naming the field, on the 40 KB CSV and the
 * 130-byte IDX file.
 *
 * The small hostile files are the fuzz corpus's (tests/fuzz/corpus, made by
 * tests/fuzz/make_corpus.py); the large ones are generated here.
 */
#define _DEFAULT_SOURCE /* wait4: the child's own peak memory */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "freqbias/backend.h"
#include "freqbias/checkpoint.h"
#include "freqbias/dataset.h"
#include "freqbias/safetensors.h"
#include "report/report_results.h"
#include "testutil.h"

#define TIME_LIMIT 2.0        /* seconds */
#define MEMORY_LIMIT_MB 200   /* peak resident memory of the child */

typedef fb_status (*hostile_case)(const char *path);

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Runs read(path) in a child; checks exit code 2, that the message names
 * the path and `field`, and the time and memory bounds. */
static void expect_bounded_failure(const char *what, hostile_case read, const char *path,
                                   const char *field)
{
    fflush(stdout);
    double start = now();
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        fb_status status = read(path);
        const char *message = status == FB_OK ? "(accepted)" : fb_error_message();
        printf("  %-44s [%s] %s\n", what, fb_status_name(status), message);
        fflush(stdout);
        if (status == FB_OK)
            _exit(10);
        const char *named = strstr(message, path); /* the field after the path, not in it */
        if (!named || !strstr(named + strlen(path), field)) {
            printf("  ERROR: the message does not name the file and '%s'\n", field);
            fflush(stdout);
            _exit(11);
        }
        _exit(fb_status_exit_code(status));
    }
    int wait_status = 0;
    struct rusage usage;
    assert_true(wait4(child, &wait_status, 0, &usage) == child);
    double seconds = now() - start, peak_mb = (double)usage.ru_maxrss / 1024.0;
    int code = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
    printf("  %-44s exit %d, %.3f s (limit %.1f), peak %.1f MB (limit %d)\n", "", code, seconds,
           TIME_LIMIT, peak_mb, MEMORY_LIMIT_MB);
    assert_int_equal(code, 2);
    assert_true(seconds < TIME_LIMIT);
    assert_true(peak_mb < MEMORY_LIMIT_MB);
}

static const char *corpus(const char *target, const char *name)
{
    static char path[8][512];
    static int next;
    char *out = path[next++ % 8];
    snprintf(out, sizeof path[0], "tests/fuzz/corpus/%s/%s", target, name);
    if (access(out, R_OK) != 0)
        fail_msg("%s: missing (run from the repository root; make it with tests/fuzz/make_corpus.py)", out);
    return out;
}

/* ---- the cases: each is what a CLI command does with the file ---------- */

/* `freqbias test`: inspect, build the model the file describes, load it. */
static fb_status load_checkpoint(const char *path)
{
    fb_model_config config;
    FB_TRY(fb_checkpoint_inspect(path, &config));
    config.max_batch = 128;
    fb_model *model;
    FB_TRY(fb_model_create(&model, &config, &fb_backend_cpu));
    fb_status status = fb_checkpoint_load(model, path, NULL);
    fb_model_free(model);
    return status;
}

static fb_status read_safetensors(const char *path)
{
    fb_st_file file;
    FB_TRY(fb_st_read(path, &file));
    fb_st_free(&file);
    return FB_OK;
}

static fb_status read_csv(const char *path)
{
    csv_table table;
    FB_TRY(csv_read(path, &table));
    csv_free(&table);
    return FB_OK;
}

/* The corpus's two-file IDX input (fuzz_split layout) as two files. */
static char idx_labels[512];
static fb_status read_idx(const char *images)
{
    fb_dataset data;
    FB_TRY(fb_idx_read(images, idx_labels, &data));
    fb_dataset_free(&data);
    return FB_OK;
}

static void split_corpus_file(const char *from, const char *images, const char *labels)
{
    size_t size;
    unsigned char *bytes = (unsigned char *)read_file(from, &size);
    assert_non_null(bytes);
    size_t first = (size_t)bytes[0] | (size_t)bytes[1] << 8 | (size_t)bytes[2] << 16 |
                   (size_t)bytes[3] << 24;
    assert_true(first <= size - 4);
    FILE *f = fopen(images, "wb");
    assert_true(f && fwrite(bytes + 4, 1, first, f) == first && fclose(f) == 0);
    f = fopen(labels, "wb");
    assert_true(f && fwrite(bytes + 4 + first, 1, size - 4 - first, f) == size - 4 - first &&
                fclose(f) == 0);
    free(bytes);
}

/* ---- generated files --------------------------------------------------- */

static void write_u64_le(FILE *f, uint64_t value)
{
    for (int i = 0; i < 8; i++)
        fputc((int)(value >> (8 * i)) & 0xff, f);
}

/* A header of header_bytes bytes: {"a":{"dtype":"U8","shape":[0,0,0,...]}}
 * padded with spaces — one JSON value per two bytes, the worst case for a
 * tree-building parser. */
static void write_value_flood(const char *path, size_t header_bytes)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    write_u64_le(f, header_bytes);
    const char *open = "{\"a\":{\"dtype\":\"U8\",\"shape\":[0", *close = "]}}";
    size_t written = (size_t)fprintf(f, "%s", open);
    static char chunk[1 << 16];
    for (size_t i = 0; i < sizeof chunk; i += 2)
        memcpy(chunk + i, ",0", 2);
    while (written + sizeof chunk + strlen(close) <= header_bytes)
        written += fwrite(chunk, 1, sizeof chunk, f);
    written += (size_t)fprintf(f, "%s", close);
    while (written < header_bytes)
        written += (size_t)(fputc(' ', f) == ' ');
    assert_int_equal(fclose(f), 0);
}

/* No metadata, conv1 and `blocks` empty 'layer1.K.conv1.weight' entries. */
static void write_many_blocks(const char *path, int blocks)
{
    size_t capacity = 128 + (size_t)blocks * 96, used = 0;
    char *header = malloc(capacity); /* [capacity] the JSON header */
    assert_non_null(header);
    used += (size_t)snprintf(header, capacity,
                             "{\"conv1.weight\":{\"dtype\":\"F32\",\"shape\":[1,3,3,3],\"data_offsets\":[0,108]}");
    for (int k = 0; k < blocks; k++)
        used += (size_t)snprintf(header + used, capacity - used,
                                 ",\"layer1.%d.conv1.weight\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[108,108]}",
                                 k);
    used += (size_t)snprintf(header + used, capacity - used, "}");
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    write_u64_le(f, used);
    fwrite(header, 1, used, f);
    static const unsigned char zeros[108];
    fwrite(zeros, 1, sizeof zeros, f);
    assert_int_equal(fclose(f), 0);
    free(header);
}

/* ---- tests -------------------------------------------------------------- */

static void test_safetensors_headers(void **state)
{
    (void)state;
    const char *flood = in_work("flood.safetensors");
    write_value_flood(flood, FB_ST_MAX_HEADER);
    expect_bounded_failure("8 MiB header of 4M JSON values", read_safetensors, flood,
                           "JSON values");
    const char *huge = in_work("huge.safetensors");
    write_value_flood(huge, 99u * 1000u * 1000u);
    expect_bounded_failure("99 MB header (under the old 100 MB cap)", read_safetensors, huge,
                           "header length");
    unlink(huge);
    unlink(flood);
}

static void test_checkpoint_shape_inference(void **state)
{
    (void)state;
    const char *many = in_work("many.safetensors");
    write_many_blocks(many, 20000);
    expect_bounded_failure("20,000 'layer1.K.conv1.weight', no metadata", load_checkpoint, many,
                           "JSON values");
    /* under the tensor cap: inference must be linear, not a search per block */
    write_many_blocks(many, FB_ST_MAX_TENSORS - 1);
    expect_bounded_failure("8,191 'layer1.K.conv1.weight', no metadata", load_checkpoint, many,
                           "blocks per layer");
    unlink(many);
}

static void test_checkpoint_metadata(void **state)
{
    (void)state;
    static const struct {
        const char *file, *what, *field;
    } cases[] = {
        {"meta_classes_20000000", "22 KB checkpoint, num_classes 20,000,000", "num_classes"},
        {"meta_classes_1e9", "num_classes '1e9'", "num_classes"},
        {"meta_classes_1000000000", "num_classes 1,000,000,000", "num_classes"},
        {"meta_classes_99999_mismatch", "num_classes 99,999 (under the cap)", "num_classes"},
        {"meta_width_300", "width 300", "width"},
        {"meta_width_1e5", "width 100,000", "width"},
        {"meta_width_intmax", "width 2147483647", "width"},
        {"meta_image_size_huge", "image_size 2147483647", "image_size"},
        {"toy_filters_intmax", "toy filters 2147483647", "width"},
        {"toy_nometa_filters_huge", "toy conv1 with 79,536,432 filters", "toy filters"},
        {"nometa_width_intmax", "conv1 with 2147483647 channels", "width"},
        {"resnet50_claim_tiny", "resnet50 metadata on a ResNet-18 file", "width"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        expect_bounded_failure(cases[i].what, load_checkpoint, corpus("checkpoint", cases[i].file),
                               cases[i].field);
}

static void test_csv(void **state)
{
    (void)state;
    expect_bounded_failure("40 KB CSV: 20,000 commas, 20,000 newlines", read_csv,
                           corpus("csv", "commas_20000_newlines_20000"), "columns");
    /* under the column cap the table is kept sparse: this one is accepted */
    csv_table table;
    double start = now();
    assert_int_equal(csv_read(corpus("csv", "commas_1000_newlines_39000"), &table), FB_OK);
    printf("  %-44s read in %.3f s: %d rows × %d columns, %zu fields stored\n",
           "40 KB CSV: 1,000 commas, 39,000 newlines", now() - start, table.rows, table.cols,
           table.row_first[table.rows + 1]);
    assert_true(table.row_first[table.rows + 1] <= 40001);
    csv_free(&table);
}

static void test_idx(void **state)
{
    (void)state;
    static const char *const files[] = {"petabyte_claim_130_bytes", "petabyte_claim_gzip"};
    for (int i = 0; i < 2; i++) {
        const char *images = in_work("images-idx3-ubyte");
        snprintf(idx_labels, sizeof idx_labels, "%s", in_work("labels-idx1-ubyte"));
        split_corpus_file(corpus("idx", files[i]), images, idx_labels);
        expect_bounded_failure(files[i], read_idx, images, "dimensions");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_safetensors_headers),
        cmocka_unit_test(test_checkpoint_shape_inference),
        cmocka_unit_test(test_checkpoint_metadata),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_idx),
    };
    return cmocka_run_group_tests(tests, work_dir_setup, work_dir_teardown);
}
