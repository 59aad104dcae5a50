"""The on-disk Index: build, reuse, incremental updates, refusal of mismatched indexes, concurrent builders."""

from __future__ import annotations

import json
import multiprocessing as mp
from pathlib import Path

import numpy as np
import pytest

from mlrag.config import Config
from mlrag.errors import IndexMismatchError
from mlrag.index import FORMAT_VERSION, Index
from mlrag.index.manifest import MARKER_TEXT

pytest.importorskip("faiss")
pytest.importorskip("bm25s")

FILES = {
    "README.md": "# GraphLab\n\nA library of graph models.\n\n## Install\n\n```bash\npip install graphlab\n```\n",
    "examples/arma/README.md": (
        "# ARMA\n\nTrain an ARMA model on citation graphs.\n\n## How to run\n\n```bash\n"
        "python citation.py --dataset Citeseer --num-stacks 3\n```\n"
    ),
    "examples/arma/citation.py": (
        "import argparse\n\nparser = argparse.ArgumentParser()\n"
        "parser.add_argument('--dataset', default='Cora', choices=['Cora', 'Citeseer', 'Pubmed'])\n"
        "parser.add_argument('--num-stacks', type=int, default=2, help='number of ARMA stacks')\n"
        "args = parser.parse_args()\n"
    ),
    "examples/gcn/README.md": "# GCN\n\nRun `python train.py --dataset cora` to train a GCN.\n",
    "examples/gcn/train.py": "def train(num_layers):\n    return num_layers\n",
}


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "graphlab"
    _write(root, FILES)
    return root


def _cfg(tmp_path: Path, **store: object) -> Config:
    """Full dense indexes (every unit embedded before the first search); lazy ones: test_index_lazy.py."""
    return Config().replace(
        {"embedding": {"model": "fake"}, "store": store or {"backend": "faiss"}, "retrieval": {"dense": "full"}}
    )


def _open(repo: Path, cfg: Config, tmp_path: Path) -> Index:
    return Index.open(repo, cfg, name="graphlab", out=tmp_path / "indexes" / "graphlab", progress=False)


def test_build_then_reuse_with_zero_embeddings(repo: Path, tmp_path: Path) -> None:
    cfg = _cfg(tmp_path)
    idx = Index.open(repo, cfg, name="graphlab", progress=False)  # default place: <index_dir>/<name>-<hash8>
    assert idx.stats.chunks == len(idx.chunks) > 0 and idx.stats.embedded == len(idx.chunks)
    assert idx.files == sorted(FILES) and idx.root == repo.resolve()
    assert idx.path.parent == cfg.resolved_index_dir and idx.path.name.startswith("graphlab-")
    m = idx.manifest
    assert m["format_version"] == FORMAT_VERSION and m["embedder"]["id"] == "fake-hashing@256"
    assert m["counts"]["units"] == len(idx.chunks) and set(m["files"]) == set(FILES)
    for name in ("manifest.json", "chunks.jsonl", "contexts.jsonl", "vectors.npy", "store/faiss.index", "bm25"):
        assert (idx.path / name).exists(), name
    assert isinstance(idx.vectors, np.memmap)
    again = Index.open(repo, cfg, name="graphlab", progress=False)
    assert again.stats.embedded == 0 and again.stats.reused == len(idx.chunks)
    assert [c.id for c in again.chunks] == [c.id for c in idx.chunks]
    assert not [p for p in idx.path.parent.iterdir() if ".tmp-" in p.name or ".old-" in p.name]


def test_vectors_are_row_aligned_with_units(repo: Path, tmp_path: Path) -> None:
    from mlrag.chunking import embed_text
    from mlrag.embedding import get_embedder

    cfg = _cfg(tmp_path)
    idx = _open(repo, cfg, tmp_path)
    emb = get_embedder(cfg.embedding)
    want = emb.embed_batch([embed_text(u, cfg.chunking) for u in idx.chunks])
    np.testing.assert_allclose(np.asarray(idx.vectors), want, atol=1e-6)


