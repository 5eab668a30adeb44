#!/bin/sh
# mpi_check.sh — `make check MPI=1`: freqbias under mpirun gives one
# process's bytes, refuses what it cannot shard, and dies cleanly.
#
#   1. test_dist (the allreduce and the gather) under mpirun -np 1, 2, 4, 8.
#   2. test, sweep, gradspec and spectrum --ckpt of the MPI build under
#      mpirun -np 1, 2, 4 (test also -np 8, where some ranks own no batch,
#      and the MPI build started without mpirun) write files — and print
#      stdout — byte-identical (cmp) to the plain build's single process, on
#      the committed fixtures: the 512 real CIFAR-10 test images of
#      ref_data/cifar10_test512.bin, the ResNet-18 width 8 initialisation
#      train256_r18w8_init.safetensors and the model after one epoch on 256
#      of the images from it (trained here first, one process, ~5 s).
#      Batches of 100 (test, sweep) and 64 (gradspec, 200 images) end in a
#      partial batch and split unevenly over the ranks.
#   3. A rank that fails ends the job: MPMD launches (`A : B`) give rank 1
#      alone a truncated checkpoint, before the first gather (test) and
#      after one finished checkpoint (gradspec). The job must end within
#      60 s (no hang) with exit code 2, a message naming rank 1 and the
#      file, and the outputs of an earlier run must be untouched.
#   4. Refusals, exit code 1 with the reason: 3 ranks (not a power of
#      two), train on 2 ranks (no sharded step yet), filter on 2 ranks.
#
# usage: sh tests/mpi_check.sh MPI_BUILD PLAIN_BUILD   (from the repository root)
set -u
root=$(pwd)
mpi=$root/$1/freqbias
plain=$root/$2/freqbias
test_dist=$root/$1/tests/test_dist
data=$root/ref_data/cifar10_test512.bin
init=$root/ref_data/train256_r18w8_init.safetensors
work=$(mktemp -d /tmp/freqbias-mpi-XXXXXX)
trap 'rm -rf "$work"' EXIT
trained=$work/trained/last.safetensors
failures=0
launcher="mpirun --oversubscribe --bind-to none"
[ "$(id -u)" -eq 0 ] && launcher="$launcher --allow-run-as-root"

fail() {
    echo "FAILED: $*"
    failures=$((failures + 1))
}

# ranks R, then the command: mpirun -np R, or the MPI build alone for R = none
launch() {
    ranks=$1
    shift
    if [ "$ranks" = none ]; then
        timeout 300 "$@"
    else
        timeout 300 $launcher -np "$ranks" "$@"
    fi
}

echo "=== test_dist under mpirun"
for ranks in 1 2 4 8; do
    if launch "$ranks" "$test_dist" > "$work/test_dist_$ranks.log" 2>&1; then
        grep '^\[allreduce\|^\[gather' "$work/test_dist_$ranks.log"
    else
        cat "$work/test_dist_$ranks.log"
        fail "test_dist under mpirun -np $ranks"
    fi
done

# same_outputs NAME "RANKS" "FILES" ARGS...: the plain build's one process in
# $work/NAME/one, the MPI build for each rank count in $work/NAME/npR (the
# commands write relative paths there); every file in FILES must be equal.
same_outputs() {
    name=$1 rank_list=$2 files=$3
    shift 3
    mkdir -p "$work/$name/one"
    if ! (cd "$work/$name/one" && "$plain" "$@" > stdout 2> stderr); then
        cat "$work/$name/one/stderr"
        fail "$name: the plain build's single process failed"
        return
    fi
    for ranks in $rank_list; do
        dir=$work/$name/np$ranks
        mkdir -p "$dir"
        if ! (cd "$dir" && launch "$ranks" "$mpi" "$@" > stdout 2> stderr); then
            cat "$dir/stderr"
            fail "$name: mpirun -np $ranks failed"
            continue
        fi
        differing=""
        for file in $files; do
            cmp -s "$work/$name/one/$file" "$dir/$file" || differing="$differing $file"
        done
        if [ -n "$differing" ]; then
            fail "$name, -np $ranks: differs from one process:$differing"
        else
            echo "[$name -np $ranks] identical to one process: $files"
        fi
    done
}

echo "=== sharded commands: MPI build under mpirun vs the plain build's single process"
if ! "$plain" train --train-data "$data" --test-data "$data" --init "$init" --width 8 --epochs 1 \
        --subset 256 --batch 64 --threads 2 --out "$work/trained" > "$work/train.log" 2>&1; then
    cat "$work/train.log"
    echo "mpi_check: could not train the checkpoint the checks evaluate"
    exit 1
