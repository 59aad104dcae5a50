"""Check a Python snippet against the repository: its imports, the names it calls, their keyword arguments, and the
names it passes to the repository's registries.

Read with ``ast``; nothing is imported or run. Which imports are the repository's: those whose top-level name is a
package or module of the repository (from the root, ``src/`` or the working folder; import names as the catalog
computes them, ``catalog.python_api.module_name``). Any other import is a third-party or standard-library one
and is accepted (``importlib.util.find_spec`` of a top-level name imports nothing), unless it is not installed and
is one letter away from a repository package (``import graphlabs``).

Names are looked up in the module's own source when it can be read (definitions, assignments, imports, and
re-exports followed through ``from .x import y`` up to a few levels; a ``from x import *`` or a module
``__getattr__`` makes a module open: any name passes). Keyword arguments are checked against the catalog's
signature of the function or class (``**kwargs`` accepts anything; a class without its own ``__init__`` is not
checked, its constructor is inherited or generated). Registries: a call to a function whose body looks a parameter
up in a registry (``MODELS[name]``, ``MODELS.get(name)``, ``name in MODELS``) must pass a registered string; any other
registry-looking call (``create_*``, ``build_*``, ``get_*``, ``load_*``, ``from_pretrained``) with a string that is
not registered but close to a registered one is flagged too, and so is ``MODELS["x"]`` on an imported registry.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
from collections.abc import Collection
from dataclasses import dataclass, field

from ..catalog.base import Affordance, Catalog
from ..catalog.python_api import module_name
from .result import Reader, Report, did_you_mean, nearest, shorten

_REGISTRY_CALL = re.compile(r"^(?:create|build|get|load|make|init|register)_?\w*$|^from_(?:pretrained|name|config)$")
_MAX_DEPTH = 5


@dataclass
class _Module:
    path: str
    names: dict[str, ast.AST | str] = field(default_factory=dict)  # name -> def/class node, or "mod.name" it imports
    open: bool = False  # star import or module __getattr__: any name may exist
    read: bool = False  # the source was read


class _Repo:
    """The repository's importable modules and (lazily) what each defines."""

    def __init__(self, catalog: Catalog, files: Collection[str], workdir: str, read: Reader | None) -> None:
        files = files if isinstance(files, (set, frozenset)) else set(files)
        sources = sorted((f for f in files if f.endswith(".py")), key=lambda f: (f.count("/"), f))
        self.modules: dict[str, str] = {}
        regular: set[str] = set()  # top-level names that are a module file or a package with __init__.py
        for root in dict.fromkeys((workdir, "", "src")):  # sys.path[0] is the working folder
            prefix = f"{root}/" if root else ""
            for f in sources:
                if not f.startswith(prefix):
                    continue
                parts = f[len(prefix) : -3].split("/")
                if parts[-1] == "__init__":
                    parts = parts[:-1]
                if parts and all(p.isidentifier() for p in parts):  # namespace packages (no __init__) included
                    self.modules.setdefault(".".join(parts), f)
                    if len(parts) == 1 or f"{prefix}{parts[0]}/__init__.py" in files:
                        regular.add(parts[0])
        names = set(sources)
        for f in sources:  # packages below a non-package folder (python/dgl/... -> dgl)
            name = module_name(f, names)
            if f.endswith("/__init__.py") or "." in name:
                self.modules.setdefault(name, f)
                regular.add(name.split(".")[0])
        self.tops = {m.split(".")[0] for m in self.modules}
        #: tops that are only namespace folders: an installed package of that name wins over them
        self.namespace_tops = self.tops - regular
        self.read = read
        self.cache: dict[str, _Module] = {}
        self.api = {a.name: a for a in catalog.of_kind("python-api")}
        self.registries = catalog.registries

    def module(self, name: str) -> _Module | None:
        if name not in self.modules:
            return None
        if name not in self.cache:
            self.cache[name] = self._load(name, self.modules[name])
        return self.cache[name]

    def _load(self, name: str, path: str) -> _Module:
        mod = _Module(path)
        text = self.read(path) if self.read is not None else None
        if text is None:
            return mod
        try:
            tree = ast.parse(text)
            mod.read = True
            package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
            _collect(tree.body, mod, package)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            mod.open = True  # a module mlrag cannot read: any name may be in it
        return mod

    def lookup(self, module: str, attr: str, depth: int = 0) -> tuple[str, str, ast.AST | None]:
        """``(status, canonical name, node)`` of ``module.attr``; status is found | missing | unknown."""
        if f"{module}.{attr}" in self.modules:
            return "found", f"{module}.{attr}", None
        mod = self.module(module)
        if mod is None or not mod.read:
            return "unknown", f"{module}.{attr}", None
        target = mod.names.get(attr)
        if isinstance(target, str):
            src_mod, _, src_name = target.rpartition(".")
            if depth < _MAX_DEPTH and (src_mod in self.modules or target in self.modules):
                if target in self.modules:
                    return "found", target, None
                status, canon, node = self.lookup(src_mod, src_name, depth + 1)
                return ("unknown" if status == "missing" else status), canon, node  # a re-export we misread
            return "unknown", target, None  # re-exported from another library
        if target is not None:
            return "found", f"{module}.{attr}", target
        return ("unknown" if mod.open else "missing"), f"{module}.{attr}", None

    def names_of(self, module: str) -> list[str]:
        mod = self.module(module)
        subs = [m.rpartition(".")[2] for m in self.modules if m.rpartition(".")[0] == module]
        return [*(mod.names if mod else ()), *subs]


