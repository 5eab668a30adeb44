/* trace.c — the tracing backend: every op of a training step, in order.
 *
 * `freqbias trace` and the tour (docs/TOUR.md) read a step as a list of op
 * calls. This file makes that list without touching any backend: the
 * tracing fb_backend's entries are small wrappers that
 *   1. start a clock, call the real backend's entry with the same arguments,
 *      stop the clock (so the numbers computed are the real backend's bits);
 *   2. count the op's FLOPs and bytes from its geometry (conventions in
 *      freqbias/trace.h);
 *   3. name the layer by looking the op's pointers up in the model: a conv
 *      weight (or its gradient) is a registry tensor "layer2.0.conv1.weight",
 *      so the op belongs to "layer2.0.conv1"; a ReLU or add writes some conv
 *      unit's output, which says which unit or residual block it is.
 * Nothing is recorded unless fb_trace_step is running, so model creation and
 * untraced warm-up steps go through the wrappers at no measurable cost.
 *
 * The backend entries have no context argument, so the real backend, the
 * model and the trace being written are file statics: one trace at a time.
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "freqbias/trace.h"
#include "model_internal.h"

#define TRACE_MAX_OPS 4096 /* ResNet-50 has 53 convs; a step is < 700 ops */

static const fb_backend *real_backend;
static fb_backend tracing_backend;
static fb_trace *recording;       /* non-NULL while fb_trace_step runs      */
static const fb_model *traced_model;

static const char *const kind_names[FB_TRACE_KINDS] = {
    "normalize_forward",     "conv2d_forward",       "batchnorm_forward_train",
    "batchnorm_forward_eval", "relu_forward",        "add",
    "avgpool_forward",       "linear_forward",       "cross_entropy_forward",
    "cross_entropy_backward", "linear_backward",     "avgpool_backward",
    "relu_backward",         "batchnorm_backward",   "batchnorm_backward_eval",
    "conv2d_backward_filter", "conv2d_backward_data", "normalize_backward",
    "sgd_step"};

const char *fb_trace_kind_name(fb_trace_kind kind) { return kind_names[kind]; }

static fb_trace_pass pass_of(fb_trace_kind kind)
{
    if (kind == FB_TRACE_SGD)
        return FB_PASS_UPDATE;
    return kind >= FB_TRACE_CE_BWD ? FB_PASS_BACKWARD : FB_PASS_FORWARD;
}

/* ---- naming: pointers back to state_dict names ---- */

/* "layer2.0.conv1.weight" → "layer2.0.conv1" for the tensor whose value or
 * gradient is ptr; 0 if none is. */
static int module_of_param(const float *ptr, char *module)
{
    const fb_registry *r = &traced_model->registry;
    for (int i = 0; i < r->count; i++) {
        const fb_tensor *t = &r->tensors[i];
        if (t->role == FB_ROLE_PARAM && (ptr == t->value || ptr == t->grad)) {
            snprintf(module, FB_NAME_MAX, "%s", t->name);
            char *dot = strrchr(module, '.');
            if (dot)
                *dot = '\0';
            return 1;
        }
    }
    return 0;
}

/* The residual block whose last unit writes ptr (its output), or NULL. */
static const res_block *block_with_output(const float *ptr)
{
    for (int b = 0; b < traced_model->block_count; b++) {
        const res_block *block = &traced_model->blocks[b];
        if (block->convs[block->count - 1].out == ptr)
            return block;
    }
    return NULL;
}

/* The conv unit whose conv or BN output is ptr, or NULL. */
static const conv_unit *unit_with_output(const float *ptr)
{
    for (int i = 0; i < traced_model->unit_count; i++)
        if (traced_model->units[i]->out == ptr || traced_model->units[i]->conv_out == ptr)
            return traced_model->units[i];
    return NULL;
}

