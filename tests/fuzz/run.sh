#!/bin/sh
# run.sh BUILD SECONDS NAME... — fuzzes each BUILD/libfuzzer/fuzz_NAME for
# SECONDS, starting from its committed corpus (read only) and writing new
# inputs to a scratch copy BUILD/corpus/NAME. A crash, leak, sanitizer
# report, timeout (10 s per input) or an input that makes the reader use more
# than 2 GB (a single malloc above it counts too) fails the target; the
# input is kept as BUILD/crashes/NAME/... Add it to tests/fuzz/corpus/NAME/
# once the bug is fixed. Used by `make fuzz`.
build=$1; seconds=$2; shift 2
failed=""
for name in "$@"; do
    scratch=$build/corpus/$name
    crashes=$build/crashes/$name
    mkdir -p "$scratch" "$crashes"
    echo "=== fuzz_$name for $seconds s (corpus tests/fuzz/corpus/$name, scratch $scratch)"
    if ! "./$build/libfuzzer/fuzz_$name" -max_total_time="$seconds" -timeout=10 \
            -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$crashes/" \
            "$scratch" "tests/fuzz/corpus/$name" > "$build/fuzz_$name.log" 2>&1; then
        echo "FAILED: fuzz_$name — crash inputs:"; ls -1 "$crashes"
        grep -E "ERROR|SUMMARY|runtime error" "$build/fuzz_$name.log" | head -5
        failed="$failed $name"
    else
        grep -E "^stat::number_of_executed_units|^stat::average_exec_per_sec|^stat::peak_rss_mb" "$build/fuzz_$name.log" | tr '\n' ' '; echo
    fi
done
if [ -n "$failed" ]; then echo "fuzz: failed:$failed"; exit 1; fi
echo "fuzz: $# targets, no crash in $seconds s each"
