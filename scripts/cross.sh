#!/bin/sh
# cross.sh — the cpu-ref golden hashes (scripts/golden.sh) with three builds:
# gcc and clang on x86-64, and gcc cross-compiled for aarch64 against
# Debian's arm64 libraries, run under qemu-user. `make check-cross` runs it
# after `scripts/deps.sh cross` installed the toolchain and libraries.
#
#   sh scripts/cross.sh          check all three; exit 1 if any hash differs
#   sh scripts/cross.sh regen    rewrite ref_data/golden/SHA256SUMS.{x86_64,aarch64}
#                                (gcc PROFILE=ref and the aarch64 build), then check
#
# Every build is PROFILE=ref (-O2 -ffp-contract=off, no -march): the same
# flags for the three compilers, so none of them contracts a*b+c into an FMA
# (aarch64 gcc would by default). Builds go to build-ref/, build-clang-ref/
# and build-aarch64/. The aarch64 binary runs with the arm64 glibc and
# libraries of the multiarch install (/lib/ld-linux-aarch64.so.1 and
# /usr/lib/aarch64-linux-gnu), the same Debian versions as the x86-64 ones.
set -eu
mode=${1:-check}
case "$mode" in check|regen) ;; *) echo "usage: sh scripts/cross.sh [check|regen]" >&2; exit 1 ;; esac
cd "$(dirname "$0")/.."
make=${MAKE:-make}
jobs=${CROSS_JOBS:-2}
start=$(date +%s)
logs=build-cross-logs
mkdir -p "$logs"

echo "=== gcc PROFILE=ref (build-ref)"
$make --no-print-directory -j"$jobs" PROFILE=ref CC=gcc BUILD=build-ref build-ref/freqbias > "$logs/gcc.log" 2>&1 ||
    { tail -n 30 "$logs/gcc.log"; exit 2; }
echo "=== clang PROFILE=ref (build-clang-ref)"
$make --no-print-directory -j"$jobs" PROFILE=ref CC=clang BUILD=build-clang-ref build-clang-ref/freqbias \
    > "$logs/clang.log" 2>&1 || { tail -n 30 "$logs/clang.log"; exit 2; }
echo "=== aarch64-linux-gnu-gcc PROFILE=ref (build-aarch64)"
arm64_pc=/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig
pc() { PKG_CONFIG_LIBDIR=$arm64_pc pkg-config "$@"; }
$make --no-print-directory -j"$jobs" PROFILE=ref CC=aarch64-linux-gnu-gcc BUILD=build-aarch64 \
    PKG_CFLAGS="$(pc --cflags openblas fftw3f cmocka)" PKG_LIBS="$(pc --libs openblas fftw3f)" \
    CMOCKA_LIBS="$(pc --libs cmocka)" build-aarch64/freqbias > "$logs/aarch64.log" 2>&1 ||
    { tail -n 30 "$logs/aarch64.log"; exit 2; }
rm -rf "$logs"
built=$(date +%s)

if [ "$mode" = regen ]; then
    sh scripts/golden.sh regen build-ref
    GOLDEN_RUNNER=qemu-aarch64 sh scripts/golden.sh regen build-aarch64
fi
failed=0
sh scripts/golden.sh check build-ref gcc || failed=$((failed + 1))
sh scripts/golden.sh check build-clang-ref clang || failed=$((failed + 1))
GOLDEN_RUNNER=qemu-aarch64 sh scripts/golden.sh check build-aarch64 aarch64 || failed=$((failed + 1))
end=$(date +%s)
echo "cross: $((3 - failed)) of 3 builds match their golden hashes; builds $((built - start)) s, runs $((end - built)) s, total $((end - start)) s"
[ "$failed" -eq 0 ]
