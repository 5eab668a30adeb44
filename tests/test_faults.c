/* test_faults.c — what freqbias leaves behind when the machine fails it:
 * a full disk, a read-only output folder, and a SIGKILL of `report`.
 *
 * The promise under test (DESIGN.md "Files we read and write"): every file
 * is written to a temporary name, fsynced and renamed over its final name,
 * so a reader sees the old file or the complete new one. A failed write is
 * a clear error naming the file and the reason (strerror), exit code 2, and
 * the files of the previous run are left as they were.
 *
 * The faults, each on `train` (resuming a 1-epoch run to 2 epochs),
 * `filter`, `hars`, `cdes-generate` and `report` (rerun on a finished
 * report: every stage is skipped, the figures and documents are rewritten):
 *  - full disk, by RLIMIT_FSIZE: set in the child before exec, with SIGXFSZ
 *    ignored, so a write past the limit returns EFBIG ("File too large")
 *    instead of killing the process. Works for any user;
 *  - full disk, for real: the output folders live on a small tmpfs (mounted
 *    in a private mount namespace, so nothing outlives the test), filled up
 *    by a filler file that leaves a few KB free: ENOSPC. Needs root;
 *  - read-only output folder: a read-only bind mount of the folder (root
 *    ignores permission bits, so chmod would test nothing), or chmod 0555
 *    when not root: EROFS or EACCES.
 * After each fault: exit code 2; the message names a path inside the output
 * folder and gives the system's reason; every file that was there is
 * byte-identical (except the listed records a failed run rewrites, which
 * must still be complete); no new file is truncated (each is parsed by its
 * type: .npy, .safetensors, CIFAR .bin sizes, PNG IEND, text ends in a
 * newline) and no temporary file is left. Then the same command without
 * the fault succeeds and gives the bytes of an undisturbed run.
 *
 * SIGKILL: `report --preset tiny` is killed once in every kind of stage
 * (data, training between epochs, sweep, spectrum, HARS build, CDES kernels,
 * CDES generation, the figures), each kill when the stage's record appears
 * (plus a delay), each rerun continuing from the last; the final tree's
 * arrays (.npy), tables (.csv without the wall-time columns), datasets
 * (.bin) and checkpoints (.safetensors except state.safetensors, whose
 * metadata holds the training wall time) equal an uninterrupted run's.
 */
#define _GNU_SOURCE /* unshare(CLONE_NEWNS) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "freqbias/json.h"
#include "freqbias/npy.h"
#include "freqbias/safetensors.h"
#include "testutil.h"

#define RECORD 3073
#define DISK_MB 96 /* the tmpfs: a finished tiny report (~18 MB) and the other outputs fit */

static char binary[1024];
static char records[1200];   /* ref_data/cifar10_test512.bin: 512 real CIFAR-10 test records */
static char data_dir[1200];  /* an official-layout CIFAR-10 folder made from them          */
static char disk[1200];      /* the output folders: a tmpfs when mounts are allowed         */
static int disk_is_tmpfs, can_bind_read_only;
static char no_mount_reason[256];

static const char *at(const char *folder, const char *name)
{
    static char path[8][1600];
    static int next;
    char *p = path[next++ % 8];
    snprintf(p, 1600, "%s/%s", folder, name);
    return p;
}

/* ------------------------------------------------------------- running */

/* Runs freqbias with args (NULL-terminated, without the program) and its
 * output to log. fsize_limit > 0: RLIMIT_FSIZE in the child, SIGXFSZ
 * ignored (both survive exec, and pass on to the report's stages). With
 * kill_when: SIGKILL `delay` seconds after that file appears. Returns the
 * exit code, 128 + signal when killed. */
