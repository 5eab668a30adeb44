/* test_ops.c — every op of the backend table (freqbias/backend.h) checked
 * four ways.
 *
 * 1. Against the oracle (tests/oracle.c): for cpu-ref and for cpu, each op
 *    runs on float data and is compared with the double-precision oracle on
 *    the same data, relative to the reference tensor's largest value
 *    (TOL_OP_VS_ORACLE). Convolutions run on the geometries the models use
 *    and on the corner cases: 3×3 stride 1/2 pad 1, 1×1 stride 1/2 pad 0,
 *    3×3 pad 0, the CDES toy's 7×7 pad 3 with bias, batch 1, one input
 *    channel, odd H ≠ W, a batch the cpu backend cuts into GEMM chunks of 32
 *    samples plus a remainder of 8, and batches whose filter gradient is a
 *    tree of several leaves (core/batch_tree.h; test_batch_tree checks the
 *    tree's bits, including batches split into shards). Every output
 *    buffer is pre-filled with NaN, so an op that leaves part of its output
 *    unwritten fails.
 * 2. The oracle's backward ops against central finite differences in double
 *    (h = 1e-6) of L = Σ probe·output for a random probe (TOL_FINITE_DIFF),
 *    which shows the oracle's gradients are the true ones: BatchNorm through
 *    the batch statistics, the normaliser away from its clamp corners, and
 *    the cross-entropy loss itself.
 * 3. cpu against cpu-ref on every op (TOL_CPU_VS_REF); the ops whose bodies
 *    both backends share (kernels.h) must even agree bit for bit.
 * 4. Determinism: every op of both backends gives the same bits with 1 and
 *    2 threads, on a rerun, and with a workspace sized for one thread.
 * Plus fb_backend_check naming a missing table entry.
 *
 * Data lives on the backend's device (alloc / to_device / to_host), so the
 * same tests serve a GPU backend later.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "freqbias/backend.h"
#include "freqbias/error.h"
#include "freqbias/rng.h"
#include "freqbias/runtime.h"
#include "backend/cpu_conv3x3.h"
#include "backend/cpu_conv_small.h"
#include "oracle.h"
#include "testutil.h"

/* ---- scratch memory ----------------------------------------------------- */

/* Every buffer a check allocates, host and device, freed in one call. */
#define MAX_SCRATCH 512

typedef struct scratch {
    const fb_backend *backend;
    int hosts, devices;
    void *host[MAX_SCRATCH];
    void *device[MAX_SCRATCH];
} scratch;

static void *host_alloc(scratch *s, size_t bytes)
{
    assert_true(s->hosts < MAX_SCRATCH);
    void *memory = malloc(bytes ? bytes : 1);
    assert_non_null(memory);
    s->host[s->hosts++] = memory;
    return memory;
}

static double *host_doubles(scratch *s, size_t count)
{
    return host_alloc(s, count * sizeof(double));
}

static float *host_random(scratch *s, size_t count, uint64_t seed, float lo, float hi)
{
    float *values = host_alloc(s, count * sizeof(float));
    fill_uniform(values, count, seed, lo, hi);
    return values;
}

/* The same values widened to double, for the oracle (NULL stays NULL). */
static double *host_widen(scratch *s, const float *values, size_t count)
{
    if (!values)
        return NULL;
    double *wide = host_doubles(s, count);
    for (size_t i = 0; i < count; i++)
        wide[i] = values[i];
    return wide;
}

/* Float copies of oracle values (saved statistics handed to a backend). */
static float *host_narrow(scratch *s, const double *values, size_t count)
{
    float *narrow = host_alloc(s, count * sizeof(float));
    for (size_t i = 0; i < count; i++)
        narrow[i] = (float)values[i];
    return narrow;
}

static void *device_alloc(scratch *s, size_t bytes)
{
    assert_true(s->devices < MAX_SCRATCH);
    void *memory = s->backend->alloc(bytes);
    assert_non_null(memory);
    s->device[s->devices++] = memory;
    return memory;
}

static void *device_upload(scratch *s, const void *host, size_t bytes)
{
    if (!host)
        return NULL;
    void *device = device_alloc(s, bytes);
    s->backend->to_device(device, host, bytes);
    return device;
}

static float *device_floats(scratch *s, const float *host, size_t count)
{
    return device_upload(s, host, count * sizeof(float));
}

/* An output buffer filled with NaN: entries an op forgets to write fail. */
static float *device_nan(scratch *s, size_t count)
{
    float *poison = host_alloc(s, count * sizeof(float));
    for (size_t i = 0; i < count; i++)
        poison[i] = NAN;
    return device_floats(s, poison, count);
}

static float *host_download(scratch *s, const float *device, size_t count)
{
    float *host = host_alloc(s, count * sizeof(float));
    s->backend->to_host(host, device, count * sizeof(float));
    return host;
}

static void scratch_release(scratch *s)
{
    for (int i = 0; i < s->devices; i++)
        s->backend->release(s->device[i]);
    for (int i = 0; i < s->hosts; i++)
        free(s->host[i]);
    s->devices = s->hosts = 0;
}

/* 1 when the oracle comparison fails (so checks can count failures). */
static int differs_from_oracle(const char *name, const float *got, const double *want,
                               size_t count)
{
    return !compare_f32_f64(name, got, want, count, TOL_OP_VS_ORACLE).ok;
}

/* ---- the shapes under test ---------------------------------------------- */

typedef struct conv_case {
    const char *name;
    int batch, in_channels, in_h, in_w, out_channels, kernel, stride, pad;
    int with_bias; /* bias in the forward and dbias in the filter gradient, else NULL */
} conv_case;

static const conv_case conv_cases[] = {
    {"3x3 s1 p1", 2, 3, 8, 8, 4, 3, 1, 1, 1},
    {"3x3 s2 p1 9x7", 2, 3, 9, 7, 4, 3, 2, 1, 1},
    {"3x3 s2 p1 7x9 no bias", 2, 3, 7, 9, 5, 3, 2, 1, 0},
    {"1x1 s2 p0", 2, 4, 8, 8, 5, 1, 2, 0, 0},
    {"1x1 s1 p0", 2, 4, 6, 6, 5, 1, 1, 0, 1},
    {"1x1 s1 p0 24x24 direct GEMM", 3, 3, 24, 24, 4, 1, 1, 0, 0},
    {"3x3 p0 7x9", 2, 2, 7, 9, 3, 3, 1, 0, 1},
    {"7x7 p3 CDES conv1", 2, 3, 32, 32, 8, 7, 1, 3, 1},
    {"7x7 p3 CDES conv2", 2, 8, 32, 32, 3, 7, 1, 3, 1},
    {"batch 1", 1, 3, 10, 10, 4, 3, 1, 1, 1},
    {"one input channel 12x11", 3, 1, 12, 11, 4, 3, 1, 1, 1},
    {"chunks 32+8 (4x4 maps, batch 40)", 40, 4, 8, 8, 8, 3, 2, 1, 1},
    {"1x1 s2 chunks 32+8", 40, 8, 8, 8, 16, 1, 2, 0, 0},
    {"filter tree 4+1 / 3+2 (32x32 maps, batch 10)", 10, 3, 32, 32, 4, 3, 1, 1, 1},
    {"filter tree (30x30 maps, batch 10, im2col)", 10, 3, 30, 30, 4, 3, 1, 1, 1},
    /* the cpu backend's direct 3x3 path (cpu_conv3x3.c): width a multiple
     * of 16; channel counts off its 8-channel and 3-channel tiles; an odd
     * number of rows leaves a short tile of pixel vectors */
    {"direct 3x3 16x16 C16 OC16 (layer shape)", 3, 16, 16, 16, 16, 3, 1, 1, 0},
    {"direct 3x3 5x48 C5 OC11 odd", 2, 5, 5, 48, 11, 3, 1, 1, 1},
    {"direct 3x3 batch 1 7x16 C1 OC9", 1, 1, 7, 16, 9, 3, 1, 1, 1},
    {"direct 3x3 1x16 one row C9 OC2", 2, 9, 1, 16, 2, 3, 1, 1, 0},
    {"direct 3x3 32x32 C17 OC3, 9 samples: leaves 3+2+2+2", 9, 17, 32, 32, 3, 3, 1, 1, 0},
    /* the cpu backend's channel-vectorised path (cpu_conv_small.c): channel
     * counts multiples of 16; tiles of 1, 2 and 3 channel vectors (4 = 2 + 2,
     * 5 = 3 + 2, 8 = 3 + 3 + 2; filter tiles 4 + 1); pixel counts off the
     * 8-pixel tiles */
    {"small 3x3 s1 8x8 C64 OC64 batch 1 (layer3 shape)", 1, 64, 8, 8, 64, 3, 1, 1, 0},
    {"small 3x3 s1 4x4 C128 OC128 (layer4 shape)", 2, 128, 4, 4, 128, 3, 1, 1, 0},
    {"small 3x3 s2 16x16 C32 OC64 (layer3.0 conv1)", 2, 32, 16, 16, 64, 3, 2, 1, 0},
    {"small 3x3 s2 9x9 odd C16 OC32 bias", 2, 16, 9, 9, 32, 3, 2, 1, 1},
    {"small 3x3 s1 7x5 odd C32 OC48 bias", 3, 32, 7, 5, 48, 3, 1, 1, 1},
    {"small 3x3 s2 7x7 C48 OC80 bias", 2, 48, 7, 7, 80, 3, 2, 1, 1},
    {"small 3x3 s1 p0 6x9 C16 OC16", 2, 16, 6, 9, 16, 3, 1, 0, 0},
    {"small 1x1 s2 8x8 C16 OC32 (shortcut)", 3, 16, 8, 8, 32, 1, 2, 0, 0},
    {"small 1x1 s2 9x7 odd C32 OC16 bias", 2, 32, 9, 7, 16, 1, 2, 0, 1},
    {"small 1x1 s1 5x5 C16 OC64", 2, 16, 5, 5, 64, 1, 1, 0, 0},
    {"small 3x3 s1 6x6 C16 OC16, 9 samples: leaves 3+2+2+2", 9, 16, 6, 6, 16, 3, 1, 1, 0},
    {"small 3x3 s2 32x32 C16 OC32 (layer2.0 conv1)", 2, 16, 32, 32, 32, 3, 2, 1, 0},
};
#define CONV_CASES (sizeof conv_cases / sizeof *conv_cases)

