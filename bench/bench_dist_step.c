/* bench_dist_step.c — where the time of one data-parallel training step
 * goes: the freqbias side of bench/bench_mpi.sh.
 *
 * Every rank runs the step `freqbias train` runs under mpirun (src/train/
 * trainer.c): its shard of a batch of random 32×32×3 images (the node of
 * the batch tree fb_tree_shard gives it), forward in train mode with
 * BatchNorm's sums combined across ranks, the mean cross-entropy (one more
 * combine), backward, one tree allreduce of the gradient block, SGD. Three
 * clocks split the step:
 *   bn_sync    time inside the batch view's combine (BatchNorm forward
 *              twice per layer, backward once, the loss once): waiting for
 *              the partner and adding, at every BatchNorm layer;
 *   allreduce  the gradient allreduce after backward;
 *   compute    the rest (convolutions, BN arithmetic, ReLU, SGD).
 * and it counts the bytes this rank sends per step (fb_dist_bytes_sent).
 *
 * Started without mpirun (or in a build without MPI) it is one process
 * with the whole batch: the baseline the MPI run is compared against. Rank
 * 0 prints one line that bench_mpi.sh parses:
 *   dist ranks=2 threads=1 batch=128 img_per_s=... ms_per_step=...
 *        compute_ms=... bn_sync_ms=... allreduce_ms=... bytes_per_step=...
 * (medians over the timed steps; the phase times are rank 0's).
 */
#include <getopt.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/batch_tree.h"
#include "freqbias/batch_view.h"
#include "freqbias/dist.h"
#include "freqbias/model.h"
#include "freqbias/rng.h"
#include "freqbias/runtime.h"

/* What the combine callback measures during one step. */
typedef struct sync_clock {
    int batch;           /* the whole batch's size, for the tree allreduce */
    double seconds;      /* time inside combine this step                  */
} sync_clock;

