"""Task sets in ML-Bench's JSONL format: one row per task, keyed by ``(github_id, id)``.

Design choices:

* A row is a frozen ``TaskRow``; the fields keep ML-Bench's names so a row can be traced back to the dataset.
* ``arguments`` is stored by ML-Bench as a Python dict literal *inside a string* (``"{'lr': '0'}"``). It is
  parsed with ``ast.literal_eval``, which accepts only literals, never with ``eval``. Values are kept as
  ``str(value)`` because ML-Bench's scorer compares ``str(value).lower()`` against the code (95 dev values are
  ints, 8 floats).
* ``id`` is not unique across repositories, so rows are keyed by ``(github_id, id)``; a duplicate key in one
  file is an error, not a silent overwrite.
* ``oracle`` is kept verbatim (95 rows store newlines as a literal ``\\n``); ``oracle_text`` gives the decoded
  form. Metrics normalise again on their own.
* ``repo_dir`` (the folder under the repositories directory) is an mlrag addition to the rows; task sets without
  it get ``<owner>__<name>`` from the ``github`` URL.
"""

from __future__ import annotations

import ast
import codecs
import json
import logging
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import MlragError

log = logging.getLogger(__name__)

#: ML-Bench's two answer types, mapped to mlrag's output types.
OUTPUT_TYPES = {"Bash Script": "bash", "Python Code": "python"}
_REQUIRED = ("github_id", "id", "instruction", "output", "type")


class TaskSetError(MlragError, ValueError):
    """A task-set file or one of its rows is malformed."""


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a task row can hold")


def parse_arguments(text: str | Mapping[str, Any] | None) -> dict[str, str]:
    """Parse ML-Bench's ``arguments`` field into ``{name: str(value)}``.

    Args:
        text: the field as stored, a Python dict literal in a string (``"{'lr': '0', 'stacks': 5}"``), or
            already a mapping; empty or None gives ``{}``.

    Returns:
        The arguments with every value converted by ``str`` (as ML-Bench's scorer does).

    Raises:
        TaskSetError: when the text is not a dict literal.

    Example:
        >>> parse_arguments("{'dataset': 'Citeseer', 'num-stacks': 5}")
        {'dataset': 'Citeseer', 'num-stacks': '5'}
    """
    if text is None or (isinstance(text, str) and not text.strip()):
        return {}
    if isinstance(text, Mapping):
        value: Any = text
    elif not isinstance(text, str):
        raise TaskSetError(f"arguments must be a dict literal, got {type(text).__name__}")
    else:
        try:
            value = ast.literal_eval(text.strip())  # literals only: never eval untrusted rows
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            raise TaskSetError(f"arguments {text[:80]!r} is not a Python dict literal") from None
    if not isinstance(value, Mapping):
        raise TaskSetError(f"arguments must be a dict literal, got {type(value).__name__}: {str(text)[:80]!r}")
    return {str(k): str(v) for k, v in value.items()}


def repo_dir_from_url(url: str) -> str:
    """``https://github.com/dmlc/dgl`` -> ``dmlc__dgl`` (the folder name used under the repositories directory)."""
    m = re.search(r"github\.com[/:]([^/\s]+)/([^/\s#?]+?)(?:\.git)?/?$", url.strip())
    if not m:
        raise TaskSetError(f"cannot derive a repository folder from github URL {url!r}; add a 'repo_dir' field")
    return f"{m.group(1)}__{m.group(2)}"


