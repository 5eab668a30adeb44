/* cpu.c — the fast CPU backend: im2col + OpenBLAS sgemm, OpenMP elsewhere.
 *
 * Convolution. The batch is cut into chunks of at most S samples, S chosen
 * from the geometry alone so that one GEMM has at least ~512 columns (S = 1
 * for 32×32 maps, 32 for 4×4 maps), the chunks being nodes of the batch
 * tree (list_chunks):
 *   forward        out_chunk[OC, S·P] = W[OC, CKK] × col[CKK, S·P]
 *   backward data  dcol[CKK, S·P]     = Wᵀ × dout_chunk[OC, S·P], then col2im
 *   backward filt. dW[OC, CKK]        = Σ_leaves dout_leaf × colᵀ (below)
 * with P = OH·OW and CKK = C·K·K. Chunks run in parallel on OpenMP threads,
 * each calling a single-threaded sgemm (OpenBLAS runs one thread inside a
 * parallel region, and sgemm_serial makes sure of it elsewhere); chunk
 * results land in disjoint samples, so forward and backward-data bits do not
 * depend on the thread count.
 *
 * The filter gradient is a sum over the batch, and like every batch sum it
 * follows the batch tree (core/batch_tree.h): a leaf of ≤ 4 samples is one
 * partial dW (one sgemm over the leaf's samples side by side, or for maps
 * of ≥ 512 pixels one sgemm per sample chained with β = 1), and partials
 * are added pairwise up the tree (tree_reduce.h). So that the partials stay
 * in cache, dW is summed in blocks of input channels (≤ 512 KB each), each
 * block's tree on its own. Threads own whole subtrees (or whole blocks), so
 * the bits do not depend on the thread count, and a shard of a batch
 * computes exactly its node's partial (freqbias/batch_view.h).
 *
 * 3×3 stride-1 pad-1 convolutions with at most 64 channels and a width
 * that is a multiple of 16 (the first ResNet stages) skip all of this and
 * run the direct kernels of cpu_conv3x3.c, chosen from the geometry alone.
 * Kernel 1 or 3, stride 1 or 2 convolutions whose channel counts are
 * multiples of 16 (≤ 128) with at most 256 output pixels (the later stages,
 * the strided convs and the 1×1 shortcuts) run the channel-vectorised direct
 * kernels of cpu_conv_small.c, also chosen from the geometry alone.
 *
 * BatchNorm, pooling, the normaliser and elementwise ops parallelise over
 * channels / planes / elements with the per-unit bodies of kernels.h and
 * the tree sums of batch_sums.h, so they give the same bits as cpu-ref.
 * The linear layer (row by row) and the loss share their bodies with
 * cpu-ref too.
 *
 * Threads each phase can use at batch 128 (32 leaves): conv forward and
 * backward data, one per chunk or sample (128 on 32×32 maps, 128/S in
 * general; the direct kernels: one per sample); the filter gradient of the
 * direct kernels, one per subtree, up to the 32 leaves (then all of them
 * for the element-wise additions at the top); of the im2col path, one per
 * channel block when there are at least as many blocks as threads (e.g. 19
 * blocks for a 512-channel 3×3 layer), else one per subtree; BatchNorm, one
 * per channel; the elementwise ops, one per block of elements. Memory of a
 * filter gradient: (subtrees − 1) + threads × (depth of a subtree) partials
 * (5 with 1 thread, 9 with 2, 31 with 32 at batch 128), or per thread
 * 1 + depth block partials of ≤ 512 KB; never one per sample
 * (tree_reduce.h); the workspace query counts them.
 */
#include <cblas.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_conv3x3.h"
#include "cpu_conv_small.h"
#include "freqbias/backend.h"
#include "im2col.h"
#include "batch_sums.h"
#include "tree_reduce.h"

#define GEMM_MIN_COLUMNS 512

