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
#   4. Sharded training: `train` (ResNet-18 width 4, 2 epochs on 261 of the
#      images in batches of 64, so the last batch of each epoch has 5
#      samples and, at 4 and 8 ranks, some ranks own an empty shard) under
#      mpirun -np 1, 2, 4, 8 with 1 and 2 threads per rank, on cpu and on
#      cpu-ref, writes checkpoints, the training state's tensors and
#      log.csv's numbers byte-identical to the plain build's single process
#      (only the wall-time fields may differ); a run of 1 epoch on 2 ranks
#      resumed for the second epoch on 4 ranks does too.
#   5. The tiny report with --launcher "mpirun -np 2" (its train, test,
#      sweep, gradspec and spectrum stages as 2-rank jobs of the MPI build)
#      writes the checkpoints, sweeps, gradient spectra and findings of the
#      plain build's report, byte for byte, on the CIFAR-10 folder
#      test_report.c builds from the fixture (its first 384 records open
#      data_batch_1.bin, the last 128 test_batch.bin, every file extended
#      to the official size with zero records the tiny preset never reads).
#   6. Refusals, exit code 1 with the reason: 3 ranks (not a power of
#      two), filter on 2 ranks, report on 2 ranks (it points to
#      --launcher), --launcher in the plain build; and train --backend cuda
#      on 2 ranks of a build without CUDA fails on every rank with the
#      reason (sharded CUDA training itself: bench/gpu_check.sh).
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

echo "=== sharded training: train under mpirun vs the plain build's single process"
# same_state A B: two state.safetensors with the same tensors and the same
# header once its wall-time field "train_seconds" is blanked
same_state() {
    for file in "$1" "$2"; do
        header=$(od -An -t u8 -N 8 "$file" | tr -d ' ')
        head -c $((8 + header)) "$file" | tail -c "$header" |
            sed -e 's/"train_seconds":"[^"]*"/"train_seconds":""/' -e 's/ *$//' > "$file.header"
        tail -c +$((9 + header)) "$file" > "$file.tensors"
    done
    cmp -s "$1.header" "$2.header" && cmp -s "$1.tensors" "$2.tensors"
}
# same_run A B: the files of two training runs agree (checkpoints, state,
# the numbers of log.csv without its img/s and seconds columns)
same_run() {
    differing=""
    for file in epoch_000.safetensors epoch_001.safetensors last.safetensors best.safetensors; do
        cmp -s "$1/$file" "$2/$file" || differing="$differing $file"
    done
    same_state "$1/state.safetensors" "$2/state.safetensors" || differing="$differing state.safetensors"
    cut -d, -f1-6 "$1/log.csv" > "$1/log.numbers"
    cut -d, -f1-6 "$2/log.csv" > "$2/log.numbers"
    cmp -s "$1/log.numbers" "$2/log.numbers" || differing="$differing log.csv"
    echo "$differing"
}
train_args="train --train-data $data --test-data $data --width 4 --subset 261 --batch 64"
for backend in cpu cpu-ref; do
    mkdir -p "$work/train_$backend"
    one=$work/train_$backend/one
    if ! "$plain" $train_args --epochs 2 --backend "$backend" --threads 1 --out "$one" > "$one.log" 2>&1; then
        cat "$one.log"
        fail "train --backend $backend: the plain build's single process failed"
        continue
    fi
    for ranks in 1 2 4 8; do
        for threads in 1 2; do
            dir=$work/train_$backend/np${ranks}_t$threads
            if ! launch "$ranks" "$mpi" $train_args --epochs 2 --backend "$backend" --threads "$threads" \
                    --out "$dir" > "$dir.log" 2>&1; then
                cat "$dir.log"
                fail "train --backend $backend, -np $ranks, $threads threads: failed"
                continue
            fi
            differing=$(same_run "$one" "$dir")
            if [ -n "$differing" ]; then
                fail "train --backend $backend, -np $ranks, $threads threads: differs from one process:$differing"
            else
                echo "[train $backend -np $ranks, $threads threads/rank] checkpoints, state, log identical to one process"
            fi
        done
    done
    dir=$work/train_$backend/resumed
    if launch 2 "$mpi" $train_args --epochs 1 --backend "$backend" --threads 1 --out "$dir" > "$dir.log" 2>&1 &&
        launch 4 "$mpi" train --resume "$dir" --epochs 2 --threads 1 >> "$dir.log" 2>&1; then
        differing=$(same_run "$one" "$dir")
        if [ -n "$differing" ]; then
            fail "train --backend $backend, 1 epoch on 2 ranks resumed on 4: differs from one process:$differing"
        else
            echo "[train $backend 1 epoch -np 2, resumed -np 4] identical to one process"
        fi
    else
        cat "$dir.log"
        fail "train --backend $backend: 1 epoch on 2 ranks resumed on 4 failed"
    fi
