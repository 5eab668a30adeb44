/* test_train.c — `freqbias train` and `freqbias test` end to end, on the
 * committed real fixtures (ref_data/cifar10_test512.bin: the first 512
 * CIFAR-10 test records; ref_data/mnist_t10k_100: 100 MNIST test images).
 *
 * - readers on the real fixtures and on corrupt copies of them;
 * - the loader's order, augmentation decisions and pixels against the
 *   independent Python twin (ref_data/augment_seed7.safetensors);
 * - determinism: two runs, and 1 vs 2 threads, give identical checkpoint bytes;
 * - resume: 2 epochs straight = 1 epoch + --resume, also after SIGKILL mid-epoch;
 * - the library trainer (fb_train_run) called directly: its progress events,
 *   and the same checkpoint bytes as `freqbias train`;
 * - hostile state files (next_epoch -3, epochs 2147483647, ...): exit 2 naming
 *   the file and the field, the state left as it was;
 * - PyTorch parity of one epoch (256 images, no augmentation, no shuffle);
 * - `freqbias test` outputs, and the exit codes of bad input and a diverging run.
 * The binary is found next to this test's folder (build/tests/.. → build/freqbias).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "freqbias/backend.h"
#include "freqbias/dataset.h"
#include "freqbias/evaluate.h"
#include "freqbias/json.h"
#include "freqbias/loader.h"
#include "freqbias/npy.h"
#include "freqbias/runtime.h"
#include "freqbias/safetensors.h"
#include "freqbias/train.h"
#include "testutil.h"

static const char *fixture(const char *name)
{
    static char path[4][600];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, 600, "%s/%s", ref_data_dir(), name);
    return p;
}

static void write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, size, f), size);
    fclose(f);
}

/* ---- readers on the real fixtures ---- */

static void expect_load_error(const char *path, const char *phrase)
{
    fb_dataset data;
    fb_status status = fb_dataset_load_path(path, &data);
    printf("[corrupt] %s -> %s: %s\n", path, fb_status_name(status), fb_error_message());
    assert_int_not_equal(status, FB_OK);
    assert_non_null(strstr(fb_error_message(), path));
    assert_non_null(strstr(fb_error_message(), phrase));
}

static void test_real_fixtures(void **state)
{
    (void)state;
    fb_dataset cifar, mnist, first8;
    assert_int_equal(fb_dataset_load_path(fixture("cifar10_test512.bin"), &cifar), FB_OK);
    assert_int_equal(fb_dataset_load_path(fixture("cifar10_test8.bin"), &first8), FB_OK);
    assert_int_equal(cifar.count, 512);
    assert_int_equal(cifar.channels * cifar.height * cifar.width, 3072);
    assert_memory_equal(cifar.pixels, first8.pixels, 8 * 3072);
    int counts[10] = {0};
    for (int i = 0; i < cifar.count; i++)
        counts[cifar.labels[i]]++;
    printf("[fixture] cifar10_test512: 512 images, labels 3 8 8 0 ..., per class:");
    for (int k = 0; k < 10; k++)
        printf(" %d", counts[k]);
    printf("\n");
    assert_int_equal(cifar.labels[0], 3);
    assert_int_equal(cifar.labels[1], 8);
    if (fb_dataset_load(fixture("mnist_t10k_100"), "mnist", FB_SPLIT_TEST, &mnist) != FB_OK)
        fail_msg("%s", fb_error_message());
    printf("[fixture] mnist_t10k_100: %d images %dx%dx%d, first label %d (gzip images, plain labels)\n",
           mnist.count, mnist.channels, mnist.height, mnist.width, mnist.labels[0]);
    assert_int_equal(mnist.count, 100);
    assert_int_equal(mnist.height, 28);
    assert_int_equal(mnist.labels[0], 7); /* the first MNIST test digit is a 7 */

    /* corrupt copies of the real data */
    size_t size;
    char *bytes = read_file(fixture("cifar10_test512.bin"), &size);
    write_file(in_work("truncated.bin"), bytes, size - 100);
    expect_load_error(in_work("truncated.bin"), "3073");
    bytes[5 * 3073] = 10;
    write_file(in_work("label10.bin"), bytes, size);
    expect_load_error(in_work("label10.bin"), "record 5");
    free(bytes);
    char *labels = read_file(fixture("mnist_t10k_100/t10k-labels-idx1-ubyte"), &size);
    char idx_dir[800];
    snprintf(idx_dir, sizeof idx_dir, "%s", in_work("idx"));
    mkdir(idx_dir, 0777);
    char *images_gz = read_file(fixture("mnist_t10k_100/t10k-images-idx3-ubyte.gz"), &size);
    write_file(in_work("idx/t10k-images-idx3-ubyte.gz"), images_gz, size);
    labels[3] = 0x02; /* magic 0x00000801 -> 0x00000802 */
    write_file(in_work("idx/t10k-labels-idx1-ubyte"), labels, 108);
    fb_dataset broken;
    fb_status status = fb_dataset_load(idx_dir, "mnist", FB_SPLIT_TEST, &broken);
    printf("[corrupt] bad IDX magic -> %s: %s\n", fb_status_name(status), fb_error_message());
    assert_int_not_equal(status, FB_OK);
    assert_non_null(strstr(fb_error_message(), "t10k-labels-idx1-ubyte"));
    free(labels);
    free(images_gz);
    /* a .npy of the real pixels with a malformed header */
    int64_t shape[4] = {8, 32, 32, 3};
    assert_int_equal(fb_npy_write(in_work("images.npy"), FB_NPY_U8, 4, shape, first8.pixels), FB_OK);
    char *npy = read_file(in_work("images.npy"), &size);
    char *shape_text = strstr(npy + 10, "'shape'");
    assert_non_null(shape_text);
    shape_text[1] = 'x'; /* 'shape' -> 'xhape' */
    write_file(in_work("images.npy"), npy, size);
    int64_t label_shape[1] = {8};
    int64_t label_values[8] = {3, 8, 8, 0, 6, 6, 1, 6};
    assert_int_equal(fb_npy_write(in_work("labels.npy"), FB_NPY_I64, 1, label_shape, label_values), FB_OK);
    expect_load_error(in_work("images.npy"), "images.npy");
    free(npy);
    fb_dataset_free(&cifar);
    fb_dataset_free(&first8);
    fb_dataset_free(&mnist);
}

