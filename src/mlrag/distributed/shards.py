"""Writing one repository's index folder from precomputed chunks and vectors (a shard of a distributed build).

``mlrag.index.build_into`` chunks, embeds and writes in one process. A Ray build does the chunking and the
embedding elsewhere, so this module holds only the writing half: the same files, written by the same helpers of
``mlrag.index`` (``_write_store``, ``_write_jsonl``, ``expected_manifest``, ``replace_folder``, ``_lock``), in
the same order, under the same lock and atomic rename. A shard is therefore an ordinary index folder:
``Index.load``/``Index.open``/``MultiIndex`` read it, and a later single-process ``Index.open`` reuses it.

Design choice: the writing itself is ``mlrag.index.write_index_files``, the same function ``build_into`` ends
with; this module only adds what a shard needs around it (vectors computed elsewhere, the embedding cache fed
with the rows embedded for this build). A test compares a shard with a single-process build, file by file.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from ..config import Config
from ..index import BuildStats, _copy_previous, _lock, _remove_stale, write_index_files
from ..types import Chunk


@dataclass(frozen=True)
class FileSha:
    """A walked file without its text: what a manifest records."""

    path: str
    sha: str


def reuse_vectors(
    out: Path, config: Config, embedder_id: str, dim: int, texts: Sequence[str]
) -> tuple[np.ndarray, list[int]]:
    """Vectors known without embedding, and the rows still to embed.

    Rows are filled from the previous index at ``out`` (matched by text hash, as ``build_into`` does), then from
    the embedding cache beside the indexes; returns ``(vectors (n, dim) float32, rows to embed)``.
    """
    from ..embedding import EmbeddingCache

    vectors = np.zeros((len(texts), dim), dtype=np.float32)
    filled = _copy_previous(out, config, SimpleNamespace(id=embedder_id, dim=dim), texts, vectors)
    todo = [i for i in range(len(texts)) if i not in filled]
    if todo and config.embedding.cache:
        cache = EmbeddingCache(out.parent / "embeddings.sqlite")
        try:
            found = cache.get_many(embedder_id, [texts[i] for i in todo])
        finally:
            cache.close()
        for j, v in found.items():
            vectors[todo[j]] = v
        todo = [r for j, r in enumerate(todo) if j not in found]
    return vectors, todo


def write_shard(
    out: Path,
    root: Path,
    name: str,
    files: Sequence[FileSha],
    config: Config,
    units: Sequence[Chunk],
    contexts: Sequence[Chunk],
    vectors: np.ndarray,
    *,
    embedder_id: str,
    dim: int,
    new_rows: Sequence[int] = (),
    texts: Sequence[str] = (),
    t0: float | None = None,
) -> BuildStats:
    """Atomically write the index folder ``out`` (the layout of ``mlrag.index``) and return its stats.

    ``new_rows`` are the rows embedded for this build; their vectors (with ``texts``) go into the embedding
    cache, so a later build of any repository holding the same text embeds nothing.
    """
    from ..embedding import EmbeddingCache

    t0 = time.perf_counter() if t0 is None else t0
    if vectors.shape != (len(units), dim):
        raise ValueError(f"vectors {vectors.shape} for {len(units)} units of dim {dim}")
    out.parent.mkdir(parents=True, exist_ok=True)
    if new_rows and config.embedding.cache:
        cache = EmbeddingCache(out.parent / "embeddings.sqlite")
        try:
            cache.put_many(embedder_id, [texts[i] for i in new_rows], vectors[list(new_rows)])
        finally:
            cache.close()
    with _lock(out):
        _remove_stale(out)
        tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:
            mm = np.lib.format.open_memmap(tmp / "vectors.npy", mode="w+", dtype=np.float32, shape=vectors.shape)
            mm[:] = vectors
            mm.flush()
            stats = write_index_files(
                tmp, out, root, name, files, config, units, contexts, mm,
                embedder_id=embedder_id, dim=dim, embedded=len(new_rows), t0=t0,
            )
            del mm
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return stats
