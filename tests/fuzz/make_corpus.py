#!/usr/bin/env python3
"""make_corpus.py — writes the seed corpora tests/fuzz/corpus/<name>/ (the
provenance of every committed corpus file; standard library only).

    python3 tests/fuzz/make_corpus.py        # rewrites the generated files

Each target gets small valid files and broken ones, including the
structure-aware hostile cases of issue 15 (metadata claiming 20,000,000
classes or width 300, toy filter counts near INT_MAX, a safetensors of
2,000 'layer1.K.conv1.weight' entries without metadata, a 130-byte IDX
claiming petabytes, a CSV of 20,000 commas then 20,000 newlines). Files
whose name starts with 'crash-' are regression inputs found by `make fuzz`
and are not generated here. The large hostile cases (a 99 MB header, 20,000
tensors) are generated at test time by tests/test_limits.c instead.
"""
import gzip
import json
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    folder = os.path.join(ROOT, target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def split(first, second):
    """The two-file layout of fuzz_split: u32 LE length of the first part."""
    return struct.pack("<I", len(first)) + first + second


# ---- safetensors ---------------------------------------------------------------------

DTYPE_SIZE = {"F32": 4, "I64": 8, "U8": 1}


def safetensors(tensors, metadata=None, pad=True):
    """tensors: list of (name, dtype, shape) — data are zeros."""
    header, offset, body = {}, 0, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape in tensors:
        n = DTYPE_SIZE[dtype]
        for d in shape:
            n *= d
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
        body += bytes(n)
    text = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + body


def bn(prefix, c):
    return [(prefix + ".weight", "F32", [c]), (prefix + ".bias", "F32", [c]),
            (prefix + ".running_mean", "F32", [c]), (prefix + ".running_var", "F32", [c]),
            (prefix + ".num_batches_tracked", "I64", [])]


def resnet18(width, classes, channels=3):
    t = [("conv1.weight", "F32", [width, channels, 3, 3])] + bn("bn1", width)
    in_planes = width
    for layer in range(4):
        planes = width << layer
        for block in range(2):
            p = "layer%d.%d" % (layer + 1, block)
            t += [(p + ".conv1.weight", "F32", [planes, in_planes, 3, 3])] + bn(p + ".bn1", planes)
            t += [(p + ".conv2.weight", "F32", [planes, planes, 3, 3])] + bn(p + ".bn2", planes)
            if layer > 0 and block == 0:
                t += [(p + ".shortcut.0.weight", "F32", [planes, in_planes, 1, 1])]
                t += bn(p + ".shortcut.1", planes)
            in_planes = planes
    return t + [("linear.weight", "F32", [classes, 8 * width]), ("linear.bias", "F32", [classes])]


def toy(filters, kernel, channels=3):
    return [("conv1.weight", "F32", [filters, channels, kernel, kernel]), ("conv1.bias", "F32", [filters]),
            ("conv2.weight", "F32", [channels, filters, kernel, kernel]), ("conv2.bias", "F32", [channels])]


def meta(arch, width, classes, **extra):
    m = {"arch": arch, "width": str(width), "num_classes": str(classes), "in_channels": "3",
         "image_size": "32", "epoch": "0", "seed": "1", "data_sha256": ""}
    m.update({k: str(v) for k, v in extra.items()})
    return m


def corpus_safetensors():
    t = "safetensors"
    put(t, "valid_two_tensors", safetensors([("a", "F32", [2, 3]), ("b", "I64", [])], {"format": "pt"}))
    put(t, "valid_empty", safetensors([]))
    put(t, "valid_zero_dim", safetensors([("z", "U8", [0, 5])]))
    good = safetensors([("a", "F32", [2])])
    put(t, "truncated", good[:-3])
    put(t, "short_length", good[:5])
    put(t, "length_2_63", struct.pack("<Q", 1 << 63) + good[8:])
    put(t, "length_past_end", struct.pack("<Q", len(good)) + good[8:])
    put(t, "not_json", struct.pack("<Q", 8) + b"{nope}  ")
    hdr = b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}'
    put(t, "overlap", struct.pack("<Q", len(hdr)) + hdr + bytes(6))
    hdr = b'{"a":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,4]}}'
    put(t, "shape_overflow", struct.pack("<Q", len(hdr)) + hdr + bytes(4))
    hdr = b'{"a":{"dtype":"F32","shape":[' + b"0," * 4000 + b'0],"data_offsets":[0,0]}}'
    put(t, "value_flood_in_shape", struct.pack("<Q", len(hdr)) + hdr)
    hdr = b'{"a":' + b"[" * 200 + b"]" * 200 + b"}"
    put(t, "deep_nesting", struct.pack("<Q", len(hdr)) + hdr)
    hdr = b'{"__metadata__":{"x":1}}'
    put(t, "metadata_not_string", struct.pack("<Q", len(hdr)) + hdr)


