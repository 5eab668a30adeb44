/* cmd_spectrum.c — `freqbias spectrum`: spectral density curves of a
 * dataset, per class on request, the gradient density of a model on the same
 * axes, and the per-class band-power distributions of the paper's Fig. 1.
 *
 * Image density (the CDES "AI" of PAPER.md E3): per image, grayscale
 * (0.2989 R + 0.5870 G + 0.1140 B of pixels in [0,1]) → fft2 → fftshift →
 * 20·ln(1 + |F|) → azimuthal average (C2) → min-max; then mean ± std over
 * images. Gradient density (--ckpt): the gradient spectrum of E2 on the same
 * images. Both min-max per image, so they share one 0–1 axis. With
 * --backend cuda both FFTs run on the GPU (cuFFT) and the model too.
 * --kde (PAPER.md E5): per image and band, the log of the mean power |F|² of
 * the grayscale spectrum over the band's coefficients (low r < 8, mid
 * 8 ≤ r < 16, high r ≥ 16, distance from the DC bin); a Gaussian KDE per
 * class with Scott's bandwidth (σ·n^(−1/5)) on 200 points; one figure per band.
 * Under mpirun the ranks share the gradient density's batches
 * (fb_model_gradient_spectrum); rank 0 alone computes the image densities
 * (FFT-bound and quick) and writes everything.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"
#include "freqbias/checkpoint.h"
#include "freqbias/dist.h"
#include "freqbias/npy.h"
#include "freqbias/plot.h"
#include "freqbias/runtime.h"
#include "freqbias/spectrum.h"

#define KDE_POINTS 200
#define MAX_CLASSES 100

static void usage(FILE *out)
{
    fprintf(out, "usage: freqbias spectrum (--data DIR [--dataset cifar10] [--split train|test] | --input FILE|DIR)\n"
                 "                         --out DIR [--per-class] [--kde] [--ckpt FILE [--n 1000]]\n"
                 "                         [--convention freqbias|centered] [--threads T] [--backend cpu|cpu-ref|cuda]\n");
}

#define CHUNK 2048

/* Grayscale |fftshift(fft2)| of images [first, first + n): magnitude[n, H, W].
 * The work buffers hold one chunk, so memory stays small for 50,000 images. */
static fb_status gray_magnitudes(const fb_dataset *data, int first, int n, const fb_backend *backend,
                                 float *magnitude, float *unit, float *spectrum, float *scratch)
{
    int h = data->height, w = data->width;
    size_t plane = (size_t)h * w;
    size_t image = (size_t)data->channels * plane;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) { /* per image, so the work splits over threads */
        fb_u8_to_unit(unit + (size_t)i * image, data->pixels + ((size_t)first + i) * image, image);
        if (data->channels == 3)
            fb_grayscale(magnitude + (size_t)i * plane, unit + (size_t)i * image, 1, h, w);
        else
            memcpy(magnitude + (size_t)i * plane, unit + (size_t)i * image, plane * sizeof(float));
    }
    FB_TRY(fb_fft2_on(backend, spectrum, magnitude, n, h, w)); /* cuFFT on the cuda backend */
    /* |F| of the unshifted spectrum (sqrt(re² + im²): no overflow risk for
     * pixel data, and 3× cheaper than hypotf), then a real fftshift */
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
        const float *complex_plane = spectrum + (size_t)i * plane * 2; /* [H, W, 2] */
        float *unshifted = scratch + (size_t)i * plane;                /* [H, W] */
        for (size_t p = 0; p < plane; p++) {
            float re = complex_plane[2 * p], im = complex_plane[2 * p + 1];
            unshifted[p] = sqrtf(re * re + im * im);
        }
        fb_fftshift_real(magnitude + (size_t)i * plane, unshifted, h, w);
    }
    return FB_OK;
}

