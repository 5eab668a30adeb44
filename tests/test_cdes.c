/* test_cdes.c — the CDES pieces (PAPER.md E3) and the two subcommands.
 *
 * - target density: the formula recomputed in double, both peaks 1, the
 *   minimum at band 8;
 * - the spectral-density loss against an independent double-precision
 *   implementation (separable naive DFT, bands binned here from the C2
 *   definition), and its analytic gradient against central finite
 *   differences of that implementation (min-max step included);
 * - the image term's gradient;
 * - the noise: reproducible, fresh per batch key, scaled to mean/10;
 * - recombination with C1 masks: the output's low band is the original's,
 *   its high band the kernel output's (before normalisation), and it equals
 *   the sum of the two filtered halves (C1 and C3 masks: the cuda path);
 * - cdes-train / cdes-generate on a small CIFAR-format fixture: files,
 *   labels and order of the generated sets, identical bytes on a rerun, and a
 *   different seed giving different kernels.
 * The toy model's forward/backward against PyTorch is in test_parity
 * (ref_data/toykernel_n4_k5.safetensors).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "freqbias/cdes.h"
#include "freqbias/dataset.h"
#include "freqbias/runtime.h"
#include "freqbias/spectrum.h"
#include "testutil.h"

#define SIDE 32
#define PLANE (SIDE * SIDE)
#define IMAGE (3 * PLANE)
#define PI 3.14159265358979323846

/* ---- the double-precision reference of the spectral loss ---- */

/* band of each unshifted DFT index, from C2: shifted position (s, t) has
 * radius sqrt((s − 15.5)² + (t − 15.5)²) truncated; radii 1..20 are bands
 * 0..19, the rest dropped (−1). */
static void reference_bands(int band_of[PLANE], int counts[FB_CDES_BANDS])
{
    memset(counts, 0, FB_CDES_BANDS * sizeof(int));
    for (int u = 0; u < SIDE; u++)
        for (int v = 0; v < SIDE; v++) {
            int s = (u + SIDE / 2) % SIDE, t = (v + SIDE / 2) % SIDE;
            int radius = (int)sqrt((s - 15.5) * (s - 15.5) + (t - 15.5) * (t - 15.5));
            int band = radius >= 1 && radius <= FB_CDES_BANDS ? radius - 1 : -1;
            band_of[u * SIDE + v] = band;
            if (band >= 0)
                counts[band]++;
        }
}

/* L for images y[n, 3, 32, 32] in double: separable naive DFT. */
static double reference_loss(const double *y, int n, const float *target)
{
    static int band_of[PLANE], counts[FB_CDES_BANDS], ready;
    static double cosines[SIDE], sines[SIDE];
    if (!ready) {
        reference_bands(band_of, counts);
        for (int k = 0; k < SIDE; k++) {
            cosines[k] = cos(2.0 * PI * k / SIDE);
            sines[k] = sin(2.0 * PI * k / SIDE);
        }
        ready = 1;
    }
    double total = 0.0;
    for (int i = 0; i < n; i++) {
        const double *image = y + (size_t)i * IMAGE;
        double gray[PLANE], row_re[PLANE], row_im[PLANE];
        for (int k = 0; k < PLANE; k++)
            gray[k] = 0.2989 * image[k] + 0.5870 * image[PLANE + k] + 0.1140 * image[2 * PLANE + k];
        for (int u = 0; u < SIDE; u++) /* along rows: index v → frequency kv */
            for (int kv = 0; kv < SIDE; kv++) {
                double re = 0.0, im = 0.0;
                for (int v = 0; v < SIDE; v++) {
                    re += gray[u * SIDE + v] * cosines[(kv * v) % SIDE];
                    im -= gray[u * SIDE + v] * sines[(kv * v) % SIDE];
                }
                row_re[u * SIDE + kv] = re;
                row_im[u * SIDE + kv] = im;
            }
        double band_sum[FB_CDES_BANDS] = { 0 };
        for (int ku = 0; ku < SIDE; ku++) /* along columns */
            for (int kv = 0; kv < SIDE; kv++) {
                double re = 0.0, im = 0.0;
                for (int u = 0; u < SIDE; u++) {
                    double c = cosines[(ku * u) % SIDE], s = -sines[(ku * u) % SIDE];
                    re += row_re[u * SIDE + kv] * c - row_im[u * SIDE + kv] * s;
                    im += row_re[u * SIDE + kv] * s + row_im[u * SIDE + kv] * c;
                }
                int band = band_of[ku * SIDE + kv];
                if (band >= 0)
                    band_sum[band] += 20.0 * log(1.0 + sqrt(re * re + im * im));
            }
        double p[FB_CDES_BANDS], low = INFINITY, high = -INFINITY;
        for (int b = 0; b < FB_CDES_BANDS; b++) {
            p[b] = band_sum[b] / counts[b];
            low = fmin(low, p[b]);
            high = fmax(high, p[b]);
        }
        for (int b = 0; b < FB_CDES_BANDS; b++) {
            double diff = (p[b] - low) / (high - low) - target[b];
            total += diff * diff;
        }
    }
    return total / ((double)n * FB_CDES_BANDS);
}

