/* cmd_trace.c — `freqbias trace`: one training step, op by op.
 *
 * Builds the model on the tracing backend (freqbias/trace.h, src/nn/trace.c),
 * runs `--warmup` untraced steps (first-touch page faults, OpenBLAS thread
 * start-up), then one traced step on random images and labels from the
 * seeded RNG, and prints
 *   1. every op of the forward, backward and SGD passes in order: layer,
 *      input and output shape, FLOPs, bytes, time, achieved GFLOP/s;
 *   2. totals per block (stem, layer1.0, …) and per op kind;
 *   3. the conv + linear multiply-adds per image (ResNet-18 at width 64:
 *      555,422,720 forward — the "0.56 GMAC" of the literature) and what the
 *      step did in total;
 *   4. the single-precision FMA peak of this machine for 1..T threads
 *      (src/core/fma_peak.c) and the step's achieved fraction of it.
 * The table a student reads next to docs/TOUR.md, and the profile to read
 * before optimising anything.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"
#include "freqbias/rng.h"
#include "freqbias/runtime.h"
#include "freqbias/trace.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: freqbias trace [--arch resnet18|resnet34|resnet50] [--width 64] [--batch 128]\n"
            "                      [--backend cpu|cpu-ref] [--threads T] [--seed 0] [--warmup 1]\n"
            "                      [--no-peak] [--totals-only]\n"
            "One training step (forward, cross-entropy, backward, SGD) on random data, every op\n"
            "with shapes, FLOPs, bytes, time and GFLOP/s; totals per block and per op kind; the\n"
            "machine's fp32 FMA peak per thread count (--no-peak skips it) and the step's share.\n");
}

/* A whole number in [low, high] for option name, else a usage error. */
static fb_status int_option(const char *name, const char *text, int low, int high, int *value)
{
    char *end = NULL;
    errno = 0;
    long parsed = strtol(text, &end, 10);
    if (errno || end == text || *end || parsed < low || parsed > high)
        return fb_error(FB_ERR_USAGE, "--%s must be a whole number in %d..%d (got '%s')", name, low,
                        high, text);
    *value = (int)parsed;
    return FB_OK;
}

static const char *pass_label(fb_trace_pass pass)
{
    return pass == FB_PASS_FORWARD ? "fwd" : pass == FB_PASS_BACKWARD ? "bwd" : "sgd";
}

static double gflops_per_s(double flops, double seconds)
{
    return seconds > 0.0 ? flops / seconds * 1e-9 : 0.0;
}

static void print_ops(const fb_trace *trace)
{
    printf("%4s %-4s %-24s %-20s %-14s %-14s %9s %8s %8s %8s\n", "#", "pass", "op", "layer",
           "input", "output", "MFLOP", "MB", "ms", "GFLOP/s");
    for (int i = 0; i < trace->count; i++) {
        const fb_trace_op *op = &trace->ops[i];
        printf("%4d %-4s %-24s %-20s %-14s %-14s %9.1f %8.2f %8.3f %8.1f\n", i + 1,
               pass_label(op->pass), fb_trace_kind_name(op->kind), op->layer, op->in_shape,
               op->out_shape, op->flops * 1e-6, op->bytes * 1e-6, op->seconds * 1e3,
               gflops_per_s(op->flops, op->seconds));
    }
}

typedef struct total_row {
    const char *name;
    int calls;
    double forward_s, backward_s, flops, bytes;
} total_row;

static total_row *row_for(total_row *rows, int *count, const char *name)
{
    for (int i = 0; i < *count; i++)
        if (strcmp(rows[i].name, name) == 0)
            return &rows[i];
    memset(&rows[*count], 0, sizeof rows[*count]);
    rows[*count].name = name;
    return &rows[(*count)++];
}