@dataclass(frozen=True)
class TaskRow:
    """One ML-Bench task.

    Attributes:
        github_id: repository number (ML-Bench's ids are 1-15).
        id: sample id, unique only together with ``github_id``.
        instruction: the user request (the query for retrieval and generation).
        output: the single gold answer.
        type: ``"Bash Script"`` or ``"Python Code"``.
        arguments: values that must appear in an answer, as strings.
        arguments_raw: the field as stored.
        path: folder where the code runs, relative to the repository root (``./`` or ``""`` for the root).
        oracle: the README segment that answers the task, verbatim.
        prefix_code: setup commands run before the answer (may be empty).
        repo_dir: folder of the repository under the repositories directory.
        github: repository URL.
        repo_id: sample number within the repository.
        commit: pinned commit, if given.
    """

    github_id: int
    id: int
    instruction: str
    output: str
    type: str
    arguments: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)
    arguments_raw: str = ""
    path: str = ""
    oracle: str = ""
    prefix_code: str = ""
    repo_dir: str = ""
    github: str = ""
    repo_id: int | None = None
    commit: str = ""

    @property
    def key(self) -> tuple[int, int]:
        """``(github_id, id)``, the row's identity."""
        return (self.github_id, self.id)

    @property
    def key_str(self) -> str:
        """``"github_id:id"``, the key as written in result files."""
        return f"{self.github_id}:{self.id}"

    @property
    def output_type(self) -> str:
        """``bash`` or ``python``."""
        return OUTPUT_TYPES.get(self.type, "bash")

    @property
    def workdir(self) -> str:
        """``path`` normalised: POSIX, no ``./`` prefix, no trailing slash; ``""`` is the repository root."""
        p = self.path.strip().replace("\\", "/")
        while p.startswith("./"):
            p = p[2:]
        p = p.strip("/")
        return "" if p in ("", ".") else p

    @property
    def oracle_text(self) -> str:
        """The oracle with literal ``\\n`` sequences turned into newlines."""
        return self.oracle.replace("\\n", "\n")


def _int_field(d: Mapping[str, Any], key: str, where: str, *, optional: bool = False) -> int | None:
    """An integer field: an int, an integral finite float or a digit string, within 64 bits."""
    value = d.get(key)
    if value is None and optional:
        return None
    if isinstance(value, bool):
        value = None
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    elif isinstance(value, str) and re.fullmatch(r"[+-]?\d{1,19}", value.strip()):
        value = int(value)
    if not isinstance(value, int) or not -(2**63) <= value < 2**63:
        raise TaskSetError(f"{where}: {key} must be an integer, got {str(d.get(key))[:40]!r}")
    return value


