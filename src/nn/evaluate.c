/* evaluate.c — accuracy, loss, confusion matrix of a model on a dataset
 * (see freqbias/evaluate.h).
 *
 * top-1 is the argmax (the first of equal maxima) against the label, as the
 * confusion matrix counts it; top-k counts an image as correct when fewer
 * than k classes have a logit strictly greater than the true class's.
 */
#include "freqbias/evaluate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "freqbias/dist.h"
#include "freqbias/loader.h"

/* Counts top-1, top-5, the confusion matrix and the mean loss from every
 * image's logits[count, classes] and every batch's mean loss batch_loss[B],
 * adding in dataset order whatever produced them. */
static void tally(fb_eval_result *result, const fb_dataset *data, const float *logits,
                  const float *batch_loss, int batch, long *class_total)
{
    int classes = result->classes;
    double loss_sum = 0.0;
    long top1 = 0, top5 = 0;
    for (int first = 0, b = 0; first < data->count; first += batch, b++) {
        int n = data->count - first < batch ? data->count - first : batch;
        loss_sum += (double)batch_loss[b] * n;
        for (int i = first; i < first + n; i++) {
            const float *row = logits + (size_t)i * classes;
            int label = data->labels[i], better = 0, predicted = 0;
            for (int k = 0; k < classes; k++) {
                better += row[k] > row[label];
                if (row[k] > row[predicted])
                    predicted = k;
            }
            top1 += predicted == label;
            top5 += better < 5;
            result->confusion[(size_t)predicted * classes + label]++;
            class_total[label]++;
        }
    }
    for (int k = 0; k < classes; k++)
        result->per_class_acc[k] = class_total[k]
                                       ? (double)result->confusion[(size_t)k * classes + k] / class_total[k]
                                       : NAN;
    result->top1 = (double)top1 / data->count;
    result->top5 = (double)top5 / data->count;
    result->loss = loss_sum / data->count;
}

/* Shared by both entry points: images come either from the uint8 dataset
 * (through the loader, value/255) or from a float array. Under MPI each
 * rank runs a contiguous share of whole batches — the same batches one
 * process runs, so every logit and every batch loss has the same bits —
 * and rank 0 gathers them and tallies in dataset order. */
static fb_status evaluate(fb_model *model, const fb_dataset *data, const float *float_images,
                          int batch, int keep_logits, int keep_features, fb_eval_result *result)
{
    const fb_model_config *config = fb_model_get_config(model);
    const fb_backend *backend = fb_model_backend(model);
    int classes = config->num_classes, dim = fb_model_feature_dim(model);
    memset(result, 0, sizeof *result);
    if (batch > config->max_batch)
        batch = config->max_batch;
    for (int i = 0; i < data->count; i++)
        if (data->labels[i] < 0 || data->labels[i] >= classes)
            return fb_error(FB_ERR_FORMAT, "%s: image %d has label %d, the model has %d classes",
                            data->source, i, data->labels[i], classes);
    if (data->channels != config->in_channels || data->height != config->image_size ||
        data->width != config->image_size)
        return fb_error(FB_ERR_SHAPE, "%s: images are %dx%dx%d, the model expects %dx%dx%d",
                        data->source, data->channels, data->height, data->width,
                        config->in_channels, config->image_size, config->image_size);
    int batches = (data->count + batch - 1) / batch, first_batch, my_batches;
    fb_dist_shard(batches, &first_batch, &my_batches);
    int first_image = first_batch * batch;
    int end_image = (first_batch + my_batches) * batch < data->count ? (first_batch + my_batches) * batch
                                                                    : data->count;
    size_t image_floats = (size_t)data->channels * data->height * data->width;
    float *images = backend->alloc((size_t)batch * image_floats * sizeof(float)); /* [batch, C, H, W] */
    float *host_images = malloc((size_t)batch * image_floats * sizeof(float));   /* [batch, C, H, W] */
    int32_t *labels = malloc((size_t)batch * sizeof(int32_t));                    /* [batch] */
    float *logits = malloc(((size_t)data->count * classes + 1) * sizeof(float));  /* [count, classes] */
    float *features = keep_features ? malloc(((size_t)data->count * dim + 1) * sizeof(float)) : NULL;
    /* features: [count, dim] */
    float *batch_loss = malloc(((size_t)batches + 1) * sizeof(float));           /* [batches] */
    long *class_total = calloc((size_t)classes, sizeof(long));                   /* [classes] */
    result->per_class_acc = calloc((size_t)classes, sizeof(double));
    result->confusion = calloc((size_t)classes * classes, sizeof(long));
    fb_loader loader;
    fb_status status = fb_loader_init(&loader, data, data->count, batch, 0, 0, 0);
    int loader_ready = status == FB_OK;
    if (status == FB_OK && (!images || !host_images || !labels || !logits || (keep_features && !features) ||
                            !batch_loss || !class_total || !result->per_class_acc || !result->confusion))
        status = fb_error(FB_ERR_NOMEM, "evaluate: out of memory");
    if (status == FB_OK) {
        fb_loader_start_epoch(&loader, 0);
        for (int b = first_batch; b < first_batch + my_batches; b++) {
            int first = b * batch, n = data->count - first < batch ? data->count - first : batch;
            const float *source = host_images; /* [n, C, H, W] */
            if (float_images) { /* given images: only the labels come from the dataset */
                memcpy(labels, data->labels + first, (size_t)n * sizeof(int32_t));
                source = float_images + (size_t)first * image_floats;
            } else {
                fb_loader_batch(&loader, b, host_images, labels);
            }
            backend->to_device(images, source, (size_t)n * image_floats * sizeof(float));
            const float *device_logits = fb_model_forward(model, images, n, 0);
            batch_loss[b] = fb_model_loss(model, labels, n);
            backend->to_host(logits + (size_t)first * classes, device_logits,
                             (size_t)n * classes * sizeof(float));
            if (keep_features)
                backend->to_host(features + (size_t)first * dim, fb_model_features(model),
                                 (size_t)n * dim * sizeof(float));
        }
    }
    if (loader_ready)
        fb_loader_free(&loader);
    if (status == FB_OK)
        status = fb_dist_gather_rows(logits, (size_t)classes * sizeof(float), data->count, first_image,
                                     end_image - first_image);
    if (status == FB_OK && keep_features)
        status = fb_dist_gather_rows(features, (size_t)dim * sizeof(float), data->count, first_image,
                                     end_image - first_image);
    if (status == FB_OK)
        status = fb_dist_gather_rows(batch_loss, sizeof(float), batches, first_batch, my_batches);
    if (status == FB_OK && fb_dist_is_root()) {
        result->n = data->count;
        result->classes = classes;
        result->feature_dim = dim;
        tally(result, data, logits, batch_loss, batch, class_total);
        if (keep_logits) {
            result->logits = logits;
            logits = NULL;
        }
        result->features = features;
        features = NULL;
    }
    if (status != FB_OK || !fb_dist_is_root())
        fb_eval_result_free(result);
    backend->release(images);
    free(host_images);
    free(labels);
    free(logits);
    free(features);
    free(batch_loss);
    free(class_total);
    return status;
}

