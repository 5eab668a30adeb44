/* report_stage.h — one step of `freqbias report`, run at most once per
 * set of inputs, with a record that proves what produced its outputs.
 *
 * A stage is either a freqbias subcommand with an explicit command line,
 * run as a child process of the same binary (/proc/self/exe) with its
 * output in OUT/stages/<name>.log, or a small in-process step (taking data
 * subsets, packing files). Either way it names its input files and its key
 * output files, and OUT/stages/<name>.json records
 *
 *     command       the argument list (without --threads, which never
 *                   changes a result: every op is thread-count independent)
 *     inputs        each input file with its SHA-256
 *     outputs       each key output file with its SHA-256
 *     status        "running" (written before the command starts), "done"
 *                   or "failed"
 *     exit_status, wall_seconds, threads, resumed, written_at, and the
 *     SHA-256 of the freqbias binary that ran it
 *
 * On a rerun a stage is skipped when its record says done, for the same
 * command and the same input hashes, and every output is still there with
 * the recorded hash. (A record made by another build of freqbias still
 * counts, so a rebuild does not throw away hours of training; the report
 * flags such stages. Delete OUT/stages/<name>.json to force a rerun.)
 * A stage whose record still says "running" was
 * interrupted: a training stage (resume_dir set, state.safetensors present)
 * continues with `freqbias train --resume`, which gives the same bytes as
 * an uninterrupted run; any other stage runs again from the start.
 * Everything is written atomically, so a crash leaves either the old or the
 * new record.
 */
#ifndef FREQBIAS_CLI_REPORT_STAGE_H
#define FREQBIAS_CLI_REPORT_STAGE_H

#include <stddef.h>

#include "freqbias/error.h"

#define STAGE_MAX_ARGS 64
#define STAGE_MAX_FILES 24
#define STAGE_PATH 1024
#define STAGE_LAUNCHER_WORDS 16
#define STAGE_LAUNCHER_WORD 256

struct report_stage;
/* An in-process stage: does its work and returns a status (message set). */
typedef fb_status (*stage_function)(const struct report_stage *stage, void *context);

typedef enum stage_action {
    STAGE_NOT_RUN = 0, /* a stage before it never finished */
    STAGE_SKIPPED,     /* the record matched                */
    STAGE_RAN,
    STAGE_RESUMED,
    STAGE_FAILED
} stage_action;

typedef struct report_stage {
    char name[48];
    char title[160];                     /* what it does, for the report      */
    int argc;
    char argv[STAGE_MAX_ARGS][STAGE_PATH]; /* subcommand and options          */
    stage_function function;             /* in-process instead of a command   */
    void *context;
    char resume_dir[STAGE_PATH];         /* a train --out folder, or ""       */
    int input_count, output_count;
    char inputs[STAGE_MAX_FILES][STAGE_PATH];
    char outputs[STAGE_MAX_FILES][STAGE_PATH];
    int dataset_count;                   /* dataset paths, expanded to input  */
    char datasets[4][STAGE_PATH];        /* files when the stage starts       */
    int overflow;                        /* too many arguments or files       */
    int group;                           /* report_group_names index (0 = data) */
    /* filled in by stage_run */
    stage_action action;
    double wall_seconds;                 /* of the run that made the outputs  */
    int exit_status;
    int other_build;                     /* skipped, but made by another build */
    char log_path[STAGE_PATH + 128];
} report_stage;

/* What every stage shares. */
typedef struct stage_runner {
    char out_dir[STAGE_PATH];    /* the report folder                          */
    char executable[STAGE_PATH]; /* this binary                                */
    char executable_sha256[65];  /* recorded; a mismatch is reported, not rerun */
    int threads;                 /* > 0: --threads T is added to each command  */
    /* --launcher: the words put before the sharded commands (train, test,
     * sweep, gradspec, spectrum), e.g. {"mpirun", "-np", "4"} or {"srun"};
     * launcher_path is the first word found on PATH. None: launcher_count 0. */
    int launcher_count;
    char launcher[STAGE_LAUNCHER_WORDS][STAGE_LAUNCHER_WORD];
    char launcher_path[STAGE_PATH];
    int index, total;            /* for the progress lines                     */
} stage_runner;

/* Empties stage and sets its name and title. */
void stage_init(report_stage *stage, const char *name, const char *title);
/* Appends one argument / input file / output file (printf-style). */
void stage_arg(report_stage *stage, const char *format, ...) __attribute__((format(printf, 2, 3)));
void stage_input(report_stage *stage, const char *format, ...) __attribute__((format(printf, 2, 3)));
void stage_output(report_stage *stage, const char *format, ...) __attribute__((format(printf, 2, 3)));
/* A dataset path as inputs: a file, or every *.bin file of a folder, listed
 * when the stage starts (an earlier stage may still have to write it). */
void stage_input_dataset(report_stage *stage, const char *path);

/* Finds this binary (/proc/self/exe) and creates OUT/stages. */
fb_status stage_runner_init(stage_runner *runner, const char *out_dir, int threads);
/* Sets the launcher from one line of words separated by spaces ("mpirun
 * -np 4"): the sharded stages then run as LAUNCHER freqbias ..., one MPI
 * job each, while the report itself stays one process. The first word is
 * looked up on PATH now, so a missing launcher fails before any stage. */
fb_status stage_runner_set_launcher(stage_runner *runner, const char *line);

/* Skips, resumes or runs the stage as described above. A failing command
 * gives FB_ERR_USAGE, FB_ERR_IO or FB_ERR_NUMERIC for its exit code 1, 2 or
 * 3, with a message naming the stage, the command, the log and its last
 * lines (and saying so when this build lacks the subcommand). */
fb_status stage_run(report_stage *stage, stage_runner *runner);

/* The command as one shell-quoted line, "freqbias <argv...>" (with
 * " --threads T" when threads > 0). */
void stage_command_line(const report_stage *stage, int threads, char *out, size_t size);

/* SHA-256 of a file (cached by path, size and modification time). */
fb_status stage_file_sha256(const char *path, char hex[65]);

const char *stage_action_name(stage_action action);

#endif
