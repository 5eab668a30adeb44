/* cmd_sweep.c — `freqbias sweep`: the paper's Fig. 3 numbers (test.py over
 * radii): accuracy and feature discrimination on clean, low-pass and
 * high-pass copies of the test set.
 *
 * For the clean set and each (freq, r): top-1, top-5, mean loss, per-class
 * accuracy, and the inter-class variance, intra-class variance and their
 * ratio of the penultimate features (post-avg-pool vector; PAPER.md E1).
 * Writes DIR/sweep.csv and DIR/sweep.json and prints the Pearson correlation
 * between accuracy and inter-class variance across the sets, and draws
 * sweep_accuracy.png (top-1 vs r, low and high, clean as a dashed line) and
 * sweep_interclass.png (inter-class variance vs r).
 * Under mpirun the ranks share each set's batches (fb_evaluate gathers the
 * features at rank 0, where the variances are summed in image order) and
 * rank 0 alone prints and writes.
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
#include "freqbias/evaluate.h"
#include "freqbias/plot.h"
#include "freqbias/runtime.h"
#include "freqbias/spectrum.h"

#define MAX_SETS 64

typedef struct sweep_row {
    char freq[8];      /* "clean", "low", "high" */
    double r;
    fb_eval_result eval;
    double inter, intra;
} sweep_row;

static void usage(FILE *out)
{
    fprintf(out, "usage: freqbias sweep --ckpt FILE (--data DIR [--dataset cifar10] | --test-data FILE|DIR)\n"
                 "                      [--radii 4,8,12,16] [--freqs low,high] [--norm none|minmax]\n"
                 "                      --out DIR [--batch 128] [--threads T] [--backend cpu|cpu-ref|cuda]\n");
}

static int parse_list(const char *text, double *values, int max)
{
    int n = 0;
    for (const char *p = text; *p && n < max;) {
        char *end;
        double v = strtod(p, &end);
        if (end == p || !(v > 0))
            return -1;
        values[n++] = v;
        if (*end && *end != ',')
            return -1;
        p = *end ? end + 1 : end;
    }
    return n;
}

static fb_status write_outputs(const char *dir, const sweep_row *rows, int count, double pearson,
                               const char *ckpt, fb_norm norm)
{
    char path[1100];
    size_t size = 4096 + (size_t)count * 2048;
    char *csv = malloc(size), *json = malloc(size);
    if (!csv || !json) {
        free(csv);
        free(json);
        return fb_error(FB_ERR_NOMEM, "sweep: out of memory");
    }
    size_t c = (size_t)snprintf(csv, size, "set,freq,r,top1,top5,loss,inter_class_var,intra_class_var,ratio\n");
    size_t j = (size_t)snprintf(json, size, "{\n  \"checkpoint\": \"%s\",\n  \"norm\": \"%s\",\n"
                                            "  \"pearson_top1_inter\": %.6f,\n  \"sets\": [",
                                ckpt, fb_norm_name(norm), pearson);
    for (int i = 0; i < count; i++) {
        const sweep_row *row = &rows[i];
        c += (size_t)snprintf(csv + c, size - c, "%d,%s,%g,%.6f,%.6f,%.6f,%.6g,%.6g,%.6g\n", i, row->freq,
                              row->r, row->eval.top1, row->eval.top5, row->eval.loss, row->inter,
                              row->intra, row->inter / row->intra);
        j += (size_t)snprintf(json + j, size - j,
                              "%s\n    {\"freq\": \"%s\", \"r\": %g, \"top1\": %.6f, \"top5\": %.6f, "
                              "\"loss\": %.6f, \"inter_class_var\": %.6g, \"intra_class_var\": %.6g, "
                              "\"ratio\": %.6g, \"per_class_acc\": [",
                              i ? "," : "", row->freq, row->r, row->eval.top1, row->eval.top5,
                              row->eval.loss, row->inter, row->intra, row->inter / row->intra);
        for (int k = 0; k < row->eval.classes; k++)
            j += (size_t)snprintf(json + j, size - j, "%s%.6f", k ? ", " : "",
                                  isnan(row->eval.per_class_acc[k]) ? 0.0 : row->eval.per_class_acc[k]);
        j += (size_t)snprintf(json + j, size - j, "]}");
    }
    snprintf(json + j, size - j, "\n  ]\n}\n");
    snprintf(path, sizeof path, "%s/sweep.csv", dir);
    fb_status status = cli_write_text(path, csv);
    snprintf(path, sizeof path, "%s/sweep.json", dir);
    if (status == FB_OK)
        status = cli_write_text(path, json);
    free(csv);
    free(json);
    return status;
}

