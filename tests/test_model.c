/* test_model.c — the models as wholes: gradients by finite differences,
 * determinism across thread counts and reruns, initialisation, input sizes
 * and channel counts beyond CIFAR.
 *
 * Finite differences on a whole network run in float32 (the models are
 * float32 code), so they check a directional derivative along the unit
 * direction v = g/|g| of the analytic gradient g (over all parameters, or
 * over the input pixels):
 *   (L(θ + h·v) − L(θ − h·v)) / 2h  ≈  ⟨g, v⟩ = |g|.
 * Along g the change of L is as large as it can be, so float32 noise in L
 * (~1e-6) stays far below it even with h = 3e-5, which is small enough that
 * few ReLUs change side. A wrong gradient (in size or direction) makes the
 * finite difference along it differ from its norm. Random directions were
 * tried first and need h ~1e-2 to beat the noise, where ReLU kinks move
 * the result by 10-60%. Tolerance: TOL_MODEL_FINITE_DIFF.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "freqbias/model.h"
#include "freqbias/rng.h"
#include "freqbias/runtime.h"
#include "testutil.h"

typedef struct toy_batch {
    float *images;   /* [N, C, S, S] in [0.05, 0.95] (away from the clamp's kinks) */
    int32_t *labels; /* [N] */
    int n;
} toy_batch;

static fb_model *make_model(fb_arch arch, int width, int channels, int side, int batch,
                            const fb_backend *backend, uint64_t seed)
{
    fb_model_config c = fb_model_config_default(arch);
    c.width = width;
    c.in_channels = channels;
    c.image_size = side;
    c.max_batch = batch;
    c.toy_filters = 4;
    c.toy_kernel = 5;
    fb_model *m;
    if (fb_model_create(&m, &c, backend) != FB_OK)
        fail_msg("%s", fb_error_message());
    fb_model_init(m, seed);
    return m;
}

static toy_batch make_batch(int n, int channels, int side, uint64_t seed)
{
    toy_batch b;
    size_t count = (size_t)n * channels * side * side;
    b.images = malloc(count * sizeof(float));
    b.labels = malloc((size_t)n * sizeof(int32_t));
    b.n = n;
    fill_uniform(b.images, count, seed, 0.05f, 0.95f);
    for (int i = 0; i < n; i++)
        b.labels[i] = (int32_t)fb_rng_below(seed, FB_STREAM_DATA, 7, (uint64_t)i, 10);
    return b;
}

static void free_batch(toy_batch *b)
{
    free(b->images);
    free(b->labels);
}

static float loss_at(fb_model *m, const toy_batch *b)
{
    fb_model_forward(m, b->images, b->n, 1);
    return fb_model_loss(m, b->labels, b->n);
}

