/* trainer.c — fb_train_run: the epochs of a training run (freqbias/train.h).
 *
 * One step: load and augment a batch on the host (fb_loader), copy it to
 * the backend, forward, mean cross-entropy, backward, SGD with momentum and
 * weight decay. A non-finite loss stops the run before the step that would
 * spread it into the weights, so the last checkpoint stays the last good
 * one. After every epoch: the clean test set (fb_evaluate), optionally one
 * row of the gradient spectrum, then the run's files (run_files.c).
 *
 * Nothing here prints: progress goes to the job's callback, which the CLI
 * turns into its progress bar and epoch lines.
 *
 * Under MPI (freqbias/dist.h) every rank runs this same loop on its shard
 * of each batch: the node of the batch tree (core/batch_tree.h) that
 * fb_tree_shard gives it. It loads and augments only those samples
 * (fb_loader_batch_part); BatchNorm and the loss combine their sums with the
 * other ranks' through the model's batch view (freqbias/batch_view.h), so
 * every rank normalises with the whole batch's statistics; one tree
 * allreduce of the gradient block then gives every rank the whole batch's
 * gradients, and every rank takes the same SGD step. The bits are those of
 * one process, on any number of ranks and threads. Evaluation and the
 * gradient spectrum share their images across ranks (fb_evaluate); rank 0
 * alone writes files. On the CUDA backend (one GPU per rank, dist.h's
 * local rank) the same happens with the sums' partials and the gradient
 * block staged through host memory; the GPU's own sums do not follow the
 * batch tree (cuda_backend.h), so there the bits are fixed for a given
 * number of ranks but differ in the last places between rank counts. A
 * rank that errs ends the job (the CLI's cli_fail → fb_dist_abort), so no
 * rank waits for a partner that will never come. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "freqbias/backend.h"
#include "freqbias/batch_view.h"
#include "freqbias/checkpoint.h"
#include "freqbias/dist.h"
#include "freqbias/evaluate.h"
#include "freqbias/loader.h"
#include "freqbias/safetensors.h"
#include "freqbias/sha256.h"
#include "core/batch_tree.h"
#include "train_internal.h"

static void notify(const train_run *r, fb_train_event *event)
{
    if (r->job->callback)
        r->job->callback(event, r->job->user);
}

static fb_status check_data(const fb_dataset *train, const fb_dataset *test)
{
    if (train->channels != test->channels || train->height != test->height ||
        train->width != test->width || train->height != train->width)
        return fb_error(FB_ERR_SHAPE, "train images (%s) are %dx%dx%d and test images (%s) %dx%dx%d: "
                        "need the same square size", train->source, train->channels, train->height,
                        train->width, test->source, test->channels, test->height, test->width);
    return FB_OK;
}

static fb_status make_model(train_run *r)
{
    const fb_train_settings *s = r->s;
    const fb_dataset *train = r->job->train, *test = r->job->test;
    const fb_backend *backend = fb_backend_by_name(s->backend);
    if (!backend)
        return FB_ERR_USAGE;
    fb_model_config config;
    FB_TRY(fb_arch_parse(s->arch, &config.arch));
    config = fb_model_config_default(config.arch);
    config.width = s->width;
    config.in_channels = train->channels;
    config.image_size = train->height;
    config.num_classes = train->num_classes > test->num_classes ? train->num_classes : test->num_classes;
    config.max_batch = s->batch;
    FB_TRY(fb_model_create(&r->model, &config, backend));
    fb_model_init(r->model, s->seed);
    if (s->init[0])
        FB_TRY(fb_checkpoint_load(r->model, s->init, NULL));
    return FB_OK;
}

/* Model, momentum and progress from out/state.safetensors. */
static fb_status resume_from_state(train_run *r)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/state.safetensors", r->s->out);
    fb_train_resume_point point;
    FB_TRY(fb_train_state_read(path, &point));
    fb_st_file state;
    FB_TRY(fb_train_state_load(r->model, path, &state));
    fb_st_free(&state);
    r->next_epoch = point.next_epoch;
    r->best_top1 = point.best_top1;
    r->best_epoch = point.best_epoch;
    r->seconds = point.seconds;
    return FB_OK;
}

/* Row `row` of the online gradient spectrum (0 = before training, e + 1 =
 * after epoch e), then all rows so far to disk. */