/* One figure: `value` of the low and high rows against r, clean as a line. */
static fb_status plot_metric(const char *path, const sweep_row *rows, int count, int use_inter,
                             const char *title, const char *y_label)
{
    double x[2][MAX_SETS], y[2][MAX_SETS], clean = 0.0;
    int n[2] = {0, 0};
    for (int i = 0; i < count; i++) {
        double value = use_inter ? rows[i].inter : rows[i].eval.top1;
        if (strcmp(rows[i].freq, "clean") == 0) {
            clean = value;
            continue;
        }
        int k = strcmp(rows[i].freq, "low") == 0 ? 0 : 1;
        x[k][n[k]] = rows[i].r;
        y[k][n[k]++] = value;
    }
    fb_line_series series[2] = {{"low-pass", x[0], y[0], n[0], NULL}, {"high-pass", x[1], y[1], n[1], NULL}};
    fb_plot_labels labels = fb_plot_labels_default();
    labels.title = title;
    labels.x_label = "filter radius r (frequency bins)";
    labels.y_label = y_label;
    labels.has_reference = 1;
    labels.reference = clean;
    labels.reference_label = "clean";
    if (!use_inter) {
        labels.fixed_y = 1;
        labels.y_min = 0.0;
        labels.y_max = 1.0;
    }
    int first = n[0] ? 0 : 1, used = (n[0] ? 1 : 0) + (n[1] ? 1 : 0);
    return fb_plot_lines(path, series + first, used, &labels);
}

