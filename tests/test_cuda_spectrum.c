/* test_cuda_spectrum.c — the spectrum tools on the cuda backend against the
 * host (built and run by `make check CUDA=1`; test_cuda.c covers the op
 * table, cuFFT itself and the gradient spectrum).
 *
 * Each check runs the GPU ("candidate") and the host code the CPU backends
 * use ("want") on identical inputs:
 *   0. fb_fft2_on (the image densities of `spectrum`) against fb_fft2;
 *   1. fb_spectral_filter_on: C1 low/high/band masks and the seed's
 *      non-Hermitian C3 masks, no normalisation and min-max, 32×32 and
 *      28×28 planes (NMSE ≤ TOL_CUDA_OP_NMSE; the imaginary ratio 0 for a
 *      Hermitian mask, within 1e-3 relative otherwise), and the DCT square
 *      low-pass (k = 1 .. beyond the plane) against FFTW's;
 *   2. fb_hars_build on 6,144 images (18,432 planes: more than one of the
 *      GPU filter's chunks): labels equal, no byte more than 1 apart, and
 *      at most 1e-3 of them apart at all (float rounding at a truncation
 *      boundary);
 *   3. the CDES batch loss: both terms (relative squared error ≤
 *      TOL_CUDA_CDES_LOSS_NMSE) and ∂L/∂y (NMSE ≤ TOL_CUDA_OP_NMSE);
 *   4. one CDES training epoch of the toy kernels (200 images, 2 batches):
 *      cuda model + GPU loss against cpu-ref model + host loss (parameters
 *      and momentum, TOL_CUDA_MODEL_NMSE; both loss terms), and a second run
 *      giving the same bits; a GPU loss refuses a host model.
 *
 * Without a GPU every cuda test is skipped with the runtime's reason. The
 * control runs tests 1, 3 and 4 with a host candidate that follows the GPU's
 * algorithm rather than the host code's: the full complex FFT path for every
 * mask with per-plane imaginary ratios and the DCT as the projection
 * P_H · x · P_W in float (1), the batched FFT → per-band
 * coefficient lists → shared cdes_terms.h → batched inverse pipeline of
 * cuda_cdes.cu with the image term summed in another order (3), and the cpu
 * backend with the host loss (4). That shows on every machine that the
 * GPU's decomposition is right (with FFTW in place of cuFFT, (3) even
 * reproduces the host's bits, and (1) differs from the half-spectrum path
 * by ~1e-14 NMSE) and that the comparisons report what they claim.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/cuda_backend.h"
#include "cuda_testutil.h"
#include "freqbias/cdes.h"
#include "freqbias/dataset.h"
#include "freqbias/model.h"
#include "freqbias/runtime.h"
#include "freqbias/spectrum.h"
#include "spectrum/cdes_terms.h"
#include "testutil.h"
#include "tolerances.h"

#define SIDE 32
#define PLANE (SIDE * SIDE)
#define IMAGE (3 * PLANE)

/* images[n, 3, 32, 32] in [0, 1]: the first n CIFAR test images */
static float *unit_images(int n)
{
    fb_dataset data;
    assert_true(load_test_images(&data));
    assert_true(n <= data.count);
    float *images = host_floats((size_t)n * IMAGE);
    fb_u8_to_unit(images, data.pixels, (size_t)n * IMAGE);
    fb_dataset_free(&data);
    return images;
}

/* ---- 0. fft2 of host arrays (spectrum's image densities) ----------------- */

static void test_fft2_on_vs_host(void **state)
{
    const fb_backend *cand = *state;
    require_device(cand, __func__);
    const int count = 40, h = 32, w = 32;
    size_t n = (size_t)count * h * w;
    float *x = host_random(n, 200, 0.0f, 1.0f), *want = host_floats(2 * n), *got = host_floats(2 * n);
    for (size_t i = 0; i < 2 * n; i++)
        got[i] = NAN;
    assert_int_equal(fb_fft2(want, x, count, h, w), FB_OK);
    assert_int_equal(fb_fft2_on(cand, got, x, count, h, w), FB_OK);
    int ok = nmse_ok(label("fft2 of host planes, %d of %dx%d, %s", count, h, w, cand->name), got, want, 2 * n,
                     TOL_CUDA_OP_NMSE);
    free(x);
    free(want);
    free(got);
    assert_true(ok);
}

