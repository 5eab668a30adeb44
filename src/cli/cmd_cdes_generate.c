/* cmd_cdes_generate.c — `freqbias cdes-generate`: the SCR / WCR datasets
 * (the seed's CDES/generate_toy_dataset.py; PAPER.md E3, C3, C4).
 *
 * Per kernel set (SCR: each class's images in dataset order; WCR: all
 * images), in batches of --batch images x:
 *   noisy = x + noise                        (fb_cdes_add_noise, seeded)
 *   y     = kernels(noisy)                   (SCR: the kernels of x's class;
 *                                             WCR: the one shared set)
 *   out_c = real(ifft2(low ⊙ F(x_c) + high ⊙ F(y_c)))   per channel, r = --r
 *   out   = per-channel min-max, ×255, truncated to uint8 (as the seed)
 * With --backend cuda the kernels run on the GPU and so do the two filters
 * of the recombination (cuFFT, fb_spectral_filter_on).
 * Labels and order are kept (the seed saved WCR shuffled and unlabelled).
 * Masks: C1 (low d < r, high = complement) by default; --compat freqbias
 * uses the seed's C3 masks. Kernels: the final ones by default; --epoch K the
 * checkpoint after 0-based epoch K (the seed loaded epoch 0).
 *
 * Writes to --out: data_batch_1..5.bin (10,000 images each; fewer with
 * --subset) and test_batch.bin in CIFAR-10 binary, so `train --train-data
 * DIR --test-data DIR` reads them; samples.png (one row per class:
 * generated images) and samples_class<c>.png (originals above, generated
 * below); run.json.
 */
#include <getopt.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdes_common.h"
#include "cli_util.h"
#include "commands.h"
#include "freqbias/cdes.h"
#include "freqbias/checkpoint.h"
#include "freqbias/json.h"
#include "freqbias/plot.h"
#include "freqbias/runtime.h"
#include "freqbias/version.h"

#define MAX_SETS 10
#define SAMPLES_PER_CLASS 8
#define IMAGES_PER_FILE 10000
#define GENERATION_EPOCH_KEY 0xFFFFFF00u /* noise keys apart from training epochs */

typedef struct options {
    const char *kernels, *data, *dataset, *out, *backend, *compat;
    cdes_mode mode;
    double r;
    int epoch, subset, test_subset, batch;
    unsigned long long seed;
} options;

typedef struct generator {
    const options *o;
    int sets;
    fb_model *models[MAX_SETS];
    fb_cdes_trainer *runners[MAX_SETS];
    float low[32 * 32], high[32 * 32];    /* masks on the shifted layout */
    float *x, *noisy, *output;            /* [batch, 3, 32, 32] each     */
    float *work;                          /* per thread: recombine work  */
    size_t work_floats;
} generator;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: freqbias cdes-generate --kernels DIR --mode scr|wcr --data DIR [--dataset cifar10]\n"
            "         --out DIR [--seed S] [--r 10] [--epoch K] [--compat freqbias] [--subset N]\n"
            "         [--test-subset M] [--batch 100] [--threads T] [--backend cpu|cpu-ref|cuda]\n"
            "  --epoch K uses the kernels saved after 0-based epoch K (default: the final ones);\n"
            "  --compat freqbias uses the seed's recombination masks (56 coefficients dropped).\n");
}

static fb_status load_kernels(generator *g)
{
    const options *o = g->o;
    g->sets = o->mode == CDES_SCR ? MAX_SETS : 1;
    for (int s = 0; s < g->sets; s++) {
        char path[1100];
        fb_model_config config;
        cdes_checkpoint_path(path, sizeof path, o->kernels, o->mode, s, o->epoch);
        FB_TRY(fb_checkpoint_inspect(path, &config));
        if (config.arch != FB_ARCH_TOYKERNEL)
            return fb_error(FB_ERR_USAGE, "%s: not a CDES toy model (arch %s)", path, fb_arch_name(config.arch));
        FB_TRY(cdes_model_create(&g->models[s], config.toy_filters, config.toy_kernel, o->batch, o->backend));
        FB_TRY(fb_checkpoint_load(g->models[s], path, NULL));
        FB_TRY(fb_cdes_trainer_create(&g->runners[s], g->models[s], o->batch));
    }
    return FB_OK;
}