/* Per block (by_block) or per op kind, in order of first appearance. */
static void print_totals(const fb_trace *trace, int by_block, double step_s)
{
    total_row *rows = calloc((size_t)trace->count + 1, sizeof *rows); /* [distinct names] */
    if (!rows)
        return;
    int count = 0;
    for (int i = 0; i < trace->count; i++) {
        const fb_trace_op *op = &trace->ops[i];
        total_row *row = row_for(rows, &count, by_block ? op->block : fb_trace_kind_name(op->kind));
        row->calls++;
        if (op->pass == FB_PASS_FORWARD)
            row->forward_s += op->seconds;
        else
            row->backward_s += op->seconds;
        row->flops += op->flops;
        row->bytes += op->bytes;
    }
    printf("\n%-24s %5s %9s %9s %9s %8s %8s %7s\n", by_block ? "block" : "op kind", "ops",
           "fwd ms", "bwd ms", "GFLOP", "MB", "GFLOP/s", "% time");
    for (int i = 0; i < count; i++) {
        const total_row *r = &rows[i];
        double seconds = r->forward_s + r->backward_s;
        printf("%-24s %5d %9.3f %9.3f %9.3f %8.1f %8.1f %6.1f%%\n", r->name, r->calls,
               r->forward_s * 1e3, r->backward_s * 1e3, r->flops * 1e-9, r->bytes * 1e-6,
               gflops_per_s(r->flops, seconds), 100.0 * seconds / step_s);
    }
    free(rows);
}

static int run_trace(const fb_model_config *config, const fb_backend *real, int batch, int warmup,
                     uint64_t seed, int peak, int totals_only)
{
    const fb_backend *tracing = fb_trace_backend(real);
    if (!tracing) /* a backend trace cannot time (asynchronous): the user's choice */
        return cli_fail("trace", FB_ERR_USAGE);
    fb_model *model = NULL;
    fb_status created = fb_model_create(&model, config, tracing);
    if (created != FB_OK)
        return cli_fail("trace", created);
    fb_model_init(model, seed);
    size_t pixels = (size_t)batch * config->in_channels * config->image_size * config->image_size;
    float *images = malloc(pixels * sizeof(float));               /* [batch, 3, 32, 32] host */
    int32_t *labels = malloc((size_t)batch * sizeof(int32_t));   /* [batch] host */
    float *device_images = real->alloc(pixels * sizeof(float));   /* [batch, 3, 32, 32] */
    fb_trace trace = {0};
    int code = 0;
    if (!images || !labels || !device_images) {
        code = cli_fail("trace", fb_error(FB_ERR_NOMEM, "out of memory for a batch of %d", batch));
        goto done;
    }
    for (size_t i = 0; i < pixels; i++)
        images[i] = fb_rng_uniform(seed, FB_STREAM_DATA, 0, i);
    for (int i = 0; i < batch; i++)
        labels[i] = (int32_t)fb_rng_below(seed, FB_STREAM_DATA, 1, (uint64_t)i,
                                          (uint32_t)config->num_classes);
    real->to_device(device_images, images, pixels * sizeof(float));
    for (int step = 0; step < warmup; step++) { /* untraced: the wrappers only forward */
        fb_model_forward(model, device_images, batch, 1);
        fb_model_loss(model, labels, batch);
        fb_model_backward(model, NULL, 0);
        fb_model_sgd_step(model, 0.1f, 0.9f, 5e-4f);
    }
    float loss = 0.0f;
    fb_status traced = fb_trace_step(&trace, model, images, labels, batch, &loss);
    if (traced != FB_OK) {
        code = cli_fail("trace", traced);
        goto done;
    }
    double step_s = 0.0, flops = 0.0, bytes = 0.0, forward_macs = 0.0, all_macs = 0.0;
    for (int i = 0; i < trace.count; i++) {
        step_s += trace.ops[i].seconds;
        flops += trace.ops[i].flops;
        bytes += trace.ops[i].bytes;
        all_macs += trace.ops[i].gemm_macs;
        if (trace.ops[i].pass == FB_PASS_FORWARD)
            forward_macs += trace.ops[i].gemm_macs;
    }
    int threads = fb_get_threads();
    printf("freqbias trace: %s width %d, batch %d, backend %s, %d thread%s, seed %llu, "
           "%d untraced warm-up step%s; loss %.4f\n",
           fb_arch_name(config->arch), config->width, batch, real->name, threads,
           threads == 1 ? "" : "s", (unsigned long long)seed, warmup, warmup == 1 ? "" : "s",
           (double)loss);
    if (!totals_only)
        print_ops(&trace);
    print_totals(&trace, 1, step_s);
    print_totals(&trace, 0, step_s);
    printf("\nconv + linear multiply-adds: forward %.0f per image (%.4f GMAC), whole step %.0f "
           "per image (%.3f × forward: forward + backward-data + backward-filter GEMMs; the stem "
           "conv computes no input gradient)\n",
           forward_macs / batch, forward_macs / batch * 1e-9, all_macs / batch,
           all_macs / forward_macs);
    printf("step: %d ops, %.2f GFLOP, %.1f MB compulsory traffic, %.1f ms (sum of op times), "
           "%.1f GFLOP/s, %.1f images/s\n",
           trace.count, flops * 1e-9, bytes * 1e-6, step_s * 1e3, gflops_per_s(flops, step_s),
           batch / step_s);
    if (peak) {
        printf("\nfp32 FMA peak (%s, %d register-only chains per thread, best of 3 runs of ≥ 0.2 s):\n",
               fb_fma_kernel_name(), FB_FMA_CHAINS);
        double top = 0.0;
        for (int t = 1; t <= threads; t++) {
            top = fb_fma_peak_gflops(t, 0.2, 3);
            printf("  %d thread%s %9.1f GFLOP/s\n", t, t == 1 ? " " : "s", top);
        }
        printf("this step: %.1f GFLOP/s = %.1f%% of the %d-thread peak\n",
               gflops_per_s(flops, step_s), 100.0 * gflops_per_s(flops, step_s) / top, threads);
    }
done:
    fb_trace_free(&trace);
    if (device_images)
        real->release(device_images);
    free(images);
    free(labels);
    fb_model_free(model);
    return code;
}

