"""The Python API of a repository, read with ``ast``: public functions, classes (constructor signature),
alternative constructors (``from_pretrained``, ``load``, ``build`` ... classmethods and staticmethods), and
*registries*: tables of names that other calls look up, so that a value such as a model name can be checked.

A registry is any of: a module-level UPPER_CASE dict with at least two string keys (``MODELS = {"resnet":
ResNet, ...}``) or list/tuple of at least two strings (``DATASETS = ["cora", ...]``); the names given to a
``@register("x")``-style decorator (any decorator whose name contains ``register``, grouped by that name); the
names of functions decorated with an argument-less ``@register_model``-style decorator (timm's way).

Scripts, tests, docs and examples are not API: a module counts when it lives in a package (a folder with
``__init__.py``) outside test folders, or is a top-level module that does not run as main.
"""

from __future__ import annotations

import ast
import posixpath
import re
from dataclasses import replace

from ..chunking.cli_ast import NOT_LITERAL, Values, dotted_name, keywords, param_docs
from .base import Affordance, Param

ALT_CONSTRUCTORS = ("from_pretrained", "from_config", "from_name", "load", "build", "create", "from_file")
_SKIP_PARTS = {"test", "tests", "testing", "docs", "doc", "examples", "example", "benchmarks", "scripts", "setup.py"}
MAX_API_PER_FILE = 60


def module_name(path: str, sources: set[str] | None = None) -> str:
    """``pkg/sub/mod.py`` -> ``pkg.sub.mod``; ``pkg/__init__.py`` -> ``pkg``; a ``src/`` prefix is dropped.

    With ``sources``, leading folders that are not packages (``python/dgl/nn.py`` with no
    ``python/__init__.py``) are dropped too: the import name starts at the topmost package.
    """
    p = path[:-3] if path.endswith(".py") else path
    if p.endswith("/__init__"):
        p = p[: -len("/__init__")]
    segs = p.split("/")
    if sources is not None:
        folders = path.split("/")[:-1]
        start = len(folders)
        while start > 0 and "/".join(folders[:start]) + "/__init__.py" in sources:
            start -= 1
        segs = segs[start:]
    elif segs[0] == "src" and len(segs) > 1:
        segs = segs[1:]
    return ".".join(segs)


def is_api_module(path: str, sources: set[str], runs_as_main: bool) -> bool:
    parts = path.split("/")
    if (
        any(part in _SKIP_PARTS or part.startswith(("test_", ".")) for part in parts)
        or parts[-1].startswith("_")
        and parts[-1] != "__init__.py"
    ):
        return False
    folder = posixpath.dirname(path)
    if folder:
        return f"{folder}/__init__.py" in sources  # a module of a package (its import name: ``module_name``)
    return not runs_as_main


def _signature(fn: ast.FunctionDef | ast.AsyncFunctionDef, drop_self: bool) -> tuple[str, tuple[Param, ...]]:
    a = fn.args
    params: list[Param] = []
    positional = [*a.posonlyargs, *a.args]
    defaults = [None] * (len(positional) - len(a.defaults)) + list(a.defaults)
    parts: list[str] = []
    for arg, d in zip(positional, defaults):
        if drop_self and arg is positional[0] and arg.arg in ("self", "cls"):
            continue
        params.append(_param(arg, d))
        parts.append(arg.arg + (f"={ast.unparse(d)}" if d is not None else ""))
    if a.vararg:
        parts.append(f"*{a.vararg.arg}")
    elif a.kwonlyargs:
        parts.append("*")
    for arg, d in zip(a.kwonlyargs, a.kw_defaults):
        params.append(_param(arg, d))
        parts.append(arg.arg + (f"={ast.unparse(d)}" if d is not None else ""))
    if a.kwarg:
        parts.append(f"**{a.kwarg.arg}")
        params.append(Param(name=f"**{a.kwarg.arg}", kind="kwarg", dest=a.kwarg.arg))
    return f"{fn.name}({', '.join(parts)})", tuple(params)


def _documented(params: tuple[Param, ...], *nodes: ast.AST | None) -> tuple[Param, ...]:
    docs = param_docs(*nodes) if params else {}
    return tuple(replace(p, help=docs[p.dest]) if p.dest in docs and not p.help else p for p in params)


def _param(arg: ast.arg, default: ast.expr | None) -> Param:
    ann = ast.unparse(arg.annotation) if arg.annotation is not None else None
    return Param(
        name=arg.arg,
        kind="kwarg",
        type=ann,
        default=ast.unparse(default) if default is not None else None,
        required=default is None,
        dest=arg.arg,
    )


def _doc(node: ast.AST) -> str:
    doc = (
        ast.get_docstring(node, clean=True)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module))
        else None
    )
    lines = doc.strip().splitlines() if doc else []
    return lines[0].strip() if lines else ""


