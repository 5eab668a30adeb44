/* report_stage.c — running, recording and skipping the stages of
 * `freqbias report` (see report_stage.h for the rules).
 *
 * A child runs with fork + exec: stdout and stderr go to OUT/stages/
 * <name>.log, and while it runs the new lines of that log are echoed to our
 * stderr, indented, so a long training stage shows its epochs. The child
 * asks the kernel to SIGKILL it when the report dies (PR_SET_PDEATHSIG):
 * a report killed with SIGKILL cannot pass anything on, and an orphaned
 * stage would go on writing into OUT while the rerun resumes it. The record
 * is written twice: "running" before the command starts (so an interrupted
 * run is recognised) and "done"/"failed" after, with the output hashes.
 *
 * With a launcher (report --launcher "mpirun -np 4") the subcommands that
 * shard across MPI ranks (train, test, sweep, gradspec, spectrum) run as
 * LAUNCHER freqbias ..., one MPI job each. The launcher is not part of the
 * recorded command: the ranks give one process's bits, so a record made on
 * one rank count matches a rerun on another.
 */
#include "report_stage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli_util.h"
#include "freqbias/json.h"
#include "freqbias/sha256.h"

extern char **environ;

/* ------------------------------------------------------------ building */

void stage_init(report_stage *stage, const char *name, const char *title)
{
    memset(stage, 0, sizeof *stage);
    snprintf(stage->name, sizeof stage->name, "%s", name);
    snprintf(stage->title, sizeof stage->title, "%s", title);
}

static void append(char list[][STAGE_PATH], int *count, int max, int *overflow, const char *format,
                   va_list args)
{
    if (*count >= max) {
        *overflow = 1;
        return;
    }
    if (vsnprintf(list[*count], STAGE_PATH, format, args) >= STAGE_PATH)
        *overflow = 1;
    (*count)++;
}

void stage_arg(report_stage *stage, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    append(stage->argv, &stage->argc, STAGE_MAX_ARGS - 4, &stage->overflow, format, args);
    va_end(args);
}

void stage_input(report_stage *stage, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    append(stage->inputs, &stage->input_count, STAGE_MAX_FILES, &stage->overflow, format, args);
    va_end(args);
}

void stage_output(report_stage *stage, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    append(stage->outputs, &stage->output_count, STAGE_MAX_FILES, &stage->overflow, format, args);
    va_end(args);
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void stage_input_dataset(report_stage *stage, const char *path)
{
    if (stage->dataset_count == 4) {
        stage->overflow = 1;
        return;
    }
    snprintf(stage->datasets[stage->dataset_count++], STAGE_PATH, "%s", path);
}

static fb_status expand_dataset(report_stage *stage, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        stage_input(stage, "%s", path); /* a file (missing ones are reported when hashed) */
        return FB_OK;
    }
    DIR *dir = opendir(path);
    if (!dir)
        return fb_error(FB_ERR_IO, "%s: cannot open folder: %s", path, strerror(errno));
    char *names[64];
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) && count < 64) {
        size_t len = strlen(entry->d_name);
        if (len > 4 && strcmp(entry->d_name + len - 4, ".bin") == 0)
            names[count++] = strdup(entry->d_name);
    }
    closedir(dir);
    qsort(names, (size_t)count, sizeof *names, compare_strings);
    for (int i = 0; i < count; i++) {
        if (names[i])
            stage_input(stage, "%s/%s", path, names[i]);
        free(names[i]);
    }
    if (count == 0)
        return fb_error(FB_ERR_IO, "%s: no .bin dataset files in this folder", path);
    return FB_OK;
}

/* ------------------------------------------------------------- hashing */

typedef struct hash_entry {
    char path[STAGE_PATH];
    off_t size;
    struct timespec mtime;
    char hex[65];
} hash_entry;

static hash_entry hash_cache[256];
static int hash_cache_count;