static fb_conv_geom geometry_of(const conv_case *c)
{
    return fb_conv_geom_make(c->batch, c->in_channels, c->in_h, c->in_w, c->out_channels,
                             c->kernel, c->stride, c->pad);
}

static size_t conv_input_count(const fb_conv_geom *g)
{
    return (size_t)g->batch * g->in_channels * g->in_h * g->in_w;
}

static size_t conv_output_count(const fb_conv_geom *g)
{
    return (size_t)g->batch * g->out_channels * g->out_h * g->out_w;
}

static size_t conv_weight_count(const fb_conv_geom *g)
{
    return (size_t)g->out_channels * g->in_channels * g->kernel * g->kernel;
}

typedef struct bn_case {
    const char *name;
    int batch, channels, spatial;
} bn_case;

static const bn_case bn_cases[] = {
    {"N4 C3 P35", 4, 3, 35},
    {"N1 C2 P16", 1, 2, 16},
    {"N8 C5 P64", 8, 5, 64},
};

typedef struct pool_case {
    const char *name;
    int batch, channels, h, w, k;
} pool_case;

static const pool_case pool_cases[] = {
    {"N2 C3 8x8 k2", 2, 3, 8, 8, 2},
    {"N2 C2 9x10 k4 ragged", 2, 2, 9, 10, 4},
    {"N3 C4 8x8 k8 global", 3, 4, 8, 8, 8},
    {"N1 C1 5x3 k1", 1, 1, 5, 3, 1},
};

typedef struct linear_case {
    const char *name;
    int batch, in_features, out_features;
    int full; /* bias, din and dbias present; else all three NULL */
} linear_case;

static const linear_case linear_cases[] = {
    {"N5 IN37 OUT10", 5, 37, 10, 1},
    {"N1 IN64 OUT3 no bias/din/dbias", 1, 64, 3, 0},
    {"N16 IN300 OUT7", 16, 300, 7, 1},
};

typedef struct normalize_case {
    const char *name;
    int batch, channels, spatial;
} normalize_case;

static const normalize_case normalize_cases[] = {
    {"N3 C3 P40", 3, 3, 40},
    {"N2 C1 P17", 2, 1, 17},
};

/* CIFAR-10 channel statistics, as the robustness InputNormalize uses. */
static const float cifar_mean[3] = {0.4914f, 0.4822f, 0.4465f};
static const float cifar_std[3] = {0.2470f, 0.2435f, 0.2616f};

typedef struct ce_case {
    const char *name;
    int batch, classes;
    float lo, hi; /* logit range */
} ce_case;

static const ce_case ce_cases[] = {
    {"N7 K10 logits in [-5,5)", 7, 10, -5.0f, 5.0f},
    {"N3 K4 logits in [50,100) (exp overflow guard)", 3, 4, 50.0f, 100.0f},
    {"N1 K2", 1, 2, -1.0f, 1.0f},
};

typedef struct sgd_case {
    const char *name;
    size_t count;
    float lr, momentum, weight_decay;
} sgd_case;

static const sgd_case sgd_cases[] = {
    {"10000 params lr 0.1 m 0.9 wd 5e-4", 10000, 0.1f, 0.9f, 5e-4f},
    {"100 params lr 0.05 plain", 100, 0.05f, 0.0f, 0.0f},
};

#define COUNT_OF(array) (sizeof(array) / sizeof *(array))

static int32_t *random_labels(scratch *s, int batch, int classes, uint64_t seed)
{
    int32_t *labels = host_alloc(s, (size_t)batch * sizeof(int32_t));
    for (int n = 0; n < batch; n++)
        labels[n] = (int32_t)fb_rng_below(seed, FB_STREAM_DATA, 1, (uint64_t)n, (uint32_t)classes);
    return labels;
}

/* Normaliser input: mostly in [−0.5, 1.5), plus the exact corners 0 and 1
 * (where the gradient passes) at fixed places. */
static float *normalize_input(scratch *s, size_t count, uint64_t seed)
{
    float *in = host_random(s, count, seed, -0.5f, 1.5f);
    for (size_t i = 0; i < count; i += 7)
        in[i] = (i / 7) % 2 ? 1.0f : 0.0f;
    return in;
}

/* ---- 1. every op against the oracle -------------------------------------- */

static int check_conv_case(const fb_backend *backend, const conv_case *c)
{
    scratch s = {.backend = backend};
    fb_conv_geom g = geometry_of(c);
    size_t in_count = conv_input_count(&g), out_count = conv_output_count(&g);
    size_t weight_count = conv_weight_count(&g), oc = (size_t)g.out_channels;

    float *in = host_random(&s, in_count, 101, -1.0f, 1.0f);         /* [N,IC,H,W]   */
    float *weight = host_random(&s, weight_count, 102, -0.5f, 0.5f); /* [OC,IC,K,K]  */
    float *bias = c->with_bias ? host_random(&s, oc, 103, -0.5f, 0.5f) : NULL; /* [OC] */
    float *dout = host_random(&s, out_count, 104, -1.0f, 1.0f);      /* [N,OC,OH,OW] */

    double *want_out = host_doubles(&s, out_count);                  /* [N,OC,OH,OW] */
    double *want_din = host_doubles(&s, in_count);                   /* [N,IC,H,W]   */
    double *want_dweight = host_doubles(&s, weight_count);           /* [OC,IC,K,K]  */
    double *want_dbias = c->with_bias ? host_doubles(&s, oc) : NULL; /* [OC]         */
    double *in64 = host_widen(&s, in, in_count);                     /* [N,IC,H,W]   */
    double *weight64 = host_widen(&s, weight, weight_count);         /* [OC,IC,K,K]  */
    double *dout64 = host_widen(&s, dout, out_count);                /* [N,OC,OH,OW] */
    oracle_conv2d_forward(want_out, in64, weight64, host_widen(&s, bias, oc), &g);
    oracle_conv2d_backward_data(want_din, dout64, weight64, &g);
    oracle_conv2d_backward_filter(want_dweight, want_dbias, dout64, in64, &g);

    size_t workspace_bytes = backend->conv2d_workspace(&g);
    void *workspace = device_alloc(&s, workspace_bytes);
    float *d_in = device_floats(&s, in, in_count);               /* [N,IC,H,W]   */
    float *d_weight = device_floats(&s, weight, weight_count);   /* [OC,IC,K,K]  */
    float *d_bias = device_floats(&s, bias, oc);                 /* [OC] or NULL */
    float *d_dout = device_floats(&s, dout, out_count);          /* [N,OC,OH,OW] */
    float *d_out = device_nan(&s, out_count);                    /* [N,OC,OH,OW] */
    float *d_din = device_nan(&s, in_count);                     /* [N,IC,H,W]   */
    float *d_dweight = device_nan(&s, weight_count);             /* [OC,IC,K,K]  */
    float *d_dbias = c->with_bias ? device_nan(&s, oc) : NULL;   /* [OC]         */
    backend->conv2d_forward(d_out, d_in, d_weight, d_bias, &g, workspace, workspace_bytes);
    backend->conv2d_backward_data(d_din, d_dout, d_weight, &g, workspace, workspace_bytes);
    backend->conv2d_backward_filter(d_dweight, d_dbias, d_dout, d_in, &g, workspace,
                                    workspace_bytes);

    int failures = 0;
    failures += differs_from_oracle(label("conv fwd %s %s", backend->name, c->name),
                                    host_download(&s, d_out, out_count), want_out, out_count);
    failures += differs_from_oracle(label("conv bwd data %s %s", backend->name, c->name),
                                    host_download(&s, d_din, in_count), want_din, in_count);
    failures += differs_from_oracle(label("conv bwd filter %s %s", backend->name, c->name),
                                    host_download(&s, d_dweight, weight_count), want_dweight,
                                    weight_count);
    if (c->with_bias)
        failures += differs_from_oracle(label("conv bwd bias %s %s", backend->name, c->name),
                                        host_download(&s, d_dbias, oc), want_dbias, oc);
    scratch_release(&s);
    return failures;
}

/* The "direct" cases above must really take the direct 3x3 path of the cpu
 * backend, the "im2col" ones the GEMM path, and exactly the "small" ones the
 * channel-vectorised path, so every path stays covered. */
static void test_conv_direct_selection(void **state)
{
    (void)state;
    for (size_t i = 0; i < CONV_CASES; i++) {
        fb_conv_geom g = geometry_of(&conv_cases[i]);
        int small = strncmp(conv_cases[i].name, "small", 5) == 0;
        if (strncmp(conv_cases[i].name, "direct", 6) == 0)
            assert_true(fb_conv3x3_selected(&g));
        if (strstr(conv_cases[i].name, "im2col"))
            assert_false(fb_conv3x3_selected(&g));
        assert_int_equal(fb_convsmall_selected(&g), small);
    }
    fb_conv_geom layer1 = fb_conv_geom_make(2, 16, 32, 32, 16, 3, 1, 1);
    fb_conv_geom odd_channels = fb_conv_geom_make(2, 24, 8, 8, 32, 3, 1, 1);
    fb_conv_geom big_map = fb_conv_geom_make(2, 32, 24, 24, 32, 3, 1, 1);
    fb_conv_geom too_wide = fb_conv_geom_make(2, 256, 4, 4, 256, 3, 1, 1);
    assert_true(fb_conv3x3_selected(&layer1));
    assert_false(fb_convsmall_selected(&layer1));
    assert_false(fb_convsmall_selected(&odd_channels));
    assert_false(fb_convsmall_selected(&big_map));
    assert_false(fb_convsmall_selected(&too_wide));
    fb_conv_geom wide = fb_conv_geom_make(2, 128, 16, 16, 128, 3, 1, 1);
    fb_conv_geom strided = fb_conv_geom_make(2, 16, 32, 32, 16, 3, 2, 1);
    fb_conv_geom narrow = fb_conv_geom_make(2, 16, 8, 8, 16, 3, 1, 1);
    assert_false(fb_conv3x3_selected(&wide));
    assert_false(fb_conv3x3_selected(&strided));
    assert_false(fb_conv3x3_selected(&narrow));
}

