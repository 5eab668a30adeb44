#!/bin/sh
# demo.sh — the main job of `make demo` (after deps and the build): fetch
# and verify CIFAR-10, then `freqbias report --preset laptop`, which runs
# every experiment of the paper as resumable stages, 3 seeds (projected 37
# minutes on 2 cores from the 17 measured for one seed;
# at most 45) and writes out/demo/report.md and a self-contained
# out/demo/report.html. Interrupted? Run it again: finished stages are
# skipped. Environment: DEMO_OUT (out/demo), DEMO_PRESET (laptop),
# DEMO_THREADS (all cores).
set -eu
build=${1:-build}
out=${DEMO_OUT:-out/demo}
preset=${DEMO_PRESET:-laptop}
"$build/freqbias" info
sh scripts/fetch-data.sh cifar10 data
if [ -n "${DEMO_THREADS:-}" ]; then
    "$build/freqbias" report --data data --preset "$preset" --out "$out" --threads "$DEMO_THREADS"
else
    "$build/freqbias" report --data data --preset "$preset" --out "$out"
fi
echo
echo "report: $out/report.md (open $out/report.html in a browser: every figure is inside it)"
echo "five-line summary (measured; also in $out/summary.txt):"
cat "$out/summary.txt"