/* ---- 1. the frequency filter ---------------------------------------------- */

/* The control's candidate: the GPU filter's algorithm with FFTW — full
 * complex path for every mask, per-plane imaginary ratio reported for a
 * non-Hermitian mask only, per-plane min-max. */
static fb_status full_path_filter(float *out, const float *in, int planes, int h, int w,
                                  const float *mask, fb_norm norm, float *imag_ratio)
{
    size_t plane = (size_t)h * w;
    float *unshifted = host_floats(plane);                      /* [H, W] */
    float *spectrum = host_floats((size_t)planes * plane * 2);  /* [planes, H, W, 2] */
    fb_ifftshift_real(unshifted, mask, h, w);
    fb_status status = fb_fft2(spectrum, in, planes, h, w);
    for (size_t i = 0; status == FB_OK && i < (size_t)planes * plane; i++) {
        spectrum[2 * i] *= unshifted[i % plane];
        spectrum[2 * i + 1] *= unshifted[i % plane];
    }
    float max_ratio = 0.0f;
    for (int p = 0; status == FB_OK && p < planes; p++) {
        float ratio;
        status = fb_ifft2_real(out + (size_t)p * plane, spectrum + (size_t)p * plane * 2, 1, h, w, &ratio);
        max_ratio = fmaxf(max_ratio, ratio);
    }
    if (status == FB_OK && norm == FB_NORM_MINMAX)
        fb_minmax_planes(out, (size_t)planes, plane);
    if (imag_ratio)
        *imag_ratio = fb_mask_hermitian_violations(mask, h, w) == 0 ? 0.0f : max_ratio;
    free(unshifted);
    free(spectrum);
    return status;
}

static void test_filter_vs_host(void **state)
{
    const fb_backend *cand = *state;
    require_device(cand, __func__);
    static const int sides[] = {32, 28};
    const int count = 6, channels = 3;
    int failures = 0;
    for (size_t s = 0; s < sizeof sides / sizeof *sides; s++) {
        int h = sides[s], w = sides[s];
        size_t plane = (size_t)h * w, n = (size_t)count * channels * plane;
        float masks[5][32 * 32];
        const char *names[5] = {"low r=8", "high r=8", "band 4..12", "C3 low r=10", "C3 high r=10"};
        fb_mask_low(masks[0], h, w, 8.0);
        fb_mask_high(masks[1], h, w, 8.0);
        fb_mask_band(masks[2], h, w, 4.0, 12.0);
        assert_int_equal(fb_mask_cdes(masks[3], masks[4], h, w, 10, NULL, NULL), FB_OK);
        float *x = host_random(n, 300 + s, 0.0f, 1.0f); /* [count, C, H, W] */
        float *want = host_floats(n), *got = host_floats(n);
        for (int m = 0; m < 5; m++)
            for (int norm = FB_NORM_NONE; norm <= FB_NORM_MINMAX; norm++) {
                float want_ratio = -1.0f, got_ratio = -1.0f;
                for (size_t i = 0; i < n; i++)
                    got[i] = NAN;
                assert_int_equal(fb_spectral_filter(want, x, count, channels, h, w, masks[m], (fb_norm)norm,
                                                    &want_ratio), FB_OK);
                fb_status status = cand == &fb_backend_cuda
                                       ? fb_spectral_filter_on(cand, got, x, count, channels, h, w, masks[m],
                                                               (fb_norm)norm, &got_ratio)
                                       : full_path_filter(got, x, count * channels, h, w, masks[m],
                                                          (fb_norm)norm, &got_ratio);
                assert_int_equal(status, FB_OK);
                const char *what = label("filter %s %s %dx%d, %s", names[m], fb_norm_name((fb_norm)norm),
                                         h, w, cand->name);
                failures += !nmse_ok(what, got, want, n, TOL_CUDA_OP_NMSE);
                int ratio_ok = want_ratio == 0.0f ? got_ratio == 0.0f
                                                  : fabsf(got_ratio - want_ratio) <= 1e-3f * want_ratio;
                printf("[%s: imaginary ratio] got %.6g want %.6g %s\n", what, got_ratio, want_ratio,
                       ratio_ok ? "ok" : "FAIL");
                failures += !ratio_ok;
            }
        free(x);
        free(want);
        free(got);
    }
    assert_int_equal(failures, 0);
}

