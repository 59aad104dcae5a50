"""Writing one repository's index folder from precomputed chunks and vectors (a shard of a distributed build).

``mlrag.index.build_into`` chunks, embeds and writes in one process. A Ray build does the chunking and the
embedding elsewhere, so this module holds only the writing half: the same files, written by the same writer
(``mlrag.index.writer.write_index_files``), under the same lock, checks and atomic rename (``index.folders``).
A shard is therefore an ordinary index folder:
``Index.load``/``Index.open``/``MultiIndex`` read it, and a later single-process ``Index.open`` reuses it.

Design choice: the writing itself is ``mlrag.index.write_index_files``, the same function ``build_into`` ends
with; this module only adds what a shard needs around it (vectors computed elsewhere, the embedding cache fed
with the rows embedded for this build). A test compares a shard with a single-process build, file by file.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from ..config import Config
from ..index.folders import check_output, lock, new_tmp, remove_stale, writable_parent
from ..index.update import copy_previous, open_cache
from ..index.writer import BuildStats, Corpus, DenseVectors, never_embedded, write_index_files
from ..types import Chunk


@dataclass(frozen=True)
class FileSha:
    """A walked file without its text: what a manifest records."""

    path: str
    sha: str


def reuse_vectors(
    out: Path,
    config: Config,
    embedder_id: str,
    dim: int,
    texts: Sequence[str],
    skip: Sequence[int] = (),
) -> tuple[np.ndarray, list[int]]:
    """Vectors known without embedding, and the rows still to embed.

    Rows are filled from the previous index at ``out`` (matched by text hash, as ``build_into`` does), then from
    the embedding cache beside the indexes; rows in ``skip`` (data-like units) stay zero and are never
    embedded. Returns ``(vectors (n, dim) float32, rows to embed)``.
    """
    vectors = np.zeros((len(texts), dim), dtype=np.float32)
    filled = copy_previous(out, config, SimpleNamespace(id=embedder_id, dim=dim), texts, vectors)
    skipped = set(skip)
    if skipped:
        vectors[sorted(skipped)] = 0.0
    todo = [i for i in range(len(texts)) if i not in filled and i not in skipped]
    cache = open_cache(out.parent) if todo and config.embedding.cache else None
    if cache is not None:
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
    t0 = time.perf_counter() if t0 is None else t0
    if vectors.shape != (len(units), dim):
        raise ValueError(f"vectors {vectors.shape} for {len(units)} units of dim {dim}")
    check_output(out, root)
    writable_parent(out)
    cache = open_cache(out.parent) if new_rows and config.embedding.cache else None
    if cache is not None:
        try:
            cache.put_many(embedder_id, [texts[i] for i in new_rows], vectors[list(new_rows)])
        finally:
            cache.close()
    with lock(out):
        check_output(out, root)
        remove_stale(out)
        tmp = new_tmp(out)
        try:
            mm = np.lib.format.open_memmap(tmp / "vectors.npy", mode="w+", dtype=np.float32, shape=vectors.shape)
            mm[:] = vectors
            mm.flush()
            corpus = Corpus(root, name, files, units, contexts)
            dense = DenseVectors(mm, embedder_id, dim, len(new_rows), skip=never_embedded(units, config))
            stats = write_index_files(tmp, out, corpus, config, dense, t0=t0)
            del mm
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return stats