static fb_status make_masks(generator *g)
{
    if (g->o->compat)
        return fb_mask_cdes(g->low, g->high, 32, 32, (int)g->o->r, NULL, NULL);
    fb_mask_low(g->low, 32, 32, g->o->r);
    fb_mask_high(g->high, 32, 32, g->o->r);
    return FB_OK;
}

/* mixed[count, 3, 32, 32] = real(ifft2(low ⊙ F(x) + high ⊙ F(output))) per
 * channel. On the cuda backend the two halves are filtered on the GPU and
 * added (the inverse FFT and real() are linear, so this is the same sum);
 * on the host each image is recombined whole (fb_cdes_recombine). */
static fb_status recombine_batch(generator *g, float *mixed, int count, const fb_backend *backend)
{
    const size_t image_floats = 3 * 32 * 32;
    if (strcmp(backend->name, "cuda") == 0) {
        FB_TRY(fb_spectral_filter_on(backend, mixed, g->x, count, 3, 32, 32, g->low, FB_NORM_NONE, NULL));
        FB_TRY(fb_spectral_filter_on(backend, g->output, g->output, count, 3, 32, 32, g->high, FB_NORM_NONE,
                                     NULL));
        for (size_t k = 0; k < (size_t)count * image_floats; k++)
            mixed[k] += g->output[k];
        return FB_OK;
    }
    fb_status status = FB_OK;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < count; i++) {
        float *work = g->work + g->work_floats * omp_get_thread_num();
        fb_status s = fb_cdes_recombine(mixed + (size_t)i * image_floats, g->x + (size_t)i * image_floats,
                                        g->output + (size_t)i * image_floats, 3, 32, 32, g->low, g->high, work);
        if (s != FB_OK) {
#pragma omp critical
            status = s;
        }
    }
    return status;
}

/* Generates the images index[0..count) of data, all of kernel set `set`,
 * into out (uint8 planar, at their own positions). */
static fb_status generate_batch(generator *g, uint8_t *out, const fb_dataset *data, const int *index, int count,
                                int set, uint32_t epoch_key, uint64_t batch_key)
{
    const size_t image_floats = 3 * 32 * 32;
    for (int i = 0; i < count; i++)
        fb_u8_to_unit(g->x + (size_t)i * image_floats, data->pixels + (size_t)index[i] * image_floats, image_floats);
    fb_cdes_add_noise(g->noisy, g->x, (size_t)count * image_floats, g->o->seed, epoch_key, batch_key);
    FB_TRY(fb_cdes_apply(g->runners[set], g->output, g->noisy, count));
    float *mixed = g->noisy; /* [count, 3, 32, 32]: the noisy input is no longer needed */
    FB_TRY(recombine_batch(g, mixed, count, fb_model_backend(g->models[set])));
#pragma omp parallel for schedule(static)
    for (int i = 0; i < count; i++) {
        float *image = mixed + (size_t)i * image_floats;
        fb_minmax_planes(image, 3, 32 * 32);
        uint8_t *pixels = out + (size_t)index[i] * image_floats;
        for (size_t k = 0; k < image_floats; k++)
            pixels[k] = (uint8_t)(image[k] * 255.0f); /* truncation, as the seed's astype(uint8) */
    }
    return FB_OK;
}

/* Per kernel set (SCR: the images of one class, in order; WCR: all), in
 * batches of --batch: noise keys (split, set·2^20 + batch number). */
