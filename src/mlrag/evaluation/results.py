"""Results folders: mlrag writes only into folders it made, and writes each file whole.

A results folder (``mlrag eval --out``) holds ``MARKER`` (``.mlrag-results``), written when mlrag first claims
the folder. ``claim_results_dir`` accepts a missing or empty folder (and creates/marks it), or one that holds
the marker (a rerun resumes there); anything else (a file, a folder with the user's own files) is refused with
a ``ResultsDirError``, so ``--out`` can never overwrite or mix into someone's files. Folders written by mlrag
before the marker existed (a ``run.json`` with an ``identity``) are recognised and marked.

Every text file is written atomically (a temporary file beside it, then ``os.replace``), and goes through
``mlrag.redact`` when it may quote a spec or URL.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from ..errors import MlragError

MARKER = ".mlrag-results"


class ResultsDirError(MlragError):
    """``--out`` names a file, or a folder that is not an mlrag results folder."""


def _legacy_results(folder: Path) -> bool:
    try:
        data = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "identity" in data


def claim_results_dir(out: str | os.PathLike[str]) -> Path:
    """Make sure ``out`` is a folder mlrag may write results into, creating and marking it when needed.

    Raises:
        ResultsDirError: ``out`` is a file (or other non-folder), or a non-empty folder without ``MARKER``.
    """
    folder = Path(out)
    if folder.exists() or folder.is_symlink():
        if not folder.is_dir():
            raise ResultsDirError(f"--out {folder} exists and is not a folder; give a new or empty folder")
        if not (folder / MARKER).is_file():
            try:
                entries = [p.name for p in folder.iterdir()]
            except OSError as e:
                raise ResultsDirError(f"--out {folder} cannot be read ({e.strerror})") from None
            if entries and not _legacy_results(folder):
                raise ResultsDirError(
                    f"--out {folder} already holds files that mlrag did not write ({', '.join(sorted(entries)[:3])}"
                    f"{', ...' if len(entries) > 3 else ''}); give a new or empty folder"
                )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        marker = folder / MARKER
        if not marker.is_file():
            write_text_atomic(marker, "mlrag evaluation results; mlrag eval may resume and rewrite files here\n")
    except OSError as e:
        raise ResultsDirError(f"--out {folder} cannot be written ({e.strerror})") from None
    return folder


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all (temporary file in the same folder, then rename)."""
    dest = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=str(dest.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, dest)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
