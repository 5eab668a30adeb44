/* test_report.c — `freqbias report --preset tiny` end to end, and its
 * resume rules.
 *
 * The fixture is a CIFAR-10 folder in the official layout, written by the
 * test from the committed real records ref_data/cifar10_test512.bin: the
 * first 384 records open data_batch_1.bin, the last 128 open
 * test_batch.bin, and every file is extended to the official 30,730,000
 * bytes (sparse, so the rest reads as zero records of class 0, which the
 * tiny preset's first-256 / first-128 subsets never reach).
 *
 * Checks:
 *  - every promised file exists, parses and has the right shape (CSV rows
 *    and columns, .npy shapes, CIFAR record counts, PNG signatures, JSON),
 *    in the per-seed folders (runs/<model>/seed0, ...);
 *  - the report names the data as NOT the official CIFAR-10;
 *  - summary.txt: five verdict lines (one seed: "CANNOT EVALUATE (single
 *    seed: no error bar" or NOT TESTABLE for E4), the E4 line's
 *    "f_hars train top-1 0.xxx", the criteria and the time per stage group;
 *  - --seeds 2 reuses every seed-0 and data stage (skipped) and runs the
 *    seed-1 stages; its tables show mean ± std, its figures error bars, its
 *    verdicts the t-test's numbers, the E4 line "0.xxx ± 0.xxx";
 *  - a rerun skips every stage; removing one output reruns exactly that
 *    stage; a stage recorded as "running" (interrupted) is resumed; a
 *    failing stage gives its exit code and an INCOMPLETE report;
 *  - usage and missing-data errors give exit codes 1 and 2.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "freqbias/json.h"
#include "freqbias/npy.h"
#include "freqbias/runtime.h"
#include "testutil.h"

#define RECORD 3073

static char data_dir[1200], out_dir[1200];

/* testutil's runner; callers end the arguments with NULL themselves */
#define run_freqbias(log, ...) run_freqbias_killing(log, NULL, 0.0, __VA_ARGS__)

