/* dist.c — the MPI layer: ranks, shards, a gather in image order, and the
 * allreduce that follows the batch reduction tree (see freqbias/dist.h).
 *
 * No MPI collective that adds numbers is used: MPI_Allreduce may add in any
 * order (and Open MPI picks its algorithm by message size and rank count),
 * so its bits could change with R. The allreduce here is a butterfly over
 * point-to-point MPI_Sendrecv: with R = 2^k ranks, round j pairs rank r
 * with r XOR 2^j. Before round j every rank holds the sum of the node at
 * depth k − j that its top k − j bits select (the shard rule of
 * core/batch_tree.h); the pair's two nodes are the children of one parent,
 * the one with bit j clear being the left child, and both ranks compute
 * left + right in that order (IEEE addition is commutative, and naming the
 * order also keeps NaN payloads equal). After k rounds every rank holds the
 * root's sum. When the parent is a leaf (≤ FB_TREE_LEAF samples) its
 * samples were never split: the left rank owns the whole leaf and the right
 * one an empty shard, so the left value passes up unchanged (adding a zero
 * would turn −0 into +0).
 *
 * The rounds move only what they must (Rabenseifner's reduce-scatter and
 * allgather, which keep the butterfly's pairs and therefore its order of
 * additions, element by element): in round j a rank sends its partner the
 * half of its current elements that the partner will add up and keeps the
 * other half, so after k rounds each rank holds the root's sum of 1/R of
 * the vector; the same pairs in reverse order then swap their finished
 * halves. Bytes sent per rank: 2 · (R − 1)/R · count · element size
 * (fb_dist_bytes_sent), instead of k · count for whole-vector exchanges.
 *
 * Gathers use MPI_Gatherv, which moves bytes and adds nothing.
 *
 * Without MPI (or an MPI build started without mpirun/srun: none of
 * OMPI_COMM_WORLD_SIZE, PMIX_RANK, PMI_RANK in the environment, so
 * MPI_Init is never called and no singleton daemon starts) the process is
 * rank 0 of 1 and every function here is the identity. A process that a
 * rank starts (the stages `freqbias report` runs as child processes)
 * inherits the launcher's variables but is no rank: MPI_Init there fails
 * ("orte_init failed") and the job hangs. So a rank that joins sets
 * FREQBIAS_MPI_RANK_PARENT=1, and a process that finds it runs alone.
 */
#include "freqbias/dist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/batch_tree.h"

#ifdef FB_WITH_MPI
#include <mpi.h>
static int joined;      /* fb_dist_init called MPI_Init            */
#endif

static int world_rank;  /* 0 without a job                         */
static int world_size = 1;
static int node_rank;   /* among the ranks on this machine: 0 without a job */

int fb_dist_rank(void) { return world_rank; }
int fb_dist_size(void) { return world_size; }
int fb_dist_is_root(void) { return world_rank == 0; }
int fb_dist_local_rank(void) { return node_rank; }

void fb_dist_shard(int items, int *first, int *count)
{
    long long begin = (long long)items * world_rank / world_size;
    long long end = (long long)items * (world_rank + 1) / world_size;
    *first = (int)begin;
    *count = (int)(end - begin);
}

_Noreturn void fb_dist_abort(const char *what, const char *message, int code)
{
    fprintf(stderr, "freqbias %s (rank %d of %d): %s\n", what, world_rank, world_size, message);
    fflush(NULL);
#ifdef FB_WITH_MPI
    if (joined)
        MPI_Abort(MPI_COMM_WORLD, code ? code : 2);
#endif
    exit(code ? code : 2);
}

#ifndef FB_WITH_MPI

fb_status fb_dist_init(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return FB_OK;
}

void fb_dist_finalize(void) {}

const char *fb_dist_library(void) { return "not built (make MPI=1)"; }

double fb_dist_bytes_sent(void) { return 0.0; }

fb_status fb_dist_gather_rows(void *rows, size_t row_bytes, int total, int first, int count)
{
    (void)rows;
    (void)row_bytes;
    if (first != 0 || count != total)
        return fb_error(FB_ERR_USAGE, "gather: one process must hold every row (%d of %d from %d)",
                        count, total, first);
    return FB_OK;
}

fb_status fb_dist_tree_allreduce_f32(float *sum, size_t count, int batch)
{
    (void)sum;
    (void)count;
    (void)batch;
    return FB_OK;
}

fb_status fb_dist_tree_allreduce_f64(double *sum, size_t count, int batch)
{
    (void)sum;
    (void)count;
    (void)batch;
    return FB_OK;
}

#else /* FB_WITH_MPI */

