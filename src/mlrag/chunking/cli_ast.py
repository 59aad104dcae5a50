"""Shared pieces of the static command-line readers: the ``CliSpec`` record, option dicts, and turning ``ast``
expressions into plain values (literals, names bound to module-level literals, else their source text).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Any

Option = dict[str, Any]


@dataclass(frozen=True)
class CliSpec:
    """The command-line interface found in one script."""

    framework: str  # argparse | click | typer | fire
    options: tuple[Option, ...]
    subcommands: dict[str, list[Option]] = field(default_factory=dict)
    start_line: int = 1  # 1-based, inclusive: the span of the parser definition
    end_line: int = 1


def option(
    flags: list[str],
    dest: str | None = None,
    type_: str | None = None,
    default: str | None = None,
    choices: list[str] | None = None,
    required: bool = False,
    help_: str | None = None,
    action: str | None = None,
    nargs: str | None = None,
    positional: bool | None = None,
) -> Option:
    pos = positional if positional is not None else not any(f.startswith("-") for f in flags)
    if dest is None:
        longs = [f for f in flags if f.startswith("--")] or flags
        dest = longs[0].lstrip("-").replace("-", "_") if longs else ""
    return {
        "flags": flags, "dest": dest, "type": type_, "default": default, "choices": choices,
        "required": required, "help": help_, "action": action, "nargs": nargs, "positional": pos,
    }  # fmt: skip


class Values:
    """Turns expressions into plain strings, resolving names bound to literals at module level (then, for a name
    no module-level line binds, a list or tuple of literals a function binds it to: ``cl_protocols = [...]``
    in the function that adds the option)."""

    def __init__(self, tree: ast.Module) -> None:
        self.consts: dict[str, ast.expr] = {}
        for st in tree.body:
            if isinstance(st, ast.Assign) and len(st.targets) == 1 and isinstance(st.targets[0], ast.Name):
                self.consts[st.targets[0].id] = st.value
        self.local_lists: dict[str, ast.expr] = {}
        for fn in tree.body:
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for st in fn.body:
                if isinstance(st, ast.Assign) and len(st.targets) == 1 and isinstance(st.targets[0], ast.Name) \
                        and isinstance(st.value, (ast.List, ast.Tuple)):
                    self.local_lists.setdefault(st.targets[0].id, st.value)

    def literal(self, node: ast.expr | None) -> Any:
        if node is None:
            return None
        if isinstance(node, ast.Name) and node.id in self.consts:
            node = self.consts[node.id]
        elif isinstance(node, ast.Name) and node.id in self.local_lists:
            node = self.local_lists[node.id]
        try:
            return ast.literal_eval(node)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return NOT_LITERAL

    def text(self, node: ast.expr | None) -> str | None:
        if node is None:
            return None
        v = self.literal(node)
        if v is NOT_LITERAL:
            return ast.unparse(node)
        return None if v is None else str(v)

    def choices(self, node: ast.expr | None) -> list[str] | None:
        if node is None:
            return None
        if isinstance(node, ast.IfExp):  # ``[...] if pretrain else cl_protocols``: either list, so both
            both = [*(self.choices(node.body) or ()), *(self.choices(node.orelse) or ())]
            return list(dict.fromkeys(both)) or None
        v = self.literal(node)
        if isinstance(v, (list, tuple, set, frozenset)):
            return [str(x) for x in v]
        if isinstance(v, dict):
            return [str(x) for x in v]
        if isinstance(node, ast.Name) and isinstance(self.consts.get(node.id), ast.Call):
            return self.choices(self.consts[node.id])  # DATASETS = list(DATASETS_DICT.keys())
        if isinstance(node, ast.Call) and dotted_name(node.func) in ("list", "tuple", "sorted") and len(node.args) == 1:
            return self.choices(node.args[0])  # list(MODELS), sorted(MODELS.keys())
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "keys" \
                and not node.args:
            keys = self.literal(node.func.value)
            return [str(x) for x in keys] if isinstance(keys, dict) else None
        if isinstance(node, ast.Call) and dotted_name(node.func) == "range":  # range(a, b): small ranges listed
            args = [self.literal(a) for a in node.args]
            if all(isinstance(a, int) for a in args) and args:
                r = range(*args)
                if len(r) <= 64:
                    return [str(x) for x in r]
        return None


NOT_LITERAL = object()


def dotted_name(node: ast.expr) -> str:
    """``a.b.c`` for attribute chains and names, ``""`` otherwise."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted_name(node.value)
        return f"{base}.{node.attr}" if base else node.attr
    return ""


def keywords(call: ast.Call) -> dict[str, ast.expr]:
    return {k.arg: k.value for k in call.keywords if k.arg}


def str_args(call: ast.Call) -> list[str]:
    return [a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]


def type_name(node: ast.expr | None, v: Values) -> str | None:
    if node is None:
        return None
    if isinstance(node, ast.Name):
        return node.id
    return ast.unparse(node)


#: Longest parameter description kept from a docstring (its list of options fits; a tutorial does not).
MAX_PARAM_HELP = 300


def param_docs(*nodes: ast.AST | None) -> dict[str, str]:
    """Each parameter's description in the docstrings of ``nodes`` (a function's, then its class's), read by
    ``docstring_parser`` (Google, NumPy, reST and Epydoc styles): ``{"model_name": "Model for face recognition.
    Options: VGG-Face, Facenet, ..."}``; ``{}`` where a docstring says nothing of them or does not parse."""
    import docstring_parser  # only when an API is read: ``import mlrag`` stays cheap

    out: dict[str, str] = {}
    for node in nodes:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        doc = ast.get_docstring(node, clean=True)
        if not doc or not re.search(r"\bargs\b|\bparam|\bparameters\b|\barguments\b|@param\b", doc, re.I):
            continue
        try:
            parsed = docstring_parser.parse(doc)
        except (docstring_parser.ParseError, ValueError, IndexError, AttributeError):
            continue
        for p in parsed.params:
            if p.arg_name and p.description and p.arg_name not in out:
                out[p.arg_name.lstrip("*")] = " ".join(p.description.split())[:MAX_PARAM_HELP]
    return out
