#!/bin/sh
# deps.sh — install the Debian packages freqbias builds against, if missing.
# As root it runs apt-get; otherwise it prints the exact command to run.
#   sh scripts/deps.sh         what `make all` and `make check` need
#   sh scripts/deps.sh clang   + clang 14 and its OpenMP runtime (libomp)
#   sh scripts/deps.sh cross   + clang, and for `make check-cross` the aarch64
#                              cross compiler, qemu-user and Debian's arm64
#                              builds of the libraries (adds the arm64
#                              architecture to dpkg first)
#   sh scripts/deps.sh fuzz    + clang with libFuzzer and libomp (make fuzz)
#   sh scripts/deps.sh valgrind + valgrind (make check-valgrind)
#   sh scripts/deps.sh mpi     + Open MPI: mpicc, mpirun and the headers
#                              (make MPI=1, make deps MPI=1)
set -eu
mode=${1:-default}
packages="libopenblas-openmp-dev libfftw3-dev libcmocka-dev libstb-dev pkg-config zlib1g-dev gcc make"
clang_packages="clang libomp-14-dev"
cross_packages="gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user libopenblas-openmp-dev:arm64
                libfftw3-dev:arm64 zlib1g-dev:arm64 libcmocka-dev:arm64"
case "$mode" in
    default) ;;
    clang) packages="$packages $clang_packages" ;;
    cross) packages="$packages $clang_packages $cross_packages" ;;
    fuzz) packages="$packages $clang_packages" ;;
    valgrind) packages="$packages valgrind" ;;
    mpi) packages="$packages openmpi-bin libopenmpi-dev" ;;
    *) echo "usage: sh scripts/deps.sh [clang|cross|fuzz|valgrind|mpi]" >&2; exit 1 ;;
esac
missing=""
for p in $packages; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
        *"install ok installed"*) ;;
        *) missing="$missing $p" ;;
    esac
done
[ -z "$missing" ] && exit 0
if [ "$mode" = cross ] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "deps: run:  sudo dpkg --add-architecture arm64" >&2
        exit 1
    fi
    echo "deps: dpkg --add-architecture arm64"
    dpkg --add-architecture arm64
fi
if [ "$(id -u)" -eq 0 ]; then
    echo "deps: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $missing
else
    echo "deps: missing Debian packages:$missing" >&2
    echo "deps: run:  sudo apt-get install -y$missing" >&2
    exit 1
fi
