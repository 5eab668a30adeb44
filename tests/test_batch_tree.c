/* test_batch_tree.c — the batch reduction tree (core/batch_tree.h) and the
 * promise built on it: a batch split into shards gives the bits of the
 * whole batch.
 *
 * 1. The rule: for every batch size up to 300, the leaves tile [0, N) in
 *    order with 1..4 samples each, every inner node splits at
 *    lo + ⌈n/2⌉, fb_tree_depth / fb_tree_leaf_count / fb_tree_is_node /
 *    fb_tree_frontier agree with a walk written here from the rule, and the
 *    shards of R = 1..16 ranks are nodes (or empty), in rank order, tiling
 *    the batch, of ⌊N/R⌋ or ⌈N/R⌉ samples when N ≥ 4R.
 * 2. tree_reduce (the cpu backend's vector tree): bit-identical to a plain
 *    recursive sum written here from the rule, for 1..9 threads and several
 *    batch sizes; and the workspace it asks for at batch 128 is the stated
 *    5 / 9 / 31 partials for 1 / 2 / 32 threads.
 * 3. Shards of the ops: for cpu-ref and cpu (1 and 2 OpenMP threads), batch
 *    128, 20 and 5, and R = 1, 2, 4, 8 ranks (each a POSIX thread holding
 *    the shard fb_tree_shard gives it, combining through a barrier in the
 *    tree's order — what the MPI layer does), every batch-summing op is run
 *    on the shards and compared bit for bit with the op on the whole batch:
 *    the filter gradient of a convolution on each path of the cpu backend
 *    (direct 3×3, channel-vectorised small maps, im2col + sgemm with leaves
 *    gathered or chained per sample, the 1×1 direct GEMM, a filter gradient
 *    cut into two blocks of input channels — cpu only) and a conv bias
 *    gradient, the linear layer's dW and db, BatchNorm's outputs, saved
 *    statistics, running statistics, din, dγ and dβ, and the loss and its
 *    gradient. Partial sums (weight gradients, dγ, dβ) are combined across
 *    the shards with the same tree before the comparison. With R = 8 and a
 *    batch of 5 some shards are empty, as the contract says.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu_conv3x3.h"
#include "backend/cpu_conv_small.h"
#include "backend/tree_reduce.h"
#include "core/batch_tree.h"
#include "freqbias/backend.h"
#include "freqbias/batch_view.h"
#include "freqbias/model.h"
#include "freqbias/runtime.h"
#include "testutil.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- 1. the rule ----------------------------------------------------------- */

/* Every node of the tree over [lo, hi), in pre-order, written from the rule. */
typedef struct node_list {
    fb_tree_node node[1024];
    int count;
    fb_tree_node leaf[512];
    int leaves, depth;
} node_list;

static void enumerate(node_list *list, int lo, int hi, int depth)
{
    list->node[list->count++] = (fb_tree_node){lo, hi};
    if (depth > list->depth)
        list->depth = depth;
    if (hi - lo <= 4) {
        list->leaf[list->leaves++] = (fb_tree_node){lo, hi};
        return;
    }
    int mid = lo + (hi - lo + 1) / 2;
    enumerate(list, lo, mid, depth + 1);
    enumerate(list, mid, hi, depth + 1);
}

static int in_list(const node_list *list, fb_tree_node node)
{
    for (int i = 0; i < list->count; i++)
        if (list->node[i].lo == node.lo && list->node[i].hi == node.hi)
            return 1;
    return 0;
}

