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

#endif