/* The control's candidate for the DCT low-pass: the GPU's projection
 * P_H · x · P_W (cuda_dct.cu) in float on the host. */
static void dct_projection(float *p, int n, int k)
{
    const double pi = 3.14159265358979323846;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double sum = 0.0;
            for (int u = 0; u < k && u < n; u++)
                sum += (u == 0 ? 1.0 / n : 2.0 / n) * cos(pi * u * (2 * i + 1) / (2.0 * n)) *
                       cos(pi * u * (2 * j + 1) / (2.0 * n));
            p[i * n + j] = (float)sum;
        }
}

static void projected_lowpass(float *out, const float *in, int planes, int h, int w, int k)
{
    float *rows = host_floats((size_t)h * h), *cols = host_floats((size_t)w * w), *t = host_floats((size_t)h * w);
    dct_projection(rows, h, k);
    dct_projection(cols, w, k);
    for (int p = 0; p < planes; p++) {
        const float *x = in + (size_t)p * h * w; /* [H, W] */
        float *y = out + (size_t)p * h * w;      /* [H, W] */
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++) {
                float sum = 0.0f;
                for (int m = 0; m < h; m++)
                    sum += rows[i * h + m] * x[m * w + j];
                t[i * w + j] = sum;
            }
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++) {
                float sum = 0.0f;
                for (int m = 0; m < w; m++)
                    sum += t[i * w + m] * cols[m * w + j];
                y[i * w + j] = sum;
            }
    }
    free(rows);
    free(cols);
    free(t);
}

static void test_dct_vs_host(void **state)
{
    const fb_backend *cand = *state;
    require_device(cand, __func__);
    static const int sides[] = {32, 28}, ks[] = {1, 4, 8, 16, 32, 40};
    const int planes = 18;
    int failures = 0;
    for (size_t s = 0; s < sizeof sides / sizeof *sides; s++) {
        int h = sides[s], w = sides[s];
        size_t n = (size_t)planes * h * w;
        float *x = host_random(n, 400 + s, 0.0f, 1.0f), *want = host_floats(n), *got = host_floats(n);
        for (size_t i = 0; i < sizeof ks / sizeof *ks; i++) {
            for (size_t j = 0; j < n; j++)
                got[j] = NAN;
            assert_int_equal(fb_dct_square_lowpass(want, x, planes, h, w, ks[i]), FB_OK);
            if (cand == &fb_backend_cuda)
                assert_int_equal(fb_dct_square_lowpass_on(cand, got, x, planes, h, w, ks[i]), FB_OK);
            else
                projected_lowpass(got, x, planes, h, w, ks[i]);
            failures += !nmse_ok(label("DCT low-pass k=%d %dx%d, %s", ks[i], h, w, cand->name), got, want, n,
                                 TOL_CUDA_OP_NMSE);
        }
        free(x);
        free(want);
        free(got);
    }
    assert_int_equal(failures, 0);
}

/* ---- 2. HARS -------------------------------------------------------------- */