def test_incremental_update_embeds_only_changed_and_drops_deleted(repo: Path, tmp_path: Path) -> None:
    cfg = _cfg(tmp_path)
    first = _open(repo, cfg, tmp_path)
    (repo / "examples/gcn/README.md").write_text("# GCN\n\nRun `python train.py --dataset pubmed` instead.\n")
    (repo / "examples/gcn/train.py").unlink()
    second = _open(repo, cfg, tmp_path)
    assert 0 < second.stats.embedded < len(second.chunks)
    assert "examples/gcn/train.py" not in second.files
    assert not [c for c in second.chunks if c.path == "examples/gcn/train.py"]
    unchanged = {c.id for c in first.chunks if not c.path.startswith("examples/gcn/")}
    assert unchanged <= {c.id for c in second.chunks}
    hits = second.search("pubmed", k=3, mode="bm25")
    assert hits and hits[0].path == "examples/gcn/README.md"


def test_search_modes_filters_and_cards(repo: Path, tmp_path: Path) -> None:
    idx = _open(repo, _cfg(tmp_path), tmp_path)
    for mode in ("bm25", "dense", "hybrid"):
        hits = idx.search("train ARMA on Citeseer with 3 stacks", k=3, mode=mode)
        assert hits, mode
        assert all(h.repo == "graphlab" for h in hits)
    top = idx.search("num stacks arma citation", k=1, mode="bm25")[0]
    assert top.path.startswith("examples/arma/")
    only_gcn = idx.search("train", k=10, paths=["examples/gcn/*"])
    assert only_gcn and all(h.path.startswith("examples/gcn/") for h in only_gcn)
    assert idx.search("train", k=10, kinds=["no-such-kind"]) == []
    if idx.cards:
        cards = idx.search("num stacks", k=5, kinds=["card"])
        assert cards and all(h.chunk.kind == "card" for h in cards)
    budget = idx.search("train a model", k=10, budget_chars=120)
    assert sum(len(h.text) for h in budget) <= 120


def test_load_refuses_other_embedder_version_and_corruption(repo: Path, tmp_path: Path) -> None:
    cfg = _cfg(tmp_path)
    idx = _open(repo, cfg, tmp_path)
    plain = Index.load(idx.path)  # config taken from the manifest
    assert plain.search("arma", k=1, mode="hybrid")[0].path.startswith("examples/arma/")
    with pytest.raises(IndexMismatchError, match="rebuild"):
        Index.load(idx.path, cfg.replace(["embedding.model=fake:64"]))
    with pytest.raises(IndexMismatchError, match="not an mlrag index"):
        Index.load(tmp_path / "nowhere")
    manifest = json.loads((idx.path / "manifest.json").read_text())
    (idx.path / "manifest.json").write_text(json.dumps({**manifest, "format_version": 999}))
    with pytest.raises(IndexMismatchError, match="format version"):
        Index.load(idx.path, cfg)
    (idx.path / "manifest.json").write_text(json.dumps(manifest))
    np.save(idx.path / "vectors.npy", np.zeros((1, 3), np.float32))
    with pytest.raises(IndexMismatchError, match="corrupt"):
        Index.load(idx.path, cfg)
    rebuilt = _open(repo, cfg, tmp_path)  # a corrupt index is rebuilt by open
    assert rebuilt.vectors.shape == (len(rebuilt.chunks), 256)


def test_embedder_change_rebuilds_everything(repo: Path, tmp_path: Path) -> None:
    _open(repo, _cfg(tmp_path), tmp_path)
    other = _open(repo, _cfg(tmp_path).replace(["embedding.model=fake:64"]), tmp_path)
    assert other.stats.embedded == len(other.chunks) and other.vectors.shape[1] == 64


def _build_in_process(args: tuple[str, str]) -> tuple[int, int]:
    repo, index_dir = args
    cfg = Config().replace({"embedding": {"model": "fake"}, "retrieval": {"dense": "full"}})
    idx = Index.open(Path(repo), cfg, name="graphlab", out=Path(index_dir) / "graphlab", progress=False)
    return idx.stats.embedded, len(idx.chunks)


def test_two_concurrent_builders_do_not_corrupt(repo: Path, tmp_path: Path) -> None:
    ctx = mp.get_context("fork")
    with ctx.Pool(2) as pool:
        results = pool.map(_build_in_process, [(str(repo), str(tmp_path / "indexes"))] * 2)
    (e1, n1), (e2, n2) = results
    assert n1 == n2 and sorted([e1, e2])[0] == 0  # the loser waited and reused the winner's index
    idx = _open(repo, _cfg(tmp_path), tmp_path)
    assert idx.stats.embedded == 0
    assert not [p for p in (tmp_path / "indexes").iterdir() if ".tmp-" in p.name]