/* Filter-gradient partials of at most this many floats (512 KB), so a leaf's
 * sgemm output and the tree's additions stay in cache: dW is cut into blocks
 * of input channels, and each block's tree is summed on its own. (Without
 * blocks, the 512-channel layers of ResNet-18 width 64 add 9.4 MB partials
 * 31 times per filter gradient, from memory.) */
#define FILTER_BLOCK_FLOATS 131072

/* How a convolution is cut into chunks (forward, backward data) and into
 * leaves × channel blocks (filter gradient). */
typedef struct conv_plan {
    int chunk_samples;       /* S: a chunk has at most S samples               */
    int direct;              /* 1×1, stride 1, pad 0 and S = 1: col = input     */
    int buffer_samples;      /* samples a thread's col holds: S, or a leaf     */
    size_t col_floats;       /* CKK · buffer_samples · P, one per thread        */
    size_t gather_floats;    /* OC · S · P when S > 1, one per thread           */
    int block_channels;      /* input channels per filter-gradient block        */
    size_t block_floats;     /* OC · block_channels · K·K: one partial          */
    size_t dout_floats;      /* OC · N · P when S > 1: dout gathered by channel */
} conv_plan;

static size_t round16(size_t floats) { return (floats + 15) / 16 * 16; }

static conv_plan plan_conv(const fb_conv_geom *g)
{
    conv_plan plan;
    size_t P = (size_t)g->out_h * g->out_w, KK = (size_t)g->kernel * g->kernel;
    size_t ckk = (size_t)g->in_channels * KK;
    int S = (int)((GEMM_MIN_COLUMNS + P - 1) / P);
    int batch = g->batch > 1 ? g->batch : 1;
    plan.chunk_samples = S < 1 ? 1 : (S > batch ? batch : S);
    plan.direct = g->kernel == 1 && g->stride == 1 && g->pad == 0 && plan.chunk_samples == 1;
    /* S > 1: a filter leaf is unfolded whole, so the col buffer holds ≥ one leaf */
    int leaf = batch < FB_TREE_LEAF ? batch : FB_TREE_LEAF;
    plan.buffer_samples = plan.chunk_samples > 1 && leaf > plan.chunk_samples ? leaf : plan.chunk_samples;
    plan.col_floats = plan.direct ? 0 : ckk * plan.buffer_samples * P;
    plan.gather_floats = plan.chunk_samples > 1 ? (size_t)g->out_channels * plan.chunk_samples * P : 0;
    /* equal blocks of at most FILTER_BLOCK_FLOATS (one channel at least) */
    size_t per_channel = (size_t)g->out_channels * KK;
    int fit = (int)(FILTER_BLOCK_FLOATS / per_channel);
    fit = fit < 1 ? 1 : fit > g->in_channels ? g->in_channels : fit;
    int blocks = (g->in_channels + fit - 1) / fit;
    plan.block_channels = (g->in_channels + blocks - 1) / blocks;
    plan.block_floats = per_channel * plan.block_channels;
    plan.dout_floats = plan.chunk_samples > 1 ? (size_t)g->out_channels * g->batch * P : 0;
    return plan;
}

/* Every GEMM runs on one thread. The OpenMP build of OpenBLAS takes its
 * thread count from omp_get_max_threads() at each call (openblas_set_num_threads
 * does not stick) and only stays serial inside an *active* parallel region;
 * a GEMM it splits across threads sums in an order that depends on the
 * thread count (test_ops measured 1140 of 4096 linear outputs changing
 * between 1 and 2 threads with the Haswell kernel). So the calling task's
 * OpenMP count is set to 1 around the call; parallelism comes from our own
 * loops over independent chunks. */
static void sgemm_serial(CBLAS_TRANSPOSE trans_a, CBLAS_TRANSPOSE trans_b, int m, int n, int k,
                         const float *a, int lda, const float *b, int ldb, float beta, float *c,
                         int ldc)
{
    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    cblas_sgemm(CblasRowMajor, trans_a, trans_b, m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc);
    omp_set_num_threads(saved);
}

