/* test_fourier.c — the Fourier heat map and band-limited noise (fourier.h):
 * the basis images against a naive cosine, their norms and orthogonality;
 * the Hermitian mirror against a direct evaluation of the mirrored
 * frequency; the RNG signs; band noise staying in its band; and the
 * fourier-heatmap command on the committed fixtures (shapes, ranges,
 * 1 vs 2 threads byte-identical, exit codes).
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

#include "freqbias/checkpoint.h"
#include "freqbias/fourier.h"
#include "freqbias/npy.h"
#include "freqbias/runtime.h"
#include "testutil.h"

static const char *fixture(const char *name)
{
    static char paths[4][1024];
    static int next;
    char *path = paths[next++ % 4];
    snprintf(path, sizeof paths[0], "%s/%s", ref_data_dir(), name);
    return path;
}

/* U(s,t) by hand: c·cos(2π(k·m/H + l·n/W)), k = s − H/2, l = t − W/2, with
 * c = √(1/HW) where the frequency is its own mirror, √(2/HW) elsewhere. */
static void naive_basis(double *out, int h, int w, int s, int t)
{
    int ms, mt;
    fb_fourier_mirror(h, w, s, t, &ms, &mt);
    double scale = sqrt((ms == s && mt == t ? 1.0 : 2.0) / (h * w));
    int k = s - h / 2, l = t - w / 2;
    for (int m = 0; m < h; m++)
        for (int n = 0; n < w; n++)
            out[m * w + n] = scale * cos(2.0 * 3.14159265358979323846 * ((double)k * m / h + (double)l * n / w));
}

static void test_basis(void **state)
{
    (void)state;
    static const int sizes[2][2] = {{32, 32}, {7, 10}};
    static const int positions[][2] = {{16, 16}, {0, 0}, {0, 16}, {16, 0}, {16, 17}, {3, 5}, {20, 9}, {31, 31}, {6, 9}};
    for (int z = 0; z < 2; z++) {
        int h = sizes[z][0], w = sizes[z][1];
        size_t hw = (size_t)h * w;
        float *basis = malloc(hw * sizeof(float)), *mirror = malloc(hw * sizeof(float)); /* [H, W] each */
        double *want = malloc(hw * sizeof(double));                                        /* [H, W] */
        float *spectrum = calloc(hw * 2, sizeof(float));                                   /* [H, W, 2] */
        float *shifted = calloc(hw * 2, sizeof(float));                                    /* [H, W, 2] */
        float *real = malloc(hw * sizeof(float));                                          /* [H, W] */
        for (size_t i = 0; i < sizeof positions / sizeof *positions; i++) {
            int s = positions[i][0] % h, t = positions[i][1] % w, ms, mt;
            assert_int_equal(fb_fourier_basis(basis, h, w, s, t), FB_OK);
            naive_basis(want, h, w, s, t);
            assert_true(compare_f32_f64(label("basis %dx%d (%d,%d) vs naive cosine", h, w, s, t), basis, want, hw,
                                        TOL_FOURIER_BASIS).ok);
            double norm = 0.0;
            for (size_t p = 0; p < hw; p++)
                norm += (double)basis[p] * basis[p];
            printf("[basis %dx%d (%d,%d)] |L2 norm - 1| = %.2e\n", h, w, s, t, fabs(sqrt(norm) - 1.0));
            assert_true(fabs(sqrt(norm) - 1.0) < TOL_FOURIER_BASIS);
            /* the mirror is the same image, to the bit */
            fb_fourier_mirror(h, w, s, t, &ms, &mt);
            assert_int_equal(fb_fourier_basis(mirror, h, w, ms, mt), FB_OK);
            assert_true(compare_bits(label("basis (%d,%d) = basis of its mirror (%d,%d)", s, t, ms, mt), basis,
                                     mirror, hw * sizeof(float)));
            /* real: the full complex inverse of the Hermitian pair has no imaginary part */
            memset(shifted, 0, hw * 2 * sizeof(float));
            shifted[((size_t)s * w + t) * 2] = shifted[((size_t)ms * w + mt) * 2] = 1.0f;
            fb_ifftshift_complex(spectrum, shifted, h, w);
            float imag_ratio = 1.0f;
            assert_int_equal(fb_ifft2_real(real, spectrum, 1, h, w, &imag_ratio), FB_OK);
            printf("[basis %dx%d (%d,%d)] max|imag| / max|real| = %.2e\n", h, w, s, t, imag_ratio);
            assert_true(imag_ratio < TOL_FOURIER_BASIS);
        }
        /* orthogonality of distinct pairs */
        static const int pairs[][4] = {{16, 17, 16, 18}, {0, 0, 16, 16}, {3, 5, 20, 9}, {3, 5, 5, 3}, {1, 2, 16, 0}};
        for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
            int s1 = pairs[i][0] % h, t1 = pairs[i][1] % w, s2 = pairs[i][2] % h, t2 = pairs[i][3] % w;
            if (fb_fourier_pair_key(h, w, s1, t1) == fb_fourier_pair_key(h, w, s2, t2))
                continue;
            assert_int_equal(fb_fourier_basis(basis, h, w, s1, t1), FB_OK);
            assert_int_equal(fb_fourier_basis(mirror, h, w, s2, t2), FB_OK);
            double dot = 0.0;
            for (size_t p = 0; p < hw; p++)
                dot += (double)basis[p] * mirror[p];
            printf("[orthogonal %dx%d (%d,%d).(%d,%d)] dot = %.2e\n", h, w, s1, t1, s2, t2, dot);
            assert_true(fabs(dot) < TOL_FOURIER_BASIS);
        }
        free(basis);
        free(mirror);
        free(want);
        free(spectrum);
        free(shifted);
        free(real);
    }
}