static void test_tree_rule(void **state)
{
    (void)state;
    int failures = 0, checked_nodes = 0;
    static node_list list;
    for (int n = 1; n <= 300; n++) {
        memset(&list, 0, sizeof list);
        enumerate(&list, 0, n, 0);
        /* leaves tile [0, n) in order, 1..4 samples each */
        int expect = 0;
        for (int i = 0; i < list.leaves; i++) {
            fb_tree_node leaf = list.leaf[i];
            if (leaf.lo != expect || leaf.hi - leaf.lo < 1 || leaf.hi - leaf.lo > 4)
                failures++;
            expect = leaf.hi;
        }
        failures += expect != n;
        failures += fb_tree_depth(n) != list.depth;
        failures += fb_tree_leaf_count(n) != list.leaves;
        /* the header's walk (left/right/mid) visits the same nodes */
        for (int i = 0; i < list.count; i++) {
            fb_tree_node node = list.node[i];
            failures += !fb_tree_is_node(n, node);
            failures += fb_tree_is_leaf(node) != (node.hi - node.lo <= 4);
            if (!fb_tree_is_leaf(node)) {
                failures += fb_tree_mid(node) != node.lo + (node.hi - node.lo + 1) / 2;
                failures += !in_list(&list, fb_tree_left(node)) || !in_list(&list, fb_tree_right(node));
            }
            checked_nodes++;
        }
        /* fb_tree_is_node says no to every other interval (small n: all of them) */
        if (n <= 40)
            for (int lo = 0; lo < n; lo++)
                for (int hi = lo + 1; hi <= n; hi++) {
                    fb_tree_node node = {lo, hi};
                    failures += fb_tree_is_node(n, node) != in_list(&list, node);
                }
        /* frontier: nodes of the tree tiling [0, n), at most 2^levels */
        for (int levels = 0; levels <= 6; levels++) {
            fb_tree_node frontier[64];
            int count = fb_tree_frontier((fb_tree_node){0, n}, levels, frontier, 64);
            int at = 0;
            failures += count < 1 || count > (1 << levels);
            for (int i = 0; i < count; i++) {
                failures += frontier[i].lo != at || !in_list(&list, frontier[i]);
                at = frontier[i].hi;
            }
            failures += at != n;
        }
        /* shards of R ranks: nodes or empty, rank order = sample order */
        for (int ranks = 1; ranks <= 16; ranks *= 2) {
            int at = 0;
            for (int r = 0; r < ranks; r++) {
                fb_tree_node shard = fb_tree_shard(n, r, ranks);
                failures += shard.lo != at;
                if (shard.hi > shard.lo)
                    failures += !in_list(&list, shard);
                if (n >= 4 * ranks)
                    failures += shard.hi - shard.lo != n / ranks &&
                                shard.hi - shard.lo != (n + ranks - 1) / ranks;
                at = shard.hi;
            }
            failures += at != n;
        }
    }
    failures += fb_tree_depth(128) != 5 || fb_tree_leaf_count(128) != 32;
    failures += fb_tree_ranks_valid(3) || !fb_tree_ranks_valid(8);
    printf("[tree rule] batch 1..300: %d nodes checked (leaves, splits, depth, is_node, frontier, "
           "shards for R = 1..16); %d failures\n", checked_nodes, failures);
    assert_int_equal(failures, 0);
}

/* ---- 2. the vector reducer ------------------------------------------------- */

enum { VEC = 37 };

/* sample n's vector: v[n][i] = a value with a full mantissa */
static float sample_value(int n, int i)
{
    uint32_t x = (uint32_t)(n * 7919 + i * 104729 + 1) * 2654435761u;
    return ((float)(x >> 8) / 16777216.0f - 0.5f) * (1.0f + (float)(i % 5));
}

/* the leaf's chain, sample by sample, element by element */
static void chain_leaf(float *partial, fb_tree_node leaf, int thread, void *ctx)
{
    (void)thread;
    (void)ctx;
    for (int i = 0; i < VEC; i++) {
        float sum = sample_value(leaf.lo, i);
        for (int n = leaf.lo + 1; n < leaf.hi; n++)
            sum += sample_value(n, i);
        partial[i] = sum;
    }
}

/* the rule written plainly: one element at a time */
static float reference_sum(int lo, int hi, int i)
{
    if (hi - lo <= 4) {
        float sum = sample_value(lo, i);
        for (int n = lo + 1; n < hi; n++)
            sum += sample_value(n, i);
        return sum;
    }
    int mid = lo + (hi - lo + 1) / 2;
    return reference_sum(lo, mid, i) + reference_sum(mid, hi, i);
}