def _collect(body: list[ast.stmt], mod: _Module, package: str) -> None:
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            mod.names[node.name] = node
            if node.name == "__getattr__":
                mod.open = True
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                for n in ast.walk(t):
                    if isinstance(n, ast.Name):
                        mod.names.setdefault(n.id, node)
        elif isinstance(node, ast.Import):
            for a in node.names:
                mod.names[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, package)
            for a in node.names:
                if a.name == "*":
                    mod.open = True
                else:
                    mod.names[a.asname or a.name] = f"{base}.{a.name}" if base else a.name
        elif isinstance(node, (ast.If, ast.Try, ast.With, ast.For, ast.While)):
            for part in ("body", "orelse", "finalbody"):
                _collect(getattr(node, part, []) or [], mod, package)
            for h in getattr(node, "handlers", []) or []:
                _collect(h.body, mod, package)
        elif type(node).__name__ == "TryStar":  # try/except* (Python 3.11+)
            _collect(getattr(node, "body", []), mod, package)


def _absolute(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module or ""
    parts = package.split(".") if package else []
    parts = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
    return ".".join([*parts, *([node.module] if node.module else [])])


def _installed(top: str) -> bool:
    if top in sys.stdlib_module_names or top in sys.builtin_module_names:
        return True
    try:
        return importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        return False


def check_python(code: str, catalog: Catalog, files: Collection[str], report: Report, *, workdir: str = "",
                 read: Reader | None = None) -> None:  # fmt: skip
    """Add the problems of the Python snippet ``code`` to ``report`` (see the module docstring)."""
    try:
        tree = ast.parse(code)
    except SyntaxError as e:
        report.problem(f"the code does not parse: {e.msg} (line {e.lineno})")
        return
    except (ValueError, RecursionError, MemoryError) as e:  # null bytes, absurd nesting
        report.problem(f"the code cannot be parsed ({type(e).__name__})")
        return
    repo = _Repo(catalog, files, workdir, read)
    bound: dict[str, str] = {}  # local name -> dotted repository name
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if _import_ok(repo, a.name, report):
                    bound[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            if not _import_ok(repo, node.module, report):
                continue
            for a in node.names:
                if a.name == "*":
                    continue
                status, canon, _ = repo.lookup(node.module, a.name)
                if status == "missing":
                    near = did_you_mean(a.name, repo.names_of(node.module))
                    report.problem(f"{node.module} has no name {a.name}{near}")
                elif node.module.split(".")[0] in repo.tops:
                    bound[a.asname or a.name] = canon
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            _check_call(node, bound, repo, report)
        elif isinstance(node, ast.Subscript):
            _check_subscript(node, bound, repo, report)


def _import_ok(repo: _Repo, module: str, report: Report) -> bool:
    """False when ``module`` is not the repository's (or is missing from it: a problem is reported)."""
    top = module.split(".")[0]
    if top in repo.namespace_tops and _installed(top):
        return False  # a regular package on sys.path is imported before a namespace folder of the same name
    if top not in repo.tops:
        if not _installed(top):
            near = nearest(top, repo.tops, cutoff=0.8)
            if near:
                report.problem(f"module {top} is not in the repository nor installed; did you mean {near[0]}?")
        return False
    if module in repo.modules:
        return True
    parent, _, last = module.rpartition(".")
    while parent and parent not in repo.modules:
        parent, _, last = parent.rpartition(".")
    depth = module.count(".")
    known = [m for m in repo.modules if m.count(".") == depth and m.split(".")[0] == top] or list(repo.tops)
    if parent and repo.lookup(parent, last)[0] == "found" and module == f"{parent}.{last}":
        return True  # "import pkg.name" of a non-module name fails at run time, but "from pkg.name" could not
    report.problem(f"module {module} is not in the repository" + did_you_mean(module, known))
    return False


def _dotted(node: ast.expr) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(parts)])
    return None


