"""Command-line interfaces defined by function signatures: typer and fire, read statically with ``ast``.

typer: parameters of ``@app.command()`` functions (``app = typer.Typer()``) or of ``typer.run(f)``, with
``typer.Option``/``typer.Argument`` defaults or ``Annotated[T, typer.Option(...)]`` metadata; ``bool`` options
get ``--x/--no-x``; an ``Enum`` subclass defined in the file gives the choices. fire: ``fire.Fire(f)`` (the
function's parameters), ``fire.Fire(Class)`` (``__init__`` parameters, public methods as subcommands),
``fire.Fire()`` (every public top-level function) and ``fire.Fire({"name": f})``.
"""

from __future__ import annotations

import ast

from .cli_ast import (
    NOT_LITERAL,
    CliSpec,
    Option,
    Values,
    dotted_name,
    keywords,
    option,
    param_docs,
    str_args,
    type_name,
)


def _annotation(ann: ast.expr | None) -> tuple[ast.expr | None, ast.Call | None]:
    """(type, typer.Option/Argument call) from an annotation, unwrapping ``Annotated[T, ...]``."""
    if isinstance(ann, ast.Subscript) and dotted_name(ann.value).split(".")[-1] == "Annotated":
        elts = ann.slice.elts if isinstance(ann.slice, ast.Tuple) else [ann.slice]
        meta = next((e for e in elts[1:] if isinstance(e, ast.Call)), None)
        return elts[0], meta
    return ann, None


def _enum_choices(tree: ast.Module, name: str, v: Values) -> list[str] | None:
    for st in tree.body:
        if isinstance(st, ast.ClassDef) and st.name == name and any("Enum" in dotted_name(b) for b in st.bases):
            out = [str(v.literal(a.value)) for a in st.body if isinstance(a, ast.Assign)]
            return out or None
    return None


def _signature_options(
    fn: ast.FunctionDef | ast.AsyncFunctionDef, tree: ast.Module, v: Values, typer_style: bool
) -> list[Option]:
    args = fn.args
    params = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    defaults: dict[str, ast.expr] = {}
    pos_defaults = args.defaults
    for a, d in zip([*args.posonlyargs, *args.args][-len(pos_defaults) :] if pos_defaults else [], pos_defaults):
        defaults[a.arg] = d
    for a, kd in zip(args.kwonlyargs, args.kw_defaults):
        if kd is not None:
            defaults[a.arg] = kd
    out: list[Option] = []
    docs = param_docs(fn)  # fire and jsonargparse show a docstring's parameter descriptions as help
    for a in params:
        if a.arg in ("self", "cls"):
            continue
        tnode, meta = _annotation(a.annotation)
        default = defaults.get(a.arg)
        if (
            meta is None
            and isinstance(default, ast.Call)
            and dotted_name(default.func).split(".")[-1] in ("Option", "Argument")
        ):
            meta, default = default, None
            if meta.args and not (isinstance(meta.args[0], ast.Constant) and str(meta.args[0].value).startswith("-")):
                default = meta.args[0]
        kind = dotted_name(meta.func).split(".")[-1] if meta is not None else None
        type_ = type_name(tnode, v)
        if isinstance(tnode, ast.Subscript) and dotted_name(tnode.value).split(".")[-1] == "Optional":
            type_ = type_name(tnode.slice, v)
        if type_ is None and default is not None:
            lit = v.literal(default)
            type_ = type(lit).__name__ if lit is not NOT_LITERAL and lit is not None else None
        choices = _enum_choices(tree, type_, v) if type_ else None
        flag = "--" + a.arg.replace("_", "-") if typer_style else "--" + a.arg
        decls = [x for x in (str_args(meta) if meta is not None else []) if x.startswith("-")]
        positional = kind == "Argument" or (typer_style and kind is None and default is None)
        if positional:
            flags = [a.arg]
        elif decls:
            flags = decls
        elif typer_style and type_ == "bool":
            flags = [flag, "--no-" + flag[2:]]
        else:
            flags = [flag]
            if not typer_style and "_" in a.arg:
                flags.append("--" + a.arg.replace("_", "-"))  # fire takes --image-size for image_size too
        help_node = keywords(meta).get("help") if meta is not None else None
        has_default = default is not None and not (isinstance(default, ast.Constant) and default.value is Ellipsis)
        out.append(
            option(
                flags,
                dest=a.arg,
                type_=type_,
                default=v.text(default) if has_default else None,
                choices=choices,
                required=not has_default,
                help_=v.text(help_node) or docs.get(a.arg),
                action="store_true" if type_ == "bool" and not positional else None,
                positional=positional,
            )
        )
    return out