static void test_hars_vs_host(void **state)
{
    const fb_backend *cand = *state;
    require_device(cand, __func__);
    fb_dataset test, big, want, got;
    assert_true(load_test_images(&test));
    enum { COPIES = 12 }; /* 6,144 images = 18,432 planes: two GPU chunks */
    big = test;
    big.count = test.count * COPIES;
    big.pixels = malloc((size_t)big.count * IMAGE);
    big.labels = malloc((size_t)big.count * sizeof(int32_t));
    assert_true(big.pixels && big.labels);
    for (int k = 0; k < COPIES; k++) {
        memcpy(big.pixels + (size_t)k * test.count * IMAGE, test.pixels, (size_t)test.count * IMAGE);
        memcpy(big.labels + (size_t)k * test.count, test.labels, (size_t)test.count * sizeof(int32_t));
    }
    int *donor = malloc((size_t)big.count * sizeof(int));
    assert_non_null(donor);
    assert_int_equal(fb_hars_pairing(donor, big.labels, big.count, 7), FB_OK);
    assert_int_equal(fb_hars_build(&want, &big, donor, 12.0, NULL), FB_OK);
    assert_int_equal(fb_hars_build(&got, &big, donor, 12.0, cand), FB_OK);
    size_t bytes = (size_t)big.count * IMAGE, differing = 0, worst_index = 0;
    int worst = 0;
    for (size_t i = 0; i < bytes; i++) {
        int d = abs((int)got.pixels[i] - (int)want.pixels[i]);
        differing += d != 0;
        if (d > worst) {
            worst = d;
            worst_index = i;
        }
    }
    int labels_same = memcmp(got.labels, want.labels, (size_t)big.count * sizeof(int32_t)) == 0;
    int ok = labels_same && worst <= 1 && differing <= bytes / 1000;
    printf("[HARS r=12, %d images, %s] %zu of %zu bytes differ (bound %zu), largest difference %d at [%zu]; "
           "labels %s %s\n",
           big.count, cand->name, differing, bytes, bytes / 1000, worst, worst_index,
           labels_same ? "equal" : "DIFFER", ok ? "ok" : "FAIL");
    fb_dataset_free(&want);
    fb_dataset_free(&got);
    fb_dataset_free(&big);
    fb_dataset_free(&test);
    free(donor);
    assert_true(ok);
}

/* ---- 3. the CDES batch loss ----------------------------------------------- */

/* The control's candidate: cuda_cdes.cu's pipeline with FFTW — batched
 * grayscale and FFT, band sums over per-band coefficient lists, the shared
 * cdes_terms.h steps, batched inverse, the image term summed backwards. */
