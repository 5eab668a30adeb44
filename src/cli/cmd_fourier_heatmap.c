/* cmd_fourier_heatmap.c — `freqbias fourier-heatmap`: Yin et al.'s Fourier
 * heat map of a checkpoint, and (--bands) its error under Gaussian noise
 * restricted to each of the seed's 20 radial bands (conventions in
 * freqbias/fourier.h and the README).
 *
 * Writes into --out:
 *   heatmap.npy    float64 [S, S], row r / column c = frequency
 *                  (r − S/2, c − S/2) cycles per image (DC at (S/2, S/2))
 *   heatmap.csv    freq_y, freq_x, error — one line per cell, row-major
 *   heatmap.png    the same, DC at the centre, axes in cycles per image
 *   bands.npy      float64 [20] (with --bands), bands.csv, bands.png
 *   samples.png    (with --samples) basis images and perturbed test images
 *   summary.json   the settings, the clean error and the wall times
 * --bands-only skips the heat map.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"
#include "freqbias/backend.h"
#include "freqbias/fourier.h"
#include "freqbias/json.h"
#include "freqbias/model.h"
#include "freqbias/npy.h"
#include "freqbias/plot.h"
#include "freqbias/runtime.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: freqbias fourier-heatmap --ckpt FILE (--data DIR [--dataset cifar10] | --test-data FILE|DIR)\n"
                 "                                [--split test|train] [--n 1000] [--eps 4] [--size 32] [--seed 0]\n"
                 "                                [--error-type top1|loss] [--samples] [--bands | --bands-only]\n"
                 "                                [--batch 128] [--threads T] [--backend cpu|cpu-ref|cuda] --out DIR\n"
                 "Error of the model on the first N images, each channel perturbed by r*eps*U(i,j), U the\n"
                 "unit-L2 real Fourier basis image of frequency (i,j), r = +-1 from the seeded RNG, clipped\n"
                 "to [0,1]. --bands: also Gaussian noise of L2 norm eps per channel restricted to each of the\n"
                 "20 radial bands of PAPER.md C2.\n");
}

static void report_progress(void *context, long done, long total)
{
    cli_progress_update(context, done, total, done);
}

static fb_status write_heatmap(const char *out, const double *heatmap, int size,
                               fb_fourier_error_type type, int n, double eps)
{
    char path[1100];
    int64_t shape[2] = {size, size};
    snprintf(path, sizeof path, "%s/heatmap.npy", out);
    FB_TRY(fb_npy_write(path, FB_NPY_F64, 2, shape, heatmap));
    cli_text csv = {0};
    cli_text_add(&csv, "freq_y,freq_x,%s\n", type == FB_FOURIER_TOP1 ? "top1_error" : "loss");
    for (int r = 0; r < size; r++)
        for (int c = 0; c < size; c++)
            cli_text_add(&csv, "%d,%d,%.6f\n", r - size / 2, c - size / 2, heatmap[r * size + c]);
    snprintf(path, sizeof path, "%s/heatmap.csv", out);
    fb_status status = cli_text_write(path, &csv);
    cli_text_free(&csv);
    if (status != FB_OK)
        return status;
    float *values = malloc((size_t)size * size * sizeof(float)); /* [S, S], row 0 drawn at the bottom */
    if (!values)
        return fb_error(FB_ERR_NOMEM, "%s: out of memory", out);
    for (int i = 0; i < size * size; i++)
        values[i] = (float)heatmap[i];
    char title[160];
    snprintf(title, sizeof title, "Fourier heat map (eps %g, %d images)", eps, n);
    fb_heatmap_labels labels = fb_heatmap_labels_default();
    labels.title = title;
    labels.x_label = "horizontal frequency (cycles per image)";
    labels.y_label = "vertical frequency (cycles per image)";
    labels.colorbar_label = type == FB_FOURIER_TOP1 ? "top-1 error" : "cross-entropy";
    labels.colormap = FB_COLORMAP_JET;
    labels.x_first = labels.y_first = -(size / 2);
    snprintf(path, sizeof path, "%s/heatmap.png", out);
    status = fb_plot_heatmap(path, values, size, size, &labels);
    free(values);
    return status;
}

