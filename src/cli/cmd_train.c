/* cmd_train.c — `freqbias train`: the seed's easy_train.py, deterministic
 * and resumable.
 *
 * Recipe (PAPER.md "Training recipe"): SGD lr 0.1, momentum 0.9, weight
 * decay 5e-4, batch 128 shuffled with drop_last=False, mean cross-entropy,
 * reflect-pad 4 → random crop → horizontal flip, lr × 0.1 every 50 epochs.
 * After every epoch: test-set evaluation, DIR/epoch_NNN.safetensors,
 * last.safetensors, best.safetensors (best clean top-1), state.safetensors
 * (model + momentum + settings: the single commit point of a resume), a row
 * of log.csv and run.json. A killed run resumes from the last state with
 * `--resume DIR` and produces the same bytes as a run that was never killed:
 * the data order and augmentation of epoch e are pure functions of
 * (seed, e, image).
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"
#include "freqbias/checkpoint.h"
#include "freqbias/evaluate.h"
#include "freqbias/json.h"
#include "freqbias/loader.h"
#include "freqbias/runtime.h"
#include "freqbias/safetensors.h"
#include "freqbias/spectrum.h"
#include "freqbias/version.h"
#include "gradspec_output.h"
#include "train_options.h"

#define LOG_HEADER "epoch,lr,train_loss,train_acc,test_loss,test_acc,img_per_s,seconds\n"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: freqbias train --data DIR [--dataset cifar10|cifar100|mnist|fashion-mnist] --out DIR\n"
            "  model     --arch resnet18|resnet34|resnet50 (resnet18) --width 64 --init CKPT\n"
            "  recipe    --epochs 200 --batch 128 --lr 0.1 --momentum 0.9 --wd 5e-4\n"
            "            --lr-step 50 --lr-gamma 0.1 | --lr-milestones 60,120,180\n"
            "  data      --train-data FILE|DIR --test-data FILE|DIR --subset N --no-augment --no-shuffle\n"
            "  run       --seed S (0) --threads T --backend cpu|cpu-ref --resume DIR\n"
            "  analysis  --gradspec N: gradient spectrum of the first N test images before training\n"
            "            and after every epoch (gradspec_mean.npy, gradspec_std.npy, gradspec.csv)\n");
}

typedef struct run {
    train_options o;
    fb_dataset train, test;
    char train_sha[65], test_sha[65];
    fb_model *model;
    int next_epoch, best_epoch;
    double best_top1;
    char *log;             /* log.csv text so far */
    gradspec_rows gradspec; /* online gradient spectrum, one row per epoch + 1 */
    fb_radial_bins bins;
    double seconds;        /* training wall time so far */
    int argc;
    char **argv;
} run;

static int parse_milestones(train_options *o, const char *text)
{
    o->milestone_count = 0;
    for (const char *p = text; *p;) {
        char *end;
        long value = strtol(p, &end, 10);
        if (end == p || value < 0 || o->milestone_count == TRAIN_MAX_MILESTONES)
            return 0;
        o->milestones[o->milestone_count++] = (int)value;
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return 0;
    }
    return o->milestone_count > 0;
}