static void pipeline_cdes_loss(float *grad, float *spectral, float *image, const float *y, const float *x,
                               int n, const float *target)
{
    fb_radial_bins bins;
    assert_int_equal(fb_radial_init(&bins, SIDE, SIDE, FB_RADIAL_FREQBIAS), FB_OK);
    int band_of[PLANE], start[FB_CDES_BANDS + 1] = {0}, pixels[PLANE], fill[FB_CDES_BANDS];
    for (int u = 0; u < SIDE; u++)
        for (int v = 0; v < SIDE; v++)
            band_of[u * SIDE + v] = bins.band_of[((u + SIDE / 2) % SIDE) * SIDE + (v + SIDE / 2) % SIDE];
    for (int k = 0; k < PLANE; k++)
        if (band_of[k] >= 0)
            start[band_of[k] + 1]++;
    for (int b = 0; b < FB_CDES_BANDS; b++)
        start[b + 1] += start[b];
    memcpy(fill, start, sizeof fill);
    for (int k = 0; k < PLANE; k++)
        if (band_of[k] >= 0)
            pixels[fill[band_of[k]]++] = k;
    size_t total = (size_t)n * PLANE;
    float *gray = host_floats(total), *spectrum = host_floats(total * 2);     /* [n, H, W], [n, H, W, 2] */
    float *weighted = host_floats(total * 2), *dgray = host_floats(total);    /* [n, H, W, 2], [n, H, W] */
    fb_grayscale(gray, y, n, SIDE, SIDE);
    assert_int_equal(fb_fft2(spectrum, gray, n, SIDE, SIDE), FB_OK);
    double scale = 1.0 / ((double)n * FB_CDES_BANDS), loss_sum = 0.0;
    for (int i = 0; i < n; i++) {
        const float *f = spectrum + (size_t)i * PLANE * 2;
        double band_sum[FB_CDES_BANDS], dp[FB_CDES_BANDS];
        for (int b = 0; b < FB_CDES_BANDS; b++) {
            band_sum[b] = 0.0;
            for (int j = start[b]; j < start[b + 1]; j++)
                band_sum[b] += fb_cdes_log_magnitude(f[2 * pixels[j]], f[2 * pixels[j] + 1]);
        }
        loss_sum += fb_cdes_density_terms(band_sum, bins.counts, target, scale, NULL, dp);
        for (int k = 0; k < PLANE; k++) {
            float weight = fb_cdes_pixel_weight(f[2 * k], f[2 * k + 1], band_of[k], dp, bins.counts);
            weighted[((size_t)i * PLANE + k) * 2] = weight * f[2 * k];
            weighted[((size_t)i * PLANE + k) * 2 + 1] = weight * f[2 * k + 1];
        }
    }
    assert_int_equal(fb_ifft2_real(dgray, weighted, n, SIDE, SIDE, NULL), FB_OK);
    for (size_t i = 0; i < total; i++) {
        float dg = dgray[i] * (float)PLANE;
        float *g = grad + (i / PLANE) * IMAGE + i % PLANE;
        g[0] = 0.2989f * dg;
        g[PLANE] = 0.5870f * dg;
        g[2 * PLANE] = 0.1140f * dg;
    }
    size_t count = (size_t)n * IMAGE;
    double squared = 0.0;
    for (size_t i = count; i-- > 0;) {
        double diff = (double)y[i] - x[i];
        squared += diff * diff;
        grad[i] += 2.0f / (float)count * (y[i] - x[i]);
    }
    *spectral = (float)(loss_sum * scale);
    *image = (float)(squared / (double)count);
    fb_radial_free(&bins);
    free(gray);
    free(spectrum);
    free(weighted);
    free(dgray);
}

static void test_cdes_loss_vs_host(void **state)
{
    const fb_backend *cand = *state;
    require_device(cand, __func__);
    const int n = 10;
    const size_t count = (size_t)n * IMAGE;
    float target[FB_CDES_BANDS];
    fb_cdes_target(target, 1.0);
    float *y = unit_images(n), *x = host_floats(count);
    fb_cdes_add_noise(x, y, count, 3, 0, 0);
    float *want_grad = host_floats(count), *got_grad = host_floats(count);
    float want[2], got[2]; /* spectral, image */
    fb_cdes_loss *host_loss;
    assert_int_equal(fb_cdes_loss_create(&host_loss, NULL, n, SIDE, SIDE), FB_OK);
    assert_int_equal(fb_cdes_loss_on_device(host_loss), 0);
    assert_int_equal(fb_cdes_batch_loss(host_loss, want_grad, y, x, n, target, &want[0], &want[1]), FB_OK);
    fb_cdes_loss_free(host_loss);
    if (cand == &fb_backend_cuda) {
        fb_cdes_loss *gpu_loss;
        assert_int_equal(fb_cdes_loss_create(&gpu_loss, cand, n, SIDE, SIDE), FB_OK);
        assert_int_equal(fb_cdes_loss_on_device(gpu_loss), 1);
        device_set d = {.backend = cand};
        float *d_grad = dev_nan(&d, count);
        assert_int_equal(fb_cdes_batch_loss(gpu_loss, d_grad, dev_upload(&d, y, count), dev_upload(&d, x, count),
                                            n, target, &got[0], &got[1]), FB_OK);
        dev_download(&d, got_grad, d_grad, count);
        dev_release(&d);
        fb_cdes_loss_free(gpu_loss);
    } else {
        pipeline_cdes_loss(got_grad, &got[0], &got[1], y, x, n, target);
    }
    int ok = nmse_ok(label("CDES spectral loss, %d images, %s", n, cand->name), &got[0], &want[0], 1,
                     TOL_CUDA_CDES_LOSS_NMSE);
    ok &= nmse_ok(label("CDES image loss, %d images, %s", n, cand->name), &got[1], &want[1], 1,
                  TOL_CUDA_CDES_LOSS_NMSE);
    ok &= nmse_ok(label("CDES dL/dy, %d images, %s", n, cand->name), got_grad, want_grad, count,
                  TOL_CUDA_OP_NMSE);
    free(y);
    free(x);
    free(want_grad);
    free(got_grad);
    assert_true(ok);
}