int cmd_trace(int argc, char **argv)
{
    static const struct option options[] = {
        {"arch", required_argument, 0, 'a'},    {"width", required_argument, 0, 'w'},
        {"batch", required_argument, 0, 'b'},   {"backend", required_argument, 0, 'k'},
        {"threads", required_argument, 0, 't'}, {"seed", required_argument, 0, 'S'},
        {"warmup", required_argument, 0, 'u'},  {"no-peak", no_argument, 0, 'P'},
        {"totals-only", no_argument, 0, 'T'},   {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *arch_name = "resnet18", *backend_name = "cpu";
    int width = 64, batch = 128, threads = fb_get_threads(), warmup = 1, seed = 0, peak = 1;
    int totals_only = 0, opt;
    fb_status status = FB_OK;
    optind = 1;
    while (status == FB_OK && (opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'a': arch_name = optarg; break;
        case 'w': status = int_option("width", optarg, 1, FB_MODEL_MAX_WIDTH, &width); break;
        case 'b': status = int_option("batch", optarg, 1, FB_MODEL_MAX_BATCH, &batch); break;
        case 'k': backend_name = optarg; break;
        case 't': status = int_option("threads", optarg, 1, 1024, &threads); break;
        case 'S': status = int_option("seed", optarg, 0, INT_MAX, &seed); break;
        case 'u': status = int_option("warmup", optarg, 0, 1000, &warmup); break;
        case 'P': peak = 0; break;
        case 'T': totals_only = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
    }
    if (status == FB_OK && optind < argc)
        status = fb_error(FB_ERR_USAGE, "unexpected argument '%s'", argv[optind]);
    fb_model_config config = fb_model_config_default(FB_ARCH_RESNET18);
    if (status == FB_OK)
        status = fb_arch_parse(arch_name, &config.arch);
    if (status == FB_OK && config.arch == FB_ARCH_TOYKERNEL)
        status = fb_error(FB_ERR_USAGE, "--arch: trace runs the ResNets (resnet18, resnet34, resnet50)");
    if (status != FB_OK) {
        cli_fail("trace", status);
        usage(stderr);
        return 1;
    }
    const fb_backend *real = fb_backend_by_name(backend_name);
    if (!real)
        return cli_fail("trace", FB_ERR_USAGE);
    fb_set_threads(threads);
    fb_model_config defaults = fb_model_config_default(config.arch);
    defaults.width = width;
    defaults.max_batch = batch;
    return run_trace(&defaults, real, batch, warmup, (uint64_t)seed, peak, totals_only);
}