static fb_status parse(int argc, char **argv, train_options *o, char *resume, int *epochs_given)
{
    static const struct option options[] = {
        {"data", required_argument, 0, 'd'},        {"dataset", required_argument, 0, 'D'},
        {"arch", required_argument, 0, 'a'},        {"width", required_argument, 0, 'w'},
        {"epochs", required_argument, 0, 'e'},      {"batch", required_argument, 0, 'b'},
        {"lr", required_argument, 0, 'l'},          {"momentum", required_argument, 0, 'm'},
        {"wd", required_argument, 0, 'W'},          {"lr-step", required_argument, 0, 's'},
        {"lr-gamma", required_argument, 0, 'g'},    {"lr-milestones", required_argument, 0, 'M'},
        {"seed", required_argument, 0, 'S'},        {"threads", required_argument, 0, 't'},
        {"backend", required_argument, 0, 'k'},     {"out", required_argument, 0, 'o'},
        {"subset", required_argument, 0, 'n'},      {"no-augment", no_argument, 0, 'A'},
        {"no-shuffle", no_argument, 0, 'F'},        {"init", required_argument, 0, 'i'},
        {"resume", required_argument, 0, 'r'},      {"train-data", required_argument, 0, 'T'},
        {"test-data", required_argument, 0, 'E'},   {"gradspec", required_argument, 0, 'G'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int opt, index = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", options, &index)) != -1) {
        char *end = NULL;
        switch (opt) {
        case 'd': snprintf(o->data, sizeof o->data, "%s", optarg); break;
        case 'D': snprintf(o->dataset, sizeof o->dataset, "%s", optarg); break;
        case 'a': snprintf(o->arch, sizeof o->arch, "%s", optarg); break;
        case 'w': o->width = (int)strtol(optarg, &end, 10); break;
        case 'e': o->epochs = (int)strtol(optarg, &end, 10); *epochs_given = 1; break;
        case 'b': o->batch = (int)strtol(optarg, &end, 10); break;
        case 'l': o->lr = strtod(optarg, &end); break;
        case 'm': o->momentum = strtod(optarg, &end); break;
        case 'W': o->weight_decay = strtod(optarg, &end); break;
        case 's': o->lr_step = (int)strtol(optarg, &end, 10); break;
        case 'g': o->lr_gamma = strtod(optarg, &end); break;
        case 'M':
            if (!parse_milestones(o, optarg))
                return fb_error(FB_ERR_USAGE, "--lr-milestones: expected epochs like 60,120,180, got '%s'", optarg);
            break;
        case 'S': o->seed = strtoull(optarg, &end, 10); break;
        case 't': o->threads = (int)strtol(optarg, &end, 10); break;
        case 'k': snprintf(o->backend, sizeof o->backend, "%s", optarg); break;
        case 'o': snprintf(o->out, sizeof o->out, "%s", optarg); break;
        case 'n': o->subset = (int)strtol(optarg, &end, 10); break;
        case 'A': o->augment = 0; break;
        case 'F': o->shuffle = 0; break;
        case 'i': snprintf(o->init, sizeof o->init, "%s", optarg); break;
        case 'r': snprintf(resume, 512, "%s", optarg); break;
        case 'T': snprintf(o->train_data, sizeof o->train_data, "%s", optarg); break;
        case 'E': snprintf(o->test_data, sizeof o->test_data, "%s", optarg); break;
        case 'G': o->gradspec = (int)strtol(optarg, &end, 10); break;
        case 'h': usage(stdout); exit(0);
        default: return fb_error(FB_ERR_USAGE, "unknown option (see freqbias train --help)");
        }
        if (end && (*end || end == optarg))
            return fb_error(FB_ERR_USAGE, "--%s: '%s' is not a number", options[index].name, optarg);
    }
    if (optind < argc)
        return fb_error(FB_ERR_USAGE, "unexpected argument '%s'", argv[optind]);
    if (o->width < 1 || o->epochs < 1 || o->batch < 1 || o->subset < 0 || o->lr <= 0 || o->gradspec < 0 ||
        o->momentum < 0 || o->weight_decay < 0 || o->lr_gamma <= 0 || o->lr_step < 0)
        return fb_error(FB_ERR_USAGE, "width, epochs and batch must be >= 1; lr and lr-gamma > 0; "
                                      "momentum, wd, subset, lr-step >= 0");
    return FB_OK;
}

static const char *state_lookup(const void *ctx, const char *key)
{
    const char *value = fb_st_meta(ctx, key);
    return value && *value ? value : NULL;
}

static fb_status load_data(run *r)
{
    const train_options *o = &r->o;
    FB_TRY(cli_load_dataset(o->data[0] ? o->data : NULL, o->dataset,
                            o->train_data[0] ? o->train_data : NULL, FB_SPLIT_TRAIN, &r->train));
    FB_TRY(cli_load_dataset(o->data[0] ? o->data : NULL, o->dataset,
                            o->test_data[0] ? o->test_data : NULL, FB_SPLIT_TEST, &r->test));
    if (r->train.channels != r->test.channels || r->train.height != r->test.height ||
        r->train.width != r->test.width || r->train.height != r->train.width)
        return fb_error(FB_ERR_SHAPE, "train images (%s) are %dx%dx%d and test images (%s) %dx%dx%d: "
                        "need the same square size", r->train.source, r->train.channels,
                        r->train.height, r->train.width, r->test.source, r->test.channels,
                        r->test.height, r->test.width);
    fb_dataset_sha256(&r->train, r->train_sha);
    fb_dataset_sha256(&r->test, r->test_sha);
    return FB_OK;
}

static fb_status make_model(run *r)
{
    const train_options *o = &r->o;
    const fb_backend *backend = fb_backend_by_name(o->backend);
    if (!backend)
        return FB_ERR_USAGE;
    fb_model_config config;
    FB_TRY(fb_arch_parse(o->arch, &config.arch));
    if (config.arch == FB_ARCH_TOYKERNEL)
        return fb_error(FB_ERR_USAGE, "--arch toykernel is trained by `freqbias cdes-train`");
    config = fb_model_config_default(config.arch);
    config.width = o->width;
    config.in_channels = r->train.channels;
    config.image_size = r->train.height;
    int classes = r->train.num_classes > r->test.num_classes ? r->train.num_classes : r->test.num_classes;
    config.num_classes = classes;
    config.max_batch = o->batch;
    FB_TRY(fb_model_create(&r->model, &config, backend));
    fb_model_init(r->model, o->seed);
    if (o->init[0])
        FB_TRY(fb_checkpoint_load(r->model, o->init, NULL));
    return FB_OK;
}

static fb_status write_run_json(run *r, const char *status)
{
    char path[1100];
    size_t size = 8192 + (size_t)r->argc * 600;
    char *text = malloc(size), escaped[1200];
    if (!text)
        return fb_error(FB_ERR_NOMEM, "run.json: out of memory");
    size_t used = 0;
#define ADD(...) used += (size_t)snprintf(text + used, size - used, __VA_ARGS__)
    ADD("{\n  \"command\": [");
    for (int i = 0; i < r->argc; i++) {
        fb_json_escape(r->argv[i], escaped, sizeof escaped);
        ADD("%s%s", i ? ", " : "", escaped);
    }
    ADD("],\n  \"freqbias\": \"%s\",\n  \"profile\": \"%s\",\n", FB_VERSION, FB_PROFILE);
    fb_json_escape(fb_runtime_note(), escaped, sizeof escaped);
    ADD("  \"blas\": %s,\n  \"threads\": %d,\n  \"backend\": \"%s\",\n", escaped, fb_get_threads(),
        r->o.backend);
    ADD("  \"seed\": %llu,\n  \"arch\": \"%s\",\n  \"width\": %d,\n", (unsigned long long)r->o.seed,
        r->o.arch, r->o.width);
    fb_json_escape(r->train.source, escaped, sizeof escaped);
    ADD("  \"train_data\": {\"source\": %s, \"images\": %d, \"sha256\": \"%s\"},\n", escaped,
        r->train.count, r->train_sha);
    fb_json_escape(r->test.source, escaped, sizeof escaped);
    ADD("  \"test_data\": {\"source\": %s, \"images\": %d, \"sha256\": \"%s\"},\n", escaped,
        r->test.count, r->test_sha);
    ADD("  \"epochs\": %d,\n  \"epochs_done\": %d,\n  \"best_top1\": %.6f,\n  \"best_epoch\": %d,\n",
        r->o.epochs, r->next_epoch, r->best_top1, r->best_epoch);
    ADD("  \"train_seconds\": %.3f,\n  \"status\": \"%s\"\n}\n", r->seconds, status);
#undef ADD
    snprintf(path, sizeof path, "%s/run.json", r->o.out);
    fb_status result = cli_write_text(path, text);
    free(text);
    return result;
}

static fb_status save_epoch(run *r, int epoch, int improved)
{
    char path[1100], values[TRAIN_OPTION_KEYS + 4][600];
    const char *keys[TRAIN_OPTION_KEYS + 4];
    fb_checkpoint_info info = {.epoch = epoch, .seed = r->o.seed};
    snprintf(info.data_sha256, sizeof info.data_sha256, "%s", r->train_sha);
    snprintf(path, sizeof path, "%s/epoch_%03d.safetensors", r->o.out, epoch);
    FB_TRY(fb_checkpoint_save(r->model, path, &info));
    snprintf(path, sizeof path, "%s/last.safetensors", r->o.out);
    FB_TRY(fb_checkpoint_save(r->model, path, &info));
    if (improved) {
        snprintf(path, sizeof path, "%s/best.safetensors", r->o.out);
        FB_TRY(fb_checkpoint_save(r->model, path, &info));
    }
    int n = train_options_to_pairs(&r->o, keys, values);
    keys[n] = "next_epoch";
    snprintf(values[n++], 600, "%d", epoch + 1);
    keys[n] = "best_top1";
    snprintf(values[n++], 600, "%.17g", r->best_top1);
    keys[n] = "best_epoch";
    snprintf(values[n++], 600, "%d", r->best_epoch);
    keys[n] = "train_seconds";
    snprintf(values[n++], 600, "%.3f", r->seconds);
    const char *value_pointers[TRAIN_OPTION_KEYS + 4];
    for (int i = 0; i < n; i++)
        value_pointers[i] = values[i];
    /* log.csv first: state.safetensors is the commit point, and a resume
     * rewrites the log from the rows of the epochs the state has seen */
    snprintf(path, sizeof path, "%s/log.csv", r->o.out);
    FB_TRY(cli_write_text(path, r->log));
    snprintf(path, sizeof path, "%s/state.safetensors", r->o.out);
    FB_TRY(fb_train_state_save(r->model, path, keys, value_pointers, n));
    return write_run_json(r, epoch + 1 == r->o.epochs ? "finished" : "running");
}

/* Keeps the header and the rows of epochs < next_epoch of an existing log. */
static char *restore_log(const char *out, int next_epoch)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/log.csv", out);
    size_t capacity = 256 + (size_t)next_epoch * 160;
    char *log = malloc(capacity), line[512];
    if (!log)
        return NULL;
    snprintf(log, capacity, "%s", LOG_HEADER);
    FILE *f = fopen(path, "r");
    if (!f)
        return log;
    while (fgets(line, sizeof line, f)) {
        int epoch;
        if (sscanf(line, "%d,", &epoch) == 1 && epoch < next_epoch && strlen(log) + strlen(line) < capacity)
            strcat(log, line);
    }
    fclose(f);
    return log;
}

