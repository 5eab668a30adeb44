/* test_trace.c — `freqbias trace` counts what a training step really does.
 *
 * 1. The conv + linear multiply-adds the trace adds up for ResNet-18 equal
 *    the count made by hand below from the architecture's layer list (no
 *    model code involved): 555,422,720 per 32×32 image at width 64, the
 *    "0.56 GMAC" every CIFAR ResNet-18 paper quotes. The backward pass does
 *    each GEMM twice more (data and filter gradients) except the stem conv's
 *    data gradient, which no one needs: step = 3 × forward − stem.
 * 2. The number of ops of each kind and the layer names of a few of them.
 * 3. The tracing backend only forwards: a traced step leaves the same loss
 *    and parameter bits as the same step on the real backend.
 * 4. The FMA microbenchmark does the arithmetic it counts (its chains of
 *    acc·1 + 1 end at exactly the number of iterations).
 * 5. The CLI prints the hand count and refuses bad options by name.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "freqbias/model.h"
#include "freqbias/rng.h"
#include "freqbias/runtime.h"
#include "freqbias/trace.h"
#include "testutil.h"

/* ResNet-18 (CIFAR variant) layer by layer: input channels and output
 * channels as multiples of the width (the stem reads the 3 RGB channels),
 * kernel, and output side for a 32×32 input. */
typedef struct gemm_layer {
    const char *name;
    int in_mult, out_mult, kernel, out_side;
} gemm_layer;

static const gemm_layer resnet18_layers[] = {
    {"conv1 (stem, 3 input channels)", 0, 1, 3, 32},
    {"layer1.0.conv1", 1, 1, 3, 32}, {"layer1.0.conv2", 1, 1, 3, 32},
    {"layer1.1.conv1", 1, 1, 3, 32}, {"layer1.1.conv2", 1, 1, 3, 32},
    {"layer2.0.conv1", 1, 2, 3, 16}, {"layer2.0.conv2", 2, 2, 3, 16},
    {"layer2.0.shortcut.0", 1, 2, 1, 16},
    {"layer2.1.conv1", 2, 2, 3, 16}, {"layer2.1.conv2", 2, 2, 3, 16},
    {"layer3.0.conv1", 2, 4, 3, 8}, {"layer3.0.conv2", 4, 4, 3, 8},
    {"layer3.0.shortcut.0", 2, 4, 1, 8},
    {"layer3.1.conv1", 4, 4, 3, 8}, {"layer3.1.conv2", 4, 4, 3, 8},
    {"layer4.0.conv1", 4, 8, 3, 4}, {"layer4.0.conv2", 8, 8, 3, 4},
    {"layer4.0.shortcut.0", 4, 8, 1, 4},
    {"layer4.1.conv1", 8, 8, 3, 4}, {"layer4.1.conv2", 8, 8, 3, 4},
};

/* multiply-adds of one forward pass for one image: Σ OH·OW·OC·IC·K² + the
 * linear layer's 8w·10 */
static double hand_forward_macs(int width, double *stem_macs)
{
    double total = 0.0;
    for (size_t i = 0; i < sizeof resnet18_layers / sizeof *resnet18_layers; i++) {
        const gemm_layer *l = &resnet18_layers[i];
        double in_channels = l->in_mult ? (double)l->in_mult * width : 3.0;
        double macs = (double)l->out_side * l->out_side * l->out_mult * width * in_channels *
                      l->kernel * l->kernel;
        if (i == 0)
            *stem_macs = macs;
        total += macs;
    }
    return total + 8.0 * width * 10;
}

typedef struct traced {
    fb_model *model;
    fb_trace trace;
    float loss;
} traced;

static void random_batch(float *images, int32_t *labels, int n)
{
    for (size_t i = 0; i < (size_t)n * 3 * 32 * 32; i++)
        images[i] = fb_rng_uniform(3, FB_STREAM_DATA, 0, i);
    for (int i = 0; i < n; i++)
        labels[i] = (int32_t)fb_rng_below(3, FB_STREAM_DATA, 1, (uint64_t)i, 10);
}

static fb_model *make_model(int width, int batch, const fb_backend *backend)
{
    fb_model_config c = fb_model_config_default(FB_ARCH_RESNET18);
    c.width = width;
    c.max_batch = batch;
    fb_model *m = NULL;
    assert_int_equal(fb_model_create(&m, &c, backend), FB_OK);
    fb_model_init(m, 5);
    return m;
}