static void *scratch;        /* the partner's values in the allreduce */
static size_t bytes_sent;    /* by this rank in the allreduce, since the start */
static size_t scratch_bytes;
static char library_name[MPI_MAX_LIBRARY_VERSION_STRING];

static int launched_by_mpi(void)
{
    if (getenv("FREQBIAS_MPI_RANK_PARENT")) /* started by a rank, not by the launcher */
        return 0;
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK");
}

fb_status fb_dist_init(int *argc, char ***argv)
{
    if (joined || !launched_by_mpi())
        return FB_OK;
    int provided = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return fb_error(FB_ERR_IO, "MPI_Init_thread failed");
    joined = 1;
    setenv("FREQBIAS_MPI_RANK_PARENT", "1", 1);
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    MPI_Comm node;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, world_rank, MPI_INFO_NULL, &node) ==
        MPI_SUCCESS) {
        MPI_Comm_rank(node, &node_rank);
        MPI_Comm_free(&node);
    }
    if (provided < MPI_THREAD_FUNNELED)
        return fb_error(FB_ERR_UNSUPPORTED, "this MPI library gives thread level %d, freqbias needs "
                        "MPI_THREAD_FUNNELED (OpenMP threads, MPI from the main thread only)", provided);
    if (!fb_tree_ranks_valid(world_size)) {
        int lower = 1;
        while (2 * lower < world_size)
            lower *= 2;
        return fb_error(FB_ERR_USAGE, "%d MPI ranks: the rank count must be a power of two (1, 2, 4, "
                        "8, ...), because every batch is split along the halves of the batch reduction "
                        "tree (core/batch_tree.h); run mpirun -np %d or -np %d",
                        world_size, lower, 2 * lower);
    }
    return FB_OK;
}

void fb_dist_finalize(void)
{
    free(scratch);
    scratch = NULL;
    scratch_bytes = 0;
    if (joined)
        MPI_Finalize();
    joined = 0;
}

const char *fb_dist_library(void)
{
    int length = 0;
    MPI_Get_library_version(library_name, &length);
    char *newline = strchr(library_name, '\n');
    if (newline)
        *newline = '\0';
    char *comma = strchr(library_name, ',');
    if (comma) /* "Open MPI v4.1.4, package: ..." → "Open MPI v4.1.4" */
        *comma = '\0';
    return library_name;
}

