/* resnet.c — CIFAR ResNet-18/34/50 as in MadryLab robustness `cifar_models`.
 *
 * Forward (PyTorch module by module; S = input side, w = width):
 *   x̃      = (clamp(x, 0, 1) − mean) / std                     [N, C, S, S]
 *   stem    = relu(bn1(conv1(x̃)))         3×3, stride 1, no bias  [N, w, S, S]
 *   layer1..layer4: blocks with planes w·{1,2,4,8}, first block of layer
 *   2..4 has stride 2. BasicBlock: relu(bn2(conv2(relu(bn1(conv1 x)))) + sc x);
 *   Bottleneck (expansion 4): 1×1 → 3×3 (stride) → 1×1 ×4, same pattern.
 *   sc = 1×1 conv (stride) + BN when stride ≠ 1 or channels change, else x.
 *   features = avg_pool2d(layer4, 4) flattened  [N, 8w·expansion·(side/4)²]
 *   logits   = linear(features)                  [N, classes]
 * state_dict names: conv1, bn1, layerL.B.{conv1,bn1,conv2,bn2[,conv3,bn3]},
 * layerL.B.shortcut.{0,1}, linear — registered in exactly that order.
 *
 * Backward walks the same list in reverse; each step names the forward line
 * it undoes. Activation gradients rotate through four buffers sized for the
 * largest activation, so backward allocates nothing.
 */
#include <stdio.h>
#include <string.h>

#include "model_internal.h"

static const int basic_blocks_18[4] = {2, 2, 2, 2};
static const int blocks_34_50[4] = {3, 4, 6, 3};

static int expansion_of(fb_arch arch) { return arch == FB_ARCH_RESNET50 ? 4 : 1; }

/* Registers one block (names "layerL.B.*") and returns its output side. */
static int build_block(fb_model *m, res_block *block, int layer, int index, int in_planes,
                       int planes, int stride, int side)
{
    char conv[FB_NAME_MAX], bn[FB_NAME_MAX];
    int expansion = expansion_of(m->config.arch);
    memset(block, 0, sizeof *block);
    if (expansion == 1) {
        block->count = 2;
        snprintf(conv, sizeof conv, "layer%d.%d.conv1", layer, index);
        snprintf(bn, sizeof bn, "layer%d.%d.bn1", layer, index);
        conv_unit_build(m, &block->convs[0], conv, bn, in_planes, side, planes, 3, stride, 1, 0);
        int out_side = block->convs[0].geom.out_h;
        snprintf(conv, sizeof conv, "layer%d.%d.conv2", layer, index);
        snprintf(bn, sizeof bn, "layer%d.%d.bn2", layer, index);
        conv_unit_build(m, &block->convs[1], conv, bn, planes, out_side, planes, 3, 1, 1, 0);
    } else {
        block->count = 3;
        snprintf(conv, sizeof conv, "layer%d.%d.conv1", layer, index);
        snprintf(bn, sizeof bn, "layer%d.%d.bn1", layer, index);
        conv_unit_build(m, &block->convs[0], conv, bn, in_planes, side, planes, 1, 1, 0, 0);
        snprintf(conv, sizeof conv, "layer%d.%d.conv2", layer, index);
        snprintf(bn, sizeof bn, "layer%d.%d.bn2", layer, index);
        conv_unit_build(m, &block->convs[1], conv, bn, planes, side, planes, 3, stride, 1, 0);
        int out_side = block->convs[1].geom.out_h;
        snprintf(conv, sizeof conv, "layer%d.%d.conv3", layer, index);
        snprintf(bn, sizeof bn, "layer%d.%d.bn3", layer, index);
        conv_unit_build(m, &block->convs[2], conv, bn, planes, out_side, planes * 4, 1, 1, 0, 0);
    }
    if (stride != 1 || in_planes != planes * expansion) {
        block->has_projection = 1;
        snprintf(conv, sizeof conv, "layer%d.%d.shortcut.0", layer, index);
        snprintf(bn, sizeof bn, "layer%d.%d.shortcut.1", layer, index);
        conv_unit_build(m, &block->projection, conv, bn, in_planes, side, planes * expansion, 1,
                        stride, 0, 0);
    }
    return block->convs[block->count - 1].geom.out_h;
}

