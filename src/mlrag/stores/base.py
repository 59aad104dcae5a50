"""The vector-store interface: int64 ids -> unit vectors, inner-product search.

Ids are 63-bit integers derived from chunk ids (``chunk_key``), so a store never needs a separate id table and
removing a chunk removes exactly its vector. Every store returns ``(scores, ids)`` arrays of shape (q, k),
padded with ``-inf`` / ``-1`` when fewer than ``k`` vectors exist, ties broken by smaller id (as the numpy
reference does), so stores can be compared row for row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ..config import StoreConfig
from ..errors import ConfigError

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
_FACTORIES: dict[str, StoreFactory] = {}
_LOADERS: dict[str, StoreFactory] = {}
#: The entry-point group a package uses to add a store: ``name = "package.module:factory"``, where
#: ``factory(config, dim, folder)`` makes a new store (or opens the one saved in ``folder``).
ENTRY_POINTS = "mlrag.stores"


def register_store(name: str, factory: StoreFactory, loader: StoreFactory | None = None) -> None:
    """Make ``StoreConfig(backend=name)`` build a store with ``factory(config, dim, folder)``; ``loader`` opens a
    saved one (default: ``factory``, for stores that persist themselves). Built-ins register the same way."""
    _FACTORIES[name] = factory
    _LOADERS[name] = loader or factory


def store_names() -> list[str]:
    """Every registered store backend: the built-ins, those registered in code, and entry points of the
    ``mlrag.stores`` group (loaded on first use). ``config.StoreConfig`` validates ``store.backend`` here."""
    _register_builtins()
    return sorted(_FACTORIES)


def make_store(config: StoreConfig, dim: int, folder: Path | None = None, *, load: bool = False) -> VectorStore:
    """A new (or, with ``load=True``, the saved one in ``folder``) store of kind ``config.backend``."""
    if config.backend not in store_names():
        raise ConfigError(f"store.backend: {config.backend!r} is not one of {', '.join(store_names())}")
    if load:
        return _LOADERS[config.backend](config, dim, folder)
    return _FACTORIES[config.backend](config, dim, folder)


def _register_builtins() -> None:
    if "numpy" in _FACTORIES:
        return

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
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINTS):
        if ep.name not in _FACTORIES:
            register_store(ep.name, _lazy_entry_point(ep))


def _lazy_entry_point(ep: Any) -> StoreFactory:
    def make(cfg: StoreConfig, dim: int, folder: Path | None) -> VectorStore:
        try:
            factory = ep.load()
        except Exception as e:  # a broken plugin is one clear error, not a traceback from its import
            raise ConfigError(f"store.backend {ep.name!r}: its plugin {ep.value} cannot be loaded ({e})") from None
        return factory(cfg, dim, folder)  # type: ignore[no-any-return]

    return make


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
