/* test_checkpoint.c — model state_dicts through safetensors files.
 *
 * Round trip (bits and metadata), PyTorch files with robustness prefixes,
 * mismatches reported by tensor name and shape with the model untouched,
 * architecture inference from shapes alone, and — when Debian's
 * python3-torch is installed — loading our file into the PyTorch model with
 * load_state_dict(strict=True) and comparing its logits with ours.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "freqbias/checkpoint.h"
#include "freqbias/runtime.h"
#include "freqbias/safetensors.h"
#include "testutil.h"

static fb_model *make_model(fb_arch arch, int width, uint64_t seed)
{
    fb_model_config c = fb_model_config_default(arch);
    c.width = width;
    c.max_batch = 8;
    fb_model *m;
    if (fb_model_create(&m, &c, &fb_backend_cpu) != FB_OK)
        fail_msg("%s", fb_error_message());
    fb_model_init(m, seed);
    return m;
}

/* 1 if every tensor of a and b is bit-identical. */
static int same_state(fb_model *a, fb_model *b, const char *label)
{
    fb_registry *ra = fb_model_registry(a), *rb = fb_model_registry(b);
    int differing = 0;
    for (int i = 0; i < ra->count; i++) {
        fb_tensor *x = &ra->tensors[i], *y = &rb->tensors[i];
        int same = x->role == FB_ROLE_COUNTER ? x->counter[0] == y->counter[0]
                                              : memcmp(x->value, y->value, x->numel * 4) == 0;
        differing += !same;
    }
    printf("[%s] %d tensors, %d differ\n", label, ra->count, differing);
    return differing == 0;
}

static void test_round_trip(void **state)
{
    (void)state;
    char *dir = make_temp_dir(), path[512];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    fb_model *a = make_model(FB_ARCH_RESNET18, 8, 1), *b = make_model(FB_ARCH_RESNET18, 8, 2);
    fb_registry_find(fb_model_registry(a), "bn1.num_batches_tracked")->counter[0] = 391;
    fb_checkpoint_info info = {.epoch = 7, .seed = 1, .data_sha256 = "abc"}, back;
    assert_int_equal(fb_checkpoint_save(a, path, &info), FB_OK);
    assert_int_equal(fb_checkpoint_load(b, path, &back), FB_OK);
    assert_true(same_state(a, b, "round trip"));
    assert_int_equal(back.epoch, 7);
    assert_int_equal((int)back.seed, 1);
    assert_string_equal(back.data_sha256, "abc");
    fb_model_config inferred;
    assert_int_equal(fb_checkpoint_inspect(path, &inferred), FB_OK);
    assert_int_equal(inferred.arch, FB_ARCH_RESNET18);
    assert_int_equal(inferred.width, 8);
    fb_model_free(a);
    fb_model_free(b);
    remove_tree(dir);
    free(dir);
}

/* Rewrites a checkpoint with renamed keys, extra keys and no metadata. */
static void rewrite(const char *from, const char *to, const char *prefix, int add_ignored,
                    int drop_index, const char *extra_name)
{
    fb_st_file file;
    assert_int_equal(fb_st_read(from, &file), FB_OK);
    fb_st_tensor *tensors = calloc((size_t)file.count + 3, sizeof *tensors);
    char (*names)[160] = calloc((size_t)file.count + 3, sizeof *names);
    int count = 0;
    static const float normalizer[3] = {0.4914f, 0.4822f, 0.4465f};
    if (add_ignored) {
        tensors[count] = (fb_st_tensor){.name = "module.normalizer.new_mean", .dtype = FB_ST_F32,
                                        .ndim = 1, .shape = {3}, .data = normalizer};
        count++;
        tensors[count] = (fb_st_tensor){.name = "module.attacker.normalize.new_std",
                                        .dtype = FB_ST_F32, .ndim = 1, .shape = {3},
                                        .data = normalizer};
        count++;
    }
    for (int i = 0; i < file.count; i++) {
        if (i == drop_index)
            continue;
        const fb_st_entry *e = &file.entries[i];
        snprintf(names[count], sizeof names[count], "%s%s", prefix, e->name);
        tensors[count] = (fb_st_tensor){.name = names[count], .dtype = e->dtype, .ndim = e->ndim,
                                        .data = e->data};
        memcpy(tensors[count].shape, e->shape, sizeof e->shape);
        count++;
    }
    if (extra_name) {
        tensors[count] = (fb_st_tensor){.name = extra_name, .dtype = FB_ST_F32, .ndim = 1,
                                        .shape = {3}, .data = normalizer};
        count++;
    }
    assert_int_equal(fb_st_write(to, tensors, count, NULL, NULL, 0), FB_OK);
    free(tensors);
    free(names);
    fb_st_free(&file);
}