static fb_status write_bands(const char *out, const double *errors, const fb_radial_bins *bins,
                             double clean, fb_fourier_error_type type, double eps)
{
    char path[1100];
    int64_t shape[1] = {bins->bands};
    snprintf(path, sizeof path, "%s/bands.npy", out);
    FB_TRY(fb_npy_write(path, FB_NPY_F64, 1, shape, errors));
    size_t hw = (size_t)bins->h * bins->w;
    float *masks = malloc((size_t)bins->bands * hw * sizeof(float)); /* [bands, H, W] */
    if (!masks)
        return fb_error(FB_ERR_NOMEM, "%s: out of memory", out);
    fb_status status = fb_band_noise_masks(masks, bins);
    cli_text csv = {0};
    cli_text_add(&csv, "band,band_pixels,noise_pixels,%s\n", type == FB_FOURIER_TOP1 ? "top1_error" : "loss");
    for (int b = 0; status == FB_OK && b < bins->bands; b++)
        cli_text_add(&csv, "%d,%d,%d,%.6f\n", b, bins->counts[b],
                     fb_mask_count(masks + (size_t)b * hw, bins->h, bins->w), errors[b]);
    free(masks);
    snprintf(path, sizeof path, "%s/bands.csv", out);
    if (status == FB_OK)
        status = cli_text_write(path, &csv);
    cli_text_free(&csv);
    if (status != FB_OK)
        return status;
    fb_line_series series = {.name = "band-limited noise", .y = errors, .count = bins->bands};
    char title[160];
    snprintf(title, sizeof title, "Error under Gaussian noise in one radial band (L2 %g per channel)", eps);
    fb_plot_labels labels = fb_plot_labels_default();
    labels.title = title;
    labels.x_label = "frequency band (PAPER.md C2)";
    labels.y_label = type == FB_FOURIER_TOP1 ? "top-1 error" : "cross-entropy";
    labels.has_reference = 1;
    labels.reference = clean;
    labels.reference_label = "clean";
    snprintf(path, sizeof path, "%s/bands.png", out);
    return fb_plot_lines(path, &series, 1, &labels);
}

/* Row 1: basis images U (drawn as 0.5 + U/(2·max|U|)); row 2: the first
 * test image perturbed along each with the signs of image 0. */
static fb_status write_samples(const char *out, const fb_dataset *data, const fb_fourier_options *o)
{
    enum { SHOWN = 8 };
    static const int offsets[SHOWN][2] = {{0, 1}, {1, 1}, {0, 4}, {4, 4}, {0, 8}, {8, 8}, {0, 15}, {15, 15}};
    int h = data->height, w = data->width, channels = data->channels;
    size_t hw = (size_t)h * w, chw = channels * hw;
    float *tiles = malloc(2 * SHOWN * chw * sizeof(float)); /* [2·SHOWN, C, H, W] */
    float *basis = malloc(hw * sizeof(float));              /* [H, W] */
    float *clean = malloc(chw * sizeof(float));             /* [C, H, W] */
    char captions[2 * SHOWN][32];
    const char *caption_list[2 * SHOWN];
    fb_status status = tiles && basis && clean ? FB_OK : fb_error(FB_ERR_NOMEM, "%s: out of memory", out);
    if (status == FB_OK)
        fb_u8_to_unit(clean, data->pixels, chw);
    for (int k = 0; k < SHOWN && status == FB_OK; k++) {
        int dy = offsets[k][0] < h / 2 ? offsets[k][0] : h / 2 - 1;
        int dx = offsets[k][1] < w / 2 ? offsets[k][1] : w / 2 - 1;
        int s = h / 2 + dy, t = w / 2 + dx;
        status = fb_fourier_basis(basis, h, w, s, t);
        if (status != FB_OK)
            break;
        float largest = 0.0f;
        for (size_t p = 0; p < hw; p++)
            largest = basis[p] > largest ? basis[p] : (-basis[p] > largest ? -basis[p] : largest);
        for (int c = 0; c < channels; c++)
            for (size_t p = 0; p < hw; p++)
                tiles[k * chw + c * hw + p] = 0.5f + 0.5f * basis[p] / largest;
        fb_fourier_perturb(tiles + (SHOWN + k) * chw, clean, basis, channels, h, w, o->eps, o->seed,
                           fb_fourier_pair_key(h, w, s, t), 0);
        snprintf(captions[k], sizeof captions[k], "U(%d,%d)", dy, dx);
        snprintf(captions[SHOWN + k], sizeof captions[SHOWN + k], "x+r*%g*U", o->eps);
        caption_list[k] = captions[k];
        caption_list[SHOWN + k] = captions[SHOWN + k];
    }
    char path[1100];
    snprintf(path, sizeof path, "%s/samples.png", out);
    if (status == FB_OK)
        status = fb_plot_image_grid(path, tiles, 2 * SHOWN, channels, h, w, SHOWN, 4, caption_list,
                                    "Fourier basis images (cycles per image) and test image 0 perturbed");
    free(tiles);
    free(basis);
    free(clean);
    return status;
}