/* Two test images: a real CIFAR image and uniform noise. */
static void two_images(float *y)
{
    fb_dataset data;
    char path[600];
    snprintf(path, sizeof path, "%s/cifar10_test8.bin", ref_data_dir());
    assert_int_equal(fb_dataset_load_path(path, &data), FB_OK);
    fb_u8_to_unit(y, data.pixels, IMAGE);
    fb_dataset_free(&data);
    fill_uniform(y + IMAGE, IMAGE, 41, 0.0f, 1.0f);
}

static void test_target(void **state)
{
    (void)state;
    float target[FB_CDES_BANDS];
    double want[FB_CDES_BANDS], low = INFINITY, high = -INFINITY;
    fb_cdes_target(target, 1.0);
    for (int d = 0; d < FB_CDES_BANDS; d++) {
        want[d] = exp(-d * d / (2 * 3.2 * 3.2)) + exp(-(d - 16.0) * (d - 16.0) / (2 * 3.2 * 3.2));
        low = fmin(low, want[d]);
        high = fmax(high, want[d]);
    }
    for (int d = 0; d < FB_CDES_BANDS; d++)
        want[d] = (want[d] - low) / (high - low);
    compare_result r = compare_f32_f64("CDES target", target, want, FB_CDES_BANDS, 1e-6);
    int argmin = 0;
    for (int d = 1; d < FB_CDES_BANDS; d++)
        if (target[d] < target[argmin])
            argmin = d;
    printf("[CDES target] t = %.4f %.4f %.4f ... t[8] = %.4f, t[16] = %.4f, argmin %d\n", target[0], target[1],
           target[2], target[8], target[16], argmin);
    assert_true(r.ok);
    assert_int_equal(argmin, 8);
    assert_true(target[0] == 1.0f && target[16] == 1.0f && target[8] == 0.0f);
}

static void test_band_counts(void **state)
{
    (void)state;
    /* PAPER.md C2: pixels per band at 32×32 */
    static const int paper[FB_CDES_BANDS] = { 8, 20, 20, 28, 32, 44, 52, 48, 60, 68,
                                              64, 92, 76, 100, 96, 68, 52, 32, 36, 12 };
    int band_of[PLANE], counts[FB_CDES_BANDS];
    reference_bands(band_of, counts);
    for (int b = 0; b < FB_CDES_BANDS; b++)
        assert_int_equal(counts[b], paper[b]);
}

