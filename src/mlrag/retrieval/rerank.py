"""Optional cross-encoder reranking of the fused candidates (``retrieval.reranker`` = a model name or path).

A cross-encoder reads query and unit together, so it is far slower than the first stage; it only reorders the
top ``retrieval.candidates`` fused units. Loaded once per process.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from ..errors import BackendError, require
from ..types import Chunk

_MODELS: dict[str, object] = {}
_LOCK = threading.Lock()


def _model(name: str):  # type: ignore[no-untyped-def]
    st = require("sentence_transformers", "core", "cross-encoder reranking")
    with _LOCK:
        if name not in _MODELS:
            try:
                _MODELS[name] = st.CrossEncoder(name)
            except (OSError, ValueError) as e:
                raise BackendError(f"retrieval.reranker {name!r} could not be loaded: {e}") from None
        return _MODELS[name]


def rerank(query: str, candidates: Sequence[tuple[int, Chunk]], model: str) -> list[tuple[int, float]]:
    """Rows of ``candidates`` reordered by the cross-encoder's score for (query, path + text)."""
    if not candidates:
        return []
    ce = _model(model)
    pairs = [(query, f"{c.path}\n{c.text}") for _, c in candidates]
    scores = ce.predict(pairs, show_progress_bar=False)  # type: ignore[attr-defined]
    ranked = [(row, float(s)) for (row, _), s in zip(candidates, scores)]
    return sorted(ranked, key=lambda x: (-x[1], x[0]))
