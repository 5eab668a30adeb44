/* cmd_report.c — `freqbias report`: the whole paper, from CIFAR-10 to a
 * report with every figure and table, in one resumable command.
 *
 *     freqbias report --data data --preset laptop --out out/demo
 *
 * It runs the stages of report_pipeline.h one after another, each as a
 * child process of this same binary with an explicit command line (so the
 * report can print, next to every number, the command and checkpoint that
 * produced it), records each in OUT/stages/<name>.json, and skips a stage
 * whose record still matches its command, inputs and outputs (report_stage.h).
 * Then it reads the stages' CSV/JSON/npy results, draws the combined
 * figures, and writes OUT/report.md, a self-contained OUT/report.html, and
 * OUT/summary.txt with the five measured findings.
 *
 * When a stage fails the report is still written from what exists, says
 * which stage failed and why, and the exit code is the stage's (1 usage,
 * 2 input/output, 3 numerical). Rerunning continues where it stopped.
 *
 * Scaling out: the report itself is one process; with --launcher "mpirun
 * -np 4" (or "srun" inside a Slurm allocation) each sharded stage runs as
 * one MPI job of the MPI build over all the ranks (report_stage.c).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_util.h"
#include "commands.h"
#include "freqbias/backend.h"
#include "report/report_pipeline.h"
#include "report/report_preset.h"
#include "report/report_stage.h"
#include "report/report_write.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: freqbias report --data DIR --preset tiny|laptop|workstation|paper --out DIR\n"
            "                       [--seeds K] [--threads T] [--backend cpu|cpu-ref] [--seed S]\n"
            "                       [--launcher 'mpirun -np R' | 'srun']\n"
            "Runs every experiment of the paper as resumable stages and writes DIR/report.md,\n"
            "DIR/report.html (images inlined) and DIR/summary.txt. DIR of --data holds CIFAR-10\n"
            "(data_batch_1..5.bin, test_batch.bin, or the cifar-10-batches-bin folder).\n"
            "presets: tiny (a few hundred images, a test of the pipeline), laptop (<= 45 min on\n"
            "2 cores), workstation (width 32, 40 epochs, all data), paper (ResNet-18 width 64,\n"
            "200 epochs, all data).\n"
            "--seeds K trains every compared classifier with seeds S..S+K-1 (default: the preset's,\n"
            "tiny 1, others 3; at most %d); tables give mean +- std, verdicts a one-sided t-test.\n"
            "A rerun skips every stage whose recorded command, inputs and outputs still match\n"
            "(so a larger K reuses the seeds already trained).\n"
            "--launcher runs the sharded stages (train, test, sweep, gradspec, spectrum) as\n"
            "LAUNCHER freqbias ..., each one MPI job over the launcher's ranks (MPI build only;\n"
            "--threads is then per rank). On cpu and cpu-ref the bits, and so the records, are\n"
            "the same on any number of ranks: a report can be resumed with another launcher\n"
            "(on cuda, one GPU per rank, they are fixed per rank count).\n", REPORT_MAX_SEEDS);
}

/* --launcher starts MPI jobs of this binary: it must be the MPI build (a
 * plain build under mpirun would be R independent copies writing the same
 * files). */
static int launcher_possible(void)
{
#ifdef FB_WITH_MPI
    return 1;
#else
    fprintf(stderr, "freqbias report: --launcher needs the MPI build of freqbias (make MPI=1, then "
                    "build-mpi/freqbias report ...); this one was built without MPI\n");
#endif
    return 0;
}

