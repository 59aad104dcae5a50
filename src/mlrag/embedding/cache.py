"""An on-disk embedding cache keyed by (model id, text hash), so no text is embedded twice across builds.

SQLite (stdlib, safe across processes, one file) with one row per (model, sha1(text)) holding the float32
vector as bytes. It sits beside the indexes (``<index_dir>/embeddings.sqlite``), outside any one index folder,
because index folders are replaced atomically on every rebuild while the cache must outlive them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..cachedb import CacheDB

_SCHEMA = """CREATE TABLE IF NOT EXISTS vectors (
    model TEXT NOT NULL, text_sha TEXT NOT NULL, dim INTEGER NOT NULL, vec BLOB NOT NULL,
    PRIMARY KEY (model, text_sha)) WITHOUT ROWID"""


def text_hash(text: str) -> str:
    """sha1 of the UTF-8 text (surrogates kept), the cache key's text part."""
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()


class EmbeddingCache:
    """Vectors by (model id, text hash) in one SQLite file (``mlrag.cachedb.CacheDB``: a corrupt file is moved
    aside and rebuilt, a failing one disables the cache, never the build). A stored vector whose size does not
    match its recorded dimension, or holds non-finite values, is treated as missing.

    Example:
        >>> cache = EmbeddingCache(Path("/tmp/emb.sqlite"))
        >>> cache.put_many("m@1", ["a"], np.ones((1, 2), np.float32)); sorted(cache.get_many("m@1", ["a", "b"]))
        [0]
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._db = CacheDB(self.path, _SCHEMA, "SELECT model, text_sha, dim, vec FROM vectors LIMIT 1",
                           "embedding cache")

    def get_many(self, model: str, texts: Sequence[str]) -> dict[int, np.ndarray]:
        """Cached vectors for ``texts``: {position in texts: vector} for the texts found."""
        keys = [text_hash(t) for t in texts]
        pos: dict[str, list[int]] = {}
        for i, k in enumerate(keys):
            pos.setdefault(k, []).append(i)
        found: dict[int, np.ndarray] = {}
        uniq = list(pos)
        for s in range(0, len(uniq), 500):  # SQLite's host-parameter limit
            part = uniq[s : s + 500]
            q = f"SELECT text_sha, dim, vec FROM vectors WHERE model = ? AND text_sha IN ({','.join('?' * len(part))})"
            for sha, dim, blob in self._db.read(q, [model, *part]):
                if not isinstance(blob, bytes) or not isinstance(dim, int) or len(blob) != 4 * dim or dim <= 0:
                    continue
                v = np.frombuffer(blob, dtype=np.float32)
                if not np.isfinite(v).all() or sha not in pos:
                    continue
                for i in pos[sha]:
                    found[i] = v
        return found

    def put_many(self, model: str, texts: Sequence[str], vecs: np.ndarray) -> None:
        """Store ``vecs[i]`` for ``texts[i]`` (existing entries are kept)."""
        rows = [
            (model, text_hash(t), int(v.shape[0]), np.ascontiguousarray(v, dtype=np.float32).tobytes())
            for t, v in zip(texts, vecs)
        ]
        self._db.write("INSERT OR IGNORE INTO vectors VALUES (?, ?, ?, ?)", rows)

    def __len__(self) -> int:
        rows = self._db.read("SELECT COUNT(*) FROM vectors")
        return int(rows[0][0]) if rows else 0

    def close(self) -> None:
        self._db.close()