def _resolve(expr: ast.expr, bound: dict[str, str], repo: _Repo) -> tuple[str, str, ast.AST | None] | None:
    """``(status, canonical name, node)`` of a repository name an expression refers to, else None."""
    dotted = _dotted(expr)
    if dotted is None:
        return None
    head, _, rest = dotted.partition(".")
    if head not in bound:
        return None
    full = f"{bound[head]}.{rest}" if rest else bound[head]
    parts = full.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        module = ".".join(parts[:cut])
        if module in repo.modules:
            status, canon, node = repo.lookup(module, parts[cut])
            tail = parts[cut + 1 :]
            if tail:  # Class.method: the catalog knows alternative constructors; others may be inherited
                name = ".".join([canon, *tail])
                return ("found" if name in repo.api else "unknown") if status != "missing" else "missing", name, None
            return status, canon, node
    return ("found", full, None) if full in repo.modules else None


def _check_call(call: ast.Call, bound: dict[str, str], repo: _Repo, report: Report) -> None:
    found = _resolve(call.func, bound, repo)
    if found is None:
        return
    status, canon, node = found
    shown = _dotted(call.func) or canon
    if status == "missing":
        module = canon.rpartition(".")[0]
        report.problem(f"{shown}: {module} has no name {canon.rpartition('.')[2]}"
                       + did_you_mean(canon.rpartition(".")[2], repo.names_of(module)))  # fmt: skip
        return
    entry = repo.api.get(canon)
    if entry is not None:
        _check_signature(shown, entry, call, node, report)
    _check_registry_args(shown, entry, call, node, repo, report)


def _check_signature(shown: str, entry: Affordance, call: ast.Call, node: ast.AST | None, report: Report) -> None:
    params = [p for p in entry.params if p.kind == "kwarg"]
    if any(p.name.startswith("**") for p in params):
        return
    if isinstance(node, ast.ClassDef) and not any(
        isinstance(b, ast.FunctionDef) and b.name == "__init__" for b in node.body
    ):
        return  # inherited or generated constructor (a dataclass): its parameters are not in the catalog
    if not params and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return  # no source to tell "no parameters" from "not read"
    names = [p.dest or p.name for p in params]
    for kw in call.keywords:
        if kw.arg is not None and kw.arg not in names:
            report.problem(f"{shown}() has no keyword argument {kw.arg}" + did_you_mean(kw.arg, names),
                           f"signature: {entry.signature}" if entry.signature else "")  # fmt: skip
    if any(isinstance(a, ast.Starred) for a in call.args) or any(kw.arg is None for kw in call.keywords):
        return
    given = {kw.arg for kw in call.keywords}
    npos = len(call.args)
    missing = [n for i, (n, p) in enumerate(zip(names, params)) if p.required and n not in given and i >= npos]
    if missing:
        report.problem(f"{shown}() is missing required argument{'s' if len(missing) > 1 else ''} {', '.join(missing)}",
                       f"signature: {entry.signature}" if entry.signature else "")  # fmt: skip


