"""Fusion of ranked lists: reciprocal rank fusion (default) and weighted score fusion.

Both are pure functions over ``[(row, score), ...]`` lists (best first) and return one fused list, ties broken
by row so results are deterministic (as in pyserini's run files). RRF ignores scores (robust when dense cosine
and BM25 live on different scales); weighted fusion min-max normalises each list first.
"""

from __future__ import annotations

from collections.abc import Sequence

Ranked = list[tuple[int, float]]


def rrf(lists: Sequence[Ranked], k: int = 60, weights: Sequence[float] | None = None) -> Ranked:
    """Reciprocal rank fusion: score(row) = sum_i w_i / (k + rank_i(row)), rank from 1.

    Example:
        >>> rrf([[(1, 9.0), (2, 5.0)], [(2, 0.8)]], k=60)[0][0]
        2
    """
    weights = weights or [1.0] * len(lists)
    fused: dict[int, float] = {}
    for w, lst in zip(weights, lists):
        for rank, (row, _) in enumerate(lst, start=1):
            fused[row] = fused.get(row, 0.0) + w / (k + rank)
    return sorted(fused.items(), key=lambda x: (-x[1], x[0]))


def weighted(lists: Sequence[Ranked], weights: Sequence[float]) -> Ranked:
    """Sum of min-max-normalised scores times ``weights`` (a row missing from a list scores 0 there)."""
    fused: dict[int, float] = {}
    for w, lst in zip(weights, lists):
        if not lst:
            continue
        scores = [s for _, s in lst]
        lo, hi = min(scores), max(scores)
        span = hi - lo
        for row, s in lst:
            norm = (s - lo) / span if span > 0 else 1.0
            fused[row] = fused.get(row, 0.0) + w * norm
    return sorted(fused.items(), key=lambda x: (-x[1], x[0]))