/* "layer2.0.conv1" → block "layer2.0"; "conv1"/"bn1" → "stem". */
static void block_of_module(const char *module, char *block)
{
    if (strncmp(module, "layer", 5) == 0) {
        snprintf(block, FB_NAME_MAX, "%s", module);
        char *first = strchr(block, '.');
        char *second = first ? strchr(first + 1, '.') : NULL;
        if (second)
            *second = '\0';
    } else if (strcmp(module, "conv1") == 0 || strcmp(module, "bn1") == 0) {
        snprintf(block, FB_NAME_MAX, "stem");
    } else {
        snprintf(block, FB_NAME_MAX, "%s", module);
    }
}

/* The module a ReLU or add acting on unit output ptr belongs to: the block
 * (its residual add and final ReLU) when ptr is a block's output, else the
 * unit's BatchNorm (the ReLU right after it). Falls back to the previous op. */
static void name_by_output(fb_trace_op *op, const float *ptr)
{
    const res_block *block = block_with_output(ptr);
    const conv_unit *unit = block ? NULL : unit_with_output(ptr);
    if (block) {
        module_of_param(block->convs[0].weight->value, op->layer);
        block_of_module(op->layer, op->block);
        snprintf(op->layer, FB_NAME_MAX, "%s", op->block);
        return;
    }
    if (unit && module_of_param(unit->gamma ? unit->gamma->value : unit->weight->value, op->layer)) {
        block_of_module(op->layer, op->block);
        return;
    }
    /* backward adds write the rotating gradient buffers: the op before it
     * (the shortcut's or the block's first conv backward) names the block */
    if (recording->count > 0) {
        snprintf(op->block, FB_NAME_MAX, "%s", recording->ops[recording->count - 1].block);
        snprintf(op->layer, FB_NAME_MAX, "%s", op->block);
    }
}

static void name_by_param(fb_trace_op *op, const float *ptr)
{
    if (module_of_param(ptr, op->layer))
        block_of_module(op->layer, op->block);
}

static void name_fixed(fb_trace_op *op, const char *layer, const char *block)
{
    snprintf(op->layer, FB_NAME_MAX, "%s", layer);
    snprintf(op->block, FB_NAME_MAX, "%s", block);
}

/* ---- recording ---- */

static void shape4(char *out, int a, int b, int c, int d)
{
    snprintf(out, 48, "%dx%dx%dx%d", a, b, c, d);
}

/* batch × channels × spatial, spatial printed as side×side when square */
static void shape_nc_spatial(char *out, int batch, int channels, int spatial)
{
    int side = (int)lround(sqrt((double)spatial));
    if (side * side == spatial)
        shape4(out, batch, channels, side, side);
    else
        snprintf(out, 48, "%dx%dx%d", batch, channels, spatial);
}

static void shape_flat(char *out, size_t count) { snprintf(out, 48, "%zu", count); }

/* A new op of kind, or NULL when not recording. */
static fb_trace_op *begin(fb_trace_kind kind)
{
    if (!recording)
        return NULL;
    if (recording->count == recording->capacity) {
        fprintf(stderr, "freqbias: internal error: trace longer than %d ops\n", TRACE_MAX_OPS);
        abort();
    }
    fb_trace_op *op = &recording->ops[recording->count];
    memset(op, 0, sizeof *op);
    op->kind = kind;
    op->pass = pass_of(kind);
    snprintf(op->layer, FB_NAME_MAX, "?");
    snprintf(op->block, FB_NAME_MAX, "?");
    return op;
}

static void finish(fb_trace_op *op, double start)
{
    if (!op)
        return;
    op->seconds = omp_get_wtime() - start;
    recording->count++;
}

#define FLOAT_BYTES(count) (4.0 * (double)(count))

/* ---- the wrappers: same signature as the entry, real call in the middle ---- */

static void *t_alloc(size_t bytes) { return real_backend->alloc(bytes); }
static void t_release(void *ptr) { real_backend->release(ptr); }
static void t_to_device(void *dst, const void *src, size_t bytes) { real_backend->to_device(dst, src, bytes); }
static void t_to_host(void *dst, const void *src, size_t bytes) { real_backend->to_host(dst, src, bytes); }
static void t_zero(void *dst, size_t bytes) { real_backend->zero(dst, bytes); }
static size_t t_conv2d_workspace(const fb_conv_geom *g) { return real_backend->conv2d_workspace(g); }

