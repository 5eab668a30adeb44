/* cmd_train.c — `freqbias train`: argument parsing and printing around the
 * library trainer (src/train, freqbias/train.h), which runs the epochs and
 * writes every file.
 *
 * The settings come from the command line, or for --resume DIR from
 * DIR/state.safetensors (read and checked by fb_train_state_read, with
 * the same fb_train_settings_problem the command line passes); --epochs and
 * --threads given next to --resume override the stored ones.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"
#include "freqbias/backend.h"
#include "freqbias/dist.h"
#include "freqbias/runtime.h"
#include "freqbias/train.h"

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

/* The command-line option of a state-file key ("lr_gamma" -> "lr-gamma"). */
static const char *option_name(const char *key)
{
    static const char *const names[][2] = {{"weight_decay", "wd"},   {"lr_gamma", "lr-gamma"},
                                           {"lr_step", "lr-step"},   {"lr_milestones", "lr-milestones"},
                                           {"augment", "no-augment"}, {"shuffle", "no-shuffle"}};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcmp(key, names[i][0]) == 0)
            return names[i][1];
    return key;
}

/* strtol for an int option: a value beyond int's range becomes INT_MIN,
 * which fb_train_settings_problem rejects (never a silently wrapped one). */
static int int_argument(const char *text, char **end)
{
    errno = 0;
    long value = strtol(text, end, 10);
    return errno == ERANGE || value < INT_MIN || value > INT_MAX ? INT_MIN : (int)value;
}

static fb_status parse(int argc, char **argv, fb_train_settings *o, char *resume, int *epochs_given)
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
        case 'w': o->width = int_argument(optarg, &end); break;
        case 'e': o->epochs = int_argument(optarg, &end); *epochs_given = 1; break;
        case 'b': o->batch = int_argument(optarg, &end); break;
        case 'l': o->lr = strtod(optarg, &end); break;
        case 'm': o->momentum = strtod(optarg, &end); break;
        case 'W': o->weight_decay = strtod(optarg, &end); break;
        case 's': o->lr_step = int_argument(optarg, &end); break;
        case 'g': o->lr_gamma = strtod(optarg, &end); break;
        case 'M':
            if (!fb_train_parse_milestones(o, optarg))
                return fb_error(FB_ERR_USAGE, "--lr-milestones: expected epochs like 60,120,180, got '%s'", optarg);
            break;
        case 'S': o->seed = strtoull(optarg, &end, 10); break;
        case 't': o->threads = int_argument(optarg, &end); break;
        case 'k': snprintf(o->backend, sizeof o->backend, "%s", optarg); break;
        case 'o': snprintf(o->out, sizeof o->out, "%s", optarg); break;
        case 'n': o->subset = int_argument(optarg, &end); break;
        case 'A': o->augment = 0; break;
        case 'F': o->shuffle = 0; break;
        case 'i': snprintf(o->init, sizeof o->init, "%s", optarg); break;
        case 'r': snprintf(resume, 512, "%s", optarg); break;
        case 'T': snprintf(o->train_data, sizeof o->train_data, "%s", optarg); break;
        case 'E': snprintf(o->test_data, sizeof o->test_data, "%s", optarg); break;
        case 'G': o->gradspec = int_argument(optarg, &end); break;
        case 'h': usage(stdout); exit(0);
        default: return fb_error(FB_ERR_USAGE, "unknown option (see freqbias train --help)");
        }
        if (end && (*end || end == optarg))
            return fb_error(FB_ERR_USAGE, "--%s: '%s' is not a number", options[index].name, optarg);
    }
    if (optind < argc)
        return fb_error(FB_ERR_USAGE, "unexpected argument '%s'", argv[optind]);
    char why[200];
    const char *key = fb_train_settings_problem(o, why, sizeof why);
    if (key)
        return fb_error(FB_ERR_USAGE, "--%s: %s", option_name(key), why);
    return FB_OK;
}

/* The progress bar while an epoch runs, one line per epoch on stdout. */
typedef struct printer {
    cli_progress progress;
    char label[64];
} printer;

