"""Shared fixtures: the example repository, the shared ML-Bench folder (skipped when absent), an index dir."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "graphlab"
SHARED = ROOT.parent / "shared"


@pytest.fixture
def example_repo() -> Path:
    return EXAMPLE


@pytest.fixture
def mlbench_dir() -> Path:
    path = SHARED / "mlbench"
    if not (path / "dev.jsonl").is_file():
        pytest.skip("../shared/mlbench is not present")
    return path


@pytest.fixture(autouse=True)
def _index_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test writes indexes to a temporary folder, never to the repository's indexes/."""
    path = tmp_path_factory.mktemp("indexes")
    monkeypatch.setenv("MLRAG_INDEX_DIR", str(path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    return path
