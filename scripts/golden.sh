#!/bin/sh
# golden.sh — the cpu-ref golden hashes: run five short cpu-ref jobs with one
# build of freqbias and compare the SHA-256 of what they write with the
# hashes committed in ref_data/golden/SHA256SUMS.<arch> (or write it anew).
#
#   sh scripts/golden.sh check BUILD_DIR [LABEL]   compare; exit 1 on any DIFFERENT
#   sh scripts/golden.sh regen BUILD_DIR           rewrite SHA256SUMS.<arch>
#
# <arch> (x86_64 or aarch64) is read from the binary's ELF header. There is
# one file per architecture because the FFT-based results differ between
# them (FFTW's SIMD codelets, see ref_data/golden/README.md); each check line
# also says whether the hash is the same in the other architecture's file.
#
# BUILD_DIR holds a PROFILE=ref build (make PROFILE=ref BUILD=...); the script
# refuses any other profile. GOLDEN_RUNNER, when set, is put in front of every
# freqbias command line (`qemu-aarch64` runs an aarch64 build on x86-64; see
# scripts/cross.sh). GOLDEN_KEEP=DIR keeps every
# output in DIR (to compare two platforms' arrays when a hash differs).
#
# The jobs (inputs are the committed fixtures, every seed is fixed):
#   train_t1, train_t2  ResNet-18 width 4, cpu-ref, 2 SGD steps of batch 32 on the
#                       first 64 images of cifar10_test512.bin, 1 and 2 threads:
#                       the checkpoint epoch_000.safetensors (both hashes must
#                       be the same: the thread count never changes cpu-ref bits)
#   filter_low8         `filter --freq low --r 8 --norm none` of cifar10_test8.bin:
#                       the float32 .npy (FFTW forward, the mask, FFTW inverse)
#   gradspec_mean       `gradspec` of that checkpoint on cifar10_test8.bin with
#                       cpu-ref (input gradients, then FFTW): gradspec_mean.npy
#   cdes_wcr            `cdes-train --mode wcr` one epoch on 40 images, cpu-ref:
#                       the toy kernels after the epoch, wcr_last.safetensors
#
# When a change alters these bits on purpose (a new summation order, say),
# `make golden-regen` reruns this in regen mode with the PROFILE=ref gcc
# build and the aarch64 cross build (scripts/cross.sh regen); commit both
# SHA256SUMS files with the commit that changed the bits.
set -eu
mode=${1:-}
build=${2:-}
label=${3:-$build}
case "$mode" in check|regen) ;; *) echo "usage: sh scripts/golden.sh check|regen BUILD_DIR [LABEL]" >&2; exit 1 ;; esac
[ -n "$build" ] || { echo "usage: sh scripts/golden.sh check|regen BUILD_DIR [LABEL]" >&2; exit 1; }
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$build/freqbias"
fixtures="$root/ref_data"
[ -x "$bin" ] || { echo "golden: no freqbias binary at $bin" >&2; exit 2; }
case $(od -An -tu2 -j18 -N2 "$bin" | tr -d ' ') in  # ELF e_machine
    62) arch=x86_64 other=aarch64 ;;
    183) arch=aarch64 other=x86_64 ;;
    *) echo "golden: $bin is neither an x86-64 nor an aarch64 ELF binary" >&2; exit 2 ;;
