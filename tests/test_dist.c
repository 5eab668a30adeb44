/* test_dist.c — the MPI layer (freqbias/dist.h): the tree allreduce gives
 * one process's bits, the gather puts rows in image order.
 *
 * Run as one process (every build; the layer is then the identity) and, in
 * an MPI=1 build, under `mpirun -np R` for R = 1, 2, 4, 8
 * (tests/mpi_check.sh). Every rank checks its own result; rank 0 gathers
 * the ranks' verdicts and prints one line per comparison.
 *
 * The allreduce test: per-sample values v[s][e] for a batch of N samples
 * (N = 128, 20, 5; with 8 ranks and N = 20 or 5 some ranks own empty
 * shards), spread over many binades so that the order of additions shows
 * in the bits. The reference is the batch tree summed by one process
 * (tree_sum over [0, N), core/batch_tree.h); each rank sums only its shard
 * node the same way and fb_dist_tree_allreduce_* must return exactly the
 * reference on every rank. The test can fail: it also checks that a plain
 * chain over the samples gives different bits for the same data, and one
 * column holds −0.0 in every sample, whose sum is −0.0 only if an empty
 * shard passes its partner's value up instead of adding +0.
 *
 * A process started by a rank (as `freqbias report` starts its stages) must
 * run alone instead of failing in MPI_Init: rank 0 runs this program again
 * with --child, which must find itself rank 0 of 1.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/batch_tree.h"
#include "freqbias/dist.h"
#include "testutil.h"

enum { COLUMNS = 67 }; /* values per sample; column 0 is −0.0 everywhere */

/* values[N, COLUMNS]: uniform in [−1, 1) times 2^k, k in [−24, 24) */
static void make_values_f64(double *values, int samples, uint64_t seed)
{
    double *scale = malloc((size_t)samples * COLUMNS * sizeof(double));
    assert_non_null(scale);
    fill_uniform_f64(values, (size_t)samples * COLUMNS, seed, -1.0, 1.0);
    fill_uniform_f64(scale, (size_t)samples * COLUMNS, seed + 1, -24.0, 24.0);
    for (size_t i = 0; i < (size_t)samples * COLUMNS; i++)
        values[i] = i % COLUMNS == 0 ? -0.0 : values[i] * ldexp(1.0, (int)floor(scale[i]));
    free(scale);
}

/* The batch tree's sum of node [lo, hi) into sum[COLUMNS]: a leaf is a
 * chain, lo first; otherwise left + right. An empty node sums to +0. */
static void tree_sum_f32(float *sum, const float *values, fb_tree_node node)
{
    if (fb_tree_is_leaf(node)) {
        for (int e = 0; e < COLUMNS; e++)
            sum[e] = node.hi > node.lo ? values[(size_t)node.lo * COLUMNS + e] : 0.0f;
        for (int s = node.lo + 1; s < node.hi; s++)
            for (int e = 0; e < COLUMNS; e++)
                sum[e] += values[(size_t)s * COLUMNS + e];
        return;
    }
    float left[COLUMNS], right[COLUMNS];
    tree_sum_f32(left, values, fb_tree_left(node));
    tree_sum_f32(right, values, fb_tree_right(node));
    for (int e = 0; e < COLUMNS; e++)
        sum[e] = left[e] + right[e];
}

static void tree_sum_f64(double *sum, const double *values, fb_tree_node node)
{
    if (fb_tree_is_leaf(node)) {
        for (int e = 0; e < COLUMNS; e++)
            sum[e] = node.hi > node.lo ? values[(size_t)node.lo * COLUMNS + e] : 0.0;
        for (int s = node.lo + 1; s < node.hi; s++)
            for (int e = 0; e < COLUMNS; e++)
                sum[e] += values[(size_t)s * COLUMNS + e];
        return;
    }
    double left[COLUMNS], right[COLUMNS];
    tree_sum_f64(left, values, fb_tree_left(node));
    tree_sum_f64(right, values, fb_tree_right(node));
    for (int e = 0; e < COLUMNS; e++)
        sum[e] = left[e] + right[e];
}

