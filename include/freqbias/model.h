/* freqbias/model.h — the models, written out by hand (forward and backward).
 *
 * CIFAR ResNet-18/34 (BasicBlock) and ResNet-50 (Bottleneck) exactly as
 * MadryLab robustness `cifar_models` (also kuangliu's pytorch-cifar), with
 * robustness's input normaliser folded in as the first op, and the CDES toy
 * model Conv2d(3→n, k×k, pad k/2, bias) → Conv2d(n→3, k×k, pad k/2, bias).
 *
 * Usage (every pointer is device memory of the model's backend):
 *   fb_model *m; fb_model_create(&m, &config, &fb_backend_cpu);
 *   fb_model_init(m, seed);                       // PyTorch-default init
 *   float *logits = fb_model_forward(m, images, n, 1);   // [n, classes]
 *   float loss = fb_model_loss(m, labels, n);            // mean CE
 *   fb_model_backward(m, NULL, 1);               // grads (+ input gradient)
 *   fb_model_sgd_step(m, 0.1f, 0.9f, 5e-4f);
 * All tensors live in arenas sized at creation for config.max_batch; nothing
 * is allocated in forward/backward/step.
 */
#ifndef FREQBIAS_MODEL_H
#define FREQBIAS_MODEL_H

#include <stdint.h>

#include "freqbias/backend.h"
#include "freqbias/batch_view.h"
#include "freqbias/tensor.h"

typedef enum fb_arch {
    FB_ARCH_RESNET18,
    FB_ARCH_RESNET34,
    FB_ARCH_RESNET50,
    FB_ARCH_TOYKERNEL
} fb_arch;

typedef struct fb_model_config {
    fb_arch arch;
    int width;          /* ResNet base channels (64 = the paper's models)      */
    int num_classes;    /* ResNets                                             */
    int in_channels;    /* 3 for CIFAR, 1 for MNIST-like data                  */
    int image_size;     /* square input side: 32 for CIFAR, 28 for MNIST       */
    int max_batch;      /* largest batch forward() will see                    */
    int toy_filters;    /* CDES toy model: n (16 in the paper)                 */
    int toy_kernel;     /* CDES toy model: k (7 in the paper), odd             */
    float norm_mean[4]; /* per input channel (ResNets); defaults by in_channels */
    float norm_std[4];
} fb_model_config;

typedef struct fb_model fb_model;

/* Limits every config must meet (README "Limits"), checked by
 * fb_model_create and, before a file's metadata builds a model, by
 * fb_checkpoint_inspect. They are far above the paper's models and keep
 * every shape product of the geometry inside an int (width 1024 → at most
 * 32,768 channels; a 512² input → at most 262,144 pixels a plane). */
#define FB_MODEL_MAX_WIDTH 1024          /* the paper: 64                 */
#define FB_MODEL_MAX_CLASSES 100000      /* ImageNet-21k has 21,841       */
#define FB_MODEL_MAX_IMAGE 512           /* CIFAR 32, MNIST 28            */
#define FB_MODEL_MAX_TOY_FILTERS 1024    /* the paper: 16                 */
#define FB_MODEL_MAX_TOY_KERNEL 31       /* the paper: 7 (odd, < 32)      */
#define FB_MODEL_MAX_BATCH 65536

/* A config with the robustness defaults for arch (width 64, 10 classes, 3
 * channels, 32×32, CIFAR mean/std; 1 channel gets MNIST's 0.1307/0.3081). */
fb_model_config fb_model_config_default(fb_arch arch);

const char *fb_arch_name(fb_arch arch);
fb_status fb_arch_parse(const char *name, fb_arch *arch);

fb_status fb_model_create(fb_model **model, const fb_model_config *config,
                          const fb_backend *backend);
void fb_model_free(fb_model *model);

const fb_model_config *fb_model_get_config(const fb_model *model);
const fb_backend *fb_model_backend(const fb_model *model);
/* Every tensor in PyTorch state_dict() order with its PyTorch name. */
fb_registry *fb_model_registry(fb_model *model);
/* Number of trainable scalars. */
size_t fb_model_param_count(const fb_model *model);