static void test_conv_vs_oracle(void **state)
{
    const fb_backend *backend = *state;
    int failures = 0;
    for (size_t i = 0; i < CONV_CASES; i++)
        failures += check_conv_case(backend, &conv_cases[i]);
    assert_int_equal(failures, 0);
}

static int check_batchnorm_case(const fb_backend *backend, const bn_case *c)
{
    scratch s = {.backend = backend};
    size_t count = (size_t)c->batch * c->channels * c->spatial, channels = (size_t)c->channels;
    float *in = host_random(&s, count, 201, -1.0f, 3.0f);             /* [N,C,P] */
    float *gamma = host_random(&s, channels, 202, 0.5f, 1.5f);        /* [C]     */
    float *beta = host_random(&s, channels, 203, -0.5f, 0.5f);        /* [C]     */
    float *running_mean = host_random(&s, channels, 204, -0.2f, 0.2f); /* [C]    */
    float *running_var = host_random(&s, channels, 205, 0.5f, 1.5f);  /* [C]     */
    float *dout = host_random(&s, count, 206, -1.0f, 1.0f);           /* [N,C,P] */

    double *in64 = host_widen(&s, in, count);                           /* [N,C,P] */
    double *gamma64 = host_widen(&s, gamma, channels);                  /* [C]     */
    double *beta64 = host_widen(&s, beta, channels);                    /* [C]     */
    double *want_out = host_doubles(&s, count);                         /* [N,C,P] */
    double *want_eval = host_doubles(&s, count);                        /* [N,C,P] */
    double *want_mean = host_doubles(&s, channels);                     /* [C]     */
    double *want_invstd = host_doubles(&s, channels);                   /* [C]     */
    double *want_running_mean = host_widen(&s, running_mean, channels); /* [C]     */
    double *want_running_var = host_widen(&s, running_var, channels);   /* [C]     */
    double *want_din = host_doubles(&s, count);                         /* [N,C,P] */
    double *want_dgamma = host_doubles(&s, channels);                   /* [C]     */
    double *want_dbeta = host_doubles(&s, channels);                    /* [C]     */
    oracle_batchnorm_forward_eval(want_eval, in64, gamma64, beta64, want_running_mean,
                                  want_running_var, c->batch, c->channels, c->spatial);
    oracle_batchnorm_forward_train(want_out, want_mean, want_invstd, want_running_mean,
                                   want_running_var, in64, gamma64, beta64, c->batch, c->channels,
                                   c->spatial);
    oracle_batchnorm_backward(want_din, want_dgamma, want_dbeta, host_widen(&s, dout, count), in64,
                              gamma64, c->batch, c->channels, c->spatial);

    float *d_in = device_floats(&s, in, count);                         /* [N,C,P] */
    float *d_gamma = device_floats(&s, gamma, channels);                /* [C]     */
    float *d_beta = device_floats(&s, beta, channels);                  /* [C]     */
    float *d_running_mean = device_floats(&s, running_mean, channels);  /* [C]     */
    float *d_running_var = device_floats(&s, running_var, channels);    /* [C]     */
    float *d_eval = device_nan(&s, count);                              /* [N,C,P] */
    backend->batchnorm_forward_eval(d_eval, d_in, d_gamma, d_beta, d_running_mean, d_running_var,
                                    c->batch, c->channels, c->spatial);
    float *d_out = device_nan(&s, count);     /* [N,C,P] */
    float *d_mean = device_nan(&s, channels);   /* [C]     */
    float *d_invstd = device_nan(&s, channels); /* [C]     */
    backend->batchnorm_forward_train(d_out, d_mean, d_invstd, d_running_mean, d_running_var, d_in,
                                     d_gamma, d_beta, c->batch, c->channels, c->spatial, NULL);
    /* the backward gets the oracle's statistics, so it is tested alone */
    float *saved_mean = host_narrow(&s, want_mean, channels);          /* [C]     */
    float *saved_invstd = host_narrow(&s, want_invstd, channels);      /* [C]     */
    float *d_saved_mean = device_floats(&s, saved_mean, channels);     /* [C]     */
    float *d_saved_invstd = device_floats(&s, saved_invstd, channels); /* [C]     */
    float *d_dout = device_floats(&s, dout, count);   /* [N,C,P] */
    float *d_din = device_nan(&s, count);             /* [N,C,P] */
    float *d_dgamma = device_nan(&s, channels);       /* [C]     */
    float *d_dbeta = device_nan(&s, channels);        /* [C]     */
    backend->batchnorm_backward(d_din, d_dgamma, d_dbeta, d_dout, d_in, d_gamma, d_saved_mean,
                                d_saved_invstd, c->batch, c->channels, c->spatial, NULL);

    /* eval-mode backward with the original running statistics */
    double *want_din_eval = host_doubles(&s, count);   /* [N,C,P] */
    double *want_dgamma_eval = host_doubles(&s, channels); /* [C] */
    double *want_dbeta_eval = host_doubles(&s, channels);  /* [C] */
    oracle_batchnorm_backward_eval(want_din_eval, want_dgamma_eval, want_dbeta_eval,
                                   host_widen(&s, dout, count), in64, gamma64,
                                   host_widen(&s, running_mean, channels),
                                   host_widen(&s, running_var, channels), c->batch, c->channels,
                                   c->spatial);
    float *d_din_eval = device_nan(&s, count);       /* [N,C,P] */
    float *d_dgamma_eval = device_nan(&s, channels); /* [C] */
    float *d_dbeta_eval = device_nan(&s, channels);  /* [C] */
    backend->batchnorm_backward_eval(d_din_eval, d_dgamma_eval, d_dbeta_eval, d_dout, d_in, d_gamma,
                                     device_floats(&s, running_mean, channels),
                                     device_floats(&s, running_var, channels), c->batch,
                                     c->channels, c->spatial);

    const char *b = backend->name;
    int failures = 0;
    failures += differs_from_oracle(label("bn eval bwd din %s %s", b, c->name),
                                    host_download(&s, d_din_eval, count), want_din_eval, count);
    failures += differs_from_oracle(label("bn eval bwd dgamma %s %s", b, c->name),
                                    host_download(&s, d_dgamma_eval, channels), want_dgamma_eval,
                                    channels);
    failures += differs_from_oracle(label("bn eval bwd dbeta %s %s", b, c->name),
                                    host_download(&s, d_dbeta_eval, channels), want_dbeta_eval,
                                    channels);
    failures += differs_from_oracle(label("bn eval fwd %s %s", b, c->name),
                                    host_download(&s, d_eval, count), want_eval, count);
    failures += differs_from_oracle(label("bn train fwd %s %s", b, c->name),
                                    host_download(&s, d_out, count), want_out, count);
    failures += differs_from_oracle(label("bn save_mean %s %s", b, c->name),
                                    host_download(&s, d_mean, channels), want_mean, channels);
    failures += differs_from_oracle(label("bn save_invstd %s %s", b, c->name),
                                    host_download(&s, d_invstd, channels), want_invstd, channels);
    failures += differs_from_oracle(label("bn running_mean %s %s", b, c->name),
                                    host_download(&s, d_running_mean, channels), want_running_mean,
                                    channels);
    failures += differs_from_oracle(label("bn running_var (unbiased) %s %s", b, c->name),
                                    host_download(&s, d_running_var, channels), want_running_var,
                                    channels);
    failures += differs_from_oracle(label("bn bwd din %s %s", b, c->name),
                                    host_download(&s, d_din, count), want_din, count);
    failures += differs_from_oracle(label("bn bwd dgamma %s %s", b, c->name),
                                    host_download(&s, d_dgamma, channels), want_dgamma, channels);
    failures += differs_from_oracle(label("bn bwd dbeta %s %s", b, c->name),
                                    host_download(&s, d_dbeta, channels), want_dbeta, channels);
    scratch_release(&s);
    return failures;
}

static void test_batchnorm_vs_oracle(void **state)
{
    int failures = 0;
    for (size_t i = 0; i < COUNT_OF(bn_cases); i++)
        failures += check_batchnorm_case(*state, &bn_cases[i]);
    assert_int_equal(failures, 0);
}

/* ReLU and add, including their documented aliasing (out = in, din = dout,
 * out = a, out = b). */