static fb_status generate_split(generator *g, fb_dataset *out, const fb_dataset *data, int limit,
                                uint32_t epoch_key, const char *label)
{
    int count = limit > 0 && limit < data->count ? limit : data->count;
    *out = *data;
    out->count = count;
    out->pixels = malloc((size_t)count * 3 * 32 * 32);
    out->labels = malloc((size_t)count * sizeof(int32_t));
    int *index = malloc((size_t)g->o->batch * sizeof(int));
    if (!out->pixels || !out->labels || !index) {
        free(index);
        return fb_error(FB_ERR_NOMEM, "cdes-generate: out of memory for %d images", count);
    }
    memcpy(out->labels, data->labels, (size_t)count * sizeof(int32_t));
    snprintf(out->source, sizeof out->source, "CDES %s (%s)", cdes_mode_name(g->o->mode), label);
    cli_progress progress;
    cli_progress_start(&progress, label);
    fb_status status = FB_OK;
    int done = 0;
    for (int set = 0; set < g->sets && status == FB_OK; set++) {
        int batch_number = 0, filled = 0;
        for (int i = 0; i <= count && status == FB_OK; i++) {
            int belongs = i < count && (g->sets == 1 || data->labels[i] == set);
            if (belongs)
                index[filled++] = i;
            if (filled == g->o->batch || (i == count && filled > 0)) {
                status = generate_batch(g, out->pixels, data, index, filled, set, epoch_key,
                                        ((uint64_t)set << 20) + (uint64_t)batch_number++);
                done += filled;
                filled = 0;
                cli_progress_update(&progress, done, count, done);
            }
        }
    }
    cli_progress_finish(&progress);
    free(index);
    return status;
}

static fb_status write_batches(const char *dir, const fb_dataset *train, const fb_dataset *test)
{
    char path[1100];
    size_t image = (size_t)3 * 32 * 32;
    int files = (train->count + IMAGES_PER_FILE - 1) / IMAGES_PER_FILE;
    for (int f = 0; f < files; f++) {
        fb_dataset part = *train;
        part.count = train->count - f * IMAGES_PER_FILE < IMAGES_PER_FILE ? train->count - f * IMAGES_PER_FILE
                                                                          : IMAGES_PER_FILE;
        part.pixels = train->pixels + (size_t)f * IMAGES_PER_FILE * image;
        part.labels = train->labels + (size_t)f * IMAGES_PER_FILE;
        snprintf(path, sizeof path, "%s/data_batch_%d.bin", dir, f + 1);
        FB_TRY(fb_cifar10_write(path, &part));
    }
    for (int f = files; f < 5; f++) { /* a smaller rerun must not leave an older, longer set's files */
        snprintf(path, sizeof path, "%s/data_batch_%d.bin", dir, f + 1);
        remove(path);
    }
    snprintf(path, sizeof path, "%s/test_batch.bin", dir);
    return fb_cifar10_write(path, test);
}

/* samples.png: a row of generated training images per class;
 * samples_class<c>.png: originals above, their generated images below. */
static fb_status write_samples(const char *dir, const fb_dataset *original, const fb_dataset *generated)
{
    const size_t image = (size_t)3 * 32 * 32;
    int classes = original->num_classes;
    float *all = calloc((size_t)classes * SAMPLES_PER_CLASS * image, sizeof(float));
    float *pair = calloc((size_t)2 * SAMPLES_PER_CLASS * image, sizeof(float));
    fb_status status = all && pair ? FB_OK : fb_error(FB_ERR_NOMEM, "samples: out of memory");
    for (int c = 0; status == FB_OK && c < classes; c++) {
        memset(pair, 0, (size_t)2 * SAMPLES_PER_CLASS * image * sizeof(float));
        int found = 0;
        for (int i = 0; i < generated->count && found < SAMPLES_PER_CLASS; i++) {
            if (generated->labels[i] != c)
                continue;
            fb_u8_to_unit(all + ((size_t)c * SAMPLES_PER_CLASS + found) * image, generated->pixels + i * image, image);
            fb_u8_to_unit(pair + (size_t)found * image, original->pixels + i * image, image);
            fb_u8_to_unit(pair + (size_t)(SAMPLES_PER_CLASS + found) * image, generated->pixels + i * image, image);
            found++;
        }
        char path[1100], title[128];
        snprintf(path, sizeof path, "%s/samples_class%d.png", dir, c);
        snprintf(title, sizeof title, "class %d: originals (top), generated (bottom)", c);
        status = fb_plot_image_grid(path, pair, 2 * SAMPLES_PER_CLASS, 3, 32, 32, SAMPLES_PER_CLASS, 3, NULL, title);
    }
    if (status == FB_OK) {
        char path[1100];
        snprintf(path, sizeof path, "%s/samples.png", dir);
        status = fb_plot_image_grid(path, all, classes * SAMPLES_PER_CLASS, 3, 32, 32, SAMPLES_PER_CLASS, 3, NULL,
                                    "generated training images, one row per class (0 at the top)");
    }
    free(all);
    free(pair);
    return status;
}

