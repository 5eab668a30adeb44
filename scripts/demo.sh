#!/bin/sh
# demo.sh — what `make demo` runs after building.
#
# The paper's full pipeline (`freqbias report`: data, training, filtered test
# sets, gradient spectra, CDES, HARS) is not built yet; until it is, the demo
# shows what the engine does today: the build, the BLAS kernel it picked, and
# a few ResNet-18 training steps on this machine with their speed.
set -eu
build=${1:-build}
"$build/freqbias" info
echo
echo "ResNet-18 (width 64, batch 128) training steps on random 32x32 images:"
make --no-print-directory -s "$build/bench/bench_train"
"$build/bench/bench_train" --mode train --steps 2 --warmup 1 --layers
