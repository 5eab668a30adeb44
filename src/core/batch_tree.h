/* batch_tree.h — the one order in which every sum over a batch is added.
 *
 * Why: a float sum's bits depend on the order of its additions. If the
 * filter gradients, the BatchNorm statistics, the linear layer's gradient
 * and the loss are each a chain over the batch's samples, they cannot be
 * split across threads or machines without changing the result. So every
 * batch sum follows one fixed binary tree over contiguous blocks of
 * samples, built from the batch size alone — never from the layer, the
 * thread count or the number of MPI ranks. A thread or a rank owns whole
 * subtrees, and combining the subtrees' partial sums in the tree's order
 * gives the same bits as one process computing the whole tree.
 *
 * The tree over the samples [0, N):
 *   node [lo, hi)   a leaf when hi − lo ≤ FB_TREE_LEAF: its samples are
 *                   summed as a chain, lo first (how a backend sums the
 *                   pixels inside one sample is its own, fixed, choice);
 *                   otherwise it splits at mid = lo + ⌈(hi − lo) / 2⌉ and
 *                   its sum is  left + right  (element by element; IEEE
 *                   addition is commutative, so right + left is the same).
 *   For N = 128: 32 leaves of 4 samples, 5 levels of pairwise additions.
 *
 * Shards: with R = 2^k ranks, rank r owns the node reached from the root by
 * k steps, step j going right when bit k−1−j of r is set. If a leaf is
 * reached in fewer steps, the rank whose remaining bits are all zero owns
 * it and the others own an empty shard [hi, hi) that adds nothing: the
 * partner's sum is passed up unchanged. Shard sizes are therefore ⌊N/R⌋ or
 * ⌈N/R⌉ whenever N ≥ R·FB_TREE_LEAF, and rank order is sample order.
 */
#ifndef FREQBIAS_CORE_BATCH_TREE_H
#define FREQBIAS_CORE_BATCH_TREE_H

enum { FB_TREE_LEAF = 4 };

/* A node of the tree: the samples [lo, hi). Empty when lo == hi. */
typedef struct fb_tree_node {
    int lo, hi;
} fb_tree_node;

static inline int fb_tree_is_leaf(fb_tree_node node)
{
    return node.hi - node.lo <= FB_TREE_LEAF;
}

/* Where a non-leaf node splits: the left child gets the extra sample. */
static inline int fb_tree_mid(fb_tree_node node)
{
    return node.lo + (node.hi - node.lo + 1) / 2;
}

static inline fb_tree_node fb_tree_left(fb_tree_node node)
{
    return (fb_tree_node){node.lo, fb_tree_mid(node)};
}

static inline fb_tree_node fb_tree_right(fb_tree_node node)
{
    return (fb_tree_node){fb_tree_mid(node), node.hi};
}

/* 1 when ranks is a power of two ≥ 1 (the shard rule needs one). */
static inline int fb_tree_ranks_valid(int ranks)
{
    return ranks >= 1 && (ranks & (ranks - 1)) == 0;
}

/* The samples rank `rank` of `ranks` (a power of two) owns in a batch of
 * `batch` samples; see the header comment. */
static inline fb_tree_node fb_tree_shard(int batch, int rank, int ranks)
{
    fb_tree_node node = {0, batch};
    int levels = 0;
    while ((1 << levels) < ranks)
        levels++;
    for (int step = 0; step < levels; step++) {
        int go_right = (rank >> (levels - 1 - step)) & 1;
        if (fb_tree_is_leaf(node)) {
            int rest = rank & ((1 << (levels - step)) - 1);
            if (rest != 0)
                return (fb_tree_node){node.hi, node.hi};
            return node;
        }
        node = go_right ? fb_tree_right(node) : fb_tree_left(node);
    }
    return node;
}

/* ---- helpers that follow the rule above (they add no rule of their own) ---- */

/* Levels of pairwise additions above the deepest leaf of a tree over n
 * samples: 0 for n ≤ FB_TREE_LEAF, 5 for n = 128. The left child is never
 * smaller than the right, so the deepest leaf is on the leftmost path. */
static inline int fb_tree_depth(int n)
{
    int depth = 0;
    while (n > FB_TREE_LEAF) {
        n = (n + 1) / 2;
        depth++;
    }
    return depth;
}

/* Leaves of the tree over n samples (0 when n = 0). */
static inline int fb_tree_leaf_count(int n)
{
    if (n <= 0)
        return 0;
    if (n <= FB_TREE_LEAF)
        return 1;
    return fb_tree_leaf_count((n + 1) / 2) + fb_tree_leaf_count(n / 2);
}

/* 1 when `node` is a node of the tree over [0, total), or an empty shard
 * [x, x) inside it. The subtree under a node [lo, hi) is the tree over
 * hi − lo samples moved by lo (the rule looks only at a node's size), so a
 * process holding only the samples of a node computes that node's partial
 * sum by running the tree over its own samples. */
static inline int fb_tree_is_node(int total, fb_tree_node node)
{
    if (node.lo == node.hi)
        return node.lo >= 0 && node.lo <= total;
    fb_tree_node at = {0, total};
    for (;;) {
        if (at.lo == node.lo && at.hi == node.hi)
            return 1;
        if (fb_tree_is_leaf(at) || node.lo < at.lo || node.hi > at.hi)
            return 0;
        fb_tree_node left = fb_tree_left(at);
        at = node.lo < left.hi ? left : fb_tree_right(at);
    }
}

/* The sum of a scalar over `node` in the tree's order, in double:
 * leaf(ctx, l) returns leaf l's chain sum; inner nodes add left + right.
 * A post-order walk, so the leaves are visited in sample order. */
typedef double (*fb_tree_leaf_sum_fn)(const void *ctx, fb_tree_node leaf);

static inline double fb_tree_sum(fb_tree_node node, fb_tree_leaf_sum_fn leaf, const void *ctx)
{
    if (node.lo == node.hi)
        return 0.0;
    if (fb_tree_is_leaf(node))
        return leaf(ctx, node);
    double left = fb_tree_sum(fb_tree_left(node), leaf, ctx);
    return left + fb_tree_sum(fb_tree_right(node), leaf, ctx);
}

/* The same walk for sums that shards exchange as floats (gradients): each
 * leaf's double chain is rounded to float, and nodes add in float, so a
 * shard's float partial combines with the others' to the same bits. */
static inline float fb_tree_sum_float(fb_tree_node node, fb_tree_leaf_sum_fn leaf, const void *ctx)
{
    if (node.lo == node.hi)
        return 0.0f;
    if (fb_tree_is_leaf(node))
        return (float)leaf(ctx, node);
    float left = fb_tree_sum_float(fb_tree_left(node), leaf, ctx);
    return left + fb_tree_sum_float(fb_tree_right(node), leaf, ctx);
}

/* The nodes reached from `node` by `levels` splits (a leaf met earlier
 * stays as it is), in sample order, into out[capacity]; returns how many
 * (at most 2^levels). Threads each take some of these subtrees. */
static inline int fb_tree_frontier(fb_tree_node node, int levels, fb_tree_node *out, int capacity)
{
    if (levels <= 0 || fb_tree_is_leaf(node)) {
        if (capacity < 1)
            return 0;
        out[0] = node;
        return 1;
    }
    int left = fb_tree_frontier(fb_tree_left(node), levels - 1, out, capacity);
    return left + fb_tree_frontier(fb_tree_right(node), levels - 1, out + left, capacity - left);
}

#endif