static size_t per_thread_floats(const conv_plan *plan)
{
    /* rounded to 16 floats so every thread's block stays 64-byte aligned */
    return round16(plan->col_floats + plan->gather_floats);
}

static int filter_blocks(const conv_plan *plan, int in_channels)
{
    return (in_channels + plan->block_channels - 1) / plan->block_channels;
}

/* Floats of the filter gradient's block sums and tree partials: with at
 * least as many blocks as threads each thread walks whole trees of its
 * blocks (a sum + the tree's depth in partials each); otherwise the blocks
 * go one after another, the threads sharing each tree (tree_reduce.h). */
static size_t filter_floats(const conv_plan *plan, const fb_conv_geom *g, int threads)
{
    size_t block = round16(plan->block_floats);
    if (filter_blocks(plan, g->in_channels) >= threads)
        return (size_t)threads * (1 + fb_tree_depth(g->batch)) * block;
    tree_plan tree = tree_plan_make(g->batch, plan->block_floats, threads);
    return block + tree_plan_floats(&tree);
}

/* Floats that hold the chunk list (one fb_tree_node per chunk, ≤ N). */
static size_t chunk_list_floats(int batch)
{
    return round16((size_t)(batch > 0 ? batch : 1) * sizeof(fb_tree_node) / sizeof(float));
}

/* Workspace floats for `threads` threads: their col + gather buffers, the
 * gathered dout, the filter gradient's partials, the chunk list. */
static size_t workspace_floats(const conv_plan *plan, const fb_conv_geom *g, int threads)
{
    return (size_t)threads * per_thread_floats(plan) + round16(plan->dout_floats) +
           filter_floats(plan, g, threads) + chunk_list_floats(g->batch);
}

/* The chunks of the forward and backward data: the largest nodes of the
 * batch tree with at most S samples (a leaf of more than S samples in
 * pieces of S from its start). A chunk then holds the same samples whether
 * the batch runs whole or as shards (nodes of the tree, batch_view.h): an
 * sgemm's bits for a sample may depend on the column count and on the
 * sample's place among the columns (OpenBLAS's edge kernels), so chunks
 * cut from the op's first sample would break shard = whole. */
static int list_chunks(fb_tree_node node, int S, fb_tree_node *out)
{
    if (node.hi - node.lo <= S) {
        out[0] = node;
        return 1;
    }
    if (fb_tree_is_leaf(node)) {
        int count = 0;
        for (int lo = node.lo; lo < node.hi; lo += S)
            out[count++] = (fb_tree_node){lo, lo + S < node.hi ? lo + S : node.hi};
        return count;
    }
    int left = list_chunks(fb_tree_left(node), S, out);
    return left + list_chunks(fb_tree_right(node), S, out + left);
}

static size_t cpu_conv2d_workspace(const fb_conv_geom *g)
{
    if (fb_conv3x3_selected(g))
        return fb_conv3x3_workspace(g, omp_get_max_threads());
    if (fb_convsmall_selected(g))
        return fb_convsmall_workspace(g, omp_get_max_threads());
    conv_plan plan = plan_conv(g);
    return workspace_floats(&plan, g, omp_get_max_threads()) * sizeof(float);
}

/* Threads the workspace has room for (at least 1, at most OpenMP's). */
static int usable_threads(const conv_plan *plan, const fb_conv_geom *g, size_t workspace_bytes)
{
    int threads = omp_get_max_threads();
    while (threads > 1 && workspace_floats(plan, g, threads) * sizeof(float) > workspace_bytes)
        threads--;
    return threads;
}

/* Copies sample-major dout[S][OC][P] into chunk layout [OC][S·P] (or back). */
static void to_chunk_layout(float *chunk, const float *samples_major, int samples, int channels,
                            size_t P)
{
    for (int s = 0; s < samples; s++)
        for (int o = 0; o < channels; o++)
            memcpy(chunk + ((size_t)o * samples + s) * P,
                   samples_major + ((size_t)s * channels + o) * P, P * sizeof(float));
}