static const char *in_out(const char *name)
{
    static char path[8][1400];
    static int next;
    char *p = path[next++ % 8];
    snprintf(p, 1400, "%s/%s", out_dir, name);
    return p;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void expect_png(const char *name)
{
    size_t size = 0;
    char *data = read_file(in_out(name), &size);
    if (!data)
        fprintf(stderr, "missing figure %s\n", name);
    assert_non_null(data);
    assert_true(size > 100 && memcmp(data, "\x89PNG\r\n\x1a\n", 8) == 0);
    free(data);
}

/* Data rows and header columns of a CSV. */
static void expect_csv(const char *name, int rows, int columns)
{
    size_t size = 0;
    char *text = read_file(in_out(name), &size);
    if (!text)
        fprintf(stderr, "missing table %s\n", name);
    assert_non_null(text);
    int lines = 0, header_columns = 1, quoted = 0;
    for (size_t i = 0; i < size; i++) {
        if (text[i] == '"')
            quoted = !quoted;
        if (!quoted && lines == 0 && text[i] == ',')
            header_columns++;
        if (text[i] == '\n')
            lines++;
    }
    if (lines - 1 != rows || (columns > 0 && header_columns != columns))
        fprintf(stderr, "%s: %d rows x %d columns, expected %d x %d\n", name, lines - 1, header_columns, rows,
                columns);
    assert_int_equal(lines - 1, rows);
    if (columns > 0)
        assert_int_equal(header_columns, columns);
    free(text);
}

static void expect_npy(const char *name, int ndim, const int64_t *shape)
{
    fb_npy_array array;
    assert_int_equal(fb_npy_read(in_out(name), &array), FB_OK);
    assert_int_equal(array.ndim, ndim);
    for (int d = 0; d < ndim; d++)
        if (shape[d] >= 0)
            assert_int_equal(array.shape[d], shape[d]);
    fb_npy_free(&array);
}

static fb_json *read_json(const char *path)
{
    size_t size = 0;
    char *text = read_file(path, &size);
    assert_non_null(text);
    fb_json *root = NULL;
    char error[256] = "";
    if (fb_json_parse(text, size, &root, error, sizeof error) != FB_OK)
        fprintf(stderr, "%s: %s\n", path, error);
    assert_non_null(root);
    free(text);
    return root;
}

/* The action of every stage in stages/summary.json: names[i], actions[i]. */
static int stage_actions(char names[][48], char actions[][16], int max)
{
    fb_json *root = read_json(in_out("stages/summary.json"));
    const fb_json *stages = fb_json_get(root, "stages");
    int n = (int)fb_json_count(stages);
    for (int i = 0; i < n && i < max; i++) {
        snprintf(names[i], 48, "%s", fb_json_string(fb_json_get(fb_json_item(stages, (size_t)i), "name")));
        snprintf(actions[i], 16, "%s", fb_json_string(fb_json_get(fb_json_item(stages, (size_t)i), "action")));
    }
    fb_json_free(root);
    return n;
}

#define MAX_STAGES 64

/* Every stage did `expected`, except `other` (if not NULL) which did `other_action`. */
static void expect_actions(const char *expected, const char *other, const char *other_action)
{
    char names[MAX_STAGES][48], actions[MAX_STAGES][16];
    int n = stage_actions(names, actions, MAX_STAGES);
    assert_true(n >= 17);
    for (int i = 0; i < n; i++) {
        const char *want = other && strcmp(names[i], other) == 0 ? other_action : expected;
        if (strcmp(actions[i], want) != 0)
            fprintf(stderr, "stage %s: %s, expected %s\n", names[i], actions[i], want);
        assert_string_equal(actions[i], want);
    }
}

static int run_tiny(const char *log)
{
    return run_freqbias(log, "report", "--data", data_dir, "--preset", "tiny", "--out", out_dir, "--threads", "1",
                        (const char *)NULL);
}

/* summary.txt: five finding lines whose verdicts fit K seeds, the E4 line's
 * training top-1 ("0.xxx", with K > 1 "0.xxx ± 0.xxx"), then the criteria
 * and the time per stage group. */
static void expect_summary(int seeds)
{
    size_t size;
    char *summary = read_file(in_out("summary.txt"), &size);
    assert_non_null(summary);
    printf("summary.txt (K = %d):\n%s", seeds, summary);
    char *line = summary;
    for (int i = 0; i < 5; i++) {
        char *end = strchr(line, '\n');
        assert_non_null(end);
        *end = '\0';
        int measured = strstr(line, "NOT MEASURED") == NULL, testable = strstr(line, "NOT TESTABLE") == NULL;
        if (measured && testable) {
            if (seeds == 1) {
                assert_non_null(strstr(line, "CANNOT EVALUATE (single seed: no error bar"));
            } else {
                assert_true(strstr(line, ": REPRODUCED (") || strstr(line, ": NOT REPRODUCED ("));
                assert_non_null(strstr(line, "p = "));
                assert_non_null(strstr(line, " ± "));
            }
        }
        char k[32];
        snprintf(k, sizeof k, "K = %d", seeds);
        assert_true(!measured || strstr(line, k));
        if (i == 4) {
            const char *train = strstr(line, "f_hars train top-1 ");
            assert_non_null(train);
            double mean = -1.0, std = -1.0;
            int fields = sscanf(train, "f_hars train top-1 %lf ± %lf", &mean, &std);
            assert_true(mean >= 0.0 && mean <= 1.0 && train[19] == '0' && train[20] == '.');
            assert_int_equal(fields, seeds > 1 ? 2 : 1);
        }
        line = end + 1;
    }
    assert_non_null(strstr(line, "Criteria (K = "));
    assert_non_null(strstr(line, "Welch t-test"));
    assert_non_null(strstr(line, "Time per stage group"));
    assert_non_null(strstr(line, "data (verify, subsets): "));
    assert_non_null(strstr(line, "heat maps (all models): "));
    free(summary);
}

static void test_tiny_report(void **state)
{
    (void)state;
    char log[1400];
    snprintf(log, sizeof log, "%s/report1.log", work_dir);
    int code = run_tiny(log);
    if (code != 0)
        print_log(log);
    assert_int_equal(code, 0);
    /* data subsets */
    assert_int_equal(file_size(in_out("data/train.bin")), 256L * RECORD);
    assert_int_equal(file_size(in_out("data/test.bin")), 128L * RECORD);
    fb_json *data = read_json(in_out("data/data.json"));
    assert_int_equal(fb_json_type_of(fb_json_get(data, "official")), FB_JSON_BOOL);
    assert_false(fb_json_bool(fb_json_get(data, "official"))); /* the fixture is not the official release */
    assert_int_equal(fb_json_count(fb_json_get(data, "files")), 6);
    fb_json_free(data);
    /* classifiers: 2 epochs, gradient spectrum before training + after each epoch */
    const char *models[4] = {"baseline", "hars", "scr", "wcr"};
    for (int m = 0; m < 4; m++) {
        char name[128];
        snprintf(name, sizeof name, "runs/%s/seed0/log.csv", models[m]);
        expect_csv(name, 2, 8);
        snprintf(name, sizeof name, "runs/%s/seed0/gradspec.csv", models[m]);
        expect_csv(name, 3, 3 + 2 * 20);
        snprintf(name, sizeof name, "runs/%s/seed0/gradspec_mean.npy", models[m]);
        expect_npy(name, 2, (int64_t[]){3, 20});
        snprintf(name, sizeof name, "runs/%s/seed0/gradspec.png", models[m]);
        expect_png(name);
        assert_true(file_size(in_out(name)) > 0);
        snprintf(name, sizeof name, "spectra/%s/seed0/spectrum_mean.npy", models[m]);
        expect_npy(name, 2, (int64_t[]){1, 20});
        snprintf(name, sizeof name, "spectra/%s/seed0/gradient_density.npy", models[m]);
        expect_npy(name, 2, (int64_t[]){1, 20});
        /* Fourier heat map (tiny: the central 8x8 frequencies) and the 20 band-noise errors */
        snprintf(name, sizeof name, "heatmaps/%s/seed0/heatmap.npy", models[m]);
        expect_npy(name, 2, (int64_t[]){8, 8});
        snprintf(name, sizeof name, "heatmaps/%s/seed0/heatmap.csv", models[m]);
        expect_csv(name, 64, 3);
        snprintf(name, sizeof name, "heatmaps/%s/seed0/bands.npy", models[m]);
        expect_npy(name, 1, (int64_t[]){20});
        snprintf(name, sizeof name, "heatmaps/%s/seed0/bands.csv", models[m]);
        expect_csv(name, 20, 4);
        snprintf(name, sizeof name, "heatmaps/%s/seed0/heatmap.png", models[m]);
        expect_png(name);
        snprintf(name, sizeof name, "heatmaps/%s/seed0/bands.png", models[m]);
        expect_png(name);
    }
    /* sweeps: clean + low/high at 7 radii; CDES: clean + high at 5 radii */
    expect_csv("sweeps/baseline/seed0/sweep.csv", 15, 9);
    expect_csv("sweeps/hars/seed0/sweep.csv", 15, 9);
    expect_npy("spectra/baseline/seed0/kde.npy", 3, (int64_t[]){3, 11, -1});
    expect_png("spectra/baseline/seed0/kde_low.png");
    expect_png("spectra/baseline/seed0/kde_high.png");
    /* HARS set: the 256 training images, each with a different-class low part */
    assert_int_equal(file_size(in_out("datasets/hars/data_batch_1.bin")), 256L * RECORD);
    expect_csv("datasets/hars/pairing.csv", 256, 4);
    {
        expect_csv("sweeps/scr/seed0/sweep.csv", 6, 9);
        expect_csv("sweeps/wcr/seed0/sweep.csv", 6, 9);
        assert_int_equal(file_size(in_out("datasets/scr/data_batch_1.bin")), 256L * RECORD);
        assert_int_equal(file_size(in_out("datasets/scr/test_batch.bin")), 128L * RECORD);
        assert_int_equal(file_size(in_out("datasets/wcr/data_batch_1.bin")), 256L * RECORD);
        assert_int_equal(file_size(in_out("datasets/wcr/test_batch.bin")), 128L * RECORD);
        assert_true(file_size(in_out("cdes/scr-kernels/scr_class9_last.safetensors")) > 0);
        assert_true(file_size(in_out("cdes/wcr-kernels/wcr_last.safetensors")) > 0);
    }
    /* the report's own figures */
    const char *figures[] = {"accuracy_vs_r", "interclass_vs_r", "cdes_highpass", "density", "training",
                             "filtered_samples", "dataset_samples", "fourier_heatmaps", "band_noise"};
    for (size_t i = 0; i < sizeof figures / sizeof *figures; i++) {
        char name[128];
        snprintf(name, sizeof name, "figures/%s.png", figures[i]);
        expect_png(name);
    }
    /* the documents */
    size_t size;
    char *md = read_file(in_out("report.md"), &size);
    assert_non_null(md);
    assert_non_null(strstr(md, "## Summary"));
    assert_non_null(strstr(md, "NOT the official CIFAR-10"));
    assert_non_null(strstr(md, "freqbias sweep --ckpt"));     /* commands next to the numbers */
    assert_non_null(strstr(md, "| f_scr (paper) | 79.0 | 68.2 | 42.4 | 30.4 | 30.9 |"));
    assert_non_null(strstr(md, "## Fourier heat maps and band-limited noise"));
    assert_non_null(strstr(md, "figures/fourier_heatmaps.png"));
    assert_non_null(strstr(md, "freqbias fourier-heatmap --ckpt"));
    assert_null(strstr(md, "figure missing"));
    free(md);
    char *html = read_file(in_out("report.html"), &size);
    assert_non_null(html);
    assert_non_null(strstr(html, "<img alt="));
    assert_non_null(strstr(html, "src=\"data:image/png;base64,iVBORw0KGgo")); /* the PNG signature in base64 */
    assert_null(strstr(html, "src=\"figures/")); /* self-contained: no linked images */
    assert_non_null(strstr(html, "</html>"));
    free(html);
    expect_summary(1);
    /* records */
    fb_json *record = read_json(in_out("stages/baseline-train-s0.json"));
    assert_string_equal(fb_json_string(fb_json_get(record, "status")), "done");
    assert_string_equal(fb_json_string(fb_json_item(fb_json_get(record, "command"), 0)), "train");
    assert_true(fb_json_count(fb_json_get(record, "inputs")) == 2);
    assert_true(fb_json_count(fb_json_get(record, "outputs")) == 5);
    assert_int_equal(strlen(fb_json_string(fb_json_get(fb_json_item(fb_json_get(record, "outputs"), 0), "sha256"))),
                     64);
    fb_json_free(record);
    expect_actions("ran", NULL, NULL);
}

/* --seeds 2 after the K = 1 run: the data stages and every seed-0 stage
 * are reused (skipped), the seed-1 stages run; the report then shows
 * mean ± std, error bars and t-test verdicts. */
static void test_two_seeds(void **state)
{
    (void)state;
    char log[1400];
    snprintf(log, sizeof log, "%s/report_seeds.log", work_dir);
    int code = run_freqbias(log, "report", "--data", data_dir, "--preset", "tiny", "--out", out_dir, "--threads", "1",
                            "--seeds", "2", (const char *)NULL);
    if (code != 0)
        print_log(log);
    assert_int_equal(code, 0);
    char names[MAX_STAGES][48], actions[MAX_STAGES][16];
    int n = stage_actions(names, actions, MAX_STAGES), ran = 0;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(names[i]);
        int seed1 = len > 3 && strcmp(names[i] + len - 3, "-s1") == 0;
        if (strcmp(actions[i], seed1 ? "ran" : "skipped") != 0)
            fprintf(stderr, "stage %s: %s, expected %s\n", names[i], actions[i], seed1 ? "ran" : "skipped");
        assert_string_equal(actions[i], seed1 ? "ran" : "skipped");
        ran += seed1;
    }
    printf("--seeds 2: %d stages, %d of them seed 1 (ran), the rest reused\n", n, ran);
    assert_int_equal(ran, 16); /* 4 models x train, sweep, spectrum, heat map */
    const char *models[4] = {"baseline", "hars", "scr", "wcr"};
    for (int m = 0; m < 4; m++) {
        char name[128];
        snprintf(name, sizeof name, "runs/%s/seed1/log.csv", models[m]);
        expect_csv(name, 2, 8);
        snprintf(name, sizeof name, "heatmaps/%s/seed1/bands.npy", models[m]);
        expect_npy(name, 1, (int64_t[]){20});
    }
    expect_csv("sweeps/baseline/seed1/sweep.csv", 15, 9);
    fb_json *record = read_json(in_out("stages/baseline-train-s1.json"));
    const fb_json *command = fb_json_get(record, "command");
    int seed_given = 0;
    for (size_t i = 0; i + 1 < fb_json_count(command); i++)
        seed_given |= strcmp(fb_json_string(fb_json_item(command, i)), "--seed") == 0 &&
                      strcmp(fb_json_string(fb_json_item(command, i + 1)), "1") == 0;
    assert_true(seed_given);
    fb_json_free(record);
    expect_summary(2);
    size_t size;
    char *md = read_file(in_out("report.md"), &size);
    assert_non_null(md);
    assert_non_null(strstr(md, "**Seeds: K = 2.**"));
    assert_non_null(strstr(md, "| clean | – | ")); /* the E1 table's first row ... */
    const char *clean = strstr(md, "| clean | – | ");
    const char *row_end = strchr(clean, '\n');
    const char *plus_minus = strstr(clean, " ± ");
    assert_true(plus_minus && plus_minus < row_end); /* ... with mean ± std cells */
    assert_non_null(strstr(md, "(mean, bars: std over seeds)"));
    assert_non_null(strstr(md, "## Time per stage group"));
    assert_non_null(strstr(md, "cached ("));
    free(md);
    expect_png("figures/accuracy_vs_r.png");
    expect_png("figures/cdes_highpass.png");
}