static double conv_macs(const fb_conv_geom *g)
{
    return (double)g->batch * g->out_channels * g->out_h * g->out_w * (double)g->in_channels *
           g->kernel * g->kernel;
}

static double conv_weight_floats(const fb_conv_geom *g)
{
    return (double)g->out_channels * g->in_channels * g->kernel * g->kernel;
}

static double conv_in_floats(const fb_conv_geom *g)
{
    return (double)g->batch * g->in_channels * g->in_h * g->in_w;
}

static double conv_out_floats(const fb_conv_geom *g)
{
    return (double)g->batch * g->out_channels * g->out_h * g->out_w;
}

static void t_conv2d_forward(float *out, const float *in, const float *weight, const float *bias,
                             const fb_conv_geom *g, void *workspace, size_t workspace_bytes)
{
    fb_trace_op *op = begin(FB_TRACE_CONV_FWD);
    double start = omp_get_wtime();
    real_backend->conv2d_forward(out, in, weight, bias, g, workspace, workspace_bytes);
    if (op) {
        name_by_param(op, weight);
        shape4(op->in_shape, g->batch, g->in_channels, g->in_h, g->in_w);
        shape4(op->out_shape, g->batch, g->out_channels, g->out_h, g->out_w);
        op->gemm_macs = conv_macs(g);
        op->flops = 2.0 * op->gemm_macs + (bias ? conv_out_floats(g) : 0.0);
        op->bytes = FLOAT_BYTES(conv_in_floats(g) + conv_weight_floats(g) + conv_out_floats(g) +
                                (bias ? g->out_channels : 0));
    }
    finish(op, start);
}

static void t_conv2d_backward_data(float *din, const float *dout, const float *weight,
                                   const fb_conv_geom *g, void *workspace, size_t workspace_bytes)
{
    fb_trace_op *op = begin(FB_TRACE_CONV_BWD_DATA);
    double start = omp_get_wtime();
    real_backend->conv2d_backward_data(din, dout, weight, g, workspace, workspace_bytes);
    if (op) {
        name_by_param(op, weight);
        shape4(op->in_shape, g->batch, g->out_channels, g->out_h, g->out_w);
        shape4(op->out_shape, g->batch, g->in_channels, g->in_h, g->in_w);
        op->gemm_macs = conv_macs(g);
        op->flops = 2.0 * op->gemm_macs;
        op->bytes = FLOAT_BYTES(conv_out_floats(g) + conv_weight_floats(g) + conv_in_floats(g));
    }
    finish(op, start);
}

static void t_conv2d_backward_filter(float *dweight, float *dbias, const float *dout,
                                     const float *in, const fb_conv_geom *g, void *workspace,
                                     size_t workspace_bytes)
{
    fb_trace_op *op = begin(FB_TRACE_CONV_BWD_FILTER);
    double start = omp_get_wtime();
    real_backend->conv2d_backward_filter(dweight, dbias, dout, in, g, workspace, workspace_bytes);
    if (op) {
        name_by_param(op, dweight);
        shape4(op->in_shape, g->batch, g->out_channels, g->out_h, g->out_w);
        shape4(op->out_shape, g->out_channels, g->in_channels, g->kernel, g->kernel);
        op->gemm_macs = conv_macs(g);
        op->flops = 2.0 * op->gemm_macs + (dbias ? conv_out_floats(g) : 0.0);
        op->bytes = FLOAT_BYTES(conv_out_floats(g) + conv_in_floats(g) + conv_weight_floats(g) +
                                (dbias ? g->out_channels : 0));
    }
    finish(op, start);
}

/* BatchNorm-like ops: M = batch·channels·spatial elements, `reads` + `writes`
 * tensors of M floats, flops_per_element from the conventions. */
static void elementwise_nc(fb_trace_op *op, int batch, int channels, int spatial,
                           double flops_per_element, int tensors_touched)
{
    double m = (double)batch * channels * spatial;
    shape_nc_spatial(op->in_shape, batch, channels, spatial);
    shape_nc_spatial(op->out_shape, batch, channels, spatial);
    op->flops = flops_per_element * m;
    op->bytes = FLOAT_BYTES(tensors_touched * m);
}