static void from_chunk_layout(float *samples_major, const float *chunk, int samples, int channels,
                              size_t P)
{
    for (int s = 0; s < samples; s++)
        for (int o = 0; o < channels; o++)
            memcpy(samples_major + ((size_t)s * channels + o) * P,
                   chunk + ((size_t)o * samples + s) * P, P * sizeof(float));
}

/* What every conv op derives from its geometry and workspace. */
typedef struct conv_run {
    conv_plan plan;
    int ckk;                     /* C·K·K                                      */
    size_t P;                    /* OH·OW                                      */
    size_t in_sample, out_sample; /* floats per sample of in / out             */
    float *thread_area;          /* per-thread col + gather buffers           */
    float *dout_gathered;        /* [OC, N·P] when S > 1 (filter gradient)     */
    float *filter_area;          /* block sums and tree partials              */
    fb_tree_node *chunk;         /* [chunks] the forward's chunks of samples   */
    int chunks;
    int threads;
} conv_run;

static conv_run conv_run_make(const fb_conv_geom *g, void *workspace, size_t workspace_bytes)
{
    conv_run r;
    r.plan = plan_conv(g);
    r.ckk = g->in_channels * g->kernel * g->kernel;
    r.P = (size_t)g->out_h * g->out_w;
    r.in_sample = (size_t)g->in_channels * g->in_h * g->in_w;
    r.out_sample = (size_t)g->out_channels * r.P;
    r.threads = usable_threads(&r.plan, g, workspace_bytes);
    r.thread_area = workspace;
    r.dout_gathered = r.thread_area + (size_t)r.threads * per_thread_floats(&r.plan);
    r.filter_area = r.dout_gathered + round16(r.plan.dout_floats);
    r.chunk = (fb_tree_node *)(r.filter_area + filter_floats(&r.plan, g, r.threads));
    r.chunks = g->batch > 0 ? list_chunks((fb_tree_node){0, g->batch}, r.plan.chunk_samples, r.chunk) : 0;
    return r;
}

/* One chunk of samples and the calling thread's buffers for it. */
typedef struct chunk_view {
    int first, samples, columns; /* samples [first, first + samples), S·P columns */
    float *col;                  /* [CKK, S·P]                                    */
    float *gathered;             /* [OC, S·P] when S > 1                          */
} chunk_view;

static chunk_view chunk_at(const conv_run *r, int chunk)
{
    chunk_view v;
    v.col = r->thread_area + (size_t)omp_get_thread_num() * per_thread_floats(&r->plan);
    v.gathered = v.col + r->plan.col_floats;
    v.first = r->chunk[chunk].lo;
    v.samples = r->chunk[chunk].hi - r->chunk[chunk].lo;
    v.columns = (int)(v.samples * r->P);
    return v;
}

static void cpu_conv2d_forward(float *out, const float *in, const float *weight, const float *bias,
                               const fb_conv_geom *g, void *workspace, size_t workspace_bytes)
{
    if (fb_conv3x3_selected(g)) {
        fb_conv3x3_forward(out, in, weight, bias, g, workspace, workspace_bytes);
        return;
    }
    if (fb_convsmall_selected(g)) {
        fb_convsmall_forward(out, in, weight, bias, g, workspace, workspace_bytes);
        return;
    }
    const conv_run r = conv_run_make(g, workspace, workspace_bytes);

#pragma omp parallel for num_threads(r.threads) schedule(static)
    for (int chunk = 0; chunk < r.chunks; chunk++) {
        chunk_view v = chunk_at(&r, chunk);
        const float *source = in + v.first * r.in_sample;
        if (!r.plan.direct) {
            fb_im2col(v.col, source, g, v.samples);
            source = v.col;
        }
        float *target = r.plan.chunk_samples > 1 ? v.gathered : out + v.first * r.out_sample;
        sgemm_serial(CblasNoTrans, CblasNoTrans, g->out_channels, v.columns, r.ckk, weight, r.ckk,
                     source, v.columns, 0.0f, target, v.columns);
        if (r.plan.chunk_samples > 1)
            from_chunk_layout(out + v.first * r.out_sample, v.gathered, v.samples, g->out_channels, r.P);
        if (bias)
            for (int s = 0; s < v.samples; s++)
                for (int o = 0; o < g->out_channels; o++) {
                    float *plane = out + (v.first + s) * r.out_sample + o * r.P;
                    for (size_t p = 0; p < r.P; p++)
                        plane[p] += bias[o];
                }
    }
}