static void test_elementwise_vs_oracle(void **state)
{
    const fb_backend *backend = *state;
    const char *b = backend->name;
    scratch s = {.backend = backend};
    const size_t count = 1003;
    float *x = host_random(&s, count, 301, -1.0f, 1.0f);    /* [count] */
    float *y = host_random(&s, count, 302, -1.0f, 1.0f);    /* [count] */
    float *dout = host_random(&s, count, 303, -1.0f, 1.0f); /* [count] */
    x[0] = 0.0f;
    x[1] = -0.0f; /* ReLU's kink: output 0, gradient 0 */

    /* every tensor of this test is flat: [count] */
    double *x64 = host_widen(&s, x, count), *y64 = host_widen(&s, y, count);
    double *want_relu = host_doubles(&s, count), *want_drelu = host_doubles(&s, count);
    double *want_sum = host_doubles(&s, count);
    oracle_relu_forward(want_relu, x64, count);
    oracle_relu_backward(want_drelu, host_widen(&s, dout, count), want_relu, count);
    oracle_add(want_sum, x64, y64, count);

    int failures = 0;
    float *d_x = device_floats(&s, x, count), *d_y = device_floats(&s, y, count);
    float *d_out = device_nan(&s, count);
    backend->relu_forward(d_out, d_x, count);
    failures += differs_from_oracle(label("relu fwd %s", b), host_download(&s, d_out, count),
                                    want_relu, count);
    float *d_dout = device_floats(&s, dout, count), *d_din = device_nan(&s, count);
    backend->relu_backward(d_din, d_dout, d_out, count);
    failures += differs_from_oracle(label("relu bwd %s", b), host_download(&s, d_din, count),
                                    want_drelu, count);
    float *d_inplace = device_floats(&s, x, count);
    backend->relu_forward(d_inplace, d_inplace, count);
    failures += differs_from_oracle(label("relu fwd in place %s", b),
                                    host_download(&s, d_inplace, count), want_relu, count);
    backend->relu_backward(d_dout, d_dout, d_out, count);
    failures += differs_from_oracle(label("relu bwd in place %s", b),
                                    host_download(&s, d_dout, count), want_drelu, count);

    float *d_sum = device_nan(&s, count);
    backend->add(d_sum, d_x, d_y, count);
    failures += differs_from_oracle(label("add %s", b), host_download(&s, d_sum, count), want_sum,
                                    count);
    float *d_a = device_floats(&s, x, count);
    backend->add(d_a, d_a, d_y, count);
    failures += differs_from_oracle(label("add out=a %s", b), host_download(&s, d_a, count),
                                    want_sum, count);
    float *d_b = device_floats(&s, y, count);
    backend->add(d_b, d_x, d_b, count);
    failures += differs_from_oracle(label("add out=b %s", b), host_download(&s, d_b, count),
                                    want_sum, count);
    scratch_release(&s);
    assert_int_equal(failures, 0);
}

static void test_avgpool_vs_oracle(void **state)
{
    const fb_backend *backend = *state;
    int failures = 0;
    for (size_t i = 0; i < COUNT_OF(pool_cases); i++) {
        const pool_case *c = &pool_cases[i];
        scratch s = {.backend = backend};
        size_t planes = (size_t)c->batch * c->channels;
        size_t in_count = planes * c->h * c->w, out_count = planes * (c->h / c->k) * (c->w / c->k);
        float *in = host_random(&s, in_count, 401, -1.0f, 1.0f);    /* [N,C,H,W]     */
        float *dout = host_random(&s, out_count, 402, -1.0f, 1.0f); /* [N,C,H/k,W/k] */
        double *want_out = host_doubles(&s, out_count); /* [N,C,H/k,W/k] */
        double *want_din = host_doubles(&s, in_count);  /* [N,C,H,W]     */
        oracle_avgpool_forward(want_out, host_widen(&s, in, in_count), c->batch, c->channels,
                               c->h, c->w, c->k);
        oracle_avgpool_backward(want_din, host_widen(&s, dout, out_count), c->batch, c->channels,
                                c->h, c->w, c->k);
        float *d_out = device_nan(&s, out_count); /* [N,C,H/k,W/k] */
        float *d_din = device_nan(&s, in_count);  /* [N,C,H,W]     */
        backend->avgpool_forward(d_out, device_floats(&s, in, in_count), c->batch, c->channels,
                                 c->h, c->w, c->k);
        backend->avgpool_backward(d_din, device_floats(&s, dout, out_count), c->batch, c->channels,
                                  c->h, c->w, c->k);
        failures += differs_from_oracle(label("avgpool fwd %s %s", backend->name, c->name),
                                        host_download(&s, d_out, out_count), want_out, out_count);
        failures += differs_from_oracle(label("avgpool bwd %s %s", backend->name, c->name),
                                        host_download(&s, d_din, in_count), want_din, in_count);
        scratch_release(&s);
    }
    assert_int_equal(failures, 0);
}

static void test_linear_vs_oracle(void **state)
{
    const fb_backend *backend = *state;
    int failures = 0;
    for (size_t i = 0; i < COUNT_OF(linear_cases); i++) {
        const linear_case *c = &linear_cases[i];
        const char *b = backend->name;
        scratch s = {.backend = backend};
        size_t in_count = (size_t)c->batch * c->in_features;
        size_t out_count = (size_t)c->batch * c->out_features;
        size_t weight_count = (size_t)c->out_features * c->in_features;
        size_t outs = (size_t)c->out_features;
        float *in = host_random(&s, in_count, 501, -1.0f, 1.0f);         /* [N,IN]    */
        float *weight = host_random(&s, weight_count, 502, -0.3f, 0.3f); /* [OUT,IN]  */
        float *bias = c->full ? host_random(&s, outs, 503, -0.5f, 0.5f) : NULL; /* [OUT] */
        float *dout = host_random(&s, out_count, 504, -1.0f, 1.0f);      /* [N,OUT]   */

        double *in64 = host_widen(&s, in, in_count);             /* [N,IN]   */
        double *weight64 = host_widen(&s, weight, weight_count); /* [OUT,IN] */
        double *want_out = host_doubles(&s, out_count);          /* [N,OUT]  */
        double *want_din = host_doubles(&s, in_count);           /* [N,IN]   */
        double *want_dweight = host_doubles(&s, weight_count);   /* [OUT,IN] */
        double *want_dbias = host_doubles(&s, outs);             /* [OUT]    */
        oracle_linear_forward(want_out, in64, weight64, host_widen(&s, bias, outs), c->batch,
                              c->in_features, c->out_features);
        oracle_linear_backward(want_din, want_dweight, want_dbias, host_widen(&s, dout, out_count),
                               in64, weight64, c->batch, c->in_features, c->out_features);

        float *d_in = device_floats(&s, in, in_count);               /* [N,IN]   */
        float *d_weight = device_floats(&s, weight, weight_count);   /* [OUT,IN] */
        float *d_out = device_nan(&s, out_count);                    /* [N,OUT]  */
        float *d_dweight = device_nan(&s, weight_count);             /* [OUT,IN] */
        float *d_din = c->full ? device_nan(&s, in_count) : NULL;    /* [N,IN]   */
        float *d_dbias = c->full ? device_nan(&s, outs) : NULL;      /* [OUT]    */
        backend->linear_forward(d_out, d_in, d_weight, device_floats(&s, bias, outs), c->batch,
                                c->in_features, c->out_features);
        float *d_dout = device_floats(&s, dout, out_count);          /* [N,OUT]  */
        backend->linear_backward(d_din, d_dweight, d_dbias, d_dout, d_in, d_weight, c->batch,
                                 c->in_features, c->out_features);
        failures += differs_from_oracle(label("linear fwd %s %s", b, c->name),
                                        host_download(&s, d_out, out_count), want_out, out_count);
        failures += differs_from_oracle(label("linear bwd dweight %s %s", b, c->name),
                                        host_download(&s, d_dweight, weight_count), want_dweight,
                                        weight_count);
        if (c->full) {
            failures += differs_from_oracle(label("linear bwd din %s %s", b, c->name),
                                            host_download(&s, d_din, in_count), want_din, in_count);
            failures += differs_from_oracle(label("linear bwd dbias %s %s", b, c->name),
                                            host_download(&s, d_dbias, outs), want_dbias, outs);
        }
        scratch_release(&s);
    }
    assert_int_equal(failures, 0);
}

static void test_normalize_vs_oracle(void **state)
{
    const fb_backend *backend = *state;
    int failures = 0;
    for (size_t i = 0; i < COUNT_OF(normalize_cases); i++) {
        const normalize_case *c = &normalize_cases[i];
        scratch s = {.backend = backend};
        size_t count = (size_t)c->batch * c->channels * c->spatial, channels = (size_t)c->channels;
        float *in = normalize_input(&s, count, 601);            /* [N,C,P] */
        float *dout = host_random(&s, count, 602, -1.0f, 1.0f); /* [N,C,P] */
        double *std64 = host_widen(&s, cifar_std, channels); /* [C]     */
        double *want_out = host_doubles(&s, count);          /* [N,C,P] */
        double *want_din = host_doubles(&s, count);          /* [N,C,P] */
        double *in64 = host_widen(&s, in, count);            /* [N,C,P] */
        oracle_normalize_forward(want_out, in64, host_widen(&s, cifar_mean, channels), std64,
                                 c->batch, c->channels, c->spatial);
        oracle_normalize_backward(want_din, host_widen(&s, dout, count), in64, std64, c->batch,
                                  c->channels, c->spatial);
        float *d_in = device_floats(&s, in, count);               /* [N,C,P] */
        float *d_std = device_floats(&s, cifar_std, channels);    /* [C]     */
        float *d_out = device_nan(&s, count);                     /* [N,C,P] */
        float *d_din = device_nan(&s, count);                     /* [N,C,P] */
        backend->normalize_forward(d_out, d_in, device_floats(&s, cifar_mean, channels), d_std,
                                   c->batch, c->channels, c->spatial);
        backend->normalize_backward(d_din, device_floats(&s, dout, count), d_in, d_std, c->batch,
                                    c->channels, c->spatial);
        failures += differs_from_oracle(label("normalize fwd %s %s", backend->name, c->name),
                                        host_download(&s, d_out, count), want_out, count);
        failures += differs_from_oracle(label("normalize bwd %s %s", backend->name, c->name),
                                        host_download(&s, d_din, count), want_din, count);
        scratch_release(&s);
    }
    assert_int_equal(failures, 0);
}

