#!/bin/sh
# bench_mpi.sh — data-parallel training on this machine: 2 MPI ranks of 1
# thread each against 1 process of 2 threads, side by side in one run.
#
# For each width, runs bench_dist_step (bench/bench_dist_step.c: the step
# `freqbias train` runs under mpirun) as one process with 2 threads and
# under `mpirun -np 2` with 1 thread per rank, alternately ROUNDS times,
# and prints the median img/s of each, their ratio (the target is ≥ 0.9)
# and, for the 2-rank run, where the step's time goes (compute, BatchNorm
# synchronisation, gradient allreduce) and the bytes a rank sends per step.
#   usage: sh bench/bench_mpi.sh [MPI_BUILD_DIR]   (env: ROUNDS, STEPS, WIDTHS, BATCH)
# The binary comes from `make MPI=1` (make bench-mpi builds it and runs this).
set -eu
build=${1:-build-mpi}
rounds=${ROUNDS:-5}
steps=${STEPS:-5}
widths=${WIDTHS:-16 64}
batch=${BATCH:-128}
bench=$build/bench/bench_dist_step
launcher="mpirun --oversubscribe --bind-to none"
[ "$(id -u)" -eq 0 ] && launcher="$launcher --allow-run-as-root"
median() { sort -g | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p"; }
results=$(mktemp)
trap 'rm -f "$results"' EXIT
echo "ResNet-18, batch $batch, random 32x32x3 images, $steps timed steps after 1 warm-up, $rounds interleaved rounds"
"$build/freqbias" info | grep -E "^mpi|blas kernel|cpu  " || true
for width in $widths; do
    one=""; two=""; compute=""; sync=""; reduce=""; bytes=""
    for round in $(seq "$rounds"); do
        line=$("$bench" --width "$width" --batch "$batch" --steps "$steps" --threads 2)
        one="$one $(echo "$line" | field img_per_s)"
        line=$($launcher -np 2 "$bench" --width "$width" --batch "$batch" --steps "$steps" --threads 1)
        two="$two $(echo "$line" | field img_per_s)"
        compute="$compute $(echo "$line" | field compute_ms)"
        sync="$sync $(echo "$line" | field bn_sync_ms)"
        reduce="$reduce $(echo "$line" | field allreduce_ms)"
        bytes=$(echo "$line" | field bytes_per_step)
    done
    one_median=$(echo $one | tr ' ' '\n' | median)
    two_median=$(echo $two | tr ' ' '\n' | median)
    ratio=$(awk -v a="$two_median" -v b="$one_median" 'BEGIN {printf "%.3f", a / b}')
    echo "$width $one_median $two_median $ratio $(echo $compute | tr ' ' '\n' | median)" \
         "$(echo $sync | tr ' ' '\n' | median) $(echo $reduce | tr ' ' '\n' | median) $bytes" >> "$results"
done
echo
printf "| width | 1 process x 2 threads, img/s | 2 ranks x 1 thread, img/s | ratio | 2 ranks: compute ms | BN sync ms | allreduce ms | bytes sent per rank per step |\n"
printf "|-------|------|------|------|------|------|------|------|\n"
while read -r width one two ratio compute sync reduce bytes; do
    printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n" "$width" "$one" "$two" "$ratio" "$compute" "$sync" \
        "$reduce" "$bytes"
done < "$results"
