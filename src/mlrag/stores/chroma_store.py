"""Chroma as a vector store: a persistent local client, or a Chroma server through its HTTP client.

mlrag always passes its own embeddings (the collection is created with ``embedding_function=None``), so Chroma
never downloads or runs its default model. The collection uses inner-product space; Chroma reports
``distance = 1 - dot`` and the store returns ``1 - distance``. Ids are the chunk keys as decimal strings.
Chroma's HNSW is approximate even for small collections; the faiss store is the exact default.

Chroma persists by itself: ``save`` only records where the collection lives, and the local folder defaults to
``<index>.chroma`` beside the index folder (not inside it), because index folders are replaced on rebuild.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..config import StoreConfig
from ..errors import BackendError, require
from .base import pad_topk

_BATCH = 4096  # below Chroma's max batch size


def collection_name(folder: Path | None, fallback: str = "mlrag") -> str:
    """A valid Chroma collection name (3-512 chars of [a-zA-Z0-9._-]) derived from the store folder."""
    raw = folder.name if folder is not None else fallback
    name = re.sub(r"[^A-Za-z0-9._-]", "-", raw).strip("._-") or fallback
    return f"mlrag-{name}"[:512]


class ChromaStore:
    """Vectors in one Chroma collection.

    Example:
        >>> s = ChromaStore.local(Path("/tmp/chroma-demo"), dim=2)
        >>> s.add([7, 9], np.eye(2, dtype=np.float32)); s.search(np.array([[0, 1.0]]), 1)[1]
        array([[9]])
    """

    def __init__(self, client: Any, name: str, dim: int, where: dict[str, Any]) -> None:
        self.client = client
        self.dim = dim
        self.where = where
        self.collection = client.get_or_create_collection(
            name, embedding_function=None, configuration={"hnsw": {"space": "ip"}}
        )

    @classmethod
    def local(cls, folder: Path, dim: int, name: str | None = None) -> "ChromaStore":
        chromadb = require("chromadb", "chroma", "the Chroma vector store")
        folder.mkdir(parents=True, exist_ok=True)
        client = chromadb.PersistentClient(path=str(folder))
        return cls(client, name or collection_name(folder), dim, {"path": str(folder)})

    @classmethod
    def http(cls, host: str, port: int, dim: int, name: str) -> "ChromaStore":
        chromadb = require("chromadb", "chroma", "the Chroma vector store")
        try:
            client = chromadb.HttpClient(host=host, port=port)
            client.heartbeat()
        except Exception as e:  # chromadb raises several unrelated types for an unreachable server
            raise BackendError(
                f"Chroma server at {host}:{port} cannot be reached ({e}); start one with "
                f"`chroma run --host {host} --port {port}`"
            ) from None
        return cls(client, name, dim, {"host": host, "port": port})

    @classmethod
    def from_config(cls, config: StoreConfig, dim: int, folder: Path | None) -> "ChromaStore":
        """HTTP client when ``chroma_host`` is set, else a local client in ``chroma_path`` or ``folder``."""
        name = collection_name(folder)
        if config.chroma_host:
            return cls.http(config.chroma_host, config.chroma_port, dim, name)
        path = Path(config.chroma_path) if config.chroma_path else folder
        if path is None:
            raise BackendError("store.backend=chroma needs store.chroma_path, store.chroma_host or an index folder")
        return cls.local(path, dim, name)

    def __len__(self) -> int:
        return int(self.collection.count())

    def ids(self) -> list[int]:
        """Every id in the collection."""
        return [int(i) for i in self.collection.get(include=[])["ids"]]

    def add(self, ids: Sequence[int] | np.ndarray, vecs: np.ndarray) -> None:
        keys = [str(int(i)) for i in ids]
        vecs = np.asarray(vecs, dtype=np.float32).reshape(len(keys), self.dim)
        for s in range(0, len(keys), _BATCH):
            self.collection.upsert(ids=keys[s : s + _BATCH], embeddings=vecs[s : s + _BATCH])

    def remove(self, ids: Sequence[int] | np.ndarray) -> None:
        keys = [str(int(i)) for i in ids]
        for s in range(0, len(keys), _BATCH):
            self.collection.delete(ids=keys[s : s + _BATCH])

    def search(self, vecs: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        q = np.asarray(vecs, dtype=np.float32).reshape(-1, self.dim)
        kk = min(k, len(self))
        if kk <= 0:
            return pad_topk(np.zeros((len(q), 0), np.float32), np.zeros((len(q), 0), np.int64), k)
        res = self.collection.query(query_embeddings=q, n_results=kk, include=["distances"])
        scores = np.full((len(q), kk), -np.inf, dtype=np.float32)
        ids = np.full((len(q), kk), -1, dtype=np.int64)
        for r, (row_ids, dists) in enumerate(zip(res["ids"], res["distances"])):
            pairs = sorted(((1.0 - float(d), int(i)) for i, d in zip(row_ids, dists)), key=lambda p: (-p[0], p[1]))
            for c, (s, i) in enumerate(pairs):
                scores[r, c], ids[r, c] = s, i
        return pad_topk(scores, ids, k)

    def save(self, folder: Path) -> None:
        """Chroma persists on write; record where the collection lives."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "chroma.json").write_text(json.dumps({"collection": self.collection.name, **self.where}))