def _str_field(d: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> str:
    """A text field: a string (``None``/absent is ``""`` unless required; numbers are not text)."""
    value = d.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise TaskSetError(f"{where}: {key} must be a non-empty string, got {str(value)[:40]!r}")
    return value


def check_relative(value: str, key: str, where: str) -> str:
    """``value`` as a relative POSIX path that stays below its base folder (no ``..``, not absolute, no NUL).

    Rows name folders under ``--repos`` (``repo_dir``) and inside a repository (``path``); a row that could
    point elsewhere (``../../etc``, ``/home``, ``C:\\``, ``~``) is refused, never followed.
    """
    p = value.strip().replace("\\", "/")
    if "\0" in p or p.startswith(("/", "~")) or re.match(r"^[A-Za-z]:", p) or ".." in p.split("/"):
        raise TaskSetError(
            f"{where}: {key} {value[:80]!r} must be a relative path inside its folder (no '..', not absolute)"
        )
    return p


def row_from_dict(d: Mapping[str, Any], where: str = "row") -> TaskRow:
    """Build a ``TaskRow`` from one decoded JSON object (``where`` names it in errors).

    Raises:
        TaskSetError: a missing or mistyped field (a ``null`` instruction is not the text ``"None"``, numbers
            must be finite 64-bit integers), or a ``repo_dir``/``path`` that leaves its folder.
    """
    missing = [k for k in _REQUIRED if k not in d]
    if missing:
        raise TaskSetError(f"{where}: missing field(s) {', '.join(missing)}")
    if not isinstance(d["type"], str) or d["type"] not in OUTPUT_TYPES:
        raise TaskSetError(f"{where}: type {str(d['type'])[:40]!r} is not one of {', '.join(OUTPUT_TYPES)}")
    github_id = _int_field(d, "github_id", where)
    row_id = _int_field(d, "id", where)
    repo_id = _int_field(d, "repo_id", where, optional=True)
    assert github_id is not None and row_id is not None  # not optional: _int_field raised otherwise
    raw = d.get("arguments") or ""
    try:
        arguments = parse_arguments(raw)
    except TaskSetError as e:
        raise TaskSetError(f"{where}: {e}") from None
    repo_dir = _str_field(d, "repo_dir", where)
    if not repo_dir.strip():
        repo_dir = repo_dir_from_url(_str_field(d, "github", where))
    repo_dir = check_relative(repo_dir, "repo_dir", where).strip("/")
    if repo_dir in ("", "."):
        raise TaskSetError(f"{where}: repo_dir must name a folder under the repositories folder")
    return TaskRow(
        github_id=github_id,
        id=row_id,
        instruction=_str_field(d, "instruction", where, required=True),
        output=_str_field(d, "output", where),
        type=str(d["type"]),
        arguments=arguments,
        arguments_raw=raw if isinstance(raw, str) else json.dumps(raw),
        path=check_relative(_str_field(d, "path", where), "path", where),
        oracle=_str_field(d, "oracle", where),
        prefix_code=_str_field(d, "prefix_code", where),
        repo_dir=repo_dir,
        github=_str_field(d, "github", where),
        repo_id=repo_id,
        commit=_str_field(d, "commit", where),
    )


def read_text_file(p: Path) -> str:
    """The text of a task-set file: UTF-8 (with or without BOM) or UTF-16 with a BOM; anything else (a binary
    file, another encoding) is a ``TaskSetError``."""
    try:
        data = p.read_bytes()
    except OSError as e:
        raise TaskSetError(f"cannot read task set {p}: {e.strerror}") from None
    try:
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return data.decode("utf-16")
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise TaskSetError(f"task set {p} is not UTF-8 (or UTF-16) text: undecodable byte at {e.start}") from None
    if "\0" in text:
        raise TaskSetError(f"task set {p} holds NUL bytes: a binary file, not JSONL")
    return text


def load_tasks(
    path: str | Path, *, limit: int | None = None, repos: Iterable[str] | None = None, per_repo: int | None = None
) -> list[TaskRow]:
    """Read a task set in ML-Bench's JSONL format.

    Args:
        path: the JSONL file, one row per line (blank lines are ignored).
        limit: keep only the first ``limit`` rows (after the other filters).
        repos: keep only rows whose ``repo_dir`` is in this collection.
        per_repo: keep only the first ``per_repo`` rows of each repository (a small subset that still covers
            every repository).

    Returns:
        Rows in file order.

    Raises:
        TaskSetError: missing file, a line that is not JSON, a bad row, or a duplicate ``(github_id, id)``.

    Example:
        >>> rows = load_tasks("dev.jsonl", limit=5)  # doctest: +SKIP
    """
    p = Path(path)
    if not p.is_file():
        raise TaskSetError(f"task set not found: {p}")
    wanted = set(repos) if repos is not None else None
    rows: list[TaskRow] = []
    seen: dict[tuple[int, int], int] = {}
    for lineno, line in enumerate(read_text_file(p).split("\n"), 1):
        if not line.strip():
            continue
        where = f"{p}:{lineno}"
        try:
            d = json.loads(line, parse_constant=_no_constant)
        except (json.JSONDecodeError, RecursionError) as e:
            msg = e.msg if isinstance(e, json.JSONDecodeError) else "nested too deeply"
            raise TaskSetError(f"{where}: not valid JSON ({msg})") from None
        except ValueError as e:  # NaN/Infinity, or an integer with too many digits
            raise TaskSetError(f"{where}: not valid JSON ({e})") from None
        if not isinstance(d, dict):
            raise TaskSetError(f"{where}: expected a JSON object, got {type(d).__name__}")
        row = row_from_dict(d, where)
        if row.key in seen:
            raise TaskSetError(
                f"{where}: duplicate key (github_id, id) = {row.key}, first on line {seen[row.key]}"
            )
        seen[row.key] = lineno
        if wanted is not None and row.repo_dir not in wanted:
            continue
        rows.append(row)
    if per_repo is not None:
        if per_repo < 0:
            raise TaskSetError(f"per_repo must be >= 0, got {per_repo}")
        taken: dict[str, int] = {}
        kept = []
        for row in rows:
            taken[row.repo_dir] = taken.get(row.repo_dir, 0) + 1
            if taken[row.repo_dir] <= per_repo:
                kept.append(row)
        rows = kept
    if limit is not None:
        if limit < 0:
            raise TaskSetError(f"limit must be >= 0, got {limit}")
        rows = rows[:limit]
    log.debug("loaded %d rows from %s", len(rows), p)
    return rows
