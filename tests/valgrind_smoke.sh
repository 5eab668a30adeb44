#!/bin/sh
# valgrind_smoke.sh — `make check-valgrind`: the CLI's main paths under
# valgrind's memcheck, on the committed fixture ref_data/cifar10_test8.bin
# (the first 8 CIFAR-10 test images):
#   train  ResNet-18 width 4, one epoch of one batch of 8 (one SGD step),
#          with the online gradient spectrum of 4 images (FFTW);
#   test   the trained checkpoint on a low-pass copy (filter on the fly);
#   filter high-pass copy written in CIFAR format;
#   sweep  two radii, low and high.
# Any memcheck error (invalid read/write, use of uninitialised values, bad
# free) or definite leak fails the run (--error-exitcode=1). The false
# positives of OpenBLAS, libgomp and FFTW are suppressed in
# tests/valgrind.supp, each entry with the reason.
#
# The binary must not use instructions valgrind cannot run (AVX-512, which
# -march=native may emit): the Makefile builds it with PROFILE=ref.
# FREQBIAS_NO_REEXEC=1 keeps the OpenBLAS kernel choice in one process (the
# re-exec would leave valgrind's control). valgrind runs one thread at a
# time; OMP_WAIT_POLICY=passive stops the idle OpenMP thread from spinning
# through its time slices.
#
# usage: sh tests/valgrind_smoke.sh BUILD/freqbias
set -eu
binary=$1
fixture=ref_data/cifar10_test8.bin
work=$(mktemp -d /tmp/freqbias-valgrind-XXXXXX)
trap 'rm -rf "$work"' EXIT
export FREQBIAS_NO_REEXEC=1 OMP_WAIT_POLICY=passive

memcheck() {
    name=$1
    shift
    echo "=== valgrind: freqbias $*"
    start=$(date +%s)
    if ! valgrind --quiet --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
            --suppressions=tests/valgrind.supp --log-file="$work/$name.valgrind" "$binary" "$@" \
            > "$work/$name.log" 2>&1; then
        cat "$work/$name.log" "$work/$name.valgrind"
        echo "FAILED under valgrind: freqbias $*"
        exit 1
    fi
    echo "    clean ($(($(date +%s) - start)) s)"
}

memcheck train train --train-data "$fixture" --test-data "$fixture" --width 4 --batch 8 --epochs 1 \
    --gradspec 4 --threads 2 --out "$work/run"
memcheck test test --ckpt "$work/run/last.safetensors" --test-data "$fixture" --freq low --r 8 --threads 2
memcheck filter filter --input "$fixture" --freq high --r 12 --out "$work/high12.bin" --threads 2
memcheck sweep sweep --ckpt "$work/run/last.safetensors" --test-data "$fixture" --radii 8,12 \
    --out "$work/sweep" --threads 2
echo "valgrind: train, test, filter and sweep ran clean"