static fb_status record_gradspec(train_run *r, int row)
{
    const fb_train_settings *s = r->s;
    if (!s->gradspec)
        return FB_OK;
    char label[64];
    FB_TRY(fb_model_gradient_spectrum(r->model, r->job->test, s->gradspec, s->batch, &r->bins,
                                      r->gradspec.mean + (size_t)row * r->bins.bands,
                                      r->gradspec.std + (size_t)row * r->bins.bands, NULL));
    snprintf(label, sizeof label, row == 0 ? "before training" : "epoch %d", row - 1);
    fb_gradspec_rows_label(&r->gradspec, row, label);
    r->gradspec.count = row + 1;
    if (!fb_dist_is_root()) /* the rows are rank 0's (the ranks share the images) */
        return FB_OK;
    return fb_gradspec_rows_write(&r->gradspec, s->out, "epoch (-1 = before training)", -1.0);
}

static fb_status non_finite_loss(const train_run *r, int epoch, int batch, float loss)
{
    if (epoch > 0)
        return fb_error(FB_ERR_NUMERIC, "epoch %d, batch %d: the loss is %f; stopped. The last good "
                        "checkpoint is %s/last.safetensors (epoch %d)",
                        epoch, batch, (double)loss, r->s->out, epoch - 1);
    return fb_error(FB_ERR_NUMERIC, "epoch 0, batch %d: the loss is %f; stopped before any "
                    "checkpoint was written (try a smaller --lr)", batch, (double)loss);
}

/* Correct top-1 predictions among n rows of logits. */
static long count_correct(const float *logits, const int32_t *labels, int n, int classes)
{
    long correct = 0;
    for (int i = 0; i < n; i++) {
        const float *row = logits + (size_t)i * classes; /* [classes] */
        int predicted = 0;
        for (int k = 1; k < classes; k++)
            predicted = row[k] > row[predicted] ? k : predicted;
        correct += predicted == labels[i];
    }
    return correct;
}

/* Buffers of one batch, on the host and on the model's backend. A rank
 * uses only the first rows: those of its shard. */
typedef struct batch_buffers {
    float *host_images;  /* [batch, C, H, W] */
    float *images;       /* [batch, C, H, W] on the backend */
    float *host_logits;  /* [batch, classes] */
    int32_t *labels;     /* [batch] */
    float *host_gradients; /* [the model's gradient count]: the allreduce's
                            * host copy when the backend's memory is a
                            * GPU's and ranks > 1; NULL otherwise */
} batch_buffers;

/* The batch view's combine under MPI: BatchNorm's and the loss's partial
 * sums, added across ranks in the tree's order. user: the batch size. */
static void combine_across_ranks(double *partials, int count, void *user)
{
    fb_status status = fb_dist_tree_allreduce_f64(partials, (size_t)count, *(const int *)user);
    if (status != FB_OK)
        fb_dist_abort("train", fb_error_message(), fb_status_exit_code(status));
}

/* This rank's share of batch `batch` (n samples): loads it, sets the
 * model's view, and returns how many rows to run — the shard's samples, or
 * one stand-in (the batch's first sample) for an empty shard, which must
 * still join every collective (model.h). *mine = the shard's real samples. */
static int load_shard(const fb_loader *loader, fb_model *m, int batch, int n, int *batch_size,
                      batch_buffers *b, int *mine)
{
    int ranks = fb_dist_size();
    fb_tree_node shard = fb_tree_shard(n, fb_dist_rank(), ranks);
    *mine = shard.hi - shard.lo;
    if (ranks > 1) {
        *batch_size = n;
        fb_batch_view view = {.total = n, .lo = shard.lo, .hi = shard.hi,
                              .combine = combine_across_ranks, .user = batch_size};
        fb_status status = fb_model_set_batch_view(m, &view);
        if (status != FB_OK)
            fb_dist_abort("train", fb_error_message(), fb_status_exit_code(status));
    }
    if (*mine > 0) {
        fb_loader_batch_part(loader, batch, shard.lo, shard.hi, b->host_images, b->labels);
        return *mine;
    }
    fb_loader_batch_part(loader, batch, 0, 1, b->host_images, b->labels);
    return 1;
}

/* The whole batch's gradients on every rank: one tree allreduce of the
 * model's gradient block, in place on the CPU backends, through
 * host_gradients (batch_buffers) on a GPU. */
