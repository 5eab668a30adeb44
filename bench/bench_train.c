/* bench_train.c — training / inference throughput of a CIFAR ResNet on
 * random data, the freqbias side of `make bench` (bench/torch_train.py is
 * the PyTorch side; bench/run_bench.sh runs both interleaved).
 *
 * One training step = forward (train mode) + mean cross-entropy + backward +
 * SGD (lr 0.1, momentum 0.9, wd 5e-4), exactly what `freqbias train` does per
 * batch. Inference = eval-mode forward. Prints one summary line that
 * run_bench.sh parses:
 *   freqbias mode=train threads=2 batch=128 img_per_s=... ms_per_step=...
 * and, with --layers, the time per conv unit, the achieved GFLOP/s and its
 * share of the machine's fp32 FMA peak (fb_fma_peak_gflops, src/core/fma_peak.c).
 */
#include <getopt.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "freqbias/model.h"
#include "freqbias/rng.h"
#include "freqbias/runtime.h"
#include "freqbias/trace.h"

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void usage(void)
{
    printf("usage: bench_train [--mode train|infer] [--arch resnet18] [--width 64] [--batch 128]\n"
           "                   [--steps 5] [--warmup 1] [--threads T] [--backend cpu|cpu-ref|cuda]\n"
           "                   [--layers]\n");
}

int main(int argc, char **argv)
{
    fb_runtime_init(argc, argv);
    const char *mode = "train", *arch_name = "resnet18", *backend_name = "cpu";
    int width = 64, batch = 128, steps = 5, warmup = 1, threads = fb_get_threads(), layers = 0;
    static const struct option options[] = {
        {"mode", required_argument, 0, 'm'},   {"arch", required_argument, 0, 'a'},
        {"width", required_argument, 0, 'w'},  {"batch", required_argument, 0, 'b'},
        {"steps", required_argument, 0, 's'},  {"warmup", required_argument, 0, 'u'},
        {"threads", required_argument, 0, 't'}, {"backend", required_argument, 0, 'k'},
        {"layers", no_argument, 0, 'l'},       {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'm': mode = optarg; break;
        case 'a': arch_name = optarg; break;
        case 'w': width = atoi(optarg); break;
        case 'b': batch = atoi(optarg); break;
        case 's': steps = atoi(optarg); break;
        case 'u': warmup = atoi(optarg); break;
        case 't': threads = atoi(optarg); break;
        case 'k': backend_name = optarg; break;
        case 'l': layers = 1; break;
        case 'h': usage(); return 0;
        default: usage(); return 1;
        }
    }
    int training = strcmp(mode, "train") == 0;
    if (!training && strcmp(mode, "infer") != 0) {
        fprintf(stderr, "bench_train: --mode must be train or infer\n");
        return 1;
    }
    if (steps < 1 || batch < 1 || width < 1) {
        fprintf(stderr, "bench_train: --steps, --batch and --width must be >= 1\n");
        return 1;
    }
    fb_set_threads(threads);
    const fb_backend *backend = fb_backend_by_name(backend_name);
    fb_model_config config;
    if (!backend || fb_arch_parse(arch_name, &config.arch) != FB_OK) {
        fprintf(stderr, "bench_train: %s\n", fb_error_message());
        return 1;
    }
    config = fb_model_config_default(config.arch);
    config.width = width;
    config.max_batch = batch;
    fb_model *model;
    if (fb_model_create(&model, &config, backend) != FB_OK) {
        fprintf(stderr, "bench_train: %s\n", fb_error_message());
        return 2;
    }
    fb_model_init(model, 0);
    size_t pixels = (size_t)batch * 3 * 32 * 32;
    float *host_images = malloc(pixels * sizeof(float));          /* [batch, 3, 32, 32] */
    float *images = backend->alloc(pixels * sizeof(float));       /* [batch, 3, 32, 32] device */
    int32_t *labels = malloc((size_t)batch * sizeof(int32_t));    /* [batch] */
    if (!host_images || !images || !labels) {
        fprintf(stderr, "bench_train: out of memory for a batch of %d\n", batch);
        return 2;
    }
    for (size_t i = 0; i < pixels; i++)
        host_images[i] = fb_rng_uniform(0, FB_STREAM_DATA, 0, i);
    for (int i = 0; i < batch; i++)
        labels[i] = (int32_t)fb_rng_below(0, FB_STREAM_DATA, 1, (uint64_t)i, 10);
    backend->to_device(images, host_images, pixels * sizeof(float));

    double *step_seconds = malloc((size_t)steps * sizeof(double));
    for (int step = -warmup; step < steps; step++) {
        if (step == 0)
            fb_model_set_profiling(model, layers);
        double start = omp_get_wtime();
        fb_model_forward(model, images, batch, training);
        if (training) {
            fb_model_loss(model, labels, batch);
            fb_model_backward(model, NULL, 0);
            fb_model_sgd_step(model, 0.1f, 0.9f, 5e-4f);
        }
        float done;
        backend->to_host(&done, images, sizeof done); /* waits for the step (GPU) */
        if (step >= 0)
            step_seconds[step] = omp_get_wtime() - start;
    }
    double total = 0.0;
    for (int i = 0; i < steps; i++)
        total += step_seconds[i];
    qsort(step_seconds, (size_t)steps, sizeof(double), compare_doubles);
    double median = steps % 2 ? step_seconds[steps / 2]
                              : 0.5 * (step_seconds[steps / 2 - 1] + step_seconds[steps / 2]);
    double conv_flops = 0.0, conv_ms = 0.0;
    if (layers) {
        printf("%-24s %10s %10s %10s\n", "conv unit", "fwd ms", "bwd ms", "GFLOP/s");
        for (int i = 0; i < fb_model_layer_count(model); i++) {
            fb_layer_profile p = fb_model_layer_profile(model, i, batch);
            double fwd = p.forward_ms / steps, bwd = p.backward_ms / steps;
            double flops = p.forward_flops * (training ? 3.0 : 1.0); /* bwd = data + filter */
            conv_flops += flops;
            conv_ms += fwd + bwd;
            printf("%-24s %10.2f %10.2f %10.1f\n", p.name, fwd, bwd, flops / ((fwd + bwd) * 1e6));
        }
        printf("conv units: %.1f ms per step, %.1f GFLOP/s (conv+BN+ReLU time, conv FLOPs)\n",
               conv_ms, conv_flops / (conv_ms * 1e6));
        /* the ceiling these numbers are read against (freqbias/trace.h) */
        double peak = fb_fma_peak_gflops(threads, 0.2, 3);
        printf("fp32 FMA peak (%s, %d threads): %.1f GFLOP/s; conv units reach %.1f%% of it\n",
               fb_fma_kernel_name(), threads, peak, 100.0 * conv_flops / (conv_ms * 1e6) / peak);
    }
    printf("freqbias mode=%s threads=%d batch=%d img_per_s=%.2f ms_per_step=%.2f arch=%s width=%d "
           "mean_ms=%.2f backend=%s blas=\"%s\"\n",
           mode, threads, batch, batch / median, median * 1e3, arch_name, width,
           total / steps * 1e3, backend->name, fb_runtime_note());
    free(step_seconds);
    backend->release(images);
    free(host_images);
    free(labels);
    fb_model_free(model);
    return 0;
}
