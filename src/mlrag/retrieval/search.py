"""The retrieval pipeline over one index's parts: filters -> dense / BM25 -> fusion -> rerank -> packing.

``Searcher`` holds the units (row order), their lexical index, the vector store with its key -> row map and the
row-aligned vector matrix; it knows nothing about files on disk (that is ``mlrag.index``). The query embedder is
passed as a zero-argument callable so that BM25-only searches never load a model.

Lazy dense search (``retrieval.dense=lazy`` on an index without stored vectors): ``dense_rows`` computes vectors
on demand; before each dense ranking the rows that can reach the context (``lazy_candidates``: the BM25 and
path-prior candidates, the root README, the cards of those files) are embedded (cached) and the dense ranking
runs over the rows that have a vector. ``retrieval.dense=off`` ranks without dense vectors (hybrid = BM25).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ..commands import COMMAND_START
from ..config import RetrievalConfig
from ..embedding.base import Embedder
from ..errors import ConfigError
from ..stores.base import VectorStore, chunk_key
from ..types import Chunk, Hit
from .context import pack
from .dense import dense_search
from .hybrid import Ranked, rrf, weighted
from .lexical import LexicalIndex
from .paths import PathIndex
from .query import expand_query

if TYPE_CHECKING:
    from .affordances import AffordanceIndex

MODES = ("dense", "bm25", "hybrid")


class DenseRows(Protocol):
    """Which rows have a vector, and (``lazy``) a way to compute more (``mlrag.index.lazy``)."""

    lazy: bool
    available: np.ndarray  # bool (units,)
    vectors: np.ndarray  # (units, dim)

    def ensure(self, rows: np.ndarray) -> None: ...


_FENCE = re.compile(r"^\s*(?:```|~~~)", re.M)


def _runs(text: str) -> bool:
    """A README unit that shows how to run something: a fenced block or a command line (``mlrag.commands``)."""
    return _FENCE.search(text) is not None or COMMAND_START.search(text) is not None


def glob_match(path: str, pattern: str) -> bool:
    """``fnmatch`` on the whole path (``*`` crosses ``/``), or a folder prefix (``examples/arma/``)."""
    if pattern.endswith("/"):
        return path.startswith(pattern)
    return fnmatch.fnmatchcase(path, pattern) or path.startswith(pattern.rstrip("/") + "/")


def _is_root_readme(path: str) -> bool:
    return "/" not in path and path.lower().startswith("readme")


def _mode_weights(mode: str, dense_weight: float) -> list[float]:
    """Weighted fusion: the weights of the lists in the order ``rank`` builds them (bm25 first, then dense)."""
    if mode == "hybrid":
        return [1.0 - dense_weight, dense_weight]
    return [1.0]


def _ranked_after(ranked: Ranked, row: int, anchor: int) -> bool:
    """True when ``row`` comes after ``anchor`` in ``ranked``."""
    order = [r for r, _ in ranked]
    return order.index(row) > order.index(anchor)


class Searcher:
    """Ranked retrieval over one set of units."""

    def __init__(
        self,
        units: Sequence[Chunk],
        contexts: Mapping[str, Chunk],
        lexical: LexicalIndex,
        store: VectorStore,
        vectors: np.ndarray,
        embedder: Callable[[], Embedder],
        config: RetrievalConfig,
        repo: str = "",
        dense_rows: DenseRows | None = None,
        affordances: "Callable[[], AffordanceIndex | None] | None" = None,
    ) -> None:
        self.units = units
        self.affordances = affordances  # the repository's affordance units, loaded on first use
        self.dense_rows = dense_rows  # None: every row has a vector in ``vectors`` and the store
        self._lazy_allowed = np.zeros(len(units), dtype=bool)  # lazy: the current query's rows with a vector
        self.contexts = contexts
        self.lexical = lexical
        self.store = store
        self.vectors = vectors
        self.config = config
        self.repo = repo
        self._embedder = embedder
        self.key_to_row: dict[int, int] = {}
        for row, u in enumerate(units):
            self.key_to_row.setdefault(chunk_key(u.id), row)
        self._paths = [u.path for u in units]
        self._kinds = np.array([u.kind for u in units], dtype=object)
        # units whose content reads as data (``chunking.datalike``): out of dense rankings (``retrieval.data_like``)
        self._data_like = np.array([bool(u.meta.get("data_like")) for u in units], dtype=bool)
        self._masks: dict[tuple[tuple[str, ...], tuple[str, ...]], np.ndarray] = {}
        self._readme = np.array([_is_root_readme(p) for p in self._paths], dtype=bool)
        self._vocab: set[str] | None = None
        self._row_of: dict[str, int] | None = None
        self._path_index: PathIndex | None = None
        self._rows_of_path: dict[str, np.ndarray] | None = None
        self._runs: np.ndarray | None = None  # units that show a command or a code block
        self._qvecs: dict[str, np.ndarray] = {}  # the same task is often searched under several settings

    def mask(self, paths: Sequence[str] | None, kinds: Sequence[str] | None) -> np.ndarray | None:
        """Boolean row filter for path globs and kinds, or None when there is no filter."""
        if not paths and not kinds:
            return None
        key = (tuple(paths or ()), tuple(kinds or ()))
        if key not in self._masks:
            m = np.ones(len(self.units), dtype=bool)
            if paths:
                m &= np.array([any(glob_match(p, g) for g in paths) for p in self._paths], dtype=bool)
            if kinds:
                m &= np.isin(self._kinds, list(kinds))
            if len(self._masks) > 64:
                self._masks.clear()
            self._masks[key] = m
        return self._masks[key]

    def query_vector(self, query: str) -> np.ndarray:
        """The query's embedding (the last 256 queries are kept)."""
        if query not in self._qvecs:
            if len(self._qvecs) >= 256:
                self._qvecs.pop(next(iter(self._qvecs)))
            self._qvecs[query] = self._embedder().embed_batch([query])[0]
        return self._qvecs[query]

    def rank(
        self,
        query: str,
        n: int,
        *,
        mode: str | None = None,
        paths: Sequence[str] | None = None,
        kinds: Sequence[str] | None = None,
        qvec: np.ndarray | None = None,
        mask: np.ndarray | None = None,
    ) -> Ranked:
        """Top-``n`` unit rows for ``query`` with the fused score, best first (``mask``: rows allowed, on top
        of the ``paths`` and ``kinds`` filters)."""
        cfg = self.config
        mode = mode or cfg.mode
        if mode not in MODES:
            raise ConfigError(f"retrieval mode {mode!r} is not one of {', '.join(MODES)}")
        if cfg.dense == "off" and mode != "bm25":
            if mode == "dense":
                raise ConfigError("retrieval mode 'dense' needs dense vectors, but retrieval.dense is 'off'")
            mode = "bm25"
        filt = self.mask(paths, kinds)
        if mask is not None:
            mask = mask if filt is None else mask & filt
        else:
            mask = filt
        if cfg.data_like == "skip" and self._data_like.any():
            mask = ~self._data_like if mask is None else mask & ~self._data_like
        if mask is not None and not mask.any():
            return []
        lists: list[Ranked] = []
        lexical_query = query
        if mode in ("bm25", "hybrid"):
            if cfg.query_expansion:
                if self._vocab is None:
                    self._vocab = self.lexical.vocabulary()
                lexical_query = expand_query(query, self._vocab, stem=self.lexical.stem)
            lists.append(self.lexical.search(lexical_query, n, mask))
        if mode in ("dense", "hybrid"):
            qv = qvec if qvec is not None else self.query_vector(query)
            if self.dense_rows is not None and self.dense_rows.lazy:
                cand = self.lazy_candidates(query, min(n, cfg.lazy_candidates), mask)
                self.dense_rows.ensure(cand)
                self.vectors = self.dense_rows.vectors
                # this query's candidates only (not every row embedded so far): the ranking does not depend on
                # what was searched before
                self._lazy_allowed = np.zeros(len(self.units), dtype=bool)
                self._lazy_allowed[cand] = True
                self._lazy_allowed &= self.dense_rows.available
            lists.append(
                dense_search(
                    qv,
                    n,
                    store=self.store,
                    key_to_row=self.key_to_row,
                    vectors=self.vectors,
                    mask=self._with_vectors(self._dense_mask(mask)),
                )
            )
        weights = [1.0] * len(lists)
        if cfg.path_prior > 0:
            by_path = self.path_ranking(query, lexical_query if mode != "dense" else query, n, mode, mask)
            if by_path:
                lists.append(by_path)
                weights.append(cfg.path_prior)
        if cfg.readme_prior > 0 and self._readme.any():
            # the root README is where most repositories explain how to run things: one more ranking, of its
            # units only, fused with a (small) weight
            rmask = self._readme if mask is None else self._readme & mask
            if mode == "dense":
                extra = dense_search(
                    qv,
                    n,
                    store=self.store,
                    key_to_row=self.key_to_row,
                    vectors=self.vectors,
                    mask=self._with_vectors(self._dense_mask(rmask)),
                )
            else:
                extra = self.lexical.search(query, n, rmask)
            lists.append(extra)
            weights.append(cfg.readme_prior)
        if len(lists) == 1:
            fused = lists[0]
        elif cfg.fusion == "weighted":
            fused = weighted(lists, [*_mode_weights(mode, cfg.dense_weight), *weights[2 if mode == "hybrid" else 1 :]])
        else:
            fused = rrf(lists, k=cfg.rrf_k, weights=weights)
        fused = fused[:n]
        if cfg.reranker:
            from .rerank import rerank

            fused = rerank(query, [(row, self.units[row]) for row, _ in fused], cfg.reranker)
        return fused

    def ordered(
        self,
        query: str,
        n: int,
        *,
        mode: str | None = None,
        paths: Sequence[str] | None = None,
        kinds: Sequence[str] | None = None,
    ) -> Ranked:
        """``rank``, then the card links followed and the README slot filled (what ``search`` packs)."""
        cfg = self.config
        ranked = self.rank(query, n, mode=mode, paths=paths, kinds=kinds)
        if cfg.follow_links and not kinds:
            ranked = self.follow_links(ranked)
        if cfg.readme_slot > 0 and not paths and not kinds and self._readme.any():
            ranked = self.readme_slot(query, ranked, cfg.readme_slot)
        return ranked

    def _dense_mask(self, mask: np.ndarray | None) -> np.ndarray | None:
        """``mask`` without the data-like units unless ``retrieval.data_like`` is ``all`` (they rank by BM25 only)."""
        if self.config.data_like == "all" or not self._data_like.any():
            return mask
        return ~self._data_like if mask is None else mask & ~self._data_like

    def _with_vectors(self, mask: np.ndarray | None) -> np.ndarray | None:
        """``mask`` restricted to the rows that have a vector (unchanged when every row has one)."""
        if self.dense_rows is None or (mask is None and not self.dense_rows.lazy):
            return mask  # the store holds exactly the rows with a vector
        allowed = self._lazy_allowed if self.dense_rows.lazy else self.dense_rows.available
        return allowed if mask is None else mask & allowed

    def lazy_candidates(self, query: str, n: int, mask: np.ndarray | None) -> np.ndarray:
        """The rows a lazy dense ranking scores for ``query``: what can reach the context. The BM25 top ``n``
        (expanded query), the BM25 top ``n`` of the files the path prior names, every root-README unit (the
        README slot's pool), and the argument cards of the files among those candidates."""
        lexical_query = query
        if self.config.query_expansion:
            if self._vocab is None:
                self._vocab = self.lexical.vocabulary()
            lexical_query = expand_query(query, self._vocab, stem=self.lexical.stem)
        rows = [row for row, _ in self.lexical.search(lexical_query, n, mask)]
        if self.config.path_prior > 0:
            pmask, _ = self._path_rows(query, mask)
            if pmask is not None:
                rows += [row for row, _ in self.lexical.search(lexical_query, n, pmask)]
        readme = self._readme if mask is None else self._readme & mask
        rows += np.flatnonzero(readme).tolist()
        files = {self._paths[row] for row in rows}
        cards = (self._kinds == "card") & np.array([p in files for p in self._paths], dtype=bool)
        if mask is not None:
            cards &= mask
        rows += np.flatnonzero(cards).tolist()
        return np.unique(np.asarray(rows, dtype=np.int64))

    def _path_rows(self, query: str, mask: np.ndarray | None) -> tuple[np.ndarray | None, dict[str, float]]:
        """(rows of the files whose path names ``query``, within ``mask``; their path scores), or (None, {})."""
        if self._path_index is None:
            self._path_index = PathIndex(self._paths)
        scores = self._path_index.scores(query)
        if not scores:
            return None, {}
        if self._rows_of_path is None:
            by_path: dict[str, list[int]] = {}
            for row, path in enumerate(self._paths):
                by_path.setdefault(path, []).append(row)
            self._rows_of_path = {path: np.asarray(rows) for path, rows in by_path.items()}
        pmask = np.zeros(len(self._paths), dtype=bool)
        for path in scores:
            pmask[self._rows_of_path[path]] = True
        if mask is not None:
            pmask &= mask
        return (pmask, scores) if pmask.any() else (None, {})

    def path_ranking(self, query: str, lexical_query: str, n: int, mode: str, mask: np.ndarray | None) -> Ranked:
        """Units of the files whose path names the query (see ``retrieval.paths``): best file first, and within
        equally named files the order of the content retrievers restricted to those files."""
        pmask, scores = self._path_rows(query, mask)
        if pmask is None:
            return []
        inner: list[Ranked] = []
        if mode in ("bm25", "hybrid"):
            inner.append(self.lexical.search(lexical_query, n, pmask))
        if mode in ("dense", "hybrid"):
            qv = self.query_vector(query)
            inner.append(
                dense_search(
                    qv,
                    n,
                    store=self.store,
                    key_to_row=self.key_to_row,
                    vectors=self.vectors,
                    mask=self._with_vectors(self._dense_mask(pmask)),
                )
            )
        content = rrf(inner, k=self.config.rrf_k) if len(inner) > 1 else inner[0]
        order = sorted(range(len(content)), key=lambda i: (-scores[self._paths[content[i][0]]], i))
        return [content[i] for i in order][:n]

    def readme_slot(self, query: str, ranked: Ranked, slot: int) -> Ranked:
        """``ranked`` with the best root-README unit moved up to position ``slot`` (1-based) when none is there.

        The root README is where a repository says how it is run; when more specific files (scripts, dataset
        cards) take every top position, the prompt still gets its most relevant section that shows a command or a
        code block (any of its sections when none does) and shares a word with the task. (Measured and not
        adopted: the README nearest to the file the path prior ranks first, e.g. ``GroundingDINO/README.md``:
        0.758 / 0.811 oracle / answer recall on ML-Bench DEV against 0.807 / 0.846 for the root README.)
        """
        if self._runs is None:
            # judged on what the prompt gets: the unit's parent section when it has one
            self._runs = np.array(
                [
                    _runs(
                        self.contexts[u.parent_id].text
                        if u.parent_id is not None and u.parent_id in self.contexts
                        else u.text
                    )
                    for u in self.units
                ],
                dtype=bool,
            )
        wanted = self._readme & self._runs
        if not wanted.any():
            wanted = self._readme
        if any(wanted[row] for row, _ in ranked[:slot]):
            return ranked
        # only a section that shares words with the task (BM25 > 0): an unrelated README is no help
        by_bm25 = self.lexical.search(query, int(wanted.sum()), wanted)
        if not by_bm25:
            return ranked
        related = {row for row, _ in by_bm25}
        # the best such section in the fused ranking, else (ranked below the candidates) the best by BM25
        best = next(((row, score) for row, score in ranked if row in related), by_bm25[0])
        rest = [(row, score) for row, score in ranked if row != best[0]]
        at = min(slot - 1, len(rest))
        score = rest[at - 1][1] if at > 0 else best[1]
        return [*rest[:at], (best[0], score), *rest[at:]]

    def follow_links(self, ranked: Ranked) -> Ranked:
        """After each argument card, the units it links to (the README/shell lines that run its script).

        A card says which flags exist; the linked README chunk says how the authors run it. They are placed right
        after the card with the card's score, unless already ranked higher.
        """
        if not any(self.units[row].links for row, _ in ranked if self.units[row].kind == "card"):
            return ranked
        if self._row_of is None:
            self._row_of = {u.id: row for row, u in enumerate(self.units)}
        seen = {row for row, _ in ranked}
        out: Ranked = []
        placed: set[int] = set()
        for row, score in ranked:
            if row in placed:
                continue
            out.append((row, score))
            placed.add(row)
            unit = self.units[row]
            if unit.kind != "card":
                continue
            for link in unit.links:
                linked = self._row_of.get(link)
                if linked is None or linked in placed:
                    continue
                if linked in seen and not _ranked_after(ranked, linked, row):
                    continue
                out.append((linked, score))
                placed.add(linked)
        return out

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        mode: str | None = None,
        budget_chars: int | None = None,
        context_unit: str | None = None,
        paths: Sequence[str] | None = None,
        kinds: Sequence[str] | None = None,
    ) -> list[Hit]:
        """Ranked, deduplicated, budget-packed hits (see ``retrieval.context.pack``).

        With ``retrieval.affordances`` (off by default, see ``retrieval.affordances``), the affordance units the
        packed hits and the task call for are placed after their hits and the ranking is packed again: they come
        in addition to the ``k`` hits, within ``budget_chars``.
        """
        cfg = self.config
        ranked = self.ordered(query, max(cfg.candidates, k), mode=mode, paths=paths, kinds=kinds)
        unit = context_unit or cfg.context_unit
        if unit not in ("chunk", "parent"):
            raise ConfigError(f"context_unit {unit!r} is not one of chunk, parent")
        budget = cfg.budget_chars if budget_chars is None else budget_chars
        pairs = [(self.units[row], score) for row, score in ranked]

        def packed(pairs: Sequence[tuple[Chunk, float]], extra: int = 0) -> list[Hit]:
            return pack(
                pairs,
                self.contexts,
                k=k + extra,
                context_unit=unit,
                budget_chars=budget,
                repo=self.repo,
                parent_max_chars=cfg.parent_max_chars,
                query=query,
                windows=cfg.section_windows,
            )

        hits = packed(pairs)
        if cfg.affordances and self.affordances is not None and not kinds:
            aff = self.affordances()
            picks = aff.choose(query, hits) if aff is not None else []
            if picks:
                from .affordances import with_affordances

                units = [(after, aff.unit_for(a, query, budget)) for after, a in picks]  # type: ignore[union-attr]
                # the units come with their hits (k counts retrieved hits); the budget holds for all
                hits = packed(with_affordances(pairs, hits, units), extra=len(units))
        return hits
