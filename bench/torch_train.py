#!/usr/bin/python3
"""PyTorch anchor benchmark for freqbias: CIFAR ResNet train / inference speed.

Same model code as the parity data (ref_data/gen/models.py), random inputs
(torch.manual_seed(0)), 32x32x3 float32, on the CPU or (--device cuda) on
the GPU in eager mode. On CUDA, TF32 is off for matmuls and cuDNN
convolutions unless --tf32 is given, so the comparison with freqbias's cuda
backend (float32 products, TF32 off) is like for like; cudnn.benchmark
stays at PyTorch's default (False). Each CUDA step is bracketed by
torch.cuda.synchronize(), since kernels run asynchronously.

  train: model.train(); loss = CE(model(normalize(x)), y) (mean); zero_grad;
         backward; SGD(lr 0.1, momentum 0.9, weight_decay 5e-4) step
  infer: model.eval(); with torch.no_grad(): model(normalize(x))

Each of --warmup untimed steps then --steps timed steps is timed alone
(time.perf_counter); the reported rate is batch / median step time.
Prints exactly one line to stdout:

  torch mode=train threads=2 batch=128 img_per_s=51.23 ms_per_step=2498.50 arch=resnet18 width=64 device=cpu

Example: /usr/bin/python3 bench/torch_train.py --threads 2 --mode train --steps 10 --warmup 2
         python3 bench/torch_train.py --device cuda --steps 20 --warmup 3
"""
import argparse
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ref_data", "gen"))
import models  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description="PyTorch CIFAR ResNet train/infer benchmark")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads(T)")
    ap.add_argument("--mode", choices=["train", "infer"], default="train")
    ap.add_argument("--arch", choices=sorted(models.ARCHS), default="resnet18")
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--num-classes", type=int, default=10)
    ap.add_argument("--steps", type=int, default=10, help="timed steps")
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--tf32", action="store_true",
                    help="CUDA: allow TF32 in matmuls and cuDNN convolutions (off by default)")
    args = ap.parse_args()
    if args.threads < 1 or args.steps < 1 or args.warmup < 0 or args.batch < 1 or args.width < 1:
        ap.error("--threads, --steps, --batch, --width must be >= 1 and --warmup >= 0")

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    if args.device == "cuda":
        if not torch.cuda.is_available():
            sys.exit("torch_train: --device cuda, but torch.cuda.is_available() is False")
        torch.backends.cuda.matmul.allow_tf32 = args.tf32
        torch.backends.cudnn.allow_tf32 = args.tf32

    def sync():
        if args.device == "cuda":
            torch.cuda.synchronize()

    model = models.resnet(args.arch, width=args.width, num_classes=args.num_classes).to(device)
    x = torch.rand(args.batch, 3, 32, 32, dtype=torch.float32).to(device)
    y = torch.randint(0, args.num_classes, (args.batch,), dtype=torch.int64).to(device)

    if args.mode == "train":
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)

        def step():
            loss = F.cross_entropy(model(models.normalize(x)), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    else:
        model.eval()

        def step():
            with torch.no_grad():
                model(models.normalize(x))

    for _ in range(args.warmup):
        step()
    sync()
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    extra = ""
    if args.device == "cuda":
        extra = f" tf32={'on' if args.tf32 else 'off'} gpu=\"{torch.cuda.get_device_name(0)}\""
    print(f"torch mode={args.mode} threads={args.threads} batch={args.batch} "
          f"img_per_s={args.batch / med:.2f} ms_per_step={med * 1e3:.2f} "
          f"arch={args.arch} width={args.width} device={args.device}{extra}")


if __name__ == "__main__":
    main()
