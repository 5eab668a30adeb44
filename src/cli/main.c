/* main.c — `freqbias <subcommand> [--options]`: the subcommand table.
 *
 * Start-up first makes sure OpenBLAS runs the best kernel this CPU allows
 * (fb_runtime_init may re-exec the program once, see freqbias/runtime.h),
 * then dispatches. Exit codes: 0 ok, 1 usage, 2 input/output, 3 numerical.
 * A write past the file-size limit (`ulimit -f`) must be an ordinary write
 * error (EFBIG: a message naming the file, exit 2, the previous file kept)
 * rather than death by SIGXFSZ, so that signal is ignored.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "freqbias/runtime.h"
#include "freqbias/version.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"train", cmd_train, "train a CIFAR ResNet (easy_train.py), deterministic and resumable"},
    {"test", cmd_test, "top-1/top-5, loss, per-class accuracy, confusion matrix (test.py)"},
    {"filter", cmd_filter, "write low/high/band-pass filtered copies of a dataset split"},
    {"sweep", cmd_sweep, "accuracy and feature discrimination on low/high-pass test sets (Fig. 3)"},
    {"gradspec", cmd_gradspec, "gradient-spectrum evolution over a run's checkpoints (grad.py)"},
    {"hars", cmd_hars, "build the HARS training set (own high + another class's low frequencies)"},
    {"cdes-train", cmd_cdes_train, "train the CDES toy kernels towards a double-peak spectral density"},
    {"cdes-generate", cmd_cdes_generate, "build the CDES SCR/WCR datasets from trained kernels"},
    {"fourier-heatmap", cmd_fourier_heatmap, "Fourier heat map (Yin et al. 2019) and band-limited noise robustness"},
    {"spectrum", cmd_spectrum, "spectral density curves, gradient density, per-class band-power KDE"},
    {"report", cmd_report, "run every experiment as resumable stages; write report.md/.html"},
    {"convert", cmd_convert, "a PyTorch .pt (torch.save) or safetensors checkpoint as freqbias safetensors"},
    {"trace", cmd_trace, "one training step op by op: shapes, FLOPs, bytes, time; the FMA peak"},
    {"info", cmd_info, "version, build profile, backends, BLAS kernel, threads, CPU features"},
};

static void usage(FILE *out)
{
    fprintf(out, "freqbias %s — frequency bias in image classification, in C\n\n", FB_VERSION);
    fprintf(out, "usage: freqbias <command> [--help] [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(out, "  %-13s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv)
{
    fb_runtime_init(argc, argv);
    signal(SIGXFSZ, SIG_IGN);
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("freqbias %s\n", FB_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "freqbias: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 1;
}