static fb_status append_log(run *r, const char *row)
{
    size_t need = strlen(r->log) + strlen(row) + 1;
    char *grown = realloc(r->log, need);
    if (!grown)
        return fb_error(FB_ERR_NOMEM, "log.csv: out of memory");
    strcat(grown, row);
    r->log = grown;
    return FB_OK;
}

/* Row `row` of the online gradient spectrum (0 = before training, e + 1 =
 * after epoch e), then all rows so far to disk. */
static fb_status record_gradspec(run *r, int row)
{
    if (!r->o.gradspec)
        return FB_OK;
    char label[64];
    FB_TRY(fb_model_gradient_spectrum(r->model, &r->test, r->o.gradspec, r->o.batch, &r->bins,
                                      r->gradspec.mean + (size_t)row * r->bins.bands,
                                      r->gradspec.std + (size_t)row * r->bins.bands, NULL));
    snprintf(label, sizeof label, row == 0 ? "before training" : "epoch %d", row - 1);
    gradspec_rows_label(&r->gradspec, row, label);
    r->gradspec.count = row + 1;
    return gradspec_rows_write(&r->gradspec, r->o.out, "epoch (-1 = before training)", -1.0);
}

static fb_status train_epochs(run *r)
{
    const train_options *o = &r->o;
    fb_model *m = r->model;
    const fb_backend *backend = fb_model_backend(m);
    const fb_model_config *config = fb_model_get_config(m);
    int classes = config->num_classes;
    size_t image_floats = (size_t)r->train.channels * r->train.height * r->train.width;
    float *host_images = malloc((size_t)o->batch * image_floats * sizeof(float)); /* [batch, C, H, W] */
    float *images = backend->alloc((size_t)o->batch * image_floats * sizeof(float)); /* [batch, C, H, W] */
    float *host_logits = malloc((size_t)o->batch * classes * sizeof(float)); /* [batch, classes] */
    int32_t *labels = malloc((size_t)o->batch * sizeof(int32_t));             /* [batch] */
    fb_loader loader;
    fb_status status = fb_loader_init(&loader, &r->train, o->subset, o->batch, o->seed, o->shuffle,
                                      o->augment);
    if (status == FB_OK && (!host_images || !images || !host_logits || !labels))
        status = fb_error(FB_ERR_NOMEM, "train: out of memory for batch buffers");
    if (status == FB_OK && r->next_epoch == 0)
        status = record_gradspec(r, 0);
    for (int epoch = r->next_epoch; status == FB_OK && epoch < o->epochs; epoch++) {
        double lr = train_lr_at(o, epoch), start = cli_now(), loss_sum = 0.0;
        long correct = 0, seen = 0;
        char label[64];
        cli_progress progress;
        snprintf(label, sizeof label, "epoch %d/%d", epoch + 1, o->epochs);
        cli_progress_start(&progress, label);
        fb_loader_start_epoch(&loader, epoch);
        int batches = fb_loader_batches(&loader);
        for (int b = 0; b < batches; b++) {
            int n = fb_loader_batch(&loader, b, host_images, labels);
            backend->to_device(images, host_images, (size_t)n * image_floats * sizeof(float));
            const float *logits = fb_model_forward(m, images, n, 1);
            float loss = fb_model_loss(m, labels, n);
            if (!isfinite(loss)) {
                if (epoch > 0)
                    status = fb_error(FB_ERR_NUMERIC,
                                      "epoch %d, batch %d: the loss is %f; stopped. The last good "
                                      "checkpoint is %s/last.safetensors (epoch %d)",
                                      epoch, b, (double)loss, o->out, epoch - 1);
                else
                    status = fb_error(FB_ERR_NUMERIC,
                                      "epoch 0, batch %d: the loss is %f; stopped before any "
                                      "checkpoint was written (try a smaller --lr)",
                                      b, (double)loss);
                break;
            }
            backend->to_host(host_logits, logits, (size_t)n * classes * sizeof(float));
            fb_model_backward(m, NULL, 0);
            fb_model_sgd_step(m, (float)lr, (float)o->momentum, (float)o->weight_decay);
            for (int i = 0; i < n; i++) {
                const float *row = host_logits + (size_t)i * classes;
                int predicted = 0;
                for (int k = 1; k < classes; k++)
                    predicted = row[k] > row[predicted] ? k : predicted;
                correct += predicted == labels[i];
            }
            loss_sum += (double)loss * n;
            seen += n;
            cli_progress_update(&progress, b + 1, batches, seen);
        }
        cli_progress_finish(&progress);
        if (status != FB_OK)
            break;
        double train_seconds = cli_now() - start;
        fb_eval_result eval;
        status = fb_evaluate(m, &r->test, o->batch, 0, 0, &eval);
        if (status != FB_OK)
            break;
        double seconds = cli_now() - start;
        r->seconds += seconds;
        int improved = eval.top1 > r->best_top1 || epoch == 0 || r->best_epoch < 0;
        if (improved) {
            r->best_top1 = eval.top1;
            r->best_epoch = epoch;
        }
        char row[256];
        snprintf(row, sizeof row, "%d,%.6g,%.6f,%.6f,%.6f,%.6f,%.1f,%.1f\n", epoch, lr,
                 loss_sum / seen, (double)correct / seen, eval.loss, eval.top1, seen / train_seconds,
                 seconds);
        printf("epoch %3d  lr %.4g  train loss %.4f acc %.4f  test loss %.4f acc %.4f  %.0f img/s  %.0f s\n",
               epoch, lr, loss_sum / seen, (double)correct / seen, eval.loss, eval.top1,
               seen / train_seconds, seconds);
        fflush(stdout);
        fb_eval_result_free(&eval);
        r->next_epoch = epoch + 1;
        status = record_gradspec(r, epoch + 1);
        if (status == FB_OK)
            status = append_log(r, row);
        if (status == FB_OK)
            status = save_epoch(r, epoch, improved);
    }
    fb_loader_free(&loader);
    free(host_images);
    backend->release(images);
    free(host_logits);
    free(labels);
    return status;
}