static void t_batchnorm_forward_train(float *out, float *save_mean, float *save_invstd,
                                      float *running_mean, float *running_var, const float *in,
                                      const float *gamma, const float *beta, int batch,
                                      int channels, int spatial, const fb_batch_view *view)
{
    fb_trace_op *op = begin(FB_TRACE_BN_FWD);
    double start = omp_get_wtime();
    real_backend->batchnorm_forward_train(out, save_mean, save_invstd, running_mean, running_var,
                                          in, gamma, beta, batch, channels, spatial, view);
    if (op) {
        name_by_param(op, gamma);
        elementwise_nc(op, batch, channels, spatial, 8.0, 2);
    }
    finish(op, start);
}

static void t_batchnorm_forward_eval(float *out, const float *in, const float *gamma,
                                     const float *beta, const float *running_mean,
                                     const float *running_var, int batch, int channels,
                                     int spatial)
{
    fb_trace_op *op = begin(FB_TRACE_BN_FWD_EVAL);
    double start = omp_get_wtime();
    real_backend->batchnorm_forward_eval(out, in, gamma, beta, running_mean, running_var, batch,
                                         channels, spatial);
    if (op) {
        name_by_param(op, gamma);
        elementwise_nc(op, batch, channels, spatial, 4.0, 2);
    }
    finish(op, start);
}

static void t_batchnorm_backward(float *din, float *dgamma, float *dbeta, const float *dout,
                                 const float *in, const float *gamma, const float *save_mean,
                                 const float *save_invstd, int batch, int channels, int spatial,
                                 const fb_batch_view *view)
{
    fb_trace_op *op = begin(FB_TRACE_BN_BWD);
    double start = omp_get_wtime();
    real_backend->batchnorm_backward(din, dgamma, dbeta, dout, in, gamma, save_mean, save_invstd,
                                     batch, channels, spatial, view);
    if (op) {
        name_by_param(op, gamma);
        elementwise_nc(op, batch, channels, spatial, 10.0, 3);
    }
    finish(op, start);
}

static void t_batchnorm_backward_eval(float *din, float *dgamma, float *dbeta, const float *dout,
                                      const float *in, const float *gamma,
                                      const float *running_mean, const float *running_var,
                                      int batch, int channels, int spatial)
{
    fb_trace_op *op = begin(FB_TRACE_BN_BWD_EVAL);
    double start = omp_get_wtime();
    real_backend->batchnorm_backward_eval(din, dgamma, dbeta, dout, in, gamma, running_mean,
                                          running_var, batch, channels, spatial);
    if (op) {
        name_by_param(op, gamma);
        elementwise_nc(op, batch, channels, spatial, 6.0, 3);
    }
    finish(op, start);
}

/* ReLU and add: the shape of the unit output they act on, when known */
static void unit_shape(fb_trace_op *op, const float *unit_output, size_t count)
{
    const conv_unit *unit = unit_with_output(unit_output);
    if (unit && conv_unit_out_floats(unit, traced_model->batch) == count)
        shape4(op->in_shape, traced_model->batch, unit->geom.out_channels, unit->geom.out_h,
               unit->geom.out_w);
    else
        shape_flat(op->in_shape, count);
    snprintf(op->out_shape, sizeof op->out_shape, "%s", op->in_shape);
}

/* A backward add sums the two gradients reaching a block's input: the
 * shape of that input, found through the block name the op already has. */
static void block_input_shape(fb_trace_op *op, size_t count)
{
    char module[FB_NAME_MAX], block[FB_NAME_MAX];
    for (int b = 0; b < traced_model->block_count; b++) {
        const fb_conv_geom *g = &traced_model->blocks[b].convs[0].geom;
        if (!module_of_param(traced_model->blocks[b].convs[0].weight->value, module))
            continue;
        block_of_module(module, block);
        if (strcmp(block, op->block) == 0 &&
            (size_t)traced_model->batch * g->in_channels * g->in_h * g->in_w == count) {
            shape4(op->in_shape, traced_model->batch, g->in_channels, g->in_h, g->in_w);
            snprintf(op->out_shape, sizeof op->out_shape, "%s", op->in_shape);
            return;
        }
    }
}