int cmd_report(int argc, char **argv)
{
    static const struct option options[] = {
        {"data", required_argument, 0, 'd'},    {"preset", required_argument, 0, 'p'},
        {"out", required_argument, 0, 'o'},     {"threads", required_argument, 0, 't'},
        {"backend", required_argument, 0, 'k'}, {"seed", required_argument, 0, 'S'},
        {"seeds", required_argument, 0, 'K'},   {"launcher", required_argument, 0, 'L'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *data_dir = NULL, *preset_name = NULL, *out = NULL, *backend = "cpu", *launcher = NULL;
    int threads = 0, seeds = 0, opt;
    unsigned long long seed = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        char *end = NULL;
        switch (opt) {
        case 'd': data_dir = optarg; break;
        case 'p': preset_name = optarg; break;
        case 'o': out = optarg; break;
        case 't': threads = (int)strtol(optarg, &end, 10); break;
        case 'k': backend = optarg; break;
        case 'S': seed = strtoull(optarg, &end, 10); break;
        case 'K': seeds = (int)strtol(optarg, &end, 10); break;
        case 'L': launcher = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
        if (end && (*end || end == optarg)) {
            fprintf(stderr, "freqbias report: '%s' is not a number\n", optarg);
            return 1;
        }
    }
    const report_preset *preset = report_preset_find(preset_name);
    if (!data_dir || !out || optind < argc || threads < 0) {
        fprintf(stderr, "freqbias report: need --data DIR, --preset and --out DIR\n");
        usage(stderr);
        return 1;
    }
    if (!preset) {
        fprintf(stderr, "freqbias report: --preset must be one of %s, not '%s'\n", report_preset_names(),
                preset_name ? preset_name : "(missing)");
        return 1;
    }
    if (!seeds)
        seeds = preset->seeds;
    if (seeds < 1 || seeds > REPORT_MAX_SEEDS) {
        fprintf(stderr, "freqbias report: --seeds must be 1..%d, not %d\n", REPORT_MAX_SEEDS, seeds);
        return 1;
    }
    if (!fb_backend_by_name(backend))
        return cli_fail("report", FB_ERR_USAGE);
    if (launcher && !launcher_possible())
        return 1;
    if (strlen(out) >= REPORT_OUT_MAX - 64 || strlen(data_dir) >= 900) {
        fprintf(stderr, "freqbias report: --out or --data path is too long\n");
        return 1;
    }

    report_pipeline pipeline;
    memset(&pipeline, 0, sizeof pipeline);
    pipeline.preset = preset;
    pipeline.seed = seed;
    pipeline.seeds = seeds;
    snprintf(pipeline.out_dir, sizeof pipeline.out_dir, "%s", out);
    snprintf(pipeline.backend, sizeof pipeline.backend, "%s", backend);
    stage_runner runner;
    fb_status status = report_data_locate(data_dir, pipeline.data.cifar_dir, sizeof pipeline.data.cifar_dir);
    if (status == FB_OK)
        status = cli_make_dirs(out);
    if (status == FB_OK)
        status = stage_runner_init(&runner, out, threads);
    if (status == FB_OK && launcher)
        status = stage_runner_set_launcher(&runner, launcher);
    if (status == FB_OK)
        status = report_pipeline_build(&pipeline);
    if (status != FB_OK) {
        report_pipeline_free(&pipeline);
        return cli_fail("report", status);
    }
    fprintf(stderr, "freqbias report: preset %s (%s), %d seeds, %d stages, output in %s\n", preset->name,
            preset->budget, seeds, pipeline.count, out);
    if (launcher)
        fprintf(stderr, "freqbias report: train, test, sweep, gradspec and spectrum run as: %s %s ...\n",
                launcher, runner.executable);
    report_outcome outcome = {.failed_stage = -1, .threads = threads};
    double start = cli_now();
    runner.total = pipeline.count;
    for (int i = 0; i < pipeline.count; i++) {
        runner.index = i + 1;
        status = stage_run(&pipeline.stages[i], &runner);
        if (status != FB_OK) {
            outcome.failed_stage = i;
            outcome.status = status;
            snprintf(outcome.message, sizeof outcome.message, "%s", fb_error_message());
            fprintf(stderr, "freqbias report: %s\n", outcome.message);
            break;
        }
    }
    outcome.seconds = cli_now() - start;
    report_printout *printout = calloc(1, sizeof *printout);
    fb_status written = printout ? report_write(&pipeline, &outcome, printout)
                                 : fb_error(FB_ERR_NOMEM, "report: out of memory");
    if (written != FB_OK) {
        fprintf(stderr, "freqbias report: %s\n", fb_error_message());
    } else {
        printf("\nreport: %s/report.md (self-contained: %s/report.html)\n", out, out);
        printf("findings (preset %s%s):\n", preset->name,
               outcome.failed_stage >= 0 ? ", INCOMPLETE: a stage failed" : "");
        for (int i = 0; i < REPORT_FINDINGS; i++)
            printf("  %d. %s\n", i + 1, printout->findings[i]);
        printf("time per stage group (this invocation; cached = skipped, its record matched):\n");
        for (int g = 0; g < REPORT_GROUPS; g++)
            if (printout->times[g][0])
                printf("  %s: %s\n", report_group_names[g], printout->times[g]);
    }
    free(printout);
    report_pipeline_free(&pipeline);
    if (outcome.failed_stage >= 0)
        return fb_status_exit_code(outcome.status);
    return written == FB_OK ? 0 : fb_status_exit_code(written);
}
