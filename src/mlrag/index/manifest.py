"""What an index folder says about itself: ``manifest.json``, the ``.mlrag-index`` marker, file checksums.

The manifest records what the index was built from (format and mlrag versions, embedder, chunking config, store,
the walked files' sha1 map, the corpus hash), how (``dense``: ``full`` when every embeddable unit has a vector in
``vectors.npy``, ``none`` for a lexical-first index whose vectors are computed on demand, see ``lazy.py``), and
the sha256 of every other file of the folder (``checksums``), checked by ``Index.load``: a tampered or truncated
file is refused with a rebuild hint instead of being read silently.

The marker is a small fixed file written first into every folder mlrag builds, so that an output location can
be recognised as mlrag's own (and replaced) even when its manifest is damaged; see ``folders.py``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..config import Config
from ..errors import IndexMismatchError

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MARKER = ".mlrag-index"
MARKER_TEXT = "mlrag index folder: written by mlrag, replaced by `mlrag index`; do not put other files here\n"
REBUILD_HINT = "rebuild it with `mlrag index <repo>` (or delete the folder)"
DENSE_STATES = ("full", "none")  # what a folder holds: every embeddable unit's vector, or none


def expected_manifest(config: Config, root: Path) -> dict[str, Any]:
    """The manifest fields an index must have to serve ``config`` for ``root`` (files aside)."""
    return {
        "format_version": FORMAT_VERSION,
        "root": str(root),
        "embedding_model": config.embedding.model,
        "embedding_backend": config.embedding.backend,
        "chunking": asdict(config.chunking),
        "store": {"backend": config.store.backend},
    }


def dense_state(manifest: dict[str, Any]) -> str:
    """``full`` or ``none`` (indexes written before lazy dense search existed are full)."""
    state = manifest.get("dense", "full")
    return state if state in DENSE_STATES else "full"


def is_current(
    manifest: dict[str, Any], files: Sequence[Any], config: Config, root: Path, *, dense: str = "full"
) -> bool:
    """True when the index of ``manifest`` was built from exactly ``files`` with ``config``, and holds what a
    search with ``dense`` needs (``full`` needs every vector; ``lazy``/``off`` read any index)."""
    want = expected_manifest(config, root)
    if any(manifest.get(k) != v for k, v in want.items() if k != "store"):
        return False
    if manifest.get("store", {}).get("backend") != config.store.backend:
        return False
    if dense == "full" and dense_state(manifest) != "full":
        return False
    if dense_state(manifest) == "full" and bool(manifest.get("embeds_data_like")) != (
        config.retrieval.data_like == "all"
    ):
        return False
    return manifest.get("files") == {f.path: f.sha for f in files}


def read_manifest(path: Path) -> dict[str, Any] | None:
    """The parsed ``manifest.json`` of the folder ``path``, or None when it is missing or unreadable."""
    try:
        data = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_marker(folder: Path) -> None:
    (folder / MARKER).write_text(MARKER_TEXT, encoding="utf-8")


def has_marker(folder: Path) -> bool:
    try:
        return (folder / MARKER).read_text(encoding="utf-8") == MARKER_TEXT
    except (OSError, UnicodeDecodeError):
        return False


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def checksums(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder`` (POSIX relative paths), the manifest and marker aside."""
    out: dict[str, str] = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if p.is_file() and rel not in (MANIFEST, MARKER):
            out[rel] = file_sha256(p)
    return out


def verify_checksums(folder: Path, manifest: dict[str, Any]) -> None:
    """Refuse a folder whose files differ from the manifest's checksums (missing, truncated, edited, extra
    files are allowed only outside the recorded set). Manifests without checksums (older builds) pass."""
    want = manifest.get("checksums")
    if want is None:
        return
    if not isinstance(want, dict):
        raise IndexMismatchError(
            f"index {folder} is corrupt: its manifest's checksums are not a mapping; {REBUILD_HINT}"
        )
    for rel, sha in sorted(want.items()):
        p = folder / rel
        if ".." in Path(rel).parts or Path(rel).is_absolute():
            raise IndexMismatchError(
                f"index {folder} is corrupt: checksum entry {rel!r} leaves the folder; {REBUILD_HINT}"
            )
        try:
            got = file_sha256(p)
        except OSError:
            raise IndexMismatchError(
                f"index {folder} is corrupt: {rel} is missing or unreadable; {REBUILD_HINT}"
            ) from None
        if got != sha:
            raise IndexMismatchError(
                f"index {folder} is corrupt: {rel} does not match its checksum (changed or truncated); {REBUILD_HINT}"
            )


def corpus_hash(files: Sequence[Any]) -> str:
    """One sha1 over every (path, sha) pair of the walked files: equal iff the walked content is equal."""
    h = hashlib.sha1()
    for f in files:
        h.update(f"{f.path}\0{f.sha}\n".encode())
    return h.hexdigest()
