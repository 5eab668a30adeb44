#!/bin/sh
# fourier_real_run.sh — the README's Fourier heat map of the real run's model,
# next to the gradient spectrum of the same run.
#
# On OUT/freqbias/last.safetensors (the model bench/real_run.sh trains:
# ResNet-18 width 16, full CIFAR-10, 15 epochs, seed 0):
#   1. fourier-heatmap on the first 1,000 test images with --bands and
#      --samples, under /usr/bin/time -v (OUT/heatmap/time.txt), THREADS threads;
#   2. gradspec over the run's epoch checkpoints (1,000 test images), as the
#      README's "Gradient-spectrum evolution" section does;
#   3. copies the figures the README shows into docs/figures/:
#      fourier_heatmap_real_run.png, band_noise_real_run.png,
#      fourier_samples_real_run.png, gradspec_real_run.png.
#   usage: sh scripts/fourier_real_run.sh [OUT=out/real_run]
#   environment: THREADS=2, N=1000 (test images), DOCS=docs/figures
set -eu
out=${1:-out/real_run}
threads=${THREADS:-2}
n=${N:-1000}
docs=${DOCS:-docs/figures}
ckpt="$out/freqbias/last.safetensors"
if [ ! -f "$ckpt" ]; then
    echo "$0: $ckpt is missing: train the real run first (bench/real_run.sh, its freqbias line)" >&2
    exit 2
fi
make -s all
mkdir -p "$out/heatmap" "$docs"
/usr/bin/time -v build/freqbias fourier-heatmap --ckpt "$ckpt" --data data --n "$n" --bands --samples \
    --threads "$threads" --out "$out/heatmap" 2> "$out/heatmap/time.txt"
build/freqbias gradspec --ckpts "$out/freqbias" --data data --n "$n" --threads "$threads" --out "$out/gradspec"
cp "$out/heatmap/heatmap.png" "$docs/fourier_heatmap_real_run.png"
cp "$out/heatmap/bands.png" "$docs/band_noise_real_run.png"
cp "$out/heatmap/samples.png" "$docs/fourier_samples_real_run.png"
cp "$out/gradspec/gradspec.png" "$docs/gradspec_real_run.png"
grep -E "Elapsed|User time|System time|Maximum resident" "$out/heatmap/time.txt"
cat "$out/heatmap/bands.csv"