fb_status fb_evaluate(fb_model *model, const fb_dataset *data, int batch, int keep_logits,
                      int keep_features, fb_eval_result *result)
{
    return evaluate(model, data, NULL, batch, keep_logits, keep_features, result);
}

fb_status fb_evaluate_float(fb_model *model, const fb_dataset *data, const float *images,
                            int batch, int keep_logits, int keep_features, fb_eval_result *result)
{
    return evaluate(model, data, images, batch, keep_logits, keep_features, result);
}

void fb_eval_result_free(fb_eval_result *result)
{
    free(result->per_class_acc);
    free(result->confusion);
    free(result->logits);
    free(result->features);
    memset(result, 0, sizeof *result);
}

void fb_feature_variances(const float *features, const int32_t *labels, int n, int dim,
                          int classes, double *inter, double *intra)
{
    double *class_mean = calloc((size_t)classes * dim, sizeof(double)); /* [classes, dim] */
    double *mean = calloc((size_t)dim, sizeof(double));                  /* [dim] */
    long *count = calloc((size_t)classes, sizeof(long));                 /* [classes] */
    if (!class_mean || !mean || !count) {
        *inter = *intra = NAN;
        free(class_mean);
        free(mean);
        free(count);
        return;
    }
    for (int i = 0; i < n; i++) {
        count[labels[i]]++;
        for (int d = 0; d < dim; d++) {
            class_mean[(size_t)labels[i] * dim + d] += features[(size_t)i * dim + d];
            mean[d] += features[(size_t)i * dim + d];
        }
    }
    for (int d = 0; d < dim; d++)
        mean[d] /= n;
    int present = 0;
    double between = 0.0;
    for (int c = 0; c < classes; c++) {
        if (!count[c])
            continue;
        present++;
        for (int d = 0; d < dim; d++) {
            double m = class_mean[(size_t)c * dim + d] /= count[c];
            between += (m - mean[d]) * (m - mean[d]);
        }
    }
    double within = 0.0;
    for (int i = 0; i < n; i++)
        for (int d = 0; d < dim; d++) {
            double diff = features[(size_t)i * dim + d] - class_mean[(size_t)labels[i] * dim + d];
            within += diff * diff;
        }
    *inter = present ? between / present : NAN;
    *intra = n ? within / n : NAN;
    free(class_mean);
    free(mean);
    free(count);
}

double fb_pearson(const double *x, const double *y, int n)
{
    double mx = 0.0, my = 0.0, sxy = 0.0, sxx = 0.0, syy = 0.0;
    for (int i = 0; i < n; i++) {
        mx += x[i] / n;
        my += y[i] / n;
    }
    for (int i = 0; i < n; i++) {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx) * (x[i] - mx);
        syy += (y[i] - my) * (y[i] - my);
    }
    return sxx > 0 && syy > 0 ? sxy / sqrt(sxx * syy) : NAN;
}
