"""PyTorch `torch.save` checkpoints for tests/test_pt.c, each with a safetensors twin.

Written by PyTorch's own torch.save (zip format), so the C reader is tested on
what users actually have:

  pt_r18w4_robustness.pt   the seed trainer's layout (MadryLab robustness):
                           {'model': {'module.model.*', 'module.attacker.model.*'
                           (the same storages), 'module.normalizer.new_mean/std'},
                           'optimizer': SGD state_dict (momentum buffers, param
                           groups), 'schedule': StepLR state_dict, 'epoch': 7}
                           of a ResNet-18, width 4, random BN statistics
  pt_r18w4.safetensors     its twin: the same tensors under plain names
                           (no metadata: the reader must infer the config)
  pt_toy_plain.pt          a ToyKernel(n=4, k=5) state_dict, saved as it is
  pt_toy_wrapped.pt        the same as {'state_dict': ..., 'epoch': 3}
  pt_toy_views.pt          the same values through awkward views: conv1.weight a
                           transposed (non-contiguous) tensor, conv2.weight a
                           slice at offset 100 of a bigger storage, conv1.bias
                           float64 (the reader rounds it to float32)
  pt_toy.safetensors       the twin of all three (float32, plain names)
  pt_toy_legacy.pt         pt_toy_plain's state_dict with
                           _use_new_zipfile_serialization=False (pre-1.6 format)
  pt_hostile_*.pt          zip archives shaped like torch.save files whose
                           data.pkl is hand-written and names a forbidden global
                           (os.system, builtins.eval, posix.system) in GLOBAL or
                           STACK_GLOBAL form; loading them must be refused
  pt_toy_deflated.pt       pt_toy_plain re-zipped with every entry deflated
  pt_toy_bigendian.pt      pt_toy_plain plus a "byteorder" entry saying "big" (as
                           torch >= 2.1 writes on big-endian hosts): refused
  pt_hostile_optimizer.pt  torch.save of a robustness-shaped dict whose optimizer
                           part holds a datetime.timedelta: harmless, but not on
                           the whitelist, so the whole file must be refused

Run: /usr/bin/python3 ref_data/gen/make_pt.py  (writes into ref_data/).
Deterministic: seeded init, CPU; torch.save writes no timestamps.
"""
import datetime
import os
import struct
import sys
import zipfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models  # noqa: E402
import st  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def out(name):
    return os.path.join(OUT, name)


def resnet18_w4():
    torch.manual_seed(4)
    net = models.resnet("resnet18", width=4, num_classes=10)
    g = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for name, buf in net.named_buffers():
            if name.endswith("running_mean"):
                buf.copy_(0.1 * torch.randn(buf.shape, generator=g))
            elif name.endswith("running_var"):
                buf.copy_(0.5 + torch.rand(buf.shape, generator=g))
            elif name.endswith("num_batches_tracked"):
                buf.fill_(391 * 7)
    return net


def robustness_checkpoint(net):
    """The dict robustness' train_model saves with torch.save."""
    sd = net.state_dict()
    model = {}
    for k, v in sd.items():
        model["module.model." + k] = v
    for k, v in sd.items():
        model["module.attacker.model." + k] = v
    model["module.normalizer.new_mean"] = torch.tensor([0.4914, 0.4822, 0.4465]).view(3, 1, 1)
    model["module.normalizer.new_std"] = torch.tensor([0.2023, 0.1994, 0.2010]).view(3, 1, 1)
    model["module.attacker.normalize.new_mean"] = model["module.normalizer.new_mean"]
    model["module.attacker.normalize.new_std"] = model["module.normalizer.new_std"]
    # a real optimizer state, kept small: one step that only trains the head
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    schedule = torch.optim.lr_scheduler.StepLR(opt, step_size=50, gamma=0.1)
    features = torch.randn(2, net.linear.in_features, generator=torch.Generator().manual_seed(6))
    net.linear(features).sum().backward()
    opt.step()
    schedule.step()
    return {"model": model, "optimizer": opt.state_dict(), "schedule": schedule.state_dict(), "epoch": 7}


def toy_state():
    torch.manual_seed(7)
    return models.ToyKernel(4, 5).state_dict()


