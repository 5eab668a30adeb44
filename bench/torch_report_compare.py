#!/usr/bin/python3
"""The report's baseline retrained in PyTorch, next to a freqbias report's numbers (issue 14 item 5).

For each seed it trains the baseline with the report's recipe (bench/torch_cifar_train.py's model,
normaliser and augmentation: CIFAR ResNet-18, SGD lr 0.1 momentum 0.9 weight decay 5e-4, batch 128,
reflect-pad 4 + crop + flip, lr x0.1 at the milestones) on the FIRST N training images, tests the
last epoch's model on the FIRST M test images, clean and low/high-pass filtered at r = 4, 8, 10, 12, 14,
16, 18 with the masks of `freqbias filter` (PAPER.md C1: d = distance from the DC bin of
fftshift(fft2(x)), low = [d < r], high = 1 - low, real part of the inverse, fed as is: --norm none),
and computes top-1, the inter-class variance of the penultimate features ((1/C) sum_c |mu_c - mu|^2)
and Pearson(top-1, inter-class variance) over the 15 sets. It prints mean +- sample std over the seeds,
and, given --report OUT, the report's own numbers from OUT/sweeps/baseline/seed*/sweep.csv beside them.
PyTorch's random streams differ from freqbias's, so the two agree statistically, not bitwise: compare
the gaps with the spreads.

usage: /usr/bin/python3 bench/torch_report_compare.py --data data/cifar-10-batches-bin --report out/demo \\
           [--train-images 15000] [--test-images 5000] [--width 16] [--epochs 10] [--milestones 7,9] \\
           [--seeds 3] [--threads 2]
"""
import argparse
import csv
import glob
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "ref_data", "gen"))
import models  # noqa: E402
from torch_cifar_train import augment, read_batches  # noqa: E402

RADII = [4, 8, 10, 12, 14, 16, 18]


