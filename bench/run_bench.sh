#!/bin/sh
# run_bench.sh — freqbias vs PyTorch, side by side in the same run.
#
# For 1 and 2 threads and for training and inference, runs bench_train
# (ours) and bench/torch_train.py (PyTorch 1.13, same model, same step)
# alternately ROUNDS times, then prints the median img/s of each and the
# ratio ours/PyTorch. The machine is noisy: medians of interleaved runs
# keep slow phases from favouring either side.
#   usage: sh bench/run_bench.sh [BUILD_DIR]   (env: ROUNDS, STEPS, WIDTH, BATCH)
set -eu
build=${1:-build}
rounds=${ROUNDS:-3}
steps=${STEPS:-3}
width=${WIDTH:-64}
batch=${BATCH:-128}
python=/usr/bin/python3
if ! $python -c 'import torch' >/dev/null 2>&1; then
    echo "bench: PyTorch not found ($python -c 'import torch' failed); install python3-torch" >&2
    echo "bench: running freqbias alone" >&2
    python=""
fi
median() { sort -g | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
field() { sed -n 's/.*img_per_s=\([0-9.]*\).*/\1/p'; }
results=$(mktemp)
trap 'rm -f "$results"' EXIT
echo "ResNet-18 width $width, batch $batch, 32x32x3, $steps timed steps after 1 warm-up, $rounds interleaved rounds"
"$build/freqbias" info | grep -E "blas kernel|cpu  "
for threads in 1 2; do
    for mode in train infer; do
        ours=""; theirs=""
        for round in $(seq "$rounds"); do
            ours="$ours $("$build/bench/bench_train" --mode $mode --threads $threads --steps "$steps" \
                --width "$width" --batch "$batch" | field)"
            if [ -n "$python" ]; then
                theirs="$theirs $($python bench/torch_train.py --mode $mode --threads $threads \
                    --steps "$steps" --warmup 1 --width "$width" --batch "$batch" | field)"
            fi
        done
        ours_median=$(echo $ours | tr ' ' '\n' | median)
        if [ -n "$python" ]; then
            theirs_median=$(echo $theirs | tr ' ' '\n' | median)
            ratio=$(awk -v a="$ours_median" -v b="$theirs_median" 'BEGIN {printf "%.2f", a / b}')
        else
            theirs_median="-"; ratio="-"
        fi
        echo "$mode $threads $ours_median $theirs_median $ratio" >> "$results"
    done
done
echo
printf "| %-9s | %-7s | %-16s | %-17s | %-5s |\n" mode threads "freqbias img/s" "PyTorch img/s" ratio
printf "|-----------|---------|------------------|-------------------|-------|\n"
while read -r mode threads ours theirs ratio; do
    printf "| %-9s | %-7s | %-16s | %-17s | %-5s |\n" "$mode" "$threads" "$ours" "$theirs" "$ratio"
done < "$results"