static traced trace_one_step(int width, int n, const float *images, const int32_t *labels)
{
    traced t = {0};
    const fb_backend *tracing = fb_trace_backend(&fb_backend_cpu);
    assert_non_null(tracing);
    t.model = make_model(width, n, tracing);
    assert_int_equal(fb_trace_step(&t.trace, t.model, images, labels, n, &t.loss), FB_OK);
    return t;
}

static int count_kind(const fb_trace *trace, fb_trace_kind kind)
{
    int count = 0;
    for (int i = 0; i < trace->count; i++)
        count += trace->ops[i].kind == kind;
    return count;
}

static int has_op(const fb_trace *trace, fb_trace_kind kind, const char *layer)
{
    for (int i = 0; i < trace->count; i++)
        if (trace->ops[i].kind == kind && strcmp(trace->ops[i].layer, layer) == 0)
            return 1;
    return 0;
}

static void test_resnet18_macs_match_hand_count(void **state)
{
    (void)state;
    enum { N = 2 };
    static float images[N * 3 * 32 * 32]; /* [N, 3, 32, 32] */
    int32_t labels[N];
    random_batch(images, labels, N);
    traced t = trace_one_step(64, N, images, labels);
    double forward = 0.0, backward = 0.0, stem = 0.0;
    for (int i = 0; i < t.trace.count; i++) {
        if (t.trace.ops[i].pass == FB_PASS_FORWARD)
            forward += t.trace.ops[i].gemm_macs;
        else
            backward += t.trace.ops[i].gemm_macs;
    }
    double hand = hand_forward_macs(64, &stem);
    printf("[macs] width 64: hand count %.0f per image (stem %.0f); trace forward %.0f, "
           "backward %.0f per image (want 2 × forward − stem = %.0f)\n",
           hand, stem, forward / N, backward / N, 2.0 * hand - stem);
    assert_true(hand == 555422720.0); /* the table's sum (0.56 GMAC; summed again in Python) */
    assert_true(forward == N * hand);
    assert_true(backward == N * (2.0 * hand - stem));

    /* 20 convs (stem, 16 in blocks, 3 projections), each with a BN; 17 ReLUs
     * (stem + 2 per block); 8 residual adds forward and 8 backward; the
     * stem's conv computes no input gradient */
    struct { fb_trace_kind kind; int want; } counts[] = {
        {FB_TRACE_CONV_FWD, 20}, {FB_TRACE_BN_FWD, 20}, {FB_TRACE_RELU_FWD, 17},
        {FB_TRACE_ADD, 16}, {FB_TRACE_CONV_BWD_FILTER, 20}, {FB_TRACE_CONV_BWD_DATA, 19},
        {FB_TRACE_BN_BWD, 20}, {FB_TRACE_RELU_BWD, 17}, {FB_TRACE_LINEAR_FWD, 1},
        {FB_TRACE_LINEAR_BWD, 1}, {FB_TRACE_SGD, 1}, {FB_TRACE_NORMALIZE_BWD, 0}};
    int ok = 1;
    for (size_t i = 0; i < sizeof counts / sizeof *counts; i++) {
        int got = count_kind(&t.trace, counts[i].kind);
        printf("[ops] %-24s %2d (want %d)\n", fb_trace_kind_name(counts[i].kind), got, counts[i].want);
        ok &= got == counts[i].want;
    }
    int unnamed = 0, unshaped = 0; /* every op but SGD has a tensor shape "AxB..." */
    for (int i = 0; i < t.trace.count; i++) {
        unnamed += strcmp(t.trace.ops[i].layer, "?") == 0;
        unshaped += t.trace.ops[i].kind != FB_TRACE_SGD && !strchr(t.trace.ops[i].in_shape, 'x');
    }
    int named = has_op(&t.trace, FB_TRACE_CONV_FWD, "conv1") &&
                has_op(&t.trace, FB_TRACE_CONV_BWD_DATA, "layer2.0.shortcut.0") &&
                has_op(&t.trace, FB_TRACE_BN_BWD, "layer4.1.bn2") &&
                has_op(&t.trace, FB_TRACE_RELU_FWD, "layer1.0.bn1") &&
                has_op(&t.trace, FB_TRACE_ADD, "layer3.1") &&
                has_op(&t.trace, FB_TRACE_LINEAR_BWD, "linear");
    printf("[names] %d ops, %d without a layer name, %d without a shape, expected names found: %d\n",
           t.trace.count, unnamed, unshaped, named);
    assert_true(ok && unnamed == 0 && unshaped == 0 && named && t.trace.count == 157);
    assert_int_equal(t.trace.ops[0].kind, FB_TRACE_NORMALIZE_FWD);
    assert_int_equal(t.trace.ops[t.trace.count - 1].kind, FB_TRACE_SGD);
    fb_trace_free(&t.trace);
    fb_model_free(t.model);
}

