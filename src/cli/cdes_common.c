/* cdes_common.c — shared pieces of `cdes-train` and `cdes-generate`
 * (see cdes_common.h). */
#include "cdes_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_util.h"
#include "freqbias/cdes.h"
#include "freqbias/plot.h"
#include "freqbias/spectrum.h"

fb_status cdes_mode_parse(const char *name, cdes_mode *mode)
{
    if (strcmp(name, "scr") == 0)
        *mode = CDES_SCR;
    else if (strcmp(name, "wcr") == 0)
        *mode = CDES_WCR;
    else
        return fb_error(FB_ERR_USAGE, "--mode must be scr or wcr, not '%s'", name);
    return FB_OK;
}

const char *cdes_mode_name(cdes_mode mode)
{
    return mode == CDES_SCR ? "scr" : "wcr";
}

fb_status cdes_load_splits(const char *dir, const char *kind, fb_dataset *train, fb_dataset *test)
{
    char probe[1100];
    snprintf(probe, sizeof probe, "%s/test_batch.bin", dir);
    const char *path = access(probe, F_OK) == 0 ? dir : NULL;
    FB_TRY(cli_load_dataset(path ? NULL : dir, kind, path, FB_SPLIT_TRAIN, train));
    FB_TRY(cli_load_dataset(path ? NULL : dir, kind, path, FB_SPLIT_TEST, test));
    if (train->channels != 3 || train->height != 32 || train->width != 32 || train->num_classes > 10)
        return fb_error(FB_ERR_USAGE,
                        "%s: CDES needs 3x32x32 images of at most 10 classes (the seed's CIFAR-10 setting), "
                        "not %dx%dx%d with %d classes",
                        train->source, train->channels, train->height, train->width, train->num_classes);
    return FB_OK;
}

fb_status cdes_gather_set(float **images, int *count, const fb_dataset *train, const fb_dataset *test,
                          cdes_mode mode, int class_index, int subset)
{
    *images = NULL;
    *count = 0;
    size_t image_bytes = (size_t)train->channels * train->height * train->width;
    int total = 0;
    const fb_dataset *splits[2] = { train, test };
    for (int s = 0; s < 2; s++)
        for (int i = 0; i < splits[s]->count; i++)
            total += mode == CDES_WCR || splits[s]->labels[i] == class_index;
    if (subset > 0 && subset < total)
        total = subset;
    if (total == 0)
        return fb_error(FB_ERR_USAGE, "CDES: no images of class %d in %s", class_index, train->source);
    float *out = malloc((size_t)total * image_bytes * sizeof(float));
    if (!out)
        return fb_error(FB_ERR_NOMEM, "CDES: out of memory for %d images", total);
    int used = 0;
    for (int s = 0; s < 2 && used < total; s++)
        for (int i = 0; i < splits[s]->count && used < total; i++)
            if (mode == CDES_WCR || splits[s]->labels[i] == class_index)
                fb_u8_to_unit(out + (size_t)used++ * image_bytes,
                              splits[s]->pixels + (size_t)i * image_bytes, image_bytes);
    *images = out;
    *count = total;
    return FB_OK;
}

void cdes_checkpoint_path(char *path, size_t size, const char *dir, cdes_mode mode, int class_index,
                          int epoch)
{
    char set[32], when[32];
    if (mode == CDES_SCR)
        snprintf(set, sizeof set, "scr_class%d", class_index);
    else
        snprintf(set, sizeof set, "wcr");
    if (epoch < 0)
        snprintf(when, sizeof when, "last");
    else
        snprintf(when, sizeof when, "epoch%d", epoch);
    snprintf(path, size, "%s/%s_%s.safetensors", dir, set, when);
}

fb_status cdes_model_create(fb_model **model, int filters, int kernel, int max_batch,
                            const char *backend_name)
{
    const fb_backend *backend = fb_backend_by_name(backend_name);
    if (!backend)
        return fb_error(FB_ERR_USAGE, "unknown backend '%s' (built: %s)", backend_name, fb_backend_list());
    fb_model_config config = fb_model_config_default(FB_ARCH_TOYKERNEL);
    config.toy_filters = filters;
    config.toy_kernel = kernel;
    config.max_batch = max_batch;
    return fb_model_create(model, &config, backend);
}

fb_status cdes_density_figure(const char *path, const char *title, const float *target,
                              const float *achieved, const float *original)
{
    double band[FB_CDES_BANDS], t[FB_CDES_BANDS], a[FB_CDES_BANDS], o[FB_CDES_BANDS];
    for (int b = 0; b < FB_CDES_BANDS; b++) {
        band[b] = b;
        t[b] = target[b];
        a[b] = achieved[b];
        o[b] = original[b];
    }
    fb_line_series series[3] = {
        { "target (double peak)", band, t, FB_CDES_BANDS, NULL },
        { "kernel output", band, a, FB_CDES_BANDS, NULL },
        { "original images", band, o, FB_CDES_BANDS, NULL },
    };
    fb_plot_labels labels = fb_plot_labels_default();
    labels.title = title;
    labels.x_label = "frequency band (radius - 1, px)";
    labels.y_label = "normalised log-magnitude density";
    labels.fixed_y = 1;
    labels.y_min = 0.0;
    labels.y_max = 1.0;
    return fb_plot_lines(path, series, 3, &labels);
}
