#!/bin/sh
# hars_study.sh — why f_hars does not learn at laptop scale, and what makes it
# learn (issue 14 item 2). The README's "HARS: what it takes to learn" table
# is this script's output.
#
# HARS (PAPER.md E4) keeps each training image's own high frequencies (r = 12)
# and replaces its low frequencies (≈98 % of the energy) by those of an image
# of another class. The label lives only in the weak band; the strong band is
# a distractor that is never of the right class. The study trains ResNet-18
# width 16 (seed 0, the recipe's momentum and weight decay, constant lr) on:
#   hars5k-aug     5,000 HARS images, the recipe's crop+flip augmentation
#   hars5k         5,000 HARS images, no augmentation
#   hars20k        20,000 HARS images, no augmentation
#   hars15k-8      15,000 HARS images, no augmentation, 8 epochs (the laptop
#                  preset's E4 protocol)
#   clean5k        5,000 clean CIFAR-10 images, no augmentation (control)
#   clean20k       20,000 clean images, no augmentation (E4's baseline)
#   high5k         5,000 high-pass (r = 12, min-max) images, no augmentation
#                  (control: is the high band alone learnable at this size?)
# and then tests every final checkpoint on the CIFAR-10 test set: clean, and
# low/high-pass at r = 12 with --norm none (the report's sweep) and minmax.
# Each run's log.csv has the training top-1 per epoch (the growth curve);
# summary.csv has the final training top-1 and the test top-1s.
#
#   usage: sh scripts/hars_study.sh [OUT=out/hars_study]
#   environment: EPOCHS=12, LR=0.02, THREADS=2, TEST_IMAGES=1000 (the
#   per-epoch test in log.csv; the final tests use all 10,000)
# Runs already finished (OUT/NAME/done) are skipped, so it can be resumed.
set -eu
out=${1:-out/hars_study}
epochs=${EPOCHS:-12}
lr=${LR:-0.02}
threads=${THREADS:-2}
test_images=${TEST_IMAGES:-1000}
fb=build/freqbias
cifar=data/cifar-10-batches-bin
make -s all
[ -f "$cifar/test_batch.bin" ] || { echo "$0: $cifar is missing: run make data" >&2; exit 2; }
mkdir -p "$out"
[ -f "$out/hars/data_batch_5.bin" ] || $fb hars --data data --r 12 --seed 0 --out "$out/hars"
[ -f "$out/high12.bin" ] || $fb filter --data data --split train --freq high --r 12 --norm minmax --out "$out/high12.bin"
head -c $((test_images * 3073)) "$cifar/test_batch.bin" > "$out/test_subset.bin"

run() { # name train-data images epochs [extra options]
    name=$1 train=$2 images=$3 run_epochs=$4
    shift 4
    [ -f "$out/$name/done" ] && return 0
    rm -rf "${out:?}/$name"
    $fb train --data data --train-data "$train" --test-data "$out/test_subset.bin" --subset "$images" \
        --width 16 --epochs "$run_epochs" --lr "$lr" --lr-step 1000 --seed 0 --threads "$threads" \
        --out "$out/$name" "$@" > "$out/$name.log" 2>&1
    touch "$out/$name/done"
}
run hars5k-aug "$out/hars" 5000 "$epochs"
run hars5k "$out/hars" 5000 "$epochs" --no-augment
run hars20k "$out/hars" 20000 "$epochs" --no-augment
run hars15k-8 "$out/hars" 15000 8 --no-augment
run clean5k "$cifar" 5000 "$epochs" --no-augment
run clean20k "$cifar" 20000 "$epochs" --no-augment
run high5k "$out/high12.bin" 5000 "$epochs" --no-augment

top1() { # checkpoint [filter options]
    ckpt=$1
    shift
    $fb test --ckpt "$ckpt" --data data --threads "$threads" "$@" | awk '$1 == "top-1" { print $2 }'
}
summary="$out/summary.csv"
echo "run,final_train_top1,clean_top1,low12_none,high12_none,low12_minmax,high12_minmax" > "$summary"
for name in hars5k-aug hars5k hars20k hars15k-8 clean5k clean20k high5k; do
    ckpt="$out/$name/last.safetensors"
    train_top1=$(tail -n 1 "$out/$name/log.csv" | cut -d, -f4)
    echo "$name,$train_top1,$(top1 "$ckpt"),$(top1 "$ckpt" --freq low --r 12),$(top1 "$ckpt" --freq high --r 12),$(top1 "$ckpt" --freq low --r 12 --norm minmax),$(top1 "$ckpt" --freq high --r 12 --norm minmax)" >> "$summary"
done
cat "$summary"
