/* test_rng.c — tests for the counter-based generator (src/core/rng.c).
 *
 * Known answers: Philox4x32-10 must reproduce the published Random123
 * known-answer vectors (kat_vectors: counter and key all zero, all ones, and
 * the digits of pi), so freqbias draws the same bits as cuRAND, PyTorch and
 * any other Philox implementation given the same counter and key.
 * Mapping: fb_rng_words puts (seed, stream, epoch, index) into key and
 * counter as rng.h documents.
 * Distributions: fb_rng_uniform lies in [0, 1) on a 2^-24 grid, with mean
 * 1/2 and variance 1/12 over 10^6 draws (within 5 standard errors);
 * fb_rng_below stays below its bound and passes a chi-square test.
 * Counter-based means stateless: the numbers do not depend on the order of
 * the calls, on other calls in between, or on the thread that draws them.
 * Also the test helpers built on the generator (fill_uniform, temp folders).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "freqbias/rng.h"
#include "freqbias/runtime.h"
#include "testutil.h"

/* Standard errors a sample statistic may stray before a test fails; the
 * data are fixed, so a pass is deterministic, not lucky. */
#define SIGMAS 5.0

typedef struct philox_kat {
    const char *name;
    uint32_t counter[4];
    uint32_t key[2];
    uint32_t expected[4];
} philox_kat;

