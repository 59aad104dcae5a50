"""Dense search: the query vector against the vector store, with exact filtered search.

Unfiltered queries go to the store (faiss/Chroma/...); their ids (chunk keys) map back to unit rows. A filtered
query (path globs, kinds) scores only the allowed rows of the row-aligned vector matrix with one numpy product:
exact, never empty because an ANN index returned only filtered-out neighbours, and cheap at repository scale.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..stores.base import VectorStore

Ranked = list[tuple[int, float]]


def dense_search(
    qvec: np.ndarray,
    k: int,
    *,
    store: VectorStore,
    key_to_row: Mapping[int, int],
    vectors: np.ndarray,
    mask: np.ndarray | None = None,
) -> Ranked:
    """Top-``k`` unit rows for the (dim,) query vector, best first, ties by row."""
    if k <= 0 or len(key_to_row) == 0:
        return []
    if mask is not None:
        rows = np.flatnonzero(mask)
        if rows.size == 0:
            return []
        scores = np.asarray(vectors[rows]) @ qvec.astype(np.float32)
        top = np.lexsort((rows, -scores))[:k]
        return [(int(rows[i]), float(scores[i])) for i in top]
    scores_, ids = store.search(qvec.reshape(1, -1), k)
    out = [(key_to_row[int(i)], float(s)) for s, i in zip(scores_[0], ids[0]) if i >= 0 and int(i) in key_to_row]
    out.sort(key=lambda x: (-x[1], x[0]))
    return out