static void test_signs(void **state)
{
    (void)state;
    int plus = 0, differ = 0;
    for (long i = 0; i < 4000; i++) {
        int a = fb_fourier_sign(7, 100, i, 3, (int)(i % 3));
        assert_true(a == 1 || a == -1);
        assert_int_equal(a, fb_fourier_sign(7, 100, i, 3, (int)(i % 3)));
        plus += a == 1;
        differ += a != fb_fourier_sign(7, 101, i, 3, (int)(i % 3));
    }
    printf("[signs] 4000 draws: %d plus; %d differ from the next frequency key's\n", plus, differ);
    assert_true(plus > 1800 && plus < 2200);     /* a sign bit, not a constant */
    assert_true(differ > 1800 && differ < 2200); /* the key changes the draw   */
}

static void load_model(fb_model **model, fb_dataset *data, int batch)
{
    assert_int_equal(fb_dataset_load_path(fixture("cifar10_test8.bin"), data), FB_OK);
    fb_model_config config;
    assert_int_equal(fb_checkpoint_inspect(fixture("train256_r18w8_init.safetensors"), &config), FB_OK);
    config.max_batch = batch;
    assert_int_equal(fb_model_create(model, &config, &fb_backend_cpu), FB_OK);
    assert_int_equal(fb_checkpoint_load(*model, fixture("train256_r18w8_init.safetensors"), NULL), FB_OK);
}

/* The heat map computes one of each Hermitian pair and mirrors it; the
 * mirrored cells must equal a direct evaluation of their own frequency. The
 * batch is the 8 images, so every forward pass holds exactly one
 * frequency's images in either path. */
static void test_mirror(void **state)
{
    (void)state;
    fb_model *model;
    fb_dataset data;
    load_model(&model, &data, 8);
    fb_fourier_options o = fb_fourier_options_default();
    o.n = 8;
    o.batch = 8;
    o.size = 6;
    o.eps = 8.0;
    o.seed = 3;
    for (int type = 0; type < 2; type++) {
        o.error_type = type ? FB_FOURIER_LOSS : FB_FOURIER_TOP1;
        double heatmap[36], low = INFINITY, high = -INFINITY;
        assert_int_equal(fb_fourier_heatmap(model, &data, &o, heatmap), FB_OK);
        for (int i = 0; i < 36; i++) {
            low = fmin(low, heatmap[i]);
            high = fmax(high, heatmap[i]);
        }
        printf("[heat map 6x6, %s] %.4f .. %.4f\n", fb_fourier_error_name(o.error_type), low, high);
        if (type == FB_FOURIER_TOP1)
            assert_true(low >= 0.0 && high <= 1.0);
        else
            assert_true(high > low); /* the perturbations change the loss */
        /* cells whose mirror lies in the window too: (r, c) ↔ (6 − r, 6 − c) for r, c ≥ 1 */
        static const int cells[][2] = {{1, 1}, {2, 5}, {3, 2}, {5, 4}, {3, 3}, {0, 2}};
        for (size_t i = 0; i < sizeof cells / sizeof *cells; i++) {
            int r = cells[i][0], c = cells[i][1], s = 16 - 3 + r, t = 16 - 3 + c, ms, mt;
            fb_fourier_mirror(32, 32, s, t, &ms, &mt);
            double direct;
            assert_int_equal(fb_fourier_error_at(model, &data, &o, ms, mt, &direct), FB_OK);
            int mr = ms - 13, mc = mt - 13;
            int inside = mr >= 0 && mr < 6 && mc >= 0 && mc < 6;
            printf("[mirror %s] cell (%d,%d) = %.6f, its mirror (%d,%d) computed directly = %.6f%s\n",
                   fb_fourier_error_name(o.error_type), r, c, heatmap[r * 6 + c], mr, mc, direct,
                   inside ? "" : " (outside the window)");
            assert_true(heatmap[r * 6 + c] == direct);
            if (inside)
                assert_true(heatmap[mr * 6 + mc] == direct);
        }
    }
    fb_model_free(model);
    fb_dataset_free(&data);
}