static void cpu_conv2d_backward_data(float *din, const float *dout, const float *weight,
                                     const fb_conv_geom *g, void *workspace,
                                     size_t workspace_bytes)
{
    if (fb_conv3x3_selected(g)) {
        fb_conv3x3_backward_data(din, dout, weight, g, workspace, workspace_bytes);
        return;
    }
    if (fb_convsmall_selected(g)) {
        fb_convsmall_backward_data(din, dout, weight, g, workspace, workspace_bytes);
        return;
    }
    const conv_run r = conv_run_make(g, workspace, workspace_bytes);

#pragma omp parallel for num_threads(r.threads) schedule(static)
    for (int chunk = 0; chunk < r.chunks; chunk++) {
        chunk_view v = chunk_at(&r, chunk);
        const float *grad = dout + v.first * r.out_sample;
        if (r.plan.chunk_samples > 1) {
            to_chunk_layout(v.gathered, grad, v.samples, g->out_channels, r.P);
            grad = v.gathered;
        }
        float *target = r.plan.direct ? din + v.first * r.in_sample : v.col;
        sgemm_serial(CblasTrans, CblasNoTrans, r.ckk, v.columns, g->out_channels, weight, r.ckk,
                     grad, v.columns, 0.0f, target, v.columns);
        if (!r.plan.direct)
            fb_col2im(din + v.first * r.in_sample, v.col, g, v.samples);
    }
}

/* What a filter-gradient leaf reads: one block of input channels. */
typedef struct filter_leaf_args {
    const conv_run *run;
    const fb_conv_geom *g;
    const float *dout, *in;
    int c_begin, c_end;
} filter_leaf_args;

/* partial[OC, (c_end − c_begin)·K·K] = the leaf's Σ dout × colᵀ over the
 * block's channels. With S = 1 (maps of ≥ 512 pixels) one sgemm per
 * sample, chained in sample order (β = 1 adds the sample's product to the
 * leaf's sum so far); otherwise the leaf's samples side by side in one
 * sgemm of leaf·P columns (dout already gathered by channel). */
static void gemm_filter_leaf(float *partial, fb_tree_node leaf, int thread, void *ctx)
{
    const filter_leaf_args *a = ctx;
    const conv_run *r = a->run;
    const fb_conv_geom *g = a->g;
    const int rows = (a->c_end - a->c_begin) * g->kernel * g->kernel;
    float *col = r->thread_area + (size_t)thread * per_thread_floats(&r->plan); /* [rows, leaf·P] */
    if (r->plan.chunk_samples > 1) {
        int samples = leaf.hi - leaf.lo, columns = (int)(samples * r->P);
        fb_im2col_channels(col, a->in + leaf.lo * r->in_sample, g, samples, a->c_begin, a->c_end);
        sgemm_serial(CblasNoTrans, CblasTrans, g->out_channels, rows, columns,
                     r->dout_gathered + leaf.lo * r->P, (int)(g->batch * r->P), col, columns, 0.0f,
                     partial, rows);
        return;
    }
    for (int n = leaf.lo; n < leaf.hi; n++) {
        const float *source = a->in + n * r->in_sample + (size_t)a->c_begin * r->P; /* 1×1: col = in */
        if (!r->plan.direct) {
            fb_im2col_channels(col, a->in + n * r->in_sample, g, 1, a->c_begin, a->c_end);
            source = col;
        }
        sgemm_serial(CblasNoTrans, CblasTrans, g->out_channels, rows, (int)r->P,
                     a->dout + n * r->out_sample, (int)r->P, source, (int)r->P,
                     n == leaf.lo ? 0.0f : 1.0f, partial, rows);
    }
}

