#!/bin/sh
# deps.sh — install the Debian packages freqbias builds against, if missing.
# As root it runs apt-get; otherwise it prints the exact command to run.
set -eu
packages="libopenblas-openmp-dev libfftw3-dev libcmocka-dev libstb-dev pkg-config zlib1g-dev gcc make"
# `sh scripts/deps.sh valgrind` (make check-valgrind) adds valgrind
[ "${1:-}" = valgrind ] && packages="$packages valgrind"
missing=""
for p in $packages; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
        *"install ok installed"*) ;;
        *) missing="$missing $p" ;;
    esac
done
[ -z "$missing" ] && exit 0
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
