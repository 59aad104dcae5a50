"""faiss: the default vector store.

Exact inner product (``IndexFlatIP``) below ``approx_threshold`` vectors, HNSW (M=32, efSearch=128) above it,
both wrapped in ``IndexIDMap2`` so vectors are addressed by chunk key and can be removed and reconstructed.
HNSW cannot delete in place; removing from it rebuilds from the kept vectors (reconstructed from the index), which
is rare (incremental updates of very large indexes) and keeps the store self-contained. The flat index is read
back memory-mapped where faiss allows it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IndexMismatchError, require
from .base import pad_topk

log = logging.getLogger(__name__)

FILE = "faiss.index"
HNSW_M = 32
HNSW_EF_SEARCH = 128


class FaissStore:
    """Vectors in a faiss ``IndexIDMap2``.

    Example:
        >>> s = FaissStore(2); s.add([7, 9], np.eye(2, dtype=np.float32)); s.search(np.array([[0, 1.0]]), 1)[1]
        array([[9]])
    """

    def __init__(self, dim: int, *, approx_threshold: int = 200_000, index: Any = None) -> None:
        self._faiss = require("faiss", "faiss", "the faiss vector store")
        self.dim = dim
        self.approx_threshold = approx_threshold
        self.index = index if index is not None else self._new(approximate=False)

    def _new(self, approximate: bool) -> Any:
        f = self._faiss
        if approximate:
            inner = f.IndexHNSWFlat(self.dim, HNSW_M, f.METRIC_INNER_PRODUCT)
            inner.hnsw.efSearch = HNSW_EF_SEARCH
        else:
            inner = f.IndexFlatIP(self.dim)
        return f.IndexIDMap2(inner)

    @property
    def approximate(self) -> bool:
        return not isinstance(self._faiss.downcast_index(self.index.index), self._faiss.IndexFlat)

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def _all(self) -> tuple[np.ndarray, np.ndarray]:
        ids = self._faiss.vector_to_array(self.index.id_map).astype(np.int64)
        vecs = self.index.index.reconstruct_n(0, self.index.ntotal) if len(ids) else np.zeros((0, self.dim))
        return ids, np.asarray(vecs, dtype=np.float32)

    def add(self, ids: Sequence[int] | np.ndarray, vecs: np.ndarray) -> None:
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        vecs = np.ascontiguousarray(vecs, dtype=np.float32).reshape(len(ids), self.dim)
        if len(ids) == 0:
            return
        self.remove(ids)
        if not self.approximate and len(self) + len(ids) > self.approx_threshold:
            old_ids, old_vecs = self._all()
            log.info("faiss: %d vectors > %d, switching to HNSW", len(self) + len(ids), self.approx_threshold)
            self.index = self._new(approximate=True)
            if len(old_ids):
                self.index.add_with_ids(old_vecs, old_ids)
        self.index.add_with_ids(vecs, ids)

    def remove(self, ids: Sequence[int] | np.ndarray) -> None:
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if len(ids) == 0 or len(self) == 0:
            return
        if not self.approximate:
            self.index.remove_ids(ids)
            return
        all_ids, all_vecs = self._all()  # HNSW: no in-place delete, rebuild from the kept vectors
        keep = ~np.isin(all_ids, ids)
        if keep.all():
            return
        self.index = self._new(approximate=int(keep.sum()) > self.approx_threshold)
        if keep.any():
            self.index.add_with_ids(all_vecs[keep], all_ids[keep])

    def search(self, vecs: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        q = np.ascontiguousarray(vecs, dtype=np.float32).reshape(-1, self.dim)
        kk = min(k, len(self))
        if kk <= 0:
            return pad_topk(np.zeros((len(q), 0), np.float32), np.zeros((len(q), 0), np.int64), k)
        scores, ids = self.index.search(q, kk)
        scores = np.where(ids < 0, -np.inf, scores).astype(np.float32)
        return pad_topk(scores, ids.astype(np.int64), k)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._faiss.write_index(self.index, str(folder / FILE))

    @classmethod
    def load(cls, folder: Path, *, approx_threshold: int = 200_000) -> "FaissStore":
        f = require("faiss", "faiss", "the faiss vector store")
        path = folder / FILE
        if not path.is_file():
            raise IndexMismatchError(f"faiss store file {path} is missing")
        try:
            index = f.read_index(str(path), f.IO_FLAG_MMAP | f.IO_FLAG_READ_ONLY)
        except RuntimeError:
            try:
                index = f.read_index(str(path))
            except RuntimeError as e:
                raise IndexMismatchError(f"faiss store file {path} is corrupt ({str(e).splitlines()[0]})") from None
        store = cls(index.d, approx_threshold=approx_threshold, index=index)
        return store
