/* model.c — what every model shares: creation by a dry pass over the build
 * function, PyTorch-default initialisation, the conv(+BN+ReLU) unit, the
 * loss, and the SGD step over the flat parameter arena.
 *
 * Memory: parameters, gradients and momentum are three arenas with the same
 * layout (tensor i sits at the same offset in each), so one SGD call covers
 * every parameter and a future data-parallel mode is one all-reduce of the
 * gradient arena. BatchNorm running statistics live in "buffers".
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "freqbias/rng.h"
#include "core/batch_tree.h"
#include "model_internal.h"

fb_model_config fb_model_config_default(fb_arch arch)
{
    fb_model_config c;
    memset(&c, 0, sizeof c);
    c.arch = arch;
    c.width = 64;
    c.num_classes = 10;
    c.in_channels = 3;
    c.image_size = 32;
    c.max_batch = 128;
    c.toy_filters = 16;
    c.toy_kernel = 7;
    const float mean[3] = {0.4914f, 0.4822f, 0.4465f}, std[3] = {0.2023f, 0.1994f, 0.2010f};
    for (int i = 0; i < 3; i++) {
        c.norm_mean[i] = mean[i];
        c.norm_std[i] = std[i];
    }
    return c;
}

static const char *const arch_names[] = {"resnet18", "resnet34", "resnet50", "toykernel"};

const char *fb_arch_name(fb_arch arch) { return arch_names[arch]; }

fb_status fb_arch_parse(const char *name, fb_arch *arch)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(name, arch_names[i]) == 0) {
            *arch = (fb_arch)i;
            return FB_OK;
        }
    return fb_error(FB_ERR_USAGE, "unknown architecture '%s' (resnet18, resnet34, resnet50, toykernel)",
                    name);
}

fb_tensor *model_add_tensor(fb_model *m, const char *name, fb_tensor_role role, int ndim,
                            const int *shape, int init_fan_in, float init_value)
{
    fb_tensor *t = fb_registry_add(&m->registry, name, role, ndim, shape);
    t->init_fan_in = init_fan_in;
    t->init_value = init_value;
    if (role == FB_ROLE_PARAM) {
        t->value = fb_arena_floats(&m->params, t->numel);
        t->grad = fb_arena_floats(&m->grads, t->numel);
        t->momentum = fb_arena_floats(&m->momentum, t->numel);
    } else if (role == FB_ROLE_BUFFER) {
        t->value = fb_arena_floats(&m->buffers, t->numel);
    } else {
        t->counter = fb_arena_take(&m->counters, sizeof(int64_t));
    }
    return t;
}

size_t conv_unit_out_floats(const conv_unit *unit, int n)
{
    return (size_t)n * unit->geom.out_channels * unit->geom.out_h * unit->geom.out_w;
}

void conv_unit_build(fb_model *m, conv_unit *unit, const char *conv_name, const char *bn_name,
                     int in_channels, int in_side, int out_channels, int kernel, int stride,
                     int pad, int with_bias)
{
    char name[FB_NAME_MAX];
    memset(unit, 0, sizeof *unit);
    unit->geom = fb_conv_geom_make(m->config.max_batch, in_channels, in_side, in_side, out_channels,
                                   kernel, stride, pad);
    int wshape[4] = {out_channels, in_channels, kernel, kernel}, cshape[1] = {out_channels};
    snprintf(name, sizeof name, "%s.weight", conv_name);
    int fan_in = in_channels * kernel * kernel;
    unit->weight = model_add_tensor(m, name, FB_ROLE_PARAM, 4, wshape, fan_in, 0.0f);
    if (with_bias) {
        snprintf(name, sizeof name, "%s.bias", conv_name);
        unit->bias = model_add_tensor(m, name, FB_ROLE_PARAM, 1, cshape, fan_in, 0.0f);
    }
    size_t out_floats = conv_unit_out_floats(unit, m->config.max_batch);
    unit->conv_out = fb_arena_floats(&m->activations, out_floats);
    unit->out = unit->conv_out;
    if (bn_name) {
        snprintf(name, sizeof name, "%s.weight", bn_name);
        unit->gamma = model_add_tensor(m, name, FB_ROLE_PARAM, 1, cshape, 0, 1.0f);
        snprintf(name, sizeof name, "%s.bias", bn_name);
        unit->beta = model_add_tensor(m, name, FB_ROLE_PARAM, 1, cshape, 0, 0.0f);
        snprintf(name, sizeof name, "%s.running_mean", bn_name);
        unit->running_mean = model_add_tensor(m, name, FB_ROLE_BUFFER, 1, cshape, 0, 0.0f);
        snprintf(name, sizeof name, "%s.running_var", bn_name);
        unit->running_var = model_add_tensor(m, name, FB_ROLE_BUFFER, 1, cshape, 0, 1.0f);
        snprintf(name, sizeof name, "%s.num_batches_tracked", bn_name);
        unit->batches_tracked = model_add_tensor(m, name, FB_ROLE_COUNTER, 0, cshape, 0, 0.0f);
        unit->out = fb_arena_floats(&m->activations, out_floats);
        unit->save_mean = fb_arena_floats(&m->activations, (size_t)out_channels);
        unit->save_invstd = fb_arena_floats(&m->activations, (size_t)out_channels);
    }
    if (m->unit_count < (int)(sizeof m->units / sizeof *m->units))
        m->units[m->unit_count++] = unit;
    size_t workspace = m->backend->conv2d_workspace(&unit->geom);
    if (workspace > m->workspace_needed)
        m->workspace_needed = workspace;
}

/* The batch view the BatchNorm and loss ops get: the trainer's shard, or
 * NULL (the whole batch in this process). */
