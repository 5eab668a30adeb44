#!/bin/sh
# scaling_model.sh — projects the wall time of `freqbias report --preset
# paper` on 1, 4, 16 and 64 cluster nodes from rates measured on this
# machine and from stated assumptions about the cluster (docs/SCALING.md
# explains every term). Nothing here is measured: it is arithmetic on the
# inputs below, each overridable from the environment.
#
# Measured here (docs/SCALING.md gives the commands and the runs):
#   RATE_B128   img/s of one rank with 1 thread on a whole batch of 128,
#               ResNet-18 width 64 (bench_dist_step --width 64 --threads 1)
#   RATE_B4     img/s of one rank with 1 thread on a shard of 4 images
#               (bench_dist_step --width 64 --batch 4 --threads 1)
#   GRAD_FLOATS the gradient block of ResNet-18 width 64 (bench_dist_step prints it)
#   SYNC_WAIT   time ranks spend waiting for each other at BatchNorm's
#               synchronisations, as a fraction of the compute (bench_mpi.sh
#               at width 64: BN sync ms / compute ms of the 2-rank run)
#   OVERHEAD    everything a report does besides training steps (evaluation
#               each epoch, sweeps, spectra, heat maps, CDES), as a fraction of
#               the training stages' time, from the laptop report's stage times
# Assumed (a typical CPU cluster; change them for yours):
#   CORES       cores per node
#   THREAD_EFF  efficiency of T > 1 threads in one rank (img/s = rate × T × eff)
#   LATENCY_US  one message between nodes (InfiniBand: 1-3 µs; TCP: 20-50 µs)
#   NET_GBS     bandwidth between nodes, GB/s (100 Gb/s InfiniBand = 12.5)
#   SHM_GBS     bandwidth between ranks of one node (shared memory), GB/s
# The work of the paper preset: 3 seeds × 4 classifiers (baseline, HARS,
# SCR, WCR), each 200 epochs of 50,000 images in batches of 128.
set -eu
RATE_B128=${RATE_B128:?measure it: bench_dist_step --width 64 --threads 1}
RATE_B4=${RATE_B4:?measure it: bench_dist_step --width 64 --batch 4 --threads 1}
GRAD_FLOATS=${GRAD_FLOATS:?bench_dist_step --width 64 prints gradient_floats}
SYNC_WAIT=${SYNC_WAIT:?bench_mpi.sh: BN sync ms / compute ms at width 64}
OVERHEAD=${OVERHEAD:?from the laptop report stage times}
CORES=${CORES:-64}
THREAD_EFF=${THREAD_EFF:-0.7}
LATENCY_US=${LATENCY_US:-2}
NET_GBS=${NET_GBS:-12.5}
SHM_GBS=${SHM_GBS:-10}
awk -v rate128="$RATE_B128" -v rate4="$RATE_B4" -v grad="$GRAD_FLOATS" -v overhead="$OVERHEAD" \
    -v wait="$SYNC_WAIT" -v cores="$CORES" -v eff="$THREAD_EFF" -v latency="$LATENCY_US" -v net="$NET_GBS" -v shm="$SHM_GBS" '
function log2(x) { return log(x) / log(2) }
function hours(s) { return s / 3600 }
BEGIN {
    classifiers = 12; epochs = 200; images = 50000; batch = 128
    steps = epochs * int((images + batch - 1) / batch)  # per classifier
    bn_calls = 61   # ResNet-18: 20 BatchNorm layers x (2 forward + 1 backward) + the loss
    bytes = grad * 4
    printf "| nodes | ranks x threads | images per rank per step | compute ms | BN sync ms | allreduce ms | step ms | projected wall time |\n"
    printf "|------|------|------|------|------|------|------|------|\n"
    split("1 4 16 64", list, " ")
    for (k = 1; k <= 4; k++) {
        nodes = list[k]
        # at most 32 ranks: batch 128 has 32 leaves of 4 samples (core/batch_tree.h)
        ranks = 32
        used_nodes = nodes < ranks ? nodes : ranks
        per_node = ranks / used_nodes
        threads = cores / per_node
        shard = batch / ranks
        rate = rate4 * (threads > 1 ? threads * eff : 1)
        compute = shard / rate
        # round j sends bytes / 2^(j+1) twice (reduce-scatter, then allgather);
        # rounds with a partner on the same node come first (ranks placed in blocks)
        rounds = log2(ranks); local = log2(per_node); allreduce = 0
        for (j = 0; j < rounds; j++)
            allreduce += 2 * (latency * 1e-6 + bytes / 2 ^ (j + 1) / ((j < local ? shm : net) * 1e9))
        sync = bn_calls * 2 * rounds * latency * 1e-6 + wait * compute  # 2 log2(R) messages per combine
        step = compute + sync + allreduce
        total = classifiers * steps * step * (1 + overhead)
        printf "| %d%s | %d x %d | %d | %.1f | %.2f | %.1f | %.1f | %.1f h |\n", nodes,
               (nodes > used_nodes ? sprintf(" (%d used)", used_nodes) : ""), ranks, threads, shard,
               compute * 1e3, sync * 1e3, allreduce * 1e3, step * 1e3, hours(total)
    }
    # for comparison: one node as one process of all its cores, whole batches
    compute = batch / (rate128 * cores * eff)
    total = classifiers * steps * compute * (1 + overhead)
    printf "\none node as 1 rank x %d threads on whole batches: %.1f ms per step, %.1f h\n", cores, compute * 1e3, hours(total)
}'
