"""Lexical first, dense where it matters: ``retrieval.dense = lazy | full | off``.

Invariants: a lazy first search builds no vectors and embeds only the rows that can reach the context; its dense
ranking equals the full index's dense ranking restricted to those rows (the reference); the embedding cache is
shared with full builds both ways; data-like units are never embedded; ``off`` never loads a model.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mlrag.config import Config
from mlrag.errors import ConfigError
from mlrag.index import Index

pytest.importorskip("faiss")
pytest.importorskip("bm25s")


def _files() -> dict[str, str]:
    files = {
        "README.md": (
            "# GraphLab\n\nGraph models.\n\n## Quick start\n\n```bash\n"
            "python examples/arma/citation.py --dataset Cora\n"
            "```\n\n## Citing\n\nPlease cite the paper.\n"
        ),
        "examples/arma/README.md": "# ARMA\n\nTrain ARMA on citation graphs: `python citation.py --num-stacks 3`.\n",
        "examples/arma/citation.py": (
            "import argparse\n\nparser = argparse.ArgumentParser()\n"
            "parser.add_argument('--dataset', default='Cora', choices=['Cora', 'Citeseer'])\n"
            "parser.add_argument('--num-stacks', type=int, default=2, help='number of ARMA stacks')\n"
            "args = parser.parse_args()\n"
        ),
        "ids.txt": "\n".join(f"n{i:08d} {i * 7 % 1000}" for i in range(40)) + "\n",
    }
    for i in range(30):  # many units no query word reaches: a lazy search must not embed them
        files[f"lib/module_{i}.py"] = (
            f"def helper_{i}(x):\n    '''Utility number {i} for tensors.'''\n    return x + {i}\n"
        )
    return files


@pytest.fixture(autouse=True)
def _index_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLRAG_INDEX_DIR", str(tmp_path / "indexes"))  # the folder of all indexes of a test


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "graphlab"
    for rel, text in _files().items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def _cfg(tmp_path: Path, dense: str = "lazy", **retrieval: Any) -> Config:
    return Config().replace(
        {
            "index_dir": str(tmp_path / "indexes"),
            "embedding": {"model": "fake"},
            "retrieval": {"dense": dense, **retrieval},
        }
    )


def _open(repo: Path, cfg: Config, dense: str | None = None) -> Index:
    return Index.open(repo, cfg, name="graphlab", progress=False, dense=dense)


def _cache_size(tmp_path: Path) -> int:
    from mlrag.embedding import EmbeddingCache

    path = tmp_path / "indexes" / "embeddings.sqlite"
    if not path.exists():
        return 0
    cache = EmbeddingCache(path)
    try:
        return len(cache)
    finally:
        cache.close()


def test_lazy_first_search_embeds_only_its_candidates(repo: Path, tmp_path: Path) -> None:
    cfg = _cfg(tmp_path)
    idx = _open(repo, cfg)
    assert idx.dense == "lazy" and idx.manifest["dense"] == "none" and idx.stats.embedded == 0
    assert not (idx.path / "vectors.npy").exists() and not (idx.path / "store").exists()
    assert _cache_size(tmp_path) == 0
    q = "train ARMA stacks on Citeseer"
    hits = idx.search(q, k=3)
    assert hits and hits[0].path.startswith(("examples/arma/", "README.md"))
    rows = idx.dense_rows
    assert rows is not None and rows.lazy
    cand = idx.searcher.lazy_candidates(q, cfg.retrieval.candidates, None)
    assert set(np.flatnonzero(rows.available)) == set(cand.tolist())
    assert 0 < rows.embedded == len(cand) < len(idx.chunks) / 2
    assert _cache_size(tmp_path) == rows.embedded
    assert not any(idx.chunks[r].path.startswith("lib/") for r in cand)


def test_lazy_dense_ranking_is_the_full_ranking_over_the_candidates(repo: Path, tmp_path: Path) -> None:
    lazy = _open(repo, _cfg(tmp_path))
    full = Index.open(repo, _cfg(tmp_path), name="graphlab", out=tmp_path / "full", progress=False, dense="full")
    assert [c.id for c in lazy.chunks] == [c.id for c in full.chunks]
    for q in ("number of ARMA stacks", "quick start citation", "cite the paper"):
        got = lazy.searcher.rank(q, 5, mode="dense")
        cand = lazy.searcher.lazy_candidates(q, 5, None)
        mask = np.zeros(len(full.chunks), dtype=bool)
        mask[cand] = True
        want = full.searcher.rank(q, 5, mode="dense", mask=mask)
        assert [r for r, _ in got] == [r for r, _ in want], q
        np.testing.assert_allclose([s for _, s in got], [s for _, s in want], atol=1e-6)


def test_a_second_process_reuses_the_cache_and_a_full_build_reuses_it(repo: Path, tmp_path: Path) -> None:
    cfg = _cfg(tmp_path)
    first = _open(repo, cfg)
    first.search("number of ARMA stacks", k=3)
    n = first.dense_rows.embedded  # type: ignore[union-attr]
    again = Index.load(first.path, cfg)  # a new process: nothing in memory
    again.search("number of ARMA stacks", k=3)
    assert again.dense_rows.embedded == 0 and again.dense_rows.cached == n  # type: ignore[union-attr]
    full = _open(repo, cfg, dense="full")  # what `mlrag index` does
    assert full.dense == "full" and full.manifest["dense"] == "full" and full.path == first.path
    skipped = sum(1 for u in full.chunks if u.meta.get("data_like"))
    assert full.stats.embedded == len(full.chunks) - n - skipped  # the rows the lazy searches cached are reused
    later = _open(repo, cfg)  # a later lazy search uses the full index
    assert later.dense == "full" and later.stats.embedded == 0


def test_a_stale_full_index_stays_full_under_lazy(repo: Path, tmp_path: Path) -> None:
    cfg = _cfg(tmp_path)
    _open(repo, cfg, dense="full")
    (repo / "examples/arma/README.md").write_text("# ARMA\n\nRun `python citation.py --num-stacks 5`.\n")
    idx = _open(repo, cfg)
    assert idx.dense == "full" and 0 < idx.stats.embedded <= 3


def _flag_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mark the units of ``ids.txt`` data-like, as the chunker does for data files."""
    import mlrag.chunking as chunking

    real = chunking.chunk_files

    def flagged(*args: Any, **kwargs: Any) -> Any:
        cs = real(*args, **kwargs)
        units = tuple(
            dataclasses.replace(u, meta={**u.meta, "data_like": True}) if u.path == "ids.txt" else u for u in cs.units
        )
        return dataclasses.replace(cs, units=units)

    monkeypatch.setattr(chunking, "chunk_files", flagged)


