"""The vector-store interface: int64 ids -> unit vectors, inner-product search.

Ids are 63-bit integers derived from chunk ids (``chunk_key``), so a store never needs a separate id table and
removing a chunk removes exactly its vector. Every store returns ``(scores, ids)`` arrays of shape (q, k),
padded with ``-inf`` / ``-1`` when fewer than ``k`` vectors exist, ties broken by smaller id (as the numpy
reference does), so stores can be compared row for row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from ..config import StoreConfig
from ..errors import ConfigError


def chunk_key(chunk_id: str) -> int:
    """The store id of a chunk: its 16-hex id's first 15 digits as a non-negative int64."""
    return int(chunk_id[:15], 16)


@runtime_checkable
class VectorStore(Protocol):
    """Vectors by int64 id with top-k inner-product search."""

    dim: int

    def add(self, ids: Sequence[int] | np.ndarray, vecs: np.ndarray) -> None:
        """Add (or replace) vectors ``vecs`` (n, dim) under ``ids`` (n,)."""
        ...

    def remove(self, ids: Sequence[int] | np.ndarray) -> None:
        """Remove the vectors under ``ids`` (unknown ids are ignored)."""
        ...

    def search(self, vecs: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` by inner product for each query row -> (scores (q, k) float32, ids (q, k) int64)."""
        ...

    def __len__(self) -> int: ...

    def save(self, folder: Path) -> None:
        """Write the store's files into ``folder``."""
        ...


StoreFactory = Callable[[StoreConfig, int, "Path | None"], VectorStore]
_FACTORIES: dict[str, StoreFactory] = {}


def register_store(name: str, factory: StoreFactory) -> None:
    """Make ``StoreConfig(backend=name)`` build a store with ``factory(config, dim, folder)``."""
    _FACTORIES[name] = factory


def make_store(config: StoreConfig, dim: int, folder: Path | None = None, *, load: bool = False) -> VectorStore:
    """A new (or, with ``load=True``, the saved one in ``folder``) store of kind ``config.backend``."""
    _register_builtins()
    if config.backend not in _FACTORIES:
        raise ConfigError(f"store.backend: {config.backend!r} is not one of {', '.join(sorted(_FACTORIES))}")
    if load:
        return _LOADERS[config.backend](config, dim, folder)
    return _FACTORIES[config.backend](config, dim, folder)


_LOADERS: dict[str, StoreFactory] = {}


def _register_builtins() -> None:
    if "numpy" in _FACTORIES:
        return
    from .numpy_store import NumpyStore

    register_store("numpy", lambda cfg, dim, folder: NumpyStore(dim))
    _LOADERS["numpy"] = lambda cfg, dim, folder: NumpyStore.load(_need(folder))

    def faiss_new(cfg: StoreConfig, dim: int, folder: Path | None) -> VectorStore:
        from .faiss_store import FaissStore

        return FaissStore(dim, approx_threshold=cfg.approx_threshold)

    def faiss_load(cfg: StoreConfig, dim: int, folder: Path | None) -> VectorStore:
        from .faiss_store import FaissStore

        return FaissStore.load(_need(folder), approx_threshold=cfg.approx_threshold)

    def chroma_new(cfg: StoreConfig, dim: int, folder: Path | None) -> VectorStore:
        from .chroma_store import ChromaStore

        return ChromaStore.from_config(cfg, dim, folder)

    register_store("faiss", faiss_new)
    _LOADERS["faiss"] = faiss_load
    register_store("chroma", chroma_new)
    _LOADERS["chroma"] = chroma_new  # chroma persists itself; opening is loading


def _need(folder: Path | None) -> Path:
    if folder is None:
        raise ConfigError("loading a vector store needs its folder")
    return folder


def pad_topk(scores: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Pad (q, m) results with m < k to (q, k) using -inf / -1."""
    q, m = ids.shape
    if m >= k:
        return scores[:, :k], ids[:, :k]
    s = np.full((q, k), -np.inf, dtype=np.float32)
    i = np.full((q, k), -1, dtype=np.int64)
    s[:, :m], i[:, :m] = scores, ids
    return s, i