@pytest.mark.parametrize("backend", ["numpy", "chroma"])
def test_other_backends_agree_with_faiss(repo: Path, tmp_path: Path, backend: str) -> None:
    if backend == "chroma":
        pytest.importorskip("chromadb")
    ref = _open(repo, _cfg(tmp_path), tmp_path / "a")
    other = _open(repo, _cfg(tmp_path, backend=backend), tmp_path / "b")
    q = "train ARMA on Citeseer"
    want = [h.location for h in ref.search(q, k=3, mode="dense")]
    assert [h.location for h in other.search(q, k=3, mode="dense")] == want
    (repo / "examples/gcn/train.py").unlink()  # incremental update of the store (Chroma syncs its collection)
    other = _open(repo, _cfg(tmp_path, backend=backend), tmp_path / "b")
    assert len(other.store) == len({c.id[:15] for c in other.chunks})


def test_multi_index_searches_namespaces(repo: Path, tmp_path: Path) -> None:
    from mlrag.index import MultiIndex

    other = tmp_path / "textlab"
    _write(other, {"README.md": "# TextLab\n\nRun `python classify.py --model bert` to classify text.\n"})
    cfg = _cfg(tmp_path)
    a = _open(repo, cfg, tmp_path)
    b = Index.open(other, cfg, name="textlab", out=tmp_path / "indexes" / "textlab", progress=False)
    both = MultiIndex([a, b])
    hits = both.search("classify text with bert", k=3, mode="bm25")
    assert hits[0].repo == "textlab"
    assert {h.repo for h in both.search("train", k=10)} <= {"graphlab", "textlab"}
    assert all(h.repo == "graphlab" for h in both.search("classify text with bert", k=3, repos=["graphlab"]))
    with pytest.raises(IndexMismatchError):
        both.search("x", repos=["nope"])


def test_stale_temporary_folders_are_removed(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "indexes" / "graphlab"
    stale = out.parent / ".graphlab.tmp-999999999"
    stale.mkdir(parents=True)
    (stale / ".mlrag-index").write_text(MARKER_TEXT)  # every build marks its folder first
    (stale / "vectors.npy").write_bytes(b"partial")
    foreign = out.parent / ".graphlab.old-999999998"  # same name pattern, not mlrag's: never deleted
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    _open(repo, _cfg(tmp_path), tmp_path)
    assert not stale.exists()
    assert (foreign / "notes.txt").read_text() == "mine"


def test_card_hits_bring_the_readme_lines_that_run_the_script(repo: Path, tmp_path: Path) -> None:
    idx = _open(repo, _cfg(tmp_path), tmp_path)
    cards = [c for c in idx.cards if c.links]
    if not cards:
        pytest.skip("the chunker derived no linked card for the fixture")
    card = cards[0]
    rows = {u.id: i for i, u in enumerate(idx.chunks)}
    ranked = idx.searcher.follow_links([(rows[card.id], 1.0)])
    assert ranked[0] == (rows[card.id], 1.0)
    assert [idx.chunks[r].id for r, _ in ranked[1:]] == [lid for lid in card.links if lid in rows]
    assert idx.searcher.follow_links([(0, 1.0)]) == [(0, 1.0)] or idx.chunks[0].kind == "card"


def test_empty_repository_is_refused(tmp_path: Path) -> None:
    from mlrag.errors import RepoError

    (tmp_path / "empty").mkdir()
    with pytest.raises(RepoError, match="no readable text files"):
        _open(tmp_path / "empty", _cfg(tmp_path), tmp_path)


def test_cards_are_whole_even_when_split_for_search(tmp_path: Path) -> None:
    opts = "".join(
        f'p.add_argument("--option-{i}", type=int, default={i}, help="option number {i}")\n' for i in range(60)
    )
    root = tmp_path / "wide"
    _write(
        root,
        {
            "README.md": "# Wide\n\nRun `python wide.py`.\n",
            "wide.py": f"import argparse\np = argparse.ArgumentParser()\n{opts}p.parse_args()\n",
        },
    )
    idx = Index.open(root, _cfg(tmp_path), name="wide", out=tmp_path / "indexes" / "wide", progress=False)
    pieces = [u for u in idx.chunks if u.kind == "card"]
    assert len(pieces) > 1 and all(u.parent_id for u in pieces)  # split for the embedder's window
    (card,) = idx.cards
    assert card.meta["script"] == "wide.py" and len(card.meta["options"]) == 60
    assert all(f"--option-{i}" in card.text for i in range(60))
