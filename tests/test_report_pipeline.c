/* test_report_pipeline.c — the stage list `freqbias report` builds
 * (src/report/report_pipeline.c), without running it:
 *
 *  - K seeds: every classifier stage exists once per seed, named
 *    <key>-<what>-s<seed>, training with --seed <seed> into runs/<key>/seed<seed>,
 *    while the data-making stages exist once and use the first seed;
 *  - the E4 protocol: when a preset's E4 protocol equals the main one there
 *    is no e4-baseline; when it differs (other images, lr, no augmentation)
 *    the data stage writes the E4 training images, HARS is built from them,
 *    and e4-baseline-train/sweep run per seed with that protocol, as f_hars;
 *  - --seeds outside 1..REPORT_MAX_SEEDS is refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report_pipeline.h"

/* The stage's argument after `option`, or NULL. */
static const char *argument(const report_stage *s, const char *option)
{
    for (int i = 0; i + 1 < s->argc; i++)
        if (strcmp(s->argv[i], option) == 0)
            return s->argv[i + 1];
    return NULL;
}

static int has_flag(const report_stage *s, const char *flag)
{
    for (int i = 0; i < s->argc; i++)
        if (strcmp(s->argv[i], flag) == 0)
            return 1;
    return 0;
}

static const report_stage *stage(const report_pipeline *p, const char *name)
{
    const report_stage *s = report_pipeline_stage(p, name);
    if (!s)
        fprintf(stderr, "no stage %s\n", name);
    assert_non_null(s);
    return s;
}

static void build(report_pipeline *p, const report_preset *preset, int seeds, unsigned long long seed)
{
    memset(p, 0, sizeof *p);
    p->preset = preset;
    p->seeds = seeds;
    p->seed = seed;
    snprintf(p->out_dir, sizeof p->out_dir, "out");
    snprintf(p->backend, sizeof p->backend, "cpu");
    snprintf(p->data.cifar_dir, sizeof p->data.cifar_dir, "cifar");
    assert_int_equal(report_pipeline_build(p), FB_OK);
}

static void test_seeds(void **state)
{
    (void)state;
    static report_pipeline p;
    build(&p, report_preset_find("tiny"), 3, 5);
    printf("[tiny, 3 seeds from 5] %d stages\n", p.count);
    /* once: data, hars-build, scr/wcr kernels and data (tiny's 256 images fit one batch file: no
     * packing); per seed: train, sweep, spectrum, heat map of 4 models */
    assert_int_equal(p.count, 6 + 3 * 16);
    static const char *const keys[4] = {"baseline", "hars", "scr", "wcr"};
    for (int k = 0; k < 3; k++) {
        char name[64], seed[16], run[64];
        snprintf(seed, sizeof seed, "%d", 5 + k);
        for (int m = 0; m < 4; m++) {
            snprintf(name, sizeof name, "%s-train-s%d", keys[m], 5 + k);
            const report_stage *train = stage(&p, name);
            assert_string_equal(argument(train, "--seed"), seed);
            snprintf(run, sizeof run, "out/runs/%s/seed%d", keys[m], 5 + k);
            assert_string_equal(argument(train, "--out"), run);
            snprintf(name, sizeof name, "%s-sweep-s%d", keys[m], 5 + k);
            stage(&p, name);
            snprintf(name, sizeof name, "%s-heatmap-s%d", keys[m], 5 + k);
            assert_string_equal(argument(stage(&p, name), "--seed"), seed);
        }
        snprintf(name, sizeof name, "cifar-spectrum-s%d", 5 + k);
        stage(&p, name);
        snprintf(name, sizeof name, "e4-baseline-train-s%d", 5 + k);
        assert_null(report_pipeline_stage(&p, name)); /* tiny's E4 protocol is its main one */
    }
    /* the data-making stages: once, with the first seed */
    static const char *const once[] = {"hars-build", "scr-kernels", "scr-data", "wcr-kernels", "wcr-data"};
    for (size_t i = 0; i < sizeof once / sizeof *once; i++)
        assert_string_equal(argument(stage(&p, once[i]), "--seed"), "5");
    assert_int_equal(p.e4_model, MODEL_BASELINE);
    report_pipeline_free(&p);
}

static void test_e4_protocol(void **state)
{
    (void)state;
    report_preset preset = *report_preset_find("tiny");
    preset.e4 = (report_protocol){.train_images = 192, .width = 8, .epochs = 3, .lr = 0.02, .lr_milestones = "2",
                                  .augment = 0};
    static report_pipeline p;
    build(&p, &preset, 2, 0);
    assert_int_equal(p.e4_model, MODEL_E4_BASELINE);
    const report_stage *data = stage(&p, "data");
    assert_string_equal(argument(data, "--e4-train-images"), "192");
    assert_string_equal(argument(stage(&p, "hars-build"), "--input"), "out/data/train_e4.bin");
    for (int k = 0; k < 2; k++) {
        char name[64];
        snprintf(name, sizeof name, "e4-baseline-train-s%d", k);
        const report_stage *e4 = stage(&p, name);
        snprintf(name, sizeof name, "hars-train-s%d", k);
        const report_stage *hars = stage(&p, name);
        snprintf(name, sizeof name, "baseline-train-s%d", k);
        const report_stage *base = stage(&p, name);
        /* f_hars and its baseline: the E4 protocol; the main baseline: the preset's */
        const report_stage *both[2] = {e4, hars};
        for (int i = 0; i < 2; i++) {
            assert_string_equal(argument(both[i], "--width"), "8");
            assert_string_equal(argument(both[i], "--epochs"), "3");
            assert_string_equal(argument(both[i], "--lr"), "0.02");
            assert_string_equal(argument(both[i], "--lr-milestones"), "2");
            assert_true(has_flag(both[i], "--no-augment"));
        }
        assert_string_equal(argument(e4, "--train-data"), "out/data/train_e4.bin");
        assert_string_equal(argument(base, "--width"), "4");
        assert_null(argument(base, "--lr"));
        assert_false(has_flag(base, "--no-augment"));
        snprintf(name, sizeof name, "e4-baseline-sweep-s%d", k);
        stage(&p, name);
    }
    printf("[E4 protocol differs] %d stages, e4-baseline trained per seed with the E4 protocol\n", p.count);
    report_pipeline_free(&p);
}

static void test_seed_limits(void **state)
{
    (void)state;
    static report_pipeline p;
    memset(&p, 0, sizeof p);
    p.preset = report_preset_find("laptop");
    p.seeds = REPORT_MAX_SEEDS + 1;
    assert_int_equal(report_pipeline_build(&p), FB_ERR_USAGE);
    report_pipeline_free(&p);
    build(&p, report_preset_find("laptop"), REPORT_MAX_SEEDS, 0);
    printf("[laptop, %d seeds] %d stages\n", REPORT_MAX_SEEDS, p.count);
    report_pipeline_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seeds),
        cmocka_unit_test(test_e4_protocol),
        cmocka_unit_test(test_seed_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