static fb_status allreduce_gradients(fb_model *m, int n, float *host_gradients)
{
    if (fb_dist_size() == 1)
        return FB_OK;
    size_t count;
    float *grads = fb_model_gradients(m, &count); /* [count] on the backend */
    if (!host_gradients)
        return fb_dist_tree_allreduce_f32(grads, count, n);
    const fb_backend *backend = fb_model_backend(m);
    backend->to_host(host_gradients, grads, count * sizeof(float));
    fb_status status = fb_dist_tree_allreduce_f32(host_gradients, count, n);
    backend->to_device(grads, host_gradients, count * sizeof(float));
    return status;
}

/* A count (this rank's correct predictions of an epoch), summed over the
 * ranks: exact, as the counts are integers far below 2^53. The tree of
 * FB_TREE_LEAF · R samples gives every rank a non-empty shard, so every
 * rank's count is added. */
static long sum_over_ranks(long count)
{
    double value = (double)count;
    fb_status status = fb_dist_tree_allreduce_f64(&value, 1, FB_TREE_LEAF * fb_dist_size());
    if (status != FB_OK)
        fb_dist_abort("train", fb_error_message(), fb_status_exit_code(status));
    return (long)value;
}

static fb_status train_epochs(train_run *r)
{
    const fb_train_settings *s = r->s;
    const fb_dataset *train = r->job->train;
    fb_model *m = r->model;
    const fb_backend *backend = fb_model_backend(m);
    int classes = fb_model_get_config(m)->num_classes;
    size_t image_floats = (size_t)train->channels * train->height * train->width;
    batch_buffers b = {
        .host_images = malloc((size_t)s->batch * image_floats * sizeof(float)),
        .images = backend->alloc((size_t)s->batch * image_floats * sizeof(float)),
        .host_logits = malloc((size_t)s->batch * classes * sizeof(float)),
        .labels = malloc((size_t)s->batch * sizeof(int32_t)),
    };
    size_t gradient_count = 0;
    fb_model_gradients(m, &gradient_count);
    int staged = backend->device_memory && fb_dist_size() > 1;
    if (staged)
        b.host_gradients = malloc(gradient_count * sizeof(float));
    int batch_size = s->batch; /* the current batch's size, for the combine callback */
    fb_loader loader;
    fb_status status = fb_loader_init(&loader, train, s->subset, s->batch, s->seed, s->shuffle, s->augment);
    if (status == FB_OK && (!b.host_images || !b.images || !b.host_logits || !b.labels ||
                            (staged && !b.host_gradients)))
        status = fb_error(FB_ERR_NOMEM, "train: out of memory for batch buffers");
    if (status == FB_OK && r->next_epoch == 0)
        status = record_gradspec(r, 0);
    for (int epoch = r->next_epoch; status == FB_OK && epoch < s->epochs; epoch++) {
        double lr = fb_train_lr_at(s, epoch), start = omp_get_wtime(), loss_sum = 0.0;
        long correct = 0, seen = 0;
        fb_loader_start_epoch(&loader, epoch);
        fb_train_event event = {.kind = FB_TRAIN_EPOCH_START, .epoch = epoch, .epochs = s->epochs,
                                .batches = fb_loader_batches(&loader), .lr = lr};
        notify(r, &event);
        for (int batch = 0; batch < event.batches; batch++) {
            int n = fb_loader_batch_size(&loader, batch), mine;
            int rows = load_shard(&loader, m, batch, n, &batch_size, &b, &mine);
            backend->to_device(b.images, b.host_images, (size_t)rows * image_floats * sizeof(float));
            const float *logits = fb_model_forward(m, b.images, rows, 1); /* [rows, classes] */
            float loss = fb_model_loss(m, b.labels, rows); /* the whole batch's mean, on every rank */
            if (!isfinite(loss)) {
                status = non_finite_loss(r, epoch, batch, loss);
                break;
            }
            backend->to_host(b.host_logits, logits, (size_t)rows * classes * sizeof(float));
            fb_model_backward(m, NULL, 0);
            status = allreduce_gradients(m, n, b.host_gradients);
            if (status != FB_OK)
                break;
            fb_model_sgd_step(m, (float)lr, (float)s->momentum, (float)s->weight_decay);
            correct += mine > 0 ? count_correct(b.host_logits, b.labels, mine, classes) : 0;
            loss_sum += (double)loss * n;
            seen += n;
            event.kind = FB_TRAIN_BATCH_DONE;
            event.batch = batch + 1;
            event.images = seen;
            notify(r, &event);
        }
        fb_model_set_batch_view(m, NULL); /* evaluation shards by images, not by the tree */
        if (status != FB_OK)
            break;
        correct = sum_over_ranks(correct); /* every rank counted its own samples */
        double train_seconds = omp_get_wtime() - start;
        fb_eval_result eval;
        status = fb_evaluate(m, r->job->test, s->batch, 0, 0, &eval);
        if (status != FB_OK)
            break;
        double seconds = omp_get_wtime() - start;
        r->seconds += seconds;
        int improved = eval.top1 > r->best_top1 || epoch == 0 || r->best_epoch < 0;
        if (improved) {
            r->best_top1 = eval.top1;
            r->best_epoch = epoch;
        }
        event.kind = FB_TRAIN_EPOCH_DONE;
        event.train_loss = loss_sum / seen;
        event.train_top1 = (double)correct / seen;
        event.test_loss = eval.loss;
        event.test_top1 = eval.top1;
        event.images_per_second = seen / train_seconds;
        event.seconds = seconds;
        fb_eval_result_free(&eval);
        char row[256];
        snprintf(row, sizeof row, "%d,%.6g,%.6f,%.6f,%.6f,%.6f,%.1f,%.1f\n", epoch, lr, event.train_loss,
                 event.train_top1, event.test_loss, event.test_top1, event.images_per_second, seconds);
        notify(r, &event);
        r->next_epoch = epoch + 1;
        status = record_gradspec(r, epoch + 1);
        if (status == FB_OK && fb_dist_is_root())
            status = train_append_log(r, row);
        if (status == FB_OK && fb_dist_is_root())
            status = train_save_epoch(r, epoch, improved);
    }
    fb_loader_free(&loader);
    free(b.host_images);
    backend->release(b.images);
    free(b.host_logits);
    free(b.labels);
    free(b.host_gradients);
    return status;
}

