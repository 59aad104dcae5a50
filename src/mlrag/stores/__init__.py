"""Vector stores: int64 chunk keys -> unit vectors with top-k inner-product search. See ``base.py``."""

from __future__ import annotations

from .base import VectorStore, chunk_key, make_store, register_store
from .numpy_store import NumpyStore

__all__ = ["NumpyStore", "VectorStore", "chunk_key", "make_store", "register_store"]
