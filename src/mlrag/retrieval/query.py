"""Query expansion for lexical search: the ML words of a task -> the abbreviations code uses for them.

Users write "learning rate", "batch size", "number of epochs", "image size"; scripts and READMEs write ``--lr``,
``--bs``, ``--n_epochs``, ``--img_size``. BM25 cannot bridge that gap (the dense side partly can), so each
phrase of ``ABBREVIATIONS`` found in the query adds its code forms, but only those that occur in the
repository's own vocabulary (the BM25 index), so an expansion never adds a term the corpus does not have.
The expanded query feeds BM25 only; the dense query stays the user's text.
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
    "sequence length": ("seq_len",),
    "prediction length": ("pred_len",),
    "label length": ("label_len",),
    "gpu": ("gpu", "cuda"),
    "iterations": ("iters", "n_iter"),
    "configuration": ("config", "cfg"),
    "directory": ("dir",),
    "output": ("out", "output_dir"),
    "pretrained": ("pretrained", "ckpt"),
}
_PATTERNS = [(re.compile(rf"\b{re.escape(p)}\b", re.IGNORECASE), forms) for p, forms in ABBREVIATIONS.items()]


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
    return f"{query} {' '.join(extra)}" if extra else query
