/* cuda_testutil.c — the shared harness of the CUDA test programs
 * (cuda_testutil.h says what each piece is for). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "backend/cuda/cuda_backend.h"
#include "freqbias/dataset.h"
#include "cuda_testutil.h"
#include "testutil.h"

/* ---- GPU presence -------------------------------------------------------- */

int gpu_present;
char gpu_text[320];

void cuda_test_init(void)
{
    gpu_present = fb_cuda_describe(gpu_text, sizeof gpu_text);
    printf("cuda: %s\n", gpu_text);
    if (!gpu_present)
        printf("cuda: no GPU, so every cuda test below is skipped (reason above); the same checks "
               "run with the cpu backend as the control\n");
}

int cuda_test_finish(int failures)
{
    if (gpu_present)
        fb_cuda_fft_cleanup();
    return failures != 0;
}

void require_device(const fb_backend *candidate, const char *test)
{
    if (candidate == &fb_backend_cuda && !gpu_present) {
        printf("[ SKIP ] %s on cuda: %s\n", test, gpu_text);
        skip();
    }
}

/* ---- comparisons --------------------------------------------------------- */

int nmse_ok(const char *label, const float *got, const float *want, size_t count, double tol)
{
    double err2 = 0.0, ref2 = 0.0, max_abs = -1.0, scale = 0.0;
    size_t worst = 0;
    for (size_t i = 0; i < count; i++) {
        double g = got[i], w = want[i];
        double d = (isfinite(g) && isfinite(w)) ? fabs(g - w) : (g == w ? 0.0 : INFINITY);
        err2 += d * d;
        ref2 += w * w;
        if (fabs(w) > scale)
            scale = fabs(w);
        if (d > max_abs) {
            max_abs = d;
            worst = i;
        }
    }
    double nmse = ref2 > 0.0 ? err2 / ref2 : (err2 > 0.0 ? INFINITY : 0.0);
    double max_rel = scale > 0.0 ? max_abs / scale : max_abs;
    if (max_abs < 0.0)
        max_abs = 0.0;
    int ok = nmse <= tol;
    printf("[%s] n=%zu nmse=%.2e max_rel=%.2e (vs max|ref|=%.2e) worst=[%zu] got %.9g want %.9g "
           "%s\n",
           label, count, nmse, max_rel, scale, worst, count ? got[worst] : 0.0,
           count ? want[worst] : 0.0, ok ? "ok" : "FAIL");
    return ok;
}

/* images of ref_data/cifar10_test512.bin (512 real CIFAR-10 test images) */
int load_test_images(fb_dataset *data)
{
    char path[600];
    snprintf(path, sizeof path, "%s/cifar10_test512.bin", ref_data_dir());
    if (fb_dataset_load_path(path, data) != FB_OK) {
        print_message("cannot read %s: %s\n", path, fb_error_message());
        return 0;
    }
    return 1;
}

/* ---- device buffers ------------------------------------------------------ */

void *dev_alloc(device_set *d, size_t bytes)
{
    assert_true(d->count < MAX_BUFFERS);
    void *p = d->backend->alloc(bytes);
    assert_non_null(p);
    d->buffers[d->count++] = p;
    return p;
}

float *dev_upload(device_set *d, const float *host, size_t count)
{
    if (!host)
        return NULL;
    float *p = dev_alloc(d, count * sizeof(float));
    d->backend->to_device(p, host, count * sizeof(float));
    return p;
}

float *dev_nan(device_set *d, size_t count)
{
    float *poison = malloc(count * sizeof(float));
    assert_non_null(poison);
    for (size_t i = 0; i < count; i++)
        poison[i] = NAN;
    float *p = dev_upload(d, poison, count);
    free(poison);
    return p;
}

void dev_download(device_set *d, float *host, const float *device, size_t count)
{
    d->backend->to_host(host, device, count * sizeof(float));
}

void dev_release(device_set *d)
{
    for (int i = 0; i < d->count; i++)
        d->backend->release(d->buffers[i]);
    d->count = 0;
}

float *host_random(size_t count, uint64_t seed, float lo, float hi)
{
    float *v = malloc((count ? count : 1) * sizeof(float));
    assert_non_null(v);
    fill_uniform(v, count, seed, lo, hi);
    return v;
}

float *host_floats(size_t count)
{
    float *v = malloc((count ? count : 1) * sizeof(float));
    assert_non_null(v);
    return v;
}