static const fb_batch_view *model_view(const fb_model *m)
{
    return m->has_view ? &m->view : NULL;
}

static fb_conv_geom geom_for_batch(const conv_unit *unit, int n)
{
    fb_conv_geom g = unit->geom;
    g.batch = n;
    return g;
}

void conv_unit_forward(fb_model *m, conv_unit *unit, const float *in, int n, int relu)
{
    const fb_backend *be = m->backend;
    fb_conv_geom g = geom_for_batch(unit, n);
    int spatial = g.out_h * g.out_w;
    double start = m->profiling ? omp_get_wtime() : 0.0;
    unit->in = in;
    be->conv2d_forward(unit->conv_out, in, unit->weight->value, unit->bias ? unit->bias->value : NULL,
                       &g, m->workspace.base, m->workspace.capacity);
    if (unit->gamma) {
        if (m->training) {
            be->batchnorm_forward_train(unit->out, unit->save_mean, unit->save_invstd,
                                        unit->running_mean->value, unit->running_var->value,
                                        unit->conv_out, unit->gamma->value, unit->beta->value, n,
                                        g.out_channels, spatial, model_view(m));
            unit->batches_tracked->counter[0] += 1;
        } else {
            be->batchnorm_forward_eval(unit->out, unit->conv_out, unit->gamma->value,
                                       unit->beta->value, unit->running_mean->value,
                                       unit->running_var->value, n, g.out_channels, spatial);
        }
    }
    if (relu)
        be->relu_forward(unit->out, unit->out, conv_unit_out_floats(unit, n));
    if (m->profiling)
        unit->forward_seconds += omp_get_wtime() - start;
}

void conv_unit_backward(fb_model *m, conv_unit *unit, float *din, float *dout, float *scratch,
                        int n, int relu)
{
    const fb_backend *be = m->backend;
    fb_conv_geom g = geom_for_batch(unit, n);
    int spatial = g.out_h * g.out_w;
    double start = m->profiling ? omp_get_wtime() : 0.0;
    if (relu) /* undoes: relu_forward(out, out) */
        be->relu_backward(dout, dout, unit->out, conv_unit_out_floats(unit, n));
    const float *dconv = dout;
    if (unit->gamma && m->training) { /* undoes: batchnorm_forward_train(out, conv_out) */
        be->batchnorm_backward(scratch, unit->gamma->grad, unit->beta->grad, dout, unit->conv_out,
                               unit->gamma->value, unit->save_mean, unit->save_invstd, n,
                               g.out_channels, spatial, model_view(m));
        dconv = scratch;
    } else if (unit->gamma) { /* undoes: batchnorm_forward_eval(out, conv_out) */
        be->batchnorm_backward_eval(scratch, unit->gamma->grad, unit->beta->grad, dout,
                                    unit->conv_out, unit->gamma->value, unit->running_mean->value,
                                    unit->running_var->value, n, g.out_channels, spatial);
        dconv = scratch;
    }
    /* undoes: conv2d_forward(conv_out, in) */
    be->conv2d_backward_filter(unit->weight->grad, unit->bias ? unit->bias->grad : NULL, dconv,
                               unit->in, &g, m->workspace.base, m->workspace.capacity);
    if (din)
        be->conv2d_backward_data(din, dconv, unit->weight->value, &g, m->workspace.base,
                                 m->workspace.capacity);
    if (m->profiling)
        unit->backward_seconds += omp_get_wtime() - start;
}