/* ---- the loader against its Python twin ---- */

static void test_loader_twin(void **state)
{
    (void)state;
    fb_st_file twin;
    if (fb_st_read(fixture("augment_seed7.safetensors"), &twin) != FB_OK)
        fail_msg("%s", fb_error_message());
    fb_dataset data;
    assert_int_equal(fb_dataset_load_path(fixture("cifar10_test512.bin"), &data), FB_OK);
    const int32_t *order = fb_st_find(&twin, "order")->data;        /* [2, 16] */
    const int32_t *decisions = fb_st_find(&twin, "decisions")->data; /* [2, 16, 3] */
    const float *pixels = fb_st_find(&twin, "pixels")->data;         /* [2, 16, 3, 32, 32] */
    const int epochs[2] = {0, 3};
    fb_loader loader;
    assert_int_equal(fb_loader_init(&loader, &data, 16, 16, 7, 1, 1), FB_OK);
    float *images = malloc(16 * 3072 * sizeof(float)); /* [16, 3, 32, 32] */
    int32_t labels[16];
    int ok = 1;
    for (int e = 0; e < 2; e++) {
        fb_loader_start_epoch(&loader, epochs[e]);
        int wrong_order = 0, wrong_choice = 0;
        for (int i = 0; i < 16; i++) {
            fb_augment_choice c = fb_augment_choose(7, epochs[e], i);
            const int32_t *want = decisions + (e * 16 + i) * 3;
            wrong_choice += c.dy != want[0] || c.dx != want[1] || c.flip != want[2];
            wrong_order += loader.order[i] != order[e * 16 + i];
        }
        printf("[twin] epoch %d: order %s, decisions %s\n", epochs[e], wrong_order ? "FAIL" : "ok",
               wrong_choice ? "FAIL" : "ok");
        ok &= !wrong_order && !wrong_choice;
        assert_int_equal(fb_loader_batch(&loader, 0, images, labels), 16);
        for (int p = 0; p < 16 && !wrong_order; p++) {
            char label[64];
            snprintf(label, sizeof label, "twin epoch %d position %d pixels", epochs[e], p);
            ok &= compare_bits(label, images + (size_t)p * 3072,
                               pixels + ((size_t)e * 16 + order[e * 16 + p]) * 3072, 3072 * sizeof(float));
            ok &= labels[p] == data.labels[order[e * 16 + p]];
        }
    }
    free(images);
    fb_loader_free(&loader);
    fb_dataset_free(&data);
    fb_st_free(&twin);
    assert_true(ok);
}

/* ---- determinism and resume ---- */

#define SMALL_RUN "--train-data", fixture("cifar10_test512.bin"), "--test-data", \
                  fixture("cifar10_test8.bin"), "--width", "4", "--batch", "64", "--seed", "5"

