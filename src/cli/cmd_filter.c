/* cmd_filter.c — `freqbias filter`: the missing generator of the seed's
 * dft/test_data_{low,high}_{r}.npy filtered test sets.
 *
 * Filters every image of a split with a C1 radial mask (PAPER.md C1, pixels
 * in [0,1]) and writes it:
 *   --norm minmax (default)  per image and channel to [0,1], then ×255 and
 *                            truncated to uint8 as the seed did, in CIFAR
 *                            binary with the labels (OUT is a .bin file);
 *   --norm none              the real part as float32 NCHW .npy (never
 *                            wrapped into uint8 as the seed's files were),
 *                            plus OUT's "labels" twin (<stem>_labels.npy);
 *   --layout seed            OUT is a folder receiving test_data_{freq}_{r}.npy,
 *                            uint8 N×H×W×C after min-max ×255 (the seed's file).
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"
#include "freqbias/backend.h"
#include "freqbias/npy.h"
#include "freqbias/plot.h"
#include "freqbias/runtime.h"
#include "freqbias/spectrum.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: freqbias filter --data DIR [--dataset cifar10] [--split train|test] (or --input FILE|DIR)\n"
                 "                       --freq low|high|band|dct --r R [--r2 R2] [--norm minmax|none]\n"
                 "                       [--layout cifar|seed] --out PATH [--threads T] [--backend cpu|cuda]\n"
                 "                       [--check] [--samples FILE.png]\n"
                 "--backend cuda filters on the GPU (cuFFT; dct with cuBLAS).\n"
                 "--check also verifies the conventions on this data: X_low + X_high = x (C1 masks, no\n"
                 "normalisation), the mask's Hermitian symmetry, and the imaginary residual of the inverses.\n");
}

/* [count, C, H, W] in [0,1] → uint8 by ×255 and truncation (the seed's cast). */
static uint8_t *to_uint8(const float *images, size_t count)
{
    uint8_t *bytes = malloc(count ? count : 1);
    if (!bytes)
        return NULL;
    for (size_t i = 0; i < count; i++) {
        float v = images[i] * 255.0f;
        bytes[i] = v <= 0.0f ? 0 : (v >= 255.0f ? 255 : (uint8_t)v);
    }
    return bytes;
}

static fb_status write_seed_layout(const char *folder, const fb_dataset *data, const uint8_t *planar,
                                   fb_freq freq, double r)
{
    char path[1100];
    FB_TRY(cli_make_dirs(folder));
    snprintf(path, sizeof path, "%s/test_data_%s_%g.npy", folder, fb_freq_name(freq), r);
    FB_TRY(cli_write_nhwc_npy(path, planar, data->count, data->channels, data->height, data->width));
    printf("wrote %s\n", path);
    return FB_OK;
}

/* --samples: the first 8 images above their filtered versions (each shown
 * min-max normalised so a high-pass image is visible). */
static fb_status write_samples(const char *path, const fb_dataset *data, const float *filtered,
                               fb_freq freq, double r, int already_minmax)
{
    int n = data->count < 8 ? data->count : 8, C = data->channels, H = data->height, W = data->width;
    size_t image = (size_t)C * H * W;
    float *tiles = malloc((size_t)2 * n * image * sizeof(float)); /* [2n, C, H, W] */
    if (!tiles)
        return fb_error(FB_ERR_NOMEM, "%s: out of memory", path);
    fb_u8_to_unit(tiles, data->pixels, (size_t)n * image);
    memcpy(tiles + (size_t)n * image, filtered, (size_t)n * image * sizeof(float));
    if (!already_minmax)
        fb_minmax_planes(tiles + (size_t)n * image, (size_t)n * C, (size_t)H * W);
    char title[96];
    snprintf(title, sizeof title, "top: original; bottom: %s-pass, r = %g%s", fb_freq_name(freq), r,
             already_minmax ? "" : " (shown min-max normalised)");
    fb_status status = fb_plot_image_grid(path, tiles, 2 * n, C, H, W, n, 3, NULL, title);
    free(tiles);
    if (status == FB_OK)
        printf("wrote %s\n", path);
    return status;
}

/* --check: the invariants of PAPER.md C1 on this data at radius r. */
static fb_status run_checks(const fb_dataset *data, double r, const fb_backend *backend)
{
    float *low = NULL, *high = NULL, mask[64 * 64], ratio_low = 0.0f, ratio_high = 0.0f;
    size_t count = (size_t)data->count * data->channels * data->height * data->width;
    float *x = malloc(count * sizeof(float)); /* [count, C, H, W] in [0,1] */
    if (!x)
        return fb_error(FB_ERR_NOMEM, "--check: out of memory");
    fb_u8_to_unit(x, data->pixels, count);
    fb_status status = fb_filter_dataset(data, FB_FREQ_LOW, r, 0.0, FB_NORM_NONE, backend, &low, &ratio_low);
    if (status == FB_OK)
        status = fb_filter_dataset(data, FB_FREQ_HIGH, r, 0.0, FB_NORM_NONE, backend, &high, &ratio_high);
    if (status == FB_OK) {
        int violations = -1, coefficients = -1; /* -1: images larger than 64×64, not checked */
        if (data->height <= 64 && data->width <= 64) {
            fb_mask_low(mask, data->height, data->width, r);
            violations = fb_mask_hermitian_violations(mask, data->height, data->width);
            coefficients = fb_mask_count(mask, data->height, data->width);
        }
        double error = fb_check_low_high_sum(x, low, high, count);
        printf("check: max |X_low + X_high - x| = %.2e (pixels in [0,1]); low mask: %d coefficients, "
               "%d Hermitian violations; imaginary residual %.2e (low), %.2e (high)\n",
               error, coefficients, violations, (double)ratio_low,
               (double)ratio_high);
        if (error > 1e-4 || violations > 0)
            status = fb_error(FB_ERR_NUMERIC, "--check failed: sum error %.2e, %d violations", error,
                              violations);
    }
    free(x);
    free(low);
    free(high);
    return status;
}

