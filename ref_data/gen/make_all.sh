#!/bin/sh
# Rebuild everything in ref_data/: fetch the 8 CIFAR-10 test images, generate
# the parity files, rewrite MANIFEST. Run from anywhere:
#   sh ref_data/gen/make_all.sh
# Needs: npm (registry access), Debian's /usr/bin/python3 with torch + numpy + PIL.
set -eu
GEN=$(cd "$(dirname "$0")" && pwd)
REF=$(dirname "$GEN")
PY=${PYTHON:-/usr/bin/python3}

"$PY" "$GEN/fetch_cifar8.py"
"$PY" "$GEN/make_parity.py"
cd "$REF"
sha256sum cifar10_test8.bin resnet18_w8.safetensors resnet50_w4.safetensors \
    toykernel_n4_k5.safetensors > MANIFEST
sha256sum -c MANIFEST