static fb_status write_run_json(const options *o, int argc, char **argv, const fb_dataset *train,
                                const fb_dataset *test, double seconds)
{
    cli_text text = { 0 };
    char escaped[1200], train_sha[65], test_sha[65];
    cli_text_add(&text, "{\n  \"command\": [");
    for (int i = 0; i < argc; i++) {
        fb_json_escape(argv[i], escaped, sizeof escaped);
        cli_text_add(&text, "%s%s", i ? ", " : "", escaped);
    }
    fb_dataset_sha256(train, train_sha);
    fb_dataset_sha256(test, test_sha);
    cli_text_add(&text, "],\n  \"freqbias\": \"%s\",\n  \"mode\": \"%s\",\n  \"r\": %g,\n  \"masks\": \"%s\",\n",
                 FB_VERSION, cdes_mode_name(o->mode), o->r, o->compat ? "C3 (seed)" : "C1");
    cli_text_add(&text, "  \"kernels_epoch\": %d,\n  \"seed\": %llu,\n  \"seconds\": %.3f,\n", o->epoch, o->seed,
                 seconds);
    cli_text_add(&text,
                 "  \"train\": {\"images\": %d, \"sha256\": \"%s\"},\n  \"test\": {\"images\": %d, \"sha256\": \"%s\"}\n}\n",
                 train->count, train_sha, test->count, test_sha);
    char path[1100];
    snprintf(path, sizeof path, "%s/run.json", o->out);
    fb_status status = cli_text_write(path, &text);
    cli_text_free(&text);
    return status;
}