static int run_cli(const char *log, long fsize_limit, const char *kill_when, double delay,
                   const char *const *args)
{
    const char *argv[64] = {binary};
    int n = 1;
    for (; args[n - 1] && n < 63; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(126);
        if (fsize_limit > 0) {
            struct rlimit limit = {(rlim_t)fsize_limit, (rlim_t)fsize_limit};
            signal(SIGXFSZ, SIG_IGN);
            if (setrlimit(RLIMIT_FSIZE, &limit) != 0)
                _exit(126);
        }
        execv(binary, (char *const *)argv);
        _exit(127);
    }
    int status;
    if (kill_when) {
        struct stat st;
        while (stat(kill_when, &st) != 0) {
            if (waitpid(pid, &status, WNOHANG) == pid)
                return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
            nanosleep(&(struct timespec){0, 10000000}, NULL);
        }
        nanosleep(&(struct timespec){(time_t)delay, (long)((delay - (time_t)delay) * 1e9)}, NULL);
        kill(pid, SIGKILL);
    }
    waitpid(pid, &status, 0);
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void run_ok(const char *what, const char *const *args)
{
    const char *log = at(work_dir, "ok.log");
    int code = run_cli(log, 0, NULL, 0.0, args);
    if (code != 0) {
        fprintf(stderr, "%s: exit %d\n", what, code);
        print_log(log);
    }
    assert_int_equal(code, 0);
}

/* ----------------------------------------------------------- snapshots */

/* Every regular file under a folder (relative path and bytes). */
typedef struct snapshot {
    int count;
    char *path[1024];
    char *data[1024];
    size_t size[1024];
} snapshot;

static void snapshot_walk(snapshot *s, const char *root, const char *relative)
{
    char folder[1400];
    snprintf(folder, sizeof folder, "%s%s%s", root, relative[0] ? "/" : "", relative);
    DIR *dir = opendir(folder);
    assert_non_null(dir);
    struct dirent *entry;
    while ((entry = readdir(dir))) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        char name[1400], full[2900];
        snprintf(name, sizeof name, "%s%s%s", relative, relative[0] ? "/" : "", entry->d_name);
        snprintf(full, sizeof full, "%s/%s", root, name);
        struct stat st;
        assert_int_equal(lstat(full, &st), 0);
        if (S_ISDIR(st.st_mode)) {
            snapshot_walk(s, root, name);
        } else if (S_ISREG(st.st_mode)) {
            assert_true(s->count < 1024);
            s->path[s->count] = strdup(name);
            s->data[s->count] = read_file(full, &s->size[s->count]);
            assert_non_null(s->data[s->count]);
            s->count++;
        }
    }
    closedir(dir);
}

static snapshot *snapshot_take(const char *root)
{
    snapshot *s = calloc(1, sizeof *s);
    assert_non_null(s);
    snapshot_walk(s, root, "");
    return s;
}

static void snapshot_free(snapshot *s)
{
    for (int i = 0; i < s->count; i++) {
        free(s->path[i]);
        free(s->data[i]);
    }
    free(s);
}

static int snapshot_find(const snapshot *s, const char *path)
{
    for (int i = 0; i < s->count; i++)
        if (strcmp(s->path[i], path) == 0)
            return i;
    return -1;
}

static int ends_with(const char *text, const char *end)
{
    size_t a = strlen(text), b = strlen(end);
    return a >= b && strcmp(text + a - b, end) == 0;
}

/* Whether a file is whole, judged by its type; prints why not. */
static int file_complete(const char *path, const char *data, size_t size)
{
    int ok = 1;
    if (ends_with(path, ".npy")) {
        fb_npy_array array;
        ok = fb_npy_read(path, &array) == FB_OK;
        if (ok)
            fb_npy_free(&array);
    } else if (ends_with(path, ".safetensors")) {
        fb_st_file file;
        ok = fb_st_read(path, &file) == FB_OK;
        if (ok)
            fb_st_free(&file);
    } else if (ends_with(path, ".bin")) {
        ok = size > 0 && size % RECORD == 0;
    } else if (ends_with(path, ".png")) {
        ok = size > 20 && memcmp(data, "\x89PNG\r\n\x1a\n", 8) == 0 && memcmp(data + size - 8, "IEND", 4) == 0;
    } else if (ends_with(path, ".json")) {
        fb_json *root = NULL;
        ok = fb_json_parse(data, size, &root, NULL, 0) == FB_OK;
        fb_json_free(root);
    } else if (ends_with(path, ".csv") || ends_with(path, ".md") || ends_with(path, ".txt") ||
               ends_with(path, ".html")) {
        ok = size > 0 && data[size - 1] == '\n';
    }
    if (!ok)
        printf("  incomplete file under its final name: %s (%zu bytes)\n", path, size);
    return ok;
}

