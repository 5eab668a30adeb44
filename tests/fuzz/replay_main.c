/* replay_main.c — runs a fuzz target's entry point over files, without
 * libFuzzer: `make test` links it with every tests/fuzz/fuzz_<name>.c and
 * replays the committed corpus, so a bug found once stays fixed.
 *
 *   build/fuzz/fuzz_<name> DIR_OR_FILE...
 *
 * Every regular file named (or found directly in a named folder) goes
 * through LLVMFuzzerTestOneInput once. A crash, a sanitizer report or a
 * broken contract (fuzz_check) ends the process non-zero; otherwise it
 * prints how many files it replayed and the slowest one, and exits 0. A
 * folder with no files is an error: a corpus that silently vanished would
 * make the replay a test that cannot fail.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fuzz.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int slowest_set;
static double slowest_seconds;
static char slowest_path[1024];

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *data = malloc(size > 0 ? (size_t)size : 1); /* [size] the input */
    if (!data || (size > 0 && fread(data, 1, (size_t)size, f) != (size_t)size)) {
        fprintf(stderr, "%s: cannot read\n", path);
        fclose(f);
        free(data);
        return -1;
    }
    fclose(f);
    double start = now();
    LLVMFuzzerTestOneInput(data, (size_t)size);
    double seconds = now() - start;
    if (!slowest_set || seconds > slowest_seconds) {
        slowest_set = 1;
        slowest_seconds = seconds;
        snprintf(slowest_path, sizeof slowest_path, "%s", path);
    }
    free(data);
    return 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replays every regular file of a folder, in name order; returns the count. */
static int replay_folder(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        perror(dir);
        return -1;
    }
    char **names = NULL;
    int count = 0, capacity = 0;
    struct dirent *entry;
    while ((entry = readdir(d)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;
        if (count == capacity) {
            capacity = capacity ? 2 * capacity : 64;
            names = realloc(names, (size_t)capacity * sizeof *names);
            if (!names)
                abort();
        }
        names[count++] = strdup(entry->d_name);
    }
    closedir(d);
    qsort(names, (size_t)count, sizeof *names, compare_names);
    int replayed = 0;
    for (int i = 0; i < count; i++) {
        char path[2048];
        struct stat info;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (stat(path, &info) == 0 && S_ISREG(info.st_mode)) {
            if (replay_file(path) != 0)
                replayed = -1;
            else if (replayed >= 0)
                replayed++;
        }
        free(names[i]);
    }
    free(names);
    return replayed;
}

int main(int argc, char **argv)
{
    const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", name);
        return 1;
    }
    int total = 0;
    for (int i = 1; i < argc; i++) {
        struct stat info;
        int replayed;
        if (stat(argv[i], &info) != 0) {
            perror(argv[i]);
            return 2;
        }
        if (S_ISDIR(info.st_mode)) {
            replayed = replay_folder(argv[i]);
            if (replayed == 0) {
                fprintf(stderr, "%s: %s holds no corpus files\n", name, argv[i]);
                return 2;
            }
        } else {
            replayed = replay_file(argv[i]) == 0 ? 1 : -1;
        }
        if (replayed < 0)
            return 2;
        total += replayed;
    }
    printf("%-26s %4d files replayed, slowest %.3f s (%s)\n", name, total, slowest_seconds,
           slowest_path);
    return 0;
}