static void t_relu_forward(float *out, const float *in, size_t count)
{
    fb_trace_op *op = begin(FB_TRACE_RELU_FWD);
    double start = omp_get_wtime();
    real_backend->relu_forward(out, in, count);
    if (op) {
        name_by_output(op, out);
        unit_shape(op, out, count);
        op->flops = (double)count;
        op->bytes = FLOAT_BYTES(2.0 * count);
    }
    finish(op, start);
}

static void t_relu_backward(float *din, const float *dout, const float *out, size_t count)
{
    fb_trace_op *op = begin(FB_TRACE_RELU_BWD);
    double start = omp_get_wtime();
    real_backend->relu_backward(din, dout, out, count);
    if (op) {
        name_by_output(op, out);
        unit_shape(op, out, count);
        op->flops = (double)count;
        op->bytes = FLOAT_BYTES(3.0 * count);
    }
    finish(op, start);
}

static void t_add(float *out, const float *a, const float *b, size_t count)
{
    fb_trace_op *op = begin(FB_TRACE_ADD);
    double start = omp_get_wtime();
    real_backend->add(out, a, b, count);
    if (op) {
        /* forward: the block's output; backward: a gradient buffer, named
         * by the op before it (name_by_output's fallback) */
        op->pass = block_with_output(out) ? FB_PASS_FORWARD : FB_PASS_BACKWARD;
        name_by_output(op, out);
        unit_shape(op, out, count);
        if (op->pass == FB_PASS_BACKWARD)
            block_input_shape(op, count);
        op->flops = (double)count;
        op->bytes = FLOAT_BYTES(3.0 * count);
    }
    finish(op, start);
}

static void t_avgpool_forward(float *out, const float *in, int batch, int channels, int h, int w,
                              int k)
{
    fb_trace_op *op = begin(FB_TRACE_AVGPOOL_FWD);
    double start = omp_get_wtime();
    real_backend->avgpool_forward(out, in, batch, channels, h, w, k);
    if (op) {
        double in_floats = (double)batch * channels * h * w, out_floats = in_floats / (k * k);
        name_fixed(op, "avgpool", "pool");
        shape4(op->in_shape, batch, channels, h, w);
        shape4(op->out_shape, batch, channels, h / k, w / k);
        op->flops = in_floats + out_floats;
        op->bytes = FLOAT_BYTES(in_floats + out_floats);
    }
    finish(op, start);
}

static void t_avgpool_backward(float *din, const float *dout, int batch, int channels, int h,
                               int w, int k)
{
    fb_trace_op *op = begin(FB_TRACE_AVGPOOL_BWD);
    double start = omp_get_wtime();
    real_backend->avgpool_backward(din, dout, batch, channels, h, w, k);
    if (op) {
        double in_floats = (double)batch * channels * h * w, out_floats = in_floats / (k * k);
        name_fixed(op, "avgpool", "pool");
        shape4(op->in_shape, batch, channels, h / k, w / k);
        shape4(op->out_shape, batch, channels, h, w);
        op->flops = in_floats;
        op->bytes = FLOAT_BYTES(in_floats + out_floats);
    }
    finish(op, start);
}

static void t_linear_forward(float *out, const float *in, const float *weight, const float *bias,
                             int batch, int in_features, int out_features)
{
    fb_trace_op *op = begin(FB_TRACE_LINEAR_FWD);
    double start = omp_get_wtime();
    real_backend->linear_forward(out, in, weight, bias, batch, in_features, out_features);
    if (op) {
        double macs = (double)batch * in_features * out_features;
        name_by_param(op, weight);
        snprintf(op->in_shape, sizeof op->in_shape, "%dx%d", batch, in_features);
        snprintf(op->out_shape, sizeof op->out_shape, "%dx%d", batch, out_features);
        op->gemm_macs = macs;
        op->flops = 2.0 * macs + (bias ? (double)batch * out_features : 0.0);
        op->bytes = FLOAT_BYTES((double)batch * in_features + (double)in_features * out_features +
                                (double)batch * out_features + (bias ? out_features : 0));
    }
    finish(op, start);
}