/* Every rank's count of differing words, gathered; rank 0 prints one line
 * and every rank fails if any rank differs. */
static void agree_everywhere(const char *what, int my_differences)
{
    int size = fb_dist_size(), rank = fb_dist_rank();
    int *differences = calloc((size_t)size, sizeof(int)); /* [ranks] */
    assert_non_null(differences);
    differences[rank] = my_differences;
    assert_int_equal(fb_dist_gather_rows(differences, sizeof(int), size, rank, 1), FB_OK);
    if (fb_dist_is_root()) {
        int total = 0;
        printf("[%s] ranks=%d differing words per rank:", what, size);
        for (int r = 0; r < size; r++) {
            printf(" %d", differences[r]);
            total += differences[r];
        }
        printf(" %s\n", total ? "DIFFERENT" : "ok (bit-identical to one process)");
        assert_int_equal(total, 0);
    }
    free(differences);
    assert_int_equal(my_differences, 0);
}

static int differing_words(const void *a, const void *b, size_t words, size_t word_bytes)
{
    int count = 0;
    for (size_t i = 0; i < words; i++)
        count += memcmp((const char *)a + i * word_bytes, (const char *)b + i * word_bytes, word_bytes) != 0;
    return count;
}

static void tree_allreduce_matches_one_process(void **state)
{
    (void)state;
    static const int batches[] = {128, 20, 5};
    for (size_t t = 0; t < sizeof batches / sizeof *batches; t++) {
        int n = batches[t];
        fb_tree_node root = {0, n};
        fb_tree_node shard = fb_tree_shard(n, fb_dist_rank(), fb_dist_size());
        double *values64 = malloc((size_t)n * COLUMNS * sizeof(double)); /* [n, COLUMNS] */
        float *values32 = malloc((size_t)n * COLUMNS * sizeof(float));   /* [n, COLUMNS] */
        assert_non_null(values64);
        assert_non_null(values32);
        make_values_f64(values64, n, 1000 + (uint64_t)n);
        for (size_t i = 0; i < (size_t)n * COLUMNS; i++)
            values32[i] = (float)values64[i];

        float want32[COLUMNS], got32[COLUMNS], chain32[COLUMNS];
        double want64[COLUMNS], got64[COLUMNS];
        tree_sum_f32(want32, values32, root);
        tree_sum_f64(want64, values64, root);
        tree_sum_f32(got32, values32, shard);
        tree_sum_f64(got64, values64, shard);
        assert_int_equal(fb_dist_tree_allreduce_f32(got32, COLUMNS, n), FB_OK);
        assert_int_equal(fb_dist_tree_allreduce_f64(got64, COLUMNS, n), FB_OK);

        /* the data is order-sensitive: a chain over the samples differs */
        for (int e = 0; e < COLUMNS; e++) {
            chain32[e] = values32[e];
            for (int s = 1; s < n; s++)
                chain32[e] += values32[(size_t)s * COLUMNS + e];
        }
        int chain_differs = differing_words(chain32, want32, COLUMNS, sizeof(float));
        assert_true(signbit(want32[0]) && signbit(want64[0])); /* −0.0 stays −0.0 */
        if (fb_dist_is_root())
            printf("[tree N=%d] shard of rank 0 [%d, %d); a chain over the samples differs from the tree "
                   "in %d of %d columns\n", n, shard.lo, shard.hi, chain_differs, COLUMNS);
        if (n >= 20)
            assert_true(chain_differs > 0);
        agree_everywhere(label("allreduce f32 N=%d", n),
                         differing_words(got32, want32, COLUMNS, sizeof(float)));
        agree_everywhere(label("allreduce f64 N=%d", n),
                         differing_words(got64, want64, COLUMNS, sizeof(double)));
        free(values64);
        free(values32);
    }
}

