#!/usr/bin/python3
"""numpy/PyTorch references for HARS images and gradient spectra.

  hars_gradspec_ref.safetensors
    donor          I32 [64]           a fixed pairing of images 0..63 of cifar10_test512.bin
                                      (each low part used once, never the same class; see pairing())
    hars           U8  [64,3,32,32]   HARS images for that pairing at r = 12: per channel of the
                                      0-255 image, real(ifft2(ifftshift(high*F(x) + low*F(donor))))
                                      with F = fftshift(fft2(.)), low = d < 12 about (16,16),
                                      then min-max per channel, x255, truncated to uint8 (numpy, float64)
    init.<sd>      ResNet-18 width 4 state_dict (torch.manual_seed(0))
    gradspec_mean  F32 [20], gradspec_std F32 [20]
                                      grad.py on images 0..15: eval mode, d mean CE / d x (float64),
                                      channel sum -> |fftshift(fft2)| -> the seed's azimuthal average
                                      (centre (15.5,15.5), truncated radius, bins 1..20) -> per-image
                                      min-max -> mean / std over the 16 images

usage: /usr/bin/python3 ref_data/gen/make_hars_gradspec.py
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


def load(count):
    raw = np.fromfile(os.path.join(REF, "cifar10_test512.bin"), dtype=np.uint8)[:count * 3073]
    records = raw.reshape(count, 3073)
    return records[:, 1:].reshape(count, 3, 32, 32), records[:, 0].astype(np.int64)


def pairing(labels):
    """Sorted by class, each image takes the low part of the image M places further
    (cyclically), M = the largest class size: never the same class when M <= n/2."""
    order = np.argsort(labels, kind="stable")
    shift = np.bincount(labels).max()
    donor = np.empty(len(labels), dtype=np.int32)
    donor[order] = order[(np.arange(len(labels)) + shift) % len(labels)]
    assert np.all(labels[donor] != labels) and len(set(donor.tolist())) == len(labels)
    return donor


def hars(images, donor, r=12):
    yy, xx = np.mgrid[0:32, 0:32]
    low = (np.sqrt((yy - 16.0) ** 2 + (xx - 16.0) ** 2) < r).astype(np.float64)
    x = images.astype(np.float64)
    spectrum = np.fft.fftshift(np.fft.fft2(x), axes=(-2, -1))
    mixed = (1 - low) * spectrum + low * spectrum[donor]
    out = np.real(np.fft.ifft2(np.fft.ifftshift(mixed, axes=(-2, -1))))
    lo = out.min(axis=(-2, -1), keepdims=True)
    hi = out.max(axis=(-2, -1), keepdims=True)
    return ((out - lo) / (hi - lo) * 255.0).astype(np.uint8)


def azimuthal_freqbias(plane):
    """The seed's azimuthalAverage: centre (15.5, 15.5), radius truncated, bins 1..20."""
    y, x = np.indices(plane.shape)
    radius = np.hypot(x - (plane.shape[1] - 1) / 2.0, y - (plane.shape[0] - 1) / 2.0).astype(int)
    sums = np.bincount(radius.ravel(), plane.ravel())
    counts = np.bincount(radius.ravel())
    return (sums / counts)[1:21]


def gradspec(images, labels):
    torch.manual_seed(0)
    model = models.resnet("resnet18", width=4)
    init = {k: v.clone() for k, v in model.state_dict().items()}
    m64 = copy.deepcopy(model).double().eval()
    x = torch.from_numpy(images.astype(np.float32) / np.float32(255.0)).double().requires_grad_(True)
    mean = torch.tensor(models.CIFAR_MEAN, dtype=torch.float64).view(1, 3, 1, 1)
    std = torch.tensor(models.CIFAR_STD, dtype=torch.float64).view(1, 3, 1, 1)
    F.cross_entropy(m64((torch.clamp(x, 0, 1) - mean) / std), torch.from_numpy(labels)).backward()
    grads = x.grad.numpy().sum(axis=1)
    profiles = []
    for g in grads:
        p = azimuthal_freqbias(np.abs(np.fft.fftshift(np.fft.fft2(g))))
        profiles.append((p - p.min()) / (p.max() - p.min()))
    profiles = np.array(profiles)
    return init, profiles.mean(axis=0), profiles.std(axis=0)


def main():
    torch.set_num_threads(1)
    images, labels = load(64)
    donor = pairing(labels)
    out = {"donor": torch.from_numpy(donor), "hars": torch.from_numpy(hars(images, donor))}
    init, mean, std = gradspec(images[:16], labels[:16])
    for k, v in init.items():
        out["init." + k] = v
    out["gradspec_mean"] = torch.from_numpy(mean.astype(np.float32))
    out["gradspec_std"] = torch.from_numpy(std.astype(np.float32))
    st.save(os.path.join(REF, "hars_gradspec_ref.safetensors"), out,
            {"generator": "ref_data/gen/make_hars_gradspec.py", "arch": "resnet18", "width": "4"})


if __name__ == "__main__":
    main()
