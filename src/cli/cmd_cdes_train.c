/* cmd_cdes_train.c — `freqbias cdes-train`: train the CDES toy kernels
 * (the seed's CDES/train_toy_models.py; PAPER.md E3).
 *
 * SCR ("strong class related"): one freshly initialised kernel set per
 * class, trained on that class's 5,000 training + 1,000 test images (the
 * seed kept training the previous class's weights — fixed here). WCR ("weak
 * class related"): one set on all 60,000 images. Each set is trained with
 * the seed's recipe (fb_cdes_schedule_default) towards the double-peaked
 * target density; the noise and the initialisation come from --seed.
 *
 * Writes to --out:
 *   scr_class<c>_epoch<k>.safetensors / wcr_epoch<k>.safetensors
 *       after 0-based epochs k = 0, 4, 8, ... and the last one (epoch 0 is
 *       what the seed's generator loaded: `cdes-generate --epoch 0`)
 *   scr_class<c>_last.safetensors / wcr_last.safetensors   the final kernels
 *   loss.csv       mode, set, epoch, lr, spectral, image and total loss, seconds
 *   density_<set>.png  target vs achieved density (and the originals')
 *   samples_<set>.png  originals, kernel outputs, recombined images (r = 10)
 *   run.json       command, seed, data hash, schedule, per-set results
 */
#include <getopt.h>
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

#define FIGURE_IMAGES 8          /* columns of the samples figure            */
#define DENSITY_SAMPLE 500       /* images whose densities the figure averages */
#define CHECKPOINT_EVERY 4

typedef struct options {
    const char *data, *dataset, *out, *backend;
    cdes_mode mode;
    int filters, kernel, subset;
    double rho;
    unsigned long long seed;
    fb_cdes_schedule schedule;
    char train_sha[65]; /* of the training split, for checkpoints and run.json */
} options;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: freqbias cdes-train --data DIR [--dataset cifar10] --mode scr|wcr --out DIR [--seed S]\n"
            "         [--number 16] [--kernel-size 7] [--epochs 20] [--lr 0.01] [--momentum 0.9]\n"
            "         [--wd 1e-4] [--step-lr 5] [--gamma 0.1] [--batch 100] [--rho 1]\n"
            "         [--subset N] [--threads T] [--backend cpu|cpu-ref|cuda]\n"
            "  SCR: one kernel set per class (its train + test images); WCR: one set for all.\n"
            "  --subset N trains each set on its first N images only.\n");
}

/* Mean densities of the kernel outputs and of the originals on the first
 * images of the set, and the samples figure (originals, outputs, recombined). */