static int parse_options(options *o, int argc, char **argv)
{
    static const struct option long_options[] = {
        {"kernels", required_argument, 0, 'k'}, {"mode", required_argument, 0, 'm'},
        {"data", required_argument, 0, 'd'},    {"dataset", required_argument, 0, 'D'},
        {"r", required_argument, 0, 'r'},       {"epoch", required_argument, 0, 'e'},
        {"compat", required_argument, 0, 'c'},  {"subset", required_argument, 0, 'u'},
        {"test-subset", required_argument, 0, 'U'}, {"batch", required_argument, 0, 'b'},
        {"seed", required_argument, 0, 's'},    {"out", required_argument, 0, 'o'},
        {"threads", required_argument, 0, 't'}, {"backend", required_argument, 0, 'B'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->dataset = "cifar10";
    o->backend = "cpu";
    o->r = 10.0;
    o->epoch = -1;
    o->batch = 100;
    const char *mode = NULL;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
        switch (opt) {
        case 'k': o->kernels = optarg; break;
        case 'm': mode = optarg; break;
        case 'd': o->data = optarg; break;
        case 'D': o->dataset = optarg; break;
        case 'r': o->r = atof(optarg); break;
        case 'e': o->epoch = atoi(optarg); break;
        case 'c': o->compat = optarg; break;
        case 'u': o->subset = atoi(optarg); break;
        case 'U': o->test_subset = atoi(optarg); break;
        case 'b': o->batch = atoi(optarg); break;
        case 's': o->seed = strtoull(optarg, NULL, 10); break;
        case 'o': o->out = optarg; break;
        case 't': fb_set_threads(atoi(optarg)); break;
        case 'B': o->backend = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
    }
    const char *problem = NULL;
    if (!o->kernels || !o->data || !o->out || !mode)
        problem = "need --kernels, --mode, --data and --out";
    else if (cdes_mode_parse(mode, &o->mode) != FB_OK)
        problem = "--mode must be scr or wcr";
    else if (o->compat && strcmp(o->compat, "freqbias") != 0)
        problem = "--compat takes 'freqbias'";
    else if (!(o->r > 0) || o->batch < 1 || o->subset < 0 || o->test_subset < 0 || optind < argc)
        problem = "--r and --batch must be positive, subsets ≥ 0";
    if (problem) {
        fprintf(stderr, "freqbias cdes-generate: %s\n", problem);
        usage(stderr);
        return 1;
    }
    return -1;
}

int cmd_cdes_generate(int argc, char **argv)
{
    options o;
    int code = parse_options(&o, argc, argv);
    if (code >= 0)
        return code;
    generator g;
    memset(&g, 0, sizeof g);
    g.o = &o;
    fb_dataset train = { 0 }, test = { 0 }, train_out = { 0 }, test_out = { 0 };
    const size_t batch_bytes = (size_t)o.batch * 3 * 32 * 32 * sizeof(float);
    double start = cli_now();
    fb_status status = cdes_load_splits(o.data, o.dataset, &train, &test);
    if (status == FB_OK)
        status = load_kernels(&g);
    if (status == FB_OK)
        status = make_masks(&g);
    if (status == FB_OK)
        status = fb_fft_prepare(32, 32);
    if (status == FB_OK) {
        g.work_floats = (fb_cdes_recombine_work_floats(32, 32) + 15) & ~(size_t)15;
        g.work = aligned_alloc(64, g.work_floats * omp_get_max_threads() * sizeof(float));
        g.x = malloc(batch_bytes);
        g.noisy = malloc(batch_bytes);
        g.output = malloc(batch_bytes);
        if (!g.work || !g.x || !g.noisy || !g.output)
            status = fb_error(FB_ERR_NOMEM, "cdes-generate: out of memory");
    }
    if (status == FB_OK)
        status = cli_make_dirs(o.out);
    if (status == FB_OK)
        status = generate_split(&g, &train_out, &train, o.subset, GENERATION_EPOCH_KEY, "train");
    if (status == FB_OK)
        status = generate_split(&g, &test_out, &test, o.test_subset, GENERATION_EPOCH_KEY + 1, "test");
    if (status == FB_OK)
        status = write_batches(o.out, &train_out, &test_out);
    if (status == FB_OK)
        status = write_samples(o.out, &train, &train_out);
    if (status == FB_OK)
        status = write_run_json(&o, argc, argv, &train_out, &test_out, cli_now() - start);
    if (status == FB_OK)
        printf("wrote the CDES %s set (%d train + %d test images, r = %g, %s masks, kernels %s) to %s in %.1f s\n",
               cdes_mode_name(o.mode), train_out.count, test_out.count, o.r, o.compat ? "seed C3" : "C1",
               o.epoch < 0 ? "final" : "of the given epoch", o.out, cli_now() - start);
    code = status == FB_OK ? 0 : cli_fail("cdes-generate", status);
    for (int s = 0; s < MAX_SETS; s++) {
        fb_cdes_trainer_free(g.runners[s]);
        fb_model_free(g.models[s]);
    }
    free(g.work);
    free(g.x);
    free(g.noisy);
    free(g.output);
    fb_dataset_free(&train_out);
    fb_dataset_free(&test_out);
    fb_dataset_free(&train);
    fb_dataset_free(&test);
    return code;
}
