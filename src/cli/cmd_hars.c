/* cmd_hars.c — `freqbias hars`: build the HARS training set (PAPER.md E4).
 *
 * Writes DIR/data_batch_1..5.bin (CIFAR-10 binary, 10,000 images each, in
 * dataset order, labels of the high-frequency image) or, with --layout seed,
 * DIR/hars_train_images.npy (uint8 N×H×W×C) + DIR/hars_train_labels.npy, and
 * always DIR/pairing.csv (index, label, lf_source_index, lf_source_label).
 * `freqbias train --train-data DIR` trains on it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"
#include "freqbias/backend.h"
#include "freqbias/npy.h"
#include "freqbias/runtime.h"
#include "freqbias/spectrum.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: freqbias hars --data DIR [--dataset cifar10] (or --input FILE|DIR) [--r 12] [--seed S]\n"
                 "                     --out DIR [--layout cifar|seed] [--threads T] [--backend cpu|cuda]\n"
                 "--backend cuda runs the filters on the GPU (cuFFT).\n");
}

static fb_status write_pairing(const char *dir, const fb_dataset *data, const int *donor)
{
    char path[1100];
    size_t size = 64 + (size_t)data->count * 40;
    char *csv = malloc(size);
    if (!csv)
        return fb_error(FB_ERR_NOMEM, "pairing.csv: out of memory");
    size_t used = (size_t)snprintf(csv, size, "index,label,lf_source_index,lf_source_label\n");
    for (int i = 0; i < data->count; i++)
        used += (size_t)snprintf(csv + used, size - used, "%d,%d,%d,%d\n", i, data->labels[i], donor[i],
                                 data->labels[donor[i]]);
    snprintf(path, sizeof path, "%s/pairing.csv", dir);
    fb_status status = cli_write_text(path, csv);
    free(csv);
    return status;
}

static fb_status write_cifar_batches(const char *dir, const fb_dataset *hars)
{
    int per_file = 10000, files = (hars->count + per_file - 1) / per_file;
    size_t image = (size_t)hars->channels * hars->height * hars->width;
    for (int f = 0; f < files; f++) {
        char path[1100];
        fb_dataset part = *hars;
        part.count = hars->count - f * per_file < per_file ? hars->count - f * per_file : per_file;
        part.pixels = hars->pixels + (size_t)f * per_file * image;
        part.labels = hars->labels + (size_t)f * per_file;
        snprintf(path, sizeof path, "%s/data_batch_%d.bin", dir, f + 1);
        FB_TRY(fb_cifar10_write(path, &part));
    }
    return FB_OK;
}

static fb_status write_seed_layout(const char *dir, const fb_dataset *hars)
{
    char path[1100];
    int64_t label_shape[1] = {hars->count};
    snprintf(path, sizeof path, "%s/hars_train_images.npy", dir);
    FB_TRY(cli_write_nhwc_npy(path, hars->pixels, hars->count, hars->channels, hars->height, hars->width));
    snprintf(path, sizeof path, "%s/hars_train_labels.npy", dir);
    return fb_npy_write(path, FB_NPY_I32, 1, label_shape, hars->labels);
}

int cmd_hars(int argc, char **argv)
{
    static const struct option options[] = {
        {"data", required_argument, 0, 'd'},   {"dataset", required_argument, 0, 'D'},
        {"input", required_argument, 0, 'i'},  {"r", required_argument, 0, 'r'},
        {"seed", required_argument, 0, 's'},   {"out", required_argument, 0, 'o'},
        {"layout", required_argument, 0, 'l'}, {"threads", required_argument, 0, 't'},
        {"backend", required_argument, 0, 'B'}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *data_dir = NULL, *kind = "cifar10", *input = NULL, *out = NULL, *layout = "cifar";
    const char *backend_name = "cpu";
    double r = 12.0;
    unsigned long long seed = 0;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'd': data_dir = optarg; break;
        case 'D': kind = optarg; break;
        case 'i': input = optarg; break;
        case 'r': r = atof(optarg); break;
        case 's': seed = strtoull(optarg, NULL, 10); break;
        case 'o': out = optarg; break;
        case 'l': layout = optarg; break;
        case 't': fb_set_threads(atoi(optarg)); break;
        case 'B': backend_name = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
    }
    int seed_layout = strcmp(layout, "seed") == 0;
    if (!out || (!data_dir && !input) || !(r > 0) || optind < argc ||
        (!seed_layout && strcmp(layout, "cifar") != 0)) {
        fprintf(stderr, "freqbias hars: need --out, --data or --input, --r > 0, --layout cifar|seed\n");
        usage(stderr);
        return 1;
    }
    const fb_backend *backend = fb_backend_by_name(backend_name);
    if (!backend)
        return cli_fail("hars", FB_ERR_USAGE);
    fb_dataset data = {0}, hars = {0};
    int *donor = NULL;
    fb_status status = cli_make_dirs(out);
    if (status == FB_OK)
        status = cli_load_dataset(data_dir, kind, input, FB_SPLIT_TRAIN, &data);
    if (status == FB_OK) {
        donor = malloc((size_t)data.count * sizeof(int));
        status = donor ? fb_hars_pairing(donor, data.labels, data.count, seed)
                       : fb_error(FB_ERR_NOMEM, "out of memory");
    }
    if (status == FB_OK)
        status = fb_hars_build(&hars, &data, donor, r, backend);
    if (status == FB_OK)
        status = seed_layout ? write_seed_layout(out, &hars) : write_cifar_batches(out, &hars);
    if (status == FB_OK)
        status = write_pairing(out, &data, donor);
    if (status == FB_OK)
        printf("wrote the HARS set (r = %g, seed %llu, %d images) and pairing.csv to %s\n", r, seed,
               hars.count, out);
    int code = status == FB_OK ? 0 : cli_fail("hars", status);
    free(donor);
    fb_dataset_free(&hars);
    fb_dataset_free(&data);
    return code;
}
