#!/usr/bin/env python3
"""make_train_state_corpus.py — seeds for fuzz_train_state.c.

Writes corpus/train_state/*.safetensors next to this script: the metadata of
a real state.safetensors (written by `freqbias train ... --width 4 --batch 64
--seed 5 --gradspec 32`, tensors left out: the reader under test reads only
the metadata) and copies with one hostile value each (issue 15).
Run: python3 tests/fuzz/make_train_state_corpus.py
"""
import json
import os
import struct

VALID = {
    "data": "", "dataset": "cifar10", "train_data": "ref_data/cifar10_test512.bin",
    "test_data": "ref_data/cifar10_test8.bin", "init": "", "arch": "resnet18", "backend": "cpu",
    "width": "4", "epochs": "2", "batch": "64", "subset": "0", "augment": "1", "shuffle": "1",
    "gradspec": "32", "lr": "0.10000000000000001", "momentum": "0.90000000000000002",
    "weight_decay": "0.00050000000000000001", "lr_gamma": "0.10000000000000001", "lr_step": "50",
    "lr_milestones": "", "seed": "5", "next_epoch": "1", "best_top1": "0.125", "best_epoch": "0",
    "train_seconds": "1.500", "sgd_steps": "8",
}

HOSTILE = {
    "next_epoch_minus3": {"next_epoch": "-3"},
    "next_epoch_minus1": {"next_epoch": "-1"},
    "next_epoch_intmax": {"next_epoch": "2147483647"},
    "epochs_intmax": {"epochs": "2147483647"},
    "subset_minus5": {"subset": "-5"},
    "width_trailing_text": {"width": "4abc"},
    "lr_nan": {"lr": "nan"},
    "milestones_bad": {"lr_milestones": "60,,120"},
}


def write(path, metadata):
    header = json.dumps({"__metadata__": metadata}, separators=(",", ":")).encode()
    header += b" " * (-len(header) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header)


here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "train_state")
os.makedirs(here, exist_ok=True)
write(os.path.join(here, "valid.safetensors"), VALID)
for name, change in HOSTILE.items():
    write(os.path.join(here, name + ".safetensors"), {**VALID, **change})
