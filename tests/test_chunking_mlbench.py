"""Invariants on real documentation: the ML-Bench repositories' docs in ../shared (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlrag.chunking import TokenCounter, chunk_files
from mlrag.chunking.invariants import check_invariants
from mlrag.config import ChunkingConfig

REPOS = ("dmlc__dgl", "eriklindernoren__PyTorch-GAN", "salesforce__LAVIS")


def read_docs(repo: Path, limit: int = 400) -> dict[str, str]:
    out: dict[str, str] = {}
    for p in sorted(repo.rglob("*")):
        if p.is_file() and p.name != "FILES.txt" and p.suffix in (".md", ".rst", "") and len(out) < limit:
            try:
                out[p.relative_to(repo).as_posix()] = p.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue
    return out


@pytest.mark.parametrize("repo", REPOS)
def test_invariants_on_real_docs(mlbench_dir: Path, repo: str) -> None:
    files = read_docs(mlbench_dir / "repos" / repo)
    try:
        count = TokenCounter.minilm()
    except Exception:  # noqa: BLE001 - fall back to the estimate without the packaged model
        count = TokenCounter()
    cfg = ChunkingConfig()
    cs = chunk_files(files.items(), cfg, count)
    assert cs.units
    assert check_invariants(files, cs, cfg, count) == []


def test_arma_readme_commands_stay_with_their_sentence(mlbench_dir: Path) -> None:
    path = "examples/pytorch/arma/README.md"
    text = (mlbench_dir / "repos" / "dmlc__dgl" / path).read_text(encoding="utf-8")
    cs = chunk_files([(path, text)], ChunkingConfig(), TokenCounter())
    (unit,) = [u for u in cs.units if "--num-stacks 3" in u.text]
    assert "Train an ARMA model" in unit.text and "--dataset Pubmed" in unit.text
    assert unit.title.endswith("Examples")
