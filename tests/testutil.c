/* testutil.c — the shared test helpers declared in testutil.h.
 *
 * Comparisons. A tolerance is relative to the largest |value| of the
 * reference tensor ("max_rel = max_abs / max|want|"), so an entry that
 * happens to be near zero does not make a test flaky, while an error that is
 * large for the tensor as a whole is caught wherever it sits. A NaN or an
 * infinity that the reference does not have counts as an infinite error, so a
 * backward op that forgot to write an output (the tests pre-fill outputs with
 * NaN) fails loudly. Every comparison prints one line, passing or not.
 *
 * Test data comes from the project's own counter RNG (stream FB_STREAM_DATA),
 * so the same seed gives the same tensors on every machine and thread count.
 */
#include "testutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "freqbias/rng.h"

/* Below this, max|want| is treated as zero (an all-zero reference). */
#define TINY_SCALE 1e-30

/* A tensor of floats or doubles, read as double. */
typedef struct tensor_view {
    const void *data;
    int is_double;
} tensor_view;

static double value_at(tensor_view view, size_t i)
{
    return view.is_double ? ((const double *)view.data)[i] : (double)((const float *)view.data)[i];
}

/* |got − want|, infinite when exactly one side is not finite or they are
 * different non-finite values (NaN never matches). */
static double difference(double got, double want)
{
    if (isfinite(got) && isfinite(want))
        return fabs(got - want);
    return got == want ? 0.0 : INFINITY;
}

static compare_result compare_views(const char *label, tensor_view got, tensor_view want,
                                    size_t count, double rel_tol)
{
    compare_result result = {0.0, 0.0, 0, 1};
    double scale = 0.0;
    for (size_t i = 0; i < count; i++) {
        double w = value_at(want, i);
        if (isfinite(w) && fabs(w) > scale)
            scale = fabs(w);
    }
    for (size_t i = 0; i < count; i++) {
        double diff = difference(value_at(got, i), value_at(want, i));
        if (diff > result.max_abs) {
            result.max_abs = diff;
            result.worst = i;
        }
    }
    result.max_rel = result.max_abs / (scale > TINY_SCALE ? scale : TINY_SCALE);
    result.ok = result.max_rel <= rel_tol;
    printf("[%s] n=%zu max_abs=%.2e max_rel=%.2e (vs max|ref|=%.2e) worst=[%zu] %s", label, count,
           result.max_abs, result.max_rel, scale, result.worst, result.ok ? "ok" : "FAIL");
    if (!result.ok && count > 0)
        printf(" (tol %.1e): got %.9g want %.9g", rel_tol, value_at(got, result.worst),
               value_at(want, result.worst));
    printf("\n");
    return result;
}

compare_result compare_f32(const char *label, const float *got, const float *want, size_t count,
                           double rel_tol)
{
    tensor_view g = {got, 0}, w = {want, 0};
    return compare_views(label, g, w, count, rel_tol);
}

compare_result compare_f32_f64(const char *label, const float *got, const double *want,
                               size_t count, double rel_tol)
{
    tensor_view g = {got, 0}, w = {want, 1};
    return compare_views(label, g, w, count, rel_tol);
}

compare_result compare_f64(const char *label, const double *got, const double *want,
                           size_t count, double rel_tol)
{
    tensor_view g = {got, 1}, w = {want, 1};
    return compare_views(label, g, w, count, rel_tol);
}

/* Compares 4-byte words (the size of a float), then any trailing bytes. */
int compare_bits(const char *label, const void *a, const void *b, size_t bytes)
{
    const unsigned char *left = a, *right = b;
    size_t words = (bytes + 3) / 4, differing = 0, first = 0;
    for (size_t word = 0; word < words; word++) {
        size_t begin = word * 4, length = bytes - begin < 4 ? bytes - begin : 4;
        if (memcmp(left + begin, right + begin, length) != 0) {
            if (differing == 0)
                first = word;
            differing++;
        }
    }
    if (differing == 0)
        printf("[%s] %zu bytes bit-identical\n", label, bytes);
    else
        printf("[%s] %zu bytes: %zu of %zu words differ, first at word [%zu] FAIL\n", label, bytes,
               differing, words, first);
    return differing == 0;
}

void fill_uniform(float *data, size_t count, uint64_t seed, float lo, float hi)
{
    for (size_t i = 0; i < count; i++) {
        float u = fb_rng_uniform(seed, FB_STREAM_DATA, 0, i);
        float value = (float)(lo + ((double)hi - lo) * u);
        data[i] = value < hi ? value : nextafterf(hi, lo); /* rounding must not reach hi */
    }
}

/* 53 random bits from two Philox words, so the doubles are not just floats. */
void fill_uniform_f64(double *data, size_t count, uint64_t seed, double lo, double hi)
{
    for (size_t i = 0; i < count; i++) {
        uint32_t words[4];
        fb_rng_words(seed, FB_STREAM_DATA, 0, i, words);
        uint64_t bits = ((uint64_t)(words[0] >> 5) << 26) | (words[1] >> 6);
        double u = (double)bits * (1.0 / 9007199254740992.0); /* 2^-53 */
        double value = lo + (hi - lo) * u;
        data[i] = value < hi ? value : nextafter(hi, lo);
    }
}

const char *label(const char *format, ...)
{
    static char text[256];
    va_list args;
    va_start(args, format);
    vsnprintf(text, sizeof text, format, args);
    va_end(args);
    return text;
}

const char *ref_data_dir(void)
{
    const char *path = getenv("FREQBIAS_REF_DATA");
    return path && *path ? path : "ref_data";
}

