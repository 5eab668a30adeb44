#!/bin/sh
# gpu_check.sh — the CUDA backend on a machine with an NVIDIA GPU and
# PyTorch, in one run of a few minutes (budget: under 8):
#   1. build with CUDA=1 into build-cuda/ (make -j$(nproc));
#   2. run build-cuda/tests/test_cuda: every op, a ResNet-18 training step
#      and a gradient spectrum against cpu-ref, cuFFT against FFTW, TF32 off,
#      run-to-run bit identity (it fails if the GPU is not seen); then
#      tests/test_cuda_spectrum: the filters, HARS, the CDES loss and a CDES
#      training epoch on the GPU against the host (both with
#      FREQBIAS_CUDA_SYNC=1, so a kernel fault names its own launch);
#   3. two MPI ranks on --backend cuda, when Open MPI (mpicc, mpirun) is on
#      the machine: build CUDA + MPI into build-cuda-mpi/, train ResNet-18
#      width 8 for 2 epochs on the 512 fixture images (batch 64) on 2 ranks
#      twice and as one process. Each rank takes GPU (its rank on the
#      machine) mod (GPUs): one GPU each on a multi-GPU machine, both on
#      the one GPU otherwise. Checks: the two 2-rank runs write identical
#      checkpoints (the bits are fixed for a rank count), and the 2-rank
#      run's losses and accuracies (log.csv) are the one process's within
#      1e-3 (the GPU's sums do not follow the batch tree, so the bits may
#      differ between rank counts: cuda_backend.h). Skipped, and said so,
#      without Open MPI;
#   4. benchmark ResNet-18 width 64, batch 128 training (forward + loss +
#      backward + SGD) on our cuda backend (bench_train --backend cuda) and
#      on PyTorch eager on the same GPU (bench/torch_train.py --device cuda,
#      TF32 off in both: float32 products), ROUNDS interleaved rounds, and
#      print the median img/s of each and the ratio ours / PyTorch.
#
# usage: sh bench/gpu_check.sh          env: STEPS=20 WARMUP=3 ROUNDS=3 JOBS=$(nproc)
#                                            PYTHON=python3 DEBS=build-gpu-debs
#        sh bench/gpu_check.sh --fetch-debs
#            on a Debian/Ubuntu machine with network: download the build
#            dependencies (OpenBLAS, FFTW, cmocka, stb, zlib, libgfortran)
#            as .deb files into $DEBS (ignored by git, as build-*). A GPU
#            machine without network and without these libraries then gets
#            them by carrying that folder: this script unpacks the .debs
#            under $DEBS/root (never into /) and builds against them
#            (DEPS=debs forces that even where the system has the libraries).
set -eu
cd "$(dirname "$0")/.."
STEPS=${STEPS:-20}
WARMUP=${WARMUP:-3}
ROUNDS=${ROUNDS:-3}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 4)}
PYTHON=${PYTHON:-python3}
DEBS=${DEBS:-build-gpu-debs}
BUILD=build-cuda
PACKAGES="libopenblas-openmp-dev libopenblas0-openmp libgfortran5 libquadmath0 libfftw3-dev \
libfftw3-single3 libcmocka-dev libcmocka0 libstb-dev zlib1g-dev zlib1g"

if [ "${1:-}" = "--fetch-debs" ]; then
    mkdir -p "$DEBS"
    (cd "$DEBS" && apt-get download $PACKAGES)
    echo "gpu_check: $(ls "$DEBS"/*.deb | wc -l) packages in $DEBS; carry it to the GPU machine"
    exit 0
fi

start=$(date +%s)
say() { echo "=== gpu_check [$(($(date +%s) - start)) s] $*"; }

# GPU_CHECK_BUILD_ONLY=1 stops after the build and does not need a GPU
# (to try the build, e.g. with carried .debs, on a machine without one).
build_only=${GPU_CHECK_BUILD_ONLY:-0}
say "machine"
nvidia-smi -L || [ "$build_only" = 1 ] || { echo "gpu_check: nvidia-smi failed: no NVIDIA GPU here" >&2; exit 1; }
nvcc=${NVCC:-/usr/local/cuda/bin/nvcc}
[ -x "$nvcc" ] || nvcc=$(command -v nvcc || true)
[ -n "$nvcc" ] && [ -x "$nvcc" ] || { echo "gpu_check: nvcc not found (set NVCC=...)" >&2; exit 1; }
"$nvcc" --version | tail -2

