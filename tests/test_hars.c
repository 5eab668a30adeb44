/* test_hars.c — the HARS dataset (PAPER.md E4): pairing properties for
 * several seeds, the frequency invariants of one mixed image, and the built
 * set against a direct per-image computation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "freqbias/dataset.h"
#include "freqbias/model.h"
#include "freqbias/runtime.h"
#include "freqbias/safetensors.h"
#include "freqbias/spectrum.h"
#include "testutil.h"

static fb_dataset load_fixture(void)
{
    char path[600];
    snprintf(path, sizeof path, "%s/cifar10_test512.bin", ref_data_dir());
    fb_dataset data;
    if (fb_dataset_load_path(path, &data) != FB_OK)
        fail_msg("%s", fb_error_message());
    return data;
}

static void test_pairing(void **state)
{
    (void)state;
    fb_dataset data = load_fixture();
    int n = data.count;
    int *donor = malloc((size_t)n * sizeof(int)), *again = malloc((size_t)n * sizeof(int));
    int *used = malloc((size_t)n * sizeof(int)), *previous = calloc((size_t)n, sizeof(int));
    int ok = 1;
    for (uint64_t seed = 0; seed < 5; seed++) {
        assert_int_equal(fb_hars_pairing(donor, data.labels, n, seed), FB_OK);
        assert_int_equal(fb_hars_pairing(again, data.labels, n, seed), FB_OK);
        memset(used, 0, (size_t)n * sizeof(int));
        int same_class = 0, reused = 0, same_as_previous = 0;
        for (int i = 0; i < n; i++) {
            same_class += data.labels[donor[i]] == data.labels[i];
            reused += used[donor[i]]++ > 0;
            same_as_previous += donor[i] == previous[i];
        }
        int deterministic = memcmp(donor, again, (size_t)n * sizeof(int)) == 0;
        printf("[pairing] seed %llu: %d images, same-class pairs %d, low parts reused %d, deterministic %d, "
               "pairs shared with the previous seed %d\n",
               (unsigned long long)seed, n, same_class, reused, deterministic, same_as_previous);
        ok &= same_class == 0 && reused == 0 && deterministic && (seed == 0 || same_as_previous < n / 10);
        memcpy(previous, donor, (size_t)n * sizeof(int));
    }
    /* one class holding more than half the images: no valid pairing */
    int32_t skewed[10] = {0, 0, 0, 0, 0, 0, 1, 2, 3, 4};
    fb_status status = fb_hars_pairing(donor, skewed, 10, 0);
    printf("[pairing] 6 of 10 images in one class -> %s: %s\n", fb_status_name(status), fb_error_message());
    ok &= status == FB_ERR_USAGE;
    /* exactly half: valid, and it terminates */
    int32_t half[10] = {0, 0, 0, 0, 0, 1, 2, 3, 4, 5};
    status = fb_hars_pairing(donor, half, 10, 3);
    for (int i = 0; status == FB_OK && i < 10; i++)
        ok &= half[donor[i]] != half[i];
    ok &= status == FB_OK;
    free(donor);
    free(again);
    free(used);
    free(previous);
    fb_dataset_free(&data);
    assert_true(ok);
}

/* filter(mix, low) = filter(donor, low) and filter(mix, high) = filter(x, high) */
static void test_mix_invariants(void **state)
{
    (void)state;
    fb_dataset data = load_fixture();
    float x[3072], donor[3072], mixed[3072], a[3072], b[3072]; /* [3, 32, 32] 0–255 */
    float low_mask[1024], high_mask[1024];                     /* [32, 32] */
    for (int i = 0; i < 3072; i++) {
        x[i] = data.pixels[i];
        donor[i] = data.pixels[3072 * 7 + i];
    }
    fb_mask_low(low_mask, 32, 32, 12.0);
    fb_mask_high(high_mask, 32, 32, 12.0);
    assert_int_equal(fb_hars_mix(mixed, x, donor, 3, 32, 32, low_mask, high_mask), FB_OK);
    assert_int_equal(fb_spectral_filter(a, mixed, 1, 3, 32, 32, low_mask, FB_NORM_NONE, NULL), FB_OK);
    assert_int_equal(fb_spectral_filter(b, donor, 1, 3, 32, 32, low_mask, FB_NORM_NONE, NULL), FB_OK);
    int ok = compare_f32("HARS mix: its low part = the donor's low part (0-255 scale)", a, b, 3072, 1e-5).ok;
    assert_int_equal(fb_spectral_filter(a, mixed, 1, 3, 32, 32, high_mask, FB_NORM_NONE, NULL), FB_OK);
    assert_int_equal(fb_spectral_filter(b, x, 1, 3, 32, 32, high_mask, FB_NORM_NONE, NULL), FB_OK);
    ok &= compare_f32("HARS mix: its high part = the image's own high part", a, b, 3072, 1e-5).ok;
    fb_dataset_free(&data);
    assert_true(ok);
}