static void test_resume(void **state)
{
    (void)state;
    char log[1400];
    snprintf(log, sizeof log, "%s/report2.log", work_dir);
    /* 1. nothing changed: every stage is skipped */
    int code = run_tiny(log);
    if (code != 0)
        print_log(log);
    assert_int_equal(code, 0);
    expect_actions("skipped", NULL, NULL);
    /* 2. a removed output reruns exactly its stage (the sweep is deterministic,
     *    so nothing downstream changes) */
    assert_int_equal(unlink(in_out("sweeps/hars/seed0/sweep.csv")), 0);
    code = run_tiny(log);
    assert_int_equal(code, 0);
    expect_actions("skipped", "hars-sweep-s0", "ran");
    expect_csv("sweeps/hars/seed0/sweep.csv", 15, 9);
    /* 3. a training stage whose record still says "running" (the report was
     *    killed during it) continues with train --resume, to the same bytes */
    size_t size;
    char *record = read_file(in_out("stages/hars-train-s0.json"), &size);
    char *status = strstr(record, "\"status\": \"done\""); /* 16 characters */
    assert_non_null(status);
    FILE *f = fopen(in_out("stages/hars-train-s0.json"), "wb");
    char *fixed = malloc(size + 8);
    size_t head = (size_t)(status - record);
    memcpy(fixed, record, head);
    size_t used = head + (size_t)sprintf(fixed + head, "\"status\": \"running\"");
    memcpy(fixed + used, status + 16, size - head - 16);
    used += size - head - 16;
    assert_int_equal(fwrite(fixed, 1, used, f), used);
    fclose(f);
    free(fixed);
    free(record);
    code = run_tiny(log);
    if (code != 0)
        print_log(log);
    assert_int_equal(code, 0);
    expect_actions("skipped", "hars-train-s0", "resumed");
    /* 4. a failing stage: exit code 2 (input/output), the report is still
     *    written, marked INCOMPLETE, and the stages after it did not run */
    char kernels[1400];
    snprintf(kernels, sizeof kernels, "%s", in_out("cdes/scr-kernels"));
    remove_tree(kernels);
    FILE *blocker = fopen(kernels, "wb"); /* a file where cdes-train needs a folder */
    assert_non_null(blocker);
    fclose(blocker);
    assert_int_equal(run_tiny(log), 2);
    char names[MAX_STAGES][48], actions[MAX_STAGES][16];
    int n = stage_actions(names, actions, MAX_STAGES), failed = -1;
    for (int i = 0; i < n; i++) {
        if (strcmp(names[i], "scr-kernels") == 0)
            failed = i;
        const char *want = failed < 0 ? "skipped" : failed == i ? "failed" : "not run";
        if (strcmp(actions[i], want) != 0)
            fprintf(stderr, "stage %s: %s, expected %s\n", names[i], actions[i], want);
        assert_string_equal(actions[i], want);
    }
    assert_true(failed > 0);
    char *md = read_file(in_out("report.md"), &size);
    assert_non_null(strstr(md, "INCOMPLETE: stage `scr-kernels` failed"));
    assert_non_null(strstr(md, "CDES (E3): NOT MEASURED"));
    free(md);
}