def toy_views(sd):
    """The same values as sd, stored through views torch keeps as views."""
    w1 = sd["conv1.weight"]                          # [4, 3, 5, 5]
    base = w1.transpose(0, 1).contiguous()           # [3, 4, 5, 5]
    w1_view = base.transpose(0, 1)                   # non-contiguous, strides (25, 100, 5, 1)
    w2 = sd["conv2.weight"]                          # [3, 4, 5, 5]
    big = torch.arange(1000, dtype=torch.float32) * 0.5
    big[100:100 + w2.numel()] = w2.reshape(-1)
    w2_view = big[100:100 + w2.numel()].view(w2.shape)   # storage offset 100
    assert not w1_view.is_contiguous() and w2_view.storage_offset() == 100
    return {"conv1.weight": w1_view, "conv1.bias": sd["conv1.bias"].double(),
            "conv2.weight": w2_view, "conv2.bias": sd["conv2.bias"]}


def hostile_zip(path, pickle_bytes):
    """A zip laid out like torch.save's, around a hand-written pickle."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for name, data in (("archive/data.pkl", pickle_bytes), ("archive/version", b"3\n")):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            z.writestr(info, data)


def short_unicode(s):
    b = s.encode()
    return b"\x8c" + bytes([len(b)]) + b


HOSTILE = {
    # cos\nsystem\n (X'echo pwned' tuple1) REDUCE STOP — what pickle.dumps of a
    # __reduce__ returning (os.system, ('echo pwned',)) produces
    "pt_hostile_os_system.pt":
        b"\x80\x02cos\nsystem\nX\x0a\x00\x00\x00echo pwned\x85R.",
    "pt_hostile_eval.pt":
        b"\x80\x02cbuiltins\neval\nX\x0b\x00\x00\x00print('x')\n\x85R.",
    # protocol-4 spelling: module and name as strings, then STACK_GLOBAL,
    # hidden inside an otherwise normal-looking dict entry
    "pt_hostile_stack_global.pt":
        b"\x80\x04}(" + short_unicode("model") + short_unicode("posix") + short_unicode("system")
        + b"\x93" + short_unicode("id") + b"\x85Ru.",
}


def main():
    net = resnet18_w4()
    ckpt = robustness_checkpoint(net)
    torch.save(ckpt, out("pt_r18w4_robustness.pt"))
    plain = {k[len("module.model."):]: v for k, v in ckpt["model"].items() if k.startswith("module.model.")}
    st.save(out("pt_r18w4.safetensors"), plain)

    sd = toy_state()
    torch.save(sd, out("pt_toy_plain.pt"))
    torch.save({"state_dict": sd, "epoch": 3}, out("pt_toy_wrapped.pt"))
    torch.save(toy_views(sd), out("pt_toy_views.pt"))
    torch.save(sd, out("pt_toy_legacy.pt"), _use_new_zipfile_serialization=False)
    st.save(out("pt_toy.safetensors"), dict(sd))

    with zipfile.ZipFile(out("pt_toy_plain.pt")) as src, \
            zipfile.ZipFile(out("pt_toy_deflated.pt"), "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fresh = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fresh.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fresh, src.read(info.filename))

    with zipfile.ZipFile(out("pt_toy_plain.pt")) as src, \
            zipfile.ZipFile(out("pt_toy_bigendian.pt"), "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            dst.writestr(zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0)), src.read(info.filename))
        dst.writestr(zipfile.ZipInfo("pt_toy_plain/byteorder", date_time=(1980, 1, 1, 0, 0, 0)), b"big")

    groups = [{"lr": 0.1, "momentum": 0.9, "params": [0, 1, 2, 3], "timeout": datetime.timedelta(seconds=1)}]
    torch.save({"model": sd, "optimizer": {"state": {}, "param_groups": groups}, "epoch": 1},
               out("pt_hostile_optimizer.pt"))

    for name, pickle_bytes in HOSTILE.items():
        hostile_zip(out(name), pickle_bytes)

    # self-checks: torch reads back what it wrote, views survived as views
    back = torch.load(out("pt_toy_views.pt"))
    assert not back["conv1.weight"].is_contiguous()
    assert back["conv2.weight"].storage_offset() == 100
    assert back["conv1.bias"].dtype == torch.float64
    for k in sd:
        assert torch.equal(back[k].float(), sd[k]), k
    print("torch", torch.__version__, "wrote", ", ".join(sorted(HOSTILE) + ["pt_*.pt", "pt_*.safetensors"]))


if __name__ == "__main__":
    main()
