/* settings.c — the settings of a training run: defaults (the robustness
 * recipe, PAPER.md), the one check shared by the command line and the state
 * reader, the learning-rate schedule, and the key=value form stored in
 * state.safetensors.
 *
 * The state file is input like any other: a resume must not trust it more
 * than the command line. Every number is parsed completely (no atoi: "12abc"
 * and "99999999999" are errors, not 12 and garbage) and then passes the same
 * fb_train_settings_problem the command line passes, so next_epoch = -3 or
 * epochs = 2147483647 stop with "state.safetensors: field 'epochs': ..."
 * before any buffer is sized from them. */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "freqbias/safetensors.h"
#include "train_internal.h"

void fb_train_settings_default(fb_train_settings *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->dataset, sizeof s->dataset, "cifar10");
    snprintf(s->arch, sizeof s->arch, "resnet18");
    snprintf(s->backend, sizeof s->backend, "cpu");
    s->width = 64;
    s->epochs = 200;
    s->batch = 128;
    s->augment = 1;
    s->shuffle = 1;
    s->lr = 0.1;
    s->momentum = 0.9;
    s->weight_decay = 5e-4;
    s->lr_step = 50;
    s->lr_gamma = 0.1;
}

/* The widest network and largest batch a run may ask for: far above the
 * paper's (width 64, batch 128), far below where sizes overflow. */
#define MAX_WIDTH 4096
#define MAX_BATCH 65536

