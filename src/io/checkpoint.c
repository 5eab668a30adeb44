/* checkpoint.c — model state_dict ⇄ safetensors (see freqbias/checkpoint.h).
 *
 * Save walks the registry in state_dict order. Load reads and validates the
 * file (safetensors.c), maps each stored name to a model name (stripping the
 * robustness/DataParallel prefixes, skipping the attacker's and normaliser's
 * copies), and checks every tensor before copying any, so a mismatching file
 * leaves the model untouched. Files are told apart by content, not by name:
 * a torch.save zip (or legacy pickle) goes to torch_pt.c, anything else to
 * the safetensors reader; both fill the same fb_st_file.
 */
#include "freqbias/checkpoint.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "freqbias/safetensors.h"
#include "freqbias/torch_pt.h"

#define MAX_REPORTED 5

static const char *const ignored_prefixes[] = {"module.attacker.", "module.normalizer.",
                                               "attacker.", "normalizer."};
static const char *const stripped_prefixes[] = {"module.model.", "module."};

/* The model name a stored tensor maps to, or NULL if it is to be ignored. */
static const char *model_name_of(const char *stored)
{
    for (size_t i = 0; i < sizeof ignored_prefixes / sizeof *ignored_prefixes; i++)
        if (strncmp(stored, ignored_prefixes[i], strlen(ignored_prefixes[i])) == 0)
            return NULL;
    for (size_t i = 0; i < sizeof stripped_prefixes / sizeof *stripped_prefixes; i++)
        if (strncmp(stored, stripped_prefixes[i], strlen(stripped_prefixes[i])) == 0)
            return stored + strlen(stripped_prefixes[i]);
    return stored;
}

fb_status fb_checkpoint_read(const char *path, fb_st_file *file)
{
    uint8_t head[4];
    size_t n = 0;
    FILE *f = fopen(path, "rb");
    if (f) {
        n = fread(head, 1, sizeof head, f);
        fclose(f);
    }
    return fb_pt_magic(head, n) ? fb_pt_read(path, file) : fb_st_read(path, file);
}