static void test_cross_entropy_vs_oracle(void **state)
{
    const fb_backend *backend = *state;
    int failures = 0;
    for (size_t i = 0; i < COUNT_OF(ce_cases); i++) {
        const ce_case *c = &ce_cases[i];
        scratch s = {.backend = backend};
        size_t count = (size_t)c->batch * c->classes;
        float *logits = host_random(&s, count, 701, c->lo, c->hi); /* [N,K] */
        int32_t *labels = random_labels(&s, c->batch, c->classes, 702); /* [N] */
        double *want_probs = host_doubles(&s, count);   /* [N,K] */
        double *want_dlogits = host_doubles(&s, count); /* [N,K] */
        double want_loss = oracle_cross_entropy_forward(want_probs, host_widen(&s, logits, count),
                                                        labels, c->batch, c->classes);
        oracle_cross_entropy_backward(want_dlogits, want_probs, labels, c->batch, c->classes);

        int32_t *d_labels = device_upload(&s, labels, (size_t)c->batch * sizeof(int32_t)); /* [N] */
        float *d_loss = device_nan(&s, 1);      /* [1]   */
        float *d_probs = device_nan(&s, count); /* [N,K] */
        backend->cross_entropy_forward(d_loss, d_probs, device_floats(&s, logits, count), d_labels,
                                       c->batch, c->classes, NULL);
        /* the backward gets the oracle's probabilities, so it is tested alone */
        float *d_dlogits = device_nan(&s, count); /* [N,K] */
        float *oracle_probs = host_narrow(&s, want_probs, count);        /* [N,K] */
        float *d_oracle_probs = device_floats(&s, oracle_probs, count); /* [N,K] */
        backend->cross_entropy_backward(d_dlogits, d_oracle_probs, d_labels, c->batch, c->classes,
                                        NULL);
        failures += differs_from_oracle(label("ce loss %s %s", backend->name, c->name),
                                        host_download(&s, d_loss, 1), &want_loss, 1);
        failures += differs_from_oracle(label("ce probs %s %s", backend->name, c->name),
                                        host_download(&s, d_probs, count), want_probs, count);
        failures += differs_from_oracle(label("ce bwd %s %s", backend->name, c->name),
                                        host_download(&s, d_dlogits, count), want_dlogits, count);
        scratch_release(&s);
    }
    assert_int_equal(failures, 0);
}

/* Two steps: the first must ignore the (NaN-filled) momentum buffer, the
 * second must use it. */
static void test_sgd_vs_oracle(void **state)
{
    const fb_backend *backend = *state;
    int failures = 0;
    for (size_t i = 0; i < COUNT_OF(sgd_cases); i++) {
        const sgd_case *c = &sgd_cases[i];
        scratch s = {.backend = backend};
        size_t n = c->count;
        float *param = host_random(&s, n, 801, -1.0f, 1.0f);   /* [n] */
        float *grad1 = host_random(&s, n, 802, -0.5f, 0.5f);   /* [n] */
        float *grad2 = host_random(&s, n, 803, -0.5f, 0.5f);   /* [n] */
        double *want_param = host_widen(&s, param, n); /* [n] */
        double *want_buf = host_doubles(&s, n);        /* [n] */
        float *d_param = device_floats(&s, param, n);  /* [n] */
        float *d_buf = device_nan(&s, n);              /* [n] */
        for (int step = 1; step <= 2; step++) {
            const float *grad = step == 1 ? grad1 : grad2;
            oracle_sgd_step(want_param, want_buf, host_widen(&s, grad, n), n, c->lr, c->momentum,
                            c->weight_decay, step == 1);
            backend->sgd_step(d_param, d_buf, device_floats(&s, grad, n), n, c->lr, c->momentum,
                              c->weight_decay, step == 1);
            failures += differs_from_oracle(label("sgd param step %d %s %s", step, backend->name,
                                                  c->name),
                                            host_download(&s, d_param, n), want_param, n);
            failures += differs_from_oracle(label("sgd momentum step %d %s %s", step,
                                                  backend->name, c->name),
                                            host_download(&s, d_buf, n), want_buf, n);
        }
        scratch_release(&s);
    }
    assert_int_equal(failures, 0);
}

/* ---- 2. the oracle's gradients against finite differences ---------------- */

#define FD_STEP 1e-6

typedef double (*objective_fn)(void *problem);

/* grad[i] = (f(v + h·e_i) − f(v − h·e_i)) / 2h, perturbing values in place. */
static void numeric_gradient(double *grad, double *values, size_t count, objective_fn objective,
                             void *problem)
{
    for (size_t i = 0; i < count; i++) {
        double saved = values[i];
        values[i] = saved + FD_STEP;
        double plus = objective(problem);
        values[i] = saved - FD_STEP;
        double minus = objective(problem);
        values[i] = saved;
        grad[i] = (plus - minus) / (2.0 * FD_STEP);
    }
}

static double dot(const double *a, const double *b, size_t count)
{
    double sum = 0.0;
    for (size_t i = 0; i < count; i++)
        sum += a[i] * b[i];
    return sum;
}

/* 1 when the analytic gradient disagrees with the numeric one. */
static int differs_from_fd(const char *name, scratch *s, const double *analytic, double *values,
                           size_t count, objective_fn objective, void *problem)
{
    double *numeric = host_doubles(s, count);
    numeric_gradient(numeric, values, count, objective, problem);
    return !compare_f64(name, analytic, numeric, count, TOL_FINITE_DIFF).ok;
}

static double *random_doubles(scratch *s, size_t count, uint64_t seed, double lo, double hi)
{
    double *values = host_doubles(s, count);
    fill_uniform_f64(values, count, seed, lo, hi);
    return values;
}

/* Moves values within `margin` of `kink` to kink + 2·margin, so a central
 * difference never straddles a kink. */
static void keep_away_from(double *values, size_t count, double kink, double margin)
{
    for (size_t i = 0; i < count; i++)
        if (fabs(values[i] - kink) < margin)
            values[i] = kink + 2.0 * margin;
}

typedef struct conv_problem {
    fb_conv_geom g;
    double *in;     /* [N,IC,H,W]   */
    double *weight; /* [OC,IC,K,K]  */
    double *bias;   /* [OC] or NULL */
    double *probe;  /* [N,OC,OH,OW]: L = Σ probe·out */
    double *out;    /* [N,OC,OH,OW] */
} conv_problem;

static double conv_objective(void *problem)
{
    conv_problem *p = problem;
    oracle_conv2d_forward(p->out, p->in, p->weight, p->bias, &p->g);
    return dot(p->probe, p->out, conv_output_count(&p->g));
}

static const conv_case fd_conv_cases[] = {
    {"3x3 s2 p1 5x6", 2, 2, 5, 6, 3, 3, 2, 1, 1},
    {"3x3 s1 p0 7x5", 1, 2, 7, 5, 2, 3, 1, 0, 1},
    {"1x1 s2 p0", 2, 3, 5, 5, 2, 1, 2, 0, 1},
    {"7x7 p3", 1, 2, 8, 7, 2, 7, 1, 3, 1},
};

static void test_fd_conv(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < COUNT_OF(fd_conv_cases); i++) {
        const conv_case *c = &fd_conv_cases[i];
        scratch s = {0};
        conv_problem p = {.g = geometry_of(c)};
        size_t in_count = conv_input_count(&p.g), out_count = conv_output_count(&p.g);
        size_t weight_count = conv_weight_count(&p.g), oc = (size_t)p.g.out_channels;
        p.in = random_doubles(&s, in_count, 1001, -1.0, 1.0);
        p.weight = random_doubles(&s, weight_count, 1002, -0.5, 0.5);
        p.bias = random_doubles(&s, oc, 1003, -0.5, 0.5);
        p.probe = random_doubles(&s, out_count, 1004, -1.0, 1.0);
        p.out = host_doubles(&s, out_count);
        double *din = host_doubles(&s, in_count);         /* [N,IC,H,W]  */
        double *dweight = host_doubles(&s, weight_count); /* [OC,IC,K,K] */
        double *dbias = host_doubles(&s, oc);             /* [OC]        */
        oracle_conv2d_backward_data(din, p.probe, p.weight, &p.g);
        oracle_conv2d_backward_filter(dweight, dbias, p.probe, p.in, &p.g);
        failures += differs_from_fd(label("fd conv din %s", c->name), &s, din, p.in, in_count,
                                    conv_objective, &p);
        failures += differs_from_fd(label("fd conv dweight %s", c->name), &s, dweight, p.weight,
                                    weight_count, conv_objective, &p);
        failures += differs_from_fd(label("fd conv dbias %s", c->name), &s, dbias, p.bias, oc,
                                    conv_objective, &p);
        scratch_release(&s);
    }
    assert_int_equal(failures, 0);
}

typedef struct bn_problem {
    int batch, channels, spatial;
    double *in, *probe, *out;               /* [N,C,P] */
    double *gamma, *beta;                   /* [C] */
    double *mean, *invstd, *run_mean, *run_var; /* [C], scratch of the forward */
} bn_problem;

static double bn_objective(void *problem)
{
    bn_problem *p = problem;
    oracle_batchnorm_forward_train(p->out, p->mean, p->invstd, p->run_mean, p->run_var, p->in,
                                   p->gamma, p->beta, p->batch, p->channels, p->spatial);
    return dot(p->probe, p->out, (size_t)p->batch * p->channels * p->spatial);
}

static void test_fd_batchnorm(void **state)
{
    (void)state;
    static const bn_case cases[] = {{"N3 C2 P5", 3, 2, 5}, {"N1 C3 P9", 1, 3, 9}};
    int failures = 0;
    for (size_t i = 0; i < COUNT_OF(cases); i++) {
        const bn_case *c = &cases[i];
        scratch s = {0};
        size_t count = (size_t)c->batch * c->channels * c->spatial, channels = (size_t)c->channels;
        bn_problem p = {.batch = c->batch, .channels = c->channels, .spatial = c->spatial};
        p.in = random_doubles(&s, count, 1101, -1.0, 2.0);
        p.probe = random_doubles(&s, count, 1102, -1.0, 1.0);
        p.gamma = random_doubles(&s, channels, 1103, 0.5, 1.5);
        p.beta = random_doubles(&s, channels, 1104, -0.5, 0.5);
        p.out = host_doubles(&s, count);
        p.mean = host_doubles(&s, channels);
        p.invstd = host_doubles(&s, channels);
        p.run_mean = random_doubles(&s, channels, 1105, 0.0, 0.1);
        p.run_var = random_doubles(&s, channels, 1106, 0.9, 1.0);
        double *din = host_doubles(&s, count);       /* [N,C,P] */
        double *dgamma = host_doubles(&s, channels); /* [C]     */
        double *dbeta = host_doubles(&s, channels);  /* [C]     */
        oracle_batchnorm_backward(din, dgamma, dbeta, p.probe, p.in, p.gamma, p.batch, p.channels,
                                  p.spatial);
        failures += differs_from_fd(label("fd bn train din (through batch stats) %s", c->name), &s,
                                    din, p.in, count, bn_objective, &p);
        failures += differs_from_fd(label("fd bn train dgamma %s", c->name), &s, dgamma, p.gamma,
                                    channels, bn_objective, &p);
        failures += differs_from_fd(label("fd bn train dbeta %s", c->name), &s, dbeta, p.beta,
                                    channels, bn_objective, &p);
        scratch_release(&s);
    }
    assert_int_equal(failures, 0);
}

