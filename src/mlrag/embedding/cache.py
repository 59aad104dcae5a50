"""An on-disk embedding cache keyed by (model id, text hash), so no text is embedded twice across builds.

SQLite (stdlib, safe across processes, one file) with one row per (model, sha1(text)) holding the float32
vector as bytes. It sits beside the indexes (``<index_dir>/embeddings.sqlite``), outside any one index folder,
because index folders are replaced atomically on every rebuild while the cache must outlive them.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

_SCHEMA = """CREATE TABLE IF NOT EXISTS vectors (
    model TEXT NOT NULL, text_sha TEXT NOT NULL, dim INTEGER NOT NULL, vec BLOB NOT NULL,
    PRIMARY KEY (model, text_sha)) WITHOUT ROWID"""


def text_hash(text: str) -> str:
    """sha1 of the UTF-8 text (surrogates kept), the cache key's text part."""
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()


class EmbeddingCache:
    """Vectors by (model id, text hash) in one SQLite file.

    Example:
        >>> cache = EmbeddingCache(Path("/tmp/emb.sqlite"))
        >>> cache.put_many("m@1", ["a"], np.ones((1, 2), np.float32)); sorted(cache.get_many("m@1", ["a", "b"]))
        [0]
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), timeout=60.0, check_same_thread=False)
        self._retry_locked(self._enable_wal)
        self._retry_locked(lambda: self._db.execute(_SCHEMA))
        self._db.commit()

    def _enable_wal(self) -> None:
        if str(self._db.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
            self._db.execute("PRAGMA journal_mode=WAL")

    @staticmethod
    def _retry_locked(step: Callable[[], object], attempts: int = 60) -> None:
        """Run ``step``, retrying while another process holds the file: switching the journal mode does not
        wait on SQLite's busy timeout, so several builders opening a new cache at once can see 'locked'."""
        for i in range(attempts):
            try:
                step()
                return
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or i == attempts - 1:
                    raise
                time.sleep(min(0.05 * (i + 1), 1.0))

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
            q = f"SELECT text_sha, vec FROM vectors WHERE model = ? AND text_sha IN ({','.join('?' * len(part))})"
            for sha, blob in self._db.execute(q, [model, *part]):
                v = np.frombuffer(blob, dtype=np.float32)
                for i in pos[sha]:
                    found[i] = v
        return found

    def put_many(self, model: str, texts: Sequence[str], vecs: np.ndarray) -> None:
        """Store ``vecs[i]`` for ``texts[i]`` (existing entries are kept)."""
        rows = [
            (model, text_hash(t), int(v.shape[0]), np.ascontiguousarray(v, dtype=np.float32).tobytes())
            for t, v in zip(texts, vecs)
        ]
        with self._db:
            self._db.executemany("INSERT OR IGNORE INTO vectors VALUES (?, ?, ?, ?)", rows)

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0])

    def close(self) -> None:
        self._db.close()