/* Band noise: unit energy in its band's Hermitian closure and nowhere else,
 * L2 norm eps per channel, most of it in the seed's own band. */
static void test_band_noise(void **state)
{
    (void)state;
    fb_radial_bins bins;
    assert_int_equal(fb_radial_init(&bins, 32, 32, FB_RADIAL_FREQBIAS), FB_OK);
    assert_int_equal(bins.bands, 20);
    float *masks = malloc(20 * 1024 * sizeof(float)); /* [20, 32, 32] */
    float noise[3 * 1024], again[3 * 1024];          /* [3, 32, 32] */
    float spectrum[1024 * 2], shifted[1024 * 2];      /* [32, 32, 2] */
    assert_int_equal(fb_band_noise_masks(masks, &bins), FB_OK);
    double worst_outside = 0.0, least_own = 1.0;
    for (int b = 0; b < 20; b++) {
        const float *mask = masks + b * 1024;
        assert_int_equal(fb_mask_hermitian_violations(mask, 32, 32), 0);
        for (int p = 0; p < 1024; p++)
            if (bins.band_of[p] == b)
                assert_true(mask[p] == 1.0f); /* the closure contains the band */
        for (long image = 0; image < 3; image++) {
            assert_int_equal(fb_band_noise(noise, mask, 3, 32, 32, 4.0, 11, image), FB_OK);
            assert_int_equal(fb_band_noise(again, mask, 3, 32, 32, 4.0, 11, image), FB_OK);
            assert_memory_equal(noise, again, sizeof noise);
            for (int c = 0; c < 3; c++) {
                double norm = 0.0, total = 0.0, outside = 0.0, own = 0.0;
                for (int p = 0; p < 1024; p++)
                    norm += (double)noise[c * 1024 + p] * noise[c * 1024 + p];
                assert_true(fabs(sqrt(norm) - 4.0) < 4.0 * TOL_FOURIER_BASIS);
                assert_int_equal(fb_fft2(spectrum, noise + c * 1024, 1, 32, 32), FB_OK);
                fb_fftshift_complex(shifted, spectrum, 32, 32);
                for (int p = 0; p < 1024; p++) {
                    double e = (double)shifted[2 * p] * shifted[2 * p] + (double)shifted[2 * p + 1] * shifted[2 * p + 1];
                    total += e;
                    outside += mask[p] == 0.0f ? e : 0.0;
                    own += bins.band_of[p] == b ? e : 0.0;
                }
                worst_outside = fmax(worst_outside, outside / total);
                least_own = fmin(least_own, own / total);
            }
        }
    }
    printf("[band noise] 20 bands x 3 images x 3 channels: energy outside the band's closure <= %.2e of the "
           "total; in the seed's own band >= %.3f\n", worst_outside, least_own);
    assert_true(worst_outside < 1e-10);
    assert_true(least_own > 0.2);
    /* another image gets other noise */
    assert_int_equal(fb_band_noise(again, masks + 5 * 1024, 3, 32, 32, 4.0, 11, 1), FB_OK);
    assert_int_equal(fb_band_noise(noise, masks + 5 * 1024, 3, 32, 32, 4.0, 11, 0), FB_OK);
    assert_true(memcmp(noise, again, sizeof noise) != 0);
    free(masks);
    fb_radial_free(&bins);
}

static void check_npy(const char *path, int ndim, int64_t d0, int64_t d1)
{
    fb_npy_array a;
    assert_int_equal(fb_npy_read(path, &a), FB_OK);
    printf("[%s] dtype %d, %d dims: %lld x %lld\n", path, (int)a.dtype, a.ndim, (long long)a.shape[0],
           (long long)(a.ndim > 1 ? a.shape[1] : 0));
    assert_int_equal(a.dtype, FB_NPY_F64);
    assert_int_equal(a.ndim, ndim);
    assert_int_equal(a.shape[0], d0);
    if (ndim > 1)
        assert_int_equal(a.shape[1], d1);
    const double *v = a.data;
    double low = 1.0, high = 0.0;
    for (int64_t i = 0; i < d0 * (ndim > 1 ? d1 : 1); i++) {
        low = fmin(low, v[i]);
        high = fmax(high, v[i]);
    }
    printf("[%s] top-1 error %.4f .. %.4f\n", path, low, high);
    assert_true(low >= 0.0 && high <= 1.0);
    fb_npy_free(&a);
}