static const char *problem(char *why, size_t size, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static const char *problem(char *why, size_t size, const char *key, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vsnprintf(why, size, fmt, args);
    va_end(args);
    return key;
}

static int one_of(const char *text, const char *const *names, int count)
{
    for (int i = 0; i < count; i++)
        if (strcmp(text, names[i]) == 0)
            return 1;
    return 0;
}

const char *fb_train_settings_problem(const fb_train_settings *s, char *why, size_t size)
{
    static const char *const archs[] = {"resnet18", "resnet34", "resnet50"};
    static const char *const backends[] = {"cpu", "cpu-ref", "cuda"};
    if (!one_of(s->arch, archs, 3))
        return problem(why, size, "arch", "'%s' is not resnet18, resnet34 or resnet50%s", s->arch,
                       strcmp(s->arch, "toykernel") == 0 ? " (toykernel is trained by cdes-train)" : "");
    if (!one_of(s->backend, backends, 3))
        return problem(why, size, "backend", "'%s' is not cpu, cpu-ref or cuda", s->backend);
    if (s->width < 1 || s->width > MAX_WIDTH)
        return problem(why, size, "width", "%d is not in 1..%d", s->width, MAX_WIDTH);
    if (s->epochs < 1 || s->epochs > FB_TRAIN_MAX_EPOCHS)
        return problem(why, size, "epochs", "%d is not in 1..%d", s->epochs, FB_TRAIN_MAX_EPOCHS);
    if (s->batch < 1 || s->batch > MAX_BATCH)
        return problem(why, size, "batch", "%d is not in 1..%d", s->batch, MAX_BATCH);
    if (s->subset < 0)
        return problem(why, size, "subset", "%d is negative (0 = all images)", s->subset);
    if (s->augment != 0 && s->augment != 1)
        return problem(why, size, "augment", "%d is not 0 or 1", s->augment);
    if (s->shuffle != 0 && s->shuffle != 1)
        return problem(why, size, "shuffle", "%d is not 0 or 1", s->shuffle);
    if (s->threads < 0)
        return problem(why, size, "threads", "%d is negative (0 = default)", s->threads);
    if (s->gradspec < 0)
        return problem(why, size, "gradspec", "%d is negative (0 = off)", s->gradspec);
    if (!isfinite(s->lr) || s->lr <= 0)
        return problem(why, size, "lr", "%g is not a finite number > 0", s->lr);
    if (!isfinite(s->momentum) || s->momentum < 0)
        return problem(why, size, "momentum", "%g is not a finite number >= 0", s->momentum);
    if (!isfinite(s->weight_decay) || s->weight_decay < 0)
        return problem(why, size, "weight_decay", "%g is not a finite number >= 0", s->weight_decay);
    if (!isfinite(s->lr_gamma) || s->lr_gamma <= 0)
        return problem(why, size, "lr_gamma", "%g is not a finite number > 0", s->lr_gamma);
    if (s->lr_step < 0 || s->lr_step > FB_TRAIN_MAX_EPOCHS)
        return problem(why, size, "lr_step", "%d is not in 0..%d", s->lr_step, FB_TRAIN_MAX_EPOCHS);
    if (s->milestone_count < 0 || s->milestone_count > FB_TRAIN_MAX_MILESTONES)
        return problem(why, size, "lr_milestones", "%d milestones (at most %d)", s->milestone_count,
                       FB_TRAIN_MAX_MILESTONES);
    for (int i = 0; i < s->milestone_count; i++)
        if (s->milestones[i] < 0 || s->milestones[i] > FB_TRAIN_MAX_EPOCHS)
            return problem(why, size, "lr_milestones", "epoch %d is not in 0..%d", s->milestones[i],
                           FB_TRAIN_MAX_EPOCHS);
    return NULL;
}

/* A whole decimal integer in [lo, hi]; 0 when the text is anything else. */
static int parse_int(const char *text, long lo, long hi, int *value)
{
    char *end;
    errno = 0;
    long parsed = strtol(text, &end, 10);
    if (end == text || *end || errno == ERANGE || parsed < lo || parsed > hi)
        return 0;
    *value = (int)parsed;
    return 1;
}

int fb_train_parse_milestones(fb_train_settings *s, const char *text)
{
    s->milestone_count = 0;
    for (const char *p = text; *p;) {
        char *end;
        errno = 0;
        long value = strtol(p, &end, 10);
        if (end == p || errno == ERANGE || value < 0 || value > FB_TRAIN_MAX_EPOCHS ||
            s->milestone_count == FB_TRAIN_MAX_MILESTONES || (*end && *end != ','))
            return 0;
        s->milestones[s->milestone_count++] = (int)value;
        p = *end == ',' ? end + 1 : end;
    }
    return s->milestone_count > 0;
}

double fb_train_lr_at(const fb_train_settings *s, int epoch)
{
    int passed = 0;
    if (s->milestone_count > 0) {
        for (int i = 0; i < s->milestone_count; i++)
            passed += epoch >= s->milestones[i];
    } else if (s->lr_step > 0) {
        passed = epoch / s->lr_step;
    }
    return s->lr * pow(s->lr_gamma, passed);
}

int train_settings_to_pairs(const fb_train_settings *s, const char **keys, char values[][600])
{
    int n = 0;
#define PAIR(key, ...) (keys[n] = key, snprintf(values[n], 600, __VA_ARGS__), n++)
    PAIR("data", "%s", s->data);
    PAIR("dataset", "%s", s->dataset);
    PAIR("train_data", "%s", s->train_data);
    PAIR("test_data", "%s", s->test_data);
    PAIR("init", "%s", s->init);
    PAIR("arch", "%s", s->arch);
    PAIR("backend", "%s", s->backend);
    PAIR("width", "%d", s->width);
    PAIR("epochs", "%d", s->epochs);
    PAIR("batch", "%d", s->batch);
    PAIR("subset", "%d", s->subset);
    PAIR("augment", "%d", s->augment);
    PAIR("shuffle", "%d", s->shuffle);
    PAIR("gradspec", "%d", s->gradspec);
    PAIR("lr", "%.17g", s->lr);
    PAIR("momentum", "%.17g", s->momentum);
    PAIR("weight_decay", "%.17g", s->weight_decay);
    PAIR("lr_gamma", "%.17g", s->lr_gamma);
    PAIR("lr_step", "%d", s->lr_step);
    char list[600] = "";
    for (int i = 0; i < s->milestone_count; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), i ? ",%d" : "%d", s->milestones[i]);
    PAIR("lr_milestones", "%s", list);
    PAIR("seed", "%" PRIu64, s->seed);
#undef PAIR
    return n;
}

/* The value of key in the state's metadata; NULL when missing or empty
 * (a missing key keeps its default, as in every earlier state file). */
static const char *meta(const fb_st_file *file, const char *key)
{
    const char *value = fb_st_meta(file, key);
    return value && *value ? value : NULL;
}

static fb_status bad_field(const char *path, const char *key, const char *why)
{
    return fb_error(FB_ERR_FORMAT, "%s: field '%s': %s", path, key, why);
}

static fb_status read_text(const fb_st_file *file, const char *path, const char *key, char *field,
                           size_t size)
{
    const char *v = meta(file, key);
    if (!v)
        return FB_OK;
    if (strlen(v) >= size)
        return bad_field(path, key, "text too long");
    snprintf(field, size, "%s", v);
    return FB_OK;
}

/* Any int: the range is fb_train_settings_problem's business. */
static fb_status read_int(const fb_st_file *file, const char *path, const char *key, int *field)
{
    const char *v = meta(file, key);
    if (v && !parse_int(v, INT32_MIN, INT32_MAX, field))
        return fb_error(FB_ERR_FORMAT, "%s: field '%s': '%.40s' is not an integer", path, key, v);
    return FB_OK;
}