/* PyTorch-default initialisation from the counter RNG: conv and linear
 * weights and biases U(−1/√fan_in, 1/√fan_in) (kaiming_uniform a=√5),
 * BatchNorm γ=1, β=0, running mean 0, var 1, batches 0. Resets SGD. */
void fb_model_init(fb_model *model, uint64_t seed);

/* Data-parallel training: this process holds the shard [view->lo, view->hi)
 * of a batch of view->total samples (a node of the batch tree,
 * core/batch_tree.h), and view->combine merges BatchNorm's and the loss's
 * sums with the other shards' (freqbias/batch_view.h). Until it is cleared
 * (view NULL), every fb_model_forward must pass n = hi − lo samples; the
 * training forward then normalises with the whole batch's statistics, the
 * loss is the whole batch's mean, and the gradients are this shard's share
 * (added across shards in the tree's order they give the whole batch's).
 * An empty shard [hi, hi) (fb_tree_shard gives one to the surplus ranks of
 * a small batch) still joins every combine, with the same counts in the
 * same order: it runs the step on ONE stand-in sample (n = 1, any image and
 * label), whose partials and gradients the tree never reads — a parent
 * that is a leaf passes its left child's sum up unchanged.
 * FB_ERR_USAGE if the shard is not a node of the tree or exceeds max_batch. */
fb_status fb_model_set_batch_view(fb_model *model, const fb_batch_view *view);

/* images[n, C, S, S] in [0,1] pixel space (ResNets) → logits[n, classes]
 * (toy model: output[n, 3, S, S]). training = 1 uses batch statistics and
 * updates the running ones; 0 uses the running ones. */
float *fb_model_forward(fb_model *model, const float *images, int n, int training);

/* Mean cross-entropy of the last forward's logits against labels[n]
 * (device int32), returned to the host; keeps probabilities for backward. */
float fb_model_loss(fb_model *model, const int32_t *labels, int n);

/* Backward of the last forward (train or eval mode: after an eval forward
 * BatchNorm is the fixed affine map of its running statistics, which is what
 * input-gradient analyses of a trained model need). doutput = NULL uses the cross-entropy from
 * fb_model_loss (ResNets); else doutput has the forward output's shape.
 * Parameter gradients are OVERWRITTEN (PyTorch after zero_grad()). With
 * want_input_grad, also ∂L/∂images (through the normaliser's clamp). */
void fb_model_backward(fb_model *model, const float *doutput, int want_input_grad);
const float *fb_model_input_grad(const fb_model *model); /* [n, C, S, S] */
/* Penultimate features of the last forward: [n, fb_model_feature_dim()]. */
const float *fb_model_features(const fb_model *model);
int fb_model_feature_dim(const fb_model *model);

/* One PyTorch SGD step over all parameters (see fb_backend.sgd_step). */
void fb_model_sgd_step(fb_model *model, float lr, float momentum, float weight_decay);
/* Every parameter gradient of the last backward, on the model's backend:
 * one block of *count floats (the tensors in registry order, alignment
 * padding zero) that a data-parallel trainer adds across shards in one
 * allreduce before fb_model_sgd_step. */
float *fb_model_gradients(fb_model *model, size_t *count);
/* SGD steps taken since init/reset (the momentum buffer starts at step 0). */
long fb_model_sgd_steps(const fb_model *model);
/* Restores the step count when resuming (the momentum buffers are restored
 * through the registry's momentum pointers). */
void fb_model_set_sgd_steps(fb_model *model, long steps);
void fb_model_reset_optimizer(fb_model *model);

/* Profiling (benchmarks): time spent in each conv unit (conv + BN + ReLU),
 * accumulated over the forward/backward calls made while enabled.
 * Enabling resets the counters. */
typedef struct fb_layer_profile {
    char name[FB_NAME_MAX];   /* the conv's state_dict prefix, e.g. "layer2.0.conv1" */
    double forward_ms, backward_ms;
    double forward_flops;     /* conv multiply-adds × 2 for one forward of `batch` */
} fb_layer_profile;

void fb_model_set_profiling(fb_model *model, int enabled);
int fb_model_layer_count(const fb_model *model);
fb_layer_profile fb_model_layer_profile(const fb_model *model, int index, int batch);

#endif