def _functions(tree: ast.Module) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    return {st.name: st for st in tree.body if isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef))}


def read_typer(tree: ast.Module, v: Values) -> CliSpec | None:
    fns = _functions(tree)
    commands: list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]] = []
    apps = {
        ast.unparse(a.targets[0])
        for a in ast.walk(tree)
        if isinstance(a, ast.Assign)
        and isinstance(a.value, ast.Call)
        and dotted_name(a.value.func).split(".")[-1] == "Typer"
    }
    for fn in fns.values():
        for d in fn.decorator_list:
            if isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and d.func.attr == "command":
                if ast.unparse(d.func.value) in apps:
                    given = str_args(d)
                    commands.append((given[0] if given else fn.name.replace("_", "-"), fn))
    for call in ast.walk(tree):
        if isinstance(call, ast.Call) and dotted_name(call.func) == "typer.run" and call.args:
            target = fns.get(dotted_name(call.args[0]))
            if target is not None:
                commands.append((target.name, target))
    if not commands:
        return None
    per = {n: _signature_options(fn, tree, v, True) for n, fn in commands}
    lines = [ln for _, fn in commands for ln in (fn.lineno, fn.end_lineno or fn.lineno)]
    if len(commands) == 1:
        return CliSpec("typer", tuple(per[commands[0][0]]), {}, min(lines), max(lines))
    return CliSpec("typer", (), per, min(lines), max(lines))


_JSONARGPARSE = ("jsonargparse.CLI", "jsonargparse.auto_cli", "CLI", "auto_cli")


def read_fire(tree: ast.Module, v: Values) -> CliSpec | None:
    """``fire.Fire(f)`` and jsonargparse's ``CLI(f)`` / ``auto_cli(f)`` (lit-llama's shape), which read a
    function's parameters (a class's ``__init__``, a list's or dict's functions as subcommands) the same way."""
    json_cli = any(isinstance(n, (ast.Import, ast.ImportFrom)) and "jsonargparse" in ast.unparse(n)
                   for n in ast.walk(tree))  # fmt: skip
    names = ("fire.Fire", "Fire", *(_JSONARGPARSE if json_cli else ()))
    call = next((c for c in ast.walk(tree) if isinstance(c, ast.Call) and dotted_name(c.func) in names), None)
    if call is None:
        return None
    framework = "fire" if dotted_name(call.func) in ("fire.Fire", "Fire") else "jsonargparse"
    fns = _functions(tree)
    classes = {st.name: st for st in tree.body if isinstance(st, ast.ClassDef)}
    main: list[Option] = []
    subs: dict[str, list[Option]] = {}
    targets: list[ast.AST] = []
    arg = call.args[0] if call.args else None
    if arg is None:
        for name, fn in fns.items():
            if not name.startswith("_"):
                subs[name] = _signature_options(fn, tree, v, False)
                targets.append(fn)
    elif isinstance(arg, (ast.List, ast.Tuple)):  # CLI([train, evaluate])
        for val in arg.elts:
            target = fns.get(dotted_name(val))
            if target is not None:
                subs[target.name] = _signature_options(target, tree, v, False)
                targets.append(target)
    elif isinstance(arg, ast.Dict):
        for k, val in zip(arg.keys, arg.values):
            target = fns.get(dotted_name(val))
            if isinstance(k, ast.Constant) and target is not None:
                subs[str(k.value)] = _signature_options(target, tree, v, False)
                targets.append(target)
    elif dotted_name(arg) in fns:
        fn = fns[dotted_name(arg)]
        main = _signature_options(fn, tree, v, False)
        targets.append(fn)
    elif dotted_name(arg) in classes:
        cls = classes[dotted_name(arg)]
        targets.append(cls)
        for st in cls.body:
            if isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if st.name == "__init__":
                    main = _signature_options(st, tree, v, False)
                elif not st.name.startswith("_"):
                    subs[st.name] = _signature_options(st, tree, v, False)
    if not targets:
        return None
    lines = [ln for t in targets for ln in (t.lineno, t.end_lineno or t.lineno)] + [call.lineno]  # type: ignore[attr-defined]
    return CliSpec(framework, tuple(main), subs, min(lines), max(lines))
