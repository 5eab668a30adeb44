/* freqbias/tensor.h — named tensors, the model registry, and arenas.
 *
 * A tensor here is deliberately plain: contiguous float32 in PyTorch order
 * (N,C,H,W for activations, O,I,kH,kW for conv weights), at most 4 dims, no
 * strides and no views. Integer counters (BatchNorm's num_batches_tracked) are
 * int64 scalars. Every tensor a model owns is listed once in its registry in
 * PyTorch state_dict() order under its PyTorch name, so checkpoints, the
 * optimizer and the parity tests can simply walk the list.
 *
 * Memory comes from arenas, one per role (parameters, gradients, optimizer
 * state, activations, workspace, ...). An arena is planned by a dry pass: the
 * model's build function runs once with every arena "measuring" (fb_arena_take
 * returns NULL and only adds up sizes), the arenas are allocated once, and the
 * build runs again handing out real pointers. Nothing is allocated inside a
 * training step. Every block is 64-byte aligned (AVX-512 loads, FFTW plans).
 */
#ifndef FREQBIAS_TENSOR_H
#define FREQBIAS_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "freqbias/error.h"

#define FB_MAX_DIMS 4
#define FB_NAME_MAX 96
#define FB_ALIGN 64

typedef enum fb_tensor_role {
    FB_ROLE_PARAM,   /* trainable: has a gradient and optimizer state      */
    FB_ROLE_BUFFER,  /* float state that is saved but not trained          */
    FB_ROLE_COUNTER  /* int64 scalar buffer (num_batches_tracked)          */
} fb_tensor_role;

typedef struct fb_tensor {
    char name[FB_NAME_MAX];   /* PyTorch state_dict key, e.g. "layer1.0.bn1.weight" */
    fb_tensor_role role;
    int ndim;                 /* 0 for a scalar                                     */
    int shape[FB_MAX_DIMS];
    size_t numel;
    float *value;             /* [numel] backend memory (NULL for counters)        */
    float *grad;              /* [numel] backend memory, parameters only            */
    float *momentum;          /* [numel] backend memory: SGD momentum buffer        */
    int64_t *counter;         /* [1] host memory, counters only                     */
    /* PyTorch's default initialisation: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) when
     * init_fan_in > 0 (conv/linear weight and bias), else the constant init_value. */
    int init_fan_in;
    float init_value;
} fb_tensor;

typedef struct fb_arena {
    const char *role;         /* "params", "activations", ... for messages  */
    uint8_t *base;
    size_t capacity, used;
    int measuring;            /* 1 during the dry pass                       */
    /* where the block lives: a backend's device allocator, or NULL for host
     * memory (aligned_alloc); zero clears it after allocation */
    void *(*alloc)(size_t bytes);
    void (*release)(void *ptr);
    void (*zero)(void *dst, size_t bytes);
} fb_arena;

/* Starts a dry pass: sizes are only summed. The arena's alloc/release/zero
 * hooks are kept (set them before, or leave NULL for host memory). */
void fb_arena_begin_measure(fb_arena *arena, const char *role);
/* Allocates exactly what was measured (zero-filled) and starts handing out. */
fb_status fb_arena_allocate(fb_arena *arena);
/* bytes rounded up to FB_ALIGN; NULL while measuring. Aborts with a message if
 * a non-measuring arena runs out (a planning bug, never a user error). */
void *fb_arena_take(fb_arena *arena, size_t bytes);
float *fb_arena_floats(fb_arena *arena, size_t count);
/* Rewinds a planned arena so the build pass hands out the same blocks. */
void fb_arena_rewind(fb_arena *arena);
void fb_arena_release(fb_arena *arena);

/* Registry: a growable list of tensors in state_dict order. */
typedef struct fb_registry {
    fb_tensor *tensors;
    int count, capacity;
} fb_registry;

fb_tensor *fb_registry_add(fb_registry *registry, const char *name, fb_tensor_role role,
                           int ndim, const int *shape);
fb_tensor *fb_registry_find(const fb_registry *registry, const char *name);
void fb_registry_clear(fb_registry *registry);
void fb_registry_release(fb_registry *registry);

size_t fb_shape_numel(int ndim, const int *shape);
/* "[8,3,3,3]" into buf; returns buf. */
char *fb_shape_string(int ndim, const int *shape, char *buf, size_t buflen);

#endif
