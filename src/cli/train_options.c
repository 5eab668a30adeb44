/* train_options.c — defaults (the robustness recipe, PAPER.md), the learning
 * rate schedule, and the key=value form stored in the training state. */
#include "train_options.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void train_options_defaults(train_options *o)
{
    memset(o, 0, sizeof *o);
    snprintf(o->dataset, sizeof o->dataset, "cifar10");
    snprintf(o->arch, sizeof o->arch, "resnet18");
    snprintf(o->backend, sizeof o->backend, "cpu");
    o->width = 64;
    o->epochs = 200;
    o->batch = 128;
    o->augment = 1;
    o->shuffle = 1;
    o->lr = 0.1;
    o->momentum = 0.9;
    o->weight_decay = 5e-4;
    o->lr_step = 50;
    o->lr_gamma = 0.1;
}

double train_lr_at(const train_options *o, int epoch)
{
    int passed = 0;
    if (o->milestone_count > 0) {
        for (int i = 0; i < o->milestone_count; i++)
            passed += epoch >= o->milestones[i];
    } else if (o->lr_step > 0) {
        passed = epoch / o->lr_step;
    }
    return o->lr * pow(o->lr_gamma, passed);
}

int train_options_to_pairs(const train_options *o, const char **keys, char values[][600])
{
    int n = 0;
#define PAIR(key, ...) (keys[n] = key, snprintf(values[n], 600, __VA_ARGS__), n++)
    PAIR("data", "%s", o->data);
    PAIR("dataset", "%s", o->dataset);
    PAIR("train_data", "%s", o->train_data);
    PAIR("test_data", "%s", o->test_data);
    PAIR("init", "%s", o->init);
    PAIR("arch", "%s", o->arch);
    PAIR("backend", "%s", o->backend);
    PAIR("width", "%d", o->width);
    PAIR("epochs", "%d", o->epochs);
    PAIR("batch", "%d", o->batch);
    PAIR("subset", "%d", o->subset);
    PAIR("augment", "%d", o->augment);
    PAIR("shuffle", "%d", o->shuffle);
    PAIR("gradspec", "%d", o->gradspec);
    PAIR("lr", "%.17g", o->lr);
    PAIR("momentum", "%.17g", o->momentum);
    PAIR("weight_decay", "%.17g", o->weight_decay);
    PAIR("lr_gamma", "%.17g", o->lr_gamma);
    PAIR("lr_step", "%d", o->lr_step);
    char list[600] = "";
    for (int i = 0; i < o->milestone_count; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), i ? ",%d" : "%d", o->milestones[i]);
    PAIR("lr_milestones", "%s", list);
    PAIR("seed", "%" PRIu64, o->seed);
#undef PAIR
    return n;
}

void train_options_from_pairs(train_options *o, const char *(*lookup)(const void *ctx, const char *key),
                              const void *ctx)
{
    const char *v;
#define TEXT(key, field) if ((v = lookup(ctx, key))) snprintf(o->field, sizeof o->field, "%s", v)
#define INT(key, field) if ((v = lookup(ctx, key))) o->field = atoi(v)
#define REAL(key, field) if ((v = lookup(ctx, key))) o->field = strtod(v, NULL)
    TEXT("data", data);
    TEXT("dataset", dataset);
    TEXT("train_data", train_data);
    TEXT("test_data", test_data);
    TEXT("init", init);
    TEXT("arch", arch);
    TEXT("backend", backend);
    INT("width", width);
    INT("epochs", epochs);
    INT("batch", batch);
    INT("subset", subset);
    INT("augment", augment);
    INT("shuffle", shuffle);
    INT("gradspec", gradspec);
    REAL("lr", lr);
    REAL("momentum", momentum);
    REAL("weight_decay", weight_decay);
    REAL("lr_gamma", lr_gamma);
    INT("lr_step", lr_step);
    if ((v = lookup(ctx, "lr_milestones"))) {
        o->milestone_count = 0;
        for (const char *p = v; *p && o->milestone_count < TRAIN_MAX_MILESTONES;) {
            char *end;
            long value = strtol(p, &end, 10);
            if (end == p)
                break;
            o->milestones[o->milestone_count++] = (int)value;
            p = *end == ',' ? end + 1 : end;
        }
    }
    if ((v = lookup(ctx, "seed")))
        o->seed = strtoull(v, NULL, 10);
#undef TEXT
#undef INT
#undef REAL
}