static int listed(const char *path, const char *const *names)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    for (int i = 0; names && names[i]; i++)
        if (strcmp(base, names[i]) == 0)
            return 1;
    return 0;
}

/* The folder after a failed run against its snapshot before: files named
 * in may_change (a run record) complete, every other one byte-identical;
 * new files complete; no temporary file left. Prints one summary line. */
static void expect_intact(const char *label_text, const snapshot *before, const char *root,
                          const char *const *may_change)
{
    snapshot *after = snapshot_take(root);
    int same = 0, changed = 0, added = 0, bad = 0;
    for (int i = 0; i < before->count; i++) {
        int j = snapshot_find(after, before->path[i]);
        if (j < 0) {
            printf("  %s: %s disappeared\n", label_text, before->path[i]);
            bad++;
        } else if (after->size[j] == before->size[i] && memcmp(after->data[j], before->data[i], after->size[j]) == 0) {
            same++;
        } else if (listed(before->path[i], may_change) &&
                   file_complete(at(root, after->path[j]), after->data[j], after->size[j])) {
            changed++;
        } else {
            printf("  %s: %s changed (%zu -> %zu bytes)\n", label_text, before->path[i], before->size[i],
                   after->size[j]);
            bad++;
        }
    }
    for (int j = 0; j < after->count; j++) {
        if (snapshot_find(before, after->path[j]) >= 0)
            continue;
        if (strstr(after->path[j], ".tmp.")) {
            printf("  %s: temporary file left: %s\n", label_text, after->path[j]);
            bad++;
        } else if (!file_complete(at(root, after->path[j]), after->data[j], after->size[j])) {
            bad++;
        } else {
            added++;
        }
    }
    printf("[%s] %d files byte-identical, %d records rewritten (complete), %d new (complete), %d bad %s\n",
           label_text, same, changed, added, bad, bad ? "FAIL" : "ok");
    snapshot_free(after);
    assert_int_equal(bad, 0);
}

/* ------------------------------------------------------------- faults */

typedef enum fault_kind { FAULT_FSIZE, FAULT_DISK_FULL, FAULT_READ_ONLY } fault_kind;