void resnet_build(fb_model *m)
{
    const fb_model_config *c = &m->config;
    const int *counts = c->arch == FB_ARCH_RESNET18 ? basic_blocks_18 : blocks_34_50;
    int expansion = expansion_of(c->arch), N = c->max_batch, S = c->image_size;
    size_t input_floats = (size_t)N * c->in_channels * S * S, largest = input_floats;

    m->norm_mean = fb_arena_floats(&m->buffers, (size_t)c->in_channels);
    m->norm_std = fb_arena_floats(&m->buffers, (size_t)c->in_channels);
    m->normalized = fb_arena_floats(&m->activations, input_floats);
    conv_unit_build(m, &m->stem, "conv1", "bn1", c->in_channels, S, c->width, 3, 1, 1, 0);
    if (conv_unit_out_floats(&m->stem, N) > largest)
        largest = conv_unit_out_floats(&m->stem, N);

    int in_planes = c->width, side = S;
    m->block_count = 0;
    for (int layer = 0; layer < 4; layer++) {
        int planes = c->width << layer;
        for (int i = 0; i < counts[layer]; i++) {
            int stride = (layer > 0 && i == 0) ? 2 : 1;
            res_block *block = &m->blocks[m->block_count++];
            side = build_block(m, block, layer + 1, i, in_planes, planes, stride, side);
            in_planes = planes * expansion;
            for (int u = 0; u < block->count; u++)
                if (conv_unit_out_floats(&block->convs[u], N) > largest)
                    largest = conv_unit_out_floats(&block->convs[u], N);
        }
    }
    m->final_side = side;
    m->pool_kernel = 4;
    int pooled_side = side / m->pool_kernel;
    m->feature_dim = in_planes * pooled_side * pooled_side;
    m->features = fb_arena_floats(&m->activations, (size_t)N * m->feature_dim);
    m->dfeatures = fb_arena_floats(&m->activations, (size_t)N * m->feature_dim);

    int wshape[2] = {c->num_classes, m->feature_dim}, bshape[1] = {c->num_classes};
    m->linear_weight = model_add_tensor(m, "linear.weight", FB_ROLE_PARAM, 2, wshape,
                                        m->feature_dim, 0.0f);
    m->linear_bias = model_add_tensor(m, "linear.bias", FB_ROLE_PARAM, 1, bshape, m->feature_dim,
                                      0.0f);
    m->logits = fb_arena_floats(&m->activations, (size_t)N * c->num_classes);
    m->probs = fb_arena_floats(&m->activations, (size_t)N * c->num_classes);
    m->dlogits = fb_arena_floats(&m->activations, (size_t)N * c->num_classes);
    m->loss_value = fb_arena_floats(&m->activations, 1);
    m->labels = fb_arena_take(&m->activations, (size_t)N * sizeof(int32_t));
    for (int i = 0; i < FB_GRAD_BUFFERS; i++)
        m->grad_buffers[i] = fb_arena_floats(&m->activations, largest);
    m->input_grad = fb_arena_floats(&m->activations, input_floats);
}

static void block_forward(fb_model *m, res_block *block, const float *in, int n)
{
    const float *x = in;
    block->in = in;
    for (int u = 0; u < block->count; u++) {
        int last = u == block->count - 1;
        conv_unit_forward(m, &block->convs[u], x, n, !last);
        x = block->convs[u].out;
    }
    conv_unit *tail = &block->convs[block->count - 1];
    const float *shortcut = in;
    if (block->has_projection) {
        conv_unit_forward(m, &block->projection, in, n, 0);
        shortcut = block->projection.out;
    }
    size_t count = conv_unit_out_floats(tail, n);
    m->backend->add(tail->out, tail->out, shortcut, count);
    m->backend->relu_forward(tail->out, tail->out, count);
}