static void test_loss_forward_and_gradient(void **state)
{
    (void)state;
    const int n = 2;
    float *y = malloc(n * IMAGE * sizeof(float)), *grad = malloc(n * IMAGE * sizeof(float));
    double *yd = malloc(n * IMAGE * sizeof(double));
    float target[FB_CDES_BANDS], density[2 * FB_CDES_BANDS];
    fb_cdes_target(target, 1.0);
    two_images(y);
    for (int i = 0; i < n * IMAGE; i++)
        yd[i] = y[i];
    fb_cdes_loss *loss;
    assert_int_equal(fb_cdes_loss_create(&loss, NULL, n, SIDE, SIDE), FB_OK);
    float value = fb_cdes_spectral_loss(loss, grad, density, y, n, target);
    double want = reference_loss(yd, n, target);
    compare_result forward = compare_f32_f64("CDES spectral loss vs double DFT", &value, &want, 1, 1e-5);

    /* central differences of the double reference at 60 positions over both
     * images and all three channels */
    enum { SAMPLES = 60 };
    float analytic[SAMPLES];
    double numeric[SAMPLES];
    const double h = 1e-4;
    for (int k = 0; k < SAMPLES; k++) {
        size_t index = ((size_t)k * 4099 + 17) % (size_t)(n * IMAGE);
        double saved = yd[index];
        yd[index] = saved + h;
        double up = reference_loss(yd, n, target);
        yd[index] = saved - h;
        double down = reference_loss(yd, n, target);
        yd[index] = saved;
        numeric[k] = (up - down) / (2 * h);
        analytic[k] = grad[index];
    }
    compare_result backward =
        compare_f32_f64("CDES spectral gradient vs finite differences", analytic, numeric, SAMPLES, TOL_CDES_GRAD);

    /* the image term: mean((y − x)²), gradient 2(y − x)/count added */
    float x[8] = { 0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f }, yy[8], g[8] = { 0 };
    double g_want[8];
    for (int i = 0; i < 8; i++) {
        yy[i] = x[i] + 0.05f * (i - 3);
        g_want[i] = 2.0 * ((double)yy[i] - x[i]) / 8;
    }
    float mse = fb_cdes_image_loss(g, yy, x, 8);
    double mse_want = 0;
    for (int i = 0; i < 8; i++)
        mse_want += ((double)yy[i] - x[i]) * ((double)yy[i] - x[i]) / 8;
    compare_result image_value = compare_f32_f64("CDES image loss", &mse, &mse_want, 1, 1e-6);
    compare_result image_grad = compare_f32_f64("CDES image gradient", g, g_want, 8, 1e-6);

    fb_cdes_loss_free(loss);
    free(y);
    free(grad);
    free(yd);
    assert_true(forward.ok && backward.ok && image_value.ok && image_grad.ok);
}

static void test_noise(void **state)
{
    (void)state;
    enum { COUNT = 3000 };
    float x[COUNT], a[COUNT], b[COUNT], c[COUNT];
    fill_uniform(x, COUNT, 5, 0.0f, 1.0f);
    double mean = 0;
    for (int i = 0; i < COUNT; i++)
        mean += x[i];
    mean /= COUNT;
    fb_cdes_add_noise(a, x, COUNT, 9, 3, 7);
    fb_cdes_add_noise(b, x, COUNT, 9, 3, 7);
    fb_cdes_add_noise(c, x, COUNT, 9, 3, 8);
    int same = compare_bits("noise: same keys", a, b, sizeof a);
    int differ = 0;
    double low = INFINITY, high = -INFINITY;
    for (int i = 0; i < COUNT; i++) {
        differ += a[i] != c[i];
        low = fmin(low, (double)a[i] - x[i]);
        high = fmax(high, (double)a[i] - x[i]);
    }
    printf("[noise] other batch key changes %d of %d values; noise range [%.3g, %.6f], mean(x)/10 = %.6f\n", differ,
           COUNT, low, high, mean / 10);
    assert_true(same);
    assert_true(differ > COUNT * 9 / 10);
    assert_true(fabs(low) < 1e-6 && fabs(high - mean / 10) < 1e-5);
}

