"""``mlrag.check``: is this command (or Python snippet) something the repository really offers?

The check is a pure function of the code, the repository's affordance catalog and its file list
(``check_code``); ``check`` opens (or builds: lexical first, nothing embedded) the repository's index to get them,
and reads the repository's own files when a shell script's or a module's text decides a question. Bash and
Python are told apart by whether the code parses as Python with at least one statement that is not a bare name
(``ls`` parses, ``python train.py`` does not); a fenced block's language tag wins.

Example:
    >>> import mlrag
    >>> r = mlrag.check("cd citation && python train.py --datset cora", "examples/graphlab")  # doctest: +SKIP
    >>> r.valid, r.problems  # doctest: +SKIP
    (False, ('python train.py has no option --datset; did you mean --dataset?',))
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Collection, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from ..catalog.base import Catalog
from ..errors import ConfigError
from .bash_check import check_bash
from .python_check import check_python
from .result import CheckResult, Reader, Report, join_path

if TYPE_CHECKING:
    from ..config import Config
    from ..index import Index

RepoLike = Union[str, "os.PathLike[str]", "Index"]
LANGUAGES = ("auto", "bash", "python")
MAX_CODE_CHARS = 100_000
MAX_READ_BYTES = 2_000_000
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*([\w+.#-]*)", re.M)
_BARE = (ast.Name, ast.Attribute, ast.Constant)
_PYTHON_START = re.compile(r"^\s*(?:import\s+\w|from\s+[\w.]+\s+import\b|(?:async\s+)?def\s+\w|class\s+\w|@\w)", re.M)


def detect_language(code: str) -> str:
    """``"python"`` when ``code`` parses as Python and is more than bare names, or does not parse but a line
    starts like Python (``import``, ``from x import``, ``def``, ``class``, a decorator); else ``"bash"``."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return "python" if _PYTHON_START.search(code) else "bash"
    body = tree.body
    if body and all(isinstance(s, ast.Expr) and isinstance(s.value, _BARE) for s in body):
        return "bash"
    return "python" if body else "bash"


def _unfence(code: str) -> tuple[str, str | None]:
    """The code of a fenced block and its language tag (None when untagged or unfenced)."""
    m = _FENCE.search(code)
    if m is None:
        return code, None
    from ..commands import BASH_LANGS, PYTHON_LANGS
    from ..generation.extract import extract_code

    tag = m.group(2).lower()
    lang = "bash" if tag in BASH_LANGS else "python" if tag in PYTHON_LANGS else None
    return extract_code(code, lang), lang


def check_code(code: str, catalog: Catalog, files: Collection[str], *, workdir: str = "", language: str = "auto",
               read: Reader | None = None) -> CheckResult:  # fmt: skip
    """Check ``code`` against ``catalog`` and ``files`` (every repository-relative path). Pure unless ``read``
    (repository-relative path -> text or None) reads files.

    Args:
        code: a bash command line (several, with ``&&``/``;``/new lines) or a Python snippet; a fenced block is
            unwrapped.
        catalog: the repository's affordance catalog.
        files: every repository-relative file path.
        workdir: the repository-relative folder the code runs in ("" = the root).
        language: ``auto`` | ``bash`` | ``python``.
        read: reads a repository file, for facts the catalog does not hold (a shell script forwarding ``"$@"``,
            the names a module defines). Without it those checks are skipped, never guessed.

    Example:
        >>> from mlrag.catalog import Affordance, Catalog, Param
        >>> cat = Catalog((Affordance("python-script:train.py", "python-script", "train.py", "train.py",
        ...     run="python train.py", framework="argparse", params=(Param("--lr", type="float"),)),))
        >>> check_code("python train.py --lr 0.1 --epochs 3", cat, {"train.py"}).problems
        ('python train.py has no option --epochs',)
    """
    if not isinstance(code, str) or not code.strip():
        raise ConfigError("the command to check must be a non-empty string")
    if len(code) > MAX_CODE_CHARS:
        raise ConfigError(f"the command to check has {len(code)} characters; at most {MAX_CODE_CHARS} are checked")
    if language not in LANGUAGES:
        raise ConfigError(f"language must be one of {', '.join(LANGUAGES)}, got {language!r}")
    cwd = join_path(workdir) if workdir else ""
    if cwd is None:
        raise ConfigError(f"workdir must be a folder inside the repository (relative to its root), got {workdir!r}")
    code, tagged = _unfence(code)
    lang = language if language != "auto" else tagged or detect_language(code)
    report = Report()
    try:
        if not code.strip():
            report.problem("the fenced block holds no code")
        elif lang == "python":
            check_python(code, catalog, files, report, workdir=cwd, read=read)
        else:
            check_bash(code, catalog, files, report, workdir=cwd, read=read)
    except RecursionError:
        report.problem("the code is nested too deeply to check")
    return report.result()


def file_reader(root: Path) -> Reader:
    """A ``Reader`` over the files under ``root``: paths that leave it, links out of it, non-files and files over
    ``MAX_READ_BYTES`` read as None."""
    base = Path(root).resolve()

    @lru_cache(maxsize=256)
    def read(path: str) -> str | None:
        target = (base / path).resolve()
        if base not in target.parents or not target.is_file():
            return None
        try:
            if target.stat().st_size > MAX_READ_BYTES:
                return None
            return target.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None

    return read


def check(command: str, repo: RepoLike, *, workdir: str = "", language: str = "auto",
          config: "Config | str | Path | Mapping[str, Any] | None" = None,
          overrides: Sequence[str] | None = None) -> CheckResult:  # fmt: skip
    """Check a bash command or Python snippet against what ``repo`` offers (its scripts and their options,
    shell scripts, make targets, console scripts, modules, Python API and registries).

    ``repo`` is a local folder, a git URL (``URL@commit``) or an opened ``Index``; its index is built (lexical
    first, nothing embedded) when missing. ``workdir`` is the repository-relative folder the command runs in.
    Returns a ``CheckResult``: ``valid``, ``problems`` (one line each) and ``suggestions``.

    Example:
        >>> r = mlrag.check("python citation/train.py --dataset cora --lr 0.01", "examples/graphlab")  # doctest: +SKIP
        >>> r.to_dict()  # doctest: +SKIP
        {'valid': True, 'problems': [], 'suggestions': []}
    """
    from ..api import _config, _open

    if not isinstance(command, str) or not command.strip():
        raise ConfigError("the command to check must be a non-empty string")
    cfg = _config(config, {"overrides": list(overrides)} if overrides else {})
    index = _open(repo, cfg)
    return check_with_index(command, index, workdir=workdir, language=language)


def check_with_index(command: str, index: "Index", *, workdir: str = "", language: str = "auto") -> CheckResult:
    """``check`` on an opened index (what the MCP server calls with its cached indexes)."""
    return check_code(command, index.affordances, set(index.files), workdir=workdir, language=language,
                      read=file_reader(index.root))  # fmt: skip
