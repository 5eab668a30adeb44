#!/usr/bin/python3
"""numpy references for the spectrum module (tests/test_spectrum.c).

Everything is computed in float64 with numpy's FFT (pocketfft) and stored as
float32 (int32 for counts) in ref_data/spectrum_ref.safetensors. Images: the
first 4 records of ref_data/cifar10_test512.bin, uint8 / 255 (values in [0,1]).
Written from PAPER.md C1-C4, independently of the C code.

  images                    F32 [4, 3, 32, 32]  the input, uint8 / 255
  filter_{low,high}_r{4,12}_{none,minmax}
                            F32 [4, 3, 32, 32]  real(ifft2(ifftshift(fftshift(fft2(x)) * mask)))
                                                C1 masks (d < r from the DC bin (16,16)),
                                                then nothing or per-channel min-max (C4)
  filter_cdes_{low,high}_r10_none
                            F32 [4, 3, 32, 32]  the same with the seed's C3 masks
  cdes_{low,high}_{H}x{W}_r{r}  F32 [H, W]      the seed's C3 masks at 32x32 r10, 33x33 r10, 31x24 r6
  gray                      F32 [4, 32, 32]     0.2989 R + 0.5870 G + 0.1140 B
  ai_freqbias_{mag,log}     F32 [4, 20]         azimuthal average, seed algorithm (C2)
  ai_centered_{mag,log}     F32 [4, 24]         azimuthal average about the DC bin, rounded radius
  ai_{freqbias,centered}_counts I32 [20] / [24] pixels per band
     (mag = |fftshift(fft2(gray))|, log = 20 * ln(1 + mag))
  fft_gray0                 F32 [32, 32, 2]     fft2(gray[0]) (re, im)
  fft_rand_7x10_in, fft_rand_7x10  F32 [7, 10], [7, 10, 2]   an odd non-square FFT
  shift_in_{HxW}, fftshift_{HxW}, ifftshift_{HxW}  F32  for 5x7, 6x4, 5x4

Deterministic: no clock, fixed seeds, the writer orders tensors as given, so
a rerun gives the same bytes.
usage: /usr/bin/python3 ref_data/gen/make_spectrum.py
"""
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REF = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import st  # noqa: E402

COUNT = 4


def load_images():
    raw = np.fromfile(os.path.join(REF, "cifar10_test512.bin"), dtype=np.uint8)
    records = raw.reshape(-1, 3073)[:COUNT]
    return records[:, 1:].reshape(COUNT, 3, 32, 32).astype(np.float64) / 255.0