int cmd_filter(int argc, char **argv)
{
    static const struct option options[] = {
        {"data", required_argument, 0, 'd'},   {"dataset", required_argument, 0, 'D'},
        {"split", required_argument, 0, 's'},  {"input", required_argument, 0, 'i'},
        {"freq", required_argument, 0, 'q'},   {"r", required_argument, 0, 'r'},
        {"r2", required_argument, 0, 'R'},     {"norm", required_argument, 0, 'n'},
        {"layout", required_argument, 0, 'l'}, {"out", required_argument, 0, 'o'},
        {"threads", required_argument, 0, 't'}, {"check", no_argument, 0, 'k'},
        {"samples", required_argument, 0, 'g'}, {"backend", required_argument, 0, 'B'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *data_dir = NULL, *kind = "cifar10", *split_name = "test", *input = NULL;
    const char *freq_name = NULL, *norm_name = "minmax", *layout = "cifar", *out = NULL, *samples = NULL;
    const char *backend_name = "cpu";
    double r = 0.0, r2 = 0.0;
    int opt, check = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'd': data_dir = optarg; break;
        case 'D': kind = optarg; break;
        case 's': split_name = optarg; break;
        case 'i': input = optarg; break;
        case 'q': freq_name = optarg; break;
        case 'r': r = atof(optarg); break;
        case 'R': r2 = atof(optarg); break;
        case 'n': norm_name = optarg; break;
        case 'l': layout = optarg; break;
        case 'o': out = optarg; break;
        case 't': fb_set_threads(atoi(optarg)); break;
        case 'k': check = 1; break;
        case 'g': samples = optarg; break;
        case 'B': backend_name = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
    }
    fb_freq freq;
    int seed_layout = strcmp(layout, "seed") == 0;
    int minmax = strcmp(norm_name, "minmax") == 0;
    if (!out || !freq_name || (!data_dir && !input) || optind < argc ||
        (strcmp(split_name, "train") != 0 && strcmp(split_name, "test") != 0) ||
        (!minmax && strcmp(norm_name, "none") != 0) || (!seed_layout && strcmp(layout, "cifar") != 0) ||
        (seed_layout && !minmax)) {
        fprintf(stderr, "freqbias filter: need --freq, --r, --out and --data or --input; --split train|test; "
                        "--norm minmax|none; --layout cifar|seed (seed needs minmax)\n");
        usage(stderr);
        return 1;
    }
    if (fb_freq_parse(freq_name, &freq) != FB_OK)
        return cli_fail("filter", FB_ERR_USAGE);
    const fb_backend *backend = fb_backend_by_name(backend_name);
    if (!backend)
        return cli_fail("filter", FB_ERR_USAGE);
    fb_dataset data = {0};
    float *filtered = NULL; /* [count, C, H, W] */
    float imag_ratio = 0.0f;
    fb_split split = strcmp(split_name, "train") == 0 ? FB_SPLIT_TRAIN : FB_SPLIT_TEST;
    fb_status status = cli_load_dataset(data_dir, kind, input, split, &data);
    if (status == FB_OK)
        status = fb_filter_dataset(&data, freq, r, r2, minmax ? FB_NORM_MINMAX : FB_NORM_NONE, backend,
                                   &filtered, &imag_ratio);
    size_t count = (size_t)data.count * data.channels * data.height * data.width;
    if (status == FB_OK && minmax) {
        uint8_t *bytes = to_uint8(filtered, count);
        if (!bytes) {
            status = fb_error(FB_ERR_NOMEM, "out of memory");
        } else if (seed_layout) {
            status = write_seed_layout(out, &data, bytes, freq, r);
        } else {
            fb_dataset result = data;
            result.pixels = bytes;
            status = fb_cifar10_write(out, &result);
            if (status == FB_OK)
                printf("wrote %s (%d images, CIFAR-10 binary)\n", out, data.count);
        }
        free(bytes);
    } else if (status == FB_OK) {
        int64_t shape[4] = {data.count, data.channels, data.height, data.width};
        status = fb_npy_write(out, FB_NPY_F32, 4, shape, filtered);
        char labels_path[1100];
        snprintf(labels_path, sizeof labels_path, "%.*s_labels.npy",
                 (int)(strlen(out) > 4 && strcmp(out + strlen(out) - 4, ".npy") == 0 ? strlen(out) - 4 : strlen(out)),
                 out);
        int64_t label_shape[1] = {data.count};
        if (status == FB_OK)
            status = fb_npy_write(labels_path, FB_NPY_I32, 1, label_shape, data.labels);
        if (status == FB_OK)
            printf("wrote %s (float32 NCHW) and %s\n", out, labels_path);
    }
    if (status == FB_OK)
        printf("%s-pass r = %g, norm %s: %d images, largest imaginary residual %.2e of the real part\n",
               fb_freq_name(freq), r, norm_name, data.count, (double)imag_ratio);
    if (status == FB_OK && check)
        status = run_checks(&data, r, backend);
    if (status == FB_OK && samples)
        status = write_samples(samples, &data, filtered, freq, r, minmax);
    int code = status == FB_OK ? 0 : cli_fail("filter", status);
    free(filtered);
    fb_dataset_free(&data);
    return code;
}
