#!/bin/sh
# bench_spectrum.sh — the FFT-bound commands against the same work in numpy,
# side by side: `freqbias filter` (10,000 test images, low-pass r = 12,
# min-max, uint8 out), `freqbias hars` (50,000 training images, r = 12) and
# `freqbias spectrum` (mean density of the 50,000 training images). Whole
# commands (reading and writing included), alternating, medians of ROUNDS.
# Needs data/ (make data) and python3-numpy.
#   usage: sh bench/bench_spectrum.sh [BUILD_DIR]     (env: ROUNDS, default 3)
set -eu
build=${1:-build}
rounds=${ROUNDS:-3}
data=data/cifar-10-batches-bin
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
seconds() { start=$(date +%s.%N); "$@" >/dev/null; awk -v a="$(date +%s.%N)" -v b="$start" 'BEGIN {print a - b}'; }
compare() {
    label=$1; shift
    ours=""; theirs=""
    for i in $(seq "$rounds"); do
        ours="$ours $(seconds sh -c "$1")"
        theirs="$theirs $(seconds sh -c "$2")"
    done
    a=$(echo $ours | tr ' ' '\n' | median)
    b=$(echo $theirs | tr ' ' '\n' | median)
    awk -v l="$label" -v a="$a" -v b="$b" 'BEGIN {printf "%-44s freqbias %6.2f s   numpy %6.2f s   %5.1fx\n", l, a, b, b / a}'
}
compare "filter: 10,000 images, low r=12, min-max" \
    "$build/freqbias filter --input $data/test_batch.bin --freq low --r 12 --out $out/f.bin" \
    "/usr/bin/python3 bench/numpy_filter.py $data/test_batch.bin 12 $out/n.bin"
compare "hars: 50,000 images, r=12" \
    "$build/freqbias hars --data data --r 12 --out $out/hars" \
    "/usr/bin/python3 bench/numpy_hars.py $data 12 $out/nhars"
compare "spectrum: mean density of 50,000 images" \
    "$build/freqbias spectrum --data data --split train --out $out/spec" \
    "/usr/bin/python3 bench/numpy_spectrum.py $data/data_batch_1.bin $data/data_batch_2.bin $data/data_batch_3.bin $data/data_batch_4.bin $data/data_batch_5.bin"