static void test_robustness_prefix_and_inference(void **state)
{
    (void)state;
    char *dir = make_temp_dir(), plain[512], wrapped[512];
    snprintf(plain, sizeof plain, "%s/plain.safetensors", dir);
    snprintf(wrapped, sizeof wrapped, "%s/wrapped.safetensors", dir);
    const fb_arch arches[] = {FB_ARCH_RESNET18, FB_ARCH_RESNET34, FB_ARCH_RESNET50};
    for (int i = 0; i < 3; i++) {
        fb_model *a = make_model(arches[i], 4, 3), *b = make_model(arches[i], 4, 4);
        assert_int_equal(fb_checkpoint_save(a, plain, NULL), FB_OK);
        rewrite(plain, wrapped, "module.model.", 1, -1, NULL);
        fb_model_config inferred;
        assert_int_equal(fb_checkpoint_inspect(wrapped, &inferred), FB_OK);
        printf("[inspect] %s written, inferred %s width %d classes %d channels %d\n",
               fb_arch_name(arches[i]), fb_arch_name(inferred.arch), inferred.width,
               inferred.num_classes, inferred.in_channels);
        assert_int_equal(inferred.arch, arches[i]);
        assert_int_equal(inferred.width, 4);
        assert_int_equal(inferred.num_classes, 10);
        if (fb_checkpoint_load(b, wrapped, NULL) != FB_OK)
            fail_msg("%s", fb_error_message());
        assert_true(same_state(a, b, "module.model. prefix"));
        fb_model_free(a);
        fb_model_free(b);
    }
    remove_tree(dir);
    free(dir);
}

/* A file that does not fit: the error names the tensor, the model is untouched. */
static void expect_mismatch(fb_model *target, const char *path, const char *phrase)
{
    fb_model *copy = make_model(FB_ARCH_RESNET18, 8, 9);
    fb_status status = fb_checkpoint_load(target, path, NULL);
    printf("[mismatch] status %s: %s\n", fb_status_name(status), fb_error_message());
    assert_int_equal(status, FB_ERR_FORMAT);
    assert_non_null(strstr(fb_error_message(), path));
    assert_non_null(strstr(fb_error_message(), phrase));
    assert_true(same_state(target, copy, "model untouched after a failed load"));
    fb_model_free(copy);
}

static void test_mismatches(void **state)
{
    (void)state;
    char *dir = make_temp_dir(), good[512], bad[512];
    snprintf(good, sizeof good, "%s/good.safetensors", dir);
    snprintf(bad, sizeof bad, "%s/bad.safetensors", dir);
    fb_model *narrow = make_model(FB_ARCH_RESNET18, 4, 1);
    fb_model *target = make_model(FB_ARCH_RESNET18, 8, 9);
    assert_int_equal(fb_checkpoint_save(narrow, good, NULL), FB_OK);
    expect_mismatch(target, good, "'conv1.weight' has shape [4,3,3,3], model expects [8,3,3,3]");
    fb_model *same = make_model(FB_ARCH_RESNET18, 8, 1);
    assert_int_equal(fb_checkpoint_save(same, good, NULL), FB_OK);
    rewrite(good, bad, "", 0, 5, NULL);
    expect_mismatch(target, bad, "missing tensor 'bn1.num_batches_tracked'");
    rewrite(good, bad, "", 0, -1, "layer9.0.conv1.weight");
    expect_mismatch(target, bad, "unexpected tensor 'layer9.0.conv1.weight'");
    fb_model *resnet34 = make_model(FB_ARCH_RESNET34, 8, 1);
    assert_int_equal(fb_checkpoint_save(resnet34, bad, NULL), FB_OK);
    expect_mismatch(target, bad, "does not match the resnet18 model");
    /* an unwritable path fails cleanly and leaves nothing behind */
    char missing_dir[600];
    snprintf(missing_dir, sizeof missing_dir, "%s/no/such/dir/x.safetensors", dir);
    assert_int_equal(fb_checkpoint_save(same, missing_dir, NULL), FB_ERR_IO);
    printf("[save] %s\n", fb_error_message());
    fb_model_free(narrow);
    fb_model_free(target);
    fb_model_free(same);
    fb_model_free(resnet34);
    remove_tree(dir);
    free(dir);
}

