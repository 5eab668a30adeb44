"""A small, readable safetensors reader/writer (no `safetensors` package needed).

File layout (see /work/shared/FORMATS.md):

    [8 bytes]  N, little-endian u64: length of the JSON header
    [N bytes]  UTF-8 JSON object, right-padded with spaces so N % 8 == 0:
                 {"__metadata__": {"k": "v", ...},          (optional, first)
                  "name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]},
                  ...}
    [rest]     the byte buffer: every tensor's raw little-endian, row-major
               bytes, in header order, back to back with no gaps.

`save` writes tensors in the dict's insertion order, so the file is a pure
function of its inputs (byte-identical on rerun). 0-rank tensors (shape [])
are allowed and hold one element.
"""
import json
import struct

import numpy as np
import torch

# safetensors dtype name <-> (torch dtype, little-endian numpy dtype)
_DTYPES = {
    "F64": (torch.float64, np.dtype("<f8")),
    "F32": (torch.float32, np.dtype("<f4")),
    "I64": (torch.int64, np.dtype("<i8")),
    "I32": (torch.int32, np.dtype("<i4")),
    "U8": (torch.uint8, np.dtype("u1")),
}
_FROM_TORCH = {t: name for name, (t, _) in _DTYPES.items()}

MAX_HEADER = 100_000_000  # the reference reader's cap


def save(path, tensors, metadata=None):
    """Write `tensors` (name -> torch.Tensor) to `path` in insertion order."""
    header = {}
    if metadata is not None:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise TypeError("safetensors metadata must map str -> str")
        header["__metadata__"] = dict(metadata)
    blobs = []
    offset = 0
    for name, t in tensors.items():
        if name == "__metadata__":
            raise ValueError("'__metadata__' is reserved")
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name}: not a torch.Tensor")
        if t.dtype not in _FROM_TORCH:
            raise TypeError(f"{name}: unsupported dtype {t.dtype}")
        dtype = _FROM_TORCH[t.dtype]
        arr = t.detach().cpu().contiguous().numpy().astype(_DTYPES[dtype][1], copy=False)
        raw = arr.tobytes(order="C")
        header[name] = {"dtype": dtype, "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    js = json.dumps(header, separators=(",", ":"), ensure_ascii=True).encode("utf-8")
    js += b" " * (-len(js) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(js)))
        f.write(js)
        for raw in blobs:
            f.write(raw)


def load(path):
    """Read `path` -> (dict name -> torch.Tensor in file order, metadata dict or None).

    Validates: header length, JSON object, known dtypes, shapes, that each
    tensor's byte length matches its shape, and that the offsets tile the
    buffer exactly (no holes, no overlaps, nothing left over).
    """
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: too short for a safetensors file")
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER or 8 + n > len(data):
        raise ValueError(f"{path}: header length {n} invalid for a {len(data)}-byte file")
    text = data[8:8 + n].decode("utf-8")
    if not text.startswith("{"):
        raise ValueError(f"{path}: header does not start with '{{'")

    def no_dups(pairs):
        d = {}
        for k, v in pairs:
            if k in d:
                raise ValueError(f"{path}: duplicate key {k!r}")
            d[k] = v
        return d

    header = json.loads(text, object_pairs_hook=no_dups)
    if not isinstance(header, dict):
        raise ValueError(f"{path}: header is not a JSON object")
    metadata = header.pop("__metadata__", None)
    if metadata is not None and not (
            isinstance(metadata, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())):
        raise ValueError(f"{path}: __metadata__ must be a str -> str map")

    buf = data[8 + n:]
    # check the tiling in offset order (header order need not be offset order)
    spans = []
    out = {}
    for name, info in header.items():
        try:
            dtype, shape, (begin, end) = info["dtype"], info["shape"], info["data_offsets"]
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{path}: {name}: malformed entry {info!r}")
        if dtype not in _DTYPES:
            raise ValueError(f"{path}: {name}: unsupported dtype {dtype}")
        if not all(isinstance(s, int) and s >= 0 for s in shape):
            raise ValueError(f"{path}: {name}: bad shape {shape}")
        tdtype, npdtype = _DTYPES[dtype]
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if not (isinstance(begin, int) and isinstance(end, int) and 0 <= begin <= end <= len(buf)):
            raise ValueError(f"{path}: {name}: offsets {begin},{end} outside buffer of {len(buf)}")
        if end - begin != count * npdtype.itemsize:
            raise ValueError(f"{path}: {name}: {end - begin} bytes for shape {shape} {dtype}")
        spans.append((begin, end, name))
        arr = np.frombuffer(buf, dtype=npdtype, count=count, offset=begin).reshape(shape)
        out[name] = torch.from_numpy(arr.astype(npdtype.newbyteorder("="), copy=True)).to(tdtype)
    pos = 0
    for begin, end, name in sorted(spans):
        if begin != pos:
            raise ValueError(f"{path}: {name}: hole or overlap at byte {pos} (starts at {begin})")
        pos = end
    if pos != len(buf):
        raise ValueError(f"{path}: {len(buf) - pos} bytes after the last tensor")
    return out, metadata
