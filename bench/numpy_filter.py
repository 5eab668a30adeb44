#!/usr/bin/python3
"""The numpy side of bench/bench_filter.sh: what `freqbias filter --freq low --r R`
does, written the usual numpy way (batched np.fft.fft2 over the whole split).

usage: /usr/bin/python3 bench/numpy_filter.py data/cifar-10-batches-bin/test_batch.bin R OUT.bin
"""
import sys
import time

import numpy as np


def main():
    start = time.time()
    path, r, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    records = np.fromfile(path, dtype=np.uint8).reshape(-1, 3073)
    x = records[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / np.float32(255.0)
    yy, xx = np.mgrid[0:32, 0:32]
    mask = (np.sqrt((yy - 16) ** 2 + (xx - 16) ** 2) < r).astype(np.float64)
    spectrum = np.fft.fftshift(np.fft.fft2(x), axes=(-2, -1)) * mask
    filtered = np.real(np.fft.ifft2(np.fft.ifftshift(spectrum, axes=(-2, -1))))
    low = filtered.min(axis=(-2, -1), keepdims=True)
    high = filtered.max(axis=(-2, -1), keepdims=True)
    scaled = np.where(high > low, (filtered - low) / np.where(high > low, high - low, 1), 0)
    result = records.copy()
    result[:, 1:] = (scaled * 255).astype(np.uint8).reshape(len(records), -1)
    result.tofile(out)
    print(f"numpy filter: {len(records)} images in {time.time() - start:.3f} s")


if __name__ == "__main__":
    main()
