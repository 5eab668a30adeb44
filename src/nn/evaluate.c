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

#include "freqbias/loader.h"

/* Shared by both entry points: images come either from the uint8 dataset
 * (through the loader, value/255) or from a float array. */
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
    result->n = data->count;
    result->classes = classes;
    result->feature_dim = dim;
    result->per_class_acc = calloc((size_t)classes, sizeof(double));
    result->confusion = calloc((size_t)classes * classes, sizeof(long));
    size_t image_floats = (size_t)data->channels * data->height * data->width;
    float *images = backend->alloc((size_t)batch * image_floats * sizeof(float)); /* [batch, C, H, W] */
    float *host_images = malloc((size_t)batch * image_floats * sizeof(float));   /* [batch, C, H, W] */
    float *host_logits = malloc((size_t)batch * classes * sizeof(float));        /* [batch, classes] */
    int32_t *labels = malloc((size_t)batch * sizeof(int32_t));                    /* [batch] */
    if (keep_logits)
        result->logits = malloc((size_t)data->count * classes * sizeof(float));
    if (keep_features)
        result->features = malloc((size_t)data->count * dim * sizeof(float));
    if (!result->per_class_acc || !result->confusion || !images || !host_images || !host_logits ||
        !labels || (keep_logits && !result->logits) || (keep_features && !result->features)) {
        backend->release(images);
        free(host_images);
        free(host_logits);
        free(labels);
        fb_eval_result_free(result);
        return fb_error(FB_ERR_NOMEM, "evaluate: out of memory");
    }
    fb_loader loader;
    FB_TRY(fb_loader_init(&loader, data, data->count, batch, 0, 0, 0));
    fb_loader_start_epoch(&loader, 0);
    long *class_total = calloc((size_t)classes, sizeof(long));
    double loss_sum = 0.0;
    long top1 = 0, top5 = 0;
    for (int b = 0; b < fb_loader_batches(&loader); b++) {
        int first = b * batch, n = data->count - first < batch ? data->count - first : batch;
        const float *source = host_images; /* [n, C, H, W] */
        if (float_images) { /* given images: only the labels come from the dataset */
            memcpy(labels, data->labels + first, (size_t)n * sizeof(int32_t));
            source = float_images + (size_t)first * image_floats;
        } else {
            fb_loader_batch(&loader, b, host_images, labels);
        }
        backend->to_device(images, source, (size_t)n * image_floats * sizeof(float));
        const float *logits = fb_model_forward(model, images, n, 0);
        loss_sum += (double)fb_model_loss(model, labels, n) * n;
        backend->to_host(host_logits, logits, (size_t)n * classes * sizeof(float));
        if (keep_logits)
            memcpy(result->logits + (size_t)first * classes, host_logits, (size_t)n * classes * sizeof(float));
        if (keep_features)
            backend->to_host(result->features + (size_t)first * dim, fb_model_features(model),
                             (size_t)n * dim * sizeof(float));
        for (int i = 0; i < n; i++) {
            const float *row = host_logits + (size_t)i * classes;
            int label = labels[i], better = 0, predicted = 0;
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
    free(class_total);
    fb_loader_free(&loader);
    backend->release(images);
    free(host_images);
    free(host_logits);
    free(labels);
    return FB_OK;
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