/* Returns a malloc'd path (free it after remove_tree), or NULL with a
 * message on stderr. */
char *make_temp_dir(void)
{
    char template[] = "/tmp/freqbias-test-XXXXXX";
    if (!mkdtemp(template)) {
        fprintf(stderr, "make_temp_dir: mkdtemp failed: %s\n", strerror(errno));
        return NULL;
    }
    char *path = malloc(sizeof template);
    if (path)
        memcpy(path, template, sizeof template);
    return path;
}

/* Depth-first removal; symbolic links are removed, never followed. */
void remove_tree(const char *path)
{
    struct stat info;
    if (!path || lstat(path, &info) != 0)
        return;
    if (!S_ISDIR(info.st_mode)) {
        if (unlink(path) != 0)
            fprintf(stderr, "remove_tree: cannot remove %s: %s\n", path, strerror(errno));
        return;
    }
    DIR *dir = opendir(path);
    if (dir) {
        struct dirent *entry;
        while ((entry = readdir(dir)) != NULL) {
            if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
                continue;
            size_t length = strlen(path) + strlen(entry->d_name) + 2;
            char *child = malloc(length);
            if (!child)
                break;
            snprintf(child, length, "%s/%s", path, entry->d_name);
            remove_tree(child);
            free(child);
        }
        closedir(dir);
    }
    if (rmdir(path) != 0)
        fprintf(stderr, "remove_tree: cannot remove %s: %s\n", path, strerror(errno));
}

/* ---- running the freqbias binary (CLI tests) ---- */

static char freqbias_binary[1024] = "build/freqbias";

void set_freqbias_binary(const char *argv0)
{
    /* build/tests/test_x -> build/freqbias */
    snprintf(freqbias_binary, sizeof freqbias_binary, "%s", argv0);
    char *slash = strrchr(freqbias_binary, '/');
    if (slash)
        *slash = '\0';
    slash = strrchr(freqbias_binary, '/');
    if (slash)
        snprintf(slash + 1, sizeof freqbias_binary - (size_t)(slash + 1 - freqbias_binary), "freqbias");
    else
        snprintf(freqbias_binary, sizeof freqbias_binary, "../freqbias");
}

/* Runs build/freqbias with args (NULL-terminated), output to log; returns
 * the exit code. With kill_when set, SIGKILLs the child delay seconds after
 * that file appears. */
int run_freqbias_killing(const char *log, const char *kill_when, double delay, ...)
{
    const char *args[64] = {freqbias_binary};
    int n = 1;
    va_list list;
    va_start(list, delay);
    const char *arg;
    while ((arg = va_arg(list, const char *)) && n < 63)
        args[n++] = arg;
    va_end(list);
    args[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(freqbias_binary, (char *const *)args);
        _exit(127);
    }
    if (kill_when) {
        struct stat st;
        while (stat(kill_when, &st) != 0) {
            int status;
            if (waitpid(pid, &status, WNOHANG) == pid)
                return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            nanosleep(&(struct timespec){0, 20000000}, NULL);
        }
        nanosleep(&(struct timespec){(time_t)delay, (long)((delay - (time_t)delay) * 1e9)}, NULL);
        kill(pid, SIGKILL);
    }
    int status;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}


char *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc(*size + 1);
    if (fread(data, 1, *size, f) != *size) {
        free(data);
        data = NULL;
    } else {
        data[*size] = '\0';
    }
    fclose(f);
    return data;
}

int same_file(const char *label, const char *a, const char *b)
{
    size_t size_a = 0, size_b = 0;
    char *x = read_file(a, &size_a), *y = read_file(b, &size_b);
    int same = x && y && size_a == size_b;
    if (same)
        same = compare_bits(label, x, y, size_a);
    else
        printf("[%s] %s (%zu bytes) vs %s (%zu bytes) FAIL\n", label, a, size_a, b, size_b);
    free(x);
    free(y);
    return same;
}

void print_log(const char *log)
{
    size_t size;
    char *text = read_file(log, &size);
    printf("---- %s\n%s----\n", log, text ? text : "(missing)");
    free(text);
}

/* ---- the test program's temp folder ---- */

char *work_dir;

int work_dir_setup(void **state)
{
    (void)state;
    work_dir = make_temp_dir();
    return work_dir ? 0 : -1;
}

int work_dir_teardown(void **state)
{
    (void)state;
    remove_tree(work_dir);
    free(work_dir);
    work_dir = NULL;
    return 0;
}

const char *in_work(const char *name)
{
    static char path[8][800];
    static int next;
    char *p = path[next++ % 8];
    snprintf(p, 800, "%s/%s", work_dir, name);
    return p;
}

int write_cifar_fixture(const char *dir)
{
    enum { RECORD = 3073 };
    char path[1400];
    snprintf(path, sizeof path, "%s/cifar10_test512.bin", ref_data_dir());
    size_t size;
    char *records = read_file(path, &size);
    if (!records || size != 512L * RECORD) {
        fprintf(stderr, "setup: %s missing or not 512 records\n", path);
        free(records);
        return -1;
    }
    mkdir(dir, 0755);
    static const char *const names[6] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                         "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"};
    int result = 0;
    for (int i = 0; i < 6 && result == 0; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        FILE *f = fopen(path, "wb");
        if (!f) {
            result = -1;
            break;
        }
        if (i == 0)
            fwrite(records, 1, 384L * RECORD, f);
        if (i == 5)
            fwrite(records + 384L * RECORD, 1, 128L * RECORD, f);
        if (fclose(f) != 0 || truncate(path, 10000L * RECORD) != 0)
            result = -1;
    }
    free(records);
    return result;
}