static void t_linear_backward(float *din, float *dweight, float *dbias, const float *dout,
                              const float *in, const float *weight, int batch, int in_features,
                              int out_features)
{
    fb_trace_op *op = begin(FB_TRACE_LINEAR_BWD);
    double start = omp_get_wtime();
    real_backend->linear_backward(din, dweight, dbias, dout, in, weight, batch, in_features,
                                  out_features);
    if (op) {
        double macs = (double)batch * in_features * out_features, gemms = din ? 2.0 : 1.0;
        double in_floats = (double)batch * in_features, w_floats = (double)in_features * out_features;
        name_by_param(op, weight);
        snprintf(op->in_shape, sizeof op->in_shape, "%dx%d", batch, out_features);
        snprintf(op->out_shape, sizeof op->out_shape, "%dx%d", out_features, in_features);
        op->gemm_macs = gemms * macs;
        op->flops = 2.0 * op->gemm_macs + (dbias ? (double)batch * out_features : 0.0);
        op->bytes = FLOAT_BYTES((double)batch * out_features + in_floats + 2.0 * w_floats +
                                (din ? in_floats + w_floats : 0.0) + (dbias ? out_features : 0));
    }
    finish(op, start);
}

static void t_normalize_forward(float *out, const float *in, const float *mean, const float *std,
                                int batch, int channels, int spatial)
{
    fb_trace_op *op = begin(FB_TRACE_NORMALIZE_FWD);
    double start = omp_get_wtime();
    real_backend->normalize_forward(out, in, mean, std, batch, channels, spatial);
    if (op) {
        name_fixed(op, "normalize", "input");
        elementwise_nc(op, batch, channels, spatial, 3.0, 2);
    }
    finish(op, start);
}

static void t_normalize_backward(float *din, const float *dout, const float *in, const float *std,
                                 int batch, int channels, int spatial)
{
    fb_trace_op *op = begin(FB_TRACE_NORMALIZE_BWD);
    double start = omp_get_wtime();
    real_backend->normalize_backward(din, dout, in, std, batch, channels, spatial);
    if (op) {
        name_fixed(op, "normalize", "input");
        elementwise_nc(op, batch, channels, spatial, 2.0, 3);
    }
    finish(op, start);
}

static void t_cross_entropy_forward(float *loss, float *probs, const float *logits,
                                    const int32_t *labels, int batch, int classes,
                                    const fb_batch_view *view)
{
    fb_trace_op *op = begin(FB_TRACE_CE_FWD);
    double start = omp_get_wtime();
    real_backend->cross_entropy_forward(loss, probs, logits, labels, batch, classes, view);
    if (op) {
        double nk = (double)batch * classes;
        name_fixed(op, "cross_entropy", "loss");
        snprintf(op->in_shape, sizeof op->in_shape, "%dx%d", batch, classes);
        snprintf(op->out_shape, sizeof op->out_shape, "1");
        op->flops = 4.0 * nk + batch;
        op->bytes = FLOAT_BYTES(2.0 * nk + batch + 1);
    }
    finish(op, start);
}

static void t_cross_entropy_backward(float *dlogits, const float *probs, const int32_t *labels,
                                     int batch, int classes, const fb_batch_view *view)
{
    fb_trace_op *op = begin(FB_TRACE_CE_BWD);
    double start = omp_get_wtime();
    real_backend->cross_entropy_backward(dlogits, probs, labels, batch, classes, view);
    if (op) {
        double nk = (double)batch * classes;
        name_fixed(op, "cross_entropy", "loss");
        snprintf(op->in_shape, sizeof op->in_shape, "%dx%d", batch, classes);
        snprintf(op->out_shape, sizeof op->out_shape, "%dx%d", batch, classes);
        op->flops = 2.0 * nk;
        op->bytes = FLOAT_BYTES(2.0 * nk + batch);
    }
    finish(op, start);
}

