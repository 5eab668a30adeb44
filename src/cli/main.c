/* main.c — `freqbias <subcommand> [--options]`: the subcommand table.
 *
 * Start-up first makes sure OpenBLAS runs the best kernel this CPU allows
 * (fb_runtime_init may re-exec the program once, see freqbias/runtime.h),
 * then dispatches. Exit codes: 0 ok, 1 usage, 2 input/output, 3 numerical.
 * A write past the file-size limit (`ulimit -f`) must be an ordinary write
 * error (EFBIG: a message naming the file, exit 2, the previous file kept)
 * rather than death by SIGXFSZ, so that signal is ignored.
 *
 * Under mpirun (an MPI=1 build, freqbias/dist.h) every rank runs main: the
 * rank count must be a power of two; train splits every batch across the
 * ranks (src/train/trainer.c), test, sweep, gradspec and spectrum share
 * their images, and rank 0 alone prints and writes; the other commands
 * refuse more than one rank, with the reason (report runs as one process
 * and starts its stages as MPI jobs: --launcher). A rank
 * that fails ends the whole job (cli_fail → fb_dist_abort).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "freqbias/dist.h"
#include "freqbias/runtime.h"
#include "freqbias/version.h"

/* How a command runs when mpirun (or srun) starts more than one rank. */
typedef enum mpi_mode {
    MPI_SHARDED,     /* collective: the ranks share the images, rank 0 writes */
    MPI_ROOT_ONLY,   /* nothing to share: rank 0 does it, the others wait     */
    MPI_REFUSED,     /* one process only (see refusal())                      */
} mpi_mode;

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    mpi_mode mpi;
    const char *summary;
} command;

static const command commands[] = {
    {"train", cmd_train, MPI_SHARDED, "train a CIFAR ResNet (easy_train.py), deterministic and resumable"},
    {"test", cmd_test, MPI_SHARDED, "top-1/top-5, loss, per-class accuracy, confusion matrix (test.py)"},
    {"filter", cmd_filter, MPI_REFUSED, "write low/high/band-pass filtered copies of a dataset split"},
    {"sweep", cmd_sweep, MPI_SHARDED, "accuracy and feature discrimination on low/high-pass test sets (Fig. 3)"},
    {"gradspec", cmd_gradspec, MPI_SHARDED, "gradient-spectrum evolution over a run's checkpoints (grad.py)"},
    {"hars", cmd_hars, MPI_REFUSED, "build the HARS training set (own high + another class's low frequencies)"},
    {"cdes-train", cmd_cdes_train, MPI_REFUSED, "train the CDES toy kernels towards a double-peak spectral density"},
    {"cdes-generate", cmd_cdes_generate, MPI_REFUSED, "build the CDES SCR/WCR datasets from trained kernels"},
    {"fourier-heatmap", cmd_fourier_heatmap, MPI_REFUSED,
     "Fourier heat map (Yin et al. 2019) and band-limited noise robustness"},
    {"spectrum", cmd_spectrum, MPI_SHARDED, "spectral density curves, gradient density, per-class band-power KDE"},
    {"report", cmd_report, MPI_REFUSED, "run every experiment as resumable stages; write report.md/.html"},
    {"convert", cmd_convert, MPI_REFUSED, "a PyTorch .pt (torch.save) or safetensors checkpoint as freqbias safetensors"},
    {"trace", cmd_trace, MPI_REFUSED, "one training step op by op: shapes, FLOPs, bytes, time; the FMA peak"},
    {"info", cmd_info, MPI_ROOT_ONLY, "version, build profile, backends, BLAS kernel, threads, CPU features"},
};

static void usage(FILE *out)
{
    fprintf(out, "freqbias %s — frequency bias in image classification, in C\n\n", FB_VERSION);
    fprintf(out, "usage: freqbias <command> [--help] [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(out, "  %-13s %s\n", commands[i].name, commands[i].summary);
}

/* Why a command does not run on more than one rank (printed by rank 0). */
static void refusal(const char *name)
{
    if (strcmp(name, "report") == 0)
        fprintf(stderr, "freqbias report: %d MPI ranks: the report runs as one process and starts each "
                        "sharded stage as an MPI job itself: build-mpi/freqbias report ... --launcher "
                        "'mpirun -np %d' (or --launcher srun inside a Slurm allocation).\n",
                fb_dist_size(), fb_dist_size());
    else
        fprintf(stderr, "freqbias %s: %d MPI ranks: this command runs as one process (mpirun -np 1, or "
                        "without mpirun); the commands sharded across ranks are train, test, sweep, gradspec "
                        "and spectrum.\n", name, fb_dist_size());
}

static int dispatch(int argc, char **argv)
{
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
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
        const command *c = &commands[i];
        if (strcmp(argv[1], c->name) != 0)
            continue;
        if (fb_dist_size() > 1 && c->mpi == MPI_REFUSED) {
            if (fb_dist_is_root())
                refusal(c->name);
            return 1;
        }
        if (fb_dist_size() > 1 && c->mpi == MPI_ROOT_ONLY && !fb_dist_is_root())
            return 0;
        return c->run(argc - 1, argv + 1);
    }
    if (fb_dist_is_root()) {
        fprintf(stderr, "freqbias: unknown command '%s'\n\n", argv[1]);
        usage(stderr);
    }
    return 1;
}

int main(int argc, char **argv)
{
    fb_runtime_init(argc, argv);
    signal(SIGXFSZ, SIG_IGN);
    if (fb_dist_init(&argc, &argv) != FB_OK) {
        if (fb_dist_is_root())
            fprintf(stderr, "freqbias: %s\n", fb_error_message());
        fb_dist_finalize();
        return 1;
    }
    /* rank 0 alone prints results; errors (stderr) come from whichever rank has them */
    if (!fb_dist_is_root() && !freopen("/dev/null", "w", stdout))
        fb_dist_abort("start-up", "cannot silence stdout (/dev/null)", 2);
    int code = dispatch(argc, argv);
    fb_dist_finalize();
    return code;
}