static void test_recombine(void **state)
{
    (void)state;
    float x[IMAGE], y[IMAGE], out[IMAGE], low[PLANE], high[PLANE];
    fill_uniform(x, IMAGE, 11, 0.0f, 1.0f);
    fill_uniform(y, IMAGE, 12, -1.0f, 1.0f);
    fb_mask_low(low, SIDE, SIDE, 10.0);
    fb_mask_high(high, SIDE, SIDE, 10.0);
    assert_int_equal(fb_fft_prepare(SIDE, SIDE), FB_OK);
    float *work = aligned_alloc(64, ((fb_cdes_recombine_work_floats(SIDE, SIDE) * sizeof(float) + 63) / 64) * 64);
    assert_int_equal(fb_cdes_recombine(out, x, y, 3, SIDE, SIDE, low, high, work), FB_OK);
    free(work);
    float *fx = malloc(IMAGE * 2 * sizeof(float)), *fy = malloc(IMAGE * 2 * sizeof(float));
    float *fo = malloc(IMAGE * 2 * sizeof(float));
    float *shifted = malloc(IMAGE * 2 * sizeof(float));
    assert_int_equal(fb_fft2(fx, x, 3, SIDE, SIDE), FB_OK);
    assert_int_equal(fb_fft2(fy, y, 3, SIDE, SIDE), FB_OK);
    assert_int_equal(fb_fft2(fo, out, 3, SIDE, SIDE), FB_OK);
    /* gather the shifted-layout coefficients the masks select */
    float *want = malloc(IMAGE * 2 * sizeof(float)), *got = malloc(IMAGE * 2 * sizeof(float));
    size_t used = 0;
    for (int c = 0; c < 3; c++) {
        float sx[PLANE * 2], sy[PLANE * 2], so[PLANE * 2];
        fb_fftshift_complex(sx, fx + c * PLANE * 2, SIDE, SIDE);
        fb_fftshift_complex(sy, fy + c * PLANE * 2, SIDE, SIDE);
        fb_fftshift_complex(so, fo + c * PLANE * 2, SIDE, SIDE);
        for (int k = 0; k < PLANE; k++) {
            const float *source = low[k] > 0 ? sx : sy;
            want[used] = source[2 * k];
            got[used++] = so[2 * k];
            want[used] = source[2 * k + 1];
            got[used++] = so[2 * k + 1];
        }
    }
    compare_result r = compare_f32("recombined spectrum: low of x, high of y", got, want, used, 1e-5);
    printf("[recombine] low mask %d coefficients, high %d\n", fb_mask_count(low, SIDE, SIDE),
           fb_mask_count(high, SIDE, SIDE));
    free(fx);
    free(fy);
    free(fo);
    free(shifted);
    free(want);
    free(got);
    assert_true(r.ok);
}

/* The identity cdes-generate uses on the cuda backend: ifft2 and real() are
 * linear, so recombining equals filter(x, low) + filter(y, high), for the C1
 * masks and for the seed's non-Hermitian C3 masks (host filters here; the
 * GPU filter is checked against the host one in test_cuda_spectrum). */
static void test_recombine_is_two_filters(void **state)
{
    (void)state;
    float x[IMAGE], y[IMAGE], whole[IMAGE], part_low[IMAGE], part_high[IMAGE], low[PLANE], high[PLANE];
    fill_uniform(x, IMAGE, 13, 0.0f, 1.0f);
    fill_uniform(y, IMAGE, 14, -1.0f, 1.0f);
    assert_int_equal(fb_fft_prepare(SIDE, SIDE), FB_OK);
    float *work = aligned_alloc(64, ((fb_cdes_recombine_work_floats(SIDE, SIDE) * sizeof(float) + 63) / 64) * 64);
    int ok = 1;
    for (int compat = 0; compat < 2; compat++) {
        if (compat) {
            assert_int_equal(fb_mask_cdes(low, high, SIDE, SIDE, 10, NULL, NULL), FB_OK);
        } else {
            fb_mask_low(low, SIDE, SIDE, 10.0);
            fb_mask_high(high, SIDE, SIDE, 10.0);
        }
        assert_int_equal(fb_cdes_recombine(whole, x, y, 3, SIDE, SIDE, low, high, work), FB_OK);
        assert_int_equal(fb_spectral_filter(part_low, x, 1, 3, SIDE, SIDE, low, FB_NORM_NONE, NULL), FB_OK);
        assert_int_equal(fb_spectral_filter(part_high, y, 1, 3, SIDE, SIDE, high, FB_NORM_NONE, NULL), FB_OK);
        for (int k = 0; k < IMAGE; k++)
            part_low[k] += part_high[k];
        compare_result r = compare_f32(compat ? "recombine = filter(x, low) + filter(y, high), C3 masks"
                                              : "recombine = filter(x, low) + filter(y, high), C1 masks",
                                       part_low, whole, IMAGE, 1e-5);
        ok &= r.ok;
    }
    free(work);
    assert_true(ok);
}