/* Fills the tmpfs until ENOSPC, then gives back `room` bytes. */
static void fill_disk(long room)
{
    int fd = open(at(disk, "filler"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    static char block[1 << 16];
    memset(block, 0xA5, sizeof block);
    off_t written = 0;
    for (;;) {
        ssize_t n = write(fd, block, sizeof block);
        if (n <= 0)
            break;
        written += n;
    }
    assert_int_equal(errno, ENOSPC);
    assert_int_equal(ftruncate(fd, written > room ? written - room : 0), 0);
    close(fd);
}

static void chmod_folders(const char *folder, mode_t mode)
{
    DIR *dir = opendir(folder);
    assert_non_null(dir);
    struct dirent *entry;
    while ((entry = readdir(dir))) {
        struct stat st;
        const char *path = at(folder, entry->d_name);
        if (entry->d_name[0] != '.' && lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            char sub[1400];
            snprintf(sub, sizeof sub, "%s", path);
            chmod_folders(sub, mode);
        }
    }
    closedir(dir);
    assert_int_equal(chmod(folder, mode), 0);
}

static void set_read_only(const char *folder, int on)
{
    if (can_bind_read_only) {
        if (on) {
            assert_int_equal(mount(folder, folder, NULL, MS_BIND | MS_REC, NULL), 0);
            assert_int_equal(mount(NULL, folder, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL), 0);
        } else {
            assert_int_equal(umount2(folder, 0), 0);
        }
    } else { /* not root: permission bits do the job, on every folder of the tree */
        chmod_folders(folder, on ? 0555 : 0755);
    }
}

/* Runs args under the fault with `folder` as its output folder: exit 2, a
 * message naming a file in the folder with the system's reason, and the
 * folder intact (except may_change, complete). */
static void expect_fault(const char *what, fault_kind kind, long room, const char *folder,
                         const char *const *args, const char *const *may_change)
{
    static const char *kind_name[] = {"RLIMIT_FSIZE", "full tmpfs", "read-only folder"};
    snapshot *before = snapshot_take(folder);
    if (kind == FAULT_DISK_FULL)
        fill_disk(room);
    if (kind == FAULT_READ_ONLY)
        set_read_only(folder, 1);
    char log[1400]; /* its own copy: set_read_only below uses at()'s buffers */
    snprintf(log, sizeof log, "%s/fault.log", work_dir);
    int code = run_cli(log, kind == FAULT_FSIZE ? room : 0, NULL, 0.0, args);
    if (kind == FAULT_DISK_FULL)
        assert_int_equal(unlink(at(disk, "filler")), 0);
    if (kind == FAULT_READ_ONLY)
        set_read_only(folder, 0);
    size_t size;
    char *text = read_file(log, &size);
    assert_non_null(text);
    const char *reasons[] = {strerror(EFBIG), strerror(ENOSPC), strerror(EROFS), strerror(EACCES)};
    const char *reason = NULL;
    for (int i = 0; i < 4 && !reason; i++)
        if (strstr(text, reasons[i]))
            reason = reasons[i];
    char *names_folder = strstr(text, folder);
    char *last_line = text; /* the last line is the error */
    for (char *p = text; p + 1 < text + size; p++)
        if (*p == '\n')
            last_line = p + 1;
    printf("[%s, %s] exit %d, message: %s%s", what, kind_name[kind], code, last_line,
           size && text[size - 1] == '\n' ? "" : "\n");
    if (code != 2 || !reason || !names_folder)
        print_log(log);
    assert_int_equal(code, 2);
    assert_non_null(reason);       /* the system's reason ...         */
    assert_non_null(names_folder); /* ... for a file in the folder     */
    free(text);
    char label_text[160];
    snprintf(label_text, sizeof label_text, "%s, %s: folder intact", what, kind_name[kind]);
    expect_intact(label_text, before, folder, may_change);
    snapshot_free(before);
}

/* ---------------------------------------------------- the five commands */

static char train_dir[1300], train_ref[1300], filter_dir[1300], hars_dir[1300], cdes_dir[1300],
    report_dir[1300], report_ref[1300], kernels[1400], filter_out[1400];

static const char *const train_records[] = {"run.json", "gradspec_mean.npy", "gradspec_std.npy", "gradspec.csv",
                                            "gradspec.png", NULL};
static const char *const report_records[] = {"summary.json", NULL};

#define TRAIN_ARGS "--train-data", records, "--test-data", records, "--subset", "64", "--width", "4", "--batch", \
                   "32", "--gradspec", "8", "--threads", "1"

/* Each command under one fault, with a room that lets the small records be
 * written but not the first checkpoint / dataset / figure. */
static void all_commands_under(fault_kind kind)
{
    /* train: resuming the 1-epoch run to 2 epochs fails at the epoch-1 checkpoint (191 KB) */
    expect_fault("train", kind, 100000, train_dir, ARGS("train", "--resume", train_dir, "--epochs", "2",
                                                         "--threads", "1"), train_records);
    /* filter: 512 records = 1.5 MB */
    expect_fault("filter", kind, 100000, filter_dir,
                 ARGS("filter", "--input", records, "--freq", "low", "--r", "8", "--out", filter_out,
                      "--threads", "1"), NULL);
    /* hars: 512 records */
    expect_fault("hars", kind, 100000, hars_dir,
                 ARGS("hars", "--input", records, "--r", "12", "--out", hars_dir, "--threads", "1"), NULL);
    /* cdes-generate: 16 + 16 records (49 KB each), the sample sheet 100 KB */
    expect_fault("cdes-generate", kind, 20000, cdes_dir,
                 ARGS("cdes-generate", "--kernels", kernels, "--mode", "wcr", "--data", data_dir, "--subset", "16",
                      "--test-subset", "16", "--out", cdes_dir, "--threads", "1"), NULL);
    /* report on a finished tiny report: stages skipped, figures and report.html (MBs) rewritten */
    expect_fault("report", kind, 60000, report_dir,
                 ARGS("report", "--data", data_dir, "--preset", "tiny", "--out", report_dir, "--threads", "1"),
                 report_records);
}

/* ----------------------------------------------------- the SIGKILL loop */

static int csv_time_column(const char *name)
{
    return strcmp(name, "seconds") == 0 || strcmp(name, "img_per_s") == 0;
}

/* A CSV with each wall-time field replaced by one '#'. */
static char *csv_without_times(const char *text)
{
    const char *header_end = strchr(text, '\n');
    assert_non_null(header_end);
    int skip[64] = {0}, column = 0;
    for (const char *p = text, *start = text; p <= header_end; p++)
        if (*p == ',' || *p == '\n') {
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)(p - start), start);
            if (column < 64)
                skip[column] = csv_time_column(name);
            column++;
            start = p + 1;
        }
    char *out = malloc(strlen(text) + 1), *o = out;
    assert_non_null(out);
    column = 0;
    int masked = 0; /* the current time field already has its '#' */
    for (const char *p = text; *p; p++) {
        if (p > header_end && *p != ',' && *p != '\n' && column < 64 && skip[column]) {
            if (!masked)
                *o++ = '#';
            masked = 1;
            continue;
        }
        *o++ = *p;
        if (*p == ',' || *p == '\n') {
            column = *p == '\n' ? 0 : column + 1;
            masked = 0;
        }
    }
    *o = '\0';
    return out;
}