static fb_status density_figure(const char *path, const float *mean, const float *std,
                                const float *const *class_means,
                                int classes, const float *gradient, int bands, const char *title)
{
    double x[64], y[MAX_CLASSES + 4][64];
    char names[MAX_CLASSES + 4][32];
    fb_line_series series[MAX_CLASSES + 4];
    int count = 0;
    for (int b = 0; b < bands; b++)
        x[b] = b;
    for (int c = 0; c < classes; c++) {
        for (int b = 0; b < bands; b++)
            y[count][b] = class_means[c][b];
        snprintf(names[count], sizeof names[count], "class %d", c);
        series[count] = (fb_line_series){names[count], x, y[count], bands, NULL};
        count++;
    }
    if (!classes) {
        for (int b = 0; b < bands; b++) {
            y[count][b] = mean[b];
            y[count + 1][b] = mean[b] + std[b];
            y[count + 2][b] = mean[b] - std[b];
        }
        series[count] = (fb_line_series){"images (mean)", x, y[count], bands, NULL};
        series[count + 1] = (fb_line_series){"images (mean + std)", x, y[count + 1], bands, NULL};
        series[count + 2] = (fb_line_series){"images (mean - std)", x, y[count + 2], bands, NULL};
        count += 3;
    }
    if (gradient) {
        for (int b = 0; b < bands; b++)
            y[count][b] = gradient[b];
        series[count] = (fb_line_series){"input gradient (mean)", x, y[count], bands, NULL};
        count++;
    }
    fb_plot_labels labels = fb_plot_labels_default();
    labels.title = title;
    labels.x_label = "frequency band";
    labels.y_label = "spectral density (per-image min-max)";
    labels.fixed_y = 1;
    labels.y_min = 0.0;
    labels.y_max = 1.0;
    return fb_plot_lines(path, series, count, &labels);
}

/* Log mean band power per image and band: power[n, 3]. */
static void band_powers(double *power, const float *magnitude, int n, int h, int w)
{
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
        double sum[3] = {0, 0, 0};
        int count[3] = {0, 0, 0};
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                double d = hypot(y - h / 2, x - w / 2);
                int band = d < 8 ? 0 : (d < 16 ? 1 : 2);
                double m = magnitude[((size_t)i * h + y) * w + x];
                sum[band] += m * m;
                count[band]++;
            }
        for (int b = 0; b < 3; b++)
            power[(size_t)i * 3 + b] = log(sum[b] / count[b] + 1e-12);
    }
}

static fb_status kde_figures(const char *out, const fb_dataset *data, const double *power)
{
    static const char *const band_names[3] = {"low (r < 8)", "mid (8 <= r < 16)", "high (r >= 16)"};
    static const char *const files[3] = {"kde_low.png", "kde_mid.png", "kde_high.png"};
    int classes = data->num_classes < MAX_CLASSES ? data->num_classes : MAX_CLASSES;
    float *table = calloc((size_t)3 * classes * KDE_POINTS + 3 * KDE_POINTS, sizeof(float)); /* [3, classes+1, points] */
    if (!table)
        return fb_error(FB_ERR_NOMEM, "kde: out of memory");
    fb_status status = FB_OK;
    for (int b = 0; b < 3 && status == FB_OK; b++) {
        double lo = INFINITY, hi = -INFINITY, grid[KDE_POINTS], density[MAX_CLASSES][KDE_POINTS];
        for (int i = 0; i < data->count; i++) {
            lo = fmin(lo, power[(size_t)i * 3 + b]);
            hi = fmax(hi, power[(size_t)i * 3 + b]);
        }
        for (int p = 0; p < KDE_POINTS; p++)
            grid[p] = lo + (hi - lo) * p / (KDE_POINTS - 1);
        fb_line_series series[MAX_CLASSES];
        char names[MAX_CLASSES][32];
        for (int c = 0; c < classes; c++) {
            double sum = 0.0, squares = 0.0;
            int n = 0;
            for (int i = 0; i < data->count; i++)
                if (data->labels[i] == c) {
                    sum += power[(size_t)i * 3 + b];
                    n++;
                }
            double mean = n ? sum / n : 0.0;
            for (int i = 0; i < data->count; i++)
                if (data->labels[i] == c)
                    squares += (power[(size_t)i * 3 + b] - mean) * (power[(size_t)i * 3 + b] - mean);
            double sigma = n > 1 ? sqrt(squares / (n - 1)) : 1.0;
            double bandwidth = sigma * pow(n > 0 ? n : 1, -0.2); /* Scott */
            for (int p = 0; p < KDE_POINTS; p++) {
                double s = 0.0;
                for (int i = 0; i < data->count; i++)
                    if (data->labels[i] == c) {
                        double z = (grid[p] - power[(size_t)i * 3 + b]) / bandwidth;
                        s += exp(-0.5 * z * z);
                    }
                density[c][p] = n ? s / (n * bandwidth * sqrt(2 * 3.14159265358979323846)) : 0.0;
                table[((size_t)b * (classes + 1) + c) * KDE_POINTS + p] = (float)density[c][p];
            }
            snprintf(names[c], sizeof names[c], "class %d", c);
            series[c] = (fb_line_series){names[c], grid, density[c], KDE_POINTS, NULL};
        }
        for (int p = 0; p < KDE_POINTS; p++)
            table[((size_t)b * (classes + 1) + classes) * KDE_POINTS + p] = (float)grid[p];
        char path[1100], title[96];
        snprintf(path, sizeof path, "%s/%s", out, files[b]);
        snprintf(title, sizeof title, "Per-class distribution of band power: %s", band_names[b]);
        fb_plot_labels labels = fb_plot_labels_default();
        labels.title = title;
        labels.x_label = "log mean power of the band";
        labels.y_label = "density (Gaussian KDE)";
        status = fb_plot_lines(path, series, classes, &labels);
    }
    if (status == FB_OK) {
        char path[1100];
        int64_t shape[3] = {3, classes + 1, KDE_POINTS};
        snprintf(path, sizeof path, "%s/kde.npy", out);
        status = fb_npy_write(path, FB_NPY_F32, 3, shape, table);
    }
    free(table);
    return status;
}