static void test_tree_reduce(void **state)
{
    (void)state;
    static const int batches[] = {1, 4, 5, 9, 20, 67, 128, 200};
    int failures = 0, runs = 0;
    for (size_t b = 0; b < COUNT_OF(batches); b++) {
        int batch = batches[b];
        float want[VEC];
        for (int i = 0; i < VEC; i++)
            want[i] = reference_sum(0, batch, i);
        for (int threads = 1; threads <= 9; threads++) {
            int saved = fb_get_threads();
            fb_set_threads(threads);
            tree_plan plan = tree_plan_make(batch, VEC, threads);
            size_t floats = tree_plan_floats(&plan);
            float *workspace = aligned_alloc(64, (floats + 31) / 16 * 16 * sizeof(float)); /* a multiple of 64 bytes */
            float got[VEC];
            tree_reduce(got, &plan, workspace, chain_leaf, NULL);
            fb_set_threads(saved);
            free(workspace);
            if (memcmp(got, want, sizeof got) != 0) {
                printf("[tree_reduce] batch %d, %d threads: differs from the plain tree FAIL\n",
                       batch, threads);
                failures++;
            }
            runs++;
        }
    }
    tree_plan one = tree_plan_make(128, 16, 1), two = tree_plan_make(128, 16, 2),
              many = tree_plan_make(128, 16, 32), more = tree_plan_make(128, 16, 64);
    size_t partials[4] = {tree_plan_floats(&one) / 16, tree_plan_floats(&two) / 16,
                          tree_plan_floats(&many) / 16, tree_plan_floats(&more) / 16};
    printf("[tree_reduce] %d runs (8 batch sizes × 1..9 threads) bit-identical to the plain tree: "
           "%s; batch 128 workspace in partials: 1 thread %zu, 2 threads %zu, 32 threads %zu "
           "(64 asked: %d work, %zu)\n",
           runs, failures ? "NO" : "yes", partials[0], partials[1], partials[2], more.threads,
           partials[3]);
    failures += partials[0] != 5 || partials[1] != 9 || partials[2] != 31 || more.threads != 32;
    assert_int_equal(failures, 0);
}

/* ---- 3. the ops on shards ---------------------------------------------------- */

enum { MAX_RANKS = 8, BN_C = 3, BN_P = 35, LIN_IN = 20, LIN_OUT = 7, CLASSES = 10 };

typedef struct conv_shape {
    const char *name;
    int in_channels, side, out_channels, kernel, stride, pad, bias;
    int cpu_only; /* too slow for cpu-ref's loops at batch 128; its path is the same */
} conv_shape;

/* one per path of the cpu backend (checked in test_conv_paths); the last
 * one's filter gradient (140K floats) is cut into two channel blocks */
static const conv_shape conv_shapes[] = {
    {"direct 3x3", 3, 16, 16, 3, 1, 1, 0, 0},
    {"small maps 3x3", 16, 8, 16, 3, 1, 1, 0, 0},
    {"small maps 1x1 s2", 16, 8, 32, 1, 2, 0, 0, 0},
    {"gemm leaf gathered + bias", 3, 8, 5, 3, 1, 1, 1, 0},
    {"gemm per-sample chain", 3, 24, 4, 3, 1, 1, 0, 0},
    {"gemm 1x1 direct", 5, 24, 3, 1, 1, 0, 0, 0},
    {"gemm 9x9 in 2 channel blocks", 24, 5, 72, 9, 1, 4, 0, 1},
};
#define CONVS ((int)COUNT_OF(conv_shapes))

static fb_conv_geom conv_geom(const conv_shape *c, int batch)
{
    return fb_conv_geom_make(batch, c->in_channels, c->side, c->side, c->out_channels, c->kernel,
                             c->stride, c->pad);
}

static size_t conv_in_floats(const conv_shape *c) { return (size_t)c->in_channels * c->side * c->side; }
static size_t conv_out_floats(const conv_shape *c)
{
    fb_conv_geom g = conv_geom(c, 1);
    return (size_t)c->out_channels * g.out_h * g.out_w;
}
static size_t conv_weight_floats(const conv_shape *c)
{
    return (size_t)c->out_channels * c->in_channels * c->kernel * c->kernel;
}

/* The whole batch's inputs (read by every shard at its offset). */
typedef struct batch_inputs {
    int batch;
    float *conv_in[CONVS], *conv_dout[CONVS];
    float *bn_in, *bn_dout, *bn_gamma, *bn_beta;
    float *lin_in, *lin_dout;
    float *logits;
    int32_t *labels;
} batch_inputs;

/* What one shard (or the whole batch) produces. */
typedef struct op_outputs {
    float *dweight[CONVS], *dbias;       /* partials of the shard        */
    float *lin_dw, *lin_db;              /* partials                      */
    float *bn_out, *bn_din;              /* the shard's samples           */
    float bn_mean[BN_C], bn_invstd[BN_C], bn_run_mean[BN_C], bn_run_var[BN_C];
    float bn_dgamma[BN_C], bn_dbeta[BN_C]; /* whole-batch on lo = 0, −0 elsewhere */
    float loss;
    float *probs, *dlogits;              /* the shard's rows              */
} op_outputs;

static float *random_floats(size_t count, uint64_t seed, float lo, float hi)
{
    float *data = aligned_alloc(64, (count + 31) / 16 * 16 * sizeof(float)); /* a multiple of 64 bytes */
    fill_uniform(data, count, seed, lo, hi);
    return data;
}