static void timed_combine(double *partials, int count, void *user)
{
    sync_clock *clock = user;
    double start = omp_get_wtime();
    if (fb_dist_tree_allreduce_f64(partials, (size_t)count, clock->batch) != FB_OK)
        fb_dist_abort("bench_dist_step", fb_error_message(), 2);
    clock->seconds += omp_get_wtime() - start;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_of(double *values, int count)
{
    qsort(values, (size_t)count, sizeof(double), compare_doubles);
    return count % 2 ? values[count / 2] : 0.5 * (values[count / 2 - 1] + values[count / 2]);
}

static void usage(void)
{
    printf("usage: [mpirun -np R] bench_dist_step [--width 16] [--batch 128] [--steps 5]\n"
           "                                      [--warmup 1] [--threads T]\n");
}

int main(int argc, char **argv)
{
    fb_runtime_init(argc, argv);
    if (fb_dist_init(&argc, &argv) != FB_OK)
        fb_dist_abort("bench_dist_step", fb_error_message(), 1);
    int width = 16, batch = 128, steps = 5, warmup = 1, threads = fb_get_threads();
    static const struct option options[] = {
        {"width", required_argument, 0, 'w'},   {"batch", required_argument, 0, 'b'},
        {"steps", required_argument, 0, 's'},   {"warmup", required_argument, 0, 'u'},
        {"threads", required_argument, 0, 't'}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'w': width = atoi(optarg); break;
        case 'b': batch = atoi(optarg); break;
        case 's': steps = atoi(optarg); break;
        case 'u': warmup = atoi(optarg); break;
        case 't': threads = atoi(optarg); break;
        case 'h': usage(); fb_dist_finalize(); return 0;
        default: usage(); fb_dist_finalize(); return 1;
        }
    }
    if (steps < 1 || batch < 1 || width < 1 || threads < 1)
        fb_dist_abort("bench_dist_step", "--steps, --batch, --width and --threads must be >= 1", 1);
    fb_set_threads(threads);
    int ranks = fb_dist_size();
    fb_tree_node shard = fb_tree_shard(batch, fb_dist_rank(), ranks);
    int rows = shard.hi > shard.lo ? shard.hi - shard.lo : 1; /* an empty shard runs a stand-in */

    fb_model_config config = fb_model_config_default(FB_ARCH_RESNET18);
    config.width = width;
    config.max_batch = rows;
    fb_model *model;
    if (fb_model_create(&model, &config, &fb_backend_cpu) != FB_OK)
        fb_dist_abort("bench_dist_step", fb_error_message(), 2);
    fb_model_init(model, 0);
    sync_clock clock = {.batch = batch};
    fb_batch_view view = {.total = batch, .lo = shard.lo, .hi = shard.hi,
                          .combine = timed_combine, .user = &clock};
    if (ranks > 1 && fb_model_set_batch_view(model, &view) != FB_OK)
        fb_dist_abort("bench_dist_step", fb_error_message(), 2);

    size_t image_floats = 3 * 32 * 32;
    float *images = malloc((size_t)rows * image_floats * sizeof(float)); /* [rows, 3, 32, 32] */
    int32_t *labels = malloc((size_t)rows * sizeof(int32_t));           /* [rows] */
    double *step_ms = malloc((size_t)steps * sizeof(double));
    double *sync_ms = malloc((size_t)steps * sizeof(double));
    double *allreduce_ms = malloc((size_t)steps * sizeof(double));
    if (!images || !labels || !step_ms || !sync_ms || !allreduce_ms)
        fb_dist_abort("bench_dist_step", "out of memory", 2);
    for (int i = 0; i < rows; i++) { /* sample lo + i of the batch, whatever the rank count */
        uint64_t sample = (uint64_t)(shard.hi > shard.lo ? shard.lo + i : 0);
        for (size_t p = 0; p < image_floats; p++)
            images[i * image_floats + p] = fb_rng_uniform(0, FB_STREAM_DATA, sample, p);
        labels[i] = (int32_t)fb_rng_below(0, FB_STREAM_DATA, 1, sample, 10);
    }
    size_t gradient_floats;
    float *gradients = fb_model_gradients(model, &gradient_floats); /* [gradient_floats] */

    double bytes = 0.0; /* sent by this rank in the last step: every step sends the same */
    for (int step = -warmup; step < steps; step++) {
        clock.seconds = 0.0;
        double sent_before = fb_dist_bytes_sent();
        double start = omp_get_wtime();
        fb_model_forward(model, images, rows, 1);
        fb_model_loss(model, labels, rows);
        fb_model_backward(model, NULL, 0);
        double reduce_start = omp_get_wtime();
        if (fb_dist_tree_allreduce_f32(gradients, gradient_floats, batch) != FB_OK)
            fb_dist_abort("bench_dist_step", fb_error_message(), 2);
        double reduce_end = omp_get_wtime();
        fb_model_sgd_step(model, 0.1f, 0.9f, 5e-4f);
        bytes = fb_dist_bytes_sent() - sent_before;
        if (step >= 0) {
            step_ms[step] = (omp_get_wtime() - start) * 1e3;
            sync_ms[step] = clock.seconds * 1e3;
            allreduce_ms[step] = (reduce_end - reduce_start) * 1e3;
        }
    }
    double *compute_ms = malloc((size_t)steps * sizeof(double));
    if (!compute_ms)
        fb_dist_abort("bench_dist_step", "out of memory", 2);
    for (int i = 0; i < steps; i++)
        compute_ms[i] = step_ms[i] - sync_ms[i] - allreduce_ms[i];
    double step = median_of(step_ms, steps);
    if (fb_dist_is_root())
        printf("dist ranks=%d threads=%d batch=%d width=%d img_per_s=%.2f ms_per_step=%.2f "
               "compute_ms=%.2f bn_sync_ms=%.3f allreduce_ms=%.3f bytes_per_step=%.0f "
               "gradient_floats=%zu mpi=\"%s\"\n",
               ranks, threads, batch, width, batch / (step / 1e3), step, median_of(compute_ms, steps),
               median_of(sync_ms, steps), median_of(allreduce_ms, steps), bytes, gradient_floats,
               fb_dist_library());
    free(compute_ms);
    free(step_ms);
    free(sync_ms);
    free(allreduce_ms);
    free(images);
    free(labels);
    fb_model_free(model);
    fb_dist_finalize();
    return 0;
}