static fb_status set_figures(fb_cdes_trainer *trainer, fb_cdes_loss *loss, const float *images, int n,
                             const float *target, const options *o, const char *set_name,
                             float *achieved_mean, float *original_mean)
{
    int batch = o->schedule.batch, sample = n < DENSITY_SAMPLE ? n : DENSITY_SAMPLE;
    size_t image_floats = (size_t)3 * 32 * 32;
    float *noisy = malloc((size_t)batch * image_floats * sizeof(float));
    float *output = malloc((size_t)batch * image_floats * sizeof(float));
    float *density = malloc((size_t)batch * FB_CDES_BANDS * sizeof(float));
    float *grid = malloc((size_t)3 * FIGURE_IMAGES * image_floats * sizeof(float));
    float *work = aligned_alloc(64, ((fb_cdes_recombine_work_floats(32, 32) * sizeof(float) + 63) / 64) * 64);
    float low[32 * 32], high[32 * 32];
    double achieved[FB_CDES_BANDS] = { 0 }, original[FB_CDES_BANDS] = { 0 };
    fb_status status = noisy && output && density && grid && work
                           ? FB_OK
                           : fb_error(FB_ERR_NOMEM, "cdes-train: out of memory for figures");
    fb_mask_low(low, 32, 32, 10.0);
    fb_mask_high(high, 32, 32, 10.0);
    for (int start = 0; status == FB_OK && start < sample; start += batch) {
        int count = sample - start < batch ? sample - start : batch;
        const float *x = images + (size_t)start * image_floats;
        fb_cdes_add_noise(noisy, x, (size_t)count * image_floats, o->seed, UINT32_MAX, (uint64_t)start);
        status = fb_cdes_apply(trainer, output, noisy, count);
        if (status != FB_OK)
            break;
        fb_cdes_spectral_loss(loss, NULL, density, output, count, target);
        for (int i = 0; i < count * FB_CDES_BANDS; i++)
            achieved[i % FB_CDES_BANDS] += density[i];
        fb_cdes_spectral_loss(loss, NULL, density, x, count, target);
        for (int i = 0; i < count * FB_CDES_BANDS; i++)
            original[i % FB_CDES_BANDS] += density[i];
        if (start == 0) {
            int shown = count < FIGURE_IMAGES ? count : FIGURE_IMAGES;
            for (int i = 0; i < shown && status == FB_OK; i++) {
                float *row0 = grid + (size_t)i * image_floats;
                float *row1 = grid + (size_t)(FIGURE_IMAGES + i) * image_floats;
                float *row2 = grid + (size_t)(2 * FIGURE_IMAGES + i) * image_floats;
                memcpy(row0, x + i * image_floats, image_floats * sizeof(float));
                memcpy(row1, output + i * image_floats, image_floats * sizeof(float));
                fb_minmax_planes(row1, 3, 32 * 32);
                status = fb_cdes_recombine(row2, x + i * image_floats, output + i * image_floats, 3, 32,
                                           32, low, high, work);
                fb_minmax_planes(row2, 3, 32 * 32);
            }
            for (int i = shown; i < FIGURE_IMAGES; i++)
                for (int row = 0; row < 3; row++)
                    memset(grid + (size_t)(row * FIGURE_IMAGES + i) * image_floats, 0,
                           image_floats * sizeof(float));
        }
    }
    if (status == FB_OK) {
        for (int b = 0; b < FB_CDES_BANDS; b++) {
            achieved_mean[b] = (float)(achieved[b] / sample);
            original_mean[b] = (float)(original[b] / sample);
        }
        char path[1100], title[160];
        snprintf(path, sizeof path, "%s/density_%s.png", o->out, set_name);
        snprintf(title, sizeof title, "CDES %s: spectral density after training (%d images)", set_name,
                 sample);
        status = cdes_density_figure(path, title, target, achieved_mean, original_mean);
        if (status == FB_OK) {
            snprintf(path, sizeof path, "%s/samples_%s.png", o->out, set_name);
            snprintf(title, sizeof title, "%s - rows: original, kernel output, recombined (r=10)", set_name);
            status = fb_plot_image_grid(path, grid, 3 * FIGURE_IMAGES, 3, 32, 32, FIGURE_IMAGES, 3, NULL,
                                        title);
        }
    }
    free(noisy);
    free(output);
    free(density);
    free(grid);
    free(work);
    return status;
}

/* Trains one kernel set from a fresh initialisation and writes its files. */
static fb_status train_set(fb_model *model, fb_cdes_loss *loss, const fb_dataset *train,
                           const fb_dataset *test, const options *o, int class_index, const float *target,
                           cli_text *csv, cli_text *json)
{
    uint64_t set_key = o->mode == CDES_SCR ? (uint64_t)class_index : CDES_WCR_SET;
    char set_name[32], path[1100];
    if (o->mode == CDES_SCR)
        snprintf(set_name, sizeof set_name, "scr_class%d", class_index);
    else
        snprintf(set_name, sizeof set_name, "wcr");
    float *images = NULL;
    int n = 0;
    FB_TRY(cdes_gather_set(&images, &n, train, test, o->mode, class_index, o->subset));
    fb_cdes_trainer *trainer = NULL;
    fb_status status = fb_cdes_trainer_create(&trainer, model, o->schedule.batch);
    /* a fresh set of kernels per set: the initialisation seed names the set */
    fb_model_init(model, o->seed + 1000003ULL * (set_key + 1));
    fb_cdes_epoch_losses losses = { 0, 0 };
    cli_progress progress;
    cli_progress_start(&progress, set_name);
    double start = cli_now();
    for (int epoch = 0; status == FB_OK && epoch < o->schedule.epochs; epoch++) {
        status = fb_cdes_train_epoch(trainer, loss, images, n, &o->schedule, epoch, o->seed, set_key, target,
                                     &losses);
        if (status != FB_OK)
            break;
        cli_progress_update(&progress, epoch + 1, o->schedule.epochs, (long)(epoch + 1) * n);
        cli_text_add(csv, "%s,%s,%d,%.6g,%.8f,%.8f,%.8f,%.3f\n", cdes_mode_name(o->mode), set_name, epoch,
                     fb_cdes_lr(&o->schedule, epoch), losses.spectral, losses.image,
                     losses.spectral + losses.image, cli_now() - start);
        snprintf(path, sizeof path, "%s/loss.csv", o->out);
        status = cli_text_write(path, csv);
        fb_checkpoint_info info = { epoch, o->seed, "" };
        memcpy(info.data_sha256, o->train_sha, sizeof o->train_sha);
        if (status == FB_OK && (epoch % CHECKPOINT_EVERY == 0 || epoch + 1 == o->schedule.epochs)) {
            cdes_checkpoint_path(path, sizeof path, o->out, o->mode, class_index, epoch);
            status = fb_checkpoint_save(model, path, &info);
        }
        if (status == FB_OK && epoch + 1 == o->schedule.epochs) {
            cdes_checkpoint_path(path, sizeof path, o->out, o->mode, class_index, -1);
            status = fb_checkpoint_save(model, path, &info);
        }
    }
    cli_progress_finish(&progress);
    double seconds = cli_now() - start;
    float achieved[FB_CDES_BANDS], original[FB_CDES_BANDS];
    if (status == FB_OK)
        status = set_figures(trainer, loss, images, n, target, o, set_name, achieved, original);
    if (status == FB_OK) {
        double error = 0.0;
        for (int b = 0; b < FB_CDES_BANDS; b++)
            error += (achieved[b] - target[b]) * (achieved[b] - target[b]) / FB_CDES_BANDS;
        printf("%-11s %6d images  %2d epochs  spectral %.5f  image %.6f  density MSE to target %.5f  "
               "%.1f s (%.0f img/s)\n",
               set_name, n, o->schedule.epochs, losses.spectral, losses.image, error, seconds,
               seconds > 0 ? (double)n * o->schedule.epochs / seconds : 0.0);
        cli_text_add(json,
                     "%s    {\"set\": \"%s\", \"images\": %d, \"spectral_loss\": %.8f, \"image_loss\": %.8f, "
                     "\"density_mse\": %.8f, \"seconds\": %.3f}",
                     json->used ? ",\n" : "", set_name, n, losses.spectral, losses.image, error, seconds);
    }
    fb_cdes_trainer_free(trainer);
    free(images);
    return status;
}