/* ---- the subcommands on a small fixture ---- */

/* fixture/: data_batch_1.bin = the first 300 images of cifar10_test512,
 * test_batch.bin = the next 200 (a CIFAR-layout folder of any length). */
static void write_fixture(fb_dataset *train, fb_dataset *test)
{
    fb_dataset all;
    char path[600];
    snprintf(path, sizeof path, "%s/cifar10_test512.bin", ref_data_dir());
    assert_int_equal(fb_dataset_load_path(path, &all), FB_OK);
    *train = all;
    train->count = 300;
    *test = all;
    test->count = 200;
    test->pixels = all.pixels + (size_t)300 * IMAGE;
    test->labels = all.labels + 300;
    assert_int_equal(mkdir(in_work("fixture"), 0755), 0);
    assert_int_equal(fb_cifar10_write(in_work("fixture/data_batch_1.bin"), train), FB_OK);
    assert_int_equal(fb_cifar10_write(in_work("fixture/test_batch.bin"), test), FB_OK);
}

static int same_labels(const char *label, const char *path, const fb_dataset *want)
{
    fb_dataset got;
    if (fb_dataset_load_path(path, &got) != FB_OK) {
        printf("[%s] cannot read %s\n", label, path);
        return 0;
    }
    int ok = got.count == want->count && memcmp(got.labels, want->labels, (size_t)want->count * sizeof(int32_t)) == 0;
    int changed = 0;
    for (size_t i = 0; ok && i < (size_t)want->count * IMAGE; i++)
        changed += got.pixels[i] != want->pixels[i];
    printf("[%s] %d images (want %d), labels in order %s, %d of %zu pixels differ from the originals\n", label,
           got.count, want->count, ok ? "equal" : "DIFFER", changed, (size_t)want->count * IMAGE);
    ok &= changed > want->count * IMAGE / 2;
    fb_dataset_free(&got);
    return ok;
}

static void test_commands(void **state)
{
    (void)state;
    fb_dataset train, test;
    write_fixture(&train, &test);
    char log[800];
    snprintf(log, sizeof log, "%s", in_work("cdes.log"));
#define TRAIN_ARGS "cdes-train", "--data", in_work("fixture"), "--epochs", "2", "--batch", "20", "--subset", "40"
    int code = RUN(log, TRAIN_ARGS, "--mode", "scr", "--seed", "3", "--threads", "2", "--out", in_work("scr_a"));
    if (code != 0)
        print_log(log);
    assert_int_equal(code, 0);
    assert_int_equal(RUN(log, TRAIN_ARGS, "--mode", "scr", "--seed", "3", "--threads", "1", "--out", in_work("scr_b")), 0);
    assert_int_equal(RUN(log, TRAIN_ARGS, "--mode", "scr", "--seed", "4", "--out", in_work("scr_c")), 0);
    assert_int_equal(RUN(log, TRAIN_ARGS, "--mode", "wcr", "--seed", "3", "--out", in_work("wcr")), 0);
    int ok = same_file("cdes-train rerun, 2 vs 1 threads", in_work("scr_a/scr_class7_last.safetensors"),
                       in_work("scr_b/scr_class7_last.safetensors"));
    ok &= same_file("cdes-train rerun, epoch-0 kernels", in_work("scr_a/scr_class0_epoch0.safetensors"),
                    in_work("scr_b/scr_class0_epoch0.safetensors"));
    size_t size_a, size_c;
    char *a = read_file(in_work("scr_a/scr_class7_last.safetensors"), &size_a);
    char *c = read_file(in_work("scr_c/scr_class7_last.safetensors"), &size_c);
    int seeds_differ = a && c && (size_a != size_c || memcmp(a, c, size_a) != 0);
    printf("[cdes-train] seed 3 vs 4 kernels differ: %s\n", seeds_differ ? "yes" : "NO");
    free(a);
    free(c);
    /* every promised file: 10 classes × (epoch0, epoch1 = last epoch, last), figures, csv rows */
    static const char *const files[] = { "scr_a/scr_class0_epoch0.safetensors", "scr_a/scr_class9_epoch1.safetensors",
                                         "scr_a/scr_class9_last.safetensors", "scr_a/density_scr_class4.png",
                                         "scr_a/samples_scr_class4.png", "scr_a/run.json", "wcr/wcr_last.safetensors",
                                         "wcr/wcr_epoch0.safetensors", "wcr/density_wcr.png" };
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        size_t size;
        char *data = read_file(in_work(files[i]), &size);
        if (!data)
            printf("[cdes-train] missing %s\n", files[i]);
        ok &= data != NULL;
        free(data);
    }
    size_t csv_size;
    char *csv = read_file(in_work("scr_a/loss.csv"), &csv_size);
    int lines = 0;
    for (size_t i = 0; csv && i < csv_size; i++)
        lines += csv[i] == '\n';
    printf("[cdes-train] loss.csv: %d lines (header + 10 classes x 2 epochs)\n", lines);
    free(csv);
    ok &= lines == 21;

    /* generation: labels and order kept, deterministic */
