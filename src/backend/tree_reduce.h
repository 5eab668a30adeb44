/* tree_reduce.h — a vector (a filter gradient) summed over a batch in the
 * order of the batch tree (core/batch_tree.h), on several threads.
 *
 * The cpu backend's convolutions compute dW = Σ_n (sample n's products) for
 * every weight at once, so their partial sums are whole vectors of
 * OC·C·K·K floats. tree_reduce runs the tree over such vectors:
 *   leaf      the caller's `leaf` function writes the leaf's partial sum
 *             (a pure function of the leaf's ≤ 4 samples; how it adds the
 *             pixels and samples inside the leaf is its own fixed choice);
 *   node      left + right, element by element.
 * Threads own whole subtrees: the tree is cut `levels` splits below the
 * root into at most 2^levels "frontier" subtrees (2^levels ≥ threads), each
 * walked depth-first by one thread, and the top of the tree is then added
 * element-wise (any split of the elements over threads gives the same
 * bits). The bits are those of one thread walking the whole tree, for every
 * thread count, and a node's partial is the same whether it is computed as
 * part of a bigger batch or alone (the subtree of a shard, batch_view.h).
 *
 * Memory: a depth-first walk of a subtree of depth d holds d partials on
 * its way down the right children, so the workspace is
 *   (frontier − 1) partials for the subtrees' results (the first is the
 *   output) + threads × (depth of a frontier subtree) partials,
 * e.g. batch 128 (32 leaves, depth 5): 1 thread 5 partials, 2 threads
 * 1 + 2·4 = 9, 32 threads 31 + 0 — never one per sample. At most as many
 * threads as leaves can work (32 at batch 128).
 */
#ifndef FREQBIAS_BACKEND_TREE_REDUCE_H
#define FREQBIAS_BACKEND_TREE_REDUCE_H

#include <stddef.h>

#include "core/batch_tree.h"

/* Writes (overwrites) partial[length] with the sum over the leaf's samples;
 * `thread` is the calling OpenMP thread (index of its own scratch). */
typedef void (*tree_leaf_fn)(float *partial, fb_tree_node leaf, int thread, void *ctx);

enum { TREE_MAX_FRONTIER = 256 };

typedef struct tree_plan {
    int batch;
    int threads;              /* threads that work (≤ frontier subtrees)    */
    int levels;               /* splits from the root to the frontier        */
    int frontier;             /* subtrees the threads share                 */
    int stack_depth;          /* partials each thread's walk holds          */
    size_t length;            /* floats per partial                          */
    size_t stride;            /* floats between partials (64-byte aligned)  */
} tree_plan;

/* The plan for `threads` threads (it may use fewer: never more than the
 * leaves, nor than TREE_MAX_FRONTIER). */
tree_plan tree_plan_make(int batch, size_t length, int threads);

/* Workspace floats tree_reduce needs under this plan. */
size_t tree_plan_floats(const tree_plan *plan);

/* The largest thread count ≤ threads whose plan fits in `floats`; at least 1
 * (a plan for 1 thread is what a workspace query with 1 thread reserved). */
tree_plan tree_plan_fit(int batch, size_t length, int threads, size_t floats);

/* sum[length] = the tree's sum over samples [0, batch), using workspace
 * [tree_plan_floats] (64-byte aligned). Call outside a parallel region. */
void tree_reduce(float *sum, const tree_plan *plan, float *workspace, tree_leaf_fn leaf,
                 void *ctx);

/* The whole tree walked by the calling thread alone (inside a parallel
 * region, where each thread sums its own vectors): sum[length] over samples
 * [0, batch), stack [fb_tree_depth(batch) partials of `stride` floats];
 * `thread` is passed on to `leaf`. The same bits as tree_reduce. */
void tree_reduce_serial(float *sum, int batch, size_t length, size_t stride, float *stack,
                        int thread, tree_leaf_fn leaf, void *ctx);

#endif
