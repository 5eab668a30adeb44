/* test_gradspec.c — the gradient-spectrum pipeline of grad.py (PAPER.md E2):
 * a hand-made gradient with one known frequency, the per-image min-max and
 * mean/std, and a whole model's eval-mode spectrum staying the same across
 * thread counts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "freqbias/dataset.h"
#include "freqbias/model.h"
#include "freqbias/runtime.h"
#include "freqbias/spectrum.h"
#include "testutil.h"

/* Channel sum cos(2π·5·x/32) (spread over 3 channels): |F| is nonzero only at
 * the two bins 5 columns left and right of DC. In the shifted layout they are
 * (16, 21) and (16, 11); their distances from (15.5, 15.5) are 5.52 and 4.53,
 * truncated to radii 5 and 4 = bands 4 and 3, which hold 32 and 28 pixels.
 * So after min-max: band 3 = 1, band 4 = 28/32, every other band 0. */
static void test_single_frequency(void **state)
{
    (void)state;
    assert_int_equal(fb_fft_prepare(32, 32), FB_OK);
    fb_radial_bins bins;
    assert_int_equal(fb_radial_init(&bins, 32, 32, FB_RADIAL_FREQBIAS), FB_OK);
    float grads[2 * 3 * 32 * 32]; /* [2, 3, 32, 32] */
    for (int i = 0; i < 2; i++)
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++)
                    grads[((i * 3 + c) * 32 + y) * 32 + x] =
                        (float)((i + 1) * cos(2 * 3.14159265358979323846 * 5 * x / 32.0) / 3.0);
    float profiles[2 * 20], mean[20], std[20];
    assert_int_equal(fb_gradient_profiles(profiles, grads, 2, 3, 32, 32, &bins), FB_OK);
    fb_profile_mean_std(mean, std, profiles, 2, 20);
    double want[20] = {0};
    want[3] = 1.0;
    want[4] = 28.0 / 32.0;
    double got[20], zero[20] = {0}, spread[20];
    for (int b = 0; b < 20; b++) {
        got[b] = mean[b];
        spread[b] = std[b];
    }
    int ok = compare_f64("gradient profile of cos(2π·5x/32)", got, want, 20, 1e-5).ok;
    ok &= compare_f64("std over two scaled copies (min-max removes the scale)", spread, zero, 20, 1e-5).ok;
    fb_radial_free(&bins);
    assert_true(ok);
}

/* A whole ResNet's eval-mode gradient spectrum on real images: a profile in
 * [0,1] per band, identical bits with 1 and 2 threads. */
static void test_model_spectrum(void **state)
{
    (void)state;
    char path[600];
    snprintf(path, sizeof path, "%s/cifar10_test512.bin", ref_data_dir());
    fb_dataset data;
    assert_int_equal(fb_dataset_load_path(path, &data), FB_OK);
    fb_model_config config = fb_model_config_default(FB_ARCH_RESNET18);
    config.width = 4;
    config.max_batch = 32;
    fb_model *model;
    assert_int_equal(fb_model_create(&model, &config, &fb_backend_cpu), FB_OK);
    fb_model_init(model, 3);
    fb_radial_bins bins;
    assert_int_equal(fb_radial_init(&bins, 32, 32, FB_RADIAL_FREQBIAS), FB_OK);
    assert_int_equal(fb_fft_prepare(32, 32), FB_OK);
    float mean[2][20], std[2][20];
    int previous = fb_get_threads();
    for (int t = 0; t < 2; t++) {
        fb_set_threads(t + 1);
        assert_int_equal(fb_model_gradient_spectrum(model, &data, 64, 32, &bins, mean[t], std[t], NULL), FB_OK);
    }
    fb_set_threads(previous);
    int ok = compare_bits("gradient spectrum mean, 1 vs 2 threads", mean[0], mean[1], sizeof mean[0]);
    ok &= compare_bits("gradient spectrum std, 1 vs 2 threads", std[0], std[1], sizeof std[0]);
    for (int b = 0; b < 20; b++)
        ok &= mean[0][b] >= 0.0f && mean[0][b] <= 1.0f && std[0][b] >= 0.0f;
    printf("[gradspec] untrained ResNet-18 w4, 64 images: band 0 %.3f, band 10 %.3f, band 19 %.3f\n",
           mean[0][0], mean[0][10], mean[0][19]);
    fb_radial_free(&bins);
    fb_model_free(model);
    fb_dataset_free(&data);
    assert_true(ok);
}

int main(int argc, char **argv)
{
    fb_runtime_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_frequency),
        cmocka_unit_test(test_model_spectrum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