/* Everything before the first epoch: model, resume, gradient-spectrum rows,
 * log, run.json. */
static fb_status prepare(train_run *r)
{
    const fb_train_job *job = r->job;
    char why[200];
    const char *key = fb_train_settings_problem(r->s, why, sizeof why);
    if (key)
        return fb_error(FB_ERR_USAGE, "training settings: %s: %s", key, why);
    FB_TRY(check_data(job->train, job->test));
    fb_dataset_sha256(job->train, r->train_sha);
    fb_dataset_sha256(job->test, r->test_sha);
    FB_TRY(make_model(r));
    if (job->resume)
        FB_TRY(resume_from_state(r));
    if (r->s->gradspec) {
        FB_TRY(fb_radial_init(&r->bins, job->test->height, job->test->width, FB_RADIAL_FREQBIAS));
        FB_TRY(fb_gradspec_rows_init(&r->gradspec, r->s->epochs + 1, r->bins.bands, FB_RADIAL_FREQBIAS));
        if (job->resume)
            FB_TRY(fb_gradspec_rows_restore(&r->gradspec, r->s->out, r->next_epoch + 1));
    }
    r->log = train_restore_log(r->s->out, r->next_epoch);
    if (!r->log)
        return fb_error(FB_ERR_NOMEM, "train: out of memory");
    return fb_dist_is_root() ? train_write_run_json(r, "running") : FB_OK;
}

fb_status fb_train_run(const fb_train_job *job, fb_train_outcome *outcome)
{
    fb_train_settings settings = job->settings;
    if (job->resume)
        settings.init[0] = '\0'; /* the state holds the weights */
    fb_train_job resolved = *job;
    resolved.settings = settings;
    train_run r;
    memset(&r, 0, sizeof r);
    r.job = &resolved;
    r.s = &resolved.settings;
    r.best_epoch = -1;
    fb_status status = prepare(&r);
    if (status == FB_OK)
        status = train_epochs(&r);
    if (status != FB_OK && r.log && fb_dist_is_root())
        train_write_run_json(&r, status == FB_ERR_NUMERIC ? "stopped: non-finite loss" : "failed");
    if (outcome)
        *outcome = (fb_train_outcome){.epochs_done = r.next_epoch, .best_epoch = r.best_epoch,
                                      .best_top1 = r.best_top1, .seconds = r.seconds};
    free(r.log);
    fb_gradspec_rows_free(&r.gradspec);
    fb_radial_free(&r.bins);
    fb_model_free(r.model);
    return status;
}
