"""Vector stores: int64 chunk keys -> unit vectors with top-k inner-product search. See ``base.py``.

The registry (``register_store``, ``store_names``) is cheap to import; ``NumpyStore`` loads numpy on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import VectorStore, chunk_key, make_store, register_store, store_names

if TYPE_CHECKING:
    from .numpy_store import NumpyStore

__all__ = ["NumpyStore", "VectorStore", "chunk_key", "make_store", "register_store", "store_names"]


def __getattr__(name: str) -> Any:
    if name == "NumpyStore":
        from .numpy_store import NumpyStore

        return NumpyStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