/* Directional finite difference over all parameters and over the input. */
static void check_model_gradients(fb_arch arch, int width, int channels, int side)
{
    const int n = 4;
    char label[128];
    fb_model *m = make_model(arch, width, channels, side, n, &fb_backend_cpu_ref, 3);
    toy_batch b = make_batch(n, channels, side, 11);
    fb_registry *reg = fb_model_registry(m);

    loss_at(m, &b);
    fb_model_backward(m, NULL, 1);
    /* direction over all parameters, unit norm; analytic ⟨g, v⟩ in double */
    size_t total = 0;
    for (int i = 0; i < reg->count; i++)
        if (reg->tensors[i].role == FB_ROLE_PARAM)
            total += reg->tensors[i].numel;
    double *direction = malloc(total * sizeof(double)); /* [all parameters] */
    float *saved = malloc(total * sizeof(float));        /* [all parameters] */
    size_t offset = 0;
    for (int i = 0; i < reg->count; i++) {
        fb_tensor *t = &reg->tensors[i];
        if (t->role != FB_ROLE_PARAM)
            continue;
        for (size_t j = 0; j < t->numel; j++)
            direction[offset + j] = t->grad[j];
        offset += t->numel;
    }
    double norm = 0.0, analytic = 0.0;
    for (size_t j = 0; j < total; j++)
        norm += direction[j] * direction[j];
    offset = 0;
    for (int i = 0; i < reg->count; i++) {
        fb_tensor *t = &reg->tensors[i];
        if (t->role != FB_ROLE_PARAM)
            continue;
        for (size_t j = 0; j < t->numel; j++) {
            direction[offset + j] /= sqrt(norm);
            analytic += direction[offset + j] * t->grad[j];
            saved[offset + j] = t->value[j];
        }
        offset += t->numel;
    }
    /* BatchNorm running stats move with every training forward but do not
     * affect a training-mode loss, so they need no restoring. */
    const double h = 3e-5;
    double losses[2];
    for (int side_sign = 0; side_sign < 2; side_sign++) {
        offset = 0;
        for (int i = 0; i < reg->count; i++) {
            fb_tensor *t = &reg->tensors[i];
            if (t->role != FB_ROLE_PARAM)
                continue;
            for (size_t j = 0; j < t->numel; j++)
                t->value[j] = (float)(saved[offset + j] + (side_sign ? -h : h) * direction[offset + j]);
            offset += t->numel;
        }
        losses[side_sign] = loss_at(m, &b);
    }
    double numeric = (losses[0] - losses[1]) / (2 * h);
    snprintf(label, sizeof label, "%s w%d c%d s%d params d/dv", fb_arch_name(arch), width, channels,
             side);
    compare_result r = compare_f64(label, &numeric, &analytic, 1, TOL_MODEL_FINITE_DIFF);

    /* input pixels: restore parameters, take the input gradient */
    offset = 0;
    for (int i = 0; i < reg->count; i++) {
        fb_tensor *t = &reg->tensors[i];
        if (t->role == FB_ROLE_PARAM) {
            memcpy(t->value, saved + offset, t->numel * sizeof(float));
            offset += t->numel;
        }
    }
    size_t pixels = (size_t)n * channels * side * side;
    loss_at(m, &b);
    fb_model_backward(m, NULL, 1);
    const float *input_grad = fb_model_input_grad(m); /* [n, C, S, S] */
    assert_non_null(input_grad);
    double *pixel_direction = malloc(pixels * sizeof(double)); /* [n, C, S, S] */
    float *original = malloc(pixels * sizeof(float));           /* [n, C, S, S] */
    for (size_t j = 0; j < pixels; j++)
        pixel_direction[j] = input_grad[j];
    memcpy(original, b.images, pixels * sizeof(float));
    norm = 0.0;
    analytic = 0.0;
    for (size_t j = 0; j < pixels; j++)
        norm += pixel_direction[j] * pixel_direction[j];
    for (size_t j = 0; j < pixels; j++) {
        pixel_direction[j] /= sqrt(norm);
        analytic += pixel_direction[j] * input_grad[j];
    }
    for (int side_sign = 0; side_sign < 2; side_sign++) {
        for (size_t j = 0; j < pixels; j++)
            b.images[j] = (float)(original[j] + (side_sign ? -h : h) * pixel_direction[j]);
        losses[side_sign] = loss_at(m, &b);
    }
    numeric = (losses[0] - losses[1]) / (2 * h);
    snprintf(label, sizeof label, "%s w%d c%d s%d input d/dv", fb_arch_name(arch), width, channels,
             side);
    compare_result r_input = compare_f64(label, &numeric, &analytic, 1, TOL_MODEL_FINITE_DIFF);
    free(pixel_direction);
    free(original);
    free(direction);
    free(saved);
    free_batch(&b);
    fb_model_free(m);
    assert_true(r.ok && r_input.ok);
}

static void test_resnet18_finite_difference(void **state)
{
    (void)state;
    check_model_gradients(FB_ARCH_RESNET18, 4, 3, 32);
}