int cmd_spectrum(int argc, char **argv)
{
    static const struct option options[] = {
        {"data", required_argument, 0, 'd'},   {"dataset", required_argument, 0, 'D'},
        {"split", required_argument, 0, 's'},  {"input", required_argument, 0, 'i'},
        {"out", required_argument, 0, 'o'},    {"per-class", no_argument, 0, 'p'},
        {"kde", no_argument, 0, 'k'},          {"ckpt", required_argument, 0, 'c'},
        {"n", required_argument, 0, 'n'},      {"convention", required_argument, 0, 'v'},
        {"threads", required_argument, 0, 't'}, {"backend", required_argument, 0, 'B'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    const char *data_dir = NULL, *kind = "cifar10", *split_name = "test", *input = NULL, *out = NULL;
    const char *ckpt = NULL, *convention_name = "freqbias", *backend_name = "cpu";
    int per_class = 0, kde = 0, n_grad = 1000, opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'd': data_dir = optarg; break;
        case 'D': kind = optarg; break;
        case 's': split_name = optarg; break;
        case 'i': input = optarg; break;
        case 'o': out = optarg; break;
        case 'p': per_class = 1; break;
        case 'k': kde = 1; break;
        case 'c': ckpt = optarg; break;
        case 'n': n_grad = atoi(optarg); break;
        case 'v': convention_name = optarg; break;
        case 't': fb_set_threads(atoi(optarg)); break;
        case 'B': backend_name = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
    }
    int centered = strcmp(convention_name, "centered") == 0;
    if (!out || (!data_dir && !input) || optind < argc || (!centered && strcmp(convention_name, "freqbias") != 0) ||
        (strcmp(split_name, "train") != 0 && strcmp(split_name, "test") != 0) || n_grad < 1) {
        fprintf(stderr, "freqbias spectrum: need --out and --data or --input (see --help)\n");
        usage(stderr);
        return 1;
    }
    const fb_backend *backend = fb_backend_by_name(backend_name);
    if (!backend)
        return cli_fail("spectrum", FB_ERR_USAGE);
    fb_dataset data = {0};
    float *magnitude = NULL, *profiles = NULL, *mean = NULL, *std = NULL, *grad_mean = NULL, *grad_std = NULL;
    float *class_mean = NULL;
    double *power = NULL;
    fb_radial_bins bins = {0};
    fb_model *model = NULL;
    int writes = fb_dist_is_root(); /* the other ranks only share the gradient density */
    fb_status status = writes ? cli_make_dirs(out) : FB_OK;
    if (status == FB_OK)
        status = cli_load_dataset(data_dir, kind, input,
                                  strcmp(split_name, "train") == 0 ? FB_SPLIT_TRAIN : FB_SPLIT_TEST, &data);
    if (status == FB_OK)
        status = fb_radial_init(&bins, data.height, data.width, centered ? FB_RADIAL_CENTERED : FB_RADIAL_FREQBIAS);
    int bands = bins.bands, classes = data.num_classes < MAX_CLASSES ? data.num_classes : MAX_CLASSES;
    if (status == FB_OK && writes) {
        size_t plane = (size_t)data.height * data.width;
        int chunk = data.count < CHUNK ? data.count : CHUNK;
        magnitude = malloc((size_t)chunk * plane * sizeof(float));                  /* [chunk, H, W] */
        float *unit = malloc((size_t)chunk * data.channels * plane * sizeof(float)); /* [chunk, C, H, W] */
        float *spectrum = malloc((size_t)chunk * plane * 2 * sizeof(float));        /* [chunk, H, W, 2] */
        float *scratch = malloc((size_t)chunk * plane * sizeof(float));             /* [chunk, H, W] */
        profiles = malloc((size_t)data.count * bands * sizeof(float));              /* [n, bands] */
        mean = malloc((size_t)bands * sizeof(float));
        std = malloc((size_t)bands * sizeof(float));
        class_mean = calloc((size_t)classes * bands, sizeof(float));                 /* [classes, bands] */
        if (kde)
            power = malloc((size_t)data.count * 3 * sizeof(double));               /* [n, 3] */
        if (!magnitude || !unit || !spectrum || !scratch || !profiles || !mean || !std || !class_mean ||
            (kde && !power))
            status = fb_error(FB_ERR_NOMEM, "spectrum: out of memory");
        for (int first = 0; status == FB_OK && first < data.count; first += chunk) {
            int n = data.count - first < chunk ? data.count - first : chunk;
            status = gray_magnitudes(&data, first, n, backend, magnitude, unit, spectrum, scratch);
            if (status == FB_OK && kde)
                band_powers(power + (size_t)first * 3, magnitude, n, data.height, data.width);
            if (status == FB_OK) {
#pragma omp parallel for schedule(static)
                for (size_t i = 0; i < (size_t)n * plane; i++)
                    magnitude[i] = 20.0f * logf(1.0f + magnitude[i]);
                status = fb_radial_average(profiles + (size_t)first * bands, magnitude, n, &bins);
            }
        }
        free(unit);
        free(spectrum);
        free(scratch);
    }
    if (status == FB_OK && writes) {
        fb_minmax_planes(profiles, (size_t)data.count, (size_t)bands);
        fb_profile_mean_std(mean, std, profiles, data.count, bands);
        for (int c = 0; c < classes; c++) {
            double sums[64] = {0};
            int n = 0;
            for (int i = 0; i < data.count; i++)
                if (data.labels[i] == c) {
                    for (int b = 0; b < bands; b++)
                        sums[b] += profiles[(size_t)i * bands + b];
                    n++;
                }
            for (int b = 0; b < bands; b++)
                class_mean[(size_t)c * bands + b] = n ? (float)(sums[b] / n) : 0.0f;
        }
    }
    if (status == FB_OK && ckpt) {
        status = cli_model_for(&model, ckpt, &data, 128, backend, 1);
        grad_mean = malloc((size_t)bands * sizeof(float));
        grad_std = malloc((size_t)bands * sizeof(float));
        if (status == FB_OK)
            status = grad_mean && grad_std
                         ? fb_model_gradient_spectrum(model, &data, n_grad, 128, &bins, grad_mean, grad_std, NULL)
                         : fb_error(FB_ERR_NOMEM, "spectrum: out of memory");
    }
    char path[1100];
    if (status == FB_OK && writes) {
        int64_t shape[2] = {1, bands}, class_shape[2] = {classes, bands};
        snprintf(path, sizeof path, "%s/spectrum_mean.npy", out);
        status = fb_npy_write(path, FB_NPY_F32, 2, shape, mean);
        snprintf(path, sizeof path, "%s/spectrum_std.npy", out);
        if (status == FB_OK)
            status = fb_npy_write(path, FB_NPY_F32, 2, shape, std);
        snprintf(path, sizeof path, "%s/spectrum_per_class.npy", out);
        if (status == FB_OK)
            status = fb_npy_write(path, FB_NPY_F32, 2, class_shape, class_mean);
        snprintf(path, sizeof path, "%s/gradient_density.npy", out);
        if (status == FB_OK && grad_mean)
            status = fb_npy_write(path, FB_NPY_F32, 2, shape, grad_mean);
    }
    if (status == FB_OK && writes) {
        const float *rows[MAX_CLASSES];
        for (int c = 0; c < classes; c++)
            rows[c] = class_mean + (size_t)c * bands;
        snprintf(path, sizeof path, "%s/spectrum.png", out);
        status = density_figure(path, mean, std, rows, per_class ? classes : 0, grad_mean, bands,
                                grad_mean ? "Spectral density: images and input gradients"
                                          : "Spectral density of the images");
    }
    if (status == FB_OK && writes && kde)
        status = kde_figures(out, &data, power);
    if (status == FB_OK && writes) {
        printf("%d images, %d bands (%s): density mean", data.count, bands, fb_radial_convention_name(bins.convention));
        for (int b = 0; b < bands; b++)
            printf(" %.3f", mean[b]);
        printf("\nwrote %s/spectrum_mean.npy, spectrum_std.npy, spectrum_per_class.npy, spectrum.png%s%s\n", out,
               grad_mean ? ", gradient_density.npy" : "", kde ? ", kde.npy, kde_{low,mid,high}.png" : "");
    }
    int code = status == FB_OK ? 0 : cli_fail("spectrum", status);
    free(magnitude);
    free(profiles);
    free(mean);
    free(std);
    free(class_mean);
    free(grad_mean);
    free(grad_std);
    free(power);
    fb_radial_free(&bins);
    fb_model_free(model);
    fb_dataset_free(&data);
    return code;
}
