# biometal-workflow: the two set-up commands.
#   make run    create .venv, install the project, run the default target on simulated data
#   make test   same set-up, then the whole test suite
# Other targets: make setup | make lint | make bench | make clean

PYTHON ?= python3
VENV   ?= .venv
CORES  ?= $(shell nproc 2>/dev/null || echo 2)
TARGET ?= all
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup run test lint bench clean

# Python writes the bytecode of what it imports, whatever the calling shell says
# (PYTHONDONTWRITEBYTECODE=1 would make every process compile every module it imports again,
# ~0.03-0.06 s each for this project alone): pip then need not compile all 17,800 modules of
# the environment up front (~85 CPU s, one core, on a 2-core Zen 3); the ~1,900 that the
# jobs import are compiled once, on first import (~7 CPU s). Measured once each in a scratch
# venv: `time pip install` with and without --no-compile (torch 35 vs 11 s, the project's
# extras 100 vs 63 s), and one `import torch, numpy, scipy, pandas, matplotlib.pyplot,
# snakemake, onnxruntime, sklearn, pysam` without bytecode (12.1 s, writing 1,915 .pyc)
# and with it (5.3 s).
export PYTHONDONTWRITEBYTECODE =

# torch is installed first and on its own with an exact pin: 2.13.0 is the CPU build the
# reference machines carry locally; letting the resolver pick a torch pulls CUDA wheels.
# `biometal warmup` then compiles the numba kernels of the timed jobs and the ahead-of-time
# build (~200 CPU s on a 2-core Zen 3; two processes, one per core: 116 s wall, one
# /usr/bin/time run on an emptied numba cache), so the
# first workflow run loads compiled code as the C++ peers it is timed against do; compileall
# writes the project's bytecode.
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) "torch==2.13.0"
	$(PIP) -e '.[workflow,test]'
	$(BIN)/biometal warmup aot cohort & pid=$$!; $(BIN)/biometal warmup quant assembly; \
		s=$$?; wait $$pid && exit $$s
	$(BIN)/python -m compileall -q biometal kernels >/dev/null
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/snakemake --cores $(CORES) $(TARGET)

# Two test processes (TEST_WORKERS): most tests are one thread of work. On the 2-core Zen 3
# reference machine, fresh clone, the tests took 15m32s this way and 23m58s in one process
# (tests/conftest.py keeps each file, and the tests that share the tiny run of `all`, in one
# process).
TEST_WORKERS ?= 2
test: setup
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder \
		--durations=20

# What CI checks besides the tests (.ci/run): Python lint and format, Snakemake's linter,
# and snakefmt on the Snakefile and rule files. Any finding fails.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check Snakefile rules/
	$(BIN)/snakemake --lint --directory "$$(mktemp -d)" -s Snakefile

bench: setup
	$(BIN)/python bench/fastq_reader.py

clean:
	rm -rf results logs benchmarks .snakemake