static void test_determinism_and_resume(void **state)
{
    (void)state;
    char log[800]; /* a copy: in_work's buffers are reused */
    snprintf(log, sizeof log, "%s", in_work("train.log"));
    int code = RUN(log, "train", SMALL_RUN, "--epochs", "2", "--threads", "2", "--out", in_work("a"));
    if (code != 0)
        print_log(log);
    assert_int_equal(code, 0);
    assert_int_equal(RUN(log, "train", SMALL_RUN, "--epochs", "2", "--threads", "2", "--out", in_work("b")), 0);
    assert_int_equal(RUN(log, "train", SMALL_RUN, "--epochs", "2", "--threads", "1", "--out", in_work("c")), 0);
    int ok = same_file("rerun: last.safetensors", in_work("a/last.safetensors"), in_work("b/last.safetensors"));
    ok &= same_file("1 vs 2 threads: last.safetensors", in_work("a/last.safetensors"),
                    in_work("c/last.safetensors"));
    ok &= same_file("1 vs 2 threads: epoch_000.safetensors", in_work("a/epoch_000.safetensors"),
                    in_work("c/epoch_000.safetensors"));

    /* 1 epoch, stop, --resume to 2 */
    assert_int_equal(RUN(log, "train", SMALL_RUN, "--epochs", "1", "--out", in_work("d")), 0);
    assert_int_equal(RUN(log, "train", "--resume", in_work("d"), "--epochs", "2"), 0);
    ok &= same_file("stop + resume: last.safetensors", in_work("a/last.safetensors"),
                    in_work("d/last.safetensors"));

    /* SIGKILL during epoch 1 (0-based), after epoch 0's state was committed */
    code = run_freqbias_killing(log, in_work("e/state.safetensors"), 0.15, "train", SMALL_RUN,
                                "--epochs", "2", "--out", in_work("e"), (const char *)NULL);
    printf("[kill] first run ended with code %d (137 = SIGKILL)\n", code);
    struct stat st;
    assert_int_equal(stat(in_work("e/state.safetensors"), &st), 0);
    code = RUN(log, "train", "--resume", in_work("e"));
    if (code != 0)
        print_log(log);
    assert_int_equal(code, 0);
    ok &= same_file("SIGKILL + resume: last.safetensors", in_work("a/last.safetensors"),
                    in_work("e/last.safetensors"));
    ok &= same_file("SIGKILL + resume: epoch_001.safetensors", in_work("a/epoch_001.safetensors"),
                    in_work("e/epoch_001.safetensors"));
    size_t size;
    char *csv = read_file(in_work("e/log.csv"), &size);
    int rows = 0;
    for (char *p = csv; p && *p; p++)
        rows += *p == '\n';
    printf("[kill] log.csv after resume has %d lines (header + 2 epochs)\n", rows);
    ok &= rows == 3;
    free(csv);
    assert_true(ok);
}

/* ---- the library trainer called directly: same bytes as the CLI ---- */

typedef struct event_counts {
    int starts, batches, ends, last_epoch_done;
    long images;
} event_counts;

static void count_event(const fb_train_event *event, void *user)
{
    event_counts *counts = user;
    counts->starts += event->kind == FB_TRAIN_EPOCH_START;
    counts->batches += event->kind == FB_TRAIN_BATCH_DONE;
    if (event->kind == FB_TRAIN_BATCH_DONE)
        counts->images = event->images;
    if (event->kind == FB_TRAIN_EPOCH_DONE) {
        counts->ends++;
        counts->last_epoch_done = event->epoch;
    }
}

static void test_library_trainer(void **state)
{
    (void)state;
    fb_dataset train, test;
    assert_int_equal(fb_dataset_load_path(fixture("cifar10_test512.bin"), &train), FB_OK);
    assert_int_equal(fb_dataset_load_path(fixture("cifar10_test8.bin"), &test), FB_OK);
    event_counts counts = {0};
    fb_train_job job = {.train = &train, .test = &test, .callback = count_event, .user = &counts};
    fb_train_settings_default(&job.settings);
    snprintf(job.settings.train_data, sizeof job.settings.train_data, "%s", fixture("cifar10_test512.bin"));
    snprintf(job.settings.test_data, sizeof job.settings.test_data, "%s", fixture("cifar10_test8.bin"));
    snprintf(job.settings.out, sizeof job.settings.out, "%s", in_work("lib"));
    mkdir(job.settings.out, 0777);
    job.settings.width = 4;
    job.settings.batch = 64;
    job.settings.seed = 5;
    job.settings.epochs = 2;
    fb_set_threads(2);
    fb_train_outcome outcome;
    fb_status status = fb_train_run(&job, &outcome);
    if (status != FB_OK)
        fail_msg("%s", fb_error_message());
    printf("[library] %d epoch starts, %d batches (%ld images in the last epoch), %d epoch ends; "
           "best epoch %d top-1 %.4f\n", counts.starts, counts.batches, counts.images, counts.ends,
           outcome.best_epoch, outcome.best_top1);
    int ok = counts.starts == 2 && counts.batches == 16 && counts.images == 512 && counts.ends == 2 &&
             counts.last_epoch_done == 1 && outcome.epochs_done == 2;
    ok &= same_file("fb_train_run vs freqbias train: last.safetensors", in_work("lib/last.safetensors"),
                    in_work("a/last.safetensors"));
    ok &= same_file("fb_train_run vs freqbias train: epoch_000.safetensors", in_work("lib/epoch_000.safetensors"),
                    in_work("a/epoch_000.safetensors"));
    /* a bad setting is refused before anything is written */
    job.settings.momentum = -1;
    snprintf(job.settings.out, sizeof job.settings.out, "%s", in_work("lib_bad"));
    status = fb_train_run(&job, &outcome);
    struct stat st;
    printf("[library] momentum -1: %s: %s\n", fb_status_name(status), fb_error_message());
    ok &= status == FB_ERR_USAGE && strstr(fb_error_message(), "momentum") && stat(in_work("lib_bad"), &st) != 0;
    fb_dataset_free(&train);
    fb_dataset_free(&test);
    assert_true(ok);
}