fb_status stage_file_sha256(const char *path, char hex[65])
{
    struct stat st;
    if (stat(path, &st) != 0)
        return fb_error(FB_ERR_IO, "%s: %s", path, strerror(errno));
    for (int i = 0; i < hash_cache_count; i++) {
        hash_entry *e = &hash_cache[i];
        if (strcmp(e->path, path) == 0 && e->size == st.st_size && e->mtime.tv_sec == st.st_mtim.tv_sec &&
            e->mtime.tv_nsec == st.st_mtim.tv_nsec) {
            memcpy(hex, e->hex, 65);
            return FB_OK;
        }
    }
    FB_TRY(fb_sha256_file(path, hex));
    hash_entry *e = &hash_cache[hash_cache_count < 256 ? hash_cache_count++ : 255];
    snprintf(e->path, sizeof e->path, "%s", path);
    e->size = st.st_size;
    e->mtime = st.st_mtim;
    memcpy(e->hex, hex, 65);
    return FB_OK;
}

/* ------------------------------------------------------------- records */

static void text_add_string(cli_text *t, const char *value)
{
    size_t need = fb_json_escape(value, NULL, 0) + 1;
    char *escaped = malloc(need);
    if (escaped) {
        fb_json_escape(value, escaped, need);
        cli_text_add(t, "%s", escaped);
        free(escaped);
    }
}

static void record_path(const stage_runner *runner, const report_stage *stage, char *path, size_t size)
{
    snprintf(path, size, "%s/stages/%s.json", runner->out_dir, stage->name);
}

static void add_files(cli_text *t, const char *key, const char files[][STAGE_PATH], char hashes[][65], int count)
{
    cli_text_add(t, "  \"%s\": [", key);
    for (int i = 0; i < count; i++) {
        cli_text_add(t, "%s\n    {\"path\": ", i ? "," : "");
        text_add_string(t, files[i]);
        cli_text_add(t, ", \"sha256\": \"%s\"}", hashes[i]);
    }
    cli_text_add(t, "%s],\n", count ? "\n  " : "");
}

static fb_status write_record(const stage_runner *runner, const report_stage *stage, const char *status,
                              char input_hashes[][65], char output_hashes[][65], int with_outputs,
                              int resumed)
{
    cli_text t = {0};
    cli_text_add(&t, "{\n  \"stage\": ");
    text_add_string(&t, stage->name);
    cli_text_add(&t, ",\n  \"title\": ");
    text_add_string(&t, stage->title);
    cli_text_add(&t, ",\n  \"status\": \"%s\",\n  \"in_process\": %s,\n  \"command\": [", status,
             stage->function ? "true" : "false");
    for (int i = 0; i < stage->argc; i++) {
        cli_text_add(&t, "%s", i ? ", " : "");
        text_add_string(&t, stage->argv[i]);
    }
    cli_text_add(&t, "],\n  \"threads\": %d,\n  \"resumed\": %s,\n  \"freqbias_sha256\": \"%s\",\n", runner->threads,
             resumed ? "true" : "false", runner->executable_sha256);
    add_files(&t, "inputs", stage->inputs, input_hashes, stage->input_count);
    add_files(&t, "outputs", stage->outputs, output_hashes, with_outputs ? stage->output_count : 0);
    char stamp[64];
    time_t now = time(NULL);
    struct tm utc;
    gmtime_r(&now, &utc);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &utc);
    cli_text_add(&t, "  \"log\": ");
    text_add_string(&t, stage->log_path);
    cli_text_add(&t, ",\n  \"exit_status\": %d,\n  \"wall_seconds\": %.3f,\n  \"written_at\": \"%s\"\n}\n",
             stage->exit_status, stage->wall_seconds, stamp);
    char path[STAGE_PATH + 64];
    record_path(runner, stage, path, sizeof path);
    fb_status status_code = cli_text_write(path, &t);
    cli_text_free(&t);
    return status_code;
}

/* A record holds at most STAGE_MAX_ARGS arguments and 2 × STAGE_MAX_FILES
 * files of STAGE_PATH bytes (~150 KB, ~300 values), so a bigger or busier
 * file is not one of ours: it is ignored like an unreadable one, after at
 * most 1 MiB and a bounded number of JSON nodes (README "Limits"). */
#define STAGE_RECORD_MAX_BYTES (1l << 20)
#define STAGE_RECORD_MAX_VALUES 4096

/* The record as a JSON tree, or NULL when there is none (or it is unreadable:
 * then the stage simply runs again). */