static float *zero_floats(size_t count)
{
    float *data = aligned_alloc(64, (count + 31) / 16 * 16 * sizeof(float)); /* a multiple of 64 bytes */
    memset(data, 0, (count + 16) * sizeof(float));
    return data;
}

static void inputs_make(batch_inputs *in, int batch)
{
    in->batch = batch;
    for (int k = 0; k < CONVS; k++) {
        in->conv_in[k] = random_floats(batch * conv_in_floats(&conv_shapes[k]), 100 + k, -1, 1);
        in->conv_dout[k] = random_floats(batch * conv_out_floats(&conv_shapes[k]), 200 + k, -1, 1);
    }
    in->bn_in = random_floats((size_t)batch * BN_C * BN_P, 301, -2, 3);
    in->bn_dout = random_floats((size_t)batch * BN_C * BN_P, 302, -1, 1);
    in->bn_gamma = random_floats(BN_C, 303, 0.5f, 1.5f);
    in->bn_beta = random_floats(BN_C, 304, -0.5f, 0.5f);
    in->lin_in = random_floats((size_t)batch * LIN_IN, 401, -1, 1);
    in->lin_dout = random_floats((size_t)batch * LIN_OUT, 402, -1, 1);
    in->logits = random_floats((size_t)batch * CLASSES, 501, -4, 4);
    in->labels = malloc((size_t)batch * sizeof(int32_t));
    for (int n = 0; n < batch; n++)
        in->labels[n] = (n * 7 + 3) % CLASSES;
}

static void inputs_free(batch_inputs *in)
{
    for (int k = 0; k < CONVS; k++) {
        free(in->conv_in[k]);
        free(in->conv_dout[k]);
    }
    free(in->bn_in); free(in->bn_dout); free(in->bn_gamma); free(in->bn_beta);
    free(in->lin_in); free(in->lin_dout); free(in->logits); free(in->labels);
}

static void outputs_make(op_outputs *out, int samples)
{
    memset(out, 0, sizeof *out);
    for (int k = 0; k < CONVS; k++)
        out->dweight[k] = zero_floats(conv_weight_floats(&conv_shapes[k]));
    out->dbias = zero_floats(64);
    out->lin_dw = zero_floats(LIN_OUT * LIN_IN);
    out->lin_db = zero_floats(LIN_OUT);
    out->bn_out = zero_floats((size_t)samples * BN_C * BN_P);
    out->bn_din = zero_floats((size_t)samples * BN_C * BN_P);
    out->probs = zero_floats((size_t)samples * CLASSES);
    out->dlogits = zero_floats((size_t)samples * CLASSES);
}

static void outputs_free(op_outputs *out)
{
    for (int k = 0; k < CONVS; k++)
        free(out->dweight[k]);
    free(out->dbias); free(out->lin_dw); free(out->lin_db); free(out->bn_out);
    free(out->bn_din); free(out->probs); free(out->dlogits);
}

/* Every batch-summing op on samples [lo, hi) of `in`, with `view` (NULL:
 * the whole batch). */
static void run_ops(const fb_backend *be, const batch_inputs *in, op_outputs *out, int lo, int hi,
                    const fb_batch_view *view)
{
    int n = hi - lo;
    for (int k = 0; k < CONVS; k++) {
        const conv_shape *c = &conv_shapes[k];
        if (c->cpu_only && be != &fb_backend_cpu)
            continue;
        fb_conv_geom g = conv_geom(c, n);
        size_t bytes = be->conv2d_workspace(&g);
        void *workspace = be->alloc(bytes);
        be->conv2d_backward_filter(out->dweight[k], c->bias ? out->dbias : NULL,
                                   in->conv_dout[k] + lo * conv_out_floats(c),
                                   in->conv_in[k] + lo * conv_in_floats(c), &g, workspace, bytes);
        be->release(workspace);
    }
    be->linear_backward(NULL, out->lin_dw, out->lin_db, in->lin_dout + (size_t)lo * LIN_OUT,
                        in->lin_in + (size_t)lo * LIN_IN, NULL, n, LIN_IN, LIN_OUT);
    size_t bn_offset = (size_t)lo * BN_C * BN_P;
    for (int c = 0; c < BN_C; c++) {
        out->bn_run_mean[c] = 0.25f * (float)c;
        out->bn_run_var[c] = 1.0f + 0.5f * (float)c;
    }
    be->batchnorm_forward_train(out->bn_out, out->bn_mean, out->bn_invstd, out->bn_run_mean,
                                out->bn_run_var, in->bn_in + bn_offset, in->bn_gamma, in->bn_beta,
                                n, BN_C, BN_P, view);
    be->batchnorm_backward(out->bn_din, out->bn_dgamma, out->bn_dbeta, in->bn_dout + bn_offset,
                           in->bn_in + bn_offset, in->bn_gamma, out->bn_mean, out->bn_invstd, n,
                           BN_C, BN_P, view);
    be->cross_entropy_forward(&out->loss, out->probs, in->logits + (size_t)lo * CLASSES,
                              in->labels + lo, n, CLASSES, view);
    be->cross_entropy_backward(out->dlogits, out->probs, in->labels + lo, n, CLASSES, view);
}

