#!/bin/sh
# real_run.sh — the README's real run: ResNet-18 width 16 on the full
# CIFAR-10, 15 epochs, default recipe otherwise, first with freqbias, then
# with PyTorch (bench/torch_cifar_train.py) on the same machine, one after the
# other so neither slows the other. Prints both logs side by side.
#   usage: sh bench/real_run.sh [OUT=out/real_run] [EPOCHS=15] [THREADS=2]
set -eu
out=${1:-out/real_run}
epochs=${EPOCHS:-15}
threads=${THREADS:-2}
make -s all
sh scripts/fetch-data.sh cifar10 data
mkdir -p "$out"
build/freqbias train --data data --out "$out/freqbias" --arch resnet18 --width 16 \
    --epochs "$epochs" --threads "$threads" --seed 0
/usr/bin/python3 bench/torch_cifar_train.py --data data/cifar-10-batches-bin --out "$out/torch" \
    --width 16 --epochs "$epochs" --threads "$threads" --seed 0
build/freqbias test --ckpt "$out/freqbias/last.safetensors" --data data | head -4
/usr/bin/python3 bench/torch_eval_ckpt.py "$out/freqbias/last.safetensors" data/cifar-10-batches-bin
echo "epoch | freqbias test acc | PyTorch test acc | freqbias img/s | PyTorch img/s"
paste -d, "$out/freqbias/log.csv" "$out/torch/log.csv" | tail -n +2 |
    awk -F, '{printf "%5d | %17.4f | %16.4f | %14.1f | %13.1f\n", $1, $6, $14, $7, $15}'