static fb_json *read_record(const stage_runner *runner, const report_stage *stage)
{
    char path[STAGE_PATH + 64];
    record_path(runner, stage, path, sizeof path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *data = NULL;
    size_t size = 0;
    if (fseek(f, 0, SEEK_END) == 0) {
        long end = ftell(f);
        if (end > 0 && end <= STAGE_RECORD_MAX_BYTES && fseek(f, 0, SEEK_SET) == 0) {
            data = malloc((size_t)end);
            size = data ? fread(data, 1, (size_t)end, f) : 0;
        }
    }
    fclose(f);
    fb_json *root = NULL;
    if (data && size)
        fb_json_parse_limited(data, size, STAGE_RECORD_MAX_VALUES, &root, NULL, 0);
    free(data);
    return root;
}

static int same_command(const fb_json *record, const report_stage *stage)
{
    const fb_json *command = fb_json_get(record, "command");
    if (fb_json_count(command) != (size_t)stage->argc)
        return 0;
    for (int i = 0; i < stage->argc; i++) {
        const char *arg = fb_json_string(fb_json_item(command, (size_t)i));
        if (!arg || strcmp(arg, stage->argv[i]) != 0)
            return 0;
    }
    return 1;
}

static int same_files(const fb_json *record, const char *key, const char files[][STAGE_PATH], char hashes[][65],
                      int count)
{
    const fb_json *list = fb_json_get(record, key);
    if (fb_json_count(list) != (size_t)count)
        return 0;
    for (int i = 0; i < count; i++) {
        const fb_json *item = fb_json_item(list, (size_t)i);
        const char *path = fb_json_string(fb_json_get(item, "path"));
        const char *hash = fb_json_string(fb_json_get(item, "sha256"));
        if (!path || !hash || strcmp(path, files[i]) != 0 || strcmp(hash, hashes[i]) != 0)
            return 0;
    }
    return 1;
}

/* Hashes of the outputs as they are now; 0 if any is missing. */
static int hash_outputs(const report_stage *stage, char hashes[][65])
{
    for (int i = 0; i < stage->output_count; i++)
        if (access(stage->outputs[i], F_OK) != 0 || stage_file_sha256(stage->outputs[i], hashes[i]) != FB_OK)
            return 0;
    return 1;
}

/* -------------------------------------------------------------- running */

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int needs_quotes(const char *arg)
{
    if (!*arg)
        return 1;
    for (const char *p = arg; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./,=:+-", *p))
            return 1;
    return 0;
}

static void add_quoted(char *out, size_t size, const char *arg)
{
    size_t used = strlen(out);
    if (!needs_quotes(arg)) {
        snprintf(out + used, size - used, " %s", arg);
        return;
    }
    snprintf(out + used, size - used, " '");
    for (const char *p = arg; *p; p++) {
        used = strlen(out);
        snprintf(out + used, size - used, *p == '\'' ? "'\\''" : "%c", *p);
    }
    used = strlen(out);
    snprintf(out + used, size - used, "'");
}

void stage_command_line(const report_stage *stage, int threads, char *out, size_t size)
{
    snprintf(out, size, "freqbias");
    for (int i = 0; i < stage->argc; i++)
        add_quoted(out, size, stage->argv[i]);
    if (threads > 0 && !stage->function) {
        size_t used = strlen(out);
        snprintf(out + used, size - used, " --threads %d", threads);
    }
}

/* Echoes the complete new lines of the log, indented. */
static void echo_log(FILE *log, char *pending, size_t *pending_used, size_t capacity, int flush)
{
    if (!log)
        return;
    for (;;) {
        size_t n = fread(pending + *pending_used, 1, capacity - 1 - *pending_used, log);
        *pending_used += n;
        pending[*pending_used] = '\0';
        char *start = pending, *newline;
        while ((newline = strpbrk(start, "\n\r"))) {
            *newline = '\0';
            if (*start)
                fprintf(stderr, "      %s\n", start);
            start = newline + 1;
        }
        size_t rest = strlen(start);
        if (rest == capacity - 1 || (flush && rest)) { /* an endless line, or the end */
            fprintf(stderr, "      %s\n", start);
            rest = 0;
        }
        memmove(pending, start, rest + 1);
        *pending_used = rest;
        if (n == 0)
            break;
    }
    clearerr(log);
}

/* Prints the last lines of the log (what the failure said). */
static void print_log_tail(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    char tail[4096];
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    long from = size > (long)sizeof tail - 1 ? size - (long)sizeof tail + 1 : 0;
    fseek(f, from, SEEK_SET);
    size_t n = fread(tail, 1, sizeof tail - 1, f);
    fclose(f);
    tail[n] = '\0';
    int lines = 0;
    char *p = tail + n;
    while (p > tail && lines < 12)
        if (*--p == '\n' && p + 1 < tail + n)
            lines++;
    fprintf(stderr, "  last lines of %s:\n%s%s", path, p == tail ? "" : "  ...", p);
    if (n && tail[n - 1] != '\n')
        fprintf(stderr, "\n");
}

static int log_mentions(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    char line[2048];
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

/* The child being waited for: SIGINT/SIGTERM/SIGHUP sent to the report
 * alone (not to its process group, as Ctrl-C does) are passed on to it, so
 * `kill <report pid>` never leaves an orphaned training running; then the
 * report dies of the same signal, its stage record still saying "running"
 * (the next run resumes or reruns that stage). */
static volatile sig_atomic_t running_child;

static void forward_signal(int signal_number)
{
    if (running_child > 0)
        kill((pid_t)running_child, signal_number);
    signal(signal_number, SIG_DFL);
    raise(signal_number);
}

/* Runs argv (NULL-terminated) with output to the log; returns the exit
 * code, 128 + signal when killed, 127 when the child could not open its
 * log or exec, or -1 when it could not be forked. */
static int spawn_and_wait(const char *program, char **argv, const char *log_path, int append_log)
{
    pid_t report = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        fb_error(FB_ERR_IO, "%s: cannot start: %s", program, strerror(errno));
        return -1;
    }
    if (pid == 0) {
        /* the child, until exec: system calls only. Die with the report
         * (and check it has not died already, before the request). */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != report)
            _exit(127);
        int fd = open(log_path, O_WRONLY | O_CREAT | (append_log ? O_APPEND : O_TRUNC), 0644);
        if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(127);
        if (fd > 2)
            close(fd);
        execve(program, argv, environ);
        _exit(127);
    }
    running_child = pid;
    struct sigaction forward = {0}, previous[3];
    static const int signals[3] = {SIGINT, SIGTERM, SIGHUP};
    forward.sa_handler = forward_signal;
    sigemptyset(&forward.sa_mask);
    for (int i = 0; i < 3; i++)
        sigaction(signals[i], &forward, &previous[i]);
    FILE *log = NULL;
    char pending[4096];
    size_t pending_used = 0;
    long pause_ns = 10000000; /* 10 ms, growing to 250 ms: short stages stay short */
    int status = 0;
    for (;;) {
        pid_t done = waitpid(pid, &status, WNOHANG);
        if (!log) {
            log = fopen(log_path, "rb");
            if (log && append_log)
                fseek(log, 0, SEEK_END);
        }
        echo_log(log, pending, &pending_used, sizeof pending, done == pid);
        if (done == pid)
            break;
        if (done < 0 && errno != EINTR) {
            status = -1;
            break;
        }
        nanosleep(&(struct timespec){0, pause_ns}, NULL);
        if (pause_ns < 250000000)
            pause_ns += pause_ns / 2;
    }
    running_child = 0;
    for (int i = 0; i < 3; i++)
        sigaction(signals[i], &previous[i], NULL);
    if (log)
        fclose(log);
    if (status == -1)
        return -1;
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

fb_status stage_runner_init(stage_runner *runner, const char *out_dir, int threads)
{
    memset(runner, 0, sizeof *runner);
    snprintf(runner->out_dir, sizeof runner->out_dir, "%s", out_dir);
    runner->threads = threads;
    ssize_t n = readlink("/proc/self/exe", runner->executable, sizeof runner->executable - 1);
    if (n <= 0)
        return fb_error(FB_ERR_IO, "/proc/self/exe: cannot find this program to run its stages: %s",
                        strerror(errno));
    runner->executable[n] = '\0';
    FB_TRY(stage_file_sha256(runner->executable, runner->executable_sha256));
    char path[STAGE_PATH + 16];
    snprintf(path, sizeof path, "%s/stages", out_dir);
    return cli_make_dirs(path);
}

fb_status stage_runner_set_launcher(stage_runner *runner, const char *line)
{
    runner->launcher_count = 0;
    for (const char *at = line; *at;) {
        size_t length = strcspn(at, " ");
        if (length > 0) {
            if (runner->launcher_count == STAGE_LAUNCHER_WORDS || length >= STAGE_LAUNCHER_WORD)
                return fb_error(FB_ERR_USAGE, "--launcher '%s': more than %d words or a word of %d "
                                "characters or more", line, STAGE_LAUNCHER_WORDS, STAGE_LAUNCHER_WORD);
            snprintf(runner->launcher[runner->launcher_count++], STAGE_LAUNCHER_WORD, "%.*s", (int)length, at);
        }
        at += length + (at[length] == ' ');
    }
    if (runner->launcher_count == 0)
        return fb_error(FB_ERR_USAGE, "--launcher is empty");
    const char *program = runner->launcher[0];
    if (strchr(program, '/')) {
        snprintf(runner->launcher_path, sizeof runner->launcher_path, "%s", program);
        if (access(program, X_OK) == 0)
            return FB_OK;
        return fb_error(FB_ERR_USAGE, "--launcher: %s is not an executable file", program);
    }
    const char *path = getenv("PATH");
    for (const char *dir = path ? path : ""; *dir;) {
        size_t length = strcspn(dir, ":");
        snprintf(runner->launcher_path, sizeof runner->launcher_path, "%.*s/%s", (int)length, dir, program);
        if (length > 0 && access(runner->launcher_path, X_OK) == 0)
            return FB_OK;
        dir += length + (dir[length] == ':');
    }
    return fb_error(FB_ERR_USAGE, "--launcher: '%s' is not on PATH (install Open MPI: make deps MPI=1)",
                    program);
}

/* The subcommands that run as one MPI job across the launcher's ranks. */
static int sharded_command(const char *subcommand)
{
    static const char *const sharded[] = {"train", "test", "sweep", "gradspec", "spectrum"};
    for (size_t i = 0; i < sizeof sharded / sizeof *sharded; i++)
        if (strcmp(subcommand, sharded[i]) == 0)
            return 1;
    return 0;
}

const char *stage_action_name(stage_action action)
{
    switch (action) {
    case STAGE_SKIPPED: return "skipped (record matches)";
    case STAGE_RAN: return "ran";
    case STAGE_RESUMED: return "resumed";
    case STAGE_FAILED: return "failed";
    default: return "not run";
    }
}

static fb_status failure_status(int code)
{
    return code == 1 ? FB_ERR_USAGE : code == 3 ? FB_ERR_NUMERIC : FB_ERR_IO;
}

fb_status stage_run(report_stage *stage, stage_runner *runner)
{
    if (stage->overflow)
        return fb_error(FB_ERR_USAGE, "stage %s: too many or too long arguments or files", stage->name);
    static char input_hashes[STAGE_MAX_FILES][65], output_hashes[STAGE_MAX_FILES][65];
    for (int i = 0; i < stage->dataset_count; i++)
        FB_TRY(expand_dataset(stage, stage->datasets[i]));
    stage->dataset_count = 0;
    if (stage->overflow)
        return fb_error(FB_ERR_USAGE, "stage %s: too many input files", stage->name);
    for (int i = 0; i < stage->input_count; i++)
        if (stage_file_sha256(stage->inputs[i], input_hashes[i]) != FB_OK)
            return fb_error(FB_ERR_IO, "stage %s: input %s is missing or unreadable (%s)", stage->name,
                            stage->inputs[i], fb_error_message());
    if (!stage->function)
        snprintf(stage->log_path, sizeof stage->log_path, "%s/stages/%s.log", runner->out_dir, stage->name);

    fb_json *record = read_record(runner, stage);
    const char *status = fb_json_string(fb_json_get(record, "status"));
    int matches = record && same_command(record, stage) &&
                  same_files(record, "inputs", stage->inputs, input_hashes, stage->input_count);
    char command[8 * STAGE_PATH];
    stage_command_line(stage, runner->threads, command, sizeof command);
    if (matches && status && strcmp(status, "done") == 0 && hash_outputs(stage, output_hashes) &&
        same_files(record, "outputs", stage->outputs, output_hashes, stage->output_count)) {
        stage->action = STAGE_SKIPPED;
        stage->wall_seconds = fb_json_number(fb_json_get(record, "wall_seconds"));
        const char *build = fb_json_string(fb_json_get(record, "freqbias_sha256"));
        stage->other_build = !build || strcmp(build, runner->executable_sha256) != 0;
        fb_json_free(record);
        fprintf(stderr, "[%2d/%d] %-18s skipped: finished before with the same inputs (%.1f s then)%s\n",
                runner->index, runner->total, stage->name, stage->wall_seconds,
                stage->other_build ? " by another build of freqbias" : "");
        return FB_OK;
    }
    char state[STAGE_PATH + 32];
    snprintf(state, sizeof state, "%s/state.safetensors", stage->resume_dir);
    int resume = matches && status && strcmp(status, "running") == 0 && stage->resume_dir[0] &&
                 access(state, F_OK) == 0;
    double earlier = resume ? fb_json_number(fb_json_get(record, "wall_seconds")) : 0.0;
    fb_json_free(record);

    fprintf(stderr, "[%2d/%d] %-18s %s: %s\n", runner->index, runner->total, stage->name,
            resume ? "resuming an interrupted run" : "running", stage->function ? stage->title : command);
    FB_TRY(write_record(runner, stage, "running", input_hashes, NULL, 0, resume));
    double start = now_seconds();
    int code;
    if (stage->function) {
        fb_status result = stage->function(stage, stage->context);
        code = result == FB_OK ? 0 : fb_status_exit_code(result);
        if (result != FB_OK)
            fprintf(stderr, "freqbias report: stage %s: %s\n", stage->name, fb_error_message());
    } else {
        char *argv[STAGE_LAUNCHER_WORDS + STAGE_MAX_ARGS + 4], threads[16];
        int n = 0;
        const char *subcommand = resume ? "train" : stage->argc > 0 ? stage->argv[0] : "";
        int launched = runner->launcher_count > 0 && sharded_command(subcommand);
        for (int i = 0; launched && i < runner->launcher_count; i++)
            argv[n++] = runner->launcher[i];
        argv[n++] = runner->executable;
        if (resume) {
            argv[n++] = "train";
            argv[n++] = "--resume";
            argv[n++] = stage->resume_dir;
        } else {
            for (int i = 0; i < stage->argc; i++)
                argv[n++] = stage->argv[i];
        }
        if (runner->threads > 0) {
            snprintf(threads, sizeof threads, "%d", runner->threads);
            argv[n++] = "--threads";
            argv[n++] = threads;
        }
        argv[n] = NULL;
        code = spawn_and_wait(launched ? runner->launcher_path : runner->executable, argv, stage->log_path,
                              resume);
    }
    stage->wall_seconds = earlier + (now_seconds() - start);
    stage->exit_status = code;
    if (code != 0) {
        stage->action = STAGE_FAILED;
        write_record(runner, stage, "failed", input_hashes, NULL, 0, resume);
        if (code < 0)
            return fb_error(FB_ERR_IO, "stage %s: %s", stage->name, fb_error_message());
        if (stage->function)
            return fb_error(failure_status(code), "stage %s failed (%s)", stage->name, stage->title);
        print_log_tail(stage->log_path);
        if (log_mentions(stage->log_path, "unknown command"))
            return fb_error(FB_ERR_USAGE, "stage %s: this build of freqbias has no '%s' command "
                            "(needed for: %s); command was: %s", stage->name, stage->argv[0], stage->title,
                            command);
        return fb_error(failure_status(code), "stage %s failed with exit status %d%s; command: %s; log: %s",
                        stage->name, code, code > 128 ? " (killed by a signal)" : "", command, stage->log_path);
    }
    for (int i = 0; i < stage->output_count; i++)
        if (stage_file_sha256(stage->outputs[i], output_hashes[i]) != FB_OK) {
            stage->action = STAGE_FAILED;
            write_record(runner, stage, "failed", input_hashes, NULL, 0, resume);
            return fb_error(FB_ERR_IO, "stage %s finished but did not write %s (command: %s)", stage->name,
                            stage->outputs[i], command);
        }
    stage->action = resume ? STAGE_RESUMED : STAGE_RAN;
    FB_TRY(write_record(runner, stage, "done", input_hashes, output_hashes, 1, resume));
    fprintf(stderr, "[%2d/%d] %-18s done in %.1f s\n", runner->index, runner->total, stage->name,
            stage->wall_seconds);
    return FB_OK;
}
