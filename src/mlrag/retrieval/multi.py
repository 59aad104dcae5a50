"""Several repositories' indexes searched as namespaces of one index.

Each ``Index`` ranks its own units (same pipeline as ``Index.search``); the per-index rankings are fused by
reciprocal rank, so no repository's score scale dominates, then packed into hits once, each hit naming its
repository in ``Hit.repo``. Units of different repositories never merge, because merging needs the same path
*and* overlapping lines of one file; two repositories with the same path and overlapping ranges are the one
exception, accepted for simplicity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from ..errors import IndexMismatchError
from ..types import Chunk, Hit
from .context import pack
from .hybrid import rrf

if TYPE_CHECKING:
    from ..index import Index


class MultiIndex:
    """Several repositories' indexes searched as namespaces of one.

    Each index ranks its own units; the per-index rankings are fused by reciprocal rank, so no repository's score
    scale dominates, and hits carry their repository's name in ``Hit.repo``.

    Example:
        >>> both = MultiIndex([dgl_index, esm_index])  # doctest: +SKIP
        >>> both.search("train GCN on cora", k=5, repos=["dgl"])  # doctest: +SKIP
    """

    def __init__(self, indexes: Sequence[Index]) -> None:
        names = [i.name for i in indexes]
        if len(set(names)) != len(names):
            raise IndexMismatchError(f"MultiIndex needs distinct repository names, got {names}")
        self.indexes = {i.name: i for i in indexes}

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        repos: Sequence[str] | None = None,
        mode: str | None = None,
        budget_chars: int | None = None,
        context_unit: str | None = None,
        paths: list[str] | None = None,
        kinds: list[str] | None = None,
    ) -> list[Hit]:
        """Top-``k`` hits over the chosen ``repos`` (all by default); other options as ``Index.search``."""
        chosen = [self.indexes[n] for n in (repos or self.indexes) if n in self.indexes]
        if repos and len(chosen) != len(set(repos)):
            unknown = sorted(set(repos) - set(self.indexes))
            raise IndexMismatchError(f"unknown repositories {unknown}; this MultiIndex holds {sorted(self.indexes)}")
        if not chosen:
            return []
        cfg = chosen[0].config.retrieval
        n = max(cfg.candidates, k)
        lists: list[list[tuple[int, float]]] = []
        units: list[Chunk] = []
        contexts: dict[str, Chunk] = {}
        owner: dict[str, str] = {}
        for idx in chosen:
            base = len(units)
            ranked = idx.searcher.ordered(query, n, mode=mode, paths=paths, kinds=kinds)
            lists.append([(base + row, s) for row, s in ranked])
            units.extend(idx.chunks)
            contexts.update({c.id: c for c in idx.contexts})
            owner.update({c.id: idx.name for c in idx.chunks})
        fused = rrf(lists, k=cfg.rrf_k)[:n]
        hits = pack(
            [(units[g], s) for g, s in fused],
            contexts,
            k=k,
            context_unit=context_unit or cfg.context_unit,
            budget_chars=cfg.budget_chars if budget_chars is None else budget_chars,
            parent_max_chars=cfg.parent_max_chars,
            query=query,
            windows=cfg.section_windows,
        )
        return [replace(h, repo=owner.get(h.chunk.id, "")) for h in hits]