#define GENERATE_ARGS "cdes-generate", "--data", in_work("fixture"), "--seed", "3"
    assert_int_equal(RUN(log, GENERATE_ARGS, "--kernels", in_work("scr_a"), "--mode", "scr", "--out", in_work("gen_a")), 0);
    assert_int_equal(RUN(log, GENERATE_ARGS, "--kernels", in_work("scr_a"), "--mode", "scr", "--threads", "1",
                         "--out", in_work("gen_b")), 0);
    code = RUN(log, GENERATE_ARGS, "--kernels", in_work("wcr"), "--mode", "wcr", "--epoch", "0", "--compat",
               "freqbias", "--subset", "120", "--test-subset", "50", "--out", in_work("gen_wcr"));
    if (code != 0)
        print_log(log);
    assert_int_equal(code, 0);
    ok &= same_labels("SCR train split", in_work("gen_a/data_batch_1.bin"), &train);
    ok &= same_labels("SCR test split", in_work("gen_a/test_batch.bin"), &test);
    fb_dataset train120 = train, test50 = test;
    train120.count = 120;
    test50.count = 50;
    ok &= same_labels("WCR train subset", in_work("gen_wcr/data_batch_1.bin"), &train120);
    ok &= same_labels("WCR test subset", in_work("gen_wcr/test_batch.bin"), &test50);
    ok &= same_file("cdes-generate rerun, 2 vs 1 threads", in_work("gen_a/data_batch_1.bin"),
                    in_work("gen_b/data_batch_1.bin"));

    /* a missing kernel file is a clear error, exit 2, naming the file */
    code = RUN(log, GENERATE_ARGS, "--kernels", in_work("wcr"), "--mode", "scr", "--out", in_work("gen_bad"));
    size_t log_size;
    char *text = read_file(log, &log_size);
    int names_file = text && strstr(text, "scr_class0_last.safetensors") != NULL;
    printf("[cdes-generate] missing SCR kernels: exit %d, message: %s", code, text ? text : "(none)\n");
    free(text);
    ok &= code == 2 && names_file && seeds_differ;
    fb_dataset_free(&train);
    assert_true(ok);
}

int main(int argc, char **argv)
{
    fb_runtime_init(argc, argv);
    set_freqbias_binary(argv[0]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_target),
        cmocka_unit_test(test_band_counts),
        cmocka_unit_test(test_loss_forward_and_gradient),
        cmocka_unit_test(test_noise),
        cmocka_unit_test(test_recombine),
        cmocka_unit_test(test_recombine_is_two_filters),
        cmocka_unit_test(test_commands),
    };
    return cmocka_run_group_tests(tests, work_dir_setup, work_dir_teardown);
}