/* The compared files of an interrupted report equal the reference's. */
static void expect_same_report(const char *got, const char *want)
{
    snapshot *a = snapshot_take(want), *b = snapshot_take(got);
    int compared = 0, different = 0;
    for (int i = 0; i < a->count; i++) {
        const char *path = a->path[i];
        int csv = ends_with(path, ".csv");
        if (!(csv || ends_with(path, ".npy") || ends_with(path, ".bin") ||
              (ends_with(path, ".safetensors") && !ends_with(path, "state.safetensors"))))
            continue;
        int j = snapshot_find(b, path);
        int same = j >= 0;
        if (same && csv) {
            char *x = csv_without_times(a->data[i]), *y = csv_without_times(b->data[j]);
            same = strcmp(x, y) == 0;
            free(x);
            free(y);
        } else if (same) {
            same = a->size[i] == b->size[j] && memcmp(a->data[i], b->data[j], a->size[i]) == 0;
        }
        if (!same)
            printf("  differs from the uninterrupted run: %s\n", path);
        compared++;
        different += !same;
    }
    printf("[report killed in every stage kind vs uninterrupted] %d files (.npy, .csv without wall times, .bin, "
           ".safetensors) compared, %d differ %s\n", compared, different, different ? "FAIL" : "ok");
    assert_true(compared > 80);
    assert_int_equal(different, 0);
    snapshot_free(a);
    snapshot_free(b);
}

static void test_report_sigkill_in_every_stage_kind(void **state)
{
    (void)state;
    run_ok("report (uninterrupted)", ARGS("report", "--data", data_dir, "--preset", "tiny", "--out", report_ref,
                                          "--threads", "1"));
    /* one kill per stage kind, in pipeline order; each rerun continues */
    static const struct {
        const char *kind, *trigger;
        double delay;
    } kills[] = {
        {"data (in-process: hashing, subsets)", "stages/data.json", 0.3},
        {"training, between epochs (resumed)", "runs/baseline/seed0/state.safetensors", 0.0},
        {"sweep", "stages/baseline-sweep-s0.json", 0.3},
        {"spectrum", "stages/cifar-spectrum-s0.json", 0.3},
        {"hars build", "stages/hars-build.json", 0.1},
        {"training, first epoch (rerun)", "stages/hars-train-s0.json", 0.2},
        {"cdes kernels", "stages/scr-kernels.json", 0.8},
        {"cdes generate", "stages/scr-data.json", 0.8},
        {"figures and documents", "figures/accuracy_vs_r.png", 0.0},
    };
    const char *log = at(work_dir, "kill.log");
    for (size_t k = 0; k < sizeof kills / sizeof *kills; k++) {
        int code = run_cli(log, 0, at(report_dir, kills[k].trigger), kills[k].delay,
                           ARGS("report", "--data", data_dir, "--preset", "tiny", "--out", report_dir, "--threads",
                                "1"));
        printf("[report SIGKILL %zu: %s, %.1f s after %s appeared] exit %d\n", k + 1, kills[k].kind, kills[k].delay,
               kills[k].trigger, code);
        if (code != 128 + SIGKILL)
            print_log(log);
        assert_int_equal(code, 128 + SIGKILL);
    }
    run_ok("report (final rerun)", ARGS("report", "--data", data_dir, "--preset", "tiny", "--out", report_dir,
                                        "--threads", "1"));
    expect_same_report(report_dir, report_ref);
}

