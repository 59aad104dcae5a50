"""``import mlrag`` must stay cheap and free of heavy imports (checked in a fresh interpreter)."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ["torch", "transformers", "sentence_transformers", "faiss", "chromadb", "llama_index", "openai", "llama_cpp"]


def test_import_pulls_no_heavy_module() -> None:
    code = (
        "import sys, time; t = time.perf_counter(); import mlrag; dt = time.perf_counter() - t; "
        f"print([m for m in {HEAVY!r} if m in sys.modules]); print(dt)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == "[]", out
    assert float(out[1]) < 0.3


def test_public_names_resolve() -> None:
    import importlib

    import mlrag

    for name in ("Chunk", "Hit", "Generation", "chunk_repo", "build_index", "retrieve", "generate", "MlragError"):
        assert getattr(mlrag, name) is getattr(importlib.import_module(mlrag._EXPORTS[name]), name)
    with pytest.raises(AttributeError):
        mlrag.no_such_name  # noqa: B018