fi
same_outputs test "none 1 2 4 8" "stdout test.json logits.npy features.npy" \
    test --ckpt "$trained" --test-data "$data" --batch 100 --threads 1 \
    --json test.json --logits logits.npy --features features.npy
same_outputs test_highpass "1 2 4" "stdout test.json logits.npy" \
    test --ckpt "$trained" --test-data "$data" --batch 100 --threads 1 --freq high --r 8 \
    --json test.json --logits logits.npy
same_outputs sweep "1 2 4" "stdout sweep/sweep.csv sweep/sweep.json sweep/sweep_accuracy.png sweep/sweep_interclass.png" \
    sweep --ckpt "$trained" --test-data "$data" --radii 4,12 --batch 100 --threads 1 --out sweep
same_outputs gradspec "1 2 4" "g/gradspec_mean.npy g/gradspec_std.npy g/gradspec.csv g/gradspec.png" \
    gradspec "$init" "$trained" --test-data "$data" --n 200 --batch 64 --threads 1 --out g
same_outputs spectrum "1 2 4" "stdout p/spectrum_mean.npy p/spectrum_std.npy p/spectrum_per_class.npy p/gradient_density.npy p/spectrum.png" \
    spectrum --input "$data" --ckpt "$trained" --n 200 --per-class --threads 1 --out p

echo "=== a failing rank ends the job"
head -c 1000 "$trained" > "$work/truncated.safetensors"
# expect_abort NAME FILE ARGS_RANK0 -- ARGS_RANK1: FILE (relative to
# $work/NAME, copied from the one-process run) must survive unchanged
expect_abort() {
    name=$1 kept=$2
    dir=$work/abort_$name
    mkdir -p "$dir/$(dirname "$kept")"
    cp "$work/$name/one/$kept" "$dir/$kept"
    shift 2
    (cd "$dir" && timeout 60 $launcher -np 1 "$mpi" "$@" > stdout 2> stderr)
    code=$?
    if [ "$code" -eq 124 ]; then
        fail "$name: the job hung (killed after 60 s)"
    elif [ "$code" -ne 2 ]; then
        cat "$dir/stderr"
        fail "$name: exit code $code, expected 2"
    elif ! grep -q "rank 1 of 2.*truncated.safetensors" "$dir/stderr"; then
        cat "$dir/stderr"
        fail "$name: no message naming rank 1 and the file"
    elif ! cmp -s "$work/$name/one/$kept" "$dir/$kept"; then
        fail "$name: $kept was changed by the failed job"
    else
        echo "[abort $name] exit 2 in $(grep -c . "$dir/stderr") stderr lines, $kept intact: $(grep 'rank 1 of 2' "$dir/stderr")"
    fi
}
# MPMD: the part after ':' is rank 1
expect_abort test test.json \
    test --ckpt "$trained" --test-data "$data" --batch 100 --threads 1 --json test.json : \
    -np 1 "$mpi" test --ckpt "$work/truncated.safetensors" --test-data "$data" --batch 100 --threads 1 \
    --json test.json
expect_abort gradspec g/gradspec_mean.npy \
    gradspec "$init" "$trained" --test-data "$data" --n 200 --batch 64 --threads 1 --out g : \
    -np 1 "$mpi" gradspec "$init" "$work/truncated.safetensors" --test-data "$data" --n 200 --batch 64 \
    --threads 1 --out g

echo "=== refusals"
# expect_refusal RANKS PATTERN ARGS...
expect_refusal() {
    ranks=$1 pattern=$2
    shift 2
    (cd "$work" && timeout 60 $launcher -np "$ranks" "$mpi" "$@" > refusal.out 2> refusal.err)
    code=$?
    if [ "$code" -ne 1 ] || ! grep -q "$pattern" "$work/refusal.err"; then
        cat "$work/refusal.err"
        fail "-np $ranks freqbias $1: exit code $code, expected 1 and '$pattern'"
    else
        echo "[refused -np $ranks $1] $(grep "$pattern" "$work/refusal.err" | cut -c1-150)..."
    fi
}
expect_refusal 3 "must be a power of two" info
expect_refusal 2 "sharded training needs the batch-tree backends" \
    train --train-data "$data" --test-data "$data" --width 4 --epochs 1 --out "$work/run"
expect_refusal 2 "runs as one process" filter --input "$data" --freq high --r 8 --out "$work/high.bin"
[ -e "$work/run" ] && fail "the refused train created its output folder"

if [ "$failures" -ne 0 ]; then
    echo "mpi_check: $failures FAILED"
    exit 1
fi
echo "mpi_check: every MPI check passed"
