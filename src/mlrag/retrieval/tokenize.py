"""A code-aware tokenizer for BM25 (queries and documents alike).

Code and READMEs name things as ``snake_case``, ``camelCase``, ``path/to/script.py``, ``torch.nn.Module`` and
``--num-stacks``; users write "num stacks" or "citation script". So every compound is emitted whole AND split:
``examples/pytorch/arma/citation.py`` -> ``examples/pytorch/arma/citation.py examples pytorch arma citation py``;
``--num-stacks`` -> ``--num-stacks num stack``; ``numStacks`` -> ``numstacks num stack``. Parts are lower-cased,
English stopwords are dropped and parts are Snowball-stemmed when PyStemmer is installed (whole compounds and
flags are kept verbatim so exact names still match exactly). One-letter parts other than digits are dropped.

Hand-written rather than bm25s's regex splitter because that one cannot keep a compound and its parts at once.
"""

from __future__ import annotations

import re
from functools import lru_cache

TOKENIZER_VERSION = 1

_WORD = re.compile(r"-{0,2}[A-Za-z0-9_][\w./:+-]*")
_SEP = re.compile(r"[/.:+\-]+")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")

STOPWORDS = frozenset(
    """a an and are as at be but by can could do does for from has have help how i if in into is it its me my
    of on or our please set should so such that the their them then there these this to use using was we what
    when which while will with would you your can't i'd i'm""".split()
)


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    try:
        import Stemmer  # PyStemmer
    except ImportError:
        return None
    return Stemmer.Stemmer("english")


def stemming_available() -> bool:
    return _stemmer() is not None


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    s = _stemmer()
    return s.stemWord(word) if s is not None else word


def _ident_parts(word: str) -> list[str]:
    """``num_stacks`` / ``numStacks`` / ``ResNet50`` -> lower-cased parts."""
    out: list[str] = []
    for piece in word.split("_"):
        out.extend(m.lower() for m in _CAMEL.findall(piece))
    return out


def code_tokens(text: str, *, stem: bool = True) -> list[str]:
    """Tokens of ``text`` for lexical search: compounds whole and split, flags kept.

    Example:
        >>> code_tokens("python citation.py --num-stacks 5", stem=False)
        ['python', 'citation.py', 'citation', 'py', '--num-stacks', 'num', 'stacks', '5']
    """
    out: list[str] = []
    for m in _WORD.finditer(text):
        w = m.group().rstrip(".:-+/")
        if not w:
            continue
        flag = w.startswith("-") and any(c.isalpha() for c in w)
        core = w.lstrip("-")
        if not core:
            continue
        lw = w.lower() if flag else core.lower()
        camel = any(c.islower() for c in core[1:]) and any(c.isupper() for c in core[1:])
        if flag or camel or _SEP.search(core) or "_" in core:
            if len(lw) > 1:
                out.append(lw)
            parts = [p for seg in _SEP.split(core) for p in _ident_parts(seg)]
            if len(parts) == 1 and parts[0] == lw:
                continue
        else:
            parts = [lw]
        for p in parts:
            if p in STOPWORDS or (len(p) == 1 and not p.isdigit()):
                continue
            out.append(_stem(p) if stem else p)
    return out