static void test_make_previous_outputs(void **state)
{
    (void)state;
    run_ok("train 1 epoch", ARGS("train", TRAIN_ARGS, "--epochs", "1", "--out", train_dir));
    run_ok("train 2 epochs", ARGS("train", TRAIN_ARGS, "--epochs", "2", "--out", train_ref));
    run_ok("filter", ARGS("filter", "--input", records, "--freq", "low", "--r", "8", "--out",
                          filter_out, "--threads", "1"));
    run_ok("hars", ARGS("hars", "--input", records, "--r", "12", "--out", hars_dir, "--threads", "1"));
    struct stat st;
    if (stat(at(kernels, "wcr_last.safetensors"), &st) != 0)
        print_message("the CDES kernels come from the report test, which did not make them\n");
    assert_int_equal(stat(at(kernels, "wcr_last.safetensors"), &st), 0);
    run_ok("cdes-generate", ARGS("cdes-generate", "--kernels", kernels, "--mode", "wcr", "--data", data_dir,
                                 "--subset", "16", "--test-subset", "16", "--out", cdes_dir, "--threads", "1"));
}

static void test_full_disk_by_rlimit(void **state)
{
    (void)state;
    all_commands_under(FAULT_FSIZE);
}

static void test_full_disk_tmpfs(void **state)
{
    (void)state;
    if (!disk_is_tmpfs) {
        printf("skipped: no tmpfs to fill (%s); RLIMIT_FSIZE covers the full disk\n", no_mount_reason);
        skip();
    }
    all_commands_under(FAULT_DISK_FULL);
}

static void test_read_only_folder(void **state)
{
    (void)state;
    if (!can_bind_read_only && geteuid() == 0) {
        printf("skipped: root ignores permission bits and a read-only bind mount is not permitted (%s)\n",
               no_mount_reason);
        skip();
    }
    all_commands_under(FAULT_READ_ONLY);
}

/* After all the faults the commands still work and give the undisturbed bytes. */
static void test_reruns_after_faults(void **state)
{
    (void)state;
    run_ok("train --resume", ARGS("train", "--resume", train_dir, "--epochs", "2", "--threads", "1"));
    static const char *const same[] = {"epoch_000.safetensors", "epoch_001.safetensors", "last.safetensors",
                                       "best.safetensors", "gradspec_mean.npy", "gradspec_std.npy"};
    for (size_t i = 0; i < sizeof same / sizeof *same; i++)
        assert_true(same_file(label("train resumed after faults vs uninterrupted: %s", same[i]),
                              at(train_dir, same[i]), at(train_ref, same[i])));
    size_t size;
    char *a = read_file(at(train_dir, "log.csv"), &size), *b = read_file(at(train_ref, "log.csv"), &size);
    char *x = csv_without_times(a), *y = csv_without_times(b);
    printf("[train resumed after faults vs uninterrupted: log.csv without wall times] %s\n",
           strcmp(x, y) == 0 ? "ok" : "FAIL");
    assert_string_equal(x, y);
    free(a);
    free(b);
    free(x);
    free(y);
    snapshot *filter = snapshot_take(filter_dir), *hars = snapshot_take(hars_dir), *cdes = snapshot_take(cdes_dir);
    run_ok("filter", ARGS("filter", "--input", records, "--freq", "low", "--r", "8", "--out",
                          filter_out, "--threads", "1"));
    run_ok("hars", ARGS("hars", "--input", records, "--r", "12", "--out", hars_dir, "--threads", "1"));
    run_ok("cdes-generate", ARGS("cdes-generate", "--kernels", kernels, "--mode", "wcr", "--data", data_dir,
                                 "--subset", "16", "--test-subset", "16", "--out", cdes_dir, "--threads", "1"));
    static const char *const records_only[] = {"run.json", NULL};
    expect_intact("filter rerun after faults: same bytes", filter, filter_dir, NULL);
    expect_intact("hars rerun after faults: same bytes", hars, hars_dir, NULL);
    expect_intact("cdes-generate rerun after faults: same bytes", cdes, cdes_dir, records_only);
    snapshot_free(filter);
    snapshot_free(hars);
    snapshot_free(cdes);
}