int cmd_sweep(int argc, char **argv)
{
    static const struct option options[] = {
        {"ckpt", required_argument, 0, 'c'},    {"data", required_argument, 0, 'd'},
        {"dataset", required_argument, 0, 'D'}, {"test-data", required_argument, 0, 'E'},
        {"radii", required_argument, 0, 'r'},   {"freqs", required_argument, 0, 'f'},
        {"norm", required_argument, 0, 'n'},    {"out", required_argument, 0, 'o'},
        {"batch", required_argument, 0, 'b'},   {"threads", required_argument, 0, 't'},
        {"backend", required_argument, 0, 'k'}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *ckpt = NULL, *data_dir = NULL, *kind = "cifar10", *test_data = NULL, *out = NULL;
    const char *radii_text = "4,8,12,16", *freqs_text = "low,high", *norm_name = "none";
    const char *backend_name = "cpu";
    int batch = 128, opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'c': ckpt = optarg; break;
        case 'd': data_dir = optarg; break;
        case 'D': kind = optarg; break;
        case 'E': test_data = optarg; break;
        case 'r': radii_text = optarg; break;
        case 'f': freqs_text = optarg; break;
        case 'n': norm_name = optarg; break;
        case 'o': out = optarg; break;
        case 'b': batch = atoi(optarg); break;
        case 't': fb_set_threads(atoi(optarg)); break;
        case 'k': backend_name = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
    }
    double radii[16];
    int radius_count = parse_list(radii_text, radii, 16);
    int do_low = strstr(freqs_text, "low") != NULL, do_high = strstr(freqs_text, "high") != NULL;
    int minmax = strcmp(norm_name, "minmax") == 0;
    if (!ckpt || !out || (!data_dir && !test_data) || radius_count < 1 || (!do_low && !do_high) ||
        batch < 1 || (!minmax && strcmp(norm_name, "none") != 0) || optind < argc) {
        fprintf(stderr, "freqbias sweep: need --ckpt, --out, data, and valid --radii/--freqs/--norm\n");
        usage(stderr);
        return 1;
    }
    const fb_backend *backend = fb_backend_by_name(backend_name);
    if (!backend)
        return cli_fail("sweep", FB_ERR_USAGE);
    fb_norm norm = minmax ? FB_NORM_MINMAX : FB_NORM_NONE;
    fb_dataset data = {0};
    fb_model *model = NULL;
    sweep_row *rows = calloc(MAX_SETS, sizeof *rows);
    int count = 0;
    int writes = fb_dist_is_root(); /* the other ranks only evaluate their shares */
    fb_status status = rows ? FB_OK : fb_error(FB_ERR_NOMEM, "sweep: out of memory");
    if (status == FB_OK && writes)
        status = cli_make_dirs(out);
    if (status == FB_OK)
        status = cli_load_dataset(data_dir, kind, test_data, FB_SPLIT_TEST, &data);
    if (status == FB_OK)
        status = cli_model_for(&model, ckpt, &data, batch, backend, 1);
    printf("%-6s %5s %8s %8s %8s %12s %12s %8s\n", "set", "r", "top1", "top5", "loss", "inter var",
           "intra var", "ratio");
    for (int set = -1; status == FB_OK && set < 2 * radius_count; set++) {
        fb_freq freq = set < 0 ? FB_FREQ_LOW : (set % 2 == 0 ? FB_FREQ_LOW : FB_FREQ_HIGH);
        if (set >= 0 && ((freq == FB_FREQ_LOW && !do_low) || (freq == FB_FREQ_HIGH && !do_high)))
            continue;
        sweep_row *row = &rows[count];
        float *filtered = NULL; /* [count, C, H, W] */
        if (set < 0) {
            snprintf(row->freq, sizeof row->freq, "clean");
            status = fb_evaluate(model, &data, batch, 0, 1, &row->eval);
        } else {
            row->r = radii[set / 2];
            snprintf(row->freq, sizeof row->freq, "%s", fb_freq_name(freq));
            status = fb_filter_dataset(&data, freq, row->r, 0.0, norm, backend, &filtered, NULL);
            if (status == FB_OK)
                status = fb_evaluate_float(model, &data, filtered, batch, 0, 1, &row->eval);
            free(filtered);
        }
        if (status != FB_OK)
            break;
        if (!writes) {
            count++;
            continue;
        }
        fb_feature_variances(row->eval.features, data.labels, data.count, row->eval.feature_dim,
                             row->eval.classes, &row->inter, &row->intra);
        printf("%-6s %5g %8.4f %8.4f %8.4f %12.5g %12.5g %8.4f\n", row->freq, row->r, row->eval.top1,
               row->eval.top5, row->eval.loss, row->inter, row->intra, row->inter / row->intra);
        count++;
    }
    double pearson = NAN;
    if (status == FB_OK && writes) {
        double top1[MAX_SETS], inter[MAX_SETS];
        for (int i = 0; i < count; i++) {
            top1[i] = rows[i].eval.top1;
            inter[i] = rows[i].inter;
        }
        pearson = fb_pearson(top1, inter, count);
        printf("Pearson correlation of top-1 and inter-class variance over %d sets: %.3f\n", count, pearson);
        status = write_outputs(out, rows, count, pearson, ckpt, norm);
        char path[1100];
        snprintf(path, sizeof path, "%s/sweep_accuracy.png", out);
        if (status == FB_OK)
            status = plot_metric(path, rows, count, 0, "Test accuracy on filtered images",
                                 "top-1 accuracy");
        snprintf(path, sizeof path, "%s/sweep_interclass.png", out);
        if (status == FB_OK)
            status = plot_metric(path, rows, count, 1, "Feature discrimination on filtered images",
                                 "inter-class variance of features");
    }
    if (status == FB_OK && writes)
        printf("wrote %s/sweep.csv, sweep.json, sweep_accuracy.png, sweep_interclass.png\n", out);
    int code = status == FB_OK ? 0 : cli_fail("sweep", status);
    for (int i = 0; i < count; i++)
        fb_eval_result_free(&rows[i].eval);
    free(rows);
    fb_model_free(model);
    fb_dataset_free(&data);
    return code;
}
