"""Data-like text: telling data dumps (numbers, logs, token dumps, encoded blobs) from documentation and code.

Repositories carry text that is data, not documentation: result logs, number tables, melody or token dumps,
lyrics, id lists, base64 blobs. In a retrieval index it competes with the README and the scripts for the same
query words, and it is most of the embedding cost. It is judged here from a unit's *content* only (never its
file name), with four statistics of its text:

- **numeric density**: the share of its whitespace tokens that are numbers (``0.731``, ``1e-4``, ``12:03:55``);
- **line repetition**: the share of its lines (of 8+ characters) that repeat another line exactly (a chorus, a
  token dump), or once every digit run is read as ``0`` (``epoch 3 loss 0.21`` and ``epoch 4 loss 0.19`` are one
  line template) in a text where numbers are common (``repeat_numeric_share``): code repeats line templates too
  (``self.conv1 = ...``, ``self.conv2 = ...``), logs and tables do so with numbers in every line;
- **token repetition**: distinct tokens over tokens, low when a few symbols repeat (``C4 E4 G4 C4 ...``);
- **encoded text**: the share of characters in tokens of 40+ characters without a letter-case or punctuation
  rhythm of code (hashes, base64, minified lines).

A unit is data-like when one statistic passes its threshold (see ``DataLikeThresholds``) and it is not prose:
half of its lines reading as sentences (six or more alphabetic words) is prose, whatever the numbers say,
unless its lines repeat. Units with fewer than ``min_tokens`` tokens are never judged (too little to tell).
The thresholds were set from the statistics' distributions over the ten ML-Bench DEV checkouts and a sample
read by hand (BENCHMARKS.md, "Data-like units"), not from retrieval scores.

``flag_data_like`` marks units with ``meta["data_like"] = True``; the searcher keeps them out of dense retrieval
(``retrieval.data_like``) and ``count_data_like`` gives the count for the index manifest.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..types import Chunk

_NUMBER = re.compile(r"^[-+~]?(?:\d[\d,_]*)?(?:\.\d+)?(?:[eE][-+]?\d+)?%?$|^\d+(?:[:/x]\d+)+$")
_STRIP = "()[]{},;|\"'`<>"
_DIGITS = re.compile(r"\d+(?:\.\d+)?")
_ALPHA_WORD = re.compile(r"^[(\"']?[A-Za-z][a-z'-]*[.,;:!?)\"']*$")
#: Kinds never judged: argument cards are derived from code and always wanted.
_NEVER = frozenset({"card"})


@dataclass(frozen=True)
class DataLikeThresholds:
    """Thresholds of the four statistics (module docstring); a unit passing any one is data-like."""

    min_tokens: int = 40
    numeric_share: float = 0.45
    line_repeat_share: float = 0.6
    repeat_numeric_share: float = 0.2
    exact_repeat_share: float = 0.6
    min_lines: int = 8
    distinct_token_share: float = 0.12
    encoded_share: float = 0.5
    prose_share: float = 0.5


DEFAULT_THRESHOLDS = DataLikeThresholds()


@dataclass(frozen=True)
class DataLikeStats:
    """The statistics of one text (see the module docstring)."""

    tokens: int
    numeric_share: float
    line_repeat_share: float
    exact_repeat_share: float
    lines: int
    distinct_token_share: float
    encoded_share: float
    prose_share: float


def _is_number(tok: str) -> bool:
    t = tok.strip(_STRIP)
    return bool(t) and any(c.isdigit() for c in t) and _NUMBER.match(t) is not None


def _encoded(tok: str) -> bool:
    """A long token with no word structure: no ``_``/``.``/``/`` separators of code paths and names."""
    if len(tok) < 40:
        return False
    return not any(sep in tok for sep in ("_", "/", ".", "(", "=", "-"))


def data_like_stats(text: str) -> DataLikeStats:
    """The four statistics of ``text`` and its share of prose lines.

    Example:
        >>> s = data_like_stats("\\n".join(f"epoch {i} loss {1 / (i + 1):.3f}" for i in range(20)))
        >>> round(s.line_repeat_share, 2), s.numeric_share
        (1.0, 0.5)
    """
    toks = text.split()
    n = len(toks)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    long_lines = [ln for ln in lines if len(ln) >= 8]
    shapes = Counter(_DIGITS.sub("0", ln) for ln in long_lines)
    repeated = sum(c for c in shapes.values() if c > 1)
    # exact repeats only of lines of three or more words: code repeats ``parser.add_argument(`` and ``)``
    exact = sum(c for ln, c in Counter(long_lines).items() if c > 1 and len(ln.split()) >= 3)
    chars = sum(len(t) for t in toks) or 1
    prose = sum(1 for ln in lines if sum(1 for w in ln.split() if _ALPHA_WORD.match(w)) >= 6)
    return DataLikeStats(
        tokens=n,
        numeric_share=(sum(1 for t in toks if _is_number(t)) / n) if n else 0.0,
        line_repeat_share=(repeated / len(long_lines)) if long_lines else 0.0,
        exact_repeat_share=(exact / len(long_lines)) if long_lines else 0.0,
        lines=len(long_lines),
        distinct_token_share=(len(set(toks)) / n) if n else 1.0,
        encoded_share=sum(len(t) for t in toks if _encoded(t)) / chars,
        prose_share=(prose / len(lines)) if lines else 0.0,
    )


def data_like_reason(text: str, thresholds: DataLikeThresholds = DEFAULT_THRESHOLDS) -> str | None:
    """Why ``text`` reads as data (``"numeric"``, ``"repeated lines"``, ``"repeated tokens"``, ``"encoded"``),
    or None when it reads as documentation or code.

    Example:
        >>> data_like_reason(" ".join(str(i * 7 % 13) for i in range(100)))
        'numeric'
        >>> data_like_reason("Train the model with the default settings and then evaluate it. " * 5) is None
        True
    """
    th = thresholds
    s = data_like_stats(text)
    if s.tokens < th.min_tokens:
        return None
    repeats = s.lines >= th.min_lines and (
        s.exact_repeat_share >= th.exact_repeat_share
        or (s.line_repeat_share >= th.line_repeat_share and s.numeric_share >= th.repeat_numeric_share)
    )
    if s.prose_share >= th.prose_share and not repeats:
        return None
    if s.numeric_share >= th.numeric_share:
        return "numeric"
    if repeats:
        return "repeated lines"
    if s.distinct_token_share <= th.distinct_token_share:
        return "repeated tokens"
    if s.encoded_share >= th.encoded_share:
        return "encoded"
    return None


def is_data_like(chunk: Chunk, thresholds: DataLikeThresholds = DEFAULT_THRESHOLDS) -> bool:
    """True when the unit reads as data (argument cards never do; a unit shorter than ``min_tokens`` never does:
    judging it by its parent section flagged README usage headings whose section repeats code lines)."""
    if chunk.kind in _NEVER or chunk.derived:
        return False
    return data_like_reason(chunk.text, thresholds) is not None


def flag_data_like(units: Sequence[Chunk], thresholds: DataLikeThresholds = DEFAULT_THRESHOLDS) -> tuple[Chunk, ...]:
    """``units`` with ``meta["data_like"] = True`` on those that read as data (others unchanged; ids unchanged,
    since ``meta`` is not part of a chunk's identity)."""
    return tuple(u.with_(meta={**u.meta, "data_like": True}) if is_data_like(u, thresholds) else u for u in units)


def count_data_like(units: Iterable[Chunk]) -> int:
    """How many of ``units`` carry ``meta["data_like"]`` (for the index manifest).

    Example:
        >>> count_data_like([])
        0
    """
    return sum(1 for u in units if u.meta.get("data_like"))
