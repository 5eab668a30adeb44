#!/usr/bin/python3
"""The numpy side of bench/bench_spectrum.sh for `freqbias hars --r R`: the HARS
training set (own high + another class's low frequencies, per-channel min-max,
uint8) written the usual numpy way, batched FFTs over the 50,000 images.

usage: /usr/bin/python3 bench/numpy_hars.py data/cifar-10-batches-bin R OUT_DIR
"""
import os
import sys
import time

import numpy as np


def main():
    start = time.time()
    folder, r, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    records = np.concatenate([np.fromfile(os.path.join(folder, f"data_batch_{i}.bin"), dtype=np.uint8)
                              for i in range(1, 6)]).reshape(-1, 3073)
    labels = records[:, 0]
    x = records[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32)
    rng = np.random.default_rng(0)
    donor = rng.permutation(len(labels))
    bad = np.nonzero(labels[donor] == labels)[0]         # repair same-class pairs by swaps
    while len(bad):
        for i, k in zip(bad, rng.integers(0, len(labels), len(bad))):
            if labels[donor[k]] != labels[i] and labels[donor[i]] != labels[k]:
                donor[i], donor[k] = donor[k], donor[i]
        bad = np.nonzero(labels[donor] == labels)[0]
    yy, xx = np.mgrid[0:32, 0:32]
    low = (np.sqrt((yy - 16) ** 2 + (xx - 16) ** 2) < r).astype(np.float32)
    spectrum = np.fft.fftshift(np.fft.fft2(x), axes=(-2, -1))
    mixed = (1 - low) * spectrum + low * spectrum[donor]
    out_images = np.real(np.fft.ifft2(np.fft.ifftshift(mixed, axes=(-2, -1))))
    lo = out_images.min(axis=(-2, -1), keepdims=True)
    hi = out_images.max(axis=(-2, -1), keepdims=True)
    result = records.copy()
    result[:, 1:] = ((out_images - lo) / (hi - lo) * 255).astype(np.uint8).reshape(len(records), -1)
    os.makedirs(out, exist_ok=True)
    result.tofile(os.path.join(out, "hars.bin"))
    print(f"numpy hars: {len(records)} images in {time.time() - start:.2f} s")


if __name__ == "__main__":
    main()
