/* cuda_testutil.h — the harness the CUDA test programs share (test_cuda.c,
 * test_cuda_spectrum.c; linked only into test_cuda*, built with CUDA=1).
 *
 *   GPU presence   cuda_test_init() asks the runtime once; require_device()
 *                  skips a test that needs the GPU on a machine without one,
 *                  printing the runtime's reason
 *   comparisons    nmse_ok(): normalised mean squared error
 *                  Σ(got − want)²/Σ want² against a bound, with a report
 *                  line giving the largest error relative to max|want| and
 *                  where it is (label() for the line is in testutil.h)
 *   data           load_test_images(): ref_data's 512 CIFAR-10 test images
 *   buffers        device_set: every buffer of one backend run, uploaded,
 *                  NaN-poisoned or downloaded through the backend's table and
 *                  released together; host_random/host_floats for the host
 *
 * Candidates are any backend (the cuda one, or cpu as the control), so the
 * helpers go through the op table, never through CUDA calls directly.
 */
#ifndef FREQBIAS_TESTS_CUDA_TESTUTIL_H
#define FREQBIAS_TESTS_CUDA_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "freqbias/backend.h"

extern int gpu_present;      /* set by cuda_test_init                          */
extern char gpu_text[320];   /* fb_cuda_describe: the device, or why there is none */

/* Asks for the device, prints it (or why there is none and that the cuda
 * tests will be skipped while the control runs). */
void cuda_test_init(void);

/* A cmocka test of `function` with the backend as its state, named after
 * it, e.g. "ops vs cpu-ref (cuda)"; `backend` is a void * variable. */
#define ON(name, function, backend) {name " (" #backend ")", function, NULL, NULL, backend}

/* After the tests: releases cuFFT's plans when a GPU was used; returns the
 * program's exit status for `failures`. */
int cuda_test_finish(int failures);

/* Skips the calling test when candidate is the cuda backend and there is
 * no GPU. */
void require_device(const fb_backend *candidate, const char *test);

/* NMSE of got[count] against want[count], with a report line. A non-finite
 * got where want is finite counts as an infinite error. Returns 1 when
 * NMSE ≤ tol. */
int nmse_ok(const char *label, const float *got, const float *want, size_t count, double tol);

/* The 512 CIFAR-10 test images of ref_data (cifar10_test512.bin); 0 with a
 * message when they cannot be read. */
struct fb_dataset;
int load_test_images(struct fb_dataset *data);

#define MAX_BUFFERS 64

typedef struct device_set {
    const fb_backend *backend;
    int count;
    void *buffers[MAX_BUFFERS];
} device_set;

void *dev_alloc(device_set *d, size_t bytes);
/* host[count] uploaded (NULL stays NULL) */
float *dev_upload(device_set *d, const float *host, size_t count);
/* count NaNs: an op that leaves an element unwritten fails the comparison */
float *dev_nan(device_set *d, size_t count);
void dev_download(device_set *d, float *host, const float *device, size_t count);
void dev_release(device_set *d);

/* malloc'd float[count]: uniform in [lo, hi) from seed / uninitialised */
float *host_random(size_t count, uint64_t seed, float lo, float hi);
float *host_floats(size_t count);

#endif