/* ---- online gradient spectrum: no effect on training, resumable ---- */

static void test_online_gradspec(void **state)
{
    (void)state;
    char log[800];
    snprintf(log, sizeof log, "%s", in_work("gradspec.log"));
    assert_int_equal(RUN(log, "train", SMALL_RUN, "--epochs", "2", "--gradspec", "32", "--out", in_work("g")), 0);
    assert_int_equal(RUN(log, "train", SMALL_RUN, "--epochs", "1", "--gradspec", "32", "--out", in_work("h")), 0);
    assert_int_equal(RUN(log, "train", "--resume", in_work("h"), "--epochs", "2"), 0);
    int ok = same_file("--gradspec leaves training unchanged: last.safetensors", in_work("a/last.safetensors"),
                       in_work("g/last.safetensors"));
    ok &= same_file("--gradspec across stop + resume: gradspec_mean.npy", in_work("g/gradspec_mean.npy"),
                    in_work("h/gradspec_mean.npy"));
    fb_npy_array mean;
    assert_int_equal(fb_npy_read(in_work("g/gradspec_mean.npy"), &mean), FB_OK);
    printf("[gradspec] %lld rows (before training + 2 epochs) x %lld bands\n", (long long)mean.shape[0],
           (long long)mean.shape[1]);
    ok &= mean.shape[0] == 3 && mean.shape[1] == 20;
    fb_npy_free(&mean);
    assert_true(ok);
}

/* ---- hostile training state (issue 15): checked like the command line ---- */

/* dir/state.safetensors: the base state's tensors and metadata with `key`
 * set to `value`; the base's gradient-spectrum files next to it, so the
 * reader would reach the row restore if it let the value through. */
static void write_hostile_state(const fb_st_file *base, const char *base_dir, const char *dir,
                                const char *key, const char *value)
{
    mkdir(dir, 0777);
    fb_st_tensor *tensors = calloc((size_t)base->count, sizeof *tensors);
    const char **values = malloc((size_t)base->meta_count * sizeof *values);
    assert_true(tensors && values);
    for (int i = 0; i < base->count; i++) {
        const fb_st_entry *e = &base->entries[i];
        tensors[i] = (fb_st_tensor){.name = e->name, .dtype = e->dtype, .ndim = e->ndim, .data = e->data};
        memcpy(tensors[i].shape, e->shape, sizeof e->shape);
    }
    int replaced = 0;
    for (int i = 0; i < base->meta_count; i++) {
        int match = strcmp(base->meta_keys[i], key) == 0;
        values[i] = match ? value : base->meta_values[i];
        replaced += match;
    }
    assert_int_equal(replaced, 1);
    char path[1100], from[1100];
    snprintf(path, sizeof path, "%s/state.safetensors", dir);
    assert_int_equal(fb_st_write(path, tensors, base->count, (const char *const *)base->meta_keys, values,
                                 base->meta_count), FB_OK);
    const char *copies[] = {"gradspec_mean.npy", "gradspec_std.npy", "log.csv"};
    for (int i = 0; i < 3; i++) {
        size_t size;
        snprintf(from, sizeof from, "%s/%s", base_dir, copies[i]);
        char *bytes = read_file(from, &size);
        snprintf(path, sizeof path, "%s/%s", dir, copies[i]);
        write_file(path, bytes, size);
        free(bytes);
    }
    free(tensors);
    free(values);
}