static void print_event(const fb_train_event *event, void *user)
{
    printer *p = user;
    switch (event->kind) {
    case FB_TRAIN_EPOCH_START:
        snprintf(p->label, sizeof p->label, "epoch %d/%d", event->epoch + 1, event->epochs);
        cli_progress_start(&p->progress, p->label);
        break;
    case FB_TRAIN_BATCH_DONE:
        cli_progress_update(&p->progress, event->batch, event->batches, event->images);
        break;
    case FB_TRAIN_EPOCH_DONE:
        cli_progress_finish(&p->progress);
        printf("epoch %3d  lr %.4g  train loss %.4f acc %.4f  test loss %.4f acc %.4f  %.0f img/s  %.0f s\n",
               event->epoch, event->lr, event->train_loss, event->train_top1, event->test_loss,
               event->test_top1, event->images_per_second, event->seconds);
        fflush(stdout);
        break;
    }
}

static fb_status load_data(const fb_train_settings *s, fb_dataset *train, fb_dataset *test)
{
    FB_TRY(cli_load_dataset(s->data[0] ? s->data : NULL, s->dataset, s->train_data[0] ? s->train_data : NULL,
                            FB_SPLIT_TRAIN, train));
    return cli_load_dataset(s->data[0] ? s->data : NULL, s->dataset, s->test_data[0] ? s->test_data : NULL,
                            FB_SPLIT_TEST, test);
}

int cmd_train(int argc, char **argv)
{
    fb_train_job job = {.command = (const char *const *)argv, .command_count = argc};
    fb_train_settings_default(&job.settings);
    char resume[512] = "";
    int epochs_given = 0, next_epoch = 0;
    fb_status status = parse(argc, argv, &job.settings, resume, &epochs_given);
    if (status != FB_OK) {
        int code = cli_fail("train", status);
        usage(stderr);
        return code;
    }
    if (resume[0]) {
        fb_train_settings cli = job.settings;
        char state_path[1100];
        fb_train_resume_point point;
        snprintf(state_path, sizeof state_path, "%s/state.safetensors", resume);
        status = fb_train_state_read(state_path, &point);
        if (status != FB_OK)
            return cli_fail("train", status);
        job.settings = point.settings;
        snprintf(job.settings.out, sizeof job.settings.out, "%s", resume);
        if (epochs_given)
            job.settings.epochs = cli.epochs;
        job.settings.threads = cli.threads;
        job.resume = 1;
        next_epoch = point.next_epoch;
    } else if (!job.settings.out[0]) {
        fprintf(stderr, "freqbias train: --out DIR is required\n");
        usage(stderr);
        return 1;
    }
    const fb_train_settings *s = &job.settings;
    if (!fb_backend_by_name(s->backend)) /* before --out is made: a refused run leaves nothing */
        return cli_fail("train", FB_ERR_USAGE);
    if (s->threads > 0)
        fb_set_threads(s->threads);
    fb_dataset train = {0}, test = {0};
    status = fb_dist_is_root() ? cli_make_dirs(s->out) : FB_OK; /* rank 0 writes the run */
    if (status == FB_OK)
        status = load_data(s, &train, &test);
    fb_train_outcome outcome = {0};
    if (status == FB_OK) {
        if (fb_dist_is_root())
            fprintf(stderr, "freqbias train: %s width %d on %s (%d images%s), test %d images, %d epochs "
                            "from %d, %d threads%s, %s\n",
                    s->arch, s->width, train.source, s->subset ? s->subset : train.count,
                    s->subset ? ", subset" : "", test.count, s->epochs, next_epoch, fb_get_threads(),
                    fb_dist_size() > 1 ? " per rank on each MPI rank's shard of a batch" : "",
                    fb_runtime_note());
        printer p;
        memset(&p, 0, sizeof p);
        job.train = &train;
        job.test = &test;
        job.callback = print_event;
        job.user = &p;
        status = fb_train_run(&job, &outcome);
    }
    int code = status == FB_OK ? 0 : cli_fail("train", status);
    if (status == FB_OK)
        printf("outputs in %s: last.safetensors, best.safetensors (epoch %d, test top-1 %.4f), "
               "log.csv, run.json\n", s->out, outcome.best_epoch, outcome.best_top1);
    fb_dataset_free(&train);
    fb_dataset_free(&test);
    return code;
}
