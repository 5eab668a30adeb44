#!/usr/bin/python3
"""The numpy side of bench/bench_spectrum.sh for `freqbias spectrum`: the mean
spectral density of a split (grayscale -> 20 ln(1+|fftshift(fft2)|) -> the seed's
20-band azimuthal average -> per-image min-max -> mean), batched.

usage: /usr/bin/python3 bench/numpy_spectrum.py BATCH.bin [BATCH.bin ...]
"""
import sys
import time

import numpy as np


def main():
    start = time.time()
    records = np.concatenate([np.fromfile(p, dtype=np.uint8) for p in sys.argv[1:]]).reshape(-1, 3073)
    x = records[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / np.float32(255.0)
    gray = 0.2989 * x[:, 0] + 0.5870 * x[:, 1] + 0.1140 * x[:, 2]
    density = 20 * np.log1p(np.abs(np.fft.fftshift(np.fft.fft2(gray), axes=(-2, -1))))
    y, xx = np.indices((32, 32))
    radius = np.hypot(xx - 15.5, y - 15.5).astype(int).ravel()
    counts = np.bincount(radius)
    flat = density.reshape(len(records), -1)
    profiles = np.stack([np.bincount(radius, row) / counts for row in flat])[:, 1:21]
    lo = profiles.min(axis=1, keepdims=True)
    hi = profiles.max(axis=1, keepdims=True)
    mean = ((profiles - lo) / (hi - lo)).mean(axis=0)
    np.save("/dev/null", mean)
    print(f"numpy spectrum: {len(records)} images in {time.time() - start:.2f} s")


if __name__ == "__main__":
    main()