esac
sums="$root/ref_data/golden/SHA256SUMS.$arch"
other_sums="$root/ref_data/golden/SHA256SUMS.$other"
grep -q 'FB_PROFILE=\\"ref\\"' "$build/flags.txt" 2>/dev/null ||
    { echo "golden: $build is not a PROFILE=ref build ($build/flags.txt)" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/freqbias-golden.XXXXXX")
if [ -n "${GOLDEN_KEEP:-}" ]; then
    rm -rf "$GOLDEN_KEEP"
    trap 'mv "$work" "$GOLDEN_KEEP"' EXIT
else
    trap 'rm -rf "$work"' EXIT INT TERM
fi
run() {
    log="$work/$1.log"
    shift
    # shellcheck disable=SC2086 # GOLDEN_RUNNER is a command with arguments
    if ! ${GOLDEN_RUNNER:-} "$bin" "$@" > "$log" 2>&1; then
        echo "golden: freqbias $* failed:" >&2
        tail -n 20 "$log" >&2
        exit 2
    fi
}

start=$(date +%s)
# 64 training images (the first records of the 512-image fixture), batch 32, no
# augmentation or shuffling beyond the seeded RNG's: 2 SGD steps
train_args="--train-data $fixtures/cifar10_test512.bin --test-data $fixtures/cifar10_test8.bin
            --arch resnet18 --width 4 --batch 32 --subset 64 --epochs 1 --seed 11 --backend cpu-ref"
# shellcheck disable=SC2086 # word splitting of train_args is wanted
run train_t1 train $train_args --threads 1 --out "$work/train_t1"
# shellcheck disable=SC2086
run train_t2 train $train_args --threads 2 --out "$work/train_t2"
run filter filter --input "$fixtures/cifar10_test8.bin" --freq low --r 8 --norm none --threads 1 \
    --out "$work/filter_low8.npy"
run gradspec gradspec "$work/train_t1/epoch_000.safetensors" --test-data "$fixtures/cifar10_test8.bin" \
    --n 8 --batch 4 --backend cpu-ref --threads 1 --out "$work/gradspec"
# CIFAR-10 layout for cdes-train: records 0-299 train, 300-511 test
mkdir "$work/cdes_data"
record=3073
head -c $((300 * record)) "$fixtures/cifar10_test512.bin" > "$work/cdes_data/data_batch_1.bin"
tail -c $((212 * record)) "$fixtures/cifar10_test512.bin" > "$work/cdes_data/test_batch.bin"
run cdes cdes-train --data "$work/cdes_data" --mode wcr --epochs 1 --batch 20 --subset 40 --seed 3 \
    --backend cpu-ref --threads 1 --out "$work/cdes"
seconds=$(($(date +%s) - start))

hash_of() { sha256sum "$1" | cut -d' ' -f1; }
results="train_t1 $work/train_t1/epoch_000.safetensors
train_t2 $work/train_t2/epoch_000.safetensors
filter_low8 $work/filter_low8.npy
gradspec_mean $work/gradspec/gradspec_mean.npy
cdes_wcr $work/cdes/wcr_last.safetensors"

if [ "$mode" = regen ]; then
    echo "$results" | while read -r name file; do
        [ -f "$file" ] || { echo "golden: $name: $file was not written" >&2; exit 2; }
        echo "$(hash_of "$file")  $name"
    done > "$work/SHA256SUMS"
    mv "$work/SHA256SUMS" "$sums"
    cat "$sums"
    echo "golden: wrote $sums with $build ($arch) in ${seconds} s"
    exit 0
fi

[ -f "$sums" ] || { echo "golden: no $sums (run: make golden-regen)" >&2; exit 2; }
echo "golden: $label ($arch) against ref_data/golden/SHA256SUMS.$arch"
different=0
echo "$results" > "$work/results"
while read -r name file; do
    want=$(awk -v n="$name" '$2 == n { print $1 }' "$sums")
    [ -n "$want" ] || { echo "golden: $sums has no line for $name" >&2; exit 2; }
    got=missing
    [ -f "$file" ] && got=$(hash_of "$file")
    if [ "$got" = "$want" ]; then
        verdict=equal
    else
        verdict=DIFFERENT
        different=$((different + 1))
    fi
    on_other=$(awk -v n="$name" '$2 == n { print $1 }' "$other_sums" 2>/dev/null || true)
    if [ -z "$on_other" ]; then same="no $other hash"
    elif [ "$on_other" = "$want" ]; then same="same on $other"
    else same="differs on $other"; fi
    printf '%-8s %-14s %s %-9s (%s)\n' "$label" "$name" "$got" "$verdict" "$same"
    [ "$verdict" = equal ] || printf '%-8s %-14s %s (committed)\n' "$label" "" "$want"
done < "$work/results"
echo "golden: $label: $((5 - different)) of 5 equal to ref_data/golden/SHA256SUMS.$arch (${seconds} s)"
[ "$different" -eq 0 ]
