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
from collections.abc import Sequence
from pathlib import Path

from ..cachedb import CacheDB
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
    """Model outputs by request key, in ``<folder>/outputs.sqlite`` (``mlrag.cachedb.CacheDB``: a corrupt file is
    moved aside and rebuilt, a failing one disables the cache, never the run)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = CacheDB(path, "CREATE TABLE IF NOT EXISTS outputs (key TEXT PRIMARY KEY, model TEXT, text TEXT)",
                           "SELECT key, model, text FROM outputs LIMIT 1", "generation cache", timeout_s=30)

    @classmethod
    def open(cls, folder: str | os.PathLike[str] | None = None) -> "OutputCache":
        """The cache in ``folder`` ("" or None: ``default_cache_dir()``)."""
        return cls(Path(folder).expanduser() / "outputs.sqlite" if folder else default_cache_dir() / "outputs.sqlite")

    def get(self, key: str) -> str | None:
        rows = self._db.read("SELECT text FROM outputs WHERE key = ?", (key,))
        return str(rows[0][0]) if rows and rows[0][0] is not None else None

    def put(self, key: str, model_id: str, text: str) -> None:
        self._db.write("INSERT OR REPLACE INTO outputs VALUES (?, ?, ?)", [(key, model_id, text)])

    def __len__(self) -> int:
        rows = self._db.read("SELECT COUNT(*) FROM outputs")
        return int(rows[0][0]) if rows else 0


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
