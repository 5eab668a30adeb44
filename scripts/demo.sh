#!/bin/sh
# demo.sh — the main job of `make demo` (after deps and the build):
# fetch and verify CIFAR-10, train a ResNet-18 of width 16 for 6 epochs
# (learning rate 0.1, then 0.01 from epoch 4; about 8 minutes on 2 cores),
# test the best checkpoint, and say where everything is.
# (The full paper reproduction, `freqbias report`, replaces this later.)
set -eu
build=${1:-build}
out=${DEMO_OUT:-out/demo}
epochs=${DEMO_EPOCHS:-6}
"$build/freqbias" info
sh scripts/fetch-data.sh cifar10 data
rm -rf "$out"
"$build/freqbias" train --data data --dataset cifar10 --arch resnet18 --width 16 \
    --epochs "$epochs" --lr-milestones 4 --seed 0 --out "$out"
"$build/freqbias" test --ckpt "$out/best.safetensors" --data data --dataset cifar10 \
    --json "$out/test.json" | tee "$out/test.txt"
echo
echo "demo outputs in $out/: log.csv (per epoch), best.safetensors and last.safetensors"
echo "(load in PyTorch with ref_data/gen/models.py), test.json and test.txt, run.json"
