/* tree_reduce.c — the batch tree over float vectors, threads owning whole
 * subtrees (what and why: tree_reduce.h).
 */
#include "tree_reduce.h"

#include <omp.h>
#include <string.h>

enum { ADD_BLOCK = 4096 }; /* floats per element block of the top additions */

static size_t round16(size_t floats) { return (floats + 15) / 16 * 16; }

/* Splits below the root that give every thread a subtree (or stop at the leaves). */
static int frontier_levels(int batch, int threads)
{
    int levels = 0, depth = fb_tree_depth(batch);
    while ((1 << levels) < threads && levels < depth && (2 << levels) <= TREE_MAX_FRONTIER)
        levels++;
    return levels;
}

tree_plan tree_plan_make(int batch, size_t length, int threads)
{
    tree_plan plan = {batch, 1, 0, 1, 0, length, round16(length)};
    if (batch <= 0)
        return plan;
    fb_tree_node nodes[TREE_MAX_FRONTIER];
    plan.levels = frontier_levels(batch, threads < 1 ? 1 : threads);
    plan.frontier = fb_tree_frontier((fb_tree_node){0, batch}, plan.levels, nodes, TREE_MAX_FRONTIER);
    plan.threads = threads < plan.frontier ? (threads < 1 ? 1 : threads) : plan.frontier;
    /* the first subtree is the largest (the left child never has fewer samples) */
    plan.stack_depth = fb_tree_depth(nodes[0].hi - nodes[0].lo);
    return plan;
}

size_t tree_plan_floats(const tree_plan *plan)
{
    return ((size_t)(plan->frontier - 1) + (size_t)plan->threads * plan->stack_depth) * plan->stride;
}

tree_plan tree_plan_fit(int batch, size_t length, int threads, size_t floats)
{
    for (int t = threads; t > 1; t--) {
        tree_plan plan = tree_plan_make(batch, length, t);
        if (tree_plan_floats(&plan) <= floats)
            return plan;
    }
    return tree_plan_make(batch, length, 1);
}

/* out = the sum over `node`, depth-first; stack holds one partial per level. */
static void walk(float *out, fb_tree_node node, float *stack, size_t stride, size_t length,
                 int thread, tree_leaf_fn leaf, void *ctx)
{
    if (fb_tree_is_leaf(node)) {
        leaf(out, node, thread, ctx);
        return;
    }
    walk(out, fb_tree_left(node), stack, stride, length, thread, leaf, ctx);
    walk(stack, fb_tree_right(node), stack + stride, stride, length, thread, leaf, ctx);
    for (size_t i = 0; i < length; i++)
        out[i] += stack[i];
}

/* The top of the tree above the frontier, on elements [begin, end): adds
 * the subtrees' results pairwise in the tree's order; returns the index of
 * the buffer that holds `node`'s sum (the first subtree's, in the end). */
static int add_top(float *const *results, fb_tree_node node, int levels, int *next, size_t begin,
                   size_t end)
{
    if (levels == 0 || fb_tree_is_leaf(node))
        return (*next)++;
    int left = add_top(results, fb_tree_left(node), levels - 1, next, begin, end);
    int right = add_top(results, fb_tree_right(node), levels - 1, next, begin, end);
    float *target = results[left];
    const float *other = results[right];
    for (size_t i = begin; i < end; i++)
        target[i] += other[i];
    return left;
}

void tree_reduce(float *sum, const tree_plan *plan, float *workspace, tree_leaf_fn leaf, void *ctx)
{
    if (plan->batch <= 0) {
        memset(sum, 0, plan->length * sizeof(float));
        return;
    }
    fb_tree_node root = {0, plan->batch};
    fb_tree_node nodes[TREE_MAX_FRONTIER];
    float *results[TREE_MAX_FRONTIER];
    int levels = plan->levels;
    int frontier = fb_tree_frontier(root, levels, nodes, TREE_MAX_FRONTIER);
    results[0] = sum;
    for (int i = 1; i < frontier; i++)
        results[i] = workspace + (size_t)(i - 1) * plan->stride;
    float *stacks = workspace + (size_t)(frontier - 1) * plan->stride;
    size_t stack_floats = (size_t)plan->stack_depth * plan->stride;

#pragma omp parallel for num_threads(plan->threads) schedule(static)
    for (int i = 0; i < frontier; i++) {
        int thread = omp_get_thread_num();
        walk(results[i], nodes[i], stacks + (size_t)thread * stack_floats, plan->stride,
             plan->length, thread, leaf, ctx);
    }
    if (frontier == 1)
        return;
    size_t blocks = (plan->length + ADD_BLOCK - 1) / ADD_BLOCK;
#pragma omp parallel for num_threads(plan->threads) schedule(static)
    for (size_t b = 0; b < blocks; b++) {
        size_t end = (b + 1) * ADD_BLOCK < plan->length ? (b + 1) * ADD_BLOCK : plan->length;
        int next = 0;
        add_top(results, root, levels, &next, b * ADD_BLOCK, end);
    }
}

void tree_reduce_serial(float *sum, int batch, size_t length, size_t stride, float *stack,
                        int thread, tree_leaf_fn leaf, void *ctx)
{
    if (batch <= 0) {
        memset(sum, 0, length * sizeof(float));
        return;
    }
    walk(sum, (fb_tree_node){0, batch}, stack, stride, length, thread, leaf, ctx);
}