typedef struct relu_problem {
    size_t count;
    double *in, *probe, *out; /* [count] */
} relu_problem;

static double relu_objective(void *problem)
{
    relu_problem *p = problem;
    oracle_relu_forward(p->out, p->in, p->count);
    return dot(p->probe, p->out, p->count);
}

static void test_fd_relu(void **state)
{
    (void)state;
    scratch s = {0};
    relu_problem p = {.count = 101};
    p.in = random_doubles(&s, p.count, 1201, -1.0, 1.0);
    keep_away_from(p.in, p.count, 0.0, 1e-3);
    p.probe = random_doubles(&s, p.count, 1202, -1.0, 1.0);
    p.out = host_doubles(&s, p.count);
    double *din = host_doubles(&s, p.count); /* [count] */
    relu_objective(&p);
    oracle_relu_backward(din, p.probe, p.out, p.count);
    int failures = differs_from_fd("fd relu din", &s, din, p.in, p.count, relu_objective, &p);
    scratch_release(&s);
    assert_int_equal(failures, 0);
}

typedef struct pool_problem {
    pool_case shape;
    double *in;           /* [N,C,H,W]     */
    double *probe, *out;  /* [N,C,H/k,W/k] */
} pool_problem;

static size_t pool_output_count(const pool_case *c)
{
    return (size_t)c->batch * c->channels * (c->h / c->k) * (c->w / c->k);
}

static double pool_objective(void *problem)
{
    pool_problem *p = problem;
    const pool_case *c = &p->shape;
    oracle_avgpool_forward(p->out, p->in, c->batch, c->channels, c->h, c->w, c->k);
    return dot(p->probe, p->out, pool_output_count(c));
}

static void test_fd_avgpool(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < 2; i++) { /* the even and the ragged case */
        const pool_case *c = &pool_cases[i];
        scratch s = {0};
        pool_problem p = {.shape = *c};
        size_t in_count = (size_t)c->batch * c->channels * c->h * c->w;
        size_t out_count = pool_output_count(c);
        p.in = random_doubles(&s, in_count, 1301, -1.0, 1.0);
        p.probe = random_doubles(&s, out_count, 1302, -1.0, 1.0);
        p.out = host_doubles(&s, out_count);
        double *din = host_doubles(&s, in_count); /* [N,C,H,W] */
        oracle_avgpool_backward(din, p.probe, c->batch, c->channels, c->h, c->w, c->k);
        failures += differs_from_fd(label("fd avgpool din %s", c->name), &s, din, p.in, in_count,
                                    pool_objective, &p);
        scratch_release(&s);
    }
    assert_int_equal(failures, 0);
}

typedef struct linear_problem {
    int batch, in_features, out_features;
    double *in;          /* [N,IN]   */
    double *weight;      /* [OUT,IN] */
    double *bias;        /* [OUT]    */
    double *probe, *out; /* [N,OUT]  */
} linear_problem;

static double linear_objective(void *problem)
{
    linear_problem *p = problem;
    oracle_linear_forward(p->out, p->in, p->weight, p->bias, p->batch, p->in_features,
                          p->out_features);
    return dot(p->probe, p->out, (size_t)p->batch * p->out_features);
}

static void test_fd_linear(void **state)
{
    (void)state;
    scratch s = {0};
    linear_problem p = {.batch = 3, .in_features = 7, .out_features = 4};
    size_t in_count = 3 * 7, out_count = 3 * 4, weight_count = 4 * 7;
    p.in = random_doubles(&s, in_count, 1401, -1.0, 1.0);
    p.weight = random_doubles(&s, weight_count, 1402, -0.5, 0.5);
    p.bias = random_doubles(&s, 4, 1403, -0.5, 0.5);
    p.probe = random_doubles(&s, out_count, 1404, -1.0, 1.0);
    p.out = host_doubles(&s, out_count);
    double *din = host_doubles(&s, in_count);         /* [N,IN]   */
    double *dweight = host_doubles(&s, weight_count); /* [OUT,IN] */
    double *dbias = host_doubles(&s, 4);              /* [OUT]    */
    oracle_linear_backward(din, dweight, dbias, p.probe, p.in, p.weight, p.batch, p.in_features,
                           p.out_features);
    int failures = 0;
    failures += differs_from_fd("fd linear din", &s, din, p.in, in_count, linear_objective, &p);
    failures += differs_from_fd("fd linear dweight", &s, dweight, p.weight, weight_count,
                                linear_objective, &p);
    failures += differs_from_fd("fd linear dbias", &s, dbias, p.bias, 4, linear_objective, &p);
    scratch_release(&s);
    assert_int_equal(failures, 0);
}

typedef struct normalize_problem {
    int batch, channels, spatial;
    double *in, *probe, *out; /* [N,C,P] */
    double *mean, *std;       /* [C]     */
} normalize_problem;

static double normalize_objective(void *problem)
{
    normalize_problem *p = problem;
    oracle_normalize_forward(p->out, p->in, p->mean, p->std, p->batch, p->channels, p->spatial);
    return dot(p->probe, p->out, (size_t)p->batch * p->channels * p->spatial);
}

static void test_fd_normalize(void **state)
{
    (void)state;
    scratch s = {0};
    normalize_problem p = {.batch = 2, .channels = 3, .spatial = 25};
    size_t count = 2 * 3 * 25;
    p.in = random_doubles(&s, count, 1501, -0.5, 1.5);
    keep_away_from(p.in, count, 0.0, 1e-3); /* the clamp's kinks */
    keep_away_from(p.in, count, 1.0, 1e-3);
    p.probe = random_doubles(&s, count, 1502, -1.0, 1.0);
    p.out = host_doubles(&s, count);
    p.mean = host_widen(&s, cifar_mean, 3);
    p.std = host_widen(&s, cifar_std, 3);
    double *din = host_doubles(&s, count); /* [N,C,P] */
    oracle_normalize_backward(din, p.probe, p.in, p.std, p.batch, p.channels, p.spatial);
    int failures = differs_from_fd("fd normalize din (clamped entries get 0)", &s, din, p.in, count,
                                   normalize_objective, &p);
    scratch_release(&s);
    assert_int_equal(failures, 0);
}

typedef struct ce_problem {
    int batch, classes;
    double *logits, *probs; /* [N,K] */
    const int32_t *labels;  /* [N]   */
} ce_problem;

static double ce_objective(void *problem)
{
    ce_problem *p = problem;
    return oracle_cross_entropy_forward(p->probs, p->logits, p->labels, p->batch, p->classes);
}

static void test_fd_cross_entropy(void **state)
{
    (void)state;
    scratch s = {0};
    ce_problem p = {.batch = 4, .classes = 5};
    size_t count = 4 * 5;
    p.logits = random_doubles(&s, count, 1601, -3.0, 3.0);
    p.probs = host_doubles(&s, count);
    p.labels = random_labels(&s, p.batch, p.classes, 1602);
    double *dlogits = host_doubles(&s, count); /* [N,K] */
    ce_objective(&p);
    oracle_cross_entropy_backward(dlogits, p.probs, p.labels, p.batch, p.classes);
    int failures = differs_from_fd("fd cross-entropy dlogits (mean loss)", &s, dlogits, p.logits,
                                   count, ce_objective, &p);
    scratch_release(&s);
    assert_int_equal(failures, 0);
}

/* ---- 3 and 4. every op once, for cpu vs cpu-ref and for determinism ------- */

#define MAX_RESULTS 256

/* The host copies of every output of one pass over all ops. */
typedef struct op_results {
    scratch memory;
    int count;
    char names[MAX_RESULTS][80];
    const float *values[MAX_RESULTS];
    size_t counts[MAX_RESULTS];
    int shared_kernel[MAX_RESULTS]; /* computed by the same kernels.h body in both CPU backends */
} op_results;

static void keep_result(op_results *r, const char *name, const float *device, size_t count,
                        int shared_kernel)
{
    assert_true(r->count < MAX_RESULTS);
    snprintf(r->names[r->count], sizeof r->names[r->count], "%s", name);
    r->values[r->count] = host_download(&r->memory, device, count);
    r->counts[r->count] = count;
    r->shared_kernel[r->count] = shared_kernel;
    r->count++;
}

/* conv2d_workspace for `threads` threads, whatever the current setting. */
static size_t workspace_for_threads(const fb_backend *backend, const fb_conv_geom *g, int threads)
{
    int current = fb_get_threads();
    fb_set_threads(threads);
    size_t bytes = backend->conv2d_workspace(g);
    fb_set_threads(current);
    return bytes;
}