done

echo "=== report --launcher: the stages as MPI jobs vs the plain build's report"
cifar=$work/cifar
mkdir -p "$cifar"
head -c $((384 * 3073)) "$data" > "$cifar/data_batch_1.bin"
tail -c $((128 * 3073)) "$data" > "$cifar/test_batch.bin"
for file in data_batch_1 data_batch_2 data_batch_3 data_batch_4 data_batch_5 test_batch; do
    truncate -s 30730000 "$cifar/$file.bin"
done
if "$plain" report --data "$cifar" --preset tiny --out "$work/report_one" > "$work/report_one.log" 2>&1 &&
    "$mpi" report --data "$cifar" --preset tiny --out "$work/report_np2" \
        --launcher "$launcher -np 2" > "$work/report_np2.log" 2>&1; then
    differing=""
    compared=0
    for file in $(cd "$work/report_one" && find runs sweeps spectra -name 'last.safetensors' -o \
            -name 'sweep.csv' -o -name 'gradspec_mean.npy' -o -name 'spectrum_mean.npy' | sort); do
        compared=$((compared + 1))
        cmp -s "$work/report_one/$file" "$work/report_np2/$file" || differing="$differing $file"
    done
    sed '/^[Tt]ime per stage group/,$d' "$work/report_one/summary.txt" > "$work/report_one/findings.txt"
    sed '/^[Tt]ime per stage group/,$d' "$work/report_np2/summary.txt" > "$work/report_np2/findings.txt"
    cmp -s "$work/report_one/findings.txt" "$work/report_np2/findings.txt" || differing="$differing summary.txt"
    if ! grep -q "run as: $launcher -np 2" "$work/report_np2.log" ||
        ! grep -q "per rank on each MPI rank's shard" "$work/report_np2/stages/baseline-train-s0.log"; then
        fail "report --launcher: the stages did not run under the launcher (report log, baseline-train-s0 log)"
    elif [ -n "$differing" ] || [ "$compared" -lt 8 ]; then
        fail "report --launcher: $compared files compared, differing:$differing"
    else
        echo "[report --launcher 'mpirun -np 2'] $compared checkpoints, sweeps and spectra and the findings identical to the plain report"
    fi
else
    tail -20 "$work/report_one.log" "$work/report_np2.log"
    fail "report --launcher: a report failed"
fi

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
expect_refusal 2 "runs as one process" filter --input "$data" --freq high --r 8 --out "$work/high.bin"
[ -e "$work/high.bin" ] && fail "the refused filter created its output"
expect_refusal 2 "built without CUDA=1" \
    train --train-data "$data" --test-data "$data" --width 4 --epochs 1 --backend cuda --out "$work/run"
[ -e "$work/run" ] && fail "the refused train created its output folder"
expect_refusal 2 "starts each sharded stage as an MPI job" report --data "$cifar" --preset tiny --out "$work/rep"
[ -e "$work/rep" ] && fail "the refused report created its output folder"
if "$plain" report --data "$cifar" --preset tiny --out "$work/rep" --launcher "mpirun -np 2" \
        > "$work/launcher.out" 2> "$work/launcher.err" || ! grep -q "needs the MPI build" "$work/launcher.err"; then
    cat "$work/launcher.err"
    fail "report --launcher in the plain build: not refused"
else
    echo "[refused: report --launcher in the plain build] $(cut -c1-120 "$work/launcher.err")..."
fi

if [ "$failures" -ne 0 ]; then
    echo "mpi_check: $failures FAILED"
    exit 1
fi
echo "mpi_check: every MPI check passed"