/* The ranks of one run, meeting at a barrier to combine (a stand-in for MPI). */
typedef struct shard_group {
    const fb_backend *backend;
    const batch_inputs *inputs;
    int ranks, threads;
    fb_tree_node shard[MAX_RANKS];
    op_outputs out[MAX_RANKS];
    pthread_barrier_t barrier;
    double *posted[MAX_RANKS];
    double combined[4096];
} shard_group;

typedef struct rank_context {
    shard_group *group;
    int rank;
} rank_context;

/* The tree's combination of element i over ranks [first, first + count):
 * halves of the ranks are the two children of their node; an empty shard
 * adds nothing (its partner's value passes up unchanged). */
static int combine_ranks_f64(const shard_group *s, int first, int count, int i, double *value)
{
    if (count == 1) {
        *value = s->posted[first][i];
        return s->shard[first].hi > s->shard[first].lo;
    }
    double left, right;
    int has_left = combine_ranks_f64(s, first, count / 2, i, &left);
    int has_right = combine_ranks_f64(s, first + count / 2, count / 2, i, &right);
    *value = has_left && has_right ? left + right : has_left ? left : right;
    return has_left || has_right;
}

static void barrier_combine(double *partials, int count, void *user)
{
    rank_context *rc = user;
    shard_group *s = rc->group;
    assert_true(count <= (int)COUNT_OF(s->combined));
    s->posted[rc->rank] = partials;
    pthread_barrier_wait(&s->barrier);
    if (rc->rank == 0)
        for (int i = 0; i < count; i++)
            combine_ranks_f64(s, 0, s->ranks, i, &s->combined[i]);
    pthread_barrier_wait(&s->barrier);
    memcpy(partials, s->combined, (size_t)count * sizeof(double));
    pthread_barrier_wait(&s->barrier);
}

static void *rank_main(void *arg)
{
    rank_context *rc = arg;
    shard_group *s = rc->group;
    fb_set_threads(s->threads);
    fb_tree_node shard = s->shard[rc->rank];
    fb_batch_view view = {s->inputs->batch, shard.lo, shard.hi, barrier_combine, rc};
    run_ops(s->backend, s->inputs, &s->out[rc->rank], shard.lo, shard.hi, &view);
    return NULL;
}

/* Float partials of the ranks combined by the same tree (the gradient allreduce). */
static float combine_ranks_f32(float *const *values, const shard_group *s, int first, int count,
                               size_t i, int *nonempty)
{
    if (count == 1) {
        *nonempty = s->shard[first].hi > s->shard[first].lo;
        return values[first][i];
    }
    int has_left, has_right;
    float left = combine_ranks_f32(values, s, first, count / 2, i, &has_left);
    float right = combine_ranks_f32(values, s, first + count / 2, count / 2, i, &has_right);
    *nonempty = has_left || has_right;
    return has_left && has_right ? left + right : has_left ? left : right;
}

/* Counts the words that differ; prints only failures. */
static int differ(const char *what, const void *got, const void *want, size_t bytes)
{
    if (memcmp(got, want, bytes) == 0)
        return 0;
    const uint32_t *a = got, *b = want;
    size_t words = bytes / 4, count = 0, first = 0;
    for (size_t w = 0; w < words; w++)
        if (a[w] != b[w] && count++ == 0)
            first = w;
    printf("  %s: %zu of %zu words differ, first [%zu] %.9g vs %.9g FAIL\n", what, count, words,
           first, ((const float *)got)[first], ((const float *)want)[first]);
    return 1;
}

/* The partials combined over the ranks, compared with the whole batch's. */
static int combined_differs(const char *what, shard_group *s, float *const *values,
                            const float *want, size_t count)
{
    float *got = calloc(count, sizeof(float));
    for (size_t i = 0; i < count; i++) {
        int nonempty;
        got[i] = combine_ranks_f32(values, s, 0, s->ranks, i, &nonempty);
    }
    int failed = differ(what, got, want, count * sizeof(float));
    free(got);
    return failed;
}