/* ---- 4. a CDES training epoch --------------------------------------------- */

typedef struct epoch_result {
    fb_cdes_epoch_losses losses;
    int tensors;
    float *value[8], *momentum[8]; /* per registry tensor (parameters only) */
    size_t numel[8];
} epoch_result;

/* One epoch (0) of a fresh 16-filter 7×7 toy model on `backend` with a loss
 * made for `loss_backend`, over images[n]; then the parameters. */
static epoch_result train_epoch(const fb_backend *backend, const fb_backend *loss_backend,
                                const float *images, int n)
{
    epoch_result r;
    memset(&r, 0, sizeof r);
    fb_model_config config = fb_model_config_default(FB_ARCH_TOYKERNEL);
    config.toy_filters = 16;
    config.toy_kernel = 7;
    config.max_batch = 100;
    fb_model *model;
    fb_cdes_trainer *trainer;
    fb_cdes_loss *loss;
    assert_int_equal(fb_model_create(&model, &config, backend), FB_OK);
    fb_model_init(model, 11);
    assert_int_equal(fb_cdes_trainer_create(&trainer, model, 100), FB_OK);
    assert_int_equal(fb_cdes_loss_create(&loss, loss_backend, 100, SIDE, SIDE), FB_OK);
    float target[FB_CDES_BANDS];
    fb_cdes_target(target, 1.0);
    fb_cdes_schedule schedule = fb_cdes_schedule_default();
    if (fb_cdes_train_epoch(trainer, loss, images, n, &schedule, 0, 5, 0, target, &r.losses) != FB_OK)
        fail_msg("%s", fb_error_message());
    fb_registry *reg = fb_model_registry(model);
    assert_true(reg->count <= 8);
    r.tensors = reg->count;
    for (int i = 0; i < reg->count; i++) {
        fb_tensor *t = &reg->tensors[i];
        if (t->role != FB_ROLE_PARAM)
            continue;
        r.numel[i] = t->numel;
        r.value[i] = host_floats(t->numel);
        r.momentum[i] = host_floats(t->numel);
        backend->to_host(r.value[i], t->value, t->numel * sizeof(float));
        backend->to_host(r.momentum[i], t->momentum, t->numel * sizeof(float));
    }
    fb_cdes_loss_free(loss);
    fb_cdes_trainer_free(trainer);
    fb_model_free(model);
    return r;
}

static void free_epoch(epoch_result *r)
{
    for (int i = 0; i < r->tensors; i++) {
        free(r->value[i]);
        free(r->momentum[i]);
    }
}