int cmd_train(int argc, char **argv)
{
    run r;
    memset(&r, 0, sizeof r);
    r.argc = argc;
    r.argv = argv;
    r.best_epoch = -1;
    train_options_defaults(&r.o);
    char resume[512] = "";
    int epochs_given = 0;
    fb_status status = parse(argc, argv, &r.o, resume, &epochs_given);
    if (status != FB_OK) {
        int code = cli_fail("train", status);
        usage(stderr);
        return code;
    }
    fb_st_file state;
    char state_path[1100];
    if (resume[0]) {
        train_options cli = r.o;
        snprintf(state_path, sizeof state_path, "%s/state.safetensors", resume);
        fb_status read = fb_st_read(state_path, &state);
        if (read != FB_OK)
            return cli_fail("train", read);
        train_options_defaults(&r.o);
        train_options_from_pairs(&r.o, state_lookup, &state);
        snprintf(r.o.out, sizeof r.o.out, "%s", resume);
        if (epochs_given)
            r.o.epochs = cli.epochs;
        if (cli.threads)
            r.o.threads = cli.threads;
        const char *v = fb_st_meta(&state, "next_epoch");
        r.next_epoch = v ? atoi(v) : 0;
        r.best_top1 = (v = fb_st_meta(&state, "best_top1")) ? strtod(v, NULL) : 0.0;
        r.best_epoch = (v = fb_st_meta(&state, "best_epoch")) ? atoi(v) : -1;
        r.seconds = (v = fb_st_meta(&state, "train_seconds")) ? strtod(v, NULL) : 0.0;
        fb_st_free(&state);
        r.o.init[0] = '\0'; /* the state holds the weights */
    } else if (!r.o.out[0]) {
        fprintf(stderr, "freqbias train: --out DIR is required\n");
        usage(stderr);
        return 1;
    }
    if (r.o.threads > 0)
        fb_set_threads(r.o.threads);
    status = cli_make_dirs(r.o.out);
    if (status == FB_OK)
        status = load_data(&r);
    if (status == FB_OK)
        status = make_model(&r);
    if (status == FB_OK && resume[0]) {
        status = fb_train_state_load(r.model, state_path, &state);
        if (status == FB_OK)
            fb_st_free(&state);
    }
    if (status == FB_OK && r.o.gradspec) {
        status = fb_radial_init(&r.bins, r.test.height, r.test.width, FB_RADIAL_FREQBIAS);
        if (status == FB_OK)
            status = gradspec_rows_init(&r.gradspec, r.o.epochs + 1, r.bins.bands, FB_RADIAL_FREQBIAS);
        if (status == FB_OK && resume[0])
            status = gradspec_rows_restore(&r.gradspec, r.o.out, r.next_epoch + 1);
    }
    if (status == FB_OK) {
        r.log = restore_log(r.o.out, resume[0] ? r.next_epoch : 0);
        if (!r.log)
            status = fb_error(FB_ERR_NOMEM, "out of memory");
    }
    if (status == FB_OK) {
        fprintf(stderr, "freqbias train: %s width %d on %s (%d images%s), test %d images, %d epochs "
                        "from %d, %d threads, %s\n",
                r.o.arch, r.o.width, r.train.source, r.o.subset ? r.o.subset : r.train.count,
                r.o.subset ? ", subset" : "", r.test.count, r.o.epochs, r.next_epoch,
                fb_get_threads(), fb_runtime_note());
        status = write_run_json(&r, "running");
    }
    if (status == FB_OK)
        status = train_epochs(&r);
    if (status != FB_OK && r.log)
        write_run_json(&r, status == FB_ERR_NUMERIC ? "stopped: non-finite loss" : "failed");
    int code = status == FB_OK ? 0 : cli_fail("train", status);
    if (status == FB_OK)
        printf("outputs in %s: last.safetensors, best.safetensors (epoch %d, test top-1 %.4f), "
               "log.csv, run.json\n", r.o.out, r.best_epoch, r.best_top1);
    free(r.log);
    gradspec_rows_free(&r.gradspec);
    fb_radial_free(&r.bins);
    fb_model_free(r.model);
    fb_dataset_free(&r.train);
    fb_dataset_free(&r.test);
    return code;
}
