#!/bin/sh
# bench_filter.sh — `freqbias filter` vs the same filter in numpy, side by
# side, 5 alternating runs each, medians of the whole command (read, FFT,
# mask, inverse, min-max, write). Needs data/ (make data) and python3-numpy.
#   usage: sh bench/bench_filter.sh [BUILD_DIR] [R]
set -eu
build=${1:-build}
r=${2:-12}
input=data/cifar-10-batches-bin/test_batch.bin
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
ours=""; theirs=""
for i in 1 2 3 4 5; do
    start=$(date +%s.%N)
    "$build/freqbias" filter --input "$input" --freq low --r "$r" --out "$out/ours.bin" >/dev/null
    ours="$ours $(awk -v a="$(date +%s.%N)" -v b="$start" 'BEGIN {print a - b}')"
    start=$(date +%s.%N)
    /usr/bin/python3 bench/numpy_filter.py "$input" "$r" "$out/numpy.bin" >/dev/null
    theirs="$theirs $(awk -v a="$(date +%s.%N)" -v b="$start" 'BEGIN {print a - b}')"
done
a=$(echo $ours | tr ' ' '\n' | median)
b=$(echo $theirs | tr ' ' '\n' | median)
echo "filter 10,000 CIFAR-10 test images, low-pass r=$r, min-max, uint8 out (whole command, median of 5):"
awk -v a="$a" -v b="$b" 'BEGIN {printf "  freqbias %.3f s, numpy %.3f s, speed-up %.1fx\n", a, b, b / a}'
cmp -s "$out/ours.bin" "$out/numpy.bin" && echo "  outputs byte-identical" ||
    echo "  outputs differ in $(cmp -l "$out/ours.bin" "$out/numpy.bin" | wc -l) bytes (truncation of values within rounding of an integer)"