static fb_status write_run_json(const options *o, int argc, char **argv, const cli_text *sets, double seconds)
{
    cli_text b = { 0 };
    char escaped[1200];
    cli_text_add(&b, "{\n  \"command\": [");
    for (int i = 0; i < argc; i++) {
        fb_json_escape(argv[i], escaped, sizeof escaped);
        cli_text_add(&b, "%s%s", i ? ", " : "", escaped);
    }
    fb_json_escape(fb_runtime_note(), escaped, sizeof escaped);
    cli_text_add(&b,
                 "],\n  \"freqbias\": \"%s\",\n  \"profile\": \"%s\",\n  \"blas\": %s,\n  \"threads\": %d,\n"
                 "  \"backend\": \"%s\",\n  \"mode\": \"%s\",\n  \"seed\": %llu,\n  \"train_sha256\": \"%s\",\n",
                 FB_VERSION, FB_PROFILE, escaped, fb_get_threads(), o->backend, cdes_mode_name(o->mode), o->seed,
                 o->train_sha);
    cli_text_add(&b,
                 "  \"filters\": %d,\n  \"kernel\": %d,\n  \"rho\": %g,\n  \"epochs\": %d,\n  \"batch\": %d,\n"
                 "  \"lr\": %g,\n  \"momentum\": %g,\n  \"weight_decay\": %g,\n  \"step_lr\": %d,\n  \"gamma\": %g,\n"
                 "  \"subset\": %d,\n  \"seconds\": %.3f,\n  \"sets\": [\n",
                 o->filters, o->kernel, o->rho, o->schedule.epochs, o->schedule.batch, o->schedule.lr,
                 o->schedule.momentum, o->schedule.weight_decay, o->schedule.step_lr, o->schedule.gamma, o->subset,
                 seconds);
    cli_text_add(&b, "%s\n  ]\n}\n", sets->data ? sets->data : "");
    char path[1100];
    snprintf(path, sizeof path, "%s/run.json", o->out);
    fb_status status = sets->failed ? fb_error(FB_ERR_NOMEM, "%s: out of memory", path)
                                    : cli_text_write(path, &b);
    cli_text_free(&b);
    return status;
}

