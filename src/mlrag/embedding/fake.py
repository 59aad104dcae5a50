"""A deterministic hashing embedder: the dependency-free reference for tests.

Each lower-cased word (and each word bigram) is hashed with blake2b into one of ``dim`` buckets with a sign, and
the bag is L2-normalised. Texts sharing words get a positive cosine, so retrieval tests behave sensibly; the same
text always gets the same vector on every machine (no Python ``hash`` randomisation).
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

from .base import BaseEmbedder

_WORD = re.compile(r"[A-Za-z0-9]+")


class FakeEmbedder(BaseEmbedder):
    """Signed feature hashing of words and word bigrams."""

    def __init__(self, dim: int = 256, max_tokens: int = 256) -> None:
        self.dim = dim
        self.max_tokens = max_tokens
        self.id = f"fake-hashing@{dim}"

    def count_tokens(self, text: str) -> int:
        return len(_WORD.findall(text))

    def _encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            words = [w.lower() for w in _WORD.findall(text)][: self.max_tokens]
            feats = words + [f"{a} {b}" for a, b in zip(words, words[1:])]
            for f in feats:
                h = int.from_bytes(hashlib.blake2b(f.encode(), digest_size=8).digest(), "little")
                out[row, h % self.dim] += 1.0 if (h >> 63) & 1 else -1.0
        return out
