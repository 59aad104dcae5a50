"""Query expansion for lexical search: the ML words of a task -> the abbreviations code uses for them.

Users write "learning rate", "batch size", "number of epochs", "image size"; scripts and READMEs write ``--lr``,
``--bs``, ``--n_epochs``, ``--img_size``. BM25 cannot bridge that gap (the dense side partly can), so each
phrase of ``ABBREVIATIONS`` found in the query adds its code forms, but only those that occur in the
repository's own vocabulary (the BM25 index), so an expansion never adds a term the corpus does not have.
The expanded query feeds BM25 only; the dense query stays the user's text.

Beyond the table (general ML words only: nothing about one task family or repository), two adjacent query words
add the repository's own ``snake_case`` names whose two parts are prefixes of them, three letters or more
(``sequence length`` -> ``seq_len``, ``hidden channels`` -> ``hidden_channels``): the vocabulary, not a list,
says which abbreviations a repository uses.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from .tokenize import code_tokens

#: phrase (lower case, matched on word boundaries) -> code forms
ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "learning rate": ("lr", "learning_rate"),
    "batch size": ("batch_size", "bs"),
    "epochs": ("n_epochs", "num_epochs", "epochs"),
    "number of": ("num", "n"),
    "image size": ("img_size", "image_size"),
    "image": ("img",),
    "dimension": ("dim",),
    "dimensions": ("dim",),
    "dimensionality": ("dim",),
    "hidden": ("hid", "hidden"),
    "layers": ("num_layers", "n_layers"),
    "heads": ("num_heads", "n_heads"),
    "weight decay": ("weight_decay", "wd"),
    "checkpoint": ("ckpt",),
    "gpu": ("gpu", "cuda"),
    "iterations": ("iters", "n_iter"),
    "configuration": ("config", "cfg"),
    "directory": ("dir",),
    "output": ("out", "output_dir"),
    "pretrained": ("pretrained", "ckpt"),
}
_PATTERNS = [(re.compile(rf"\b{re.escape(p)}\b", re.IGNORECASE), forms) for p, forms in ABBREVIATIONS.items()]


_QWORDS = re.compile(r"[A-Za-z]{3,}")


def _prefix_pairs(vocabulary: Collection[str]) -> dict[tuple[str, str], list[str]]:
    """``(first 3 letters, first 3 letters)`` of two-part ``snake_case`` names of ``vocabulary`` -> the names."""
    out: dict[tuple[str, str], list[str]] = {}
    for name in vocabulary:
        parts = name.lstrip("-").split("_")
        if len(parts) == 2 and all(len(p) >= 3 and p.isalpha() for p in parts):
            out.setdefault((parts[0][:3], parts[1][:3]), []).append(name.lstrip("-"))
    return out


_PAIRS_CACHE: dict[int, tuple[Collection[str], dict[tuple[str, str], list[str]]]] = {}


def prefix_names(query: str, vocabulary: Collection[str]) -> list[str]:
    """``snake_case`` names of ``vocabulary`` whose two parts are prefixes of two adjacent query words.

    Example:
        >>> prefix_names("a sequence length of 96", {"seq_len", "pred_len"})
        ['seq_len']
    """
    cached = _PAIRS_CACHE.get(id(vocabulary))
    if cached is None or cached[0] is not vocabulary:
        if len(_PAIRS_CACHE) > 8:
            _PAIRS_CACHE.clear()
        cached = (vocabulary, _prefix_pairs(vocabulary))
        _PAIRS_CACHE[id(vocabulary)] = cached
    pairs = cached[1]
    words = [w.lower() for w in _QWORDS.findall(query)]
    out: list[str] = []
    for a, b in zip(words, words[1:]):
        for name in pairs.get((a[:3], b[:3]), ()):
            x, y = name.split("_")
            if a.startswith(x) and b.startswith(y) and name not in out:
                out.append(name)
    return sorted(out)


def expand_query(query: str, vocabulary: Collection[str], *, stem: bool = True) -> str:
    """``query`` plus the code forms of its ML phrases that occur in ``vocabulary`` (BM25 tokens).

    Example:
        >>> expand_query("train with learning rate 0.1", {"lr", "train"})
        'train with learning rate 0.1 lr'
    """
    extra: list[str] = []
    for pattern, forms in _PATTERNS:
        if not pattern.search(query):
            continue
        for form in forms:
            toks = code_tokens(form, stem=stem)
            if toks and all(t in vocabulary for t in toks) and form not in extra:
                extra.append(form)
    for name in prefix_names(query, vocabulary):
        if name not in extra:
            extra.append(name)
    return f"{query} {' '.join(extra)}" if extra else query
