"""The affordance catalog as a readable table (``mlrag entry-points REPO``) and as plain JSON (``--json``, the MCP
tool ``list_entry_points``).

One block per entry point: its kind, how to run it (``cd workdir && run``), where it is defined, then one line
per parameter with its type, choices, default, ``required`` and help. Registries list their names; Python API
entries show their signature; documentation examples their first lines of code and the values a task may replace.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..catalog.base import AFFORDANCE_KINDS, Affordance, Catalog, Param
from ..errors import ConfigError

_HELP_CHARS = 90


def select(catalog: Catalog, kinds: Sequence[str] | None = None, query: str = "") -> list[Affordance]:
    """The entries of ``kinds`` (all when empty) whose id, run line or summary contains ``query`` (any case)."""
    bad = [k for k in kinds or () if k not in AFFORDANCE_KINDS]
    if bad:
        raise ConfigError(f"unknown entry-point kind {bad[0]!r}; choose from {', '.join(AFFORDANCE_KINDS)}")
    q = query.lower().strip()
    return [
        a
        for a in catalog
        if (not kinds or a.kind in kinds) and (not q or q in f"{a.id} {a.run} {a.summary} {a.name}".lower())
    ]


def command_line(a: Affordance) -> str:
    """How to run ``a`` from the repository root (``cd examples/x && python train.py``); the import for the API."""
    if a.kind in ("python-api", "registry"):
        return a.run or a.name
    return f"cd {a.workdir} && {a.run}" if a.workdir and a.run else a.run or a.name


def _param_line(p: Param) -> str:
    spell = ", ".join(p.spellings) if p.kind == "option" else p.name
    if p.kind == "positional":
        spell = f"<{p.name}>" + (f" (${(p.position or 0) + 1})" if p.dest and p.dest.isupper() else "")
    elif p.kind in ("env", "make-var", "override"):
        spell = f"{p.name}=…"
    elif p.kind == "config-key":
        spell = f"{p.dest + ' ' if p.dest else ''}{p.name} …"
    bits = [p.type or ("flag" if p.is_flag else "")]
    if p.nargs:
        bits.append(f"nargs={p.nargs}")
    if p.choices:
        bits.append("{" + "|".join(p.choices) + "}")
    if p.default not in (None, ""):
        bits.append(f"default={p.default}")
    if p.required:
        bits.append("required")
    help_ = " ".join(p.help.split())
    if len(help_) > _HELP_CHARS:
        help_ = help_[: _HELP_CHARS - 1] + "…"
    meta = "  ".join(b for b in bits if b)
    return f"    {spell:<28} {meta}" + (f"  — {help_}" if help_ else "")


def format_catalog(entries: Iterable[Affordance]) -> str:
    """The table (see the module docstring); "" when there are no entries."""
    blocks: list[str] = []
    for a in entries:
        where = f"    defined at {a.location}" + (f"  ({a.framework})" if a.framework else "")
        if a.kind == "python-example":
            blocks.append("\n".join([f"[{a.kind}] {a.name}", where, *_example_lines(a)]))
            continue
        lines = [f"[{a.kind}] {command_line(a)}", where]
        if a.summary:
            lines.append(f"    {' '.join(a.summary.split())[:200]}")
        if a.signature:
            lines.append(f"    {a.signature}")
        if a.values:
            shown = ", ".join(a.values[:40]) + (f", … ({len(a.values)} in all)" if len(a.values) > 40 else "")
            lines.append(f"    names: {shown}")
        lines += [_param_line(p) for p in a.params if p.kind != "config-key"]
        keys = [p for p in a.params if p.kind == "config-key"]
        if keys:  # a yacs config holds hundreds: the first few, and how many
            lines += [_param_line(p) for p in keys[:12]]
            if len(keys) > 12:
                lines.append(f"    … ({len(keys)} config keys in all)")
        if a.invoked_by:
            lines.append(f"    run in: {', '.join(a.invoked_by[:4])}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _example_lines(a: Affordance, shown: int = 6) -> list[str]:
    """A documentation example: its section, its first lines of code, and the values a task may replace."""
    lines = [f"    {' '.join(a.summary.split())[:200]}"] if a.summary else []
    code = a.run.splitlines()
    lines += [f"    | {line}" for line in code[:shown]]
    if len(code) > shown:
        lines.append(f"    | … ({len(code)} lines)")
    slots = [repr(p.name) if p.type == "string" else f"{p.name}()" if p.type == "call" else f"({p.name})"
             for p in a.params]  # fmt: skip
    if slots:
        lines.append(f"    values: {', '.join(slots[:12])}" + (f", … ({len(slots)} in all)" if len(slots) > 12 else ""))
    return lines


def catalog_json(entries: Iterable[Affordance]) -> list[dict[str, Any]]:
    """Plain-JSON entries (``Affordance.to_dict``) with ``command``: how to run each from the repository root."""
    return [{**a.to_dict(), "command": command_line(a)} for a in entries]
