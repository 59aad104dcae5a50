"""The vector-store interface: int64 ids -> unit vectors, inner-product search.

Ids are 63-bit integers derived from chunk ids (``chunk_key``), so a store never needs a separate id table and
removing a chunk removes exactly its vector. Every store returns ``(scores, ids)`` arrays of shape (q, k),
padded with ``-inf`` / ``-1`` when fewer than ``k`` vectors exist, ties broken by smaller id (as the numpy
reference does), so stores can be compared row for row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ..config import StoreConfig
from ..errors import ConfigError
from ..registry import Registry

if TYPE_CHECKING:  # numpy is imported where arrays are made, so the registry is cheap to consult
    import numpy as np


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
#: The entry-point group a package uses to add a store: ``name = "package.module:factory"``, where
#: ``factory(config, dim, folder)`` makes a new store (or opens the one saved in ``folder``).
ENTRY_POINTS = "mlrag.stores"


def _register_builtins() -> None:
    def numpy_new(cfg: StoreConfig, dim: int, folder: Path | None) -> VectorStore:
        from .numpy_store import NumpyStore

        return NumpyStore(dim)

    def numpy_load(cfg: StoreConfig, dim: int, folder: Path | None) -> VectorStore:
        from .numpy_store import NumpyStore

        return NumpyStore.load(_need(folder))

    def faiss_new(cfg: StoreConfig, dim: int, folder: Path | None) -> VectorStore:
        from .faiss_store import FaissStore

        return FaissStore(dim, approx_threshold=cfg.approx_threshold)

    def faiss_load(cfg: StoreConfig, dim: int, folder: Path | None) -> VectorStore:
        from .faiss_store import FaissStore

        return FaissStore.load(_need(folder), approx_threshold=cfg.approx_threshold)

    def chroma_new(cfg: StoreConfig, dim: int, folder: Path | None) -> VectorStore:
        from .chroma_store import ChromaStore

        return ChromaStore.from_config(cfg, dim, folder)

    register_store("numpy", numpy_new, numpy_load)
    register_store("faiss", faiss_new, faiss_load)
    register_store("chroma", chroma_new)  # chroma persists itself; opening is loading


#: ``store.backend`` name -> (factory, loader); a plugin's one factory is both.
STORES: Registry[tuple[StoreFactory, StoreFactory]] = Registry(
    "store backend", ENTRY_POINTS, builtins=_register_builtins, adapt=lambda factory: (factory, factory)
)


def register_store(name: str, factory: StoreFactory, loader: StoreFactory | None = None) -> None:
    """Make ``StoreConfig(backend=name)`` build a store with ``factory(config, dim, folder)``; ``loader`` opens a
    saved one (default: ``factory``, for stores that persist themselves). Built-ins register the same way."""
    STORES.register(name, (factory, loader or factory))


def store_names() -> list[str]:
    """Every store backend: the built-ins, those registered in code, and entry points of the ``mlrag.stores``
    group. ``config`` validates ``store.backend`` against ``STORES``."""
    return STORES.names()


def make_store(config: StoreConfig, dim: int, folder: Path | None = None, *, load: bool = False) -> VectorStore:
    """A new (or, with ``load=True``, the saved one in ``folder``) store of kind ``config.backend``.

    Raises:
        ConfigError: the backend is not registered, or its plugin cannot be loaded.
    """
    entry = STORES.get(config.backend)
    if entry is None:
        raise ConfigError(STORES.unknown("store.backend", config.backend))
    factory, loader = entry
    return (loader if load else factory)(config, dim, folder)


def _need(folder: Path | None) -> Path:
    if folder is None:
        raise ConfigError("loading a vector store needs its folder")
    return folder


#: The largest k a store searches for (results are padded to k columns, so k bounds memory).
MAX_TOPK = 100_000


def pad_topk(scores: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Pad (q, m) results with m < k to (q, k) using -inf / -1.

    Raises:
        ConfigError: ``k`` is negative or over ``MAX_TOPK`` (padding would allocate k columns per query).
    """
    import numpy as np

    if not 0 <= k <= MAX_TOPK:
        raise ConfigError(f"top-k search: k must be between 0 and {MAX_TOPK}, got {k}")

    q, m = ids.shape
    if m >= k:
        return scores[:, :k], ids[:, :k]
    s = np.full((q, k), -np.inf, dtype=np.float32)
    i = np.full((q, k), -1, dtype=np.int64)
    s[:, :m], i[:, :m] = scores, ids
    return s, i