static void test_hostile_state(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"next_epoch", "-3"},      {"next_epoch", "2147483647"}, {"next_epoch", "-1"},
        {"epochs", "2147483647"},  {"subset", "-5"},             {"width", "4abc"},
        {"lr", "nan"},             {"augment", "2"},             {"best_epoch", "7"},
        {"lr_milestones", "60,,120"}, {"batch", "99999999999"},  {"arch", "toykernel"},
    };
    char log[800], base_dir[800];
    snprintf(log, sizeof log, "%s", in_work("hostile.log"));
    snprintf(base_dir, sizeof base_dir, "%s", in_work("hostile_base"));
    assert_int_equal(RUN(log, "train", SMALL_RUN, "--epochs", "1", "--subset", "64", "--gradspec", "8",
                         "--out", base_dir), 0);
    char base_path[1100];
    snprintf(base_path, sizeof base_path, "%s/state.safetensors", base_dir);
    fb_st_file base;
    assert_int_equal(fb_st_read(base_path, &base), FB_OK);
    fb_train_resume_point point;
    assert_int_equal(fb_train_state_read(base_path, &point), FB_OK);
    printf("[state] base: next_epoch %d, epochs %d, subset %d, gradspec %d\n", point.next_epoch,
           point.settings.epochs, point.settings.subset, point.settings.gradspec);
    int ok = point.next_epoch == 1 && point.settings.subset == 64 && point.settings.gradspec == 8;
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        char dir[800], path[1100], field[64];
        snprintf(dir, sizeof dir, "%s", in_work(label("hostile_%zu", c)));
        write_hostile_state(&base, base_dir, dir, cases[c][0], cases[c][1]);
        snprintf(path, sizeof path, "%s/state.safetensors", dir);
        snprintf(field, sizeof field, "field '%s'", cases[c][0]);
        size_t before_size, after_size;
        char *before = read_file(path, &before_size);
        fb_status status = fb_train_state_read(path, &point);
        int named = strstr(fb_error_message(), path) && strstr(fb_error_message(), field);
        int code = RUN(log, "train", "--resume", dir, "--epochs", "2");
        size_t log_size;
        char *text = read_file(log, &log_size);
        int cli_named = text && strstr(text, path) && strstr(text, field);
        char *after = read_file(path, &after_size);
        int intact = after_size == before_size && memcmp(before, after, before_size) == 0;
        printf("[state] %s = %s: reader %s (%s), train --resume exit %d%s, state %s\n", cases[c][0],
               cases[c][1], fb_status_name(status), named ? "names file and field" : "MESSAGE INCOMPLETE",
               code, cli_named ? " naming file and field" : " WITHOUT file and field", intact ? "intact" : "CHANGED");
        ok &= status == FB_ERR_FORMAT && named && code == 2 && cli_named && intact;
        free(text);
        free(before);
        free(after);
    }
    fb_st_free(&base);
    assert_true(ok);
}

/* ---- PyTorch parity of one epoch ---- */

static void test_pytorch_epoch(void **state)
{
    (void)state;
    char log[800]; /* a copy: in_work's buffers are reused */
    snprintf(log, sizeof log, "%s", in_work("parity.log"));
    int code = RUN(log, "train", "--train-data", fixture("cifar10_test512.bin"), "--test-data",
                   fixture("cifar10_test8.bin"), "--subset", "256", "--no-augment", "--no-shuffle",
                   "--width", "8", "--epochs", "1", "--init", fixture("train256_r18w8_init.safetensors"),
                   "--out", in_work("parity"));
    if (code != 0)
        print_log(log);
    assert_int_equal(code, 0);
    fb_st_file ours, reference;
    assert_int_equal(fb_st_read(in_work("parity/last.safetensors"), &ours), FB_OK);
    assert_int_equal(fb_st_read(fixture("train256_r18w8_after.safetensors"), &reference), FB_OK);
    int ok = 1;
    char key[256];
    for (int i = 0; i < ours.count; i++) {
        const fb_st_entry *e = &ours.entries[i];
        snprintf(key, sizeof key, "after.%s", e->name);
        const fb_st_entry *r = fb_st_find(&reference, key);
        assert_non_null(r);
        if (e->dtype == FB_ST_I64) {
            ok &= memcmp(e->data, r->data, 8) == 0;
            continue;
        }
        ok &= compare_f32(e->name, e->data, r->data, (size_t)fb_st_numel(e), TOL_TRAIN_EPOCH).ok;
    }
    /* the epoch's mean training loss against the mean of PyTorch's two step losses */
    const float *losses = fb_st_find(&reference, "losses")->data;
    size_t size;
    char *csv = read_file(in_work("parity/log.csv"), &size);
    float train_loss = 0.0f;
    assert_int_equal(sscanf(strchr(csv, '\n') + 1, "%*d,%*g,%f", &train_loss), 1);
    float want = (losses[0] + losses[1]) / 2.0f;
    ok &= compare_f32("epoch mean train loss", &train_loss, &want, 1, TOL_PARITY_LOGITS).ok;
    free(csv);
    fb_st_free(&ours);
    fb_st_free(&reference);
    assert_true(ok);
}