def test_data_like_units_are_never_embedded(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _flag_ids(monkeypatch)
    cfg = _cfg(tmp_path)
    full = _open(repo, cfg, dense="full")
    data_rows = [i for i, u in enumerate(full.chunks) if u.meta.get("data_like")]
    assert data_rows and full.stats.embedded == len(full.chunks) - len(data_rows)
    assert not np.asarray(full.vectors)[data_rows].any()
    assert len(full.store) == len(full.chunks) - len(data_rows)
    q = "n00000007 identifiers list"
    assert all(not h.chunk.meta.get("data_like") for h in full.search(q, k=5, mode="dense"))
    assert all(not h.chunk.meta.get("data_like") for h in full.search(q, k=5, mode="dense", paths=["ids.txt"]))
    assert any(h.path == "ids.txt" for h in full.search(q, k=5, mode="bm25"))  # still found lexically
    lazy = Index.open(repo, cfg, name="graphlab", out=tmp_path / "lazy", progress=False)
    lazy.search(q, k=5)
    assert not lazy.dense_rows.available[data_rows].any()  # type: ignore[union-attr]


def _no_embedding(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlrag.embedding.fake import FakeEmbedder

    def refuse(self: Any, texts: list[str]) -> Any:
        raise AssertionError("embedded although no dense vector is wanted")

    monkeypatch.setattr(FakeEmbedder, "_encode", refuse)


def test_off_never_embeds(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _no_embedding(monkeypatch)
    idx = _open(repo, _cfg(tmp_path, dense="off"))
    assert idx.dense == "off" and idx.manifest["embedder"] is None
    hits = idx.search("number of ARMA stacks", k=3)  # hybrid without vectors = BM25 + path prior
    assert any(h.path.startswith("examples/arma/") for h in hits)
    with pytest.raises(ConfigError, match="dense"):
        idx.search("x", k=1, mode="dense")
    bm25 = Index.open(repo, _cfg(tmp_path), name="graphlab", out=tmp_path / "bm25", progress=False)
    assert bm25.search("number of ARMA stacks", k=3, mode="bm25")  # lazy + bm25: no embedding either


def test_dense_option_is_validated() -> None:
    with pytest.raises(ConfigError, match="retrieval.dense"):
        Config().replace(["retrieval.dense=sometimes"])
    with pytest.raises(ConfigError, match="retrieval.mode"):
        Config().replace({"retrieval": {"dense": "off", "mode": "dense"}})
    assert Config().retrieval.dense in ("lazy", "full", "off")