static void run_every_conv(const fb_backend *backend, op_results *r, int one_thread_workspace)
{
    scratch *s = &r->memory;
    for (size_t i = 0; i < CONV_CASES; i++) {
        const conv_case *c = &conv_cases[i];
        fb_conv_geom g = geometry_of(c);
        size_t in_count = conv_input_count(&g), out_count = conv_output_count(&g);
        size_t weight_count = conv_weight_count(&g), oc = (size_t)g.out_channels;
        size_t workspace_bytes = one_thread_workspace ? workspace_for_threads(backend, &g, 1)
                                                      : backend->conv2d_workspace(&g);
        void *workspace = device_alloc(s, workspace_bytes);
        float *d_in = device_floats(s, host_random(s, in_count, 2001, -1.0f, 1.0f),
                                    in_count); /* [N,IC,H,W] */
        float *d_weight = device_floats(s, host_random(s, weight_count, 2002, -0.5f, 0.5f),
                                        weight_count); /* [OC,IC,K,K] */
        float *d_bias = c->with_bias ? device_floats(s, host_random(s, oc, 2003, -0.5f, 0.5f), oc)
                                     : NULL; /* [OC] or NULL */
        float *d_dout = device_floats(s, host_random(s, out_count, 2004, -1.0f, 1.0f),
                                      out_count);   /* [N,OC,OH,OW] */
        float *d_out = device_nan(s, out_count);    /* [N,OC,OH,OW] */
        float *d_din = device_nan(s, in_count);     /* [N,IC,H,W]   */
        float *d_dweight = device_nan(s, weight_count); /* [OC,IC,K,K] */
        float *d_dbias = device_nan(s, oc);         /* [OC]         */
        backend->conv2d_forward(d_out, d_in, d_weight, d_bias, &g, workspace, workspace_bytes);
        backend->conv2d_backward_data(d_din, d_dout, d_weight, &g, workspace, workspace_bytes);
        backend->conv2d_backward_filter(d_dweight, d_dbias, d_dout, d_in, &g, workspace,
                                        workspace_bytes);
        keep_result(r, label("conv fwd %s", c->name), d_out, out_count, 0);
        keep_result(r, label("conv bwd data %s", c->name), d_din, in_count, 0);
        keep_result(r, label("conv bwd filter %s", c->name), d_dweight, weight_count, 0);
        keep_result(r, label("conv bwd bias %s", c->name), d_dbias, oc, 0);
    }
}

/* One pass of every op on fixed data, sizes big enough for several threads. */
static void run_every_op(const fb_backend *backend, op_results *r, int one_thread_workspace)
{
    r->memory.backend = backend;
    scratch *s = &r->memory;
    run_every_conv(backend, r, one_thread_workspace);

    const int N = 8, C = 16, P = 64;
    size_t count = (size_t)N * C * P;
    float *d_in = device_floats(s, host_random(s, count, 2101, -1.0f, 3.0f), count);   /* [N,C,P] */
    float *d_gamma = device_floats(s, host_random(s, C, 2102, 0.5f, 1.5f), C);         /* [C]     */
    float *d_beta = device_floats(s, host_random(s, C, 2103, -0.5f, 0.5f), C);         /* [C]     */
    float *d_running_mean = device_floats(s, host_random(s, C, 2104, -0.2f, 0.2f), C); /* [C]     */
    float *d_running_var = device_floats(s, host_random(s, C, 2105, 0.5f, 1.5f), C);  /* [C]     */
    float *d_dout = device_floats(s, host_random(s, count, 2106, -1.0f, 1.0f), count); /* [N,C,P] */
    float *d_eval = device_nan(s, count), *d_out = device_nan(s, count); /* [N,C,P] both */
    float *d_mean = device_nan(s, C), *d_invstd = device_nan(s, C);      /* [C] both     */
    float *d_din = device_nan(s, count);                                 /* [N,C,P]      */
    float *d_dgamma = device_nan(s, C), *d_dbeta = device_nan(s, C);     /* [C] both     */
    backend->batchnorm_forward_eval(d_eval, d_in, d_gamma, d_beta, d_running_mean, d_running_var,
                                    N, C, P);
    backend->batchnorm_forward_train(d_out, d_mean, d_invstd, d_running_mean, d_running_var, d_in,
                                     d_gamma, d_beta, N, C, P, NULL);
    backend->batchnorm_backward(d_din, d_dgamma, d_dbeta, d_dout, d_in, d_gamma, d_mean, d_invstd,
                                N, C, P, NULL);
    keep_result(r, "bn eval fwd", d_eval, count, 1);
    keep_result(r, "bn train fwd", d_out, count, 1);
    keep_result(r, "bn save_mean", d_mean, C, 1);
    keep_result(r, "bn save_invstd", d_invstd, C, 1);
    keep_result(r, "bn running_mean", d_running_mean, C, 1);
    keep_result(r, "bn running_var", d_running_var, C, 1);
    keep_result(r, "bn bwd din", d_din, count, 1);
    keep_result(r, "bn bwd dgamma", d_dgamma, C, 1);
    keep_result(r, "bn bwd dbeta", d_dbeta, C, 1);

    const size_t elements = 100003;
    /* d_x and d_y also serve as inputs / output gradients of the later ops */
    float *d_x = device_floats(s, host_random(s, elements, 2201, -1.0f, 1.0f), elements); /* [E] */
    float *d_y = device_floats(s, host_random(s, elements, 2202, -1.0f, 1.0f), elements); /* [E] */
    float *d_relu = device_nan(s, elements), *d_drelu = device_nan(s, elements); /* [E] both */
    float *d_sum = device_nan(s, elements);                                      /* [E]      */
    backend->relu_forward(d_relu, d_x, elements);
    backend->relu_backward(d_drelu, d_y, d_relu, elements);
    backend->add(d_sum, d_x, d_y, elements);
    keep_result(r, "relu fwd", d_relu, elements, 1);
    keep_result(r, "relu bwd", d_drelu, elements, 1);
    keep_result(r, "add", d_sum, elements, 1);

    const int pool_k = 4, pool_side = 8;
    size_t pool_in = (size_t)N * C * pool_side * pool_side, pool_out = pool_in / (pool_k * pool_k);
    float *d_pool = device_nan(s, pool_out); /* [N,C,2,2] */
    float *d_dpool = device_nan(s, pool_in); /* [N,C,8,8] */
    backend->avgpool_forward(d_pool, d_x, N, C, pool_side, pool_side, pool_k);
    backend->avgpool_backward(d_dpool, d_y, N, C, pool_side, pool_side, pool_k);
    keep_result(r, "avgpool fwd", d_pool, pool_out, 1);
    keep_result(r, "avgpool bwd", d_dpool, pool_in, 1);

    const int batch = 64, in_f = 256, out_f = 64;
    size_t weights = (size_t)out_f * in_f;
    float *d_weight = device_floats(s, host_random(s, weights, 2301, -0.2f, 0.2f),
                                    weights); /* [OUT,IN] */
    float *d_bias = device_floats(s, host_random(s, out_f, 2302, -0.5f, 0.5f), out_f); /* [OUT] */
    float *d_lin = device_nan(s, (size_t)batch * out_f);    /* [N,OUT]  */
    float *d_dlin_in = device_nan(s, (size_t)batch * in_f); /* [N,IN]   */
    float *d_dweight = device_nan(s, weights);              /* [OUT,IN] */
    float *d_dbias = device_nan(s, out_f);                  /* [OUT]    */
    backend->linear_forward(d_lin, d_x, d_weight, d_bias, batch, in_f, out_f);
    backend->linear_backward(d_dlin_in, d_dweight, d_dbias, d_y, d_x, d_weight, batch, in_f, out_f);
    keep_result(r, "linear fwd", d_lin, (size_t)batch * out_f, 0);
    keep_result(r, "linear bwd din", d_dlin_in, (size_t)batch * in_f, 0);
    keep_result(r, "linear bwd dweight", d_dweight, weights, 0);
    keep_result(r, "linear bwd dbias", d_dbias, out_f, 0);

    const int images = 8, spatial = 1024;
    size_t pixels = (size_t)images * 3 * spatial;
    float *d_image = device_floats(s, normalize_input(s, pixels, 2401), pixels); /* [N,3,P] */
    float *d_std = device_floats(s, cifar_std, 3);                               /* [3]     */
    float *d_norm = device_nan(s, pixels), *d_dnorm = device_nan(s, pixels);     /* [N,3,P] */
    backend->normalize_forward(d_norm, d_image, device_floats(s, cifar_mean, 3), d_std, images, 3,
                               spatial);
    backend->normalize_backward(d_dnorm, d_y, d_image, d_std, images, 3, spatial);
    keep_result(r, "normalize fwd", d_norm, pixels, 1);
    keep_result(r, "normalize bwd", d_dnorm, pixels, 1);

    const int classes = 10;
    size_t logits = (size_t)batch * classes;
    int32_t *d_labels = device_upload(s, random_labels(s, batch, classes, 2501),
                                      (size_t)batch * sizeof(int32_t)); /* [N] */
    float *d_loss = device_nan(s, 1);                                   /* [1] */
    float *d_probs = device_nan(s, logits), *d_dlogits = device_nan(s, logits); /* [N,K] both */
    backend->cross_entropy_forward(d_loss, d_probs, d_x, d_labels, batch, classes, NULL);
    backend->cross_entropy_backward(d_dlogits, d_probs, d_labels, batch, classes, NULL);
    keep_result(r, "ce loss", d_loss, 1, 1);
    keep_result(r, "ce probs", d_probs, logits, 1);
    keep_result(r, "ce bwd", d_dlogits, logits, 1);

    const size_t params = 20000;
    float *d_param = device_floats(s, host_random(s, params, 2601, -1.0f, 1.0f), params); /* [n] */
    float *d_buf = device_nan(s, params);                                                 /* [n] */
    backend->sgd_step(d_param, d_buf, d_y, params, 0.1f, 0.9f, 5e-4f, 1);
    backend->sgd_step(d_param, d_buf, d_x, params, 0.1f, 0.9f, 5e-4f, 0);
    keep_result(r, "sgd param", d_param, params, 1);
    keep_result(r, "sgd momentum", d_buf, params, 1);
}

static void release_results(op_results *r)
{
    scratch_release(&r->memory);
    r->count = 0;
}