/* ---- freqbias test, and failures ---- */

static void test_test_command_and_failures(void **state)
{
    (void)state;
    char log[800]; /* a copy: in_work's buffers are reused */
    snprintf(log, sizeof log, "%s", in_work("test.log"));
    assert_int_equal(RUN(log, "train", SMALL_RUN, "--epochs", "1", "--out", in_work("t")), 0);
    int code = RUN(log, "test", "--ckpt", in_work("t/last.safetensors"), "--test-data",
                   fixture("cifar10_test512.bin"), "--json", in_work("t/test.json"), "--logits",
                   in_work("t/logits.npy"), "--features", in_work("t/features.npy"));
    print_log(log);
    assert_int_equal(code, 0);
    size_t size;
    char *text = read_file(in_work("t/test.json"), &size), error[256];
    fb_json *json;
    assert_int_equal(fb_json_parse(text, size, &json, error, sizeof error), FB_OK);
    int64_t n;
    assert_true(fb_json_int64(fb_json_get(json, "n"), &n));
    assert_int_equal(n, 512);
    assert_int_equal(fb_json_count(fb_json_get(json, "per_class_acc")), 10);
    assert_int_equal(fb_json_count(fb_json_get(json, "confusion")), 10);
    double top1 = fb_json_number(fb_json_get(json, "top1"));
    fb_npy_array logits, features;
    assert_int_equal(fb_npy_read(in_work("t/logits.npy"), &logits), FB_OK);
    assert_int_equal(fb_npy_read(in_work("t/features.npy"), &features), FB_OK);
    assert_int_equal(logits.shape[0], 512);
    assert_int_equal(logits.shape[1], 10);
    assert_int_equal(features.shape[0], 512);
    assert_int_equal(features.shape[1], 32); /* 8 × width 4 */
    fb_dataset data;
    assert_int_equal(fb_dataset_load_path(fixture("cifar10_test512.bin"), &data), FB_OK);
    long correct = 0;
    const float *rows = logits.data; /* [512, 10] */
    for (int i = 0; i < 512; i++) {
        int best = 0;
        for (int k = 1; k < 10; k++)
            best = rows[i * 10 + k] > rows[i * 10 + best] ? k : best;
        correct += best == data.labels[i];
    }
    printf("[test] json top1 %.4f, from logits.npy %.4f\n", top1, correct / 512.0);
    assert_true(fabs(top1 - correct / 512.0) < 1e-6); /* the JSON has 6 decimals */
    fb_json_free(json);
    free(text);
    fb_npy_free(&logits);
    fb_npy_free(&features);
    fb_dataset_free(&data);

    /* a missing checkpoint: exit 2, the message names the file */
    code = RUN(log, "test", "--ckpt", in_work("nope.safetensors"), "--test-data", fixture("cifar10_test8.bin"));
    text = read_file(log, &size);
    printf("[failure] missing checkpoint -> exit %d: %s", code, text);
    assert_int_equal(code, 2);
    assert_non_null(strstr(text, "nope.safetensors"));
    free(text);
    /* a diverging run stops with exit 3 and keeps the last good checkpoint */
    code = RUN(log, "train", SMALL_RUN, "--epochs", "1", "--lr", "1e30", "--out", in_work("nan"));
    text = read_file(log, &size);
    printf("[failure] lr 1e30 -> exit %d: %s", code, strstr(text, "freqbias train:") ? strstr(text, "freqbias train: e") : text);
    assert_int_equal(code, 3);
    assert_non_null(strstr(text, "loss"));
    free(text);
    /* a bad option is a usage error */
    assert_int_equal(RUN(log, "train", "--width", "abc", "--out", in_work("x")), 1);
}

/* ---- freqbias filter and test --freq against the numpy references ---- */