/* Runs the architecture's build function. Tensor pointers it stores are
 * valid only after the second (real) pass: the dry pass may grow the
 * registry, the real pass reuses its storage without reallocating. */
static void build(fb_model *m)
{
    fb_registry_clear(&m->registry);
    m->unit_count = 0;
    if (m->config.arch == FB_ARCH_TOYKERNEL)
        toykernel_build(m);
    else
        resnet_build(m);
}

static fb_status validate_config(const fb_model_config *c)
{
    if (c->max_batch < 1 || c->max_batch > FB_MODEL_MAX_BATCH)
        return fb_error(FB_ERR_USAGE, "model: max_batch must be 1..%d (got %d)", FB_MODEL_MAX_BATCH,
                        c->max_batch);
    if (c->in_channels < 1 || c->in_channels > 4)
        return fb_error(FB_ERR_USAGE, "model: in_channels must be 1..4 (got %d)", c->in_channels);
    if (c->image_size < 1 || c->image_size > FB_MODEL_MAX_IMAGE)
        return fb_error(FB_ERR_USAGE, "model: image_size must be 1..%d (got %d)", FB_MODEL_MAX_IMAGE,
                        c->image_size);
    if (c->arch == FB_ARCH_TOYKERNEL) {
        if (c->toy_filters < 1 || c->toy_filters > FB_MODEL_MAX_TOY_FILTERS || c->toy_kernel < 1 ||
            c->toy_kernel > FB_MODEL_MAX_TOY_KERNEL || c->toy_kernel % 2 == 0)
            return fb_error(FB_ERR_USAGE, "toy model: need 1..%d filters and an odd kernel of 1..%d "
                            "(got %d, %d)", FB_MODEL_MAX_TOY_FILTERS, FB_MODEL_MAX_TOY_KERNEL,
                            c->toy_filters, c->toy_kernel);
        return FB_OK;
    }
    if (c->width < 1 || c->width > FB_MODEL_MAX_WIDTH || c->num_classes < 1 ||
        c->num_classes > FB_MODEL_MAX_CLASSES)
        return fb_error(FB_ERR_USAGE, "model: width must be 1..%d and num_classes 1..%d (got %d, %d)",
                        FB_MODEL_MAX_WIDTH, FB_MODEL_MAX_CLASSES, c->width, c->num_classes);
    if (c->image_size < 25)
        return fb_error(FB_ERR_USAGE,
                        "model: input side %d too small (the ResNets pool 4×4 after three stride-2 stages; use ≥ 25)",
                        c->image_size);
    for (int i = 0; i < c->in_channels; i++)
        if (!(c->norm_std[i] > 0.0f))
            return fb_error(FB_ERR_USAGE, "model: normaliser std of channel %d must be > 0", i);
    return FB_OK;
}

