"""Console entry points declared by a repository's packaging files: ``setup.cfg`` (``[options.entry_points]``),
``pyproject.toml`` (``[project.scripts]``, ``[tool.poetry.scripts]``) and ``setup.py``
(``entry_points={"console_scripts": [...]}``, read with ``ast``, never run)."""

from __future__ import annotations

import ast
import configparser
import re
from typing import Any

from ..chunking.cli_ast import Values, keywords

_ENTRY = re.compile(r"^\s*([\w.-]+)\s*=\s*([\w.]+)\s*:\s*([\w.]+)")


def console_scripts(path: str, text: str) -> list[tuple[str, str, str]]:
    """``(command, module, function)`` for each console script declared in the file ``path``."""
    name = path.rsplit("/", 1)[-1]
    found: list[tuple[str, str, str]] = []
    try:
        if name == "setup.cfg":
            cp = configparser.ConfigParser(interpolation=None)
            cp.read_string(text)
            if cp.has_option("options.entry_points", "console_scripts"):
                found = _parse_lines(cp.get("options.entry_points", "console_scripts").splitlines())
        elif name == "pyproject.toml":
            found = _pyproject(text)
        elif name == "setup.py":
            found = _setup_py(text)
    except (configparser.Error, ValueError, SyntaxError, RecursionError, MemoryError):
        return []
    return found


def _parse_lines(lines: list[str]) -> list[tuple[str, str, str]]:
    out = []
    for line in lines:
        m = _ENTRY.match(line)
        if m:
            out.append((m.group(1), m.group(2), m.group(3)))
    return out


def _pyproject(text: str) -> list[tuple[str, str, str]]:
    try:
        import tomllib  # Python 3.11+
    except ImportError:  # pragma: no cover - 3.10
        return []
    data: Any = tomllib.loads(text)
    tables = [data.get("project", {}).get("scripts", {}), data.get("tool", {}).get("poetry", {}).get("scripts", {})]
    lines = [f"{k} = {v}" for t in tables if isinstance(t, dict) for k, v in t.items() if isinstance(v, str)]
    return _parse_lines(lines)


def _setup_py(text: str) -> list[tuple[str, str, str]]:
    tree = ast.parse(text)
    v = Values(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and ast.unparse(node.func).split(".")[-1] == "setup":
            ep = v.literal(keywords(node).get("entry_points"))
            if isinstance(ep, dict):
                cs = ep.get("console_scripts") or []
                return _parse_lines([str(x) for x in (cs if isinstance(cs, (list, tuple)) else [cs])])
    return []