def filtered(images_uint8, freq, r):
    """freqbias filter --freq FREQ --r R --norm none, on [N, 3, 32, 32] uint8: float32 in 'image' units"""
    x = images_uint8.numpy().astype(np.float64) / 255.0
    h, w = x.shape[-2:]
    yy, xx = np.ogrid[:h, :w]
    low = (np.hypot(yy - h // 2, xx - w // 2) < r).astype(np.float64)
    mask = low if freq == "low" else 1.0 - low
    spectrum = np.fft.fftshift(np.fft.fft2(x), axes=(-2, -1)) * mask
    out = np.real(np.fft.ifft2(np.fft.ifftshift(spectrum, axes=(-2, -1))))
    return torch.from_numpy(out.astype(np.float32))


def features_and_logits(model, x):
    """the penultimate (post-pool) features and the logits of models.ResNet"""
    out = F.relu(model.bn1(model.conv1(models.normalize(x))))
    out = model.layer4(model.layer3(model.layer2(model.layer1(out))))
    feats = F.avg_pool2d(out, 4).flatten(1)
    return feats, model.linear(feats)


def evaluate(model, x, labels, batch=256):
    """top-1 and inter-class variance (as fb_feature_variances) of float images x"""
    model.eval()
    feats, correct = [], 0
    with torch.no_grad():
        for start in range(0, len(labels), batch):
            f, logits = features_and_logits(model, x[start:start + batch])
            feats.append(f.double())
            correct += int((logits.argmax(1) == labels[start:start + batch]).sum())
    feats = torch.cat(feats)
    mean = feats.mean(0)
    classes = [c for c in range(int(labels.max()) + 1) if (labels == c).any()]
    inter = sum(float(((feats[labels == c].mean(0) - mean) ** 2).sum()) for c in classes) / len(classes)
    return correct / len(labels), inter


def train(args, seed, train_x, train_y):
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = models.resnet("resnet18", width=args.width)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    milestones = [int(m) for m in args.milestones.split(",") if m] if args.milestones else \
        list(range(50, args.epochs, 50))
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=milestones, gamma=0.1)
    for epoch in range(args.epochs):
        order = torch.randperm(len(train_y), generator=generator)
        correct = 0
        for first in range(0, len(order), 128):
            idx = order[first:first + 128]
            logits = model(models.normalize(augment(train_x[idx], generator)))
            loss = F.cross_entropy(logits, train_y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            correct += int((logits.argmax(1) == train_y[idx]).sum())
        sched.step()
        print(f"  seed {seed} epoch {epoch}: train top-1 {correct / len(order):.4f}", flush=True)
    return model


def pearson(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    a, b = a - a.mean(), b - b.mean()
    norm = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / norm) if norm > 0 else float("nan")  # NaN: a constant series


def mean_std(values):
    v = np.asarray([x for x in values if x == x], float)
    if len(v) == 0:
        return "-"
    return f"{v.mean():.4f}" if len(v) < 2 else f"{v.mean():.4f} ± {v.std(ddof=1):.4f}"


def report_numbers(report):
    """{(freq, r): [top1 per seed]}, {(freq, r): [inter per seed]}, [pearson per seed] of a report"""
    top1, inter, pearsons = {}, {}, []
    files = sorted(glob.glob(os.path.join(report, "sweeps", "baseline", "seed*", "sweep.csv")))
    if not files:
        sys.exit(f"torch_report_compare: no {report}/sweeps/baseline/seed*/sweep.csv (a report made by freqbias?)")
    for path in files:
        with open(path) as f:
            rows = list(csv.DictReader(f))
        for row in rows:
            key = (row["freq"], 0.0 if row["freq"] == "clean" else float(row["r"]))
            top1.setdefault(key, []).append(float(row["top1"]))
            inter.setdefault(key, []).append(float(row["inter_class_var"]))
        pearsons.append(pearson([float(r["top1"]) for r in rows], [float(r["inter_class_var"]) for r in rows]))
    return top1, inter, pearsons, len(files)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="the CIFAR-10 binary folder")
    ap.add_argument("--report", help="a freqbias report folder to print beside PyTorch's numbers")
    ap.add_argument("--train-images", type=int, default=15000)
    ap.add_argument("--test-images", type=int, default=5000)
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--milestones", default="7,9")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    train_x, train_y = read_batches([os.path.join(args.data, f"data_batch_{i}.bin") for i in range(1, 6)])
    test_x, test_y = read_batches([os.path.join(args.data, "test_batch.bin")])
    train_x, train_y = train_x[:args.train_images], train_y[:args.train_images]
    test_x, test_y = test_x[:args.test_images], test_y[:args.test_images]
    sets = [("clean", 0.0)] + [(freq, float(r)) for r in RADII for freq in ("low", "high")]
    inputs = {("clean", 0.0): test_x.float() / 255.0}
    for freq, r in sets[1:]:
        inputs[(freq, r)] = filtered(test_x, freq, r)
    top1 = {s: [] for s in sets}
    inter = {s: [] for s in sets}
    pearsons = []
    for seed in range(args.seeds):
        model = train(args, seed, train_x, train_y)
        for s in sets:
            acc, var = evaluate(model, inputs[s], test_y)
            top1[s].append(acc)
            inter[s].append(var)
        pearsons.append(pearson([top1[s][-1] for s in sets], [inter[s][-1] for s in sets]))
    ours = report_numbers(args.report) if args.report else None
    print(f"\nPyTorch {torch.__version__}: ResNet-18 width {args.width}, first {len(train_y)} training / "
          f"{len(test_y)} test images, {args.epochs} epochs, milestones {args.milestones or 'every 50'}, "
          f"{args.seeds} seeds (mean ± sample std)")
    if ours:
        print(f"freqbias: {args.report}, {ours[3]} seeds")
    print(f"{'set':6} {'r':>4}  {'PyTorch top-1':>17}  {'freqbias top-1':>17}  "
          f"{'PyTorch inter-class var':>24}  {'freqbias inter-class var':>24}")
    for s in sets:
        ours_top1 = mean_std(ours[0].get(s, [])) if ours else "-"
        ours_inter = mean_std(ours[1].get(s, [])) if ours else "-"
        print(f"{s[0]:6} {'' if s[0] == 'clean' else int(s[1]):>4}  {mean_std(top1[s]):>17}  {ours_top1:>17}  "
              f"{mean_std(inter[s]):>24}  {ours_inter:>24}")
    print(f"Pearson(top-1, inter-class variance) over {len(sets)} sets: PyTorch {mean_std(pearsons)}"
          + (f", freqbias {mean_std(ours[2])}" if ours else ""))


if __name__ == "__main__":
    main()