static int parse_options(options *o, int argc, char **argv)
{
    static const struct option long_options[] = {
        {"data", required_argument, 0, 'd'},   {"dataset", required_argument, 0, 'D'},
        {"mode", required_argument, 0, 'm'},   {"number", required_argument, 0, 'n'},
        {"kernel-size", required_argument, 0, 'k'}, {"epochs", required_argument, 0, 'e'},
        {"lr", required_argument, 0, 'l'},     {"momentum", required_argument, 0, 'M'},
        {"wd", required_argument, 0, 'w'},     {"step-lr", required_argument, 0, 'S'},
        {"gamma", required_argument, 0, 'g'},  {"batch", required_argument, 0, 'b'},
        {"rho", required_argument, 0, 'R'},    {"subset", required_argument, 0, 'u'},
        {"seed", required_argument, 0, 's'},   {"out", required_argument, 0, 'o'},
        {"threads", required_argument, 0, 't'}, {"backend", required_argument, 0, 'B'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->dataset = "cifar10";
    o->backend = "cpu";
    o->filters = 16;
    o->kernel = 7;
    o->rho = 1.0;
    o->schedule = fb_cdes_schedule_default();
    const char *mode = NULL;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
        switch (opt) {
        case 'd': o->data = optarg; break;
        case 'D': o->dataset = optarg; break;
        case 'm': mode = optarg; break;
        case 'n': o->filters = atoi(optarg); break;
        case 'k': o->kernel = atoi(optarg); break;
        case 'e': o->schedule.epochs = atoi(optarg); break;
        case 'l': o->schedule.lr = (float)atof(optarg); break;
        case 'M': o->schedule.momentum = (float)atof(optarg); break;
        case 'w': o->schedule.weight_decay = (float)atof(optarg); break;
        case 'S': o->schedule.step_lr = atoi(optarg); break;
        case 'g': o->schedule.gamma = (float)atof(optarg); break;
        case 'b': o->schedule.batch = atoi(optarg); break;
        case 'R': o->rho = atof(optarg); break;
        case 'u': o->subset = atoi(optarg); break;
        case 's': o->seed = strtoull(optarg, NULL, 10); break;
        case 'o': o->out = optarg; break;
        case 't': fb_set_threads(atoi(optarg)); break;
        case 'B': o->backend = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
    }
    const char *problem = NULL;
    if (!o->data || !o->out || !mode)
        problem = "need --data, --mode and --out";
    else if (cdes_mode_parse(mode, &o->mode) != FB_OK)
        problem = "--mode must be scr or wcr";
    else if (o->filters < 1 || o->kernel < 1 || o->kernel % 2 == 0)
        problem = "--number must be ≥ 1 and --kernel-size odd";
    else if (o->schedule.epochs < 1 || o->schedule.batch < 1 || o->schedule.step_lr < 1 || !(o->schedule.lr > 0))
        problem = "--epochs, --batch, --step-lr and --lr must be positive";
    else if (o->subset < 0 || optind < argc)
        problem = "--subset must be ≥ 0 (and no stray arguments)";
    if (problem) {
        fprintf(stderr, "freqbias cdes-train: %s\n", problem);
        usage(stderr);
        return 1;
    }
    return -1;
}

int cmd_cdes_train(int argc, char **argv)
{
    options o;
    int code = parse_options(&o, argc, argv);
    if (code >= 0)
        return code;
    fb_dataset train = { 0 }, test = { 0 };
    fb_model *model = NULL;
    fb_cdes_loss *loss = NULL;
    cli_text csv = { 0 }, sets = { 0 };
    float target[FB_CDES_BANDS];
    fb_cdes_target(target, o.rho);
    cli_text_add(&csv, "mode,set,epoch,lr,spectral_loss,image_loss,total_loss,seconds\n");
    double start = cli_now();
    fb_status status = cli_make_dirs(o.out);
    if (status == FB_OK)
        status = cdes_load_splits(o.data, o.dataset, &train, &test);
    if (status == FB_OK)
        fb_dataset_sha256(&train, o.train_sha);
    if (status == FB_OK)
        status = cdes_model_create(&model, o.filters, o.kernel, o.schedule.batch, o.backend);
    if (status == FB_OK)
        status = fb_cdes_loss_create(&loss, fb_model_backend(model), o.schedule.batch, 32, 32);
    int sets_to_train = o.mode == CDES_SCR ? train.num_classes : 1;
    for (int c = 0; status == FB_OK && c < sets_to_train; c++)
        status = train_set(model, loss, &train, &test, &o, c, target, &csv, &sets);
    if (status == FB_OK)
        status = write_run_json(&o, argc, argv, &sets, cli_now() - start);
    if (status == FB_OK)
        printf("wrote %s kernels, loss.csv, density_*.png, samples_*.png and run.json to %s (%.1f s)\n",
               cdes_mode_name(o.mode), o.out, cli_now() - start);
    code = status == FB_OK ? 0 : cli_fail("cdes-train", status);
    fb_cdes_loss_free(loss);
    fb_model_free(model);
    fb_dataset_free(&train);
    fb_dataset_free(&test);
    cli_text_free(&csv);
    cli_text_free(&sets);
    return code;
}