/* rows[total, 3] of int: row i = (i, 7 i, −i), each rank filling its shard */
static void gather_puts_rows_in_order(void **state)
{
    (void)state;
    static const int totals[] = {37, 3, 1};
    for (size_t t = 0; t < sizeof totals / sizeof *totals; t++) {
        int total = totals[t], first, count;
        fb_dist_shard(total, &first, &count);
        int *rows = calloc((size_t)total * 3, sizeof(int)); /* [total, 3] */
        assert_non_null(rows);
        for (int i = first; i < first + count; i++) {
            rows[3 * i] = i;
            rows[3 * i + 1] = 7 * i;
            rows[3 * i + 2] = -i;
        }
        assert_int_equal(fb_dist_gather_rows(rows, 3 * sizeof(int), total, first, count), FB_OK);
        if (fb_dist_is_root()) {
            int wrong = 0;
            for (int i = 0; i < total; i++)
                wrong += rows[3 * i] != i || rows[3 * i + 1] != 7 * i || rows[3 * i + 2] != -i;
            printf("[gather] %d rows over %d ranks (rank 0 owns [%d, %d)): %d wrong rows\n", total,
                   fb_dist_size(), first, first + count, wrong);
            assert_int_equal(wrong, 0);
        }
        free(rows);
    }
}

/* Ranges that do not tile [0, total) in rank order are refused on every
 * rank (here: each rank claims every row). */
static void gather_refuses_overlapping_rows(void **state)
{
    (void)state;
    if (fb_dist_size() == 1) {
        printf("[gather overlap] skipped: with one process, holding every row is the valid case\n");
        skip();
    }
    int rows[8] = {0};
    fb_status status = fb_dist_gather_rows(rows, sizeof(int), 8, 0, 8);
    if (fb_dist_is_root())
        printf("[gather overlap] %s\n", fb_error_message());
    assert_int_equal(status, FB_ERR_USAGE);
}

static const char *program; /* argv[0], for the child run */

static void a_child_of_a_rank_runs_alone(void **state)
{
    (void)state;
    if (!fb_dist_is_root())
        return;
    char command[1200];
    snprintf(command, sizeof command, "%s --child", program);
    int code = system(command);
    printf("[child] '%s' exited with %d (0: it ran as rank 0 of 1)\n", command, code);
    assert_int_equal(code, 0);
}

static void shards_are_balanced_and_contiguous(void **state)
{
    (void)state;
    int size = fb_dist_size();
    for (int items = 0; items < 20; items++) {
        int covered = 0;
        for (int rank = 0; rank < size; rank++) {
            long long begin = (long long)items * rank / size, end = (long long)items * (rank + 1) / size;
            assert_int_equal(begin, covered);
            assert_true(end - begin == items / size || end - begin == items / size + 1);
            covered = (int)end;
        }
        assert_int_equal(covered, items);
        int first, count;
        fb_dist_shard(items, &first, &count);
        assert_int_equal(first, (long long)items * fb_dist_rank() / size);
        assert_int_equal(first + count, (long long)items * (fb_dist_rank() + 1) / size);
    }
}

int main(int argc, char **argv)
{
    program = argv[0];
    int child = argc > 1 && strcmp(argv[1], "--child") == 0;
    if (fb_dist_init(&argc, &argv) != FB_OK) {
        fprintf(stderr, "test_dist: %s\n", fb_error_message());
        fb_dist_finalize();
        return 1;
    }
    if (child) {
        int alone = fb_dist_size() == 1 && fb_dist_rank() == 0;
        fb_dist_finalize();
        return alone ? 0 : 1;
    }
    if (fb_dist_is_root())
        printf("test_dist: %d rank%s (%s)\n", fb_dist_size(), fb_dist_size() == 1 ? "" : "s",
               fb_dist_library());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tree_allreduce_matches_one_process),
        cmocka_unit_test(gather_puts_rows_in_order),
        cmocka_unit_test(gather_refuses_overlapping_rows),
        cmocka_unit_test(shards_are_balanced_and_contiguous),
        cmocka_unit_test(a_child_of_a_rank_runs_alone),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    fb_dist_finalize();
    return failed ? 1 : 0;
}