static void test_filter_command(void **state)
{
    (void)state;
    char log[800];
    snprintf(log, sizeof log, "%s", in_work("filter.log"));
    int code = RUN(log, "filter", "--input", fixture("cifar10_test512.bin"), "--freq", "high", "--r", "12",
                   "--norm", "none", "--out", in_work("high12.npy"), "--samples", in_work("samples.png"));
    if (code != 0)
        print_log(log);
    assert_int_equal(code, 0);
    /* --backend: a CPU backend filters on the host (same bytes); cuda needs a
     * CUDA=1 build and a GPU, and says which is missing before writing anything */
    assert_int_equal(RUN(log, "filter", "--input", fixture("cifar10_test512.bin"), "--freq", "high", "--r", "12",
                         "--norm", "none", "--backend", "cpu-ref", "--out", in_work("high12_ref.npy")), 0);
    assert_true(same_file("filter --backend cpu-ref = default", in_work("high12.npy"), in_work("high12_ref.npy")));
    if (fb_backend_by_name("cuda") == NULL) {
        code = RUN(log, "filter", "--input", fixture("cifar10_test512.bin"), "--freq", "high", "--r", "12",
                   "--backend", "cuda", "--out", in_work("cuda.npy"));
        size_t cuda_size;
        char *cuda_text = read_file(log, &cuda_size);
        printf("[filter --backend cuda without a GPU] exit %d: %s", code, cuda_text);
        assert_int_equal(code, 1);
        assert_non_null(strstr(cuda_text, "backend 'cuda'"));
        free(cuda_text);
        struct stat none;
        assert_int_equal(stat(in_work("cuda.npy"), &none), -1);
    }
    assert_int_equal(RUN(log, "filter", "--input", fixture("cifar10_test512.bin"), "--freq", "low", "--r", "4",
                         "--layout", "seed", "--out", in_work("seed"), "--check"), 0);
    size_t check_size;
    char *check_text = read_file(log, &check_size);
    printf("[filter --check] %s", strstr(check_text, "check:") ? strstr(check_text, "check:") : check_text);
    assert_non_null(strstr(check_text, "45 coefficients, 0 Hermitian violations"));
    free(check_text);
    fb_st_file reference;
    assert_int_equal(fb_st_read(fixture("spectrum_ref.safetensors"), &reference), FB_OK);
    fb_npy_array high, labels, seed;
    assert_int_equal(fb_npy_read(in_work("high12.npy"), &high), FB_OK);
    assert_int_equal(fb_npy_read(in_work("high12_labels.npy"), &labels), FB_OK);
    assert_int_equal(fb_npy_read(in_work("seed/test_data_low_4.npy"), &seed), FB_OK);
    assert_int_equal(high.shape[0], 512);
    struct stat st;
    assert_int_equal(stat(in_work("samples.png"), &st), 0);
    assert_int_equal(labels.shape[0], 512);
    int ok = compare_f32("filter --freq high --r 12 --norm none vs numpy (4 images)", high.data,
                         fb_st_find(&reference, "filter_high_r12_none")->data, 4 * 3072, 1e-5).ok;
    /* the seed layout: N×H×W×C uint8 of min-max × 255, truncated */
    const float *low = fb_st_find(&reference, "filter_low_r4_minmax")->data; /* [4, 3, 32, 32] */
    const uint8_t *bytes = seed.data;                                          /* [512, 32, 32, 3] */
    int worst = 0, off = 0;
    for (int n = 0; n < 4; n++)
        for (int c = 0; c < 3; c++)
            for (int p = 0; p < 1024; p++) {
                int want = (int)(low[(n * 3 + c) * 1024 + p] * 255.0f);
                int diff = abs((int)bytes[((size_t)n * 1024 + p) * 3 + c] - want);
                worst = diff > worst ? diff : worst;
                off += diff != 0;
            }
    printf("[filter --layout seed] 12288 bytes vs numpy: %d differ, by at most %d (truncation of values "
           "within float rounding of an integer)\n", off, worst);
    ok &= worst <= 1 && off < 50;
    /* test --freq runs the same filter on the fly */
    code = RUN(log, "test", "--ckpt", fixture("train256_r18w8_init.safetensors"), "--test-data",
               fixture("cifar10_test512.bin"), "--freq", "low", "--r", "8");
    size_t size;
    char *text = read_file(log, &size);
    printf("[test --freq] exit %d: %s", code, text && strstr(text, "images ") ? strstr(text, "images ") : "");
    ok &= code == 0 && text && strstr(text, "low-pass, r = 8, norm none");
    free(text);
    fb_npy_free(&high);
    fb_npy_free(&labels);
    fb_npy_free(&seed);
    fb_st_free(&reference);
    assert_true(ok);
}

/* ---- sweep: feature discrimination on a hand-computed case, then the CLI ---- */