/* The same step traced and untraced: identical loss and parameters. */
static void test_trace_changes_nothing(void **state)
{
    (void)state;
    enum { N = 4, WIDTH = 8 };
    static float images[N * 3 * 32 * 32]; /* [N, 3, 32, 32] */
    int32_t labels[N];
    random_batch(images, labels, N);
    traced t = trace_one_step(WIDTH, N, images, labels);
    fb_model *plain = make_model(WIDTH, N, &fb_backend_cpu);
    fb_model_forward(plain, images, N, 1);
    float loss = fb_model_loss(plain, labels, N);
    fb_model_backward(plain, NULL, 0);
    fb_model_sgd_step(plain, 0.1f, 0.9f, 5e-4f);
    int same = compare_bits("traced vs plain step: loss", &t.loss, &loss, sizeof loss);
    fb_registry *a = fb_model_registry(t.model), *b = fb_model_registry(plain);
    for (int i = 0; i < a->count; i++)
        if (a->tensors[i].role != FB_ROLE_COUNTER)
            same &= compare_bits(label("traced vs plain step: %s", a->tensors[i].name),
                                 a->tensors[i].value, b->tensors[i].value,
                                 a->tensors[i].numel * sizeof(float));
    assert_true(same);
    fb_trace_free(&t.trace);
    fb_model_free(t.model);
    fb_model_free(plain);
}

static void test_fma_counts_its_work(void **state)
{
    (void)state;
    int lanes = strncmp(fb_fma_kernel_name(), "avx512", 6) == 0 ? 16
                : strncmp(fb_fma_kernel_name(), "avx2", 4) == 0 ? 8 : 4;
    int ok = 1;
    for (int threads = 1; threads <= 2; threads++) {
        double seconds, checksum;
        long iterations = 100000;
        double flops = fb_fma_run(threads, iterations, &seconds, &checksum);
        double lanes_total = (double)threads * FB_FMA_CHAINS * lanes;
        printf("[fma %s] %d threads: checksum %.0f (want %.0f), flops %.0f (want %.0f)\n",
               fb_fma_kernel_name(), threads, checksum, lanes_total * iterations, flops,
               2.0 * lanes_total * iterations);
        ok &= checksum == lanes_total * iterations && flops == 2.0 * lanes_total * iterations &&
              seconds > 0.0;
    }
    assert_true(ok);
}

static void test_cli(void **state)
{
    (void)state;
    const char *log = in_work("trace.log");
    int code = RUN(log, "trace", "--width", "4", "--batch", "2", "--no-peak", "--threads", "1");
    size_t size;
    char *text = read_file(log, &size);
    double stem, hand = hand_forward_macs(4, &stem);
    char want[96];
    snprintf(want, sizeof want, "forward %.0f per image", hand);
    int found = text && strstr(text, want) && strstr(text, "layer2.0.shortcut.0") &&
                strstr(text, "sgd_step");
    printf("[cli] exit %d, '%s' printed: %d\n", code, want, found);
    if (code != 0 || !found)
        print_log(log);
    free(text);
    assert_true(code == 0 && found);

    const char *bad[][3] = {{"--width", "0", "--width"}, {"--batch", "x", "--batch"},
                            {"--backend", "nope", "unknown backend 'nope'"},
                            {"--arch", "toykernel", "--arch"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        code = RUN(log, "trace", bad[i][0], bad[i][1], "--no-peak");
        text = read_file(log, &size);
        int named = text && strstr(text, bad[i][2]) != NULL;
        printf("[cli] %s %s: exit %d, message names '%s': %d\n", bad[i][0], bad[i][1], code,
               bad[i][2], named);
        if (code != 1 || !named)
            print_log(log);
        free(text);
        assert_true(code == 1 && named);
    }
}

int main(int argc, char **argv)
{
    fb_runtime_init(argc, argv);
    set_freqbias_binary(argv[0]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resnet18_macs_match_hand_count),
        cmocka_unit_test(test_trace_changes_nothing),
        cmocka_unit_test(test_fma_counts_its_work),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, work_dir_setup, work_dir_teardown);
}