/* Runs R ranks and compares everything with `whole`; returns arrays that differ. */
static int check_shards(const fb_backend *be, int threads, const batch_inputs *in,
                        const op_outputs *whole, int ranks, int *compared)
{
    static shard_group s;
    memset(&s, 0, sizeof s);
    s.backend = be;
    s.inputs = in;
    s.ranks = ranks;
    s.threads = threads;
    pthread_barrier_init(&s.barrier, NULL, (unsigned)ranks);
    pthread_t thread[MAX_RANKS];
    rank_context context[MAX_RANKS];
    for (int r = 0; r < ranks; r++) {
        s.shard[r] = fb_tree_shard(in->batch, r, ranks);
        outputs_make(&s.out[r], s.shard[r].hi - s.shard[r].lo);
        context[r] = (rank_context){&s, r};
        assert_int_equal(pthread_create(&thread[r], NULL, rank_main, &context[r]), 0);
    }
    for (int r = 0; r < ranks; r++)
        pthread_join(thread[r], NULL);
    pthread_barrier_destroy(&s.barrier);

    int failures = 0, arrays = 0;
    float *values[MAX_RANKS];
#define COMBINED(field, count)                                                           \
    do {                                                                                 \
        for (int r = 0; r < ranks; r++)                                                  \
            values[r] = s.out[r].field;                                                  \
        failures += combined_differs(#field, &s, values, whole->field, (count));          \
        arrays++;                                                                        \
    } while (0)
    for (int k = 0; k < CONVS; k++) {
        if (conv_shapes[k].cpu_only && be != &fb_backend_cpu)
            continue;
        for (int r = 0; r < ranks; r++)
            values[r] = s.out[r].dweight[k];
        failures += combined_differs(label("conv dweight %s", conv_shapes[k].name), &s, values,
                                     whole->dweight[k], conv_weight_floats(&conv_shapes[k]));
        arrays++;
    }
    COMBINED(dbias, 5);
    COMBINED(lin_dw, LIN_OUT * LIN_IN);
    COMBINED(lin_db, LIN_OUT);
    COMBINED(bn_dgamma, BN_C);
    COMBINED(bn_dbeta, BN_C);
#undef COMBINED
    for (int r = 0; r < ranks; r++) {
        const op_outputs *o = &s.out[r];
        int lo = s.shard[r].lo, n = s.shard[r].hi - lo;
        size_t bn = (size_t)BN_C * BN_P;
        failures += differ("bn save_mean", o->bn_mean, whole->bn_mean, sizeof o->bn_mean);
        failures += differ("bn save_invstd", o->bn_invstd, whole->bn_invstd, sizeof o->bn_invstd);
        failures += differ("bn running_mean", o->bn_run_mean, whole->bn_run_mean, sizeof o->bn_run_mean);
        failures += differ("bn running_var", o->bn_run_var, whole->bn_run_var, sizeof o->bn_run_var);
        failures += differ("bn out", o->bn_out, whole->bn_out + lo * bn, n * bn * sizeof(float));
        failures += differ("bn din", o->bn_din, whole->bn_din + lo * bn, n * bn * sizeof(float));
        failures += differ("loss", &o->loss, &whole->loss, sizeof o->loss);
        failures += differ("probs", o->probs, whole->probs + (size_t)lo * CLASSES,
                           (size_t)n * CLASSES * sizeof(float));
        failures += differ("dlogits", o->dlogits, whole->dlogits + (size_t)lo * CLASSES,
                           (size_t)n * CLASSES * sizeof(float));
        arrays += 9;
    }
    for (int r = 0; r < ranks; r++)
        outputs_free(&s.out[r]);
    *compared += arrays;
    return failures;
}

static void test_conv_paths(void **state)
{
    (void)state;
    /* the shapes above reach the paths their names say (else the test would not cover them) */
    fb_conv_geom g[CONVS];
    for (int k = 0; k < CONVS; k++)
        g[k] = conv_geom(&conv_shapes[k], 128);
    assert_true(fb_conv3x3_selected(&g[0]));
    assert_true(fb_convsmall_selected(&g[1]) && fb_convsmall_selected(&g[2]));
    for (int k = 3; k < CONVS; k++)
        assert_false(fb_conv3x3_selected(&g[k]) || fb_convsmall_selected(&g[k]));
    assert_true(g[3].out_h * g[3].out_w < 512);                          /* leaves gathered */
    assert_true(g[4].out_h * g[4].out_w >= 512 && g[5].out_h * g[5].out_w >= 512); /* chained */
    assert_true(conv_weight_floats(&conv_shapes[6]) > 131072); /* > FILTER_BLOCK_FLOATS of cpu.c */
    printf("[conv paths] direct 3x3, small maps (3x3, 1x1 s2), gemm gathered, gemm chained, "
           "gemm 1x1 direct, gemm in channel blocks: selected as named\n");
}

/* ---- 4. through a model ------------------------------------------------------ */

enum { MODEL_BATCH = 20, IMAGE_FLOATS = 3 * 32 * 32 };

typedef struct model_group {
    shard_group shards;          /* shard bounds, barrier and combine (ops unused) */
    fb_model *model[MAX_RANKS];
    const float *images;
    const int32_t *labels;
    float loss[MAX_RANKS];
} model_group;

typedef struct model_rank {
    model_group *group;
    rank_context context;
} model_rank;

static void *model_rank_main(void *arg)
{
    model_rank *mr = arg;
    model_group *mg = mr->group;
    fb_set_threads(1);
    fb_tree_node shard = mg->shards.shard[mr->context.rank];
    fb_batch_view view = {MODEL_BATCH, shard.lo, shard.hi, barrier_combine, &mr->context};
    fb_model *m = mg->model[mr->context.rank];
    assert_int_equal(fb_model_set_batch_view(m, &view), FB_OK);
    int n = shard.hi - shard.lo;
    fb_model_forward(m, mg->images + (size_t)shard.lo * IMAGE_FLOATS, n, 1);
    mg->loss[mr->context.rank] = fb_model_loss(m, mg->labels + shard.lo, n);
    fb_model_backward(m, NULL, 0);
    return NULL;
}

static fb_model *model_make(const fb_backend *be)
{
    fb_model_config config = fb_model_config_default(FB_ARCH_RESNET18);
    config.width = 4;
    config.max_batch = MODEL_BATCH;
    fb_model *m = NULL;
    assert_int_equal(fb_model_create(&m, &config, be), FB_OK);
    fb_model_init(m, 17);
    return m;
}

static int check_model_shards(const fb_backend *be, fb_model *whole, float whole_loss,
                              const float *images, const int32_t *labels, int ranks)
{
    static model_group mg;
    memset(&mg, 0, sizeof mg);
    mg.images = images;
    mg.labels = labels;
    mg.shards.ranks = ranks;
    pthread_barrier_init(&mg.shards.barrier, NULL, (unsigned)ranks);
    pthread_t thread[MAX_RANKS];
    model_rank rank[MAX_RANKS];
    for (int r = 0; r < ranks; r++) {
        mg.shards.shard[r] = fb_tree_shard(MODEL_BATCH, r, ranks);
        mg.model[r] = model_make(be);
        rank[r] = (model_rank){&mg, {&mg.shards, r}};
        assert_int_equal(pthread_create(&thread[r], NULL, model_rank_main, &rank[r]), 0);
    }
    for (int r = 0; r < ranks; r++)
        pthread_join(thread[r], NULL);
    pthread_barrier_destroy(&mg.shards.barrier);

    int failures = 0, tensors = 0;
    fb_registry *want = fb_model_registry(whole);
    for (int t = 0; t < want->count; t++) {
        const fb_tensor *w = &want->tensors[t];
        float *values[MAX_RANKS];
        if (w->role == FB_ROLE_PARAM) {
            for (int r = 0; r < ranks; r++)
                values[r] = fb_model_registry(mg.model[r])->tensors[t].grad;
            failures += combined_differs(label("grad %s", w->name), &mg.shards, values, w->grad,
                                         w->numel);
            tensors++;
        } else if (w->role == FB_ROLE_BUFFER) {
            for (int r = 0; r < ranks; r++)
                failures += differ(label("%s rank %d", w->name, r),
                                   fb_model_registry(mg.model[r])->tensors[t].value, w->value,
                                   w->numel * sizeof(float));
            tensors++;
        }
    }
    for (int r = 0; r < ranks; r++) {
        failures += differ("loss", &mg.loss[r], &whole_loss, sizeof whole_loss);
        fb_model_free(mg.model[r]);
    }
    printf("[model %s, batch %d, R = %d] loss, %d gradients and running statistics vs the whole "
           "batch: %s\n", be->name, MODEL_BATCH, ranks, tensors,
           failures ? "DIFFER (above) FAIL" : "all bit-identical");
    return failures;
}

static void test_model_shards(void **state)
{
    (void)state;
    float *images = random_floats((size_t)MODEL_BATCH * IMAGE_FLOATS, 601, 0.0f, 1.0f);
    int32_t labels[MODEL_BATCH];
    for (int n = 0; n < MODEL_BATCH; n++)
        labels[n] = (n * 3 + 1) % 10;
    const fb_backend *backends[] = {&fb_backend_cpu_ref, &fb_backend_cpu};
    int failures = 0;
    for (size_t b = 0; b < COUNT_OF(backends); b++) {
        int saved = fb_get_threads();
        fb_set_threads(1);
        fb_model *whole = model_make(backends[b]);
        fb_model_forward(whole, images, MODEL_BATCH, 1);
        float loss = fb_model_loss(whole, labels, MODEL_BATCH);
        fb_model_backward(whole, NULL, 0);
        fb_set_threads(saved);
        for (int ranks = 2; ranks <= 4; ranks *= 2)
            failures += check_model_shards(backends[b], whole, loss, images, labels, ranks);
        /* a view that is not a node of the tree is refused, and the model keeps working */
        fb_batch_view straddles = {MODEL_BATCH, 5, 15, NULL, NULL};
        fb_batch_view outside = {MODEL_BATCH, 10, 30, NULL, NULL};
        failures += fb_model_set_batch_view(whole, &straddles) != FB_ERR_USAGE;
        failures += fb_model_set_batch_view(whole, &outside) != FB_ERR_USAGE;
        failures += fb_model_set_batch_view(whole, NULL) != FB_OK;
        fb_model_free(whole);
    }
    free(images);
    assert_int_equal(failures, 0);
}

typedef struct backend_case {
    const fb_backend *backend;
    int threads;
} backend_case;

static void test_shards_match_whole_batch(void **state)
{
    (void)state;
    const backend_case cases[] = {{&fb_backend_cpu_ref, 1}, {&fb_backend_cpu, 1}, {&fb_backend_cpu, 2}};
    const int batches[] = {128, 20, 5};
    int failures = 0;
    for (size_t b = 0; b < COUNT_OF(batches); b++) {
        batch_inputs in;
        inputs_make(&in, batches[b]);
        op_outputs cpu_one_thread;
        outputs_make(&cpu_one_thread, in.batch);
        for (size_t k = 0; k < COUNT_OF(cases); k++) {
            const fb_backend *be = cases[k].backend;
            int saved = fb_get_threads();
            fb_set_threads(cases[k].threads);
            op_outputs whole;
            outputs_make(&whole, in.batch);
            run_ops(be, &in, &whole, 0, in.batch, NULL);
            fb_set_threads(saved);
            if (be == &fb_backend_cpu && cases[k].threads == 1) {
                outputs_free(&cpu_one_thread);
                cpu_one_thread = whole;
            } else if (be == &fb_backend_cpu) { /* the whole batch: 2 threads = 1 thread */
                int differs = 0;
                for (int c = 0; c < CONVS; c++)
                    differs += differ("cpu 1 vs 2 threads dweight", whole.dweight[c],
                                      cpu_one_thread.dweight[c],
                                      conv_weight_floats(&conv_shapes[c]) * sizeof(float));
                printf("[cpu whole batch %d] conv filter gradients, 1 vs 2 threads: %s\n",
                       in.batch, differs ? "DIFFER" : "bit-identical");
                failures += differs;
            }
            for (int ranks = 1; ranks <= MAX_RANKS; ranks *= 2) {
                int compared = 0;
                int differs = check_shards(be, cases[k].threads, &in, &whole, ranks, &compared);
                printf("[%s, %d thread%s, batch %d, R = %d] %d arrays vs the whole batch: %s\n",
                       be->name, cases[k].threads, cases[k].threads > 1 ? "s" : "", in.batch,
                       ranks, compared, differs ? "DIFFER (above) FAIL" : "all bit-identical");
                failures += differs;
            }
            if (!(be == &fb_backend_cpu && cases[k].threads == 1))
                outputs_free(&whole);
        }
        outputs_free(&cpu_one_thread);
        inputs_free(&in);
    }
    assert_int_equal(failures, 0);
}

int main(int argc, char **argv)
{
    fb_runtime_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tree_rule),
        cmocka_unit_test(test_tree_reduce),
        cmocka_unit_test(test_conv_paths),
        cmocka_unit_test(test_shards_match_whole_batch),
        cmocka_unit_test(test_model_shards),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
