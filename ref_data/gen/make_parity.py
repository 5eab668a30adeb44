#!/usr/bin/python3
"""Generate the PyTorch parity reference files in ref_data/.

  resnet18_w8.safetensors     arch resnet18, width 8
  resnet50_w4.safetensors     arch resnet50, width 4
  toykernel_n4_k5.safetensors CDES ToyKernel(n=4, k=5)

Everything runs in float32 on the CPU, one thread, deterministic algorithms,
seeded with torch.manual_seed(SEED) right before each model is built, so a
rerun with the same torch build writes byte-identical files.

Input images: the first 8 records of the CIFAR-10 test set
(ref_data/cifar10_test8.bin, made by fetch_cifar8.py), converted to NCHW
float32 as  uint8 -> float32, then divided by 255 in float32.

ResNet files (keys in this order; <sd> = every model.state_dict() key in
order, <p> = every named_parameters() key in order, <bn> = every BN buffer):

  input                 F32 [8,3,32,32]  pixels / 255
  label                 I64 [8]
  init.<sd>             state at initialisation (num_batches_tracked: I64, shape [])
  train.logits          F32 [8,10]  model.train(); model(normalize(x))
  train.loss            F32 []      F.cross_entropy(logits, label), mean
  grad.<p>              d loss / d parameter
  input_grad            F32 [8,3,32,32]  d loss / d x, x taken before the clamp
  after_fwd.<bn>        running_mean / running_var / num_batches_tracked after that one forward
  sgd3.<sd>             state after 3 SGD steps from init (lr 0.1, momentum 0.9, wd 5e-4),
                        each step: train forward on the same 8 images, mean CE,
                        zero_grad, backward, step
  sgd3.losses           F32 [3]     the loss at each of the 3 steps (before its update)
  sgd3.eval_logits      F32 [8,10]  model.eval() logits after the 3 steps

Toy-kernel file: init.<sd>, input [2,3,32,32], output [2,3,32,32],
loss [] = (output**2).mean(), grad.<p>, input_grad [2,3,32,32].

Usage: /usr/bin/python3 ref_data/gen/make_parity.py [--out-dir ref_data]
"""
import argparse
import copy
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import models  # noqa: E402
import st  # noqa: E402

REF = os.path.dirname(HERE)
GENERATOR = "ref_data/gen/make_parity.py"
SEED = 0
LR, MOMENTUM, WD, SGD_STEPS = 0.1, 0.9, 5e-4, 3


def load_cifar8(path):
    """The 8 test records -> (x F32 [8,3,32,32] in [0,1], y I64 [8])."""
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size != 8 * 3073:
        sys.exit(f"make_parity: {path} has {raw.size} bytes, expected {8 * 3073}")
    rec = raw.reshape(8, 3073)
    y = torch.from_numpy(rec[:, 0].astype(np.int64))
    x = torch.from_numpy(rec[:, 1:].reshape(8, 3, 32, 32).copy()).to(torch.float32) / 255.0
    return x, y


def metadata(**kw):
    md = {k: str(v) for k, v in kw.items()}
    md["seed"] = str(SEED)
    md["torch"] = torch.__version__
    md["generator"] = GENERATOR
    return md


def resnet_file(arch, width, x, y, path):
    torch.manual_seed(SEED)
    model = models.resnet(arch, width=width, num_classes=10, in_channels=3)
    init_model = copy.deepcopy(model)  # untouched copy for the SGD run

    out = {"input": x.clone(), "label": y.clone()}
    for k, v in model.state_dict().items():
        out["init." + k] = v.clone()

    # one training forward + backward from init
    model.train()
    xg = x.clone().requires_grad_(True)
    logits = model(models.normalize(xg))
    loss = F.cross_entropy(logits, y)
    loss.backward()
    out["train.logits"] = logits.detach().clone()
    out["train.loss"] = loss.detach().clone()
    for k, p in model.named_parameters():
        out["grad." + k] = p.grad.detach().clone()
    out["input_grad"] = xg.grad.detach().clone()
    for k, v in model.state_dict().items():
        if k.endswith((".running_mean", ".running_var", ".num_batches_tracked")):
            out["after_fwd." + k] = v.clone()

    # three SGD steps from init on a fresh copy
    model = init_model
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WD)
    losses = []
    for _ in range(SGD_STEPS):
        loss = F.cross_entropy(model(models.normalize(x)), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.detach().clone())
    for k, v in model.state_dict().items():
        out["sgd3." + k] = v.clone()
    out["sgd3.losses"] = torch.stack(losses)
    model.eval()
    with torch.no_grad():
        out["sgd3.eval_logits"] = model(models.normalize(x)).clone()

    st.save(path, out, metadata(
        arch=arch, width=width, num_classes=10, in_channels=3,
        images="cifar10_test8.bin records 0-7, uint8/255 in float32",
        normalizer="clamp(x,0,1) then (x-mean)/std; mean=" + ",".join(f"{v:.4f}" for v in models.CIFAR_MEAN)
        + " std=" + ",".join(f"{v:.4f}" for v in models.CIFAR_STD),
        sgd=f"lr={LR} momentum={MOMENTUM} weight_decay={WD} steps={SGD_STEPS}"))
    print(f"make_parity: {path}: {len(out)} tensors, loss {out['train.loss'].item():.6f}",
          file=sys.stderr)


def toy_file(n, k, x, path):
    torch.manual_seed(SEED)
    model = models.ToyKernel(n=n, k=k)
    out = {}
    for name, v in model.state_dict().items():
        out["init." + name] = v.clone()
    xg = x.clone().requires_grad_(True)
    y = model(xg)
    loss = (y ** 2).mean()
    loss.backward()
    out["input"] = x.clone()
    out["output"] = y.detach().clone()
    out["loss"] = loss.detach().clone()
    for name, p in model.named_parameters():
        out["grad." + name] = p.grad.detach().clone()
    out["input_grad"] = xg.grad.detach().clone()
    st.save(path, out, metadata(arch="toykernel", n=n, k=k, in_channels=3,
                                images="cifar10_test8.bin records 0-1, uint8/255 in float32",
                                loss="(output**2).mean()"))
    print(f"make_parity: {path}: {len(out)} tensors, loss {loss.item():.6f}", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description="generate freqbias PyTorch parity files")
    ap.add_argument("--out-dir", default=REF)
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(torch.float32)

    x, y = load_cifar8(os.path.join(REF, "cifar10_test8.bin"))
    resnet_file("resnet18", 8, x, y, os.path.join(args.out_dir, "resnet18_w8.safetensors"))
    resnet_file("resnet50", 4, x, y, os.path.join(args.out_dir, "resnet50_w4.safetensors"))
    toy_file(4, 5, x[:2], os.path.join(args.out_dir, "toykernel_n4_k5.safetensors"))


if __name__ == "__main__":
    main()
