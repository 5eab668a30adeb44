#!/usr/bin/python3
"""Is each HARS image's own high band really there? (issue 14 item 2)

HARS (PAPER.md E4) = per-channel min-max of (low band of a donor of another
class + own high band), ×255, uint8. Min-max is affine per channel, so the
HARS image's high band should be a·high(x) plus the uint8 rounding noise.
For the first N images this prints, from `freqbias hars`'s output and
pairing.csv:
  corr        correlation of the HARS image's high band with the original's
  survives    fraction of the HARS image's high-band energy explained by
              a·high(x) (a fitted per image and channel; the rest is rounding)
  share       the high band's share of the HARS image's energy (DC removed)
  rounding    RMS of the uint8 rounding, in grey levels, against the same
              image computed in float64 from the pairing

usage: /usr/bin/python3 scripts/hars_check.py CIFAR_DIR HARS_DIR [R=12] [N=2000]
"""
import csv
import os
import sys

import numpy as np


def read_batches(folder):
    records = np.concatenate([np.fromfile(os.path.join(folder, f"data_batch_{i}.bin"), dtype=np.uint8)
                              for i in range(1, 6)]).reshape(-1, 3073)
    return records[:, 1:].reshape(-1, 3, 32, 32).astype(np.float64)


def band_split(images, r):
    """(low, high) parts of images [N,3,32,32] with the C1 radial mask (dist from (16,16) < r is low)."""
    yy, xx = np.mgrid[0:32, 0:32]
    low_mask = np.sqrt((yy - 16) ** 2 + (xx - 16) ** 2) < r
    spectrum = np.fft.fftshift(np.fft.fft2(images), axes=(-2, -1))
    low = np.real(np.fft.ifft2(np.fft.ifftshift(spectrum * low_mask, axes=(-2, -1))))
    high = np.real(np.fft.ifft2(np.fft.ifftshift(spectrum * ~low_mask, axes=(-2, -1))))
    return low, high


def main():
    cifar, hars_dir = sys.argv[1], sys.argv[2]
    r = float(sys.argv[3]) if len(sys.argv) > 3 else 12.0
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 2000
    original = read_batches(cifar)
    hars = read_batches(hars_dir)[:n]
    with open(os.path.join(hars_dir, "pairing.csv")) as f:
        donor = np.array([int(row["lf_source_index"]) for row in csv.DictReader(f)])[:n]
    _, own_high = band_split(original[:n], r)
    donor_low, _ = band_split(original[donor], r)
    _, hars_high = band_split(hars, r)

    mixed = donor_low + own_high                                  # [n,3,32,32] before min-max
    lo = mixed.min(axis=(-2, -1), keepdims=True)
    hi = mixed.max(axis=(-2, -1), keepdims=True)
    unrounded = (mixed - lo) / (hi - lo) * 255.0

    dot = (hars_high * own_high).sum(axis=(-2, -1))
    scale = dot / (own_high ** 2).sum(axis=(-2, -1))              # a per image and channel
    explained = scale[..., None, None] * own_high
    high_energy = (hars_high ** 2).sum(axis=(-2, -1))
    survives = 1.0 - ((hars_high - explained) ** 2).sum(axis=(-2, -1)) / high_energy
    centred = hars - hars.mean(axis=(-2, -1), keepdims=True)
    share = high_energy / (centred ** 2).sum(axis=(-2, -1))
    a, b = hars_high.reshape(n, -1), own_high.reshape(n, -1)
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    corr = (a * b).sum(axis=1) / np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    rounding = np.sqrt(((hars - unrounded) ** 2).mean())
    print(f"HARS r = {r:g}, first {n} images of {hars_dir}")
    print(f"corr      mean {corr.mean():.4f}  min {corr.min():.4f}")
    print(f"survives  mean {survives.mean():.4f}  min {survives.min():.4f}")
    print(f"share     mean {share.mean():.4f}  median {np.median(share):.4f}")
    print(f"rounding  RMS {rounding:.3f} grey levels (max |diff| {np.abs(hars - unrounded).max():.3f})")


if __name__ == "__main__":
    main()
