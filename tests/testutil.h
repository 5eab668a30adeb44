/* testutil.h — helpers every test shares: comparing arrays with a printed
 * report (max abs/rel error and the worst index), deterministic test data
 * from the counter RNG, temp folders, and the path of ref_data/.
 *
 * Every comparison prints one line, so a passing run still shows what was
 * compared and how close it was:
 *   [conv fwd cpu s2p1] n=4096 max_abs=1.2e-06 max_rel=3.1e-07 (vs max|ref|) worst=[123] ok
 */
#ifndef FREQBIAS_TESTUTIL_H
#define FREQBIAS_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "tolerances.h"

typedef struct compare_result {
    double max_abs;      /* max |got − want|                                 */
    double max_rel;      /* max_abs / max(max |want|, tiny)                   */
    size_t worst;        /* index of max_abs                                  */
    int ok;
} compare_result;

/* Compares got[count] (float) with want[count] (float or double) and prints
 * a report line. rel_tol is relative to the largest |want| of the tensor
 * (the "relative to the tensor's max"). Returns ok. */
compare_result compare_f32(const char *label, const float *got, const float *want, size_t count,
                           double rel_tol);
compare_result compare_f32_f64(const char *label, const float *got, const double *want,
                               size_t count, double rel_tol);
compare_result compare_f64(const char *label, const double *got, const double *want,
                           size_t count, double rel_tol);
/* Bit identity: prints the number of differing words and the first one. */
int compare_bits(const char *label, const void *a, const void *b, size_t bytes);

/* Uniform values in [lo, hi) from (seed, index): same data on every run. */
void fill_uniform(float *data, size_t count, uint64_t seed, float lo, float hi);
void fill_uniform_f64(double *data, size_t count, uint64_t seed, double lo, double hi);

/* The ref_data folder (FREQBIAS_REF_DATA or "ref_data" from the repo root). */
const char *ref_data_dir(void);

/* A printf-formatted label for a comparison line, valid until the next call. */
const char *label(const char *format, ...) __attribute__((format(printf, 1, 2)));
/* A fresh folder under /tmp; removed by remove_tree. */
char *make_temp_dir(void);
void remove_tree(const char *path);

/* A temp folder per test program: work_dir_setup / work_dir_teardown are
 * cmocka group setup and teardown that make and remove it; in_work(name)
 * is work_dir/name (8 rotating buffers, so a few can be used at once). */
extern char *work_dir;
int work_dir_setup(void **state);
int work_dir_teardown(void **state);
const char *in_work(const char *name);

/* CLI tests. set_freqbias_binary(argv[0]) finds build/freqbias next to
 * build/tests/. run_freqbias_killing runs it with the NULL-terminated
 * arguments, stdout and stderr to log, and returns the exit code (128 +
 * signal if killed); with kill_when set it SIGKILLs the child `delay`
 * seconds after that file appears. RUN(log, args...) runs without killing. */
void set_freqbias_binary(const char *argv0);
int run_freqbias_killing(const char *log, const char *kill_when, double delay, ...);
#define RUN(log, ...) run_freqbias_killing(log, NULL, 0.0, __VA_ARGS__, (const char *)NULL)
/* The whole file, NUL-terminated (NULL if unreadable); *size its length. */
char *read_file(const char *path, size_t *size);
/* Byte identity of two files, with a printed report line. */
int same_file(const char *label, const char *a, const char *b);
/* Prints a log file between marker lines. */
void print_log(const char *log);
/* A CIFAR-10 folder (the six official file names) in dir from the 512 real
 * records of ref_data/cifar10_test512.bin: 384 open data_batch_1.bin, 128
 * open test_batch.bin, every file sparse to the official 30,730,000 bytes.
 * 0 on success, -1 (and a message) otherwise. */
int write_cifar_fixture(const char *dir);

#endif
