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

/* Looks up a tensor under any accepted prefix. */
static const fb_st_entry *find_any(const fb_st_file *file, const char *name)
{
    for (int i = 0; i < file->count; i++) {
        const char *mapped = model_name_of(file->entries[i].name);
        if (mapped && strcmp(mapped, name) == 0)
            return &file->entries[i];
    }
    return NULL;
}

static int meta_int(const fb_st_file *file, const char *key, int fallback)
{
    const char *value = fb_st_meta(file, key);
    return value && *value ? atoi(value) : fallback;
}

/* Counts blocks "layerL.B.conv1.weight" of layer L. */
static int blocks_in_layer(const fb_st_file *file, int layer)
{
    char name[64];
    int count = 0;
    for (;;) {
        snprintf(name, sizeof name, "layer%d.%d.conv1.weight", layer, count);
        if (!find_any(file, name))
            return count;
        count++;
    }
}

static fb_status infer_config(const fb_st_file *file, const char *path, fb_model_config *c)
{
    const fb_st_entry *conv1 = find_any(file, "conv1.weight");
    if (!conv1 || conv1->ndim != 4)
        return fb_error(FB_ERR_FORMAT, "%s: no 4-d 'conv1.weight': not a freqbias/robustness model",
                        path);
    if (find_any(file, "conv2.weight") && find_any(file, "conv1.bias")) {
        *c = fb_model_config_default(FB_ARCH_TOYKERNEL);
        c->toy_filters = (int)conv1->shape[0];
        c->toy_kernel = (int)conv1->shape[2];
        c->in_channels = (int)conv1->shape[1];
        return FB_OK;
    }
    int counts[4];
    for (int l = 0; l < 4; l++)
        counts[l] = blocks_in_layer(file, l + 1);
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
    c->width = (int)conv1->shape[0];
    c->in_channels = (int)conv1->shape[1];
    c->num_classes = (int)linear->shape[0];
    return FB_OK;
}

fb_status fb_checkpoint_inspect(const char *path, fb_model_config *config)
{
    fb_st_file file;
    FB_TRY(fb_checkpoint_read(path, &file));
    fb_status status = FB_OK;
    const char *arch_name = fb_st_meta(&file, "arch");
    fb_arch arch;
    if (arch_name && fb_arch_parse(arch_name, &arch) == FB_OK) {
        *config = fb_model_config_default(arch);
        config->in_channels = meta_int(&file, "in_channels", 3);
        config->image_size = meta_int(&file, "image_size", 32);
        if (arch == FB_ARCH_TOYKERNEL) {
            const fb_st_entry *conv1 = find_any(&file, "conv1.weight");
            config->toy_filters = meta_int(&file, "width", 16);
            config->toy_kernel = conv1 && conv1->ndim == 4 ? (int)conv1->shape[2] : 7;
        } else {
            config->width = meta_int(&file, "width", 64);
            config->num_classes = meta_int(&file, "num_classes", 10);
        }
    } else {
        status = infer_config(&file, path, config);
    }
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