/* Our checkpoint into PyTorch (strict) and back: same tensors, same logits. */
static void test_pytorch_round_trip(void **state)
{
    (void)state;
    if (system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0) {
        printf("[pytorch] python3-torch is not installed: this check needs it (apt-get install "
               "python3-torch); the rest of the suite does not\n");
        skip();
    }
    char *dir = make_temp_dir(), ours[512], theirs[512], command[1600], cifar[512];
    snprintf(ours, sizeof ours, "%s/ours.safetensors", dir);
    snprintf(theirs, sizeof theirs, "%s/theirs.safetensors", dir);
    fb_model *m = make_model(FB_ARCH_RESNET18, 8, 17);
    /* train a little so the running statistics are not the defaults */
    snprintf(cifar, sizeof cifar, "%s/cifar10_test8.bin", ref_data_dir());
    FILE *f = fopen(cifar, "rb");
    assert_non_null(f);
    unsigned char records[8 * 3073];
    assert_int_equal(fread(records, 1, sizeof records, f), sizeof records);
    fclose(f);
    float images[8 * 3072]; /* [8, 3, 32, 32] */
    int32_t labels[8];
    for (int i = 0; i < 8; i++) {
        labels[i] = records[i * 3073];
        for (int p = 0; p < 3072; p++)
            images[i * 3072 + p] = (float)records[i * 3073 + 1 + p] / 255.0f;
    }
    for (int step = 0; step < 2; step++) {
        fb_model_forward(m, images, 8, 1);
        fb_model_loss(m, labels, 8);
        fb_model_backward(m, NULL, 0);
        fb_model_sgd_step(m, 0.05f, 0.9f, 5e-4f);
    }
    float logits[80];
    memcpy(logits, fb_model_forward(m, images, 8, 0), sizeof logits);
    assert_int_equal(fb_checkpoint_save(m, ours, NULL), FB_OK);
    snprintf(command, sizeof command, "/usr/bin/python3 %s/gen/check_roundtrip.py %s %s",
             ref_data_dir(), ours, theirs);
    assert_int_equal(system(command), 0);
    /* PyTorch's file = its state_dict + "eval_logits": load the state part */
    fb_st_file file;
    assert_int_equal(fb_st_read(theirs, &file), FB_OK);
    int logits_index = (int)(fb_st_find(&file, "eval_logits") - file.entries);
    char state_only[600];
    snprintf(state_only, sizeof state_only, "%s/theirs_state.safetensors", dir);
    rewrite(theirs, state_only, "", 0, logits_index, NULL);
    fb_model *back = make_model(FB_ARCH_RESNET18, 8, 1);
    if (fb_checkpoint_load(back, state_only, NULL) != FB_OK)
        fail_msg("%s", fb_error_message());
    int ok = same_state(m, back, "ours -> PyTorch -> ours");
    const fb_st_entry *torch_logits = fb_st_find(&file, "eval_logits");
    assert_non_null(torch_logits);
    ok &= compare_f32("PyTorch eval logits of our checkpoint", logits, torch_logits->data, 80,
                      TOL_PARITY_LOGITS).ok;
    fb_st_free(&file);
    fb_model_free(m);
    fb_model_free(back);
    remove_tree(dir);
    free(dir);
    assert_true(ok);
}

int main(int argc, char **argv)
{
    fb_runtime_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_robustness_prefix_and_inference),
        cmocka_unit_test(test_mismatches),
        cmocka_unit_test(test_pytorch_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
