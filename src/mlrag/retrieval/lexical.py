"""Lexical search: bm25s (Lucene BM25) over ``code_tokens``, saved as a folder inside the index.

A document is ``path + title + text`` of a unit, so a query word that names an example folder ("arma") finds the
units under ``examples/pytorch/arma/`` even when the text never repeats the folder name. Filters (path globs,
kinds) become bm25s's ``weight_mask``, so a filtered search is still one sparse product, not a post-filter that
can come back empty. ``bm25/mlrag.json`` records the tokenizer version and stemming, checked on load.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import IndexMismatchError, require
from ..types import Chunk
from .tokenize import TOKENIZER_VERSION, code_tokens, stemming_available

log = logging.getLogger(__name__)

PARAMS_FILE = "mlrag.json"


def document_text(chunk: Chunk) -> str:
    """What BM25 indexes for a unit: its path, title and text."""
    return f"{chunk.path}\n{chunk.title}\n{chunk.text}"


class LexicalIndex:
    """BM25 over units, rows aligned with the index's unit list.

    Example:
        >>> lex = LexicalIndex.build([c1, c2]); lex.search("num stacks", 1)
        [(1, 2.3)]
    """

    def __init__(self, retriever: object, n_docs: int, stem: bool) -> None:
        self.retriever = retriever
        self.n_docs = n_docs
        self.stem = stem
        self._vocab: dict[str, int] = getattr(retriever, "vocab_dict", {}) or {}

    @classmethod
    def build(cls, chunks: Sequence[Chunk], *, k1: float = 1.2, b: float = 0.75) -> "LexicalIndex":
        """Index ``chunks`` (the index's units, in row order)."""
        bm25s = require("bm25s", "core", "lexical search")
        stem = stemming_available()
        corpus = [code_tokens(document_text(c), stem=stem) or [""] for c in chunks]
        retriever = bm25s.BM25(k1=k1, b=b, method="lucene")
        if corpus:
            retriever.index(corpus, show_progress=False)
        return cls(retriever, len(corpus), stem)

    def query_tokens(self, query: str) -> list[str]:
        """The query's tokens that occur in the corpus vocabulary."""
        return [t for t in code_tokens(query, stem=self.stem) if t in self._vocab]

    def search(self, query: str, k: int, mask: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top-``k`` rows with a positive BM25 score, best first (ties by row); ``mask`` is a 0/1 row filter."""
        toks = self.query_tokens(query)
        if not toks or self.n_docs == 0 or k <= 0:
            return []
        kk = min(k, self.n_docs)
        docs, scores = self.retriever.retrieve(  # type: ignore[attr-defined]
            [toks],
            k=kk,
            show_progress=False,
            n_threads=0,
            weight_mask=None if mask is None else mask.astype(np.float32),
        )
        hits = [(int(d), float(s)) for d, s in zip(docs[0], scores[0]) if s > 0]
        hits.sort(key=lambda h: (-h[1], h[0]))
        return hits

    def vocabulary(self) -> set[str]:
        return set(self._vocab)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        if self.n_docs:
            self.retriever.save(str(folder), show_progress=False)  # type: ignore[attr-defined]
        (folder / PARAMS_FILE).write_text(
            json.dumps({"tokenizer_version": TOKENIZER_VERSION, "stem": self.stem, "n_docs": self.n_docs})
        )

    @classmethod
    def load(cls, folder: Path, *, mmap: bool = True) -> "LexicalIndex":
        bm25s = require("bm25s", "core", "lexical search")
        try:
            params = json.loads((folder / PARAMS_FILE).read_text())
        except (OSError, ValueError) as e:
            raise IndexMismatchError(f"lexical index in {folder} is missing or corrupt ({e})") from None
        if params.get("tokenizer_version") != TOKENIZER_VERSION:
            raise IndexMismatchError(
                f"lexical index in {folder} uses tokenizer version {params.get('tokenizer_version')}, "
                f"this mlrag uses {TOKENIZER_VERSION}"
            )
        if params["stem"] and not stemming_available():
            raise IndexMismatchError(f"lexical index in {folder} was stemmed; install PyStemmer or rebuild")
        if params["n_docs"] == 0:
            return cls(bm25s.BM25(), 0, params["stem"])
        try:
            retriever = bm25s.BM25.load(str(folder), mmap=mmap, show_progress=False, verbosity=0)
        except (OSError, ValueError, KeyError) as e:
            raise IndexMismatchError(f"lexical index in {folder} is corrupt ({e})") from None
        return cls(retriever, int(params["n_docs"]), bool(params["stem"]))
