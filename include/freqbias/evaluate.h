/* freqbias/evaluate.h — a model's accuracy on a dataset (test.py).
 *
 * Eval mode (BatchNorm running statistics), batches of `batch` images in
 * dataset order, pixels value/255. Reports what test.py and the sweep need:
 * top-1, top-5, mean cross-entropy, per-class accuracy, the prediction ×
 * label confusion matrix, and optionally every logit row and penultimate
 * feature vector in dataset order.
 */
#ifndef FREQBIAS_EVALUATE_H
#define FREQBIAS_EVALUATE_H

#include "freqbias/dataset.h"
#include "freqbias/model.h"

typedef struct fb_eval_result {
    int n, classes, feature_dim;
    double top1, top5;          /* fractions in [0, 1]                          */
    double loss;                /* mean cross-entropy                           */
    double *per_class_acc;      /* [classes] (NaN for a class with no images)   */
    long *confusion;            /* [classes (predicted), classes (true label)]  */
    float *logits;              /* [n, classes] if requested, else NULL         */
    float *features;            /* [n, feature_dim] if requested, else NULL     */
} fb_eval_result;

/* The model's max_batch bounds `batch`. A label ≥ the model's classes is an
 * error naming the dataset.
 * Under MPI (freqbias/dist.h, more than one rank) both entry points are
 * collective: every rank must call them with the same model, data and
 * batch; each evaluates a contiguous share of whole batches, and rank 0
 * gathers the logits, features and batch losses and gets the whole result,
 * with the bits one process gets. The other ranks' result is empty (n = 0,
 * no arrays). */
fb_status fb_evaluate(fb_model *model, const fb_dataset *data, int batch, int keep_logits,
                      int keep_features, fb_eval_result *result);

/* The same on float images [data->count, C, H, W] given directly (e.g.
 * frequency-filtered copies of data's images, which may leave [0,1]: the
 * model's normaliser clamps them); labels and shape come from data. */
fb_status fb_evaluate_float(fb_model *model, const fb_dataset *data, const float *images,
                            int batch, int keep_logits, int keep_features, fb_eval_result *result);
void fb_eval_result_free(fb_eval_result *result);

/* Feature discrimination (PAPER.md E1) of features [n, dim] with labels:
 *   inter = (1/C) Σ_c ‖μ_c − μ‖²   over the C classes present (μ_c class mean,
 *                                  μ the mean of all n features),
 *   intra = (1/n) Σ_i ‖f_i − μ_{y_i}‖²  (mean squared distance to the own class mean).
 * Sums in double, in index order. */
void fb_feature_variances(const float *features, const int32_t *labels, int n, int dim,
                          int classes, double *inter, double *intra);

/* Pearson correlation of two series (NaN if either is constant). */
double fb_pearson(const double *x, const double *y, int n);

#endif