/* ---------------------------------------------------------------- setup */

static int write_fixture(void)
{
    snprintf(records, sizeof records, "%s/cifar10_test512.bin", ref_data_dir());
    snprintf(data_dir, sizeof data_dir, "%s/cifar", work_dir);
    return write_cifar_fixture(data_dir); /* the layout of test_report.c */
}

/* As root, a private mount namespace (done first in main, while this
 * process has one thread), then the tmpfs. Otherwise the reason why not. */
static void mount_disk(int namespace_ok)
{
    snprintf(disk, sizeof disk, "%s/disk", work_dir);
    mkdir(disk, 0755);
    if (!namespace_ok)
        return;
    char options[64];
    snprintf(options, sizeof options, "size=%dm,mode=0755", DISK_MB);
    if (mount("tmpfs", disk, "tmpfs", 0, options) != 0) {
        snprintf(no_mount_reason, sizeof no_mount_reason, "mount tmpfs: %s", strerror(errno));
        return;
    }
    disk_is_tmpfs = 1;
    /* probe the read-only bind mount on a scratch folder */
    const char *probe = at(disk, "probe");
    mkdir(probe, 0755);
    if (mount(probe, probe, NULL, MS_BIND, NULL) == 0) {
        can_bind_read_only = mount(NULL, probe, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) == 0;
        if (!can_bind_read_only)
            snprintf(no_mount_reason, sizeof no_mount_reason, "read-only remount: %s", strerror(errno));
        umount2(probe, 0);
    } else {
        snprintf(no_mount_reason, sizeof no_mount_reason, "bind mount: %s", strerror(errno));
    }
    rmdir(probe);
}

static int namespace_status;

static int setup(void **state)
{
    if (work_dir_setup(state) != 0 || write_fixture() != 0)
        return -1;
    mount_disk(namespace_status == 0);
    snprintf(train_dir, sizeof train_dir, "%s/train", disk);
    snprintf(train_ref, sizeof train_ref, "%s/train-ref", work_dir);
    snprintf(filter_dir, sizeof filter_dir, "%s/filter", disk);
    snprintf(hars_dir, sizeof hars_dir, "%s/hars", disk);
    snprintf(cdes_dir, sizeof cdes_dir, "%s/cdes", disk);
    snprintf(report_dir, sizeof report_dir, "%s/report", disk);
    snprintf(report_ref, sizeof report_ref, "%s/report-ref", work_dir);
    snprintf(kernels, sizeof kernels, "%s/cdes/wcr-kernels", report_dir); /* made by the report test */
    mkdir(filter_dir, 0755);
    snprintf(filter_out, sizeof filter_out, "%s/low8.bin", filter_dir);
    return 0;
}

static int teardown(void **state)
{
    if (disk_is_tmpfs)
        umount2(disk, MNT_DETACH);
    return work_dir_teardown(state);
}

int main(int argc, char **argv)
{
    (void)argc;
    /* before anything starts a thread: mounts made below stay in this
     * process and its children, and vanish when the test ends */
    namespace_status = -1;
    if (geteuid() != 0) {
        snprintf(no_mount_reason, sizeof no_mount_reason, "not root");
    } else if (unshare(CLONE_NEWNS) != 0) {
        snprintf(no_mount_reason, sizeof no_mount_reason, "unshare(CLONE_NEWNS): %s", strerror(errno));
    } else if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
        snprintf(no_mount_reason, sizeof no_mount_reason, "private mount propagation: %s", strerror(errno));
    } else {
        namespace_status = 0;
    }
    snprintf(binary, sizeof binary, "%s", argv[0]);
    char *slash = strrchr(binary, '/');
    if (slash)
        *slash = '\0';
    slash = strrchr(binary, '/');
    snprintf(slash ? slash + 1 : binary, sizeof binary - (size_t)(slash ? slash + 1 - binary : 0), "%s",
             slash ? "freqbias" : "../freqbias");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_sigkill_in_every_stage_kind),
        cmocka_unit_test(test_make_previous_outputs),
        cmocka_unit_test(test_full_disk_by_rlimit),
        cmocka_unit_test(test_full_disk_tmpfs),
        cmocka_unit_test(test_read_only_folder),
        cmocka_unit_test(test_reruns_after_faults),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
