#!/usr/bin/python3
"""The PyTorch twin of `freqbias train` for the README's real-run comparison.

Same model (ref_data/gen/models.py, robustness CIFAR ResNet with the
normaliser in front), same recipe (SGD lr 0.1 momentum 0.9 wd 5e-4, batch
128, shuffled, drop_last=False, mean cross-entropy, reflect-pad 4 -> random
crop 32 -> horizontal flip, lr x gamma every lr_step epochs), same data files
(the CIFAR-10 binary batches), same per-epoch log columns as freqbias's
log.csv. Randomness comes from torch's generator (seeded), so the two runs
are statistically, not bitwise, alike.

usage: /usr/bin/python3 bench/torch_cifar_train.py --data data/cifar-10-batches-bin \
           --out DIR [--width 16] [--epochs 15] [--threads 2] [--seed 0]
"""
import argparse
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "ref_data", "gen"))
import models  # noqa: E402


def read_batches(paths):
    raw = np.concatenate([np.fromfile(p, dtype=np.uint8) for p in paths])
    if raw.size % 3073:
        sys.exit(f"torch_cifar_train: {paths}: size {raw.size} is not a multiple of 3073")
    records = raw.reshape(-1, 3073)
    labels = torch.from_numpy(records[:, 0].astype(np.int64))
    images = torch.from_numpy(records[:, 1:].reshape(-1, 3, 32, 32).copy())
    return images, labels


def augment(batch_uint8, generator):
    """reflect-pad 4, random 32x32 crop, horizontal flip with p = 0.5"""
    x = batch_uint8.float() / 255.0
    padded = F.pad(x, (4, 4, 4, 4), mode="reflect")
    n = x.shape[0]
    offsets = torch.randint(0, 9, (n, 2), generator=generator)
    flips = torch.rand(n, generator=generator) < 0.5
    out = torch.empty_like(x)
    for i in range(n):
        dy, dx = int(offsets[i, 0]), int(offsets[i, 1])
        crop = padded[i, :, dy:dy + 32, dx:dx + 32]
        out[i] = torch.flip(crop, dims=[2]) if flips[i] else crop
    return out


def evaluate(model, images, labels, batch):
    model.eval()
    correct, loss_sum = 0, 0.0
    with torch.no_grad():
        for start in range(0, len(labels), batch):
            x = images[start:start + batch].float() / 255.0
            y = labels[start:start + batch]
            logits = model(models.normalize(x))
            loss_sum += float(F.cross_entropy(logits, y, reduction="sum"))
            correct += int((logits.argmax(1) == y).sum())
    model.train()
    return loss_sum / len(labels), correct / len(labels)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--arch", default="resnet18")
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--lr-step", type=int, default=50)
    ap.add_argument("--lr-gamma", type=float, default=0.1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    train_x, train_y = read_batches([os.path.join(args.data, f"data_batch_{i}.bin") for i in range(1, 6)])
    test_x, test_y = read_batches([os.path.join(args.data, "test_batch.bin")])
    model = models.resnet(args.arch, width=args.width)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=args.lr_step, gamma=args.lr_gamma)
    os.makedirs(args.out, exist_ok=True)
    log_path = os.path.join(args.out, "log.csv")
    with open(log_path, "w") as log:
        log.write("epoch,lr,train_loss,train_acc,test_loss,test_acc,img_per_s,seconds\n")
    for epoch in range(args.epochs):
        start = time.time()
        order = torch.randperm(len(train_y), generator=generator)
        loss_sum, correct = 0.0, 0
        lr = opt.param_groups[0]["lr"]
        for first in range(0, len(order), args.batch):
            idx = order[first:first + args.batch]
            x = augment(train_x[idx], generator)
            y = train_y[idx]
            logits = model(models.normalize(x))
            loss = F.cross_entropy(logits, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_sum += float(loss) * len(y)
            correct += int((logits.argmax(1) == y).sum())
        train_seconds = time.time() - start
        test_loss, test_acc = evaluate(model, test_x, test_y, args.batch)
        seconds = time.time() - start
        sched.step()
        row = (f"{epoch},{lr:.6g},{loss_sum / len(order):.6f},{correct / len(order):.6f},"
               f"{test_loss:.6f},{test_acc:.6f},{len(order) / train_seconds:.1f},{seconds:.1f}")
        print(row, flush=True)
        with open(log_path, "a") as log:
            log.write(row + "\n")


if __name__ == "__main__":
    main()