/* dweight[:, block] = sum, the block's [OC, rows] columns of dweight[OC, CKK]. */
static void store_block(float *dweight, const float *sum, const fb_conv_geom *g, int c_begin,
                        int c_end, int ckk)
{
    size_t KK = (size_t)g->kernel * g->kernel, rows = (size_t)(c_end - c_begin) * KK;
    for (int o = 0; o < g->out_channels; o++)
        memcpy(dweight + (size_t)o * ckk + (size_t)c_begin * KK, sum + o * rows,
               rows * sizeof(float));
}

/* dweight[OC, CKK] block by block of input channels, each block the batch
 * tree's sum of its leaves' partials (filter_floats says how threads share
 * the work; either way the bits are the tree's). */
static void gemm_backward_filter(float *dweight, const float *dout, const float *in,
                                 const fb_conv_geom *g, const conv_run *r)
{
    if (r->plan.chunk_samples > 1) { /* dout[N][OC][P] → [OC][N·P], rows in parallel */
#pragma omp parallel for num_threads(r->threads) schedule(static)
        for (int o = 0; o < g->out_channels; o++)
            for (int n = 0; n < g->batch; n++)
                memcpy(r->dout_gathered + ((size_t)o * g->batch + n) * r->P,
                       dout + n * r->out_sample + o * r->P, r->P * sizeof(float));
    }
    const int KK = g->kernel * g->kernel, cb = r->plan.block_channels;
    const int blocks = filter_blocks(&r->plan, g->in_channels);
    const size_t stride = round16(r->plan.block_floats);
    if (blocks >= r->threads) {
        const size_t per_thread = (1 + (size_t)fb_tree_depth(g->batch)) * stride;
#pragma omp parallel for num_threads(r->threads) schedule(static)
        for (int b = 0; b < blocks; b++) {
            int thread = omp_get_thread_num();
            int c0 = b * cb, c1 = c0 + cb < g->in_channels ? c0 + cb : g->in_channels;
            float *sum = r->filter_area + (size_t)thread * per_thread;
            filter_leaf_args args = {r, g, dout, in, c0, c1};
            tree_reduce_serial(sum, g->batch, (size_t)g->out_channels * (c1 - c0) * KK, stride,
                               sum + stride, thread, gemm_filter_leaf, &args);
            store_block(dweight, sum, g, c0, c1, r->ckk);
        }
        return;
    }
    for (int c0 = 0; c0 < g->in_channels; c0 += cb) {
        int c1 = c0 + cb < g->in_channels ? c0 + cb : g->in_channels;
        filter_leaf_args args = {r, g, dout, in, c0, c1};
        tree_plan tree = tree_plan_make(g->batch, (size_t)g->out_channels * (c1 - c0) * KK, r->threads);
        tree_reduce(r->filter_area, &tree, r->filter_area + stride, gemm_filter_leaf, &args);
        store_block(dweight, r->filter_area, g, c0, c1, r->ckk);
    }
}

static void cpu_conv2d_backward_filter(float *dweight, float *dbias, const float *dout,
                                       const float *in, const fb_conv_geom *g, void *workspace,
                                       size_t workspace_bytes)
{
    if (fb_conv3x3_selected(g)) {
        fb_conv3x3_backward_filter(dweight, dout, in, g, workspace, workspace_bytes);
    } else if (fb_convsmall_selected(g)) {
        fb_convsmall_backward_filter(dweight, dout, in, g, workspace, workspace_bytes);
    } else {
        const conv_run r = conv_run_make(g, workspace, workspace_bytes);
        gemm_backward_filter(dweight, dout, in, g, &r);
    }
    if (dbias)
        conv_bias_grad(dbias, dout, g->batch, g->out_channels, (size_t)g->out_h * g->out_w, 1);
}

