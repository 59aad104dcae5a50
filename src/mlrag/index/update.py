"""Building and updating an index folder: chunk, embed what must be embedded (reusing what it can), write.

- Full (``dense="full"``, what ``mlrag index`` builds): vectors of units whose embedder text is unchanged are
  copied from the previous index (matched by text hash), then the embedding cache (``<index_dir>/
  embeddings.sqlite``, keyed by model id and text hash) is asked, and only the rest is embedded. Data-like
  units (``meta["data_like"]``) are never embedded. An unchanged repository re-indexes with zero embeddings.
- Lexical first (``dense="none"``, what a first search with ``retrieval.dense=lazy|off`` builds): chunks, BM25
  and the affordance catalog only, in seconds; no model is loaded. Vectors come later, per query, for the units
  that can reach the context (``lazy.py``), through the same cache, so a later full build reuses them.
- Chunking, pure and cheap next to embedding, is redone for the whole corpus whenever anything changed, because
  argument cards link README chunks and scripts across files.
- Vectors stream into a memory-mapped ``vectors.npy`` in groups, so build memory is bounded by the batch group.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Config
from .folders import new_tmp, remove_stale
from .manifest import FORMAT_VERSION, read_manifest
from .writer import BuildStats, Corpus, DenseVectors, is_data_like, never_embedded, write_index_files

log = logging.getLogger(__name__)


def build_into(
    out: Path, root: Path, name: str, files: Sequence[Any], config: Config, *, dense: str, progress: bool, t0: float
) -> BuildStats:
    """Chunk ``files``, embed them when ``dense == "full"`` (``"none"``: lexical first) and atomically write
    the index folder ``out``."""
    from ..chunking import chunk_files

    chunked = chunk_files(((f.path, f.text) for f in files), config.chunking, token_counter_for(config))
    corpus = Corpus(root, name, files, chunked.units, chunked.contexts)
    remove_stale(out)
    tmp = new_tmp(out)
    try:
        if dense == "full":
            return _write_full(tmp, out, corpus, config, progress=progress, t0=t0)
        return write_index_files(tmp, out, corpus, config, None, t0=t0)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _write_full(tmp: Path, out: Path, corpus: Corpus, config: Config, *, progress: bool, t0: float) -> BuildStats:
    from ..chunking import embed_text
    from ..embedding import embed_many, get_embedder

    embedder = get_embedder(config.embedding)
    units = corpus.units
    texts = [embed_text(u, config.chunking) for u in units]
    skip = never_embedded(units, config)
    vectors = np.lib.format.open_memmap(
        tmp / "vectors.npy", mode="w+", dtype=np.float32, shape=(len(units), embedder.dim)
    )
    filled = copy_previous(out, config, embedder, texts, vectors)
    todo = [i for i in range(len(units)) if i not in filled and i not in skip]
    if skip & filled:
        vectors[sorted(skip & filled)] = 0.0
    cache = open_cache(out.parent) if config.embedding.cache else None
    try:
        _, embedded = embed_many(
            embedder, [texts[i] for i in todo], cache=cache, progress=progress, out=vectors, rows=todo
        )
    finally:
        if cache is not None:
            cache.close()
    vectors.flush()
    dense = DenseVectors(vectors, embedder.id, embedder.dim, embedded, skip=skip)
    stats = write_index_files(tmp, out, corpus, config, dense, t0=t0)
    del vectors
    return stats


def open_cache(index_dir: Path) -> Any:
    """The embedding cache beside the indexes, or None (logged) when it cannot be opened: a corrupt or
    unwritable ``embeddings.sqlite`` costs re-embedding, never the build."""
    from ..embedding import EmbeddingCache

    path = index_dir / "embeddings.sqlite"
    try:
        return EmbeddingCache(path)
    except (sqlite3.Error, OSError) as e:
        log.warning(
            "embedding cache %s is unusable (%s); continuing without it (delete the file to start anew)", path, e
        )
        return None


def token_counter_for(config: Config) -> Any:
    """The chunker's token counter for ``config``'s embedder, the one every build uses, loading no model
    when a ``tokenizer.json`` gives the same counts (``minilm``, local folders) or the embedder is cheap."""
    from ..chunking import TokenCounter
    from ..embedding import get_embedder

    model = config.embedding.model
    if model == "minilm":
        return TokenCounter.minilm()
    if (Path(model) / "tokenizer.json").is_file():
        return TokenCounter(Path(model) / "tokenizer.json")
    if model.split(":", 1)[0] == "fake":
        return token_counter(get_embedder(config.embedding))
    cpu = config.embedding.__class__(**{**config.embedding.__dict__, "device": "cpu"})
    return token_counter(get_embedder(cpu))


def token_counter(embedder: Any) -> Any:
    """The chunker's token counter: the embedder's ``tokenizer.json`` (batched counts) or its ``count_tokens``."""
    tj = getattr(embedder, "tokenizer_json", None)
    if tj is not None:
        from ..chunking import TokenCounter

        return TokenCounter(tj)
    return embedder.count_tokens


def copy_previous(out: Path, config: Config, embedder: Any, texts: Sequence[str], vectors: np.ndarray) -> set[int]:
    """Fill rows of ``vectors`` whose text the previous full index at ``out`` already embedded; return them."""
    from ..chunking import embed_text
    from ..embedding import text_hash
    from .loader import read_jsonl

    old = read_manifest(out)
    if old is None or old.get("format_version") != FORMAT_VERSION or old.get("dense", "full") != "full":
        return set()
    if old.get("embedder") != {"id": embedder.id, "dim": embedder.dim}:
        return set()
    try:
        old_units = read_jsonl(out / "chunks.jsonl")
        old_vecs = np.load(out / "vectors.npy", mmap_mode="r")
    except (OSError, ValueError, KeyError, TypeError):
        log.warning("previous index at %s is unreadable; embedding everything again", out)
        return set()
    if old_vecs.shape != (len(old_units), embedder.dim):
        return set()
    skip = set() if old.get("embeds_data_like") else {i for i, u in enumerate(old_units) if is_data_like(u)}
    by_hash = {text_hash(embed_text(u, config.chunking)): i for i, u in enumerate(old_units) if i not in skip}
    rows, src = [], []
    for i, t in enumerate(texts):
        j = by_hash.get(text_hash(t))
        if j is not None:
            rows.append(i)
            src.append(j)
    for s in range(0, len(rows), 4096):
        vectors[rows[s : s + 4096]] = old_vecs[src[s : s + 4096]]
    return set(rows)