fb_status fb_model_create(fb_model **out, const fb_model_config *config, const fb_backend *backend)
{
    *out = NULL;
    FB_TRY(validate_config(config));
    FB_TRY(fb_backend_check(backend));
    fb_model *m = calloc(1, sizeof *m);
    if (!m)
        return fb_error(FB_ERR_NOMEM, "model: out of memory");
    m->config = *config;
    if (config->arch != FB_ARCH_TOYKERNEL && config->in_channels == 1 && config->norm_std[0] == 0.2023f) {
        m->config.norm_mean[0] = 0.1307f; /* MNIST statistics for one-channel data */
        m->config.norm_std[0] = 0.3081f;
    }
    m->backend = backend;
    /* device memory of the backend; the int64 BatchNorm counters stay on the host */
    fb_arena *arenas[] = {&m->params, &m->grads, &m->momentum, &m->buffers, &m->activations,
                          &m->counters};
    const char *roles[] = {"parameters", "gradients", "momentum", "buffers", "activations",
                           "counters"};
    for (int i = 0; i < 6; i++) {
        if (arenas[i] != &m->counters) {
            arenas[i]->alloc = backend->alloc;
            arenas[i]->release = backend->release;
            arenas[i]->zero = backend->zero;
        }
        fb_arena_begin_measure(arenas[i], roles[i]);
    }
    m->workspace.alloc = backend->alloc;
    m->workspace.release = backend->release;
    m->workspace.zero = backend->zero;
    fb_arena_begin_measure(&m->workspace, "workspace");
    build(m); /* dry pass: sizes only */
    fb_status status = FB_OK;
    for (int i = 0; i < 6 && status == FB_OK; i++)
        status = fb_arena_allocate(arenas[i]);
    m->workspace.used = m->workspace_needed;
    if (status == FB_OK)
        status = fb_arena_allocate(&m->workspace);
    if (status != FB_OK) {
        fb_model_free(m);
        return status;
    }
    build(m); /* real pass: pointers */
    if (m->norm_mean) {
        backend->to_device(m->norm_mean, m->config.norm_mean,
                           (size_t)m->config.in_channels * sizeof(float));
        backend->to_device(m->norm_std, m->config.norm_std,
                           (size_t)m->config.in_channels * sizeof(float));
    }
    *out = m;
    return FB_OK;
}

void fb_model_free(fb_model *m)
{
    if (!m)
        return;
    fb_arena *arenas[] = {&m->params, &m->grads, &m->momentum, &m->buffers, &m->activations,
                          &m->counters, &m->workspace};
    for (int i = 0; i < 7; i++)
        fb_arena_release(arenas[i]);
    fb_registry_release(&m->registry);
    free(m);
}

const fb_model_config *fb_model_get_config(const fb_model *m) { return &m->config; }
const fb_backend *fb_model_backend(const fb_model *m) { return m->backend; }
fb_registry *fb_model_registry(fb_model *m) { return &m->registry; }

size_t fb_model_param_count(const fb_model *m)
{
    size_t count = 0;
    for (int i = 0; i < m->registry.count; i++)
        if (m->registry.tensors[i].role == FB_ROLE_PARAM)
            count += m->registry.tensors[i].numel;
    return count;
}

void fb_model_init(fb_model *m, uint64_t seed)
{
    size_t largest = 0;
    for (int i = 0; i < m->registry.count; i++)
        if (m->registry.tensors[i].numel > largest)
            largest = m->registry.tensors[i].numel;
    float *staging = malloc(largest * sizeof(float)); /* [largest tensor] host copy */
    if (!staging) {
        fprintf(stderr, "freqbias: out of memory initialising the model\n");
        abort();
    }
    for (int i = 0; i < m->registry.count; i++) {
        fb_tensor *t = &m->registry.tensors[i];
        if (t->role == FB_ROLE_COUNTER) {
            t->counter[0] = 0;
            continue;
        }
        if (t->init_fan_in > 0) {
            /* kaiming_uniform(a=√5) = U(−b, b) with b = 1/sqrt(fan_in); the
             * bias uses the same bound. Element j of tensor i draws counter
             * (seed, INIT, i, j), so the result is independent of threads. */
            float bound = (float)(1.0 / sqrt((double)t->init_fan_in));
            for (size_t j = 0; j < t->numel; j++) {
                float u = fb_rng_uniform(seed, FB_STREAM_INIT, (uint32_t)i, j);
                staging[j] = (2.0f * u - 1.0f) * bound;
            }
        } else {
            for (size_t j = 0; j < t->numel; j++)
                staging[j] = t->init_value;
        }
        m->backend->to_device(t->value, staging, t->numel * sizeof(float));
    }
    free(staging);
    fb_model_reset_optimizer(m);
}

fb_status fb_model_set_batch_view(fb_model *m, const fb_batch_view *view)
{
    if (!view) {
        m->has_view = 0;
        return FB_OK;
    }
    fb_tree_node shard = {view->lo, view->hi};
    if (view->total < 1 || view->lo < 0 || view->hi < view->lo || view->hi > view->total ||
        !fb_tree_is_node(view->total, shard))
        return fb_error(FB_ERR_USAGE,
                        "model: batch view [%d, %d) of %d is not a node of the batch tree",
                        view->lo, view->hi, view->total);
    if (view->hi - view->lo > m->config.max_batch)
        return fb_error(FB_ERR_USAGE, "model: batch view of %d samples exceeds max_batch %d",
                        view->hi - view->lo, m->config.max_batch);
    m->view = *view;
    m->has_view = 1;
    return FB_OK;
}

