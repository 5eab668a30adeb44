#!/usr/bin/python3
"""Load a freqbias checkpoint into the PyTorch model unchanged
(load_state_dict(strict=True)) and report its CIFAR-10 test accuracy.

usage: /usr/bin/python3 bench/torch_eval_ckpt.py CKPT.safetensors data/cifar-10-batches-bin
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "ref_data", "gen"))
sys.path.insert(0, HERE)
import models  # noqa: E402
import st  # noqa: E402
from torch_cifar_train import evaluate, read_batches  # noqa: E402


def main():
    tensors, meta = st.load(sys.argv[1])
    model = models.resnet(meta["arch"], width=int(meta["width"]), num_classes=int(meta["num_classes"]))
    state = model.state_dict()
    model.load_state_dict({k: v.reshape(state[k].shape) for k, v in tensors.items()}, strict=True)
    torch.set_num_threads(2)
    images, labels = read_batches([os.path.join(sys.argv[2], "test_batch.bin")])
    loss, acc = evaluate(model, images, labels, 128)
    print(f"PyTorch on {sys.argv[1]}: test top-1 {acc:.4f}, loss {loss:.4f}")


if __name__ == "__main__":
    main()