static void test_sweep(void **state)
{
    (void)state;
    /* 1-D features: class 0 = {0, 2}, class 1 = {4, 6}: μ0 = 1, μ1 = 5, μ = 3,
     * inter = ((1−3)² + (5−3)²)/2 = 4, intra = (1 + 1 + 1 + 1)/4 = 1 */
    const float features[4] = {0, 2, 4, 6};
    const int32_t labels[4] = {0, 0, 1, 1};
    double inter, intra;
    fb_feature_variances(features, labels, 4, 1, 2, &inter, &intra);
    const double x[3] = {1, 2, 3}, up[3] = {2, 4, 6}, down[3] = {3, 2, 1};
    double r_up = fb_pearson(x, up, 3), r_down = fb_pearson(x, down, 3);
    printf("[sweep] hand case: inter %.6f (want 4), intra %.6f (want 1), pearson %.6f / %.6f (want 1 / -1)\n",
           inter, intra, r_up, r_down);
    assert_true(fabs(inter - 4.0) < 1e-12 && fabs(intra - 1.0) < 1e-12);
    assert_true(fabs(r_up - 1.0) < 1e-12 && fabs(r_down + 1.0) < 1e-12);

    char log[800];
    snprintf(log, sizeof log, "%s", in_work("sweep.log"));
    int code = RUN(log, "sweep", "--ckpt", fixture("train256_r18w8_init.safetensors"), "--test-data",
                   fixture("cifar10_test512.bin"), "--radii", "8", "--out", in_work("sweep"));
    print_log(log);
    assert_int_equal(code, 0);
    size_t size;
    char *text = read_file(in_work("sweep/sweep.json"), &size), error[256];
    fb_json *json;
    assert_int_equal(fb_json_parse(text, size, &json, error, sizeof error), FB_OK);
    const fb_json *sets = fb_json_get(json, "sets");
    assert_int_equal(fb_json_count(sets), 3); /* clean, low 8, high 8 */
    assert_string_equal(fb_json_string(fb_json_get(fb_json_item(sets, 1), "freq")), "low");
    assert_int_equal(fb_json_count(fb_json_get(fb_json_item(sets, 0), "per_class_acc")), 10);
    fb_json_free(json);
    free(text);
}

/* ---- spectrum: files and shapes on the fixture ---- */

static void test_spectrum_command(void **state)
{
    (void)state;
    char log[800];
    snprintf(log, sizeof log, "%s", in_work("spectrum.log"));
    int code = RUN(log, "spectrum", "--input", fixture("cifar10_test512.bin"), "--per-class", "--kde", "--ckpt",
                   fixture("train256_r18w8_init.safetensors"), "--n", "64", "--out", in_work("spec"));
    print_log(log);
    assert_int_equal(code, 0);
    fb_npy_array mean, per_class, kde, gradient;
    assert_int_equal(fb_npy_read(in_work("spec/spectrum_mean.npy"), &mean), FB_OK);
    assert_int_equal(fb_npy_read(in_work("spec/spectrum_per_class.npy"), &per_class), FB_OK);
    assert_int_equal(fb_npy_read(in_work("spec/kde.npy"), &kde), FB_OK);
    assert_int_equal(fb_npy_read(in_work("spec/gradient_density.npy"), &gradient), FB_OK);
    const float *m = mean.data; /* [1, 20] */
    printf("[spectrum] mean density band 0 %.3f (the DC end is the largest after min-max), band 19 %.3f; "
           "kde %lldx%lldx%lld\n", m[0], m[19], (long long)kde.shape[0], (long long)kde.shape[1],
           (long long)kde.shape[2]);
    assert_int_equal(mean.shape[1], 20);
    assert_int_equal(per_class.shape[0], 10);
    assert_int_equal(kde.shape[0], 3);
    assert_int_equal(kde.shape[1], 11); /* 10 classes + the grid */
    assert_int_equal(gradient.shape[1], 20);
    assert_true(m[0] > m[10] && m[10] > m[19]);
    struct stat st;
    assert_int_equal(stat(in_work("spec/kde_high.png"), &st), 0);
    assert_int_equal(stat(in_work("spec/spectrum.png"), &st), 0);
    fb_npy_free(&mean);
    fb_npy_free(&per_class);
    fb_npy_free(&kde);
    fb_npy_free(&gradient);
}

int main(int argc, char **argv)
{
    fb_runtime_init(argc, argv);
    set_freqbias_binary(argv[0]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_fixtures),
        cmocka_unit_test(test_loader_twin),
        cmocka_unit_test(test_determinism_and_resume),
        cmocka_unit_test(test_library_trainer),
        cmocka_unit_test(test_online_gradspec),
        cmocka_unit_test(test_hostile_state),
        cmocka_unit_test(test_pytorch_epoch),
        cmocka_unit_test(test_test_command_and_failures),
        cmocka_unit_test(test_filter_command),
        cmocka_unit_test(test_sweep),
        cmocka_unit_test(test_spectrum_command),
    };
    return cmocka_run_group_tests(tests, work_dir_setup, work_dir_teardown);
}
