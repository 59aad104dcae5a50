"""Index folders: nothing that is not an mlrag index is ever emptied, renamed or deleted; tampered, truncated or
foreign files are refused with one line; an index inside its repository is not indexed into itself."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from mlrag.config import Config
from mlrag.errors import IndexMismatchError, IndexWriteError
from mlrag.index import Index
from mlrag.index.manifest import MARKER

pytest.importorskip("faiss")
pytest.importorskip("bm25s")

FILES = {
    "README.md": "# Lab\n\nTrain with `python train.py --epochs 3`.\n",
    "train.py": (
        "import argparse\n\np = argparse.ArgumentParser()\np.add_argument('--epochs', type=int, default=1)\n"
        "p.parse_args()\n"
    ),
    "docs/usage.md": "# Usage\n\nEvaluate with `python eval.py --split test`.\n",
}


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(autouse=True)
def _index_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLRAG_INDEX_DIR", str(tmp_path / "indexes"))  # the folder of all indexes of a test


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "lab"
    _write(root, FILES)
    return root


def _cfg(tmp_path: Path, dense: str = "full") -> Config:
    return Config().replace(
        {"index_dir": str(tmp_path / "indexes"), "embedding": {"model": "fake"}, "retrieval": {"dense": dense}}
    )


def _open(repo: Path, tmp_path: Path, out: Path | None = None, dense: str = "full") -> Index:
    return Index.open(repo, _cfg(tmp_path, dense), name="lab", out=out, progress=False)


# --- output locations ---------------------------------------------------------------------------------------


def test_a_users_folder_is_refused_and_left_as_it_is(repo: Path, tmp_path: Path) -> None:
    mine = tmp_path / "my-notes"
    _write(mine, {"a.txt": "keep me", "sub/b.md": "# mine"})
    before = _snapshot(mine)
    with pytest.raises(IndexWriteError, match="not an mlrag index") as e:
        _open(repo, tmp_path, out=mine)
    assert "\n" not in str(e.value)
    assert _snapshot(mine) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".my-notes.") and not p.name.endswith(".lock")]


def test_a_file_is_refused_and_not_renamed(repo: Path, tmp_path: Path) -> None:
    f = tmp_path / "results.csv"
    f.write_text("a,b\n1,2\n")
    with pytest.raises(IndexWriteError, match="file"):
        _open(repo, tmp_path, out=f)
    assert f.read_text() == "a,b\n1,2\n" and sorted(p.name for p in tmp_path.iterdir()) == ["lab", "results.csv"]


@pytest.mark.parametrize("where", ["repo", "parent", "grandparent"])
def test_the_repository_and_folders_above_it_are_refused(repo: Path, tmp_path: Path, where: str) -> None:
    out = {"repo": repo, "parent": repo.parent, "grandparent": repo.parent.parent}[where]
    before = _snapshot(repo)
    with pytest.raises(IndexWriteError, match="repository"):
        _open(repo, tmp_path, out=out)
    assert _snapshot(repo) == before


def test_the_folder_of_all_indexes_is_refused(repo: Path, tmp_path: Path) -> None:
    first = _open(repo, tmp_path)  # <index_dir>/lab-<hash>, plus the embedding cache beside it
    index_dir = tmp_path / "indexes"
    before = _snapshot(index_dir)
    other = tmp_path / "other"
    _write(other, {"README.md": "# Other\n"})
    with pytest.raises(IndexWriteError):
        Index.open(other, _cfg(tmp_path), name="other", out=index_dir, progress=False)
    assert _snapshot(index_dir) == before and Index.load(first.path).chunks
    with pytest.raises(IndexWriteError, match="inside the index folder"):
        Index.open(other, _cfg(tmp_path), name="other", out=first.path / "nested", progress=False)


def test_a_symlink_is_refused(repo: Path, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir()
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(IndexWriteError, match="link"):
        _open(repo, tmp_path, out=link)
    assert link.is_symlink() and target.is_dir()


def test_empty_folder_and_existing_index_are_accepted(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    first = _open(repo, tmp_path, out=out)
    assert (out / MARKER).is_file() and first.stats.embedded == len(first.chunks)
    (repo / "README.md").write_text("# Lab\n\nTrain longer with `python train.py --epochs 30`.\n")
    second = _open(repo, tmp_path, out=out)  # an mlrag index is replaced by its rebuild
    assert 0 < second.stats.embedded < len(second.chunks)


def test_an_index_inside_the_repository_is_not_indexed_into_itself(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = repo / "indexes" / "lab"
    first = _open(repo, tmp_path, out=out)
    assert sorted(first.files) == sorted(FILES)
    again = _open(repo, tmp_path, out=out)  # the index's own files did not make it stale
    assert again.stats.embedded == 0 and sorted(again.files) == sorted(FILES)
    monkeypatch.setenv("MLRAG_INDEX_DIR", str(repo / "all-indexes"))  # the default place, in the repository
    idx = Index.open(repo, _cfg(tmp_path), name="lab", progress=False)
    idx = Index.open(repo, _cfg(tmp_path), name="lab", progress=False)
    assert sorted(idx.files) == sorted(FILES) and idx.stats.embedded == 0


def test_an_unwritable_location_is_one_line(repo: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "plain-file"
    blocker.write_text("x")
    with pytest.raises(IndexWriteError, match="cannot write") as e:
        _open(repo, tmp_path, out=blocker / "index")
    assert "\n" not in str(e.value) and blocker.read_text() == "x"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into read-only folders")
def test_a_read_only_folder_is_one_line(repo: Path, tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(IndexWriteError, match="cannot write"):
            _open(repo, tmp_path, out=ro / "index")
    finally:
        ro.chmod(0o700)


# --- checksums --------------------------------------------------------------------------------------------------


def test_manifest_holds_a_checksum_of_every_file(repo: Path, tmp_path: Path) -> None:
    idx = _open(repo, tmp_path)
    sums = idx.manifest["checksums"]
    on_disk = {p.relative_to(idx.path).as_posix() for p in idx.path.rglob("*") if p.is_file()}
    assert set(sums) == on_disk - {"manifest.json", MARKER}
    assert {"chunks.jsonl", "contexts.jsonl", "vectors.npy", "store/faiss.index"} <= set(sums)
    assert all(len(v) == 64 for v in sums.values())


def _tamper_text(path: Path) -> None:
    lines = path.read_text().splitlines(keepends=True)
    row = json.loads(lines[0])
    row["text"] = "python evil.py --steal\n"  # still a valid chunk
    lines[0] = json.dumps(row) + "\n"
    path.write_text("".join(lines))


@pytest.mark.parametrize(
    "damage",
    ["tamper-chunks", "truncate-bm25", "truncate-vectors", "delete-contexts", "zero-store"],
)
def test_a_damaged_file_is_refused_on_load_and_rebuilt_by_open(repo: Path, tmp_path: Path, damage: str) -> None:
    idx = _open(repo, tmp_path)
    path = idx.path
    if damage == "tamper-chunks":
        _tamper_text(path / "chunks.jsonl")
    elif damage == "truncate-bm25":
        victim = max((p for p in (path / "bm25").iterdir() if p.is_file()), key=lambda p: p.stat().st_size)
        victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
    elif damage == "truncate-vectors":
        data = (path / "vectors.npy").read_bytes()
        (path / "vectors.npy").write_bytes(data[:-16])
    elif damage == "delete-contexts":
        (path / "contexts.jsonl").unlink()
    else:
        (path / "store" / "faiss.index").write_bytes(b"\0" * 64)
    with pytest.raises(IndexMismatchError, match="rebuild") as e:
        Index.load(path, _cfg(tmp_path))
    assert "\n" not in str(e.value) and str(path) in str(e.value)
    rebuilt = _open(repo, tmp_path)
    assert rebuilt.path == path and not any("evil" in c.text for c in rebuilt.chunks)
    assert Index.load(path, _cfg(tmp_path)).search("train epochs", k=1, mode="bm25")


def test_a_manifest_checksum_entry_cannot_point_outside(repo: Path, tmp_path: Path) -> None:
    idx = _open(repo, tmp_path)
    m = json.loads((idx.path / "manifest.json").read_text())
    m["checksums"]["../../etc/passwd"] = "0" * 64
    (idx.path / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(IndexMismatchError, match="leaves the folder"):
        Index.load(idx.path, _cfg(tmp_path))


def test_a_corrupt_manifest_folder_is_still_recognised_as_mlrags(repo: Path, tmp_path: Path) -> None:
    idx = _open(repo, tmp_path)
    (idx.path / "manifest.json").write_text("{ not json")
    with pytest.raises(IndexMismatchError, match="not an mlrag index"):
        Index.load(idx.path)
    again = _open(repo, tmp_path)  # the marker says the folder is mlrag's: rebuilt in place
    assert again.path == idx.path and again.stats.embedded == 0  # vectors from the embedding cache


# --- the embedding cache ----------------------------------------------------------------------------------------


def test_a_corrupt_embedding_cache_costs_a_warning_not_the_build(
    repo: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache = tmp_path / "indexes" / "embeddings.sqlite"
    cache.parent.mkdir(parents=True)
    cache.write_bytes(b"this is not a database" * 100)
    idx = _open(repo, tmp_path)
    assert idx.stats.embedded == len(idx.chunks) and np.asarray(idx.vectors).any()
    assert "embedding cache" in caplog.text
    kept = [p for p in cache.parent.glob("embeddings.sqlite*") if p.read_bytes().startswith(b"this is not")]
    assert kept  # the damaged file is kept (in place, or moved aside), never deleted
    lazy = _open(repo, tmp_path, out=tmp_path / "lazy", dense="lazy")
    assert lazy.search("train epochs", k=2, mode="hybrid")


@pytest.mark.parametrize("model", ["fake:0", "fake:-3", "fake:abc", "fake:99999999"])
def test_a_degenerate_fake_embedder_is_one_line(repo: Path, tmp_path: Path, model: str) -> None:
    from mlrag.errors import BackendError

    cfg = _cfg(tmp_path).replace({"embedding": {"model": model}})
    with pytest.raises(BackendError, match="fake:<dim>"):
        Index.open(repo, cfg, name="lab", progress=False)