def api_affordances(path: str, tree: ast.Module, sources: set[str] | None = None) -> list[Affordance]:
    """Public functions, classes and alternative constructors defined in the module ``path``."""
    mod = module_name(path, sources)
    out: list[Affordance] = []
    for node in tree.body:
        if len(out) >= MAX_API_PER_FILE:
            break
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
            sig, params = _signature(node, drop_self=False)
            out.append(_api(path, mod, node.name, node, sig, _documented(params, node), _doc(node)))
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            init = next((b for b in node.body if isinstance(b, ast.FunctionDef) and b.name == "__init__"), None)
            sig, params = _signature(init, drop_self=True) if init else (f"{node.name}()", ())
            sig = node.name + sig[len("__init__") :] if init else sig
            out.append(_api(path, mod, node.name, node, sig, _documented(params, init, node), _doc(node)))
            for b in node.body:
                if not isinstance(b, (ast.FunctionDef, ast.AsyncFunctionDef)) or b.name not in ALT_CONSTRUCTORS:
                    continue
                decos = {dotted_name(d) for d in b.decorator_list}
                if decos & {"classmethod", "staticmethod"}:
                    s, ps = _signature(b, drop_self="classmethod" in decos)
                    out.append(_api(path, mod, f"{node.name}.{b.name}", b, f"{node.name}.{s}", _documented(ps, b),
                                    _doc(b) or _doc(node)))  # fmt: skip
    return out


def _api(path: str, mod: str, name: str, node: ast.AST, sig: str, params: tuple[Param, ...], doc: str) -> Affordance:
    top = name.split(".")[0]
    return Affordance(
        id=f"python-api:{path}:{name}",
        kind="python-api",
        name=f"{mod}.{name}",
        path=path,
        start_line=getattr(node, "lineno", 1),
        end_line=_end(node),
        run=f"from {mod} import {top}",
        framework="signature",
        params=params,
        summary=doc,
        signature=sig,
    )


#: Lower-case module-level dicts that are name tables by their names: ``DiT_models = {"DiT-XL/2": ...}``.
_TABLE_NAME = re.compile(r"(?:^|_)(?:models?|registry|zoo|archs?|backbones?|datasets?|encoders?)$", re.I)


def registry_affordances(
    path: str, tree: ast.Module, sources: set[str] | None = None, decorators: bool = True
) -> list[Affordance]:
    """Name tables and ``@register``-decorated names in the module ``path`` (see the module docstring);
    ``decorators=False`` skips the decorator walk (the caller knows the text never says ``register``)."""
    v = Values(tree)
    out: list[Affordance] = []
    mod = module_name(path, sources)
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if not (name.isupper() and len(name) > 1 or _TABLE_NAME.search(name) and isinstance(node.value, ast.Dict)):
                continue
            names = _table_names(node.value, v)
            if len(names) >= 2:
                out.append(_registry(path, mod, name, node, names))
    groups: dict[str, list[tuple[str, ast.AST]]] = {}
    defs = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    for node in defs if decorators else []:
        for d in node.decorator_list:
            fn = d.func if isinstance(d, ast.Call) else d
            full = dotted_name(fn)
            if "register" not in full.split(".")[-1].lower():
                continue
            if isinstance(d, ast.Call):
                lit = v.literal(d.args[0]) if d.args else v.literal(keywords(d).get("name"))
                value = lit if isinstance(lit, str) else node.name
            else:
                value = node.name
            groups.setdefault(full, []).append((value, node))
    for full, items in groups.items():
        first = items[0][1]
        reg = _registry(path, mod, full, first, [n for n, _ in items])
        out.append(replace(reg, end_line=max(getattr(n, "end_lineno", 1) or 1 for _, n in items)))
    for node in tree.body:  # a public function that tells names apart: get_model(model_name) with
        # ``if model_name == 'wiki80_cnn_softmax': ... elif model_name in ['wiki80_bert_softmax', ...]``
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
            compared = _compared_names(node, v)
            if len(compared) >= 3:
                out.append(_registry(path, mod, node.name, node, compared))
    return out


def _compared_names(fn: ast.FunctionDef | ast.AsyncFunctionDef, v: Values) -> list[str]:
    """The strings the function's first parameter is compared with (``==``, ``in [...]``), in order."""
    args = [a.arg for a in fn.args.args if a.arg not in ("self", "cls")]
    if not args:
        return []
    out: dict[str, None] = {}
    for node in ast.walk(fn):
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.left, ast.Name) \
                and node.left.id == args[0] and isinstance(node.ops[0], (ast.Eq, ast.In)):
            lit = v.literal(node.comparators[0])
            for x in lit if isinstance(lit, (list, tuple, set)) else [lit]:
                if isinstance(x, str) and re.fullmatch(r"[\w.+/-]{2,60}", x):
                    out[x] = None
    return list(out)


def _end(node: ast.AST) -> int:
    end = getattr(node, "end_lineno", None) or getattr(node, "lineno", None)
    return int(end) if isinstance(end, int) else 1


def _table_names(node: ast.expr, v: Values) -> list[str]:
    if isinstance(node, ast.Dict):
        keys = [k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)]
        return keys if len(keys) == len(node.keys) else []
    lit = v.literal(node)
    if lit is NOT_LITERAL:
        return []
    if isinstance(lit, (list, tuple, set, frozenset)) and lit and all(isinstance(x, str) for x in lit):
        return list(dict.fromkeys(lit))
    return []


def _registry(path: str, mod: str, name: str, node: ast.AST, names: list[str]) -> Affordance:
    return Affordance(
        id=f"registry:{path}:{name}",
        kind="registry",
        name=f"{mod}.{name}" if "." not in name else name,
        path=path,
        start_line=getattr(node, "lineno", 1),
        end_line=_end(node),
        framework="registry",
        values=tuple(dict.fromkeys(names)),
    )