float *resnet_forward(fb_model *m, const float *images, int n)
{
    const fb_backend *be = m->backend;
    const fb_model_config *c = &m->config;
    int spatial = c->image_size * c->image_size;
    be->normalize_forward(m->normalized, images, m->norm_mean, m->norm_std, n, c->in_channels,
                          spatial);
    conv_unit_forward(m, &m->stem, m->normalized, n, 1);
    const float *x = m->stem.out;
    for (int b = 0; b < m->block_count; b++) {
        block_forward(m, &m->blocks[b], x, n);
        x = m->blocks[b].convs[m->blocks[b].count - 1].out;
    }
    int channels = m->blocks[m->block_count - 1].convs[m->blocks[m->block_count - 1].count - 1].geom.out_channels;
    be->avgpool_forward(m->features, x, n, channels, m->final_side, m->final_side, m->pool_kernel);
    be->linear_forward(m->logits, m->features, m->linear_weight->value, m->linear_bias->value, n,
                       m->feature_dim, c->num_classes);
    return m->logits;
}

/* The first of the four gradient buffers that is none of the given ones. */
static float *free_buffer(fb_model *m, const float *a, const float *b, const float *c)
{
    for (int i = 0; i < FB_GRAD_BUFFERS; i++) {
        float *buf = m->grad_buffers[i];
        if (buf != a && buf != b && buf != c)
            return buf;
    }
    return NULL; /* unreachable: four buffers, at most three excluded */
}

/* dy: ∂L/∂(block output), overwritten. Returns the buffer holding ∂L/∂(block input). */
static float *block_backward(fb_model *m, res_block *block, float *dy, int n)
{
    conv_unit *tail = &block->convs[block->count - 1];
    size_t count = conv_unit_out_floats(tail, n);
    /* undoes: relu_forward(tail->out) after the add; dy becomes ∂L/∂(main + shortcut) */
    m->backend->relu_backward(dy, dy, tail->out, count);
    float *scratch = free_buffer(m, dy, NULL, NULL);
    float *current = dy, *result = NULL;
    for (int u = block->count - 1; u >= 0; u--) {
        float *din = free_buffer(m, dy, scratch, current);
        /* the tail's ReLU came after the add and is undone above */
        conv_unit_backward(m, &block->convs[u], din, current, scratch, n, u != block->count - 1);
        current = din;
    }
    result = current;
    size_t in_count = (size_t)n * block->convs[0].geom.in_channels * block->convs[0].geom.in_h *
                      block->convs[0].geom.in_w;
    if (block->has_projection) {
        /* undoes: shortcut = projection(in); dy is no longer needed after this */
        float *dshort = free_buffer(m, dy, scratch, result);
        conv_unit_backward(m, &block->projection, dshort, dy, scratch, n, 0);
        m->backend->add(result, result, dshort, in_count);
    } else {
        /* undoes: identity shortcut */
        m->backend->add(result, result, dy, in_count);
    }
    return result;
}

void resnet_backward(fb_model *m, const float *dlogits, int want_input_grad)
{
    const fb_backend *be = m->backend;
    const fb_model_config *c = &m->config;
    int n = m->batch;
    const conv_unit *last = &m->blocks[m->block_count - 1].convs[m->blocks[m->block_count - 1].count - 1];
    /* undoes: linear_forward(logits, features) */
    be->linear_backward(m->dfeatures, m->linear_weight->grad, m->linear_bias->grad, dlogits,
                        m->features, m->linear_weight->value, n, m->feature_dim, c->num_classes);
    /* undoes: avgpool_forward(features, layer4) */
    float *dy = m->grad_buffers[0];
    be->avgpool_backward(dy, m->dfeatures, n, last->geom.out_channels, m->final_side,
                         m->final_side, m->pool_kernel);
    for (int b = m->block_count - 1; b >= 0; b--)
        dy = block_backward(m, &m->blocks[b], dy, n);
    /* undoes: stem = relu(bn1(conv1(normalized))) */
    float *scratch = free_buffer(m, dy, NULL, NULL);
    float *dnormalized = want_input_grad ? free_buffer(m, dy, scratch, NULL) : NULL;
    conv_unit_backward(m, &m->stem, dnormalized, dy, scratch, n, 1);
    if (want_input_grad) /* undoes: normalize_forward(normalized, images) */
        be->normalize_backward(m->input_grad, dnormalized, m->input, m->norm_std, n,
                               c->in_channels, c->image_size * c->image_size);
}