static fb_status write_summary(const char *out, const char *ckpt, const fb_dataset *data,
                               const fb_fourier_options *o, const char *backend, double clean,
                               int heatmap_done, double heatmap_seconds, int bands_done, double band_seconds)
{
    char path[1100], ckpt_json[2200], data_json[1100];
    fb_json_escape(ckpt, ckpt_json, sizeof ckpt_json);
    fb_json_escape(data->source, data_json, sizeof data_json);
    cli_text text = {0};
    cli_text_add(&text, "{\n  \"checkpoint\": %s,\n  \"data\": %s,\n  \"n\": %d,\n  \"eps\": %g,\n"
                        "  \"size\": %d,\n  \"seed\": %llu,\n  \"error_type\": \"%s\",\n  \"backend\": \"%s\",\n"
                        "  \"threads\": %d,\n  \"clean_error\": %.6f,\n",
                 ckpt_json, data_json, o->n, o->eps, o->size, (unsigned long long)o->seed,
                 fb_fourier_error_name(o->error_type), backend, fb_get_threads(), clean);
    cli_text_add(&text, "  \"heatmap\": %s,\n  \"heatmap_seconds\": %.2f,\n  \"bands\": %s,\n"
                        "  \"band_convention\": \"freqbias\",\n  \"band_seconds\": %.2f\n}\n",
                 heatmap_done ? "true" : "false", heatmap_seconds, bands_done ? "true" : "false", band_seconds);
    snprintf(path, sizeof path, "%s/summary.json", out);
    fb_status status = cli_text_write(path, &text);
    cli_text_free(&text);
    return status;
}

