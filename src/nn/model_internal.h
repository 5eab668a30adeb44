/* model_internal.h — what resnet.c and toykernel.c share with model.c.
 *
 * A model is built by a function that runs twice (the dry pass of
 * freqbias/tensor.h): it registers tensors in state_dict order and takes
 * activation memory from the arenas. The "conv unit" is the building brick:
 * a conv (optionally with bias) followed by an optional BatchNorm and ReLU.
 */
#ifndef FREQBIAS_MODEL_INTERNAL_H
#define FREQBIAS_MODEL_INTERNAL_H

#include "freqbias/model.h"

#define FB_MAX_BLOCKS 16
#define FB_GRAD_BUFFERS 4

typedef struct conv_unit {
    fb_conv_geom geom;            /* at max_batch; .batch is set per call       */
    fb_tensor *weight;            /* [OC, IC, K, K]                             */
    fb_tensor *bias;              /* [OC] or NULL                               */
    fb_tensor *gamma, *beta;      /* [OC] BatchNorm affine, NULL without BN     */
    fb_tensor *running_mean, *running_var; /* [OC]                              */
    fb_tensor *batches_tracked;   /* int64 scalar                               */
    float *conv_out;              /* [N, OC, OH, OW] the conv's output          */
    float *out;                   /* [N, OC, OH, OW] after BN (+ ReLU in place); = conv_out without BN */
    float *save_mean, *save_invstd; /* [OC] batch statistics for backward      */
    const float *in;              /* [N, IC, H, W] the input of the last forward */
    double forward_seconds, backward_seconds; /* accumulated while profiling   */
} conv_unit;

/* A residual block: convs[0..count) in series, plus a shortcut (a 1×1 conv +
 * BN when the shape changes, else identity). Output = relu(main + shortcut),
 * stored in convs[count-1].out. */
typedef struct res_block {
    conv_unit convs[3];
    int count;
    int has_projection;
    conv_unit projection;
    const float *in;
} res_block;

struct fb_model {
    fb_model_config config;
    const fb_backend *backend;
    fb_registry registry;
    fb_arena params, grads, momentum, buffers, activations, workspace; /* backend memory */
    fb_arena counters;            /* host: int64 num_batches_tracked        */
    size_t workspace_needed;      /* largest conv workspace, from the dry pass  */

    /* ResNet */
    conv_unit stem;
    res_block blocks[FB_MAX_BLOCKS];
    int block_count;
    fb_tensor *linear_weight, *linear_bias;
    int feature_dim, final_side, pool_kernel;
    float *norm_mean, *norm_std;  /* [C] device copies                          */
    float *normalized;            /* [N, C, S, S] normaliser output             */
    float *features;              /* [N, feature_dim] pooled                    */
    float *logits, *probs;        /* [N, classes]                               */
    float *dlogits, *dfeatures;   /* [N, classes], [N, feature_dim]             */
    float *loss_value;            /* [1]                                        */
    int32_t *labels;              /* [N] labels of the last loss (device)       */

    /* CDES toy model */
    conv_unit toy[2];

    conv_unit *units[128];        /* every conv unit in build order (profiling) */
    int unit_count, profiling;

    float *grad_buffers[FB_GRAD_BUFFERS]; /* each [largest activation]          */
    float *input_grad;            /* [N, C, S, S]                               */
    const float *input;           /* the last forward's images                  */
    int batch, training, input_grad_valid;
    long sgd_steps;
    fb_batch_view view;           /* the shard a trainer set (batch_view.h)    */
    int has_view;                 /* 0: every batch is whole, in this process   */
};

/* Adds a tensor to the registry and takes its storage from the arenas
 * (parameters get value, gradient and momentum at the same offsets). */
fb_tensor *model_add_tensor(fb_model *m, const char *name, fb_tensor_role role, int ndim,
                            const int *shape, int init_fan_in, float init_value);

/* Registers a conv (+ BN) unit named prefix ("layer1.0.conv1" / bn "layer1.0.bn1")
 * and takes its activations. bn_name NULL = no BN; with_bias adds "<conv>.bias". */
void conv_unit_build(fb_model *m, conv_unit *unit, const char *conv_name, const char *bn_name,
                     int in_channels, int in_side, int out_channels, int kernel, int stride,
                     int pad, int with_bias);
/* out = [relu](bn(conv(in))) for batch n */
void conv_unit_forward(fb_model *m, conv_unit *unit, const float *in, int n, int relu);
/* dout: gradient w.r.t. unit->out (after the ReLU when relu=1; modified in
 * place). Writes the parameter gradients; din (may be NULL) gets ∂L/∂in.
 * scratch holds ∂L/∂conv_out ([N, OC, OH, OW]). */
void conv_unit_backward(fb_model *m, conv_unit *unit, float *din, float *dout, float *scratch,
                        int n, int relu);

size_t conv_unit_out_floats(const conv_unit *unit, int n);

void resnet_build(fb_model *m);
float *resnet_forward(fb_model *m, const float *images, int n);
void resnet_backward(fb_model *m, const float *dlogits, int want_input_grad);

void toykernel_build(fb_model *m);
float *toykernel_forward(fb_model *m, const float *images, int n);
void toykernel_backward(fb_model *m, const float *doutput, int want_input_grad);

#endif
