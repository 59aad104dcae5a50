# One-command set-up: every target creates .venv and installs what it needs from this repository's own files.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint bench clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# the CPU build of torch first: an unpinned torch would pull a multi-GB CUDA build
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## The main job: a real generation on the example repository with the embedded defaults (offline).
demo: $(STAMP)
	$(BIN)/mlrag generate "Train an ARMA model on the Citeseer dataset with 5 stacks and a learning rate of 0.005" \
		--repo examples/graphlab

## Every test, offline, no GPU (real MiniLM, SmolLM2, faiss and a local llama.cpp server included).
test: $(STAMP)
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/python -m pytest -q

test-fast: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check src tests scripts benchmarks
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_chunking.py
	$(BIN)/python benchmarks/bench_retrieval.py
	$(BIN)/python benchmarks/bench_index.py
	$(BIN)/python benchmarks/bench_generation.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache
