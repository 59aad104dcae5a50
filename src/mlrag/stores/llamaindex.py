"""llama-index adapters, both directions.

- ``MlragRetriever``: an mlrag ``Index`` (anything with ``.search(query, k, **options) -> list[Hit]``) as a
  llama-index retriever, so mlrag's hybrid retrieval and context packing can sit inside a llama-index query
  engine. Each hit becomes a ``TextNode`` (id = matched unit's id, text = the hit's context text) with the
  location in its metadata.
- ``LlamaIndexStore``: any llama-index vector store (``SimpleVectorStore``, or one backed by a database) as an
  mlrag ``VectorStore``; mlrag passes the embeddings, the store only keeps and searches them.

This module imports llama-index at the top, so import it only where the adapter is wanted (``mlrag.stores``
does not import it).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import require
from .base import pad_topk

require("llama_index.core", "llamaindex", "the llama-index adapters")

from llama_index.core.retrievers import BaseRetriever  # noqa: E402
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode  # noqa: E402
from llama_index.core.vector_stores.types import VectorStoreQuery  # noqa: E402


class MlragRetriever(BaseRetriever):
    """An mlrag index as a llama-index retriever.

    Example:
        >>> retriever = MlragRetriever(index, k=5, mode="hybrid")
        >>> nodes = retriever.retrieve("train ARMA on citeseer")  # list[NodeWithScore]
    """

    def __init__(self, index: Any, k: int = 5, **search_options: Any) -> None:
        super().__init__()
        self._index = index
        self._k = k
        self._options = search_options

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        hits = self._index.search(query_bundle.query_str, self._k, **self._options)
        return [
            NodeWithScore(
                node=TextNode(
                    id_=h.chunk.id,
                    text=h.text,
                    metadata={
                        "repo": h.repo,
                        "path": h.path,
                        "start_line": h.start_line,
                        "end_line": h.end_line,
                        "kind": h.chunk.kind,
                        "title": h.chunk.title,
                    },
                ),
                score=h.score,
            )
            for h in hits
        ]


class LlamaIndexStore:
    """A llama-index vector store behind mlrag's ``VectorStore`` interface (ids are chunk keys as strings).

    Example:
        >>> from llama_index.core.vector_stores import SimpleVectorStore
        >>> s = LlamaIndexStore(SimpleVectorStore(), dim=2); s.add([7], np.ones((1, 2), np.float32))
    """

    def __init__(self, store: Any, dim: int) -> None:
        self.store = store
        self.dim = dim
        self._ids: set[int] = set()

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, ids: Sequence[int] | np.ndarray, vecs: np.ndarray) -> None:
        ids = [int(i) for i in ids]
        vecs = np.asarray(vecs, dtype=np.float32).reshape(len(ids), self.dim)
        self.remove([i for i in ids if i in self._ids])
        nodes = [TextNode(id_=str(i), text="", embedding=v.tolist()) for i, v in zip(ids, vecs)]
        self.store.add(nodes)
        self._ids.update(ids)

    def remove(self, ids: Sequence[int] | np.ndarray) -> None:
        gone = [int(i) for i in ids if int(i) in self._ids]
        if gone:
            self.store.delete_nodes(node_ids=[str(i) for i in gone])
            self._ids.difference_update(gone)

    def search(self, vecs: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        q = np.asarray(vecs, dtype=np.float32).reshape(-1, self.dim)
        kk = min(k, len(self))
        scores = np.full((len(q), max(kk, 0)), -np.inf, dtype=np.float32)
        ids = np.full((len(q), max(kk, 0)), -1, dtype=np.int64)
        for r, v in enumerate(q):
            if kk <= 0:
                break
            res = self.store.query(VectorStoreQuery(query_embedding=v.tolist(), similarity_top_k=kk))
            pairs = sorted(
                ((float(s), int(i)) for i, s in zip(res.ids or [], res.similarities or [])), key=lambda p: (-p[0], p[1])
            )
            for c, (s, i) in enumerate(pairs[:kk]):
                scores[r, c], ids[r, c] = s, i
        return pad_topk(scores, ids, k)

    def save(self, folder: Path) -> None:
        """Persist the wrapped store when it can (``persist(persist_path)``)."""
        persist = getattr(self.store, "persist", None)
        if persist is not None:
            folder.mkdir(parents=True, exist_ok=True)
            persist(persist_path=str(folder / "llamaindex_store.json"))