def _param_names(node: ast.AST | None) -> list[str]:
    fn = node
    if isinstance(node, ast.ClassDef):
        fn = next((b for b in node.body if isinstance(b, ast.FunctionDef) and b.name == "__init__"), None)
    if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return []
    names = [a.arg for a in [*fn.args.posonlyargs, *fn.args.args]]
    if names and (names[0] in ("self", "cls")):
        names = names[1:]
    return names + [a.arg for a in fn.args.kwonlyargs]


def _registry_keys(node: ast.AST | None, registries: tuple[Affordance, ...]) -> dict[str, Affordance]:
    """Parameter name -> registry, for the lookups in a function's body (``REG[p]``, ``REG.get(p)``, ``p in REG``)."""
    fn = node
    if isinstance(node, ast.ClassDef):
        fn = next((b for b in node.body if isinstance(b, ast.FunctionDef) and b.name == "__init__"), None)
    if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return {}
    by_short = {r.name.rpartition(".")[2]: r for r in registries}
    by_short.update({r.name.split(".")[-2]: r for r in registries if r.name.endswith(".register")})
    out: dict[str, Affordance] = {}
    for n in ast.walk(fn):
        reg, key = None, None
        if isinstance(n, ast.Subscript) and isinstance(n.value, ast.Name):
            reg, key = n.value.id, n.slice
        elif isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and isinstance(n.func.value, ast.Name):
            if n.func.attr in ("get", "__getitem__", "pop") and n.args:
                reg, key = n.func.value.id, n.args[0]
        elif isinstance(n, ast.Compare) and len(n.ops) == 1 and isinstance(n.ops[0], (ast.In, ast.NotIn)):
            if isinstance(n.comparators[0], ast.Name):
                reg, key = n.comparators[0].id, n.left
        if reg in by_short and isinstance(key, ast.Name):
            out.setdefault(key.id, by_short[reg])
    return out


def _string_args(call: ast.Call, names: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for i, a in enumerate(call.args):
        if isinstance(a, ast.Constant) and isinstance(a.value, str):
            out[names[i] if i < len(names) else f"#{i}"] = a.value
    for kw in call.keywords:
        if kw.arg and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
            out[kw.arg] = kw.value.value
    return out


def _check_registry_args(shown: str, entry: Affordance | None, call: ast.Call, node: ast.AST | None, repo: _Repo,
                         report: Report) -> None:  # fmt: skip
    if not repo.registries:
        return
    names = _param_names(node) or [p.dest or p.name for p in (entry.params if entry else ()) if p.kind == "kwarg"]
    values = _string_args(call, names)
    keys = _registry_keys(node, repo.registries)
    for param, reg in keys.items():
        v = values.get(param)
        if v is not None and v not in reg.values:
            report.problem(f"{shown}(): {v!r} is not registered in {reg.name} ({reg.location}); registered: "
                           f"{shorten(reg.values, 15)}", *nearest(v, reg.values, n=1, cutoff=0.5))  # fmt: skip
    if keys or not _REGISTRY_CALL.match(shown.rpartition(".")[2]):
        return
    first = values.get(names[0]) if names else values.get("#0")
    first = first if first is not None else values.get("#0")
    every = [v for r in repo.registries for v in r.values]
    if first is not None and first not in every:
        near = nearest(first, every, n=2, cutoff=0.75)
        if near:
            where = next(r for r in repo.registries if near[0] in r.values)
            report.problem(f"{shown}(): {first!r} is not a registered name; did you mean {' or '.join(near)}? "
                           f"(registry {where.name}, {where.location})")  # fmt: skip


def _check_subscript(node: ast.Subscript, bound: dict[str, str], repo: _Repo, report: Report) -> None:
    found = _resolve(node.value, bound, repo)
    if found is None or not isinstance(node.slice, ast.Constant) or not isinstance(node.slice.value, str):
        return
    reg = next((r for r in repo.registries if r.name == found[1]), None)
    key = node.slice.value
    if reg is not None and key not in reg.values:
        report.problem(f"{_dotted(node.value)}[{key!r}]: {key!r} is not registered ({reg.location}); registered: "
                       f"{shorten(reg.values, 15)}", *nearest(key, reg.values, n=1, cutoff=0.5))  # fmt: skip