/* Random123 kat_vectors, "philox4x32 10" lines. */
static const philox_kat philox_kats[] = {
    {"zeros", {0, 0, 0, 0}, {0, 0}, {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}},
    {"ones",
     {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
     {0xffffffffu, 0xffffffffu},
     {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}},
    {"pi digits",
     {0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
     {0xa4093822u, 0x299f31d0u},
     {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}},
};

static void test_philox_known_answers(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < sizeof philox_kats / sizeof *philox_kats; i++) {
        const philox_kat *kat = &philox_kats[i];
        uint32_t got[4];
        fb_philox4x32(kat->counter, kat->key, got);
        int ok = memcmp(got, kat->expected, sizeof got) == 0;
        printf("[philox4x32-10 KAT %s] got %08x %08x %08x %08x want %08x %08x %08x %08x %s\n",
               kat->name, got[0], got[1], got[2], got[3], kat->expected[0], kat->expected[1],
               kat->expected[2], kat->expected[3], ok ? "ok" : "FAIL");
        failures += !ok;
    }
    assert_int_equal(failures, 0);
}

/* key = (seed low, seed high), counter = (index low, index high, epoch, stream) */
static void test_words_mapping(void **state)
{
    (void)state;
    const uint64_t seed = 0x0123456789abcdefull, index = 0x0000000500000007ull;
    const uint32_t stream = FB_STREAM_AUGMENT, epoch = 11;
    const uint32_t counter[4] = {0x00000007u, 0x00000005u, epoch, stream};
    const uint32_t key[2] = {0x89abcdefu, 0x01234567u};
    uint32_t via_words[4], via_philox[4];
    fb_rng_words(seed, stream, epoch, index, via_words);
    fb_philox4x32(counter, key, via_philox);
    assert_true(compare_bits("fb_rng_words = philox(counter(index, epoch, stream), key(seed))",
                             via_words, via_philox, sizeof via_words));

    /* and the uniform float is the top 24 bits of the first word */
    float u = fb_rng_uniform(seed, stream, epoch, index);
    float expected = (float)(via_words[0] >> 8) / 16777216.0f;
    printf("[fb_rng_uniform = (word0 >> 8) / 2^24] got %.9g want %.9g %s\n", u, expected,
           u == expected ? "ok" : "FAIL");
    assert_true(u == expected);
}

static void test_uniform_distribution(void **state)
{
    (void)state;
    const uint64_t draws = 1000000, seed = 20240601;
    double sum = 0.0, squares = 0.0, smallest = 1.0, largest = 0.0;
    uint64_t outside = 0, off_grid = 0;
    for (uint64_t i = 0; i < draws; i++) {
        float u = fb_rng_uniform(seed, FB_STREAM_DATA, 0, i);
        outside += !(u >= 0.0f && u < 1.0f);
        double scaled = (double)u * 16777216.0;
        off_grid += scaled != floor(scaled);
        sum += u;
        squares += (double)u * u;
        smallest = fmin(smallest, u);
        largest = fmax(largest, u);
    }
    double mean = sum / draws, variance = squares / draws - mean * mean;
    double mean_error = sqrt(1.0 / 12.0 / draws);
    /* the standard deviation of (u − ½)² is √(1/80 − 1/144) */
    double variance_error = sqrt((1.0 / 80.0 - 1.0 / 144.0) / draws);
    int mean_ok = fabs(mean - 0.5) <= SIGMAS * mean_error;
    int variance_ok = fabs(variance - 1.0 / 12.0) <= SIGMAS * variance_error;
    printf("[uniform 1e6 draws] outside [0,1): %llu, off the 2^-24 grid: %llu, min %.3g max %.9g\n",
           (unsigned long long)outside, (unsigned long long)off_grid, smallest, largest);
    printf("[uniform 1e6 draws] mean %.6f (|mean-0.5| = %.2e, limit %.2e) %s\n", mean,
           fabs(mean - 0.5), SIGMAS * mean_error, mean_ok ? "ok" : "FAIL");
    printf("[uniform 1e6 draws] variance %.6f (|var-1/12| = %.2e, limit %.2e) %s\n", variance,
           fabs(variance - 1.0 / 12.0), SIGMAS * variance_error, variance_ok ? "ok" : "FAIL");
    assert_int_equal(outside, 0);
    assert_int_equal(off_grid, 0);
    assert_true(mean_ok);
    assert_true(variance_ok);
}

/* Pearson chi-square of `draws` values of fb_rng_below(bound) against the
 * flat distribution; returns 1 when below the limit for bound − 1 degrees
 * of freedom (the 1e-6 upper tail, via the Wilson–Hilferty approximation). */
static int below_is_flat(uint32_t bound, uint64_t draws, uint64_t seed)
{
    uint64_t *histogram = calloc(bound, sizeof *histogram);
    assert_non_null(histogram);
    uint64_t outside = 0;
    for (uint64_t i = 0; i < draws; i++) {
        uint32_t value = fb_rng_below(seed, FB_STREAM_DATA, 2, i, bound);
        if (value >= bound)
            outside++;
        else
            histogram[value]++;
    }
    double expected = (double)draws / bound, chi_square = 0.0;
    for (uint32_t v = 0; v < bound; v++)
        chi_square += (histogram[v] - expected) * (histogram[v] - expected) / expected;
    free(histogram);
    double dof = bound - 1.0, z = 4.753; /* the normal quantile of 1 − 1e-6 */
    double term = 2.0 / (9.0 * dof);
    double limit = dof * pow(1.0 - term + z * sqrt(term), 3.0);
    int ok = outside == 0 && chi_square <= limit;
    printf("[below %u, %llu draws] outside: %llu, chi-square %.1f (dof %.0f, limit %.1f) %s\n",
           bound, (unsigned long long)draws, (unsigned long long)outside, chi_square, dof, limit,
           ok ? "ok" : "FAIL");
    return ok;
}

/* For bounds too large to histogram: in range, and the mean is bound/2. */
static int below_large_is_centred(uint32_t bound, uint64_t draws, uint64_t seed)
{
    uint64_t outside = 0;
    double sum = 0.0;
    for (uint64_t i = 0; i < draws; i++) {
        uint32_t value = fb_rng_below(seed, FB_STREAM_DATA, 3, i, bound);
        outside += value >= bound;
        sum += (double)value / bound;
    }
    double mean = sum / draws, limit = SIGMAS * sqrt(1.0 / 12.0 / draws);
    int ok = outside == 0 && fabs(mean - 0.5) <= limit;
    printf("[below %u, %llu draws] outside: %llu, mean/bound %.5f (limit ±%.1e) %s\n", bound,
           (unsigned long long)draws, (unsigned long long)outside, mean, limit, ok ? "ok" : "FAIL");
    return ok;
}

static void test_below(void **state)
{
    (void)state;
    int failures = 0;
    for (uint64_t i = 0; i < 1000; i++)
        failures += fb_rng_below(7, FB_STREAM_DATA, 0, i, 1) != 0;
    printf("[below 1] always 0 over 1000 draws %s\n", failures ? "FAIL" : "ok");
    failures += !below_is_flat(2, 200000, 1);
    failures += !below_is_flat(3, 300000, 2);
    failures += !below_is_flat(10, 1000000, 3);
    failures += !below_is_flat(1000, 1000000, 4);
    failures += !below_large_is_centred(0x80000001u, 200000, 5);
    failures += !below_large_is_centred(0xffffffffu, 200000, 6);
    assert_int_equal(failures, 0);
}

/* Drawing index i gives the same number forwards, backwards, interleaved with
 * unrelated draws, and from any OpenMP thread. */
static void test_order_independence(void **state)
{
    (void)state;
    enum { COUNT = 4096 };
    const uint64_t seed = 99;
    static float forwards[COUNT], backwards[COUNT], interleaved[COUNT], threaded[COUNT];
    static uint32_t below_forwards[COUNT], below_backwards[COUNT];
    for (int i = 0; i < COUNT; i++) {
        forwards[i] = fb_rng_uniform(seed, FB_STREAM_SHUFFLE, 4, (uint64_t)i);
        below_forwards[i] = fb_rng_below(seed, FB_STREAM_SHUFFLE, 4, (uint64_t)i, 1000);
    }
    for (int i = COUNT - 1; i >= 0; i--) {
        backwards[i] = fb_rng_uniform(seed, FB_STREAM_SHUFFLE, 4, (uint64_t)i);
        below_backwards[i] = fb_rng_below(seed, FB_STREAM_SHUFFLE, 4, (uint64_t)i, 1000);
    }
    for (int i = 0; i < COUNT; i++) {
        int index = (i * 1237) % COUNT; /* a permutation: 1237 is coprime to 4096 */
        (void)fb_rng_uniform(seed + 1, FB_STREAM_AUGMENT, 0, (uint64_t)i);
        interleaved[index] = fb_rng_uniform(seed, FB_STREAM_SHUFFLE, 4, (uint64_t)index);
    }
#pragma omp parallel for schedule(dynamic, 7)
    for (int i = 0; i < COUNT; i++)
        threaded[i] = fb_rng_uniform(seed, FB_STREAM_SHUFFLE, 4, (uint64_t)i);

    int ok = 1;
    ok &= compare_bits("uniform forwards vs backwards", forwards, backwards, sizeof forwards);
    ok &= compare_bits("uniform forwards vs permuted + interleaved", forwards, interleaved,
                       sizeof forwards);
    ok &= compare_bits("uniform forwards vs OpenMP threads", forwards, threaded, sizeof forwards);
    ok &= compare_bits("below forwards vs backwards", below_forwards, below_backwards,
                       sizeof below_forwards);
    assert_true(ok);
}

/* Changing any one coordinate gives unrelated words. */
static void test_coordinates_separate(void **state)
{
    (void)state;
    uint32_t base[4], other[4];
    fb_rng_words(1, FB_STREAM_INIT, 0, 0, base);
    const struct {
        const char *name;
        uint64_t seed, index;
        uint32_t stream, epoch;
    } changes[] = {
        {"seed", 2, 0, FB_STREAM_INIT, 0},
        {"seed high half", 1 | (1ull << 32), 0, FB_STREAM_INIT, 0},
        {"stream", 1, 0, FB_STREAM_SHUFFLE, 0},
        {"epoch", 1, 0, FB_STREAM_INIT, 1},
        {"index", 1, 1, FB_STREAM_INIT, 0},
        {"index high half", 1, 1ull << 32, FB_STREAM_INIT, 0},
    };
    int failures = 0;
    for (size_t i = 0; i < sizeof changes / sizeof *changes; i++) {
        fb_rng_words(changes[i].seed, changes[i].stream, changes[i].epoch, changes[i].index, other);
        int same_words = 0;
        for (int w = 0; w < 4; w++)
            same_words += base[w] == other[w];
        printf("[change %s] %d of 4 words unchanged %s\n", changes[i].name, same_words,
               same_words == 0 ? "ok" : "FAIL");
        failures += same_words != 0;
    }
    assert_int_equal(failures, 0);
}

/* ---- the test helpers built on the generator ------------------------------ */

static void test_fill_uniform(void **state)
{
    (void)state;
    enum { COUNT = 10000 };
    static float values[COUNT], again[COUNT];
    static double wide[COUNT];
    fill_uniform(values, COUNT, 5, -2.0f, 3.0f);
    fill_uniform(again, COUNT, 5, -2.0f, 3.0f);
    fill_uniform_f64(wide, COUNT, 5, -2.0, 3.0);
    int in_range = 1;
    for (int i = 0; i < COUNT; i++)
        in_range &= values[i] >= -2.0f && values[i] < 3.0f && wide[i] >= -2.0 && wide[i] < 3.0;
    float expected = -2.0f + 5.0f * fb_rng_uniform(5, FB_STREAM_DATA, 0, 17);
    printf("[fill_uniform] all in [-2,3): %s; value 17 = %.9g, from fb_rng_uniform %.9g\n",
           in_range ? "yes" : "no", values[17], expected);
    assert_true(in_range);
    assert_true(fabsf(values[17] - expected) <= 1e-6f);
    assert_true(compare_bits("fill_uniform same seed twice", values, again, sizeof values));
}

static void test_temp_dir(void **state)
{
    (void)state;
    char *root = make_temp_dir();
    assert_non_null(root);
    char path[512];
    snprintf(path, sizeof path, "%s/nested", root);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof path, "%s/nested/file.bin", root);
    FILE *stream = fopen(path, "wb");
    assert_non_null(stream);
    fputs("x", stream);
    fclose(stream);
    remove_tree(root);
    struct stat info;
    int gone = stat(root, &info) != 0;
    printf("[make_temp_dir %s] removed with its contents: %s\n", root, gone ? "yes" : "no");
    free(root);
    assert_true(gone);
}

int main(int argc, char **argv)
{
    fb_runtime_init(argc, argv);
    const struct CMUnitTest rng_tests[] = {
        cmocka_unit_test(test_philox_known_answers),
        cmocka_unit_test(test_words_mapping),
        cmocka_unit_test(test_uniform_distribution),
        cmocka_unit_test(test_below),
        cmocka_unit_test(test_order_independence),
        cmocka_unit_test(test_coordinates_separate),
    };
    const struct CMUnitTest helper_tests[] = {
        cmocka_unit_test(test_fill_uniform),
        cmocka_unit_test(test_temp_dir),
    };
    int failures = cmocka_run_group_tests_name("rng", rng_tests, NULL, NULL);
    failures += cmocka_run_group_tests_name("test helpers", helper_tests, NULL, NULL);
    return failures != 0;
}