static void cpu_batchnorm_forward_train(float *out, float *save_mean, float *save_invstd,
                                        float *running_mean, float *running_var, const float *in,
                                        const float *gamma, const float *beta, int batch,
                                        int channels, int spatial, const fb_batch_view *view)
{
    bn_forward_train_channels(out, save_mean, save_invstd, running_mean, running_var, in, gamma,
                              beta, batch, channels, spatial, view, 1);
}

static void cpu_batchnorm_forward_eval(float *out, const float *in, const float *gamma,
                                       const float *beta, const float *running_mean,
                                       const float *running_var, int batch, int channels,
                                       int spatial)
{
#pragma omp parallel for schedule(static)
    for (int c = 0; c < channels; c++)
        bn_eval_channel(out, in, gamma, beta, running_mean, running_var, batch, channels, spatial,
                        c);
}

static void cpu_batchnorm_backward(float *din, float *dgamma, float *dbeta, const float *dout,
                                   const float *in, const float *gamma, const float *save_mean,
                                   const float *save_invstd, int batch, int channels, int spatial,
                                   const fb_batch_view *view)
{
    bn_backward_channels(din, dgamma, dbeta, dout, in, gamma, save_mean, save_invstd, batch,
                         channels, spatial, view, 1);
}

static void cpu_batchnorm_backward_eval(float *din, float *dgamma, float *dbeta,
                                        const float *dout, const float *in, const float *gamma,
                                        const float *running_mean, const float *running_var,
                                        int batch, int channels, int spatial)
{
#pragma omp parallel for schedule(static)
    for (int c = 0; c < channels; c++)
        bn_backward_eval_channel(din, dgamma, dbeta, dout, in, gamma, running_mean, running_var,
                                 batch, channels, spatial, c);
}

static void cpu_relu_forward(float *out, const float *in, size_t count)
{
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < count; i++)
        out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

static void cpu_relu_backward(float *din, const float *dout, const float *out, size_t count)
{
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < count; i++)
        din[i] = out[i] > 0.0f ? dout[i] : 0.0f;
}

static void cpu_add(float *out, const float *a, const float *b, size_t count)
{
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < count; i++)
        out[i] = a[i] + b[i];
}

static void cpu_avgpool_forward(float *out, const float *in, int batch, int channels, int h,
                                int w, int k)
{
    size_t in_plane = (size_t)h * w, out_plane = (size_t)(h / k) * (w / k);
#pragma omp parallel for schedule(static)
    for (int plane = 0; plane < batch * channels; plane++)
        avgpool_plane(out + plane * out_plane, in + plane * in_plane, h, w, k);
}

static void cpu_avgpool_backward(float *din, const float *dout, int batch, int channels, int h,
                                 int w, int k)
{
    size_t in_plane = (size_t)h * w, out_plane = (size_t)(h / k) * (w / k);
#pragma omp parallel for schedule(static)
    for (int plane = 0; plane < batch * channels; plane++)
        avgpool_backward_plane(din + plane * in_plane, dout + plane * out_plane, h, w, k);
}

/* out[N,OUT] = in[N,IN] × Wᵀ + b, row by row (kernels.h; not one sgemm,
 * whose bits for a row depend on the batch it is in — see list_chunks) */
static void cpu_linear_forward(float *out, const float *in, const float *weight, const float *bias,
                               int batch, int in_f, int out_f)
{
#pragma omp parallel for schedule(static)
    for (int n = 0; n < batch; n++)
        linear_row(out + (size_t)n * out_f, in + (size_t)n * in_f, weight, bias, in_f, out_f);
}

