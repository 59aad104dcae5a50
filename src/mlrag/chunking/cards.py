"""Argument cards: the command-line interface of a script, read statically with ``ast``.

A card states how to run a script and lists every option with type, default, choices, required and help, so a
model writing ``python citation.py --num-stacks 3`` can see the flags that exist. Scripts are only parsed, never
imported or run. Supported, each as far as it can be read from the source alone:

* **argparse**: every ``X.add_argument(...)`` call in the file, including calls in helper functions that take a
  parser; receivers are traced through ``add_subparsers``/``add_parser`` (subcommands), ``add_argument_group``
  and ``add_mutually_exclusive_group`` assignments; unknown receivers (a helper's ``parser`` parameter) count as
  the main parser. A file is a CLI when it builds an ``ArgumentParser`` and calls ``add_argument``.
* **click**: ``@click.option``/``@click.argument`` on ``@click.command``/``@<group>.command`` functions.
* **typer**: parameters of ``@app.command()`` functions or of ``typer.run(f)``, with ``typer.Option``/
  ``typer.Argument`` defaults or ``Annotated`` metadata (read in ``cli_signatures.py``).
* **fire**: ``fire.Fire(f)`` (a function's parameters), ``fire.Fire(Class)`` (``__init__`` parameters, public
  methods as subcommands), ``fire.Fire()`` (every public top-level function) and ``fire.Fire({...})`` (same);
  jsonargparse's ``CLI(f)`` / ``CLI([f, g])`` the same way.

Values that are not literals are kept as their source text (``type: "str2bool"``); a name bound to a literal at
module level is resolved (``choices=DATASETS``). Options read from other modules (``parser = get_parser()``
imported from elsewhere) are not followed. The card chunk itself is built in ``linking.py``.
"""

from __future__ import annotations

import ast
import re

from .cli_ast import CliSpec, Option, Values, dotted_name, keywords, option, str_args, type_name
from .cli_signatures import read_fire, read_typer

__all__ = ["CliSpec", "Option", "extract_cli"]


# --------------------------------------------------------------------------------------------- argparse


def _argparse(tree: ast.Module, v: Values) -> CliSpec | None:
    owner: dict[str, str] = {}  # receiver source -> "" (main) or a subcommand name
    subparsers: dict[str, str] = {}  # add_subparsers result -> owner
    mutex: dict[str, int] = {}  # mutually exclusive group receiver -> group number
    parser_lines: list[int] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and dotted_name(node.func).split(".")[-1] == "ArgumentParser":
            parser_lines.append(node.lineno)
    if not parser_lines:
        return None
    assigns = sorted(
        (n for n in ast.walk(tree) if isinstance(n, ast.Assign) and isinstance(n.value, ast.Call)),
        key=lambda n: n.lineno,
    )
    for a in assigns:
        call = a.value
        assert isinstance(call, ast.Call)
        func = call.func
        target = ast.unparse(a.targets[0])
        method = func.attr if isinstance(func, ast.Attribute) else dotted_name(func).split(".")[-1]
        recv = ast.unparse(func.value) if isinstance(func, ast.Attribute) else ""
        if method == "ArgumentParser":
            owner[target] = ""
        elif method == "add_subparsers":
            subparsers[target] = owner.get(recv, "")
        elif method == "add_parser" and recv in subparsers:
            names = str_args(call)
            outer = subparsers[recv]
            name = names[0] if names else target
            owner[target] = f"{outer} {name}".strip()
        elif method in ("add_argument_group", "add_mutually_exclusive_group"):
            owner[target] = owner.get(recv, "")
            if method == "add_mutually_exclusive_group":
                mutex[target] = len(mutex) + 1
    main: list[Option] = []
    subs: dict[str, list[Option]] = {}
    for sub in owner.values():
        if sub:
            subs.setdefault(sub, [])
    lines = list(parser_lines)
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)]
    adds = [c for c in calls if c.func.attr == "add_argument"]  # type: ignore[attr-defined]
    for call in sorted(adds, key=_call_order(tree)):
        recv = ast.unparse(call.func.value)  # type: ignore[attr-defined]
        opt = _argparse_option(call, v)
        if opt is None:
            continue
        if recv in mutex:
            opt["mutex_group"] = mutex[recv]
        sub = owner.get(recv, "")
        (subs[sub] if sub else main).append(opt)
        lines.append(call.end_lineno or call.lineno)
    if not main and not any(subs.values()):
        return None
    return CliSpec("argparse", tuple(main), subs, min(lines), max(lines))


def _call_order(tree: ast.Module):  # type: ignore[no-untyped-def]
    """Sort key placing options added by a helper function (one that builds no parser) where it is called."""
    defs = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    called: dict[str, int] = {}
    makers = {  # functions that build a parser themselves are not helpers
        d.name
        for d in defs
        for n in ast.walk(d)
        if isinstance(n, ast.Call) and dotted_name(n.func).split(".")[-1] == "ArgumentParser"
    }
    for n in ast.walk(tree):
        if isinstance(n, ast.Call):
            name = dotted_name(n.func).split(".")[-1]
            called[name] = min(called.get(name, n.lineno), n.lineno)

    def key(call: ast.Call) -> tuple[int, int, int]:
        inner = [d for d in defs if d.lineno <= call.lineno <= (d.end_lineno or d.lineno)]
        helper = max(inner, key=lambda d: d.lineno) if inner else None
        if (
            helper is not None
            and helper.name in called
            and helper.name not in makers
            and not (helper.lineno <= called[helper.name] <= (helper.end_lineno or helper.lineno))
        ):
            return (called[helper.name], call.lineno, call.col_offset)
        return (call.lineno, 0, call.col_offset)

    return key


