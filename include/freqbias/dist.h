/* freqbias/dist.h — running as several processes (MPI ranks) that share one job.
 *
 * Built with MPI (`make MPI=1`, -DFB_WITH_MPI) these functions talk to Open
 * MPI; in every other build, and in an MPI build started without a launcher
 * (no mpirun/srun environment), they describe one process: rank 0 of 1,
 * every shard is everything, gathers and allreduces change nothing. So the
 * library calls them unconditionally and stays one program.
 *
 * The rules every collective here keeps:
 *   - Ranks split work into contiguous shards in rank order, so rank order
 *     is image order and a gather to rank 0 is a concatenation.
 *   - Anything summed over images is summed once, at rank 0, in the order a
 *     single process uses (the gather brings the per-image values there):
 *     the bits do not depend on the number of ranks.
 *   - Sums that must exist on every rank (the gradients of a sharded
 *     training step) follow the batch reduction tree (core/batch_tree.h):
 *     fb_dist_tree_allreduce_* adds the top of the tree in the tree's order.
 *   - A rank that fails ends the whole job (fb_dist_abort): no rank is left
 *     waiting for a partner that will never come.
 */
#ifndef FREQBIAS_DIST_H
#define FREQBIAS_DIST_H

#include <stddef.h>

#include "freqbias/error.h"

/* Joins the job when launched by mpirun or srun (MPI_Init_thread, funneled:
 * only the main thread calls MPI). The rank count must be a power of two —
 * the batch tree's shard rule needs one — else FB_ERR_USAGE with a message
 * saying so (the caller still calls fb_dist_finalize). A second call does
 * nothing. Processes a rank starts (report's stages) run alone: the rank
 * sets FREQBIAS_MPI_RANK_PARENT=1 in its environment, and fb_dist_init in
 * a process that inherits it does not join. */
fb_status fb_dist_init(int *argc, char ***argv);
/* Leaves the job (MPI_Finalize) if fb_dist_init joined one. */
void fb_dist_finalize(void);

int fb_dist_rank(void);      /* 0 .. size − 1 (0 without MPI)                  */
int fb_dist_size(void);      /* the number of ranks (1 without MPI)           */
int fb_dist_is_root(void);   /* rank 0: the one that prints and writes files  */
/* This rank's index among the ranks on its own machine (0 without MPI):
 * the CUDA backend takes GPU local_rank mod (GPUs on the machine). */
int fb_dist_local_rank(void);
/* "Open MPI 4.1.4" style library name, or "not built (make MPI=1)". */
const char *fb_dist_library(void);

/* Prints "freqbias <what> (rank r of R): <message>" to stderr, flushes, and
 * ends the whole job with exit code `code` (MPI_Abort); without a job it
 * just exits. Never returns. */
_Noreturn void fb_dist_abort(const char *what, const char *message, int code);

/* This rank's contiguous share of `items` work units (balanced: sizes differ
 * by at most one, rank order is item order): [*first, *first + *count). */
void fb_dist_shard(int items, int *first, int *count);

/* Gather to rank 0: rows[total, row_bytes] on every rank, this rank's rows
 * [first, first + count) filled; afterwards rank 0's buffer holds every
 * rank's rows (the other ranks' buffers are unchanged). The ranks' ranges
 * must tile [0, total) in rank order (fb_dist_shard's do), else FB_ERR_USAGE
 * on rank 0. */
fb_status fb_dist_gather_rows(void *rows, size_t row_bytes, int total, int first, int count);

/* Deterministic tree allreduce. On entry `sum[count]` is this rank's sum
 * over its shard node of a batch of `batch` samples (fb_tree_shard(batch,
 * rank, size)); on return every rank holds the sum over the whole batch
 * with exactly the bits one process gets by adding the tree's nodes in the
 * tree's order: in round j (j = 0 .. log2(size) − 1) rank r exchanges with
 * r XOR 2^j, and for their common parent node the pair computes left +
 * right — each rank for the half of the elements it keeps — or keeps the
 * left one's value unchanged where the parent is a leaf (its samples were
 * never split, so the right partner's shard is empty). After the last round
 * the pairs swap their finished halves in reverse order: 2·(R − 1)/R ·
 * count elements sent per rank, whatever R. */
fb_status fb_dist_tree_allreduce_f32(float *sum, size_t count, int batch);
fb_status fb_dist_tree_allreduce_f64(double *sum, size_t count, int batch);
/* Bytes this rank has sent in tree allreduces since it started (0 without
 * a job): benchmarks read it before and after a step. */
double fb_dist_bytes_sent(void);

#endif
