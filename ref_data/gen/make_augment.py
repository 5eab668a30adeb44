#!/usr/bin/python3
"""The loader's twin in Python: Philox4x32-10, the shuffle and the augmentation.

Written independently of the C code from the rules in include/freqbias/rng.h
and include/freqbias/loader.h, so test_train can compare bit for bit:

  order      I32 [2, 16]          epoch permutation of 16 images (seed 7, epochs 0 and 3)
  decisions  I32 [2, 16, 3]       (dy, dx, flip) of images 0..15 in those epochs
  pixels     F32 [2, 16, 3, 32, 32]  the augmented images (uint8 / 255), made with numpy's
                                  np.pad(mode="reflect") and checked against torch's F.pad(mode="reflect")

Images: the first 16 records of ref_data/cifar10_test512.bin.
usage: /usr/bin/python3 ref_data/gen/make_augment.py
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REF = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import st  # noqa: E402

MASK = 0xFFFFFFFF
SEED, EPOCHS, COUNT = 7, (0, 3), 16
STREAM_SHUFFLE, STREAM_AUGMENT = 2, 3


def philox(counter, key):
    c = list(counter)
    k0, k1 = key
    for _ in range(10):
        p0 = 0xD2511F53 * c[0]
        p1 = 0xCD9E8D57 * c[2]
        c = [((p1 >> 32) ^ c[1] ^ k0) & MASK, p1 & MASK, ((p0 >> 32) ^ c[3] ^ k1) & MASK, p0 & MASK]
        k0 = (k0 + 0x9E3779B9) & MASK
        k1 = (k1 + 0xBB67AE85) & MASK
    return c


def words(seed, stream, epoch, index):
    return philox((index & MASK, index >> 32, epoch, stream), (seed & MASK, seed >> 32))


def below(seed, stream, epoch, index, bound):
    w = words(seed, stream, epoch, index)
    random64 = (w[0] << 32) | w[1]
    return ((random64 * bound) >> 64) & MASK


def permutation(epoch):
    order = list(range(COUNT))
    for i in range(COUNT - 1, 0, -1):
        j = below(SEED, STREAM_SHUFFLE, epoch, i, i + 1)
        order[i], order[j] = order[j], order[i]
    return order


def main():
    raw = np.fromfile(os.path.join(REF, "cifar10_test512.bin"), dtype=np.uint8)[:COUNT * 3073]
    images = raw.reshape(COUNT, 3073)[:, 1:].reshape(COUNT, 3, 32, 32)
    order, decisions, pixels = [], [], []
    for epoch in EPOCHS:
        order.append(permutation(epoch))
        rows, outs = [], []
        for i in range(COUNT):
            w = words(SEED, STREAM_AUGMENT, epoch, i)
            dy, dx, flip = w[0] % 9, w[1] % 9, w[2] & 1
            rows.append((dy, dx, flip))
            x = images[i].astype(np.float32) / np.float32(255.0)
            padded = np.pad(x, ((0, 0), (4, 4), (4, 4)), mode="reflect")
            torch_padded = F.pad(torch.from_numpy(x)[None], (4, 4, 4, 4), mode="reflect")[0].numpy()
            assert np.array_equal(padded, torch_padded), "numpy and torch reflect padding differ"
            crop = padded[:, dy:dy + 32, dx:dx + 32]
            outs.append(crop[:, :, ::-1] if flip else crop)
        decisions.append(rows)
        pixels.append(outs)
    st.save(os.path.join(REF, "augment_seed7.safetensors"), {
        "order": torch.tensor(order, dtype=torch.int32),
        "decisions": torch.tensor(decisions, dtype=torch.int32),
        "pixels": torch.from_numpy(np.ascontiguousarray(np.array(pixels, dtype=np.float32))),
    }, {"seed": str(SEED), "epochs": ",".join(map(str, EPOCHS)), "images": "cifar10_test512.bin records 0-15",
        "generator": "ref_data/gen/make_augment.py"})


if __name__ == "__main__":
    main()
