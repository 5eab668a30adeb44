#!/bin/sh
# compare_commits.sh — single-process training speed of this tree against an
# earlier commit, side by side in one run (did a change slow training down?).
#
# Builds bench_train of commit BASE in a temporary git worktree, then for
# each width and thread count runs this tree's bench_train and BASE's
# alternately ROUNDS times (interleaved, so a slow phase of the machine hits
# both) and prints the median img/s of each and the ratio now/BASE.
#   usage: sh bench/compare_commits.sh BASE [BUILD_DIR]   (env: ROUNDS, STEPS, WIDTHS, THREADS)
# Example: sh bench/compare_commits.sh bc3ae61   (the commit before the batch tree, issue 12)
set -eu
base=$1
build=${2:-build}
rounds=${ROUNDS:-5}
steps=${STEPS:-3}
widths=${WIDTHS:-16 64}
thread_counts=${THREADS:-1 2}
tree=$(mktemp -d /tmp/freqbias-base-XXXXXX)
trap 'git worktree remove --force "$tree" >/dev/null 2>&1 || rm -rf "$tree"' EXIT
git worktree add --detach "$tree" "$base" >/dev/null
echo "building bench_train of $base in $tree ..."
make -C "$tree" -j2 build/bench/bench_train >/dev/null
make -j2 "$build/bench/bench_train" >/dev/null
median() { sort -g | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
field() { sed -n 's/.*img_per_s=\([0-9.]*\).*/\1/p'; }
echo "ResNet-18 training step, batch 128, $steps timed steps after 1 warm-up, $rounds interleaved rounds"
echo "now: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src include || echo ' + uncommitted changes'), base: $base"
printf "| width | threads | now img/s | %s img/s | now / base |\n|------|------|------|------|------|\n" "$base"
for width in $widths; do
    for threads in $thread_counts; do
        now=""; then=""
        for round in $(seq "$rounds"); do
            now="$now $("$build/bench/bench_train" --width "$width" --threads "$threads" --steps "$steps" | field)"
            then="$then $("$tree/build/bench/bench_train" --width "$width" --threads "$threads" --steps "$steps" | field)"
        done
        now_median=$(echo $now | tr ' ' '\n' | median)
        then_median=$(echo $then | tr ' ' '\n' | median)
        printf "| %s | %s | %s | %s | %s |\n" "$width" "$threads" "$now_median" "$then_median" \
            "$(awk -v a="$now_median" -v b="$then_median" 'BEGIN {printf "%.3f", a / b}')"
    done
done
