"""Embedders: text -> L2-normalised float32 vectors. See ``base.py`` for the interface and the registry."""

from __future__ import annotations

from .base import (
    BaseEmbedder,
    Embedder,
    embed_many,
    embedder_names,
    get_embedder,
    l2_normalise,
    register_embedder,
)
from .cache import EmbeddingCache, text_hash

__all__ = [
    "BaseEmbedder",
    "Embedder",
    "EmbeddingCache",
    "embed_many",
    "embedder_names",
    "get_embedder",
    "l2_normalise",
    "register_embedder",
    "text_hash",
]