/* Host copies of every float tensor, packed in registry order. */
static float *copy_to_host(fb_model *model, const char *path, fb_status *status)
{
    const fb_registry *reg = fb_model_registry(model);
    size_t total = 0;
    for (int i = 0; i < reg->count; i++)
        total += reg->tensors[i].role == FB_ROLE_COUNTER ? 0 : reg->tensors[i].numel;
    float *host = malloc((total ? total : 1) * sizeof(float)); /* [all float tensors] */
    if (!host) {
        *status = fb_error(FB_ERR_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    size_t offset = 0;
    for (int i = 0; i < reg->count; i++) {
        const fb_tensor *t = &reg->tensors[i];
        if (t->role == FB_ROLE_COUNTER)
            continue;
        fb_model_backend(model)->to_host(host + offset, t->value, t->numel * sizeof(float));
        offset += t->numel;
    }
    *status = FB_OK;
    return host;
}

fb_status fb_checkpoint_save(fb_model *model, const char *path, const fb_checkpoint_info *info)
{
    const fb_registry *reg = fb_model_registry(model);
    const fb_model_config *c = fb_model_get_config(model);
    fb_status status;
    float *host = copy_to_host(model, path, &status);
    if (!host)
        return status;
    fb_st_tensor *tensors = calloc((size_t)reg->count, sizeof *tensors);
    if (!tensors) {
        free(host);
        return fb_error(FB_ERR_NOMEM, "%s: out of memory", path);
    }
    size_t offset = 0;
    for (int i = 0; i < reg->count; i++) {
        const fb_tensor *t = &reg->tensors[i];
        tensors[i].name = t->name;
        tensors[i].ndim = t->ndim;
        for (int d = 0; d < t->ndim; d++)
            tensors[i].shape[d] = t->shape[d];
        tensors[i].dtype = t->role == FB_ROLE_COUNTER ? FB_ST_I64 : FB_ST_F32;
        tensors[i].data = t->role == FB_ROLE_COUNTER ? (const void *)t->counter
                                                     : (const void *)(host + offset);
        if (t->role != FB_ROLE_COUNTER)
            offset += t->numel;
    }
    char values[8][80];
    const char *keys[8] = {"arch", "width", "num_classes", "in_channels", "image_size", "epoch",
                           "seed", "data_sha256"};
    snprintf(values[0], sizeof values[0], "%s", fb_arch_name(c->arch));
    snprintf(values[1], sizeof values[1], "%d",
             c->arch == FB_ARCH_TOYKERNEL ? c->toy_filters : c->width);
    snprintf(values[2], sizeof values[2], "%d", c->arch == FB_ARCH_TOYKERNEL ? 0 : c->num_classes);
    snprintf(values[3], sizeof values[3], "%d", c->in_channels);
    snprintf(values[4], sizeof values[4], "%d", c->image_size);
    snprintf(values[5], sizeof values[5], "%d", info ? info->epoch : -1);
    snprintf(values[6], sizeof values[6], "%" PRIu64, info ? info->seed : 0);
    snprintf(values[7], sizeof values[7], "%s", info ? info->data_sha256 : "");
    const char *meta_values[8];
    for (int i = 0; i < 8; i++)
        meta_values[i] = values[i];
    status = fb_st_write(path, tensors, reg->count, keys, meta_values, 8);
    free(tensors);
    free(host);
    return status;
}

static int entry_matches(const fb_st_entry *e, const fb_tensor *t, char *why, size_t whylen)
{
    char want[64], got[64];
    int shape_ok;
    if (t->role == FB_ROLE_COUNTER) {
        /* PyTorch saves num_batches_tracked 0-rank; accept [1] too */
        shape_ok = e->ndim == 0 || (e->ndim == 1 && e->shape[0] == 1);
        if (e->dtype != FB_ST_I64 || !shape_ok) {
            snprintf(why, whylen, "'%s' is %s with %d dims, expected an I64 scalar", e->name,
                     fb_st_dtype_name(e->dtype), e->ndim);
            return 0;
        }
        return 1;
    }
    if (e->dtype != FB_ST_F32) {
        snprintf(why, whylen, "'%s' has dtype %s, expected F32", e->name, fb_st_dtype_name(e->dtype));
        return 0;
    }
    shape_ok = e->ndim == t->ndim;
    for (int d = 0; shape_ok && d < t->ndim; d++)
        shape_ok = e->shape[d] == t->shape[d];
    if (!shape_ok) {
        int dims[FB_ST_MAX_DIMS];
        for (int d = 0; d < e->ndim; d++)
            dims[d] = (int)e->shape[d];
        snprintf(why, whylen, "'%s' has shape %s, model expects %s", e->name,
                 fb_shape_string(e->ndim, dims, got, sizeof got),
                 fb_shape_string(t->ndim, t->shape, want, sizeof want));
        return 0;
    }
    return 1;
}

/* Appends one problem to the report (up to MAX_REPORTED are spelled out). */
static void note_problem(char *report, size_t reportlen, int *problems, const char *what)
{
    if (*problems < MAX_REPORTED) {
        size_t used = strlen(report);
        snprintf(report + used, reportlen - used, "%s%s", *problems ? "; " : "", what);
    }
    (*problems)++;
}

fb_status fb_checkpoint_load(fb_model *model, const char *path, fb_checkpoint_info *info)
{
    fb_st_file file;
    FB_TRY(fb_checkpoint_read(path, &file));
    fb_registry *reg = fb_model_registry(model);
    const fb_st_entry **source = calloc((size_t)reg->count, sizeof *source);
    if (!source) {
        fb_st_free(&file);
        return fb_error(FB_ERR_NOMEM, "%s: out of memory", path);
    }
    char report[1024] = "", why[256];
    int problems = 0;
    for (int i = 0; i < file.count; i++) {
        const char *name = model_name_of(file.entries[i].name);
        if (!name)
            continue;
        fb_tensor *t = fb_registry_find(reg, name);
        if (!t) {
            snprintf(why, sizeof why, "unexpected tensor '%s'", file.entries[i].name);
            note_problem(report, sizeof report, &problems, why);
            continue;
        }
        int index = (int)(t - reg->tensors);
        if (source[index]) {
            snprintf(why, sizeof why, "'%s' appears twice (as '%s' and '%s')", t->name,
                     source[index]->name, file.entries[i].name);
            note_problem(report, sizeof report, &problems, why);
            continue;
        }
        if (!entry_matches(&file.entries[i], t, why, sizeof why))
            note_problem(report, sizeof report, &problems, why);
        source[index] = &file.entries[i];
    }
    for (int i = 0; i < reg->count; i++)
        if (!source[i]) {
            snprintf(why, sizeof why, "missing tensor '%s'", reg->tensors[i].name);
            note_problem(report, sizeof report, &problems, why);
        }
    if (problems) {
        fb_status status = fb_error(FB_ERR_FORMAT, "%s: does not match the %s model: %s%s", path,
                                    fb_arch_name(fb_model_get_config(model)->arch), report,
                                    problems > MAX_REPORTED ? " (and more)" : "");
        free(source);
        fb_st_free(&file);
        return status;
    }
    for (int i = 0; i < reg->count; i++) {
        fb_tensor *t = &reg->tensors[i];
        if (t->role == FB_ROLE_COUNTER)
            memcpy(t->counter, source[i]->data, sizeof(int64_t));
        else
            fb_model_backend(model)->to_device(t->value, source[i]->data, t->numel * sizeof(float));
    }
    if (info) {
        const char *epoch = fb_st_meta(&file, "epoch"), *seed = fb_st_meta(&file, "seed");
        const char *sha = fb_st_meta(&file, "data_sha256");
        info->epoch = epoch ? atoi(epoch) : -1;
        info->seed = seed ? strtoull(seed, NULL, 10) : 0;
        snprintf(info->data_sha256, sizeof info->data_sha256, "%s", sha ? sha : "");
    }
    free(source);
    fb_st_free(&file);
    return FB_OK;
}

/* ---- what a checkpoint describes (fb_checkpoint_inspect) ----------------
 *
 * The caller builds a model from this config before any tensor is loaded,
 * so nothing here trusts the file. Metadata numbers are parsed strictly
 * (a whole integer, no atoi) and capped (FB_MODEL_MAX_* in model.h); then
 * the config is checked against the shapes of the tensors that grow with
 * it: conv1 (width, input channels, toy kernel), linear (classes × feature
 * size) and the largest conv of the last layer (width²). The safetensors
 * reader has already checked that those tensors' bytes are in the file, so
 * a config that passes describes a model whose parameters are at most ~25×
 * the file's size: a 22 KB file can no longer claim 20,000,000 classes or
 * width 300 and make `freqbias test` allocate gigabytes.
 *
 * Shape inference (no metadata) finds the blocks of each layer in one pass
 * over the names, so it is linear in the tensor count (which the reader
 * caps at FB_ST_MAX_TENSORS). */

#define MAX_BLOCKS_PER_LAYER 64 /* ResNet-50 has 6; more matches no known ResNet */

/* Looks up a tensor under any accepted prefix (one pass; called a fixed
 * number of times). */
static const fb_st_entry *find_any(const fb_st_file *file, const char *name)
{
    for (int i = 0; i < file->count; i++) {
        const char *mapped = model_name_of(file->entries[i].name);
        if (mapped && strcmp(mapped, name) == 0)
            return &file->entries[i];
    }
    return NULL;
}

/* counts[L-1] = number of consecutive blocks "layerL.0.conv1.weight",
 * "layerL.1.conv1.weight", ... present, for L = 1..4, in one pass. */
static void count_blocks(const fb_st_file *file, int counts[4])
{
    unsigned char present[4][MAX_BLOCKS_PER_LAYER + 1];
    memset(present, 0, sizeof present);
    for (int i = 0; i < file->count; i++) {
        const char *name = model_name_of(file->entries[i].name);
        if (!name || strncmp(name, "layer", 5) != 0 || name[5] < '1' || name[5] > '4' ||
            name[6] != '.')
            continue;
        int layer = name[5] - '1', block = 0, digits = 0;
        const char *cursor = name + 7;
        while (*cursor >= '0' && *cursor <= '9' && digits < 3) {
            block = 10 * block + (*cursor++ - '0');
            digits++;
        }
        if (digits > 0 && block < MAX_BLOCKS_PER_LAYER && strcmp(cursor, ".conv1.weight") == 0)
            present[layer][block] = 1;
    }
    for (int l = 0; l < 4; l++) {
        counts[l] = 0;
        while (present[l][counts[l]])
            counts[l]++;
    }
}

/* Metadata field `key` as an integer in [low, high], or fallback when it is
 * absent; anything else is an error naming the file and the field. */
static fb_status meta_int(const fb_st_file *file, const char *path, const char *key, int fallback,
                          int low, int high, int *out)
{
    const char *value = fb_st_meta(file, key);
    if (!value || !*value) {
        *out = fallback;
        return FB_OK;
    }
    char *end;
    errno = 0;
    long long number = strtoll(value, &end, 10);
    if (*end != '\0' || errno != 0 || number < low || number > high)
        return fb_error(FB_ERR_FORMAT, "%s: metadata field '%s' is '%.40s', expected an integer "
                        "in %d..%d", path, key, value, low, high);
    *out = (int)number;
    return FB_OK;
}

/* A tensor dimension as the config field it sets, within [low, high]. */
static fb_status shape_field(const char *path, const fb_st_entry *e, int dim, const char *field,
                             int low, int high, int *out)
{
    if (e->shape[dim] < low || e->shape[dim] > high)
        return fb_error(FB_ERR_FORMAT, "%s: '%s' dimension %d gives %s = %" PRId64
                        ", outside %d..%d", path, e->name, dim, field, e->shape[dim], low, high);
    *out = (int)e->shape[dim];
    return FB_OK;
}

/* The tensor `name` must exist with exactly this shape; fields names the
 * config fields the shape follows from, for the message. */
static fb_status expect_shape(const fb_st_file *file, const char *path, const char *name, int ndim,
                              const int64_t *want, const char *fields)
{
    const fb_st_entry *e = find_any(file, name);
    char want_text[96], got_text[96];
    int used = snprintf(want_text, sizeof want_text, "[");
    for (int d = 0; d < ndim; d++)
        used += snprintf(want_text + used, sizeof want_text - (size_t)used, "%s%" PRId64,
                         d ? "," : "", want[d]);
    snprintf(want_text + used, sizeof want_text - (size_t)used, "]");
    if (!e)
        return fb_error(FB_ERR_FORMAT, "%s: no tensor '%s' (%s needs one of shape %s)", path, name,
                        fields, want_text);
    int same = e->ndim == ndim;
    for (int d = 0; same && d < ndim; d++)
        same = e->shape[d] == want[d];
    if (same)
        return FB_OK;
    used = snprintf(got_text, sizeof got_text, "[");
    for (int d = 0; d < e->ndim && used < (int)sizeof got_text; d++)
        used += snprintf(got_text + used, sizeof got_text - (size_t)used, "%s%" PRId64,
                         d ? "," : "", e->shape[d]);
    if (used < (int)sizeof got_text)
        snprintf(got_text + used, sizeof got_text - (size_t)used, "]");
    return fb_error(FB_ERR_FORMAT, "%s: '%s' has shape %s, but %s make it %s", path, e->name,
                    got_text, fields, want_text);
}

/* The ResNet config against conv1, the last conv of layer 4 and linear. */
static fb_status check_resnet_shapes(const fb_st_file *file, const char *path,
                                     const fb_model_config *c)
{
    int64_t w = c->width, expansion = c->arch == FB_ARCH_RESNET50 ? 4 : 1;
    const int64_t conv1[4] = {w, c->in_channels, 3, 3};
    FB_TRY(expect_shape(file, path, "conv1.weight", 4, conv1, "width and in_channels"));
    const char *last = c->arch == FB_ARCH_RESNET18   ? "layer4.1.conv2.weight"
                       : c->arch == FB_ARCH_RESNET34 ? "layer4.2.conv2.weight"
                                                     : "layer4.2.conv3.weight";
    const int64_t basic[4] = {8 * w, 8 * w, 3, 3}, bottleneck[4] = {32 * w, 8 * w, 1, 1};
    FB_TRY(expect_shape(file, path, last, 4, expansion == 4 ? bottleneck : basic, "width"));
    int64_t side = c->image_size;
    for (int stage = 0; stage < 3; stage++)
        side = (side - 1) / 2 + 1; /* 3×3 conv, pad 1, stride 2 */
    int64_t pooled = side / 4;
    const int64_t linear[2] = {c->num_classes, 8 * w * expansion * pooled * pooled};
    return expect_shape(file, path, "linear.weight", 2, linear, "num_classes, width and image_size");
}

/* The toy model's config against both convs. */
static fb_status check_toy_shapes(const fb_st_file *file, const char *path, const fb_model_config *c)
{
    if (c->toy_kernel % 2 == 0)
        return fb_error(FB_ERR_FORMAT, "%s: 'conv1.weight' gives an even toy kernel %d (the toy "
                        "model pads k/2 and needs an odd k)", path, c->toy_kernel);
    const int64_t conv1[4] = {c->toy_filters, c->in_channels, c->toy_kernel, c->toy_kernel};
    const int64_t conv2[4] = {c->in_channels, c->toy_filters, c->toy_kernel, c->toy_kernel};
    FB_TRY(expect_shape(file, path, "conv1.weight", 4, conv1, "width (filters) and in_channels"));
    return expect_shape(file, path, "conv2.weight", 4, conv2, "width (filters) and in_channels");
}

static fb_status infer_config(const fb_st_file *file, const char *path, fb_model_config *c)
{
    const fb_st_entry *conv1 = find_any(file, "conv1.weight");
    if (!conv1 || conv1->ndim != 4)
        return fb_error(FB_ERR_FORMAT, "%s: no 4-d 'conv1.weight': not a freqbias/robustness model",
                        path);
    if (find_any(file, "conv2.weight") && find_any(file, "conv1.bias")) {
        *c = fb_model_config_default(FB_ARCH_TOYKERNEL);
        FB_TRY(shape_field(path, conv1, 0, "toy filters", 1, FB_MODEL_MAX_TOY_FILTERS,
                           &c->toy_filters));
        FB_TRY(shape_field(path, conv1, 2, "toy kernel", 1, FB_MODEL_MAX_TOY_KERNEL,
                           &c->toy_kernel));
        FB_TRY(shape_field(path, conv1, 1, "in_channels", 1, 4, &c->in_channels));
        return check_toy_shapes(file, path, c);
    }
    int counts[4];
    count_blocks(file, counts);
    fb_arch arch;
    if (counts[0] == 2 && counts[1] == 2 && counts[2] == 2 && counts[3] == 2)
        arch = FB_ARCH_RESNET18;
    else if (counts[0] == 3 && counts[1] == 4 && counts[2] == 6 && counts[3] == 3)
        arch = find_any(file, "layer1.0.conv3.weight") ? FB_ARCH_RESNET50 : FB_ARCH_RESNET34;
    else
        return fb_error(FB_ERR_FORMAT,
                        "%s: blocks per layer %d,%d,%d,%d match no known ResNet (18: 2,2,2,2; 34/50: 3,4,6,3)",
                        path, counts[0], counts[1], counts[2], counts[3]);
    const fb_st_entry *linear = find_any(file, "linear.weight");
    if (!linear || linear->ndim != 2)
        return fb_error(FB_ERR_FORMAT, "%s: no 2-d 'linear.weight'", path);
    *c = fb_model_config_default(arch);
    FB_TRY(shape_field(path, conv1, 0, "width", 1, FB_MODEL_MAX_WIDTH, &c->width));
    FB_TRY(shape_field(path, conv1, 1, "in_channels", 1, 4, &c->in_channels));
    FB_TRY(shape_field(path, linear, 0, "num_classes", 1, FB_MODEL_MAX_CLASSES, &c->num_classes));
    return check_resnet_shapes(file, path, c);
}

/* The config from __metadata__ (arch known), each field checked. */
static fb_status config_from_metadata(const fb_st_file *file, const char *path, fb_arch arch,
                                      fb_model_config *c)
{
    *c = fb_model_config_default(arch);
    FB_TRY(meta_int(file, path, "in_channels", 3, 1, 4, &c->in_channels));
    if (arch == FB_ARCH_TOYKERNEL) {
        FB_TRY(meta_int(file, path, "image_size", 32, 1, FB_MODEL_MAX_IMAGE, &c->image_size));
        FB_TRY(meta_int(file, path, "width", 16, 1, FB_MODEL_MAX_TOY_FILTERS, &c->toy_filters));
        const fb_st_entry *conv1 = find_any(file, "conv1.weight");
        c->toy_kernel = 7;
        if (conv1 && conv1->ndim == 4)
            FB_TRY(shape_field(path, conv1, 2, "toy kernel", 1, FB_MODEL_MAX_TOY_KERNEL,
                               &c->toy_kernel));
        return check_toy_shapes(file, path, c);
    }
    FB_TRY(meta_int(file, path, "image_size", 32, 25, FB_MODEL_MAX_IMAGE, &c->image_size));
    FB_TRY(meta_int(file, path, "width", 64, 1, FB_MODEL_MAX_WIDTH, &c->width));
    FB_TRY(meta_int(file, path, "num_classes", 10, 1, FB_MODEL_MAX_CLASSES, &c->num_classes));
    return check_resnet_shapes(file, path, c);
}

fb_status fb_checkpoint_inspect(const char *path, fb_model_config *config)
{
    fb_st_file file;
    FB_TRY(fb_checkpoint_read(path, &file));
    fb_status status;
    const char *arch_name = fb_st_meta(&file, "arch");
    fb_arch arch;
    if (arch_name && fb_arch_parse(arch_name, &arch) == FB_OK)
        status = config_from_metadata(&file, path, arch, config);
    else
        status = infer_config(&file, path, config);
    fb_st_free(&file);
    return status;
}

fb_status fb_train_state_save(fb_model *model, const char *path, const char *const *keys,
                              const char *const *values, int count)
{
    const fb_registry *reg = fb_model_registry(model);
    const fb_backend *backend = fb_model_backend(model);
    size_t floats = 0;
    int params = 0;
    for (int i = 0; i < reg->count; i++) {
        const fb_tensor *t = &reg->tensors[i];
        if (t->role != FB_ROLE_COUNTER)
            floats += t->numel;
        if (t->role == FB_ROLE_PARAM) {
            floats += t->numel;
            params++;
        }
    }
    int total = reg->count + params;
    float *host = malloc((floats ? floats : 1) * sizeof(float)); /* [values + momenta] */
    fb_st_tensor *tensors = calloc((size_t)total, sizeof *tensors);
    char (*names)[FB_NAME_MAX + 16] = calloc((size_t)total, sizeof *names);
    const char **all_keys = calloc((size_t)count + 1, sizeof *all_keys);
    const char **all_values = calloc((size_t)count + 1, sizeof *all_values);
    if (!host || !tensors || !names || !all_keys || !all_values) {
        free(host); free(tensors); free(names); free(all_keys); free(all_values);
        return fb_error(FB_ERR_NOMEM, "%s: out of memory", path);
    }
    size_t offset = 0;
    int n = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < reg->count; i++) {
            const fb_tensor *t = &reg->tensors[i];
            if (pass == 1 && t->role != FB_ROLE_PARAM)
                continue;
            snprintf(names[n], sizeof names[n], "%s%s", pass ? "momentum." : "model.", t->name);
            tensors[n].name = names[n];
            tensors[n].ndim = t->ndim;
            for (int d = 0; d < t->ndim; d++)
                tensors[n].shape[d] = t->shape[d];
            if (t->role == FB_ROLE_COUNTER) {
                tensors[n].dtype = FB_ST_I64;
                tensors[n].data = t->counter;
            } else {
                tensors[n].dtype = FB_ST_F32;
                backend->to_host(host + offset, pass ? t->momentum : t->value, t->numel * sizeof(float));
                tensors[n].data = host + offset;
                offset += t->numel;
            }
            n++;
        }
    char steps[32];
    snprintf(steps, sizeof steps, "%ld", fb_model_sgd_steps(model));
    for (int i = 0; i < count; i++) {
        all_keys[i] = keys[i];
        all_values[i] = values[i];
    }
    all_keys[count] = "sgd_steps";
    all_values[count] = steps;
    fb_status status = fb_st_write(path, tensors, n, all_keys, all_values, count + 1);
    free(host); free(tensors); free(names); free(all_keys); free(all_values);
    return status;
}

fb_status fb_train_state_load(fb_model *model, const char *path, fb_st_file *file)
{
    FB_TRY(fb_st_read(path, file));
    fb_registry *reg = fb_model_registry(model);
    const fb_backend *backend = fb_model_backend(model);
    char key[FB_NAME_MAX + 16], why[256];
    /* check everything first, then copy: a bad file leaves the model as it was */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < reg->count; i++) {
            fb_tensor *t = &reg->tensors[i];
            for (int kind = 0; kind < 2; kind++) {
                if (kind == 1 && t->role != FB_ROLE_PARAM)
                    continue;
                snprintf(key, sizeof key, "%s%s", kind ? "momentum." : "model.", t->name);
                const fb_st_entry *e = fb_st_find(file, key);
                if (pass == 0) {
                    if (!e)
                        snprintf(why, sizeof why, "missing tensor '%s'", key);
                    if (!e || !entry_matches(e, t, why, sizeof why)) {
                        fb_st_free(file);
                        return fb_error(FB_ERR_FORMAT,
                                        "%s: training state does not fit the model: %s", path, why);
                    }
                } else if (t->role == FB_ROLE_COUNTER) {
                    memcpy(t->counter, e->data, sizeof(int64_t));
                } else {
                    backend->to_device(kind ? t->momentum : t->value, e->data, t->numel * sizeof(float));
                }
            }
        }
    const char *steps = fb_st_meta(file, "sgd_steps");
    fb_model_set_sgd_steps(model, steps ? atol(steps) : 0);
    return FB_OK;
}