static void test_resnet50_finite_difference(void **state)
{
    (void)state;
    check_model_gradients(FB_ARCH_RESNET50, 4, 3, 32);
}

static void test_mnist_shape_finite_difference(void **state)
{
    (void)state;
    check_model_gradients(FB_ARCH_RESNET34, 4, 1, 28);
}

/* Three SGD steps on both backends with 1 and 2 threads (and a rerun):
 * parameters, running statistics and logits must be bit-identical. */
static void run_steps(const fb_backend *backend, int threads, float **params_out,
                      size_t *param_bytes, float *logits_out /* [4, 10] */)
{
    fb_set_threads(threads);
    fb_model *m = make_model(FB_ARCH_RESNET18, 8, 3, 32, 4, backend, 21);
    toy_batch b = make_batch(4, 3, 32, 23);
    for (int step = 0; step < 3; step++) {
        loss_at(m, &b);
        fb_model_backward(m, NULL, 1);
        fb_model_sgd_step(m, 0.1f, 0.9f, 5e-4f);
    }
    memcpy(logits_out, fb_model_forward(m, b.images, 4, 0), 40 * sizeof(float));
    fb_registry *reg = fb_model_registry(m);
    size_t bytes = 0;
    for (int i = 0; i < reg->count; i++)
        bytes += reg->tensors[i].role == FB_ROLE_COUNTER ? sizeof(int64_t)
                                                         : reg->tensors[i].numel * sizeof(float);
    char *flat = malloc(bytes), *cursor = flat;
    for (int i = 0; i < reg->count; i++) {
        fb_tensor *t = &reg->tensors[i];
        size_t size = t->role == FB_ROLE_COUNTER ? sizeof(int64_t) : t->numel * sizeof(float);
        memcpy(cursor, t->role == FB_ROLE_COUNTER ? (void *)t->counter : (void *)t->value, size);
        cursor += size;
    }
    *params_out = (float *)flat;
    *param_bytes = bytes;
    free_batch(&b);
    fb_model_free(m);
}

static void check_determinism(const fb_backend *backend)
{
    int previous = fb_get_threads();
    float *state_1, *state_2, *state_again, logits_1[40], logits_2[40], logits_again[40];
    size_t bytes_1, bytes_2, bytes_again;
    char label[96];
    run_steps(backend, 1, &state_1, &bytes_1, logits_1);
    run_steps(backend, 2, &state_2, &bytes_2, logits_2);
    run_steps(backend, 2, &state_again, &bytes_again, logits_again);
    fb_set_threads(previous);
    assert_int_equal(bytes_1, bytes_2);
    snprintf(label, sizeof label, "%s state after 3 steps, 1 vs 2 threads", backend->name);
    int ok = compare_bits(label, state_1, state_2, bytes_1);
    snprintf(label, sizeof label, "%s eval logits, 1 vs 2 threads", backend->name);
    ok &= compare_bits(label, logits_1, logits_2, sizeof logits_1);
    snprintf(label, sizeof label, "%s state after 3 steps, rerun", backend->name);
    ok &= compare_bits(label, state_2, state_again, bytes_1);
    free(state_1);
    free(state_2);
    free(state_again);
    assert_true(ok);
}

static void test_determinism_cpu(void **state) { (void)state; check_determinism(&fb_backend_cpu); }
static void test_determinism_cpu_ref(void **state) { (void)state; check_determinism(&fb_backend_cpu_ref); }