static void t_sgd_step(float *param, float *momentum_buf, const float *grad, size_t count,
                       float lr, float momentum, float weight_decay, int first_step)
{
    fb_trace_op *op = begin(FB_TRACE_SGD);
    double start = omp_get_wtime();
    real_backend->sgd_step(param, momentum_buf, grad, count, lr, momentum, weight_decay,
                           first_step);
    if (op) {
        name_fixed(op, "sgd", "sgd");
        shape_flat(op->in_shape, count);
        shape_flat(op->out_shape, count);
        op->flops = 6.0 * count;
        op->bytes = FLOAT_BYTES(5.0 * count);
    }
    finish(op, start);
}

const fb_backend *fb_trace_backend(const fb_backend *real)
{
    if (!real || (strcmp(real->name, "cpu") != 0 && strcmp(real->name, "cpu-ref") != 0)) {
        fb_error(FB_ERR_UNSUPPORTED,
                 "trace: backend '%s' is not host-synchronous; trace times cpu and cpu-ref",
                 real ? real->name : "(none)");
        return NULL;
    }
    real_backend = real;
    fb_backend t = {
        .name = real->name,
        .alloc = t_alloc, .release = t_release, .to_device = t_to_device,
        .to_host = t_to_host, .zero = t_zero,
        .conv2d_workspace = t_conv2d_workspace, .conv2d_forward = t_conv2d_forward,
        .conv2d_backward_data = t_conv2d_backward_data,
        .conv2d_backward_filter = t_conv2d_backward_filter,
        .batchnorm_forward_train = t_batchnorm_forward_train,
        .batchnorm_forward_eval = t_batchnorm_forward_eval,
        .batchnorm_backward = t_batchnorm_backward,
        .batchnorm_backward_eval = t_batchnorm_backward_eval,
        .relu_forward = t_relu_forward, .relu_backward = t_relu_backward, .add = t_add,
        .avgpool_forward = t_avgpool_forward, .avgpool_backward = t_avgpool_backward,
        .linear_forward = t_linear_forward, .linear_backward = t_linear_backward,
        .normalize_forward = t_normalize_forward, .normalize_backward = t_normalize_backward,
        .cross_entropy_forward = t_cross_entropy_forward,
        .cross_entropy_backward = t_cross_entropy_backward, .sgd_step = t_sgd_step,
    };
    tracing_backend = t;
    return &tracing_backend;
}

fb_status fb_trace_step(fb_trace *trace, fb_model *model, const float *images,
                        const int32_t *labels, int n, float *loss)
{
    if (fb_model_backend(model) != &tracing_backend)
        return fb_error(FB_ERR_USAGE, "trace: the model was not created on fb_trace_backend()");
    const fb_model_config *c = fb_model_get_config(model);
    if (c->arch == FB_ARCH_TOYKERNEL || n < 1 || n > c->max_batch)
        return fb_error(FB_ERR_USAGE, "trace: needs a ResNet and a batch of 1..%d (got %d)",
                        c->max_batch, n);
    if (!trace->ops) {
        trace->ops = malloc(TRACE_MAX_OPS * sizeof *trace->ops);
        if (!trace->ops)
            return fb_error(FB_ERR_NOMEM, "trace: out of memory");
        trace->capacity = TRACE_MAX_OPS;
    }
    trace->count = 0;
    size_t image_bytes = (size_t)n * c->in_channels * c->image_size * c->image_size * sizeof(float);
    float *device_images = real_backend->alloc(image_bytes); /* [n, C, S, S] */
    if (!device_images)
        return fb_error(FB_ERR_NOMEM, "trace: out of memory for a batch of %d", n);
    real_backend->to_device(device_images, images, image_bytes);
    traced_model = model;
    recording = trace;
    fb_model_forward(model, device_images, n, 1);
    *loss = fb_model_loss(model, labels, n);
    fb_model_backward(model, NULL, 0);
    fb_model_sgd_step(model, 0.1f, 0.9f, 5e-4f);
    recording = NULL;
    traced_model = NULL;
    real_backend->release(device_images);
    return FB_OK;
}

void fb_trace_free(fb_trace *trace)
{
    free(trace->ops);
    trace->ops = NULL;
    trace->count = trace->capacity = 0;
}
