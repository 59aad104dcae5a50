"""Shared fixtures: the example repository, the shared ML-Bench folder (skipped when absent), an index dir."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


@pytest.fixture(scope="module")
def ray_runtime(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A real local Ray runtime (2 CPUs, no dashboard, usage stats off) for one test module.

    The module is pickled by value, so hooks defined in a test (e.g. an injected failure) run in the workers.
    """
    ray = pytest.importorskip("ray")
    old = os.environ.get("RAY_USAGE_STATS_ENABLED")
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT / "src"), "RAY_USAGE_STATS_ENABLED": "0"}})
    ray.cloudpickle.register_pickle_by_value(request.module)
    yield ray
    ray.shutdown()
    if old is None:
        os.environ.pop("RAY_USAGE_STATS_ENABLED", None)
    else:
        os.environ["RAY_USAGE_STATS_ENABLED"] = old
