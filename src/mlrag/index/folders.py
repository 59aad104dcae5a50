"""Where index folders may be written, and how they are replaced: nothing mlrag did not create is ever deleted.

- ``check_output`` refuses an output location that is a file, the repository or a folder above it, the folder of
  all indexes (or one above it), a folder inside another index, or an existing folder that is not empty and is
  not an mlrag index (no ``.mlrag-index`` marker and no mlrag manifest). It only reads; the refusal is one line.
- ``replace_folder`` is the one place an index folder is removed, and it checks the same rule again under the
  builder's lock before renaming anything aside. ``remove_stale`` deletes only temporary folders that carry the
  marker (every build writes it first) and whose builder process is gone.
- ``walk_excluding`` keeps an index folder (and the index folder's caches) that lies inside the repository out
  of the repository's own walk, so an index is never indexed into itself.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..config import Config, WalkConfig
from ..errors import IndexWriteError
from .manifest import has_marker, read_manifest

log = logging.getLogger(__name__)

_PLAIN_PATH = re.compile(r"^[A-Za-z0-9._/+-]+$")  # no gitignore metacharacters: safe as an exclude pattern


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def is_index_folder(folder: Path) -> bool:
    """True when ``folder`` was written by mlrag: it carries the marker, or a manifest of an mlrag index."""
    if has_marker(folder):
        return True
    m = read_manifest(folder)
    return m is not None and "format_version" in m and "mlrag_version" in m


def check_output(out: Path, root: Path | None, index_dir: Path | None = None) -> None:
    """Raise ``IndexWriteError`` unless ``out`` may hold (and later be replaced by) an index of ``root``."""
    target = Path(os.path.abspath(out))
    real = out.resolve()
    refuse = f"refusing to write an index to {out}"
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise IndexWriteError(f"{refuse}: it is a file or a link, not an index folder; choose a new or empty folder")
    if root is not None:
        root = root.resolve()
        if _inside(root, real) or _inside(root, target):
            raise IndexWriteError(f"{refuse}: it holds the repository {root}; choose a folder beside or inside it")
    if index_dir is not None and (index_dir.exists() or index_dir.is_symlink()):
        idir = index_dir.resolve()
        if _inside(idir, real):
            raise IndexWriteError(
                f"{refuse}: it holds the folder of all indexes {index_dir}; give one folder per index"
            )
    for parent in real.parents:
        if has_marker(parent):
            raise IndexWriteError(f"{refuse}: it lies inside the index folder {parent}; choose a folder outside it")
    if out.is_dir():
        try:
            empty = next(out.iterdir(), None) is None
        except OSError as e:
            raise IndexWriteError(f"{refuse}: cannot read it ({e.strerror})") from None
        if not empty and not is_index_folder(out):
            raise IndexWriteError(
                f"{refuse}: the folder exists, is not empty and is not an mlrag index (no {'.mlrag-index'} marker "
                "or manifest); it is left as it is; choose a new or empty folder"
            )


def writable_parent(out: Path) -> None:
    """Create ``out``'s parent folder, or raise ``IndexWriteError`` saying it cannot be written."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        probe = out.parent / f".{out.name}.probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise IndexWriteError(
            f"cannot write the index folder {out} ({e.strerror or e}); set index_dir (or --out) to a writable folder"
        ) from None


@contextlib.contextmanager
def lock(out: Path) -> Iterator[None]:
    """An exclusive ``fcntl`` lock on ``.<name>.lock`` beside ``out`` (blocks until the other builder is done)."""
    lock_path = out.parent / f".{out.name}.lock"
    try:
        fh = open(lock_path, "a+")
    except OSError as e:
        raise IndexWriteError(
            f"cannot write the index folder {out} ({e.strerror or e}); set index_dir (or --out) to a writable folder"
        ) from None
    with fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def replace_folder(tmp: Path, out: Path) -> None:
    """Move the finished ``tmp`` folder to ``out``; an existing ``out`` must be an mlrag index or empty (it is
    renamed aside, then deleted)."""
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise IndexWriteError(f"refusing to replace {out}: it is a file or a link, not an index folder")
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    if out.exists():
        if next(out.iterdir(), None) is not None and not is_index_folder(out):
            raise IndexWriteError(f"refusing to replace {out}: it is not an mlrag index; it is left as it is")
        os.rename(out, old)
    os.rename(tmp, out)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


def new_tmp(out: Path) -> Path:
    """A fresh ``.<name>.tmp-<pid>`` folder beside ``out``, marked as mlrag's before anything else is written."""
    from .manifest import write_marker

    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    if tmp.exists() and is_index_folder(tmp):
        shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    write_marker(tmp)
    return tmp


def remove_stale(out: Path) -> None:
    """Delete mlrag's temporary folders left beside ``out`` by builders that died (their process is gone)."""
    for p in out.parent.glob(f".{out.name}.*-*"):
        kind, _, pid = p.name.rpartition("-")
        if not (kind.endswith(".tmp") or kind.endswith(".old")) or not pid.isdigit() or not p.is_dir():
            continue
        if not is_index_folder(p):
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            log.info("removing %s, left by a builder that stopped", p)
            shutil.rmtree(p, ignore_errors=True)
        except PermissionError:
            pass


# --- keeping index folders out of the repository's walk --------------------------------------------------------


def excluded_prefixes(root: Path, config: Config, out: Path) -> list[str]:
    """Repository-relative folders (``a/b/``) the walk must skip: the index folder ``out``, its temporary
    siblings' folder entries and the folder of all indexes (with its clone cache), when they lie in ``root``."""
    root = root.resolve()
    found: list[str] = []
    for folder in (out, config.resolved_index_dir):
        real = Path(os.path.abspath(folder))
        for cand in {real, real.resolve() if real.exists() else real}:
            if cand != root and root in cand.parents:
                found.append(cand.relative_to(root).as_posix() + "/")
    return sorted(set(found))


def walk_excluding(walk: WalkConfig, root: Path, config: Config, out: Path) -> tuple[WalkConfig, list[str]]:
    """``walk`` with the index folders inside ``root`` excluded, and those folders (to drop after walking:
    ``drop_excluded``; names with gitignore metacharacters are dropped only there)."""
    prefixes = excluded_prefixes(root, config, out)
    extra: list[str] = []
    for p in prefixes:
        if _PLAIN_PATH.match(p):
            extra.append("/" + p)  # anchored at the root: only this folder
            parent, _, name = p.rstrip("/").rpartition("/")
            extra.append(f"/{parent + '/' if parent else ''}.{name}.*")  # its .tmp-/.old- siblings and lock
    if not extra:
        return walk, prefixes
    return replace(walk, exclude=(*walk.exclude, *extra)), prefixes


def drop_excluded(files: Sequence[Any], prefixes: Sequence[str]) -> list[Any]:
    """``files`` without those under any of ``prefixes`` (``a/b/``) or under any folder that holds an mlrag
    marker (another index folder kept in the repository: the walk reads its marker as a text file)."""
    from .manifest import MARKER, MARKER_TEXT

    marked = [f.path[: -len(MARKER)] for f in files if f.path.rsplit("/", 1)[-1] == MARKER and f.text == MARKER_TEXT]
    drop = tuple([*prefixes, *marked])
    if not drop:
        return list(files)
    return [f for f in files if not f.path.startswith(drop)]