static void test_cdes_epoch_vs_cpu_ref(void **state)
{
    const fb_backend *cand = *state;
    require_device(cand, __func__);
    const int n = 200;
    float *images = unit_images(n);
    epoch_result want = train_epoch(&fb_backend_cpu_ref, NULL, images, n);
    epoch_result got = train_epoch(cand, cand, images, n);
    epoch_result again = train_epoch(cand, cand, images, n);
    int ok = 1;
    float losses_got[2] = {(float)got.losses.spectral, (float)got.losses.image};
    float losses_want[2] = {(float)want.losses.spectral, (float)want.losses.image};
    ok &= nmse_ok(label("CDES epoch losses (spectral, image), %s", cand->name), losses_got, losses_want, 2,
                  TOL_CUDA_CDES_LOSS_NMSE);
    for (int i = 0; i < got.tensors; i++) {
        if (!got.value[i])
            continue;
        ok &= nmse_ok(label("CDES epoch parameter %d after SGD, %s", i, cand->name), got.value[i], want.value[i],
                      got.numel[i], TOL_CUDA_MODEL_NMSE);
        ok &= nmse_ok(label("CDES epoch momentum %d, %s", i, cand->name), got.momentum[i], want.momentum[i],
                      got.numel[i], TOL_CUDA_MODEL_NMSE);
        ok &= compare_bits(label("CDES epoch parameter %d, rerun on %s", i, cand->name), again.value[i],
                           got.value[i], got.numel[i] * sizeof(float));
    }
    ok &= compare_bits(label("CDES epoch losses, rerun on %s", cand->name), &again.losses, &got.losses,
                       sizeof got.losses);
    if (cand == &fb_backend_cuda) { /* a GPU loss cannot read a host model's output */
        fb_model_config config = fb_model_config_default(FB_ARCH_TOYKERNEL);
        config.max_batch = 100;
        fb_model *model;
        fb_cdes_trainer *trainer;
        fb_cdes_loss *loss;
        fb_cdes_epoch_losses losses;
        float target[FB_CDES_BANDS];
        fb_cdes_target(target, 1.0);
        fb_cdes_schedule schedule = fb_cdes_schedule_default();
        assert_int_equal(fb_model_create(&model, &config, &fb_backend_cpu), FB_OK);
        assert_int_equal(fb_cdes_trainer_create(&trainer, model, 100), FB_OK);
        assert_int_equal(fb_cdes_loss_create(&loss, cand, 100, SIDE, SIDE), FB_OK);
        fb_status status = fb_cdes_train_epoch(trainer, loss, images, n, &schedule, 0, 5, 0, target, &losses);
        printf("[GPU loss with a cpu model] %s\n", fb_error_message());
        ok &= status == FB_ERR_USAGE;
        fb_cdes_loss_free(loss);
        fb_cdes_trainer_free(trainer);
        fb_model_free(model);
    }
    free_epoch(&want);
    free_epoch(&got);
    free_epoch(&again);
    free(images);
    assert_true(ok);
}

int main(int argc, char **argv)
{
    fb_runtime_init(argc, argv);
    cuda_test_init();
    void *cuda = (void *)&fb_backend_cuda, *cpu = (void *)&fb_backend_cpu;
    const struct CMUnitTest tests[] = {
        ON("fft2 on host arrays vs host", test_fft2_on_vs_host, cuda),
        ON("filter vs host", test_filter_vs_host, cuda),
        ON("DCT low-pass vs host", test_dct_vs_host, cuda),
        ON("HARS vs host", test_hars_vs_host, cuda),
        ON("CDES loss vs host", test_cdes_loss_vs_host, cuda),
        ON("CDES epoch vs cpu-ref", test_cdes_epoch_vs_cpu_ref, cuda),
        /* control: host candidates that follow the GPU's algorithm */
        ON("filter vs host", test_filter_vs_host, cpu),
        ON("DCT low-pass vs host", test_dct_vs_host, cpu),
        ON("CDES loss vs host", test_cdes_loss_vs_host, cpu),
        ON("CDES epoch vs cpu-ref", test_cdes_epoch_vs_cpu_ref, cpu),
    };
    int failures = cmocka_run_group_tests_name("spectrum tools on cuda vs the host", tests, NULL, NULL);
    return cuda_test_finish(failures);
}
