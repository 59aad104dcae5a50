"""An on-disk cache of model outputs, so repeated runs and ablations cost nothing.

One SQLite file (``outputs.sqlite``) in the cache folder; the key is the SHA-256 of the JSON of
``(generator id, messages, decoding parameters)``. SQLite rather than a folder of JSON files: one file, atomic
writes, safe with several processes (WAL). Generator ids never hold secrets (``openai`` ids are
``openai:<model>@<base url>``), and nothing else about the backend is stored, so no API key can reach the cache.

Example:
    >>> import tempfile
    >>> from mlrag.generation.echo import EchoGenerator
    >>> gen = CachedGenerator(EchoGenerator(), OutputCache.open(tempfile.mkdtemp()))
    >>> gen.complete([{"role": "user", "content": "python a.py"}], DecodeParams())
    '```bash\\npython a.py\\n```'
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

from .base import BaseGenerator, DecodeParams, Generator, Messages, complete_batch

log = logging.getLogger(__name__)
SCHEMA_VERSION = 1


def default_cache_dir() -> Path:
    """``$MLRAG_CACHE_DIR`` or ``$XDG_CACHE_HOME/mlrag`` (``~/.cache/mlrag``), then ``generations``."""
    root = (
        os.environ.get("MLRAG_CACHE_DIR") or Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser() / "mlrag"
    )
    return Path(root) / "generations"


def cache_key(model_id: str, messages: Messages, params: DecodeParams) -> str:
    """The SHA-256 key of one request."""
    payload = json.dumps(
        {"v": SCHEMA_VERSION, "model": model_id, "messages": messages, "params": params.to_dict()},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class OutputCache:
    """Model outputs by request key, in ``<folder>/outputs.sqlite``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS outputs (key TEXT PRIMARY KEY, model TEXT, text TEXT)")
        self._db.commit()

    @classmethod
    def open(cls, folder: str | os.PathLike[str] | None = None) -> "OutputCache":
        """The cache in ``folder`` ("" or None: ``default_cache_dir()``)."""
        return cls(Path(folder).expanduser() / "outputs.sqlite" if folder else default_cache_dir() / "outputs.sqlite")

    def get(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT text FROM outputs WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def put(self, key: str, model_id: str, text: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO outputs VALUES (?, ?, ?)", (key, model_id, text))
            self._db.commit()

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM outputs").fetchone()[0])


class CachedGenerator(BaseGenerator):
    """A generator whose outputs are looked up in (and stored to) an ``OutputCache``; same ``id`` as the inner one.

    ``hits`` and ``misses`` count lookups, for reports.
    """

    def __init__(self, inner: Generator, cache: OutputCache) -> None:
        self.inner = inner
        self.cache = cache
        self.id = inner.id
        self.hits = 0
        self.misses = 0

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        # Delegate extras such as count_tokens to the wrapped backend.
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def complete(self, messages: Messages, params: DecodeParams) -> str:
        return self.complete_batch([messages], params)[0]

    def complete_batch(self, batch: Sequence[Messages], params: DecodeParams) -> list[str]:
        keys = [cache_key(self.id, list(m), params) for m in batch]
        out: list[str | None] = [self.cache.get(k) for k in keys]
        todo = [i for i, o in enumerate(out) if o is None]
        self.hits += len(batch) - len(todo)
        self.misses += len(todo)
        if todo:
            fresh = complete_batch(self.inner, [batch[i] for i in todo], params)
            for i, text in zip(todo, fresh):
                out[i] = text
                self.cache.put(keys[i], self.id, text)
        return [o or "" for o in out]
