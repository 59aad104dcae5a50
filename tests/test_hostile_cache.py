"""Corrupt, foreign and failing cache files cost speed, never a run; nothing is deleted."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from mlrag.embedding.cache import EmbeddingCache
from mlrag.generation.cache import OutputCache

GARBAGE = {
    "random": b"\x13\x37" * 4096,
    "text": b"this is not a database\n" * 100,
    "truncated header": b"SQLite format 3\x00" + b"\x00" * 30,
}


def _spoil(path: Path, kind: str, table: str) -> Path:
    """Write garbage of ``kind`` at ``path``, or a real SQLite file whose ``table`` has another shape."""
    if kind != "foreign schema":
        path.write_bytes(GARBAGE[kind])
        return path
    db = sqlite3.connect(path)
    db.execute(f"CREATE TABLE {table} (something TEXT)")
    db.execute(f"INSERT INTO {table} VALUES ('user data')")
    db.commit()
    db.close()
    return path


@pytest.mark.parametrize("kind", [*GARBAGE, "foreign schema"])
def test_a_corrupt_embedding_cache_is_moved_aside_and_rebuilt(tmp_path: Path, kind: str) -> None:
    path = _spoil(tmp_path / "embeddings.sqlite", kind, "vectors")
    before = path.read_bytes()
    cache = EmbeddingCache(path)
    cache.put_many("m", ["a"], np.ones((1, 3), np.float32))
    assert sorted(cache.get_many("m", ["a", "b"])) == [0] and len(cache) == 1
    aside = tmp_path / "embeddings.sqlite.corrupt"
    assert aside.read_bytes() == before  # kept, not deleted


@pytest.mark.parametrize("kind", [*GARBAGE, "foreign schema"])
def test_a_corrupt_generation_cache_is_moved_aside_and_rebuilt(tmp_path: Path, kind: str) -> None:
    path = _spoil(tmp_path / "outputs.sqlite", kind, "outputs")
    cache = OutputCache(path)
    cache.put("k", "model", "answer")
    assert cache.get("k") == "answer" and cache.get("other") is None
    assert (tmp_path / "outputs.sqlite.corrupt").exists()


def test_a_cache_path_that_is_a_folder_or_fifo_is_left_alone(tmp_path: Path) -> None:
    import os

    (tmp_path / "outputs.sqlite").mkdir()
    (tmp_path / "outputs.sqlite" / "mine.txt").write_text("keep\n", encoding="utf-8")
    cache = OutputCache(tmp_path / "outputs.sqlite")
    cache.put("k", "m", "v")
    assert cache.get("k") == "v"  # in memory for this run
    assert (tmp_path / "outputs.sqlite" / "mine.txt").read_text(encoding="utf-8") == "keep\n"
    os.mkfifo(tmp_path / "embeddings.sqlite")
    emb = EmbeddingCache(tmp_path / "embeddings.sqlite")
    emb.put_many("m", ["a"], np.ones((1, 2), np.float32))
    assert sorted(emb.get_many("m", ["a"])) == [0]


def test_tampered_vectors_are_treated_as_missing(tmp_path: Path) -> None:
    path = tmp_path / "embeddings.sqlite"
    cache = EmbeddingCache(path)
    cache.put_many("m", ["good", "short", "nan"], np.ones((3, 4), np.float32))
    cache.close()
    db = sqlite3.connect(path)
    from mlrag.embedding.cache import text_hash

    db.execute("UPDATE vectors SET vec = ? WHERE text_sha = ?", (b"\x00\x00", text_hash("short")))
    db.execute("UPDATE vectors SET vec = ? WHERE text_sha = ?", (np.full(4, np.nan, np.float32).tobytes(),
                                                                 text_hash("nan")))
    db.commit()
    db.close()
    found = EmbeddingCache(path).get_many("m", ["good", "short", "nan"])
    assert sorted(found) == [0] and found[0].shape == (4,)


def test_a_cache_that_breaks_while_running_disables_itself(tmp_path: Path) -> None:
    cache = OutputCache(tmp_path / "outputs.sqlite")
    cache.put("k", "m", "v")
    cache._db._db.close()  # what a vanished or corrupted file looks like to the next call
    assert cache.get("k") is None
    cache.put("k2", "m", "v")  # no error
    assert cache._db.enabled is False and len(cache) == 0


def test_an_unwritable_cache_folder_falls_back_to_memory(tmp_path: Path) -> None:
    import os

    if os.geteuid() == 0:
        pytest.skip("root writes everywhere")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        cache = OutputCache(folder / "sub" / "outputs.sqlite")
        cache.put("k", "m", "v")
        assert cache.get("k") == "v"
    finally:
        folder.chmod(0o700)
