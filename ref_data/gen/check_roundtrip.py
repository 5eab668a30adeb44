#!/usr/bin/python3
"""Check that a checkpoint written by freqbias (C) loads into the PyTorch model.

Usage: /usr/bin/python3 ref_data/gen/check_roundtrip.py IN.safetensors OUT.safetensors

IN must hold exactly the model's state_dict keys (plain names, no prefix) and
__metadata__ with arch, width, num_classes, in_channels. num_batches_tracked
may be I64 0-rank (PyTorch's shape) or I64 [1]; both are accepted.
The model is built with models.resnet(...), loaded with strict=True, put in
eval mode, and run on the 8 images of ref_data/cifar10_test8.bin (pixels/255,
through models.normalize). OUT gets the model's state_dict re-exported with
st.save, plus `eval_logits` F32 [8, num_classes], so the C side can compare
both the bytes it wrote and the logits it computes.

Exit status: 0 ok; 1 usage; 2 any mismatch (missing/unexpected key, dtype,
shape, metadata), each with a message naming the key.
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import models  # noqa: E402
import st  # noqa: E402
from make_parity import load_cifar8  # noqa: E402


def fail(msg):
    print("check_roundtrip: ERROR: " + msg, file=sys.stderr)
    sys.exit(2)


def meta_int(md, key):
    if key not in md:
        fail(f"__metadata__ lacks '{key}'")
    try:
        return int(md[key])
    except ValueError:
        fail(f"__metadata__ '{key}' = {md[key]!r} is not an integer")


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(1)
    src, dst = sys.argv[1], sys.argv[2]
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    try:
        tensors, md = st.load(src)
    except (OSError, ValueError, UnicodeDecodeError) as e:
        fail(f"cannot read {src}: {e}")
    if md is None:
        fail(f"{src} has no __metadata__")
    arch = md.get("arch")
    if arch not in models.ARCHS:
        fail(f"__metadata__ arch = {arch!r}, expected one of {sorted(models.ARCHS)}")
    width = meta_int(md, "width")
    num_classes = meta_int(md, "num_classes")
    in_channels = meta_int(md, "in_channels")
    if in_channels != 3:
        fail(f"in_channels = {in_channels}; the CIFAR-10 check images have 3 channels")

    torch.manual_seed(0)
    model = models.resnet(arch, width=width, num_classes=num_classes, in_channels=in_channels)
    want = model.state_dict()

    missing = [k for k in want if k not in tensors]
    extra = [k for k in tensors if k not in want]
    if missing or extra:
        fail(f"key mismatch: missing {missing[:10]}{'...' if len(missing) > 10 else ''} "
             f"({len(missing)}), unexpected {extra[:10]}{'...' if len(extra) > 10 else ''} "
             f"({len(extra)})")

    sd = {}
    for k, ref in want.items():
        t = tensors[k]
        if t.dtype != ref.dtype:
            fail(f"{k}: dtype {t.dtype}, expected {ref.dtype}")
        if k.endswith(".num_batches_tracked") and tuple(t.shape) == (1,):
            t = t.reshape(())
        if t.shape != ref.shape:
            fail(f"{k}: shape {list(t.shape)}, expected {list(ref.shape)}")
        sd[k] = t
    try:
        model.load_state_dict(sd, strict=True)
    except RuntimeError as e:
        fail(f"load_state_dict: {e}")

    x, _ = load_cifar8(os.path.join(os.path.dirname(HERE), "cifar10_test8.bin"))
    model.eval()
    with torch.no_grad():
        logits = model(models.normalize(x))
    if not torch.isfinite(logits).all():
        fail("eval logits are not all finite")

    out = {k: v.clone() for k, v in model.state_dict().items()}
    out["eval_logits"] = logits.clone()
    md_out = {"arch": arch, "width": str(width), "num_classes": str(num_classes),
              "in_channels": str(in_channels), "source": os.path.basename(src),
              "torch": torch.__version__, "generator": "ref_data/gen/check_roundtrip.py"}
    st.save(dst, out, md_out)
    print(f"check_roundtrip: OK {arch} width {width}: {len(want)} keys loaded strictly, "
          f"wrote {dst}", file=sys.stderr)


if __name__ == "__main__":
    main()