# ---- 1. build ----------------------------------------------------------------
# The libraries from the system when pkg-config finds them, else from the
# carried .debs (unpacked locally; flags handed to make explicitly, since
# Debian's openblas.pc is an alternatives link that an unpacked tree lacks).
set -- NVCC="$nvcc" CUDA_HOME="$(dirname "$(dirname "$nvcc")")"
if [ "${DEPS:-auto}" != debs ] && pkg-config --exists openblas fftw3f cmocka 2>/dev/null &&
    [ -f /usr/include/stb/stb_image_write.h ]; then
    say "build dependencies from the system (pkg-config)"
elif ls "$DEBS"/*.deb >/dev/null 2>&1; then
    root="$PWD/$DEBS/root"
    say "build dependencies from $DEBS ($(ls "$DEBS"/*.deb | wc -l) .debs, unpacked under $root)"
    for deb in "$DEBS"/*.deb; do dpkg-deb -x "$deb" "$root"; done
    lib="$root/usr/lib/x86_64-linux-gnu"
    set -- "$@" \
        PKG_CFLAGS="-isystem $root/usr/include -isystem $root/usr/include/x86_64-linux-gnu/openblas-openmp" \
        PKG_LIBS="-L$lib/openblas-openmp -L$lib -Wl,-rpath,$lib/openblas-openmp -Wl,-rpath,$lib -lopenblas -lfftw3f" \
        CMOCKA_LIBS="-lcmocka"
    export LD_LIBRARY_PATH="$lib/openblas-openmp:$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
else
    echo "gpu_check: missing build dependencies (OpenBLAS, FFTW, cmocka, stb headers) and no $DEBS/*.deb;" >&2
    echo "  install: apt-get install libopenblas-openmp-dev libfftw3-dev libcmocka-dev libstb-dev pkg-config zlib1g-dev" >&2
    echo "  or, on a networked Debian/Ubuntu machine: sh bench/gpu_check.sh --fetch-debs, then carry $DEBS" >&2
    exit 1
fi
say "make CUDA=1 BUILD=$BUILD -j$JOBS (log: $BUILD/make.log)"
mkdir -p $BUILD
make --no-print-directory -j"$JOBS" CUDA=1 BUILD=$BUILD "$@" all $BUILD/tests/test_cuda \
    $BUILD/tests/test_cuda_spectrum \
    $BUILD/bench/bench_train >$BUILD/make.log 2>&1 || { tail -40 $BUILD/make.log; exit 1; }
./$BUILD/freqbias info | grep -E "^(freqbias|profile|backends|blas kernel|cuda) "
[ "$build_only" = 1 ] && { say "built (GPU_CHECK_BUILD_ONLY=1: stopping here)"; exit 0; }
if ./$BUILD/freqbias info | grep -q "^cuda  *no CUDA device"; then
    echo "gpu_check: the build does not see the GPU (line above)" >&2
    exit 1
fi

# ---- 2. tests ------------------------------------------------------------------
tests=passed
for program in test_cuda test_cuda_spectrum; do
    say "tests/$program"
    # FREQBIAS_CUDA_SYNC=1: a fault inside a kernel is reported at its own launch
    if FREQBIAS_CUDA_SYNC=1 ./$BUILD/tests/$program >$BUILD/$program.log 2>&1; then result=passed; else result=FAILED; tests=FAILED; fi
    grep -E "^\[ *(RUN|OK|SKIP|SKIPPED|FAILED|PASSED|ERROR) *\]|FAIL|^cuda:" $BUILD/$program.log || true
    say "$program $result (every comparison line: $BUILD/$program.log)"
done

# ---- 3. two ranks ----------------------------------------------------------------
mpi_check=skipped
if command -v mpicc >/dev/null 2>&1 && command -v mpirun >/dev/null 2>&1; then
    say "two MPI ranks on --backend cuda: make MPI=1 CUDA=1 BUILD=build-cuda-mpi (log: build-cuda-mpi/make.log)"
    mkdir -p build-cuda-mpi
    if make --no-print-directory -j"$JOBS" MPI=1 CUDA=1 BUILD=build-cuda-mpi "$@" build-cuda-mpi/freqbias \
            >build-cuda-mpi/make.log 2>&1; then
        mpi_check=passed
        work=build-cuda-mpi/two-ranks
        rm -rf "$work" && mkdir -p "$work"
        launcher="mpirun --oversubscribe --bind-to none"
        [ "$(id -u)" -eq 0 ] && launcher="$launcher --allow-run-as-root"
        fixture=ref_data/cifar10_test512.bin
        train() { # OUT, then the launcher words (none for one process)
            out=$1
            shift
            timeout 300 "$@" ./build-cuda-mpi/freqbias train --backend cuda --train-data $fixture \
                --test-data $fixture --width 8 --epochs 2 --batch 64 --out "$out" >"$out.log" 2>&1 ||
                { tail -20 "$out.log"; echo "gpu_check: train into $out failed"; mpi_check=FAILED; }
        }
        train $work/np2a $launcher -np 2
        train $work/np2b $launcher -np 2
        train $work/one
        if cmp -s $work/np2a/last.safetensors $work/np2b/last.safetensors; then
            echo "[2 ranks, run twice] last.safetensors identical"
        else
            echo "[2 ranks, run twice] last.safetensors DIFFER"
            mpi_check=FAILED
        fi
        # columns 3-6 of log.csv: train loss and top-1, test loss and top-1
        worst=$(paste -d, $work/np2a/log.csv $work/one/log.csv | awk -F, 'NR > 1 {
                for (i = 3; i <= 6; i++) { d = $i - $(i + 8); if (d < 0) d = -d; if (d > w) w = d } }
            END { printf "%.3g", w + 0 }')
        if awk -v w="$worst" 'BEGIN { exit !(w <= 1e-3) }'; then
            echo "[2 ranks vs one process] losses and top-1 within 1e-3 (largest difference $worst)"
        else
            echo "[2 ranks vs one process] largest difference of losses / top-1 $worst > 1e-3"
            mpi_check=FAILED
        fi
    else
        tail -40 build-cuda-mpi/make.log
        mpi_check=FAILED
    fi
    [ "$mpi_check" = passed ] || tests=FAILED
    say "two ranks $mpi_check"
else
    say "two ranks: skipped (no mpicc/mpirun here; apt-get install openmpi-bin libopenmpi-dev)"
fi

# ---- 4. benchmark ----------------------------------------------------------------
field() { sed -n 's/.*img_per_s=\([0-9.]*\).*/\1/p'; }
median() { sort -g | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
have_torch=1
$PYTHON -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null || {
    have_torch=0
    echo "gpu_check: $PYTHON has no PyTorch with CUDA: benchmarking freqbias alone" >&2
}
say "ResNet-18 width 64, batch 128, train: $STEPS timed steps after $WARMUP warm-up, $ROUNDS interleaved rounds"
ours=""; theirs=""
for round in $(seq "$ROUNDS"); do
    line=$(./$BUILD/bench/bench_train --backend cuda --width 64 --batch 128 --steps "$STEPS" \
        --warmup "$WARMUP")
    echo "  $line"
    ours="$ours $(echo "$line" | field)"
    if [ $have_torch = 1 ]; then
        line=$($PYTHON bench/torch_train.py --device cuda --width 64 --batch 128 --steps "$STEPS" \
            --warmup "$WARMUP")
        echo "  $line"
        theirs="$theirs $(echo "$line" | field)"
    fi
done
ours=$(echo $ours | tr ' ' '\n' | median)
if [ $have_torch = 1 ]; then
    theirs=$(echo $theirs | tr ' ' '\n' | median)
    ratio=$(awk -v a="$ours" -v b="$theirs" 'BEGIN {printf "%.2f", a / b}')
else
    theirs="-"; ratio="-"
fi
echo
echo "| ResNet-18 w64 b128 train | freqbias cuda img/s | PyTorch eager cuda img/s | ratio (goal >= 0.7) |"
echo "|---|---|---|---|"
echo "| $(nvidia-smi --query-gpu=name --format=csv,noheader | head -1) | $ours | $theirs | $ratio |"
say "done; tests $tests, two ranks $mpi_check"
[ "$tests" = passed ]
