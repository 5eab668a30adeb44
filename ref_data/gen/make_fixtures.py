#!/usr/bin/python3
"""Cut the committed real-data fixtures out of the full datasets.

  cifar10_test512.bin                    the first 512 records of the official CIFAR-10
                                         test_batch.bin (its MD5 803d5f7f... is checked)
  mnist_t10k_100/t10k-images-idx3-ubyte.gz   the first 100 MNIST test images (IDX, gzip)
  mnist_t10k_100/t10k-labels-idx1-ubyte      and their labels (IDX, plain)

Inputs: data/ as made by `sh scripts/fetch-data.sh cifar10` and `... mnist`.
usage: /usr/bin/python3 ref_data/gen/make_fixtures.py [DATA_DIR]
"""
import gzip
import hashlib
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REF = os.path.dirname(HERE)
CIFAR_TEST_MD5 = "803d5f7f4d78ea53de84dbe85f74fb6d"


def main():
    data = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REF, "..", "data")
    test_batch = open(os.path.join(data, "cifar-10-batches-bin", "test_batch.bin"), "rb").read()
    if hashlib.md5(test_batch).hexdigest() != CIFAR_TEST_MD5:
        sys.exit("make_fixtures: test_batch.bin does not have the official MD5")
    with open(os.path.join(REF, "cifar10_test512.bin"), "wb") as f:
        f.write(test_batch[:512 * 3073])

    images = open(os.path.join(data, "mnist", "t10k-images-idx3-ubyte"), "rb").read()
    labels = open(os.path.join(data, "mnist", "t10k-labels-idx1-ubyte"), "rb").read()
    if struct.unpack(">IIII", images[:16]) != (0x803, 10000, 28, 28) or \
            struct.unpack(">II", labels[:8]) != (0x801, 10000):
        sys.exit("make_fixtures: unexpected MNIST headers")
    out = os.path.join(REF, "mnist_t10k_100")
    os.makedirs(out, exist_ok=True)
    image_bytes = struct.pack(">IIII", 0x803, 100, 28, 28) + images[16:16 + 100 * 784]
    # mtime=0 keeps the .gz bytes reproducible
    with open(os.path.join(out, "t10k-images-idx3-ubyte.gz"), "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as f:
            f.write(image_bytes)
    with open(os.path.join(out, "t10k-labels-idx1-ubyte"), "wb") as f:
        f.write(struct.pack(">II", 0x801, 100) + labels[8:8 + 100])


if __name__ == "__main__":
    main()