fb_status fb_dist_gather_rows(void *rows, size_t row_bytes, int total, int first, int count)
{
    if (world_size == 1)
        return first == 0 && count == total
                   ? FB_OK
                   : fb_error(FB_ERR_USAGE, "gather: one process must hold every row (%d of %d from %d)",
                              count, total, first);
    if (row_bytes > (size_t)0x7fffffff)
        return fb_error(FB_ERR_UNSUPPORTED, "gather: rows of %zu bytes are too long for MPI", row_bytes);
    int range[2] = {first, count};
    int *table = NULL; /* rank 0: [size, 4] = (first, count) as sent, then counts, starts */
    if (world_rank == 0 && !(table = malloc((size_t)world_size * 4 * sizeof(int))))
        fb_dist_abort("gather", "out of memory", 2);
    int *ranges = table, *counts = table ? table + 2 * world_size : NULL;
    int *starts = table ? table + 3 * world_size : NULL;
    int failed = 0;
    MPI_Gather(range, 2, MPI_INT, ranges, 2, MPI_INT, 0, MPI_COMM_WORLD);
    if (world_rank == 0) {
        int expected = 0;
        for (int r = 0; r < world_size; r++) {
            failed |= ranges[2 * r] != expected || ranges[2 * r + 1] < 0;
            counts[r] = ranges[2 * r + 1];
            starts[r] = ranges[2 * r];
            expected += ranges[2 * r + 1];
        }
        failed |= expected != total;
    }
    /* rank 0's verdict goes to everyone, so either all ranks move the rows or none does */
    MPI_Bcast(&failed, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (!failed) {
        MPI_Datatype row;
        MPI_Type_contiguous((int)row_bytes, MPI_BYTE, &row);
        MPI_Type_commit(&row);
        if (world_rank == 0)
            MPI_Gatherv(MPI_IN_PLACE, 0, row, rows, counts, starts, row, 0, MPI_COMM_WORLD);
        else
            MPI_Gatherv((char *)rows + (size_t)first * row_bytes, count, row, NULL, NULL, NULL, row, 0,
                        MPI_COMM_WORLD);
        MPI_Type_free(&row);
    }
    free(table);
    if (failed)
        return fb_error(FB_ERR_USAGE, "gather: the ranks' rows do not tile [0, %d) in rank order", total);
    return FB_OK;
}

/* left + right into out, element by element, in that order. */
static void add_f32(void *out, const void *left, const void *right, size_t count)
{
    const float *a = left, *b = right;
    float *c = out;
    for (size_t i = 0; i < count; i++)
        c[i] = a[i] + b[i];
}

static void add_f64(void *out, const void *left, const void *right, size_t count)
{
    const double *a = left, *b = right;
    double *c = out;
    for (size_t i = 0; i < count; i++)
        c[i] = a[i] + b[i];
}

/* Sends send_count elements to the partner while receiving recv_count from
 * it (the partner's counts are the mirror image), in pieces that fit MPI's
 * int counts. */
static void exchange(const void *send, size_t send_count, void *recv, size_t recv_count, size_t element,
                     MPI_Datatype type, int partner, int tag)
{
    const size_t piece = (size_t)1 << 28;
    for (size_t done = 0; done < send_count || done < recv_count; done += piece) {
        int out = send_count > done ? (int)(send_count - done < piece ? send_count - done : piece) : 0;
        int in = recv_count > done ? (int)(recv_count - done < piece ? recv_count - done : piece) : 0;
        MPI_Sendrecv((const char *)send + done * element, out, type, partner, tag,
                     (char *)recv + done * element, in, type, partner, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    }
    bytes_sent += send_count * element;
}

static fb_status tree_allreduce(void *sum, size_t count, size_t element, MPI_Datatype type, int batch,
                                void (*add)(void *, const void *, const void *, size_t))
{
    if (world_size == 1 || count == 0)
        return FB_OK;
    if (batch < 1)
        return fb_error(FB_ERR_USAGE, "tree allreduce: batch of %d samples", batch);
    size_t bytes = count * element;
    if (bytes > scratch_bytes) {
        void *grown = realloc(scratch, bytes);
        if (!grown)
            return fb_error(FB_ERR_NOMEM, "tree allreduce: no memory for %zu bytes", bytes);
        scratch = grown;
        scratch_bytes = bytes;
    }
    char *values = sum;
    int levels = 0;
    while ((1 << levels) < world_size)
        levels++;
    size_t lo = 0, hi = count, held_lo[32], held_hi[32]; /* the elements this rank adds up */
    /* reduce-scatter: each round halves the elements a rank is responsible for */
    for (int round = 0; round < levels; round++) {
        int partner = world_rank ^ (1 << round);
        int i_am_left = !(world_rank & (1 << round));
        /* the common parent: the node the top levels − round − 1 bits select */
        fb_tree_node parent = fb_tree_shard(batch, world_rank >> (round + 1), world_size >> (round + 1));
        int split = parent.hi > parent.lo && !fb_tree_is_leaf(parent);
        size_t mid = lo + (hi - lo) / 2;
        size_t keep_lo = i_am_left ? lo : mid, keep_hi = i_am_left ? mid : hi;
        size_t give_lo = i_am_left ? mid : lo, give_hi = i_am_left ? hi : mid;
        size_t kept = keep_hi - keep_lo;
        exchange(values + give_lo * element, give_hi - give_lo, scratch, kept, element, type, partner, round);
        char *mine = values + keep_lo * element;
        if (split)
            add(mine, i_am_left ? mine : scratch, i_am_left ? scratch : mine, kept);
        else if (!i_am_left)
            memcpy(mine, scratch, kept * element);
        held_lo[round] = lo;
        held_hi[round] = hi;
        lo = keep_lo;
        hi = keep_hi;
    }
    /* allgather: the same pairs in reverse order swap their finished halves */
    for (int round = levels - 1; round >= 0; round--) {
        int partner = world_rank ^ (1 << round);
        int i_am_left = !(world_rank & (1 << round));
        size_t whole_lo = held_lo[round], whole_hi = held_hi[round];
        size_t other_lo = i_am_left ? hi : whole_lo, other_hi = i_am_left ? whole_hi : lo;
        exchange(values + lo * element, hi - lo, values + other_lo * element, other_hi - other_lo, element, type,
                 partner, levels + round);
        lo = whole_lo;
        hi = whole_hi;
    }
    return FB_OK;
}

double fb_dist_bytes_sent(void) { return (double)bytes_sent; }

fb_status fb_dist_tree_allreduce_f32(float *sum, size_t count, int batch)
{
    return tree_allreduce(sum, count, sizeof(float), MPI_FLOAT, batch, add_f32);
}

fb_status fb_dist_tree_allreduce_f64(double *sum, size_t count, int batch)
{
    return tree_allreduce(sum, count, sizeof(double), MPI_DOUBLE, batch, add_f64);
}

#endif
