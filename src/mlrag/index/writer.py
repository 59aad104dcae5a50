"""Writing an index folder: the one writer every build ends in (single process, lazy, or a Ray shard).

``write_index_files`` takes a finished ``Corpus`` (walked files, units, contexts) and, for a full dense index,
its ``DenseVectors`` (already in ``tmp/vectors.npy``), writes the store, BM25, chunk files, affordance catalog
and manifest (with every file's sha256) into the marked temporary folder, then renames it into place. A
lexical-first index (``dense=None``) has no ``vectors.npy`` and no store: its vectors are computed per query
from the embedding cache (``lazy.py``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Config
from ..types import Chunk
from .folders import replace_folder
from .manifest import MANIFEST, checksums, corpus_hash, expected_manifest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildStats:
    """What an ``Index.open`` did: files walked, units, units embedded vs. reused, seconds."""

    files: int
    chunks: int
    embedded: int
    reused: int
    seconds: float

    def summary(self) -> str:
        return (
            f"{self.files} files, {self.chunks} chunks, {self.embedded} embedded, {self.reused} reused, "
            f"{self.seconds:.1f} s"
        )


@dataclass(frozen=True)
class Corpus:
    """One repository, walked and chunked: what every index folder is written from."""

    root: Path
    name: str
    files: Sequence[Any]  # SourceFile-like: .path, .sha (and .text when the catalog should not re-read files)
    units: Sequence[Chunk]
    contexts: Sequence[Chunk]


@dataclass(frozen=True)
class DenseVectors:
    """The row-aligned vectors of a full dense index (rows of units that are never embedded stay zero)."""

    vectors: np.ndarray  # (units, dim) float32, already written to ``tmp/vectors.npy``
    embedder_id: str
    dim: int
    embedded: int  # rows embedded by this build (the rest came from the previous index or the cache)
    skip: frozenset[int] = frozenset()  # rows left without a vector (data-like units, see ``never_embedded``)


def write_index_files(
    tmp: Path, out: Path, corpus: Corpus, config: Config, dense: DenseVectors | None, *, t0: float
) -> BuildStats:
    """Write the store, BM25, chunk files, catalog and manifest of a finished build into ``tmp`` (made by
    ``folders.new_tmp``), then rename it to ``out``.

    The one writer of index folders: ``build_into`` and the distributed shard writer both end here, so a
    shard is byte-compatible with a single-process build.
    """
    from ..retrieval.lexical import LexicalIndex

    units = corpus.units
    manifest: dict[str, Any] = {
        **expected_manifest(config, corpus.root),
        "name": corpus.name,
        "mlrag_version": _mlrag_version(),
        "dense": "full" if dense is not None else "none",
        "embedder": {"id": dense.embedder_id, "dim": dense.dim} if dense is not None else None,
        "store": {
            "backend": config.store.backend,
            "approx_threshold": config.store.approx_threshold,
            "chroma_path": config.store.chroma_path,
            "chroma_host": config.store.chroma_host,
            "chroma_port": config.store.chroma_port,
        },
        "corpus_hash": corpus_hash(corpus.files),
        "files": {f.path: f.sha for f in corpus.files},
        "counts": {
            "files": len(corpus.files),
            "units": len(units),
            "contexts": len(corpus.contexts),
            "vectors": (len(units) - len(dense.skip)) if dense is not None else 0,
        },
        "embeds_data_like": embeds_data_like(config),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if dense is not None:
        _write_store(tmp, out, manifest, config, units, dense)
    LexicalIndex.build(units).save(tmp / "bm25")
    manifest["affordances"] = write_catalog_for(tmp / "affordances.json", corpus.root, corpus.files)
    _write_jsonl(tmp / "chunks.jsonl", units)
    _write_jsonl(tmp / "contexts.jsonl", corpus.contexts)
    embedded = dense.embedded if dense is not None else 0
    stats = BuildStats(len(corpus.files), len(units), embedded, len(units) - embedded, time.perf_counter() - t0)
    manifest["stats"] = asdict(stats)
    manifest["checksums"] = checksums(tmp)
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
    replace_folder(tmp, out)
    return stats


def write_catalog_for(path: Path, root: Path, files: Sequence[Any]) -> dict[str, Any]:
    """Build the affordance catalog of ``files`` (their ``text``, else read under ``root``) into ``path``."""
    from ..catalog import CATALOG_VERSION, build_catalog, read_sources, write_catalog

    catalog = build_catalog(read_sources(root, files))
    write_catalog(path, catalog)
    return {"version": CATALOG_VERSION, "entries": len(catalog.entries)}


def store_folder(path: Path, manifest: dict[str, Any]) -> Path:
    """Where the vector store of the index at ``path`` keeps its files (Chroma: beside the index by default)."""
    if manifest["store"]["backend"] == "chroma":
        return Path(manifest["store"].get("chroma_path") or str(path.parent / f"{path.name}.chroma"))
    return path / "store"


def _write_store(
    tmp: Path, out: Path, manifest: dict[str, Any], config: Config, units: Sequence[Chunk], dense: DenseVectors
) -> None:
    """Fill the configured vector store with every embedded unit's vector and save it (Chroma: sync its
    collection). Units without a vector (data-like) are left out, so a dense search never returns them."""
    from ..stores.base import chunk_key, make_store

    vectors = dense.vectors
    keys = np.array([chunk_key(u.id) for u in units], dtype=np.int64)
    _, first = np.unique(keys, return_index=True)
    if len(first) < len(keys):
        log.warning(
            "%d units share a chunk key with another unit; only the first is searchable densely", len(keys) - len(first)
        )
    rows = np.sort(first)
    if dense.skip:
        rows = np.array([r for r in rows if int(r) not in dense.skip], dtype=np.int64)
    if config.store.backend == "chroma":
        folder = store_folder(out, manifest)
        store = make_store(config.store, dense.dim, folder)
        have = set(store.ids())  # type: ignore[attr-defined]
        want = set(keys[rows].tolist())
        store.remove(sorted(have - want))
        rows = np.array([r for r in rows if int(keys[r]) not in have], dtype=np.int64)
    else:
        store = make_store(config.store, dense.dim)
    for s in range(0, len(rows), 8192):
        part = rows[s : s + 8192]
        store.add(keys[part], np.asarray(vectors[part]))
    store.save(tmp / "store")


def is_data_like(unit: Chunk) -> bool:
    """Units the chunker flags as data (``meta["data_like"]``: id lists, tables, numbers, logs)."""
    return bool(unit.meta.get("data_like"))


def embeds_data_like(config: Config) -> bool:
    """Data-like units get vectors only with ``retrieval.data_like=all``; by default they are searched lexically
    and never embedded (about a third of some repositories' units, and no task is answered from them)."""
    return config.retrieval.data_like == "all"


def never_embedded(units: Sequence[Chunk], config: Config) -> frozenset[int]:
    """The rows of ``units`` that get no vector under ``config``."""
    if embeds_data_like(config):
        return frozenset()
    return frozenset(i for i, u in enumerate(units) if is_data_like(u))


def _write_jsonl(path: Path, chunks: Sequence[Chunk]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for c in chunks:
            fh.write(json.dumps(c.to_dict(), ensure_ascii=False) + "\n")


def _mlrag_version() -> str:
    from .. import __version__

    return __version__