static fb_status read_real(const fb_st_file *file, const char *path, const char *key, double *field)
{
    const char *v = meta(file, key);
    if (!v)
        return FB_OK;
    char *end;
    double parsed = strtod(v, &end);
    if (end == v || *end || !isfinite(parsed))
        return fb_error(FB_ERR_FORMAT, "%s: field '%s': '%.40s' is not a finite number", path, key, v);
    *field = parsed;
    return FB_OK;
}

static fb_status read_settings(const fb_st_file *file, const char *path, fb_train_settings *s)
{
    fb_train_settings_default(s);
    FB_TRY(read_text(file, path, "data", s->data, sizeof s->data));
    FB_TRY(read_text(file, path, "dataset", s->dataset, sizeof s->dataset));
    FB_TRY(read_text(file, path, "train_data", s->train_data, sizeof s->train_data));
    FB_TRY(read_text(file, path, "test_data", s->test_data, sizeof s->test_data));
    FB_TRY(read_text(file, path, "init", s->init, sizeof s->init));
    FB_TRY(read_text(file, path, "arch", s->arch, sizeof s->arch));
    FB_TRY(read_text(file, path, "backend", s->backend, sizeof s->backend));
    FB_TRY(read_int(file, path, "width", &s->width));
    FB_TRY(read_int(file, path, "epochs", &s->epochs));
    FB_TRY(read_int(file, path, "batch", &s->batch));
    FB_TRY(read_int(file, path, "subset", &s->subset));
    FB_TRY(read_int(file, path, "augment", &s->augment));
    FB_TRY(read_int(file, path, "shuffle", &s->shuffle));
    FB_TRY(read_int(file, path, "gradspec", &s->gradspec));
    FB_TRY(read_real(file, path, "lr", &s->lr));
    FB_TRY(read_real(file, path, "momentum", &s->momentum));
    FB_TRY(read_real(file, path, "weight_decay", &s->weight_decay));
    FB_TRY(read_real(file, path, "lr_gamma", &s->lr_gamma));
    FB_TRY(read_int(file, path, "lr_step", &s->lr_step));
    const char *v = meta(file, "lr_milestones");
    if (v && !fb_train_parse_milestones(s, v))
        return fb_error(FB_ERR_FORMAT, "%s: field 'lr_milestones': '%.40s' is not a list of epochs like "
                        "60,120,180", path, v);
    if ((v = meta(file, "seed"))) {
        char *end;
        errno = 0;
        unsigned long long seed = strtoull(v, &end, 10);
        if (end == v || *end || errno == ERANGE || v[0] == '-')
            return fb_error(FB_ERR_FORMAT, "%s: field 'seed': '%.40s' is not an unsigned 64-bit integer",
                            path, v);
        s->seed = seed;
    }
    char why[200];
    const char *key = fb_train_settings_problem(s, why, sizeof why);
    return key ? bad_field(path, key, why) : FB_OK;
}

static fb_status read_point(const fb_st_file *file, const char *path, fb_train_resume_point *point)
{
    FB_TRY(read_settings(file, path, &point->settings));
    point->next_epoch = 0;
    point->best_epoch = -1;
    point->best_top1 = 0.0;
    point->seconds = 0.0;
    FB_TRY(read_int(file, path, "next_epoch", &point->next_epoch));
    FB_TRY(read_int(file, path, "best_epoch", &point->best_epoch));
    FB_TRY(read_real(file, path, "best_top1", &point->best_top1));
    FB_TRY(read_real(file, path, "train_seconds", &point->seconds));
    char why[200];
    if (point->next_epoch < 0 || point->next_epoch > FB_TRAIN_MAX_EPOCHS) {
        snprintf(why, sizeof why, "%d is not in 0..%d", point->next_epoch, FB_TRAIN_MAX_EPOCHS);
        return bad_field(path, "next_epoch", why);
    }
    if (point->best_epoch < -1 || point->best_epoch >= point->next_epoch) {
        snprintf(why, sizeof why, "%d is not in -1..%d (next_epoch - 1)", point->best_epoch,
                 point->next_epoch - 1);
        return bad_field(path, "best_epoch", why);
    }
    if (point->best_top1 < 0 || point->best_top1 > 1) {
        snprintf(why, sizeof why, "%g is not an accuracy in 0..1", point->best_top1);
        return bad_field(path, "best_top1", why);
    }
    if (point->seconds < 0) {
        snprintf(why, sizeof why, "%g is negative", point->seconds);
        return bad_field(path, "train_seconds", why);
    }
    return FB_OK;
}

fb_status fb_train_state_read(const char *path, fb_train_resume_point *point)
{
    fb_st_file file;
    FB_TRY(fb_st_read(path, &file));
    fb_status status = read_point(&file, path, point);
    fb_st_free(&file);
    return status;
}
