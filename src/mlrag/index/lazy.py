"""Row vectors for dense search that are not all in ``vectors.npy``: lexical-first indexes and data-like units.

A lexical-first index (manifest ``dense: none``) is searched with ``retrieval.dense=lazy``: for each query the
``Searcher`` picks the rows that can reach the context (the BM25 and path-prior candidates, the root README's
units, the cards of the candidate files; see ``Searcher.lazy_candidates``), ``LazyVectors.ensure`` embeds those
still missing, through the persistent embedding cache (``<index_dir>/embeddings.sqlite``, keyed by model id and
text hash, shared with full builds), and the dense ranking runs over those rows only. A second query in a new
process finds its overlap with the first in the cache; ``mlrag index`` later fills the rest.

A full index holds a vector for every unit except data-like ones (``meta["data_like"]``): ``FixedRows`` keeps
those out of filtered dense searches (the vector store never holds them).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..config import ChunkingConfig
from ..types import Chunk


class FixedRows:
    """The rows of a full index that have a vector (every unit but the data-like ones); nothing to compute."""

    lazy = False

    def __init__(self, vectors: np.ndarray, skip: frozenset[int]) -> None:
        self.vectors = vectors
        self.available = np.ones(len(vectors), dtype=bool)
        self.available[sorted(skip)] = False

    def ensure(self, rows: np.ndarray) -> None:
        return None


class LazyVectors:
    """Vectors computed on demand for the rows a query needs; rows already computed are kept in memory.

    ``available[row]`` is True once ``vectors[row]`` holds the unit's vector; data-like units never get one.
    ``embedded`` counts the rows this process had to embed (cache misses); ``cached`` those the cache had.
    """

    lazy = True

    def __init__(
        self,
        units: Sequence[Chunk],
        chunking: ChunkingConfig,
        embedder: Callable[[], Any],
        cache_dir: Path | None,
        skip: frozenset[int] = frozenset(),
    ) -> None:
        self.units = units
        self.chunking = chunking
        self._embedder = embedder
        self.cache_dir = cache_dir
        self.available = np.zeros(len(units), dtype=bool)
        self.skip = np.zeros(len(units), dtype=bool)  # rows never embedded (data-like units)
        self.skip[sorted(skip)] = True
        self.vectors = np.zeros((len(units), 0), dtype=np.float32)  # (units, dim) once the embedder is known
        self.embedded = 0
        self.cached = 0
        self._lock = threading.Lock()

    def ensure(self, rows: np.ndarray | Sequence[int]) -> None:
        """Give every row in ``rows`` (unit row numbers) its vector, embedding only what the cache lacks."""
        from ..chunking import embed_text
        from ..embedding import embed_many
        from .update import open_cache

        want = np.unique(np.asarray(rows, dtype=np.int64))
        with self._lock:
            want = want[~self.available[want] & ~self.skip[want]] if want.size else want
            if not want.size:
                return
            emb = self._embedder()
            if self.vectors.shape[1] != emb.dim:
                self.vectors = np.zeros((len(self.units), emb.dim), dtype=np.float32)
                self.available[:] = False
            texts = [embed_text(self.units[int(r)], self.chunking) for r in want]
            cache = open_cache(self.cache_dir) if self.cache_dir is not None else None
            try:
                _, n = embed_many(emb, texts, cache=cache, out=self.vectors, rows=[int(r) for r in want])
            finally:
                if cache is not None:
                    cache.close()
            self.available[want] = True
            self.embedded += n
            self.cached += len(want) - n
