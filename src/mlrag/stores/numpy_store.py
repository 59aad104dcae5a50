"""Brute-force inner product in numpy: the dependency-free reference that faiss must match.

Vectors live in one (n, dim) float32 matrix with a parallel id array; removal compacts both. Ties in score are
broken by smaller id, so results are fully deterministic. ``load`` memory-maps the saved matrix.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import IndexMismatchError
from .base import pad_topk


class NumpyStore:
    """Exact top-k over a dense matrix.

    Example:
        >>> s = NumpyStore(2); s.add([7, 9], np.eye(2, dtype=np.float32)); s.search(np.array([[0, 1.0]]), 1)[1]
        array([[9]])
    """

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.vecs = np.zeros((0, dim), dtype=np.float32)
        self.ids = np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def add(self, ids: Sequence[int] | np.ndarray, vecs: np.ndarray) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        vecs = np.asarray(vecs, dtype=np.float32).reshape(len(ids), self.dim)
        self.remove(ids)
        self.vecs = np.concatenate([np.asarray(self.vecs), vecs])
        self.ids = np.concatenate([self.ids, ids])

    def remove(self, ids: Sequence[int] | np.ndarray) -> None:
        drop = np.isin(self.ids, np.asarray(ids, dtype=np.int64))
        if drop.any():
            self.vecs, self.ids = np.asarray(self.vecs)[~drop], self.ids[~drop]

    def search(self, vecs: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        q = np.asarray(vecs, dtype=np.float32).reshape(-1, self.dim)
        if len(self) == 0 or k <= 0:
            return pad_topk(np.zeros((len(q), 0), np.float32), np.zeros((len(q), 0), np.int64), k)
        scores = q @ np.asarray(self.vecs).T  # (q, n)
        kk = min(k, len(self))
        # lexsort per row: primary -score, secondary id (deterministic ties)
        order = np.stack([np.lexsort((self.ids, -row))[:kk] for row in scores])
        return pad_topk(np.take_along_axis(scores, order, 1).astype(np.float32), self.ids[order], k)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "store_vectors.npy", np.asarray(self.vecs))
        np.save(folder / "store_ids.npy", self.ids)

    @classmethod
    def load(cls, folder: Path) -> "NumpyStore":
        try:
            vecs = np.load(folder / "store_vectors.npy", mmap_mode="r")
            ids = np.load(folder / "store_ids.npy")
        except (OSError, ValueError) as e:
            raise IndexMismatchError(f"numpy store in {folder} is missing or corrupt ({e})") from None
        s = cls(int(vecs.shape[1]))
        s.vecs, s.ids = vecs, ids
        return s