float *fb_model_forward(fb_model *m, const float *images, int n, int training)
{
    if (n < 1 || n > m->config.max_batch) {
        fprintf(stderr, "freqbias: internal error: batch %d outside 1..%d\n", n, m->config.max_batch);
        abort();
    }
    int shard = m->has_view ? m->view.hi - m->view.lo : n;
    if (m->has_view && n != (shard > 0 ? shard : 1)) { /* an empty shard runs one stand-in */
        fprintf(stderr, "freqbias: internal error: batch %d but the batch view holds [%d, %d)\n",
                n, m->view.lo, m->view.hi);
        abort();
    }
    m->input = images;
    m->batch = n;
    m->training = training;
    m->input_grad_valid = 0;
    if (m->config.arch == FB_ARCH_TOYKERNEL)
        return toykernel_forward(m, images, n);
    return resnet_forward(m, images, n);
}

float fb_model_loss(fb_model *m, const int32_t *labels, int n)
{
    float loss;
    m->backend->to_device(m->labels, labels, (size_t)n * sizeof(int32_t));
    m->backend->cross_entropy_forward(m->loss_value, m->probs, m->logits, m->labels, n,
                                      m->config.num_classes, model_view(m));
    m->backend->to_host(&loss, m->loss_value, sizeof loss);
    return loss;
}

void fb_model_backward(fb_model *m, const float *doutput, int want_input_grad)
{
    if (m->config.arch == FB_ARCH_TOYKERNEL) {
        toykernel_backward(m, doutput, want_input_grad);
    } else {
        if (!doutput) { /* undoes: cross_entropy_forward(loss, logits) */
            m->backend->cross_entropy_backward(m->dlogits, m->probs, m->labels, m->batch,
                                               m->config.num_classes, model_view(m));
            doutput = m->dlogits;
        }
        resnet_backward(m, doutput, want_input_grad);
    }
    m->input_grad_valid = want_input_grad;
}

const float *fb_model_input_grad(const fb_model *m)
{
    return m->input_grad_valid ? m->input_grad : NULL;
}

const float *fb_model_features(const fb_model *m) { return m->features; }
int fb_model_feature_dim(const fb_model *m) { return m->feature_dim; }

void fb_model_sgd_step(fb_model *m, float lr, float momentum, float weight_decay)
{
    /* params, grads and momentum share one layout: one call covers them all
     * (alignment padding is zero in all three and stays zero). */
    m->backend->sgd_step((float *)m->params.base, (float *)m->momentum.base,
                         (const float *)m->grads.base, m->params.capacity / sizeof(float), lr,
                         momentum, weight_decay, m->sgd_steps == 0);
    m->sgd_steps++;
}

float *fb_model_gradients(fb_model *m, size_t *count)
{
    *count = m->grads.capacity / sizeof(float);
    return (float *)m->grads.base;
}

long fb_model_sgd_steps(const fb_model *m) { return m->sgd_steps; }
void fb_model_set_sgd_steps(fb_model *m, long steps) { m->sgd_steps = steps; }

void fb_model_reset_optimizer(fb_model *m)
{
    m->sgd_steps = 0;
    m->backend->zero(m->momentum.base, m->momentum.capacity);
}

void fb_model_set_profiling(fb_model *m, int enabled)
{
    m->profiling = enabled;
    for (int i = 0; i < m->unit_count; i++)
        m->units[i]->forward_seconds = m->units[i]->backward_seconds = 0.0;
}

int fb_model_layer_count(const fb_model *m) { return m->unit_count; }

fb_layer_profile fb_model_layer_profile(const fb_model *m, int index, int batch)
{
    const conv_unit *u = m->units[index];
    fb_layer_profile p;
    snprintf(p.name, sizeof p.name, "%s", u->weight->name);
    char *suffix = strstr(p.name, ".weight");
    if (suffix)
        *suffix = '\0';
    p.forward_ms = u->forward_seconds * 1e3;
    p.backward_ms = u->backward_seconds * 1e3;
    p.forward_flops = 2.0 * batch * u->geom.out_channels * u->geom.out_h * u->geom.out_w *
                      (double)u->geom.in_channels * u->geom.kernel * u->geom.kernel;
    return p;
}