def radial_mask(h, w, r, low):
    y, x = np.ogrid[:h, :w]
    d = np.sqrt((y - h // 2) ** 2 + (x - w // 2) ** 2)
    m = d < r
    return (m if low else ~m).astype(np.float64)


def cdes_quadrant_mask(h, w, r_in, r_out):
    """The seed's construction: distances from (h//2, w//2), kept where
    r_in^2 <= d^2 <= r_out^2, in the top-left quadrant only, then mirrored
    up-down and left-right."""
    ch, cw = h // 2, w // 2
    y, x = np.ogrid[:h, :w]
    d2 = (y - ch) ** 2 + (x - cw) ** 2
    m = ((d2 >= r_in ** 2) & (d2 <= r_out ** 2)).astype(np.int64)
    m[ch:, :] = 0
    m = m + np.flipud(m)
    m[:, cw:] = 0
    m = m + np.fliplr(m)
    return m.astype(np.float64)


def cdes_masks(h, w, r):
    return cdes_quadrant_mask(h, w, 0, r), cdes_quadrant_mask(h, w, r + 1, h)


def spectral_filter(x, mask, norm):
    f = np.fft.fftshift(np.fft.fft2(x, axes=(-2, -1)), axes=(-2, -1)) * mask
    y = np.real(np.fft.ifft2(np.fft.ifftshift(f, axes=(-2, -1)), axes=(-2, -1)))
    if norm == "minmax":
        lo = y.min(axis=(-2, -1), keepdims=True)
        hi = y.max(axis=(-2, -1), keepdims=True)
        rng = hi - lo
        y = np.where(rng > 0, (y - lo) / np.where(rng > 0, rng, 1.0), 0.0)
    return y


def ai_freqbias(image):
    """The seed's azimuthalAverage: sort by radius about ((W-1)/2, (H-1)/2),
    truncate, sum each run of equal integer radius by cumulative-sum
    differences, drop the first and last runs."""
    y, x = np.indices(image.shape)
    center = np.array([(x.max() - x.min()) / 2.0, (y.max() - y.min()) / 2.0])
    r = np.hypot(x - center[0], y - center[1])
    order = np.argsort(r.flat, kind="stable")
    r_int = r.flat[order].astype(int)
    values = image.flatten()[order]
    ends = np.where(r_int[1:] - r_int[:-1])[0]
    counts = ends[1:] - ends[:-1]
    csum = np.cumsum(values)
    return (csum[ends[1:]] - csum[ends[:-1]]) / counts, counts


def ai_centered(image):
    h, w = image.shape
    y, x = np.indices(image.shape)
    ring = np.rint(np.hypot(y - h // 2, x - w // 2)).astype(int).ravel()
    counts = np.bincount(ring)
    return np.bincount(ring, image.ravel()) / counts, counts


def complex_as_f32(z):
    return np.stack([z.real, z.imag], axis=-1)


def t32(a):
    return torch.from_numpy(np.ascontiguousarray(np.asarray(a, dtype=np.float32)))


def main():
    x = load_images()
    out = {"images": t32(x)}
    for r in (4, 12):
        for kind in ("low", "high"):
            mask = radial_mask(32, 32, r, kind == "low")
            for norm in ("none", "minmax"):
                out[f"filter_{kind}_r{r}_{norm}"] = t32(spectral_filter(x, mask, norm))
    low, high = cdes_masks(32, 32, 10)
    out["filter_cdes_low_r10_none"] = t32(spectral_filter(x, low, "none"))
    out["filter_cdes_high_r10_none"] = t32(spectral_filter(x, high, "none"))
    for h, w, r in ((32, 32, 10), (33, 33, 10), (31, 24, 6)):
        low, high = cdes_masks(h, w, r)
        out[f"cdes_low_{h}x{w}_r{r}"] = t32(low)
        out[f"cdes_high_{h}x{w}_r{r}"] = t32(high)

    gray = 0.2989 * x[:, 0] + 0.5870 * x[:, 1] + 0.1140 * x[:, 2]
    out["gray"] = t32(gray)
    spectra = np.fft.fftshift(np.fft.fft2(gray, axes=(-2, -1)), axes=(-2, -1))
    mag = np.abs(spectra)
    logmag = 20.0 * np.log(1.0 + mag)
    for name, data in (("mag", mag), ("log", logmag)):
        out[f"ai_freqbias_{name}"] = t32([ai_freqbias(m)[0] for m in data])
        out[f"ai_centered_{name}"] = t32([ai_centered(m)[0] for m in data])
    out["ai_freqbias_counts"] = torch.from_numpy(ai_freqbias(mag[0])[1].astype(np.int32))
    out["ai_centered_counts"] = torch.from_numpy(ai_centered(mag[0])[1].astype(np.int32))

    out["fft_gray0"] = t32(complex_as_f32(np.fft.fft2(gray[0].astype(np.float32).astype(np.float64))))
    rand = np.random.default_rng(1234).uniform(-1.0, 1.0, size=(7, 10)).astype(np.float32)
    out["fft_rand_7x10_in"] = t32(rand)
    out["fft_rand_7x10"] = t32(complex_as_f32(np.fft.fft2(rand.astype(np.float64))))
    for h, w in ((5, 7), (6, 4), (5, 4)):
        a = np.arange(h * w, dtype=np.float64).reshape(h, w)
        out[f"shift_in_{h}x{w}"] = t32(a)
        out[f"fftshift_{h}x{w}"] = t32(np.fft.fftshift(a))
        out[f"ifftshift_{h}x{w}"] = t32(np.fft.ifftshift(a))

    meta = {"generator": "ref_data/gen/make_spectrum.py",
            "images": "cifar10_test512.bin records 0..3, uint8 / 255",
            "precision": "computed in float64 (numpy.fft), stored float32"}
    st.save(os.path.join(REF, "spectrum_ref.safetensors"), out, meta)
    low_counts = {r: int(radial_mask(32, 32, r, True).sum()) for r in (4, 8, 10, 12, 14, 16, 18)}
    c_low, c_high = cdes_masks(32, 32, 10)
    print("C1 low counts at 32x32:", low_counts)
    print("C3 r=10: low", int(c_low.sum()), "high", int(c_high.sum()),
          "neither", int(((c_low == 0) & (c_high == 0)).sum()))
    print("freqbias band counts:", out["ai_freqbias_counts"].tolist())
    print("centered band counts:", out["ai_centered_counts"].tolist())
    print("wrote", len(out), "tensors")


if __name__ == "__main__":
    main()
