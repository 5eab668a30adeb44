/* freqbias/batch_view.h — which shard of a batch an op sees, and how its
 * per-channel sums meet the other shards'.
 *
 * Every sum over a batch follows one tree (src/core/batch_tree.h). Data-
 * parallel training gives each process (an MPI rank) one node of that tree,
 * its shard [lo, hi) of the `total` samples (fb_tree_shard). For most sums
 * nothing more is needed: the subtree under a node is the tree over its own
 * hi − lo samples, so an op run on the shard alone returns that node's
 * partial sum — the conv and linear weight and bias gradients come out as
 * the shard's share, and adding the shares in the tree's order (the
 * gradient allreduce) gives the bits one process computes.
 *
 * Three ops cannot wait for that: BatchNorm normalises with the WHOLE
 * batch's mean and variance, its backward needs the whole batch's Σdy and
 * Σdy·x̂ to form dx, and the loss is a mean over the whole batch. These ops
 * take an `fb_batch_view`: `total` sets their counts (M = total·H·W, the
 * loss divisor), and `combine` merges their per-channel double partials with
 * the other shards' before they are used:
 *
 *   combine(partials[count], user)   in: this shard's tree partials (sums
 *       over [lo, hi)); out: the tree's combination of every shard's
 *       partials — element-wise node = left + right in the order of
 *       fb_tree_shard, an empty shard adding nothing (its partner's sum is
 *       passed up unchanged, not added to 0) — the same on every shard.
 *       Every shard calls it the same number of times with the same count
 *       (a collective): BatchNorm forward twice per layer (Σx, then
 *       Σ(x − mean)²), BatchNorm backward once (Σdy and Σdy·x̂, 2·C values),
 *       the loss once (1 value). An empty shard calls it too.
 *
 * After its combine, BatchNorm backward holds the whole batch's dγ and dβ.
 * So that the one gradient allreduce can treat every gradient alike, the
 * shard with lo = 0 writes them and every other shard writes −0.0, the
 * exact identity of IEEE addition (x + (−0) = x for every x, −0 included):
 * the tree allreduce then yields the whole-batch values bit for bit.
 *
 * A NULL view (or total = hi − lo with combine NULL) is the whole batch in
 * one process: what every single-process caller passes.
 */
#ifndef FREQBIAS_BATCH_VIEW_H
#define FREQBIAS_BATCH_VIEW_H

typedef void (*fb_batch_combine_fn)(double *partials, int count, void *user);

typedef struct fb_batch_view {
    int total;                   /* samples in the whole batch, all shards    */
    int lo, hi;                  /* this shard: samples [lo, hi) of the batch  */
    fb_batch_combine_fn combine; /* merges partials across shards; NULL: one  */
    void *user;                  /* passed to combine                          */
} fb_batch_view;

/* Samples the counts and means divide by: the whole batch's. */
static inline int fb_batch_view_total(const fb_batch_view *view, int batch)
{
    return view ? view->total : batch;
}

/* Merges count partials across shards (nothing to do in one process). */
static inline void fb_batch_view_combine(const fb_batch_view *view, double *partials, int count)
{
    if (view && view->combine)
        view->combine(partials, count, view->user);
}

/* 1 when this process writes batch-wide results such as BatchNorm's dγ, dβ
 * (the shard that starts the batch; the only one without a view). */
static inline int fb_batch_view_leads(const fb_batch_view *view)
{
    return !view || view->lo == 0;
}

#endif