/* PyTorch-default initialisation: bounds, constants, seed dependence. */
static void test_initialisation(void **state)
{
    (void)state;
    fb_model *a = make_model(FB_ARCH_RESNET18, 8, 3, 32, 1, &fb_backend_cpu, 5);
    fb_model *b = make_model(FB_ARCH_RESNET18, 8, 3, 32, 1, &fb_backend_cpu, 5);
    fb_model *c = make_model(FB_ARCH_RESNET18, 8, 3, 32, 1, &fb_backend_cpu, 6);
    fb_registry *ra = fb_model_registry(a), *rb = fb_model_registry(b), *rc = fb_model_registry(c);
    int ok = 1, differs = 0;
    for (int i = 0; i < ra->count; i++) {
        fb_tensor *t = &ra->tensors[i];
        if (t->role == FB_ROLE_COUNTER) {
            ok &= t->counter[0] == 0;
            continue;
        }
        ok &= memcmp(t->value, rb->tensors[i].value, t->numel * sizeof(float)) == 0;
        differs |= memcmp(t->value, rc->tensors[i].value, t->numel * sizeof(float)) != 0;
        if (t->init_fan_in > 0) {
            double bound = 1.0 / sqrt((double)t->init_fan_in), max = 0.0, mean = 0.0;
            for (size_t j = 0; j < t->numel; j++) {
                max = fmax(max, fabs(t->value[j]));
                mean += t->value[j] / (double)t->numel;
            }
            if (max > bound || (t->numel > 500 && max < 0.9 * bound)) {
                printf("[init] %s: max |w| %.4g, bound %.4g FAIL\n", t->name, max, bound);
                ok = 0;
            }
            if (t->numel > 500 && fabs(mean) > 0.1 * bound) {
                printf("[init] %s: mean %.4g not near 0 FAIL\n", t->name, mean);
                ok = 0;
            }
        } else {
            for (size_t j = 0; j < t->numel; j++)
                ok &= t->value[j] == t->init_value;
        }
    }
    const fb_tensor *bn_weight = fb_registry_find(ra, "bn1.weight");
    const fb_tensor *running_var = fb_registry_find(ra, "layer1.0.bn1.running_var");
    ok &= bn_weight->value[0] == 1.0f && running_var->value[0] == 1.0f;
    printf("[init] %d tensors: same seed identical, other seed differs=%d, bounds ok=%d\n",
           ra->count, differs, ok);
    fb_model_free(a);
    fb_model_free(b);
    fb_model_free(c);
    assert_true(ok && differs);
}

/* Names, order and counts match PyTorch's state_dict for each architecture. */
static void test_registry_layout(void **state)
{
    (void)state;
    const struct { fb_arch arch; int tensors; size_t params; } expected[] = {
        /* counts from ref_data/gen/models.py: len(state_dict()), parameter count at width 64 */
        {FB_ARCH_RESNET18, 122, 11173962},
        {FB_ARCH_RESNET34, 218, 21282122},
        {FB_ARCH_RESNET50, 320, 23520842},
    };
    int ok = 1;
    for (int i = 0; i < 3; i++) {
        fb_model *m = make_model(expected[i].arch, 64, 3, 32, 1, &fb_backend_cpu, 0);
        fb_registry *reg = fb_model_registry(m);
        int good = reg->count == expected[i].tensors && fb_model_param_count(m) == expected[i].params;
        printf("[registry] %s: %d tensors, %zu parameters (want %d, %zu) %s\n",
               fb_arch_name(expected[i].arch), reg->count, fb_model_param_count(m),
               expected[i].tensors, expected[i].params, good ? "ok" : "FAIL");
        ok &= good && strcmp(reg->tensors[0].name, "conv1.weight") == 0 &&
              strcmp(reg->tensors[reg->count - 1].name, "linear.bias") == 0;
        fb_model_free(m);
    }
    assert_true(ok);
}

int main(int argc, char **argv)
{
    fb_runtime_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry_layout),
        cmocka_unit_test(test_initialisation),
        cmocka_unit_test(test_resnet18_finite_difference),
        cmocka_unit_test(test_resnet50_finite_difference),
        cmocka_unit_test(test_mnist_shape_finite_difference),
        cmocka_unit_test(test_determinism_cpu),
        cmocka_unit_test(test_determinism_cpu_ref),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
