/* cmd_test.c — `freqbias test`: the seed's test.py without its bugs.
 *
 * Loads any checkpoint (architecture from its metadata or tensor shapes),
 * evaluates it in eval mode on the test split and prints top-1, top-5, mean
 * loss, per-class accuracy and the prediction × label confusion matrix.
 * --json writes the same numbers; --logits / --features write .npy arrays in
 * dataset order for later analyses. --freq low|high|band --r R evaluates on
 * the frequency-filtered images instead (made on the fly, never written).
 * Under mpirun the ranks share the batches (fb_evaluate) and rank 0 prints
 * and writes what one process would.
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
#include "freqbias/json.h"
#include "freqbias/npy.h"
#include "freqbias/runtime.h"
#include "freqbias/spectrum.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: freqbias test --ckpt FILE (--data DIR [--dataset cifar10] | --test-data FILE|DIR)\n"
                 "                     [--freq low|high|band|dct --r R [--r2 R2] [--norm none|minmax]]\n"
                 "                     [--json FILE] [--logits FILE.npy] [--features FILE.npy]\n"
                 "                     [--batch 128] [--threads T] [--backend cpu|cpu-ref]\n"
                 "--freq filters the test images on the fly (PAPER.md C1 radial masks, pixels in\n"
                 "[0,1]; --norm none (default) feeds the real part as it is, minmax rescales each\n"
                 "image channel to [0,1]).\n");
}

static void print_tables(const fb_eval_result *e, const char *ckpt, const fb_dataset *data)
{
    printf("checkpoint  %s\ndata        %s (%d images)\n", ckpt, data->source, e->n);
    printf("top-1       %.4f\ntop-5       %.4f\nloss        %.4f\n\n", e->top1, e->top5, e->loss);
    printf("class  accuracy\n");
    for (int k = 0; k < e->classes; k++)
        printf("%5d  %.4f\n", k, e->per_class_acc[k]);
    if (e->classes > 20)
        return;
    printf("\nconfusion (rows: predicted, columns: true label)\n     ");
    for (int k = 0; k < e->classes; k++)
        printf("%6d", k);
    printf("\n");
    for (int p = 0; p < e->classes; p++) {
        printf("%5d", p);
        for (int k = 0; k < e->classes; k++)
            printf("%6ld", e->confusion[(size_t)p * e->classes + k]);
        printf("\n");
    }
}

static fb_status write_json(const char *path, const fb_eval_result *e)
{
    size_t size = 4096 + (size_t)e->classes * (e->classes + 1) * 24;
    char *text = malloc(size);
    if (!text)
        return fb_error(FB_ERR_NOMEM, "%s: out of memory", path);
    size_t used = (size_t)snprintf(text, size, "{\n  \"n\": %d,\n  \"top1\": %.6f,\n  \"top5\": %.6f,\n"
                                               "  \"loss\": %.6f,\n  \"per_class_acc\": [",
                                   e->n, e->top1, e->top5, e->loss);
    for (int k = 0; k < e->classes; k++) {
        if (isnan(e->per_class_acc[k]))
            used += (size_t)snprintf(text + used, size - used, "%snull", k ? ", " : "");
        else
            used += (size_t)snprintf(text + used, size - used, "%s%.6f", k ? ", " : "",
                                     e->per_class_acc[k]);
    }
    used += (size_t)snprintf(text + used, size - used,
                             "],\n  \"confusion_layout\": \"rows predicted, columns true label\",\n"
                             "  \"confusion\": [");
    for (int p = 0; p < e->classes; p++) {
        used += (size_t)snprintf(text + used, size - used, "%s\n    [", p ? "," : "");
        for (int k = 0; k < e->classes; k++)
            used += (size_t)snprintf(text + used, size - used, "%s%ld", k ? ", " : "",
                                     e->confusion[(size_t)p * e->classes + k]);
        used += (size_t)snprintf(text + used, size - used, "]");
    }
    snprintf(text + used, size - used, "\n  ]\n}\n");
    fb_status status = cli_write_text(path, text);
    free(text);
    return status;
}

int cmd_test(int argc, char **argv)
{
    static const struct option options[] = {
        {"ckpt", required_argument, 0, 'c'},     {"data", required_argument, 0, 'd'},
        {"dataset", required_argument, 0, 'D'},  {"test-data", required_argument, 0, 'E'},
        {"json", required_argument, 0, 'j'},     {"logits", required_argument, 0, 'l'},
        {"features", required_argument, 0, 'f'}, {"batch", required_argument, 0, 'b'},
        {"threads", required_argument, 0, 't'},  {"backend", required_argument, 0, 'k'},
        {"freq", required_argument, 0, 'q'},     {"r", required_argument, 0, 'r'},
        {"r2", required_argument, 0, 'R'},       {"norm", required_argument, 0, 'n'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    const char *ckpt = NULL, *data_dir = NULL, *kind = "cifar10", *test_data = NULL;
    const char *json_path = NULL, *logits_path = NULL, *features_path = NULL, *backend_name = "cpu";
    const char *freq_name = NULL, *norm_name = "none";
    double radius = 0.0, radius2 = 0.0;
    int batch = 128, opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'c': ckpt = optarg; break;
        case 'd': data_dir = optarg; break;
        case 'D': kind = optarg; break;
        case 'E': test_data = optarg; break;
        case 'j': json_path = optarg; break;
        case 'l': logits_path = optarg; break;
        case 'f': features_path = optarg; break;
        case 'b': batch = atoi(optarg); break;
        case 't': fb_set_threads(atoi(optarg)); break;
        case 'k': backend_name = optarg; break;
        case 'q': freq_name = optarg; break;
        case 'r': radius = atof(optarg); break;
        case 'R': radius2 = atof(optarg); break;
        case 'n': norm_name = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
    }
    if (!ckpt || (!data_dir && !test_data) || batch < 1 || optind < argc) {
        fprintf(stderr, "freqbias test: need --ckpt and --data or --test-data\n");
        usage(stderr);
        return 1;
    }
    const fb_backend *backend = fb_backend_by_name(backend_name);
    if (!backend)
        return cli_fail("test", FB_ERR_USAGE);
    fb_freq freq = FB_FREQ_LOW;
    fb_norm norm = strcmp(norm_name, "minmax") == 0 ? FB_NORM_MINMAX : FB_NORM_NONE;
    if (strcmp(norm_name, "minmax") != 0 && strcmp(norm_name, "none") != 0) {
        fprintf(stderr, "freqbias test: --norm must be none or minmax\n");
        return 1;
    }
    if (freq_name && fb_freq_parse(freq_name, &freq) != FB_OK)
        return cli_fail("test", FB_ERR_USAGE);
    fb_dataset data = {0};
    fb_model *model = NULL;
    fb_eval_result result = {0};
    fb_status status = cli_load_dataset(data_dir, kind, test_data, FB_SPLIT_TEST, &data);
    if (status == FB_OK)
        status = cli_model_for(&model, ckpt, &data, batch, backend, 1);
    float *filtered = NULL; /* [count, C, H, W] with --freq */
    if (status == FB_OK && freq_name)
        status = fb_filter_dataset(&data, freq, radius, radius2, norm, backend, &filtered, NULL);
    if (status == FB_OK && filtered)
        status = fb_evaluate_float(model, &data, filtered, batch, logits_path != NULL,
                                   features_path != NULL, &result);
    else if (status == FB_OK)
        status = fb_evaluate(model, &data, batch, logits_path != NULL, features_path != NULL, &result);
    free(filtered);
    int writes = fb_dist_is_root(); /* the other ranks' result is empty */
    if (status == FB_OK && writes) {
        if (freq_name && freq == FB_FREQ_DCT_LOW)
            printf("images      DCT square low-pass, the %gx%g lowest coefficients, norm %s\n", radius, radius,
                   fb_norm_name(norm));
        else if (freq_name && freq == FB_FREQ_BAND)
            printf("images      band-pass, %g <= r < %g, norm %s\n", radius, radius2, fb_norm_name(norm));
        else if (freq_name)
            printf("images      %s-pass, r = %g, norm %s\n", fb_freq_name(freq), radius, fb_norm_name(norm));
        print_tables(&result, ckpt, &data);
        if (json_path)
            status = write_json(json_path, &result);
    }
    if (status == FB_OK && writes && logits_path) {
        int64_t shape[2] = {result.n, result.classes};
        status = fb_npy_write(logits_path, FB_NPY_F32, 2, shape, result.logits);
    }
    if (status == FB_OK && writes && features_path) {
        int64_t shape[2] = {result.n, result.feature_dim};
        status = fb_npy_write(features_path, FB_NPY_F32, 2, shape, result.features);
    }
    int code = status == FB_OK ? 0 : cli_fail("test", status);
    fb_eval_result_free(&result);
    fb_model_free(model);
    fb_dataset_free(&data);
    return code;
}
