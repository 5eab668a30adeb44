/* tensor.c — arenas planned by a dry pass, and the state_dict-ordered
 * registry of named tensors (see freqbias/tensor.h for the why).
 */
#include "freqbias/tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t round_up(size_t bytes) { return (bytes + FB_ALIGN - 1) / FB_ALIGN * FB_ALIGN; }

void fb_arena_begin_measure(fb_arena *arena, const char *role)
{
    fb_arena_release(arena);
    arena->role = role;
    arena->measuring = 1;
}

fb_status fb_arena_allocate(fb_arena *arena)
{
    size_t capacity = arena->used > 0 ? arena->used : FB_ALIGN;
    arena->base = arena->alloc ? arena->alloc(capacity) : aligned_alloc(FB_ALIGN, capacity);
    if (!arena->base)
        return fb_error(FB_ERR_NOMEM, "cannot allocate %zu bytes for the %s arena", capacity,
                        arena->role);
    if (arena->zero)
        arena->zero(arena->base, capacity);
    else
        memset(arena->base, 0, capacity);
    arena->capacity = capacity;
    arena->used = 0;
    arena->measuring = 0;
    return FB_OK;
}

void *fb_arena_take(fb_arena *arena, size_t bytes)
{
    size_t size = round_up(bytes);
    if (arena->measuring) {
        arena->used += size;
        return NULL;
    }
    if (arena->used + size > arena->capacity) {
        fprintf(stderr, "freqbias: internal error: %s arena overflow (%zu + %zu > %zu)\n",
                arena->role, arena->used, size, arena->capacity);
        abort();
    }
    void *block = arena->base + arena->used;
    arena->used += size;
    return block;
}

float *fb_arena_floats(fb_arena *arena, size_t count)
{
    return fb_arena_take(arena, count * sizeof(float));
}

void fb_arena_rewind(fb_arena *arena) { arena->used = 0; }

void fb_arena_release(fb_arena *arena)
{
    if (arena->base && arena->release)
        arena->release(arena->base);
    else
        free(arena->base);
    arena->base = NULL;
    arena->capacity = arena->used = 0;
    arena->measuring = 0;
}

fb_tensor *fb_registry_add(fb_registry *registry, const char *name, fb_tensor_role role,
                           int ndim, const int *shape)
{
    if (registry->count == registry->capacity) {
        int capacity = registry->capacity ? registry->capacity * 2 : 64;
        fb_tensor *grown = realloc(registry->tensors, (size_t)capacity * sizeof *grown);
        if (!grown) {
            fprintf(stderr, "freqbias: out of memory growing the tensor registry\n");
            abort();
        }
        registry->tensors = grown;
        registry->capacity = capacity;
    }
    fb_tensor *tensor = &registry->tensors[registry->count++];
    memset(tensor, 0, sizeof *tensor);
    snprintf(tensor->name, sizeof tensor->name, "%s", name);
    tensor->role = role;
    tensor->ndim = ndim;
    for (int d = 0; d < ndim; d++)
        tensor->shape[d] = shape[d];
    tensor->numel = fb_shape_numel(ndim, shape);
    return tensor;
}

fb_tensor *fb_registry_find(const fb_registry *registry, const char *name)
{
    for (int i = 0; i < registry->count; i++)
        if (strcmp(registry->tensors[i].name, name) == 0)
            return &registry->tensors[i];
    return NULL;
}

void fb_registry_clear(fb_registry *registry) { registry->count = 0; }

void fb_registry_release(fb_registry *registry)
{
    free(registry->tensors);
    memset(registry, 0, sizeof *registry);
}

size_t fb_shape_numel(int ndim, const int *shape)
{
    size_t numel = 1;
    for (int d = 0; d < ndim; d++)
        numel *= (size_t)shape[d];
    return numel;
}

char *fb_shape_string(int ndim, const int *shape, char *buf, size_t buflen)
{
    size_t used = (size_t)snprintf(buf, buflen, "[");
    for (int d = 0; d < ndim && used < buflen; d++)
        used += (size_t)snprintf(buf + used, buflen - used, d ? ",%d" : "%d", shape[d]);
    if (used < buflen)
        snprintf(buf + used, buflen - used, "]");
    return buf;
}