/* din = dout × W row by row; dW = doutᵀ × in and db = Σ_n dout in the batch
 * tree's order (batch_sums.h); all the same bits as cpu-ref */
static void cpu_linear_backward(float *din, float *dweight, float *dbias, const float *dout,
                                const float *in, const float *weight, int batch, int in_f,
                                int out_f)
{
    if (din) {
#pragma omp parallel for schedule(static)
        for (int n = 0; n < batch; n++)
            linear_input_grad_row(din + (size_t)n * in_f, dout + (size_t)n * out_f, weight, in_f,
                                  out_f);
    }
    linear_weight_grad(dweight, dbias, dout, in, batch, in_f, out_f, 1);
}

static void cpu_normalize_forward(float *out, const float *in, const float *mean,
                                  const float *std, int batch, int channels, int spatial)
{
#pragma omp parallel for schedule(static)
    for (int plane = 0; plane < batch * channels; plane++) {
        size_t offset = (size_t)plane * spatial;
        normalize_plane(out + offset, in + offset, mean[plane % channels], std[plane % channels],
                        spatial);
    }
}

static void cpu_normalize_backward(float *din, const float *dout, const float *in,
                                   const float *std, int batch, int channels, int spatial)
{
#pragma omp parallel for schedule(static)
    for (int plane = 0; plane < batch * channels; plane++) {
        size_t offset = (size_t)plane * spatial;
        normalize_backward_plane(din + offset, dout + offset, in + offset,
                                 std[plane % channels], spatial);
    }
}

static void cpu_sgd_step(float *param, float *momentum_buf, const float *grad, size_t count,
                         float lr, float momentum, float weight_decay, int first_step)
{
    const size_t block = 4096;
    size_t blocks = (count + block - 1) / block;
#pragma omp parallel for schedule(static)
    for (size_t b = 0; b < blocks; b++) {
        size_t end = (b + 1) * block < count ? (b + 1) * block : count;
        sgd_range(param, momentum_buf, grad, b * block, end, lr, momentum, weight_decay,
                  first_step);
    }
}

static void *cpu_alloc(size_t bytes)
{
    size_t rounded = (bytes + 63) / 64 * 64;
    return aligned_alloc(64, rounded ? rounded : 64);
}
static void cpu_release(void *ptr) { free(ptr); }
static void cpu_copy(void *dst, const void *src, size_t bytes) { memcpy(dst, src, bytes); }
static void cpu_zero(void *dst, size_t bytes) { memset(dst, 0, bytes); }

const fb_backend fb_backend_cpu = {
    .name = "cpu",
    .alloc = cpu_alloc,
    .release = cpu_release,
    .to_device = cpu_copy,
    .to_host = cpu_copy,
    .zero = cpu_zero,
    .conv2d_workspace = cpu_conv2d_workspace,
    .conv2d_forward = cpu_conv2d_forward,
    .conv2d_backward_data = cpu_conv2d_backward_data,
    .conv2d_backward_filter = cpu_conv2d_backward_filter,
    .batchnorm_forward_train = cpu_batchnorm_forward_train,
    .batchnorm_forward_eval = cpu_batchnorm_forward_eval,
    .batchnorm_backward = cpu_batchnorm_backward,
    .batchnorm_backward_eval = cpu_batchnorm_backward_eval,
    .relu_forward = cpu_relu_forward,
    .relu_backward = cpu_relu_backward,
    .add = cpu_add,
    .avgpool_forward = cpu_avgpool_forward,
    .avgpool_backward = cpu_avgpool_backward,
    .linear_forward = cpu_linear_forward,
    .linear_backward = cpu_linear_backward,
    .normalize_forward = cpu_normalize_forward,
    .normalize_backward = cpu_normalize_backward,
    .cross_entropy_forward = cross_entropy_forward_rows,
    .cross_entropy_backward = cross_entropy_backward_rows,
    .sgd_step = cpu_sgd_step,
};