def corpus_checkpoint():
    t = "checkpoint"
    put(t, "resnet18_w1_meta", safetensors(resnet18(1, 10), meta("resnet18", 1, 10)))
    put(t, "resnet18_w1_nometa", safetensors(resnet18(1, 10)))
    put(t, "resnet18_w1_robustness_prefix",
        safetensors([("module.model." + n, d, s) for n, d, s in resnet18(1, 3)] +
                    [("module.normalizer.new_mean", "F32", [3])]))
    put(t, "toy_meta", safetensors(toy(2, 3), meta("toykernel", 2, 0)))
    put(t, "toy_nometa", safetensors(toy(2, 3)))
    # issue 15: metadata that used to build huge models before any check
    for name, width, classes in [("meta_classes_20000000", 1, 20000000), ("meta_classes_1e9", 1, "1e9"),
                                 ("meta_classes_1000000000", 1, 1000000000), ("meta_width_300", 300, 10),
                                 ("meta_width_1e5", 100000, 10), ("meta_width_intmax", 2147483647, 10),
                                 ("meta_width_negative", -5, 10), ("meta_width_junk", "4x", 10),
                                 ("meta_classes_99999_mismatch", 1, 99999)]:
        put(t, name, safetensors(resnet18(1, 10), meta("resnet18", width, classes)))
    put(t, "meta_image_size_huge", safetensors(resnet18(1, 10), meta("resnet18", 1, 10, image_size=2147483647)))
    put(t, "toy_filters_intmax", safetensors(toy(2, 3), meta("toykernel", 2147483647, 0)))
    put(t, "toy_filters_mismatch", safetensors(toy(2, 3), meta("toykernel", 3, 0)))
    put(t, "toy_kernel_even", safetensors(toy(2, 4), meta("toykernel", 2, 0)))
    big = [("conv1.weight", "F32", [2147483647 // 27 + 1, 0, 3, 3]), ("conv1.bias", "F32", [0]),
           ("conv2.weight", "F32", [3, 0, 3, 3]), ("conv2.bias", "F32", [3])]
    put(t, "toy_nometa_filters_huge", safetensors(big))
    wide = [("conv1.weight", "F32", [2147483647, 3, 3, 0])] + resnet18(1, 10)[1:]
    put(t, "nometa_width_intmax", safetensors(wide))
    # 2,000 'layer1.K.conv1.weight' entries without metadata (quadratic inference before)
    many = [("conv1.weight", "F32", [1, 3, 3, 3])] + \
           [("layer1.%d.conv1.weight" % k, "F32", [0]) for k in range(2000)]
    put(t, "nometa_2000_layer1_blocks", safetensors(many))
    put(t, "resnet50_claim_tiny", safetensors(resnet18(1, 10), meta("resnet50", 1, 10)))


# ---- npy -------------------------------------------------------------------------------

def npy(descr, shape, data, fortran=False, version=1):
    d = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
        descr, "True" if fortran else "False", "(" + "".join("%d, " % s for s in shape).rstrip(" ")[:-1] + ("," if len(shape) == 1 else "") + ")")
    pre = 10 if version == 1 else 12
    h = d + " " * (-(pre + len(d) + 1) % 64) + "\n"
    head = b"\x93NUMPY" + bytes([version, 0]) + (struct.pack("<H", len(h)) if version == 1 else struct.pack("<I", len(h)))
    return head + h.encode() + data


def corpus_npy():
    t = "npy"
    put(t, "f4_2x3", npy("<f4", (2, 3), bytes(24)))
    put(t, "u1_4", npy("|u1", (4,), bytes(4)))
    put(t, "i8_scalar", npy("<i8", (), bytes(8)))
    put(t, "f8_v2", npy("<f8", (1, 1), bytes(8), version=2))
    put(t, "fortran", npy("<f4", (2, 2), bytes(16), fortran=True))
    put(t, "big_endian", npy(">f4", (2,), bytes(8)))
    put(t, "shape_2_40", npy("|u1", (1 << 20, 1 << 20), bytes(16)))
    put(t, "shape_2_62", npy("<f4", (1 << 31, 1 << 31), bytes(16)))
    put(t, "truncated", npy("<f4", (8,), bytes(20)))
    put(t, "bad_magic", b"\x93NUMPZ\x01\x00" + npy("<f4", (1,), bytes(4))[8:])
    put(t, "header_len_huge", b"\x93NUMPY\x02\x00\xff\xff\xff\x7f{'descr'")


# ---- datasets --------------------------------------------------------------------------

def corpus_cifar():
    t = "cifar"
    rec = lambda label: bytes([label]) + bytes(range(256)) * 12
    put(t, "cifar10_2_records", b"\x00" + rec(3) + rec(9))
    put(t, "cifar10_label_10", b"\x00" + rec(10))
    put(t, "cifar10_partial_record", b"\x00" + rec(1)[:3000])
    put(t, "cifar10_empty", b"\x00")
    put(t, "cifar100_small_test", b"\x01" + bytes([1, 5]) + bytes(3072))
    put(t, "cifar100_coarse", b"\x03" + bytes([19, 99]) + bytes(3072))


def idx(magic_type, dims, payload):
    return bytes([0, 0, magic_type, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload


def corpus_idx():
    t = "idx"
    images = idx(8, [2, 28, 28], bytes(range(256)) * 6 + bytes(32))
    labels = idx(8, [2], bytes([7, 2]))
    put(t, "valid_plain", split(images, labels))
    put(t, "valid_gzip", split(gzip.compress(images, mtime=0), gzip.compress(labels, mtime=0)))
    put(t, "gzip_images_plain_labels", split(gzip.compress(images, mtime=0), labels))
    put(t, "label_10", split(images, idx(8, [2], bytes([7, 10]))))
    put(t, "count_mismatch", split(images, idx(8, [3], bytes(3))))
    put(t, "truncated_pixels", split(images[:-10], labels))
    put(t, "trailing_byte", split(images + b"\x00", labels))
    put(t, "int16_type", split(idx(0x0B, [2, 28, 28], bytes(3136)), labels))
    # issue 15: 130 bytes claiming 100,000,000 images of 4096×4096 (1.6 PB)
    petabyte = idx(8, [100000000, 4096, 4096], bytes(130 - 16))
    put(t, "petabyte_claim_130_bytes", split(petabyte, idx(8, [100000000], bytes(10))))
    put(t, "petabyte_claim_gzip", split(gzip.compress(petabyte, mtime=0),
                                        gzip.compress(idx(8, [100000000], bytes(10)), mtime=0)))
    put(t, "corrupt_gzip", split(gzip.compress(images, mtime=0)[:40] + b"garbage" * 4, labels))


def corpus_npy_dataset():
    t = "npy_dataset"
    images = npy("|u1", (2, 4, 4, 3), bytes(range(96)))
    labels = npy("<i8", (2,), struct.pack("<qq", 1, 0))
    put(t, "valid_nhwc", split(images, labels))
    put(t, "valid_grey_nhw", split(npy("|u1", (2, 4, 4), bytes(32)), npy("|u1", (2,), bytes([0, 1]))))
    put(t, "nchw_refused", split(npy("|u1", (2, 3, 4, 40), bytes(960)), labels))
    put(t, "label_count_mismatch", split(images, npy("<i8", (3,), bytes(24))))
    put(t, "negative_label", split(images, npy("<i8", (2,), struct.pack("<qq", -1, 0))))
    put(t, "float_images", split(npy("<f4", (2, 4, 4, 3), bytes(384)), labels))
    put(t, "huge_label", split(images, npy("<i8", (2,), struct.pack("<qq", 1 << 62, 0))))


# ---- text ------------------------------------------------------------------------------

def corpus_json():
    t = "json"
    put(t, "object", '{"a": [1, 2.5, -3e10, true, false, null], "b": {"c": "d\\u00e9\\ud83d\\ude00"}}')
    put(t, "string_escapes", '"\\"\\\\\\/\\b\\f\\n\\r\\t"')
    put(t, "int64_edges", '[9223372036854775807, -9223372036854775808, 9223372036854775808, 1e400]')
    put(t, "deep_64", "[" * 64 + "]" * 64)
    put(t, "deep_65", "[" * 65 + "]" * 65)
    put(t, "lone_surrogate", '"\\ud800"')
    put(t, "nul_escape", '"a\\u0000b"')
    put(t, "bad_utf8", b'"\xc0\xaf"')
    put(t, "trailing_comma", "[1,2,]")
    put(t, "duplicate_keys", '{"a":1,"a":2}')
    put(t, "value_flood", "[" + "0," * 5000 + "0]")


def corpus_csv():
    t = "csv"
    put(t, "sweep", "freq,r,top1,top5\nclean,,0.9,0.99\nlow,4,0.5,0.8\nhigh,4,0.1,0.3\n")
    put(t, "quoted", 'name,"a, b","say ""hi"""\n"x\ny",2,3\n')
    put(t, "crlf_short_rows", "a,b,c\r\n1\r\n2,3\r\n4,5,6,7\r\n")
    put(t, "no_final_newline", "a,b\n1,2")
    put(t, "header_only", "a,b,c\n")
    put(t, "empty", "")
    put(t, "unterminated_quote", 'a,b\n"1,2\n3,4\n')
    # issue 15: 20,000 commas then 20,000 newlines (used to ask for a 3.2 GB table)
    put(t, "commas_20000_newlines_20000", "," * 20000 + "\n" * 20000)
    put(t, "commas_1000_newlines_39000", "," * 1000 + "\n" * 39000)


def corpus_stage_record():
    t = "stage_record"
    base = {"stage": "fuzz", "command": ["train"], "inputs": [], "outputs": [], "status": "done",
            "exit_status": 0, "wall_seconds": 1.5, "threads": 0, "resumed": False,
            "freqbias_sha256": ""}
    put(t, "done_same_command", json.dumps(base))
    put(t, "running", json.dumps(dict(base, status="running")))
    put(t, "other_command", json.dumps(dict(base, command=["test", "--freq", "low"])))
    put(t, "inputs_mismatch", json.dumps(dict(base, inputs=[{"path": "x", "sha256": "0" * 64}])))
    put(t, "wrong_types", json.dumps(dict(base, command="train", inputs={"a": 1}, wall_seconds="x")))
    put(t, "not_json", "status: done")
    put(t, "value_flood", '{"command":["train"],"status":"done","x":[' + "0," * 5000 + "0]}")


if __name__ == "__main__":
    for make in (corpus_safetensors, corpus_checkpoint, corpus_npy, corpus_cifar, corpus_idx,
                 corpus_npy_dataset, corpus_json, corpus_csv, corpus_stage_record):
        make()
    for target in sorted(os.listdir(ROOT)):
        files = os.listdir(os.path.join(ROOT, target))
        size = sum(os.path.getsize(os.path.join(ROOT, target, f)) for f in files)
        print("%-14s %3d files %8d bytes" % (target, len(files), size))