static void test_command(void **state)
{
    (void)state;
    char log[800], out1[800], out2[800], path[1000];
    snprintf(log, sizeof log, "%s", in_work("fourier.log"));
    snprintf(out1, sizeof out1, "%s", in_work("threads1"));
    snprintf(out2, sizeof out2, "%s", in_work("threads2"));
    const char *ckpt = fixture("train256_r18w8_init.safetensors"), *images = fixture("cifar10_test512.bin");
    int code = RUN(log, "fourier-heatmap", "--ckpt", ckpt, "--test-data", images, "--n", "16", "--size", "8",
                   "--bands", "--samples", "--seed", "5", "--threads", "1", "--out", out1);
    print_log(log);
    assert_int_equal(code, 0);
    code = RUN(log, "fourier-heatmap", "--ckpt", ckpt, "--test-data", images, "--n", "16", "--size", "8",
               "--bands", "--seed", "5", "--threads", "2", "--out", out2);
    assert_int_equal(code, 0);
    static const char *const files[] = {"heatmap.npy", "heatmap.csv", "heatmap.png", "bands.npy", "bands.csv",
                                        "bands.png", "samples.png", "summary.json"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", out1, files[i]);
        printf("[files] %s %s\n", path, stat(path, &st) == 0 && st.st_size > 0 ? "exists" : "MISSING");
        assert_int_equal(stat(path, &st), 0);
        assert_true(st.st_size > 0);
    }
    snprintf(path, sizeof path, "%s/heatmap.npy", out1);
    check_npy(path, 2, 8, 8);
    snprintf(path, sizeof path, "%s/bands.npy", out1);
    check_npy(path, 1, 20, 0);
    char a[1000], b[1000];
    snprintf(a, sizeof a, "%s/heatmap.npy", out1);
    snprintf(b, sizeof b, "%s/heatmap.npy", out2);
    assert_true(same_file("heatmap.npy --threads 1 vs 2", a, b));
    snprintf(a, sizeof a, "%s/bands.npy", out1);
    snprintf(b, sizeof b, "%s/bands.npy", out2);
    assert_true(same_file("bands.npy --threads 1 vs 2", a, b));
    /* the CSV holds the same numbers, 65 lines */
    size_t size;
    snprintf(path, sizeof path, "%s/heatmap.csv", out1);
    char *text = read_file(path, &size);
    int lines = 0;
    for (size_t i = 0; i < size; i++)
        lines += text[i] == '\n';
    printf("[heatmap.csv] %d lines, header: %.30s\n", lines, text);
    assert_int_equal(lines, 65);
    assert_non_null(strstr(text, "freq_y,freq_x,top1_error\n-4,-4,"));
    free(text);
    /* usage errors: exit 1 */
    assert_int_equal(RUN(log, "fourier-heatmap", "--ckpt", ckpt, "--test-data", images, "--out", out1, "--n", "abc"), 1);
    assert_int_equal(RUN(log, "fourier-heatmap", "--ckpt", ckpt, "--test-data", images, "--out", out1,
                         "--error-type", "top3"), 1);
    assert_int_equal(RUN(log, "fourier-heatmap", "--ckpt", ckpt, "--test-data", images), 1);
    assert_int_equal(RUN(log, "fourier-heatmap", "--ckpt", ckpt, "--test-data", images, "--out", out1, "--size", "40"), 1);
    /* a missing checkpoint: exit 2, the message names it */
    code = RUN(log, "fourier-heatmap", "--ckpt", in_work("nope.safetensors"), "--test-data", images, "--out", out1);
    text = read_file(log, &size);
    printf("[missing checkpoint] exit %d: %s", code, text);
    assert_int_equal(code, 2);
    assert_non_null(strstr(text, "nope.safetensors"));
    free(text);
}

int main(int argc, char **argv)
{
    fb_runtime_init(argc, argv);
    set_freqbias_binary(argv[0]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basis),
        cmocka_unit_test(test_signs),
        cmocka_unit_test(test_band_noise),
        cmocka_unit_test(test_mirror),
        cmocka_unit_test(test_command),
    };
    return cmocka_run_group_tests(tests, work_dir_setup, work_dir_teardown);
}
