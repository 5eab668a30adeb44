/* cmd_gradspec.c — `freqbias gradspec`: grad.py's gradient-spectrum
 * evolution over a run's checkpoints (PAPER.md E2).
 *
 * For each checkpoint in epoch order: eval mode, the input-pixel gradient of
 * the true-label cross-entropy on the first --n test images, per image
 * channel sum → |fftshift(fft2)| → azimuthal average → min-max, then mean
 * and std over images. Writes gradspec_mean.npy and gradspec_std.npy
 * (checkpoints × bands, float32, before any global min-max) and gradspec.csv.
 * Under mpirun every rank loads each checkpoint and computes the gradients
 * of its share of the batches; rank 0 gathers the per-image profiles and
 * alone prints and writes (fb_model_gradient_spectrum).
 */
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"
#include "freqbias/checkpoint.h"
#include "freqbias/dist.h"
#include "freqbias/npy.h"
#include "freqbias/runtime.h"
#include "freqbias/spectrum.h"
#include "freqbias/train.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: freqbias gradspec (--ckpts DIR | CKPT...) (--data DIR [--dataset cifar10] | --test-data FILE|DIR)\n"
                 "                         [--n 10000] [--convention freqbias|centered] [--batch 128]\n"
                 "                         --out DIR [--threads T] [--backend cpu|cpu-ref|cuda]\n"
                 "DIR: every epoch_NNN.safetensors in it, in epoch order.\n");
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The epoch_*.safetensors files of a run folder, sorted (zero-padded names). */
static fb_status list_epochs(const char *dir, char ***paths, int *count)
{
    DIR *d = opendir(dir);
    if (!d)
        return fb_error(FB_ERR_IO, "%s: cannot open the checkpoint folder", dir);
    struct dirent *entry;
    int capacity = 0;
    *paths = NULL;
    *count = 0;
    while ((entry = readdir(d))) {
        size_t len = strlen(entry->d_name);
        if (strncmp(entry->d_name, "epoch_", 6) != 0 || len < 12 ||
            strcmp(entry->d_name + len - 12, ".safetensors") != 0)
            continue;
        if (*count == capacity) {
            capacity = capacity ? 2 * capacity : 64;
            *paths = realloc(*paths, (size_t)capacity * sizeof **paths);
        }
        (*paths)[*count] = malloc(strlen(dir) + len + 2);
        sprintf((*paths)[*count], "%s/%s", dir, entry->d_name);
        (*count)++;
    }
    closedir(d);
    if (*count == 0)
        return fb_error(FB_ERR_IO, "%s: no epoch_NNN.safetensors checkpoints", dir);
    qsort(*paths, (size_t)*count, sizeof **paths, compare_names);
    return FB_OK;
}

int cmd_gradspec(int argc, char **argv)
{
    static const struct option options[] = {
        {"ckpts", required_argument, 0, 'c'},      {"data", required_argument, 0, 'd'},
        {"dataset", required_argument, 0, 'D'},    {"test-data", required_argument, 0, 'E'},
        {"n", required_argument, 0, 'n'},          {"convention", required_argument, 0, 'v'},
        {"batch", required_argument, 0, 'b'},      {"out", required_argument, 0, 'o'},
        {"threads", required_argument, 0, 't'},    {"backend", required_argument, 0, 'k'},
        {"help", no_argument, 0, 'h'},             {0, 0, 0, 0}};
    const char *ckpt_dir = NULL, *data_dir = NULL, *kind = "cifar10", *test_data = NULL, *out = NULL;
    const char *convention_name = "freqbias", *backend_name = "cpu";
    int n = 10000, batch = 128, opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'c': ckpt_dir = optarg; break;
        case 'd': data_dir = optarg; break;
        case 'D': kind = optarg; break;
        case 'E': test_data = optarg; break;
        case 'n': n = atoi(optarg); break;
        case 'v': convention_name = optarg; break;
        case 'b': batch = atoi(optarg); break;
        case 'o': out = optarg; break;
        case 't': fb_set_threads(atoi(optarg)); break;
        case 'k': backend_name = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
    }
    fb_radial_convention convention = FB_RADIAL_FREQBIAS;
    if (strcmp(convention_name, "centered") == 0)
        convention = FB_RADIAL_CENTERED;
    else if (strcmp(convention_name, "freqbias") != 0)
        convention = (fb_radial_convention)-1;
    if (!out || (!data_dir && !test_data) || (!ckpt_dir && optind >= argc) || n < 1 || batch < 1 ||
        (int)convention < 0) {
        fprintf(stderr, "freqbias gradspec: need checkpoints, data, --out; --convention freqbias|centered\n");
        usage(stderr);
        return 1;
    }
    const fb_backend *backend = fb_backend_by_name(backend_name);
    if (!backend)
        return cli_fail("gradspec", FB_ERR_USAGE);
    char **paths = NULL;
    int count = 0;
    fb_status status = FB_OK;
    if (ckpt_dir) {
        status = list_epochs(ckpt_dir, &paths, &count);
    } else {
        count = argc - optind;
        paths = malloc((size_t)count * sizeof *paths);
        for (int i = 0; i < count; i++)
            paths[i] = strdup(argv[optind + i]);
    }
    fb_dataset data = {0};
    fb_model *model = NULL;
    fb_radial_bins bins = {0};
    fb_gradspec_rows rows = {0};
    fb_gradspec_timing timing = {0, 0};
    int writes = fb_dist_is_root();
    if (status == FB_OK && writes)
        status = cli_make_dirs(out);
    if (status == FB_OK)
        status = cli_load_dataset(data_dir, kind, test_data, FB_SPLIT_TEST, &data);
    if (status == FB_OK) /* each checkpoint is loaded in the loop below */
        status = cli_model_for(&model, paths[0], &data, batch, backend, 0);
    if (status == FB_OK)
        status = fb_radial_init(&bins, data.height, data.width, convention);
    if (status == FB_OK)
        status = fb_gradspec_rows_init(&rows, count, bins.bands, convention);
    for (int i = 0; status == FB_OK && i < count; i++) {
        status = fb_checkpoint_load(model, paths[i], NULL);
        if (status == FB_OK)
            status = fb_model_gradient_spectrum(model, &data, n, batch, &bins,
                                                rows.mean + (size_t)i * bins.bands,
                                                rows.std + (size_t)i * bins.bands, &timing);
        if (status == FB_OK) {
            fb_gradspec_rows_label(&rows, i, paths[i]);
            rows.count = i + 1;
            if (writes)
                fprintf(stderr, "gradspec: %s done (%d/%d)\n", paths[i], i + 1, count);
        }
    }
    if (status == FB_OK && writes)
        status = fb_gradspec_rows_write(&rows, out, "checkpoint (epoch order)", 0.0);
    if (status == FB_OK)
        printf("wrote %s/gradspec_mean.npy, gradspec_std.npy (%d checkpoints × %d bands, %s convention), "
               "gradspec.csv, gradspec.png\n", out, rows.count, bins.bands, fb_radial_convention_name(convention));
    if (status == FB_OK)
        printf("time: %.1f s forward + backward to the pixels, %.2f s FFTs and averages (%.0f%% backward-bound)\n",
               timing.model_seconds, timing.spectrum_seconds,
               100.0 * timing.model_seconds / (timing.model_seconds + timing.spectrum_seconds));
    int code = status == FB_OK ? 0 : cli_fail("gradspec", status);
    fb_gradspec_rows_free(&rows);
    fb_radial_free(&bins);
    fb_model_free(model);
    fb_dataset_free(&data);
    for (int i = 0; i < count; i++)
        free(paths[i]);
    free(paths);
    return code;
}
