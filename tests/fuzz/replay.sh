#!/bin/sh
# replay.sh BUILD NAME... — replays each target's committed corpus
# (tests/fuzz/corpus/NAME/) through BUILD/fuzz/fuzz_NAME (replay_main.c),
# prints one line per target, and fails if any target has no corpus or fails
# on any file. Part of `make test`.
build=$1; shift
failed=0
echo "=== fuzz corpus replay ($# targets)"
for name in "$@"; do
    corpus=tests/fuzz/corpus/$name
    if [ ! -d "$corpus" ]; then
        echo "FAILED: fuzz_$name has no corpus folder $corpus"; failed=$((failed+1)); continue
    fi
    if ! "./$build/fuzz/fuzz_$name" "$corpus"; then
        echo "FAILED: fuzz_$name on its corpus $corpus"; failed=$((failed+1))
    fi
done
echo "fuzz replay: $(( $# - failed )) targets passed, $failed failed"
test $failed -eq 0
