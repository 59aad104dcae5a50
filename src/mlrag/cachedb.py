"""SQLite files that hold caches (embeddings, model outputs): a broken cache costs speed, never a run.

``CacheDB`` opens a file in WAL mode and creates its schema. When the file is not a usable database (corrupt,
truncated, another format, or a table of another shape), it is moved aside to ``<name>.corrupt`` (with its
``-wal``/``-shm`` files; nothing is deleted) and a fresh one is made; when the folder cannot be written, the
cache lives in memory for this run. Errors in later reads and writes (a page corrupted while running) disable
the cache with one warning: ``read`` then finds nothing and ``write`` does nothing. A busy file (another
process writing) is retried while SQLite's timeout lasts, then skipped for that one call.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def _busy(e: sqlite3.Error) -> bool:
    return isinstance(e, sqlite3.OperationalError) and "locked" in str(e)


class CacheDB:
    """One cache file; ``schema`` is a ``;``-separated list of ``CREATE ... IF NOT EXISTS`` statements, and
    ``probe`` a query that must run on a usable file (it reads the cache's table)."""

    def __init__(self, path: str | os.PathLike[str], schema: str, probe: str, what: str = "cache",
                 timeout_s: float = 60.0) -> None:
        self.path = Path(path)
        self.what = what
        self._lock = threading.Lock()
        self._timeout = timeout_s
        self._schema, self._probe = schema, probe
        self.enabled = True
        try:
            if self.path.exists() and not self.path.is_file():  # a folder, FIFO or device: not ours to touch
                raise OSError(f"{self.path} is not a regular file")
            self._db = self._open(str(self.path))
        except sqlite3.DatabaseError as e:
            if not isinstance(e, sqlite3.OperationalError) or "no such column" in str(e):
                self._db = self._open_aside(e)
            else:
                self._db = self._in_memory(e)
        except OSError as e:
            self._db = self._in_memory(e)

    def _open(self, where: str) -> sqlite3.Connection:
        if where != ":memory:":
            Path(where).parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(where, timeout=self._timeout, check_same_thread=False)
        try:
            self._retry_busy(lambda: self._setup(db))
        except BaseException:
            db.close()
            raise
        return db

    def _setup(self, db: sqlite3.Connection) -> None:
        # Read first (a file of another kind or shape is detected before anything is written to it), then
        # create what is missing, then switch to WAL.
        db.execute("SELECT name FROM sqlite_master LIMIT 1").fetchall()
        for statement in self._schema.split(";"):
            if statement.strip():
                db.execute(statement)
        db.execute(self._probe).fetchall()
        db.commit()
        if str(db.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
            db.execute("PRAGMA journal_mode=WAL")

    def _open_aside(self, error: Exception) -> sqlite3.Connection:
        aside = self.path.with_name(self.path.name + ".corrupt")
        try:
            for suffix in ("", "-wal", "-shm"):
                src = self.path.with_name(self.path.name + suffix)
                if src.exists():
                    os.replace(src, aside.with_name(aside.name + suffix))
            db = self._open(str(self.path))
        except (OSError, sqlite3.Error) as e:
            return self._in_memory(e)
        log.warning("%s %s was not a usable SQLite file (%s); moved it to %s and started an empty one",
                    self.what, self.path, error, aside.name)
        return db

    def _in_memory(self, error: Exception) -> sqlite3.Connection:
        log.warning("%s %s cannot be used (%s); caching in memory for this run", self.what, self.path, error)
        return self._open(":memory:")

    @staticmethod
    def _retry_busy(step: Callable[[], object], attempts: int = 60) -> None:
        """Run ``step``, retrying while another process holds the file: switching the journal mode does not
        wait on SQLite's busy timeout, so several builders opening a new cache at once can see 'locked'."""
        for i in range(attempts):
            try:
                step()
                return
            except sqlite3.OperationalError as e:
                if not _busy(e) or i == attempts - 1:
                    raise
                time.sleep(min(0.05 * (i + 1), 1.0))

    def _failed(self, e: sqlite3.Error, doing: str) -> None:
        if _busy(e):
            log.debug("%s %s is busy; %s skipped", self.what, self.path, doing)
            return
        self.enabled = False
        log.warning("%s %s failed while %s (%s); running without it", self.what, self.path, doing, e)

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of a query; ``[]`` when the cache is disabled or the query fails."""
        if not self.enabled:
            return []
        try:
            with self._lock:
                return list(self._db.execute(sql, list(params)).fetchall())
        except sqlite3.Error as e:
            self._failed(e, "reading")
            return []

    def write(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run ``sql`` for each row in one transaction; nothing when disabled or failing."""
        if not self.enabled:
            return
        try:
            with self._lock, self._db:
                self._db.executemany(sql, [list(r) for r in rows])
        except sqlite3.Error as e:
            self._failed(e, "writing")

    def close(self) -> None:
        try:
            self._db.close()
        except sqlite3.Error:
            pass