static void test_errors(void **state)
{
    (void)state;
    char log[1400], missing[1400];
    snprintf(log, sizeof log, "%s/errors.log", work_dir);
    snprintf(missing, sizeof missing, "%s/no-such-data", work_dir);
    assert_int_equal(run_freqbias(log, "report", "--data", data_dir, "--preset", "huge", "--out", out_dir,
                                  (const char *)NULL), 1);
    assert_int_equal(run_freqbias(log, "report", "--preset", "tiny", (const char *)NULL), 1);
    assert_int_equal(run_freqbias(log, "report", "--data", missing, "--preset", "tiny", "--out", out_dir,
                                  (const char *)NULL), 2);
    size_t size;
    char *text = read_file(log, &size);
    assert_non_null(strstr(text, "fetch-data.sh"));
    free(text);
}

static int setup(void **state)
{
    if (work_dir_setup(state) != 0)
        return -1;
    snprintf(data_dir, sizeof data_dir, "%s/cifar", work_dir);
    snprintf(out_dir, sizeof out_dir, "%s/report", work_dir);
    return write_cifar_fixture(data_dir);
}

int main(int argc, char **argv)
{
    fb_runtime_init(argc, argv);
    set_freqbias_binary(argv[0]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tiny_report),
        cmocka_unit_test(test_two_seeds),
        cmocka_unit_test(test_resume),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, work_dir_teardown);
}