def _argparse_option(call: ast.Call, v: Values) -> Option | None:
    flags = str_args(call)
    if not flags:
        return None
    kw = keywords(call)
    action = v.text(kw.get("action"))
    type_ = type_name(kw.get("type"), v)
    default = v.text(kw.get("default"))
    if action in ("store_true", "store_false"):
        type_ = type_ or "bool"
        default = default if "default" in kw else str(action == "store_false")
    elif action == "count":
        type_ = type_ or "int"
    positional = not flags[0].startswith("-")
    nargs = v.text(kw.get("nargs"))
    req = v.literal(kw.get("required")) is True or (positional and nargs not in ("?", "*"))
    out = option(
        flags,
        dest=v.text(kw.get("dest")) or (flags[0] if positional else None),
        type_=type_ or ("str" if action in (None, "store", "append") else None),
        default=default,
        choices=v.choices(kw.get("choices")),
        required=req,
        help_=v.text(kw.get("help")),
        action=action,
        nargs=nargs,
        positional=positional,
    )
    ref = kw.get("choices")
    if out["choices"] is None and isinstance(ref, ast.Name):
        out["choices_ref"] = ref.id  # a name imported from another module: the catalog resolves it there
    return out


# --------------------------------------------------------------------------------------------- click


def _click(tree: ast.Module, v: Values) -> CliSpec | None:
    commands: list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef, bool]] = []  # (name, def, is_group)
    fns = [f for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))]
    groups = {f.name for f in fns for d in f.decorator_list if dotted_name(getattr(d, "func", d)) == "click.group"}
    for fn in fns:
        for d in fn.decorator_list:
            func = d.func if isinstance(d, ast.Call) else d
            full = dotted_name(func)
            tail = full.split(".")[-1]
            base = full.rsplit(".", 1)[0] if "." in full else ""
            if tail in ("command", "group") and (base == "click" or base in groups):
                given = str_args(d) if isinstance(d, ast.Call) else []
                kwn = v.text(keywords(d).get("name")) if isinstance(d, ast.Call) else None
                name = (given[0] if given else kwn) or fn.name.replace("_", "-")
                commands.append((name, fn, tail == "group"))
                break
    if not commands:
        return None
    per: dict[str, list[Option]] = {}
    lines: list[int] = []
    for name, fn, _ in commands:
        opts: list[Option] = []
        for d in fn.decorator_list:
            if not isinstance(d, ast.Call):
                continue
            tail = dotted_name(d.func).split(".")[-1]
            if tail in ("option", "argument") and dotted_name(d.func).startswith("click"):
                opts.append(_click_option(d, tail == "argument", v))
        per[name] = opts
        lines += [fn.lineno, *(d.lineno for d in fn.decorator_list)]
    group_cmds = [c for c in commands if c[2]]
    if len(commands) == 1:
        return CliSpec("click", tuple(per[commands[0][0]]), {}, min(lines), max(lines))
    main = per[group_cmds[0][0]] if group_cmds else []
    subs = {n: per[n] for n, _, g in commands if not g}
    return CliSpec("click", tuple(main), subs, min(lines), max(lines))


def _click_option(d: ast.Call, positional: bool, v: Values) -> Option:
    decls = str_args(d)
    kw = keywords(d)
    flags = [x for x in decls if x.startswith("-")] if not positional else decls[:1]
    names = [x for x in decls if not x.startswith("-") and x.isidentifier()]
    flags = [f.split("/")[0] for f in flags] + [g for f in flags if "/" in f for g in f.split("/")[1:]]
    type_node = kw.get("type")
    choices = None
    type_ = type_name(type_node, v)
    if isinstance(type_node, ast.Call) and dotted_name(type_node.func).split(".")[-1] == "Choice" and type_node.args:
        choices = v.choices(type_node.args[0])
        type_ = "str"
    is_flag = v.literal(kw.get("is_flag")) is True or any("/" in x for x in decls)
    if is_flag:
        type_ = "bool"
    default = v.text(kw.get("default"))
    if is_flag and default is None:
        default = "False"
    dest = names[0] if names else None
    if positional:
        dest = decls[0] if decls else None
    return option(
        flags or decls,
        dest=dest,
        type_=type_ or ("bool" if is_flag else "str"),
        default=default,
        choices=choices,
        required=v.literal(kw.get("required")) is True or (positional and "default" not in kw),
        help_=v.text(kw.get("help")),
        action="store_true" if is_flag else ("append" if v.literal(kw.get("multiple")) is True else None),
        nargs=v.text(kw.get("nargs")),
        positional=positional,
    )


_CLI_HINT = re.compile(
    r"^[ \t]*(?:import|from)[ \t]+(?:argparse|click|typer|fire|jsonargparse)\b|ArgumentParser\(", re.M
)


def extract_cli(source: str, tree: ast.Module | None = None) -> CliSpec | None:
    """The command-line interface defined in a Python source, or ``None`` (also when it does not parse).

    Args:
        source: the script's text.
        tree: its ``ast.parse`` result when the caller has it already (saves parsing twice).

    Example:
        >>> spec = extract_cli("import argparse\\np = argparse.ArgumentParser()\\n"
        ...                    "p.add_argument('--lr', type=float, default=0.1)\\n")
        >>> spec.options[0]["flags"], spec.options[0]["type"], spec.options[0]["default"]
        (['--lr'], 'float', '0.1')
    """
    if not _CLI_HINT.search(source):  # cheap filter: most modules import none of the CLI libraries
        return None
    if tree is None:
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            return None
    v = Values(tree)
    for reader in (_argparse, _click, read_typer, read_fire):
        spec = reader(tree, v)
        if spec is not None:
            return spec
    return None
