#!/usr/bin/python3
"""Reference for `freqbias train` end to end: one epoch of 256 CIFAR-10 test
images (the first 256 records of cifar10_test512.bin), no augmentation, no
shuffle, batch 128 (two SGD steps, lr 0.1, momentum 0.9, wd 5e-4), ResNet-18
width 8, from a fixed initial checkpoint.

  train256_r18w8_init.safetensors   the initial state_dict (plain names, with the
                                    __metadata__ freqbias reads: `freqbias train --init`)
  train256_r18w8_after.safetensors  `losses` F32 [2] (the loss of each step) and
                                    `after.<state_dict key>` after the epoch

Computed in float32, as PyTorch users run it. Unlike the single-step references of
make_parity.py this one is NOT computed in float64: after two steps at batch 128,
the BatchNorm bias gradients (sums of 131,072 nearly cancelling terms in layer1)
put PyTorch's own float32 run 16% (relative to the tensor's max) away from float64
in some biases, while freqbias and PyTorch float32 agree to 2e-3 (measured).
usage: /usr/bin/python3 ref_data/gen/make_train_parity.py
"""
import copy
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REF = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import models  # noqa: E402
import st  # noqa: E402

SEED, WIDTH, COUNT, BATCH = 0, 8, 256, 128


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    raw = np.fromfile(os.path.join(REF, "cifar10_test512.bin"), dtype=np.uint8)[:COUNT * 3073]
    records = raw.reshape(COUNT, 3073)
    y = torch.from_numpy(records[:, 0].astype(np.int64))
    x = torch.from_numpy(records[:, 1:].reshape(COUNT, 3, 32, 32).copy()).to(torch.float32) / 255.0
    torch.manual_seed(SEED)
    model = models.resnet("resnet18", width=WIDTH)
    meta = {"arch": "resnet18", "width": str(WIDTH), "num_classes": "10", "in_channels": "3",
            "image_size": "32", "epoch": "-1", "seed": str(SEED), "data_sha256": "",
            "generator": "ref_data/gen/make_train_parity.py"}
    st.save(os.path.join(REF, "train256_r18w8_init.safetensors"),
            {k: v.clone() for k, v in model.state_dict().items()}, meta)
    trained = copy.deepcopy(model)
    trained.train()
    opt = torch.optim.SGD(trained.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    losses = []
    for first in range(0, COUNT, BATCH):
        loss = F.cross_entropy(trained(models.normalize(x[first:first + BATCH])), y[first:first + BATCH])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.detach())
    out = {"losses": torch.stack(losses).clone()}
    for k, v in trained.state_dict().items():
        out["after." + k] = v.clone()
    st.save(os.path.join(REF, "train256_r18w8_after.safetensors"), out,
            {"generator": "ref_data/gen/make_train_parity.py", "precision": "float32",
             "recipe": "256 images, batch 128, no augmentation, no shuffle, SGD lr 0.1 momentum 0.9 wd 5e-4"})
    print("make_train_parity: losses", [float(v) for v in losses], file=sys.stderr)


if __name__ == "__main__":
    main()