/* the built set: labels kept, pixels = min-max(mix) × 255 truncated */
static void test_build(void **state)
{
    (void)state;
    fb_dataset data = load_fixture();
    int *donor = malloc((size_t)data.count * sizeof(int));
    assert_int_equal(fb_hars_pairing(donor, data.labels, data.count, 11), FB_OK);
    fb_dataset hars;
    assert_int_equal(fb_hars_build(&hars, &data, donor, 12.0, NULL), FB_OK);
    assert_int_equal(hars.count, data.count);
    assert_memory_equal(hars.labels, data.labels, (size_t)data.count * sizeof(int32_t));
    float low_mask[1024], high_mask[1024], x[3072], d[3072], mixed[3072];
    fb_mask_low(low_mask, 32, 32, 12.0);
    fb_mask_high(high_mask, 32, 32, 12.0);
    int worst = 0, differing = 0;
    for (int i = 0; i < 8; i++) {
        for (int p = 0; p < 3072; p++) {
            x[p] = data.pixels[(size_t)i * 3072 + p];
            d[p] = data.pixels[(size_t)donor[i] * 3072 + p];
        }
        assert_int_equal(fb_hars_mix(mixed, x, d, 3, 32, 32, low_mask, high_mask), FB_OK);
        fb_minmax_planes(mixed, 3, 1024);
        for (int p = 0; p < 3072; p++) {
            int want = (int)(mixed[p] * 255.0f), got = hars.pixels[(size_t)i * 3072 + p];
            worst = abs(got - want) > worst ? abs(got - want) : worst;
            differing += got != want;
        }
    }
    printf("[build] 8 images vs per-image mix: %d of 24576 bytes differ, by at most %d "
           "(batched vs single FFTs round differently near integers)\n", differing, worst);
    free(donor);
    fb_dataset_free(&hars);
    fb_dataset_free(&data);
    assert_true(worst <= 1 && differing < 100);
}

/* HARS images for a given pairing and a ResNet's gradient spectrum against
 * numpy/PyTorch (ref_data/gen/make_hars_gradspec.py). */
static void test_against_numpy(void **state)
{
    (void)state;
    char path[600];
    snprintf(path, sizeof path, "%s/hars_gradspec_ref.safetensors", ref_data_dir());
    fb_st_file ref;
    if (fb_st_read(path, &ref) != FB_OK)
        fail_msg("%s", fb_error_message());
    fb_dataset data = load_fixture(), first = data;
    first.count = 64;
    const int32_t *donor32 = fb_st_find(&ref, "donor")->data; /* [64] */
    int donor[64];
    for (int i = 0; i < 64; i++)
        donor[i] = donor32[i];
    fb_dataset hars;
    assert_int_equal(fb_hars_build(&hars, &first, donor, 12.0, NULL), FB_OK);
    const uint8_t *want = fb_st_find(&ref, "hars")->data; /* [64, 3, 32, 32] */
    int worst = 0, differing = 0;
    for (size_t i = 0; i < (size_t)64 * 3072; i++) {
        int diff = abs((int)hars.pixels[i] - (int)want[i]);
        worst = diff > worst ? diff : worst;
        differing += diff != 0;
    }
    printf("[hars vs numpy] 64 images: %d of 196608 bytes differ, by at most %d (float32 vs float64 "
           "values within rounding of an integer truncate differently)\n", differing, worst);
    int ok = worst <= 1 && differing < 200;

    /* gradient spectrum of a ResNet-18 w4 on images 0..15, eval mode */
    fb_model_config config = fb_model_config_default(FB_ARCH_RESNET18);
    config.width = 4;
    config.max_batch = 16;
    fb_model *model;
    assert_int_equal(fb_model_create(&model, &config, &fb_backend_cpu), FB_OK);
    fb_registry *reg = fb_model_registry(model);
    char key[200];
    for (int i = 0; i < reg->count; i++) {
        fb_tensor *t = &reg->tensors[i];
        snprintf(key, sizeof key, "init.%s", t->name);
        const fb_st_entry *e = fb_st_find(&ref, key);
        assert_non_null(e);
        if (t->role == FB_ROLE_COUNTER)
            memcpy(t->counter, e->data, sizeof(int64_t));
        else
            memcpy(t->value, e->data, t->numel * sizeof(float));
    }
    fb_radial_bins bins;
    assert_int_equal(fb_radial_init(&bins, 32, 32, FB_RADIAL_FREQBIAS), FB_OK);
    float mean[20], std[20];
    assert_int_equal(fb_model_gradient_spectrum(model, &data, 16, 16, &bins, mean, std, NULL), FB_OK);
    ok &= compare_f32("gradient spectrum mean vs PyTorch + numpy (16 images)", mean,
                      fb_st_find(&ref, "gradspec_mean")->data, 20, 1e-4).ok;
    ok &= compare_f32("gradient spectrum std vs PyTorch + numpy", std, fb_st_find(&ref, "gradspec_std")->data,
                      20, 1e-3).ok;
    fb_radial_free(&bins);
    fb_model_free(model);
    fb_dataset_free(&hars);
    fb_dataset_free(&data);
    fb_st_free(&ref);
    assert_true(ok);
}

int main(int argc, char **argv)
{
    fb_runtime_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pairing),
        cmocka_unit_test(test_mix_invariants),
        cmocka_unit_test(test_build),
        cmocka_unit_test(test_against_numpy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