static void test_cpu_vs_cpu_ref(void **state)
{
    (void)state;
    op_results *cpu = calloc(1, sizeof *cpu), *ref = calloc(1, sizeof *ref);
    assert_non_null(cpu);
    assert_non_null(ref);
    run_every_op(&fb_backend_cpu, cpu, 0);
    run_every_op(&fb_backend_cpu_ref, ref, 0);
    assert_int_equal(cpu->count, ref->count);
    int failures = 0;
    for (int i = 0; i < cpu->count; i++) {
        const char *name = label("cpu vs cpu-ref %s", cpu->names[i]);
        failures += !compare_f32(name, cpu->values[i], ref->values[i], cpu->counts[i],
                                 TOL_CPU_VS_REF)
                         .ok;
        if (cpu->shared_kernel[i])
            failures += !compare_bits(label("cpu vs cpu-ref bits %s", cpu->names[i]),
                                      cpu->values[i], ref->values[i],
                                      cpu->counts[i] * sizeof(float));
    }
    release_results(cpu);
    release_results(ref);
    free(cpu);
    free(ref);
    assert_int_equal(failures, 0);
}

static int count_bit_differences(const char *what, const op_results *a, const op_results *b)
{
    int failures = 0;
    for (int i = 0; i < a->count; i++)
        failures += !compare_bits(label("%s %s %s", what, a->memory.backend->name, a->names[i]),
                                  a->values[i], b->values[i], a->counts[i] * sizeof(float));
    return failures;
}

static void test_determinism(void **state)
{
    const fb_backend *backend = *state;
    op_results *runs = calloc(4, sizeof *runs);
    assert_non_null(runs);
    int saved_threads = fb_get_threads();
    fb_set_threads(1);
    run_every_op(backend, &runs[0], 0);
    fb_set_threads(2);
    run_every_op(backend, &runs[1], 0);
    run_every_op(backend, &runs[2], 0);
    run_every_op(backend, &runs[3], 1);
    fb_set_threads(saved_threads);

    int failures = 0;
    failures += count_bit_differences("1 vs 2 threads", &runs[0], &runs[1]);
    failures += count_bit_differences("rerun, 2 threads", &runs[1], &runs[2]);
    failures += count_bit_differences("2 threads, 1-thread workspace", &runs[1], &runs[3]);
    for (int i = 0; i < 4; i++)
        release_results(&runs[i]);
    free(runs);
    assert_int_equal(failures, 0);
}

/* ---- the backend table ----------------------------------------------------- */

/* 1 when `word` occurs in text with no identifier character on either side. */
static int names_word(const char *text, const char *word)
{
    size_t length = strlen(word);
    for (const char *at = strstr(text, word); at; at = strstr(at + 1, word)) {
        int starts = at == text || !(isalnum((unsigned char)at[-1]) || at[-1] == '_');
        int ends = !(isalnum((unsigned char)at[length]) || at[length] == '_');
        if (starts && ends)
            return 1;
    }
    return 0;
}

static int missing_entry_reported(const fb_backend *incomplete, const char *entry)
{
    fb_status status = fb_backend_check(incomplete);
    const char *message = fb_error_message();
    int ok = status == FB_ERR_UNSUPPORTED && names_word(message, entry);
    printf("[fb_backend_check, %s NULL] status=%s message=\"%s\" %s\n", entry,
           fb_status_name(status), message, ok ? "ok" : "FAIL");
    return ok;
}

#define EXPECT_MISSING_NAMED(entry)                                  \
    do {                                                             \
        fb_backend incomplete = fb_backend_cpu;                      \
        incomplete.entry = NULL;                                     \
        failures += !missing_entry_reported(&incomplete, #entry);    \
    } while (0)

/* 25 operations after the name and the device_memory flag; if this fails,
 * an op was added to the table: list it below and give it an oracle and
 * tests. */
#define TABLE_ENTRIES 25

/* zero clears exactly the bytes it is given, on both backends. */
static void check_zero(const fb_backend *backend)
{
    scratch s = {.backend = backend};
    float *device = device_nan(&s, 100); /* [100] */
    backend->zero(device + 10, 50 * sizeof(float));
    const float *host = host_download(&s, device, 100);
    int ok = 1;
    for (int i = 0; i < 100; i++)
        ok &= (i >= 10 && i < 60) ? host[i] == 0.0f : host[i] != host[i];
    printf("[%s zero] elements 10..59 cleared, the rest untouched: %s\n", backend->name,
           ok ? "ok" : "FAIL");
    scratch_release(&s);
    assert_true(ok);
}

static void test_backend_check(void **state)
{
    (void)state;
    check_zero(&fb_backend_cpu_ref);
    check_zero(&fb_backend_cpu);
    assert_int_equal(sizeof(fb_backend) - offsetof(fb_backend, alloc),
                     TABLE_ENTRIES * sizeof(void (*)(void)));
    assert_int_equal(fb_backend_cpu.device_memory, 0);
    assert_int_equal(fb_backend_cpu_ref.device_memory, 0);
    assert_int_equal(fb_backend_check(&fb_backend_cpu), FB_OK);
    assert_int_equal(fb_backend_check(&fb_backend_cpu_ref), FB_OK);
    int failures = 0;
    EXPECT_MISSING_NAMED(alloc);
    EXPECT_MISSING_NAMED(release);
    EXPECT_MISSING_NAMED(to_device);
    EXPECT_MISSING_NAMED(to_host);
    EXPECT_MISSING_NAMED(zero);
    EXPECT_MISSING_NAMED(conv2d_workspace);
    EXPECT_MISSING_NAMED(conv2d_forward);
    EXPECT_MISSING_NAMED(conv2d_backward_data);
    EXPECT_MISSING_NAMED(conv2d_backward_filter);
    EXPECT_MISSING_NAMED(batchnorm_forward_train);
    EXPECT_MISSING_NAMED(batchnorm_forward_eval);
    EXPECT_MISSING_NAMED(batchnorm_backward);
    EXPECT_MISSING_NAMED(batchnorm_backward_eval);
    EXPECT_MISSING_NAMED(relu_forward);
    EXPECT_MISSING_NAMED(relu_backward);
    EXPECT_MISSING_NAMED(add);
    EXPECT_MISSING_NAMED(avgpool_forward);
    EXPECT_MISSING_NAMED(avgpool_backward);
    EXPECT_MISSING_NAMED(linear_forward);
    EXPECT_MISSING_NAMED(linear_backward);
    EXPECT_MISSING_NAMED(normalize_forward);
    EXPECT_MISSING_NAMED(normalize_backward);
    EXPECT_MISSING_NAMED(cross_entropy_forward);
    EXPECT_MISSING_NAMED(cross_entropy_backward);
    EXPECT_MISSING_NAMED(sgd_step);
    assert_int_equal(failures, 0);
}

static void test_backend_by_name(void **state)
{
    (void)state;
    assert_ptr_equal(fb_backend_by_name("cpu"), &fb_backend_cpu);
    assert_ptr_equal(fb_backend_by_name("cpu-ref"), &fb_backend_cpu_ref);
    assert_null(fb_backend_by_name("no-such-backend"));
    printf("[fb_backend_by_name unknown] message=\"%s\"\n", fb_error_message());
    assert_non_null(strstr(fb_error_message(), "no-such-backend"));
}

int main(int argc, char **argv)
{
    fb_runtime_init(argc, argv);
    printf("runtime: %s; threads %d\n", fb_runtime_note(), fb_get_threads());
    void *ref = (void *)&fb_backend_cpu_ref, *cpu = (void *)&fb_backend_cpu;
    const struct CMUnitTest finite_difference_tests[] = {
        cmocka_unit_test(test_fd_conv),
        cmocka_unit_test(test_fd_batchnorm),
        cmocka_unit_test(test_fd_relu),
        cmocka_unit_test(test_fd_avgpool),
        cmocka_unit_test(test_fd_linear),
        cmocka_unit_test(test_fd_normalize),
        cmocka_unit_test(test_fd_cross_entropy),
    };
    const struct CMUnitTest oracle_tests[] = {
        cmocka_unit_test_prestate(test_conv_vs_oracle, ref),
        cmocka_unit_test_prestate(test_batchnorm_vs_oracle, ref),
        cmocka_unit_test_prestate(test_elementwise_vs_oracle, ref),
        cmocka_unit_test_prestate(test_avgpool_vs_oracle, ref),
        cmocka_unit_test_prestate(test_linear_vs_oracle, ref),
        cmocka_unit_test_prestate(test_normalize_vs_oracle, ref),
        cmocka_unit_test_prestate(test_cross_entropy_vs_oracle, ref),
        cmocka_unit_test_prestate(test_sgd_vs_oracle, ref),
        cmocka_unit_test_prestate(test_conv_vs_oracle, cpu),
        cmocka_unit_test_prestate(test_batchnorm_vs_oracle, cpu),
        cmocka_unit_test_prestate(test_elementwise_vs_oracle, cpu),
        cmocka_unit_test_prestate(test_avgpool_vs_oracle, cpu),
        cmocka_unit_test_prestate(test_linear_vs_oracle, cpu),
        cmocka_unit_test_prestate(test_normalize_vs_oracle, cpu),
        cmocka_unit_test_prestate(test_cross_entropy_vs_oracle, cpu),
        cmocka_unit_test_prestate(test_sgd_vs_oracle, cpu),
    };
    const struct CMUnitTest agreement_tests[] = {
        cmocka_unit_test(test_cpu_vs_cpu_ref),
        cmocka_unit_test_prestate(test_determinism, ref),
        cmocka_unit_test_prestate(test_determinism, cpu),
        cmocka_unit_test(test_backend_check),
        cmocka_unit_test(test_backend_by_name),
        cmocka_unit_test(test_conv_direct_selection),
    };
    int failures = 0;
    failures += cmocka_run_group_tests_name("oracle vs finite differences", finite_difference_tests,
                                            NULL, NULL);
    failures += cmocka_run_group_tests_name("backends vs oracle", oracle_tests, NULL, NULL);
    failures += cmocka_run_group_tests_name("cpu vs cpu-ref, determinism, table", agreement_tests,
                                            NULL, NULL);
    return failures != 0;
}