int cmd_fourier_heatmap(int argc, char **argv)
{
    static const struct option options[] = {
        {"ckpt", required_argument, 0, 'c'},       {"data", required_argument, 0, 'd'},
        {"dataset", required_argument, 0, 'D'},    {"test-data", required_argument, 0, 'E'},
        {"split", required_argument, 0, 'S'},      {"n", required_argument, 0, 'n'},
        {"eps", required_argument, 0, 'e'},        {"size", required_argument, 0, 'z'},
        {"seed", required_argument, 0, 's'},       {"error-type", required_argument, 0, 'y'},
        {"samples", no_argument, 0, 'p'},          {"bands", no_argument, 0, 'B'},
        {"bands-only", no_argument, 0, 'O'},       {"batch", required_argument, 0, 'b'},
        {"threads", required_argument, 0, 't'},    {"backend", required_argument, 0, 'k'},
        {"out", required_argument, 0, 'o'},        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *ckpt = NULL, *data_dir = NULL, *kind = "cifar10", *test_data = NULL, *out = NULL;
    const char *split_name = "test", *backend_name = "cpu", *error_name = "top1";
    fb_fourier_options o = fb_fourier_options_default();
    int samples = 0, bands = 0, heatmap_wanted = 1, size_given = 0, bad = 0, opt;
    char *end = NULL;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'c': ckpt = optarg; break;
        case 'd': data_dir = optarg; break;
        case 'D': kind = optarg; break;
        case 'E': test_data = optarg; break;
        case 'S': split_name = optarg; break;
        case 'n': o.n = (int)strtol(optarg, &end, 10); bad |= *end || o.n < 1; break;
        case 'e': o.eps = strtod(optarg, &end); bad |= *end || !(o.eps >= 0) || o.eps > 1e6; break;
        case 'z': o.size = (int)strtol(optarg, &end, 10); size_given = 1; bad |= *end || o.size < 1; break;
        case 's': o.seed = strtoull(optarg, &end, 10); bad |= *end || optarg[0] == '-'; break;
        case 'y': error_name = optarg; break;
        case 'p': samples = 1; break;
        case 'B': bands = 1; break;
        case 'O': bands = 1; heatmap_wanted = 0; break;
        case 'b': o.batch = (int)strtol(optarg, &end, 10); bad |= *end || o.batch < 1; break;
        case 't': fb_set_threads(atoi(optarg)); break;
        case 'k': backend_name = optarg; break;
        case 'o': out = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
    }
    fb_split split = strcmp(split_name, "train") == 0 ? FB_SPLIT_TRAIN : FB_SPLIT_TEST;
    if (!ckpt || (!data_dir && !test_data) || !out || optind < argc || bad || (strcmp(split_name, "test") != 0 && strcmp(split_name, "train") != 0)) {
        fprintf(stderr, "freqbias fourier-heatmap: need --ckpt, --data or --test-data, and --out; "
                        "--n, --size, --batch positive integers, --eps >= 0, --split test|train\n");
        usage(stderr);
        return 1;
    }
    if (fb_fourier_error_parse(error_name, &o.error_type) != FB_OK)
        return cli_fail("fourier-heatmap", FB_ERR_USAGE);
    const fb_backend *backend = fb_backend_by_name(backend_name);
    if (!backend)
        return cli_fail("fourier-heatmap", FB_ERR_USAGE);
    fb_dataset data = {0};
    fb_model *model = NULL;
    fb_radial_bins bins = {0};
    double *heatmap = NULL, *band_errors = NULL, clean = 0.0, heatmap_seconds = 0.0, band_seconds = 0.0;
    cli_progress progress;
    fb_status status = cli_load_dataset(data_dir, kind, test_data, split, &data);
    if (status == FB_OK)
        status = cli_model_for(&model, ckpt, &data, o.batch, backend, 1);
    if (status == FB_OK) {
        if (o.n > data.count) {
            fprintf(stderr, "freqbias fourier-heatmap: %s has %d images, using all of them\n", data.source,
                    data.count);
            o.n = data.count;
        }
        int largest = data.height < data.width ? data.height : data.width;
        if (!size_given)
            o.size = largest;
        if (o.size > largest)
            status = fb_error(FB_ERR_USAGE, "--size %d: the images are %dx%d, so at most %d", o.size, data.height,
                              data.width, largest);
        else
            status = cli_make_dirs(out);
    }
    if (status == FB_OK)
        status = fb_fourier_clean_error(model, &data, &o, &clean);
    if (status == FB_OK && heatmap_wanted) {
        heatmap = malloc((size_t)o.size * o.size * sizeof(double)); /* [S, S] */
        if (!heatmap)
            status = fb_error(FB_ERR_NOMEM, "fourier-heatmap: out of memory");
        cli_progress_start(&progress, "heat map");
        o.progress = report_progress;
        o.progress_context = &progress;
        double start = cli_now();
        if (status == FB_OK)
            status = fb_fourier_heatmap(model, &data, &o, heatmap);
        heatmap_seconds = cli_now() - start;
        cli_progress_finish(&progress);
        if (status == FB_OK)
            status = write_heatmap(out, heatmap, o.size, o.error_type, o.n, o.eps);
    }
    if (status == FB_OK && bands) {
        status = fb_radial_init(&bins, data.height, data.width, FB_RADIAL_FREQBIAS);
        if (status == FB_OK && !(band_errors = malloc((size_t)bins.bands * sizeof(double))))
            status = fb_error(FB_ERR_NOMEM, "fourier-heatmap: out of memory");
        cli_progress_start(&progress, "bands");
        o.progress = report_progress;
        o.progress_context = &progress;
        double start = cli_now();
        if (status == FB_OK)
            status = fb_band_noise_errors(model, &data, &o, &bins, band_errors);
        band_seconds = cli_now() - start;
        cli_progress_finish(&progress);
        if (status == FB_OK)
            status = write_bands(out, band_errors, &bins, clean, o.error_type, o.eps);
    }
    if (status == FB_OK && samples)
        status = write_samples(out, &data, &o);
    if (status == FB_OK)
        status = write_summary(out, ckpt, &data, &o, backend_name, clean, heatmap_wanted, heatmap_seconds,
                               bands, band_seconds);
    if (status == FB_OK) {
        const char *what = o.error_type == FB_FOURIER_TOP1 ? "top-1 error" : "loss";
        printf("checkpoint  %s\ndata        %s (first %d images)\nclean %s  %.4f\n", ckpt, data.source, o.n,
               what, clean);
        if (heatmap) {
            double low = heatmap[0], high = heatmap[0];
            for (int i = 0; i < o.size * o.size; i++) {
                low = heatmap[i] < low ? heatmap[i] : low;
                high = heatmap[i] > high ? heatmap[i] : high;
            }
            printf("heat map    %dx%d, eps %g: %s %.4f .. %.4f, %.1f s\n", o.size, o.size, o.eps, what, low, high,
                   heatmap_seconds);
        }
        if (band_errors) {
            printf("band noise  (L2 %g per channel), %.1f s\nband  %s\n", o.eps, band_seconds, what);
            for (int b = 0; b < bins.bands; b++)
                printf("%4d  %.4f\n", b, band_errors[b]);
        }
        printf("wrote       %s\n", out);
    }
    int code = status == FB_OK ? 0 : cli_fail("fourier-heatmap", status);
    free(heatmap);
    free(band_errors);
    fb_radial_free(&bins);
    fb_model_free(model);
    fb_dataset_free(&data);
    return code;
}
