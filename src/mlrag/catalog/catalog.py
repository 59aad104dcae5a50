"""``build_catalog``: every affordance of a repository from its files' texts (pure: no I/O, nothing imported or run).

Order of work: parse each Python file once; read in-file command lines (the card readers), then the shapes
``python_cli`` adds (absl flags, HfArgumentParser dataclasses, hydra configs, a parser borrowed from an
imported module); shell scripts and Makefiles; console entry points; ``python -m`` packages; the Python API
and registries of package modules; the Python examples of the documentation (``examples``). Then the
README/shell lines that run each script give its ``workdir`` and ``invoked_by`` (the same invocation finder the
argument cards use, so both agree). A file that does not parse is listed in ``Catalog.skipped`` with the reason,
never raised.
"""

from __future__ import annotations

import ast
import logging
import posixpath
import re
import shlex
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..chunking.cli_ast import CliSpec, Values
from ..chunking.linking import EXECUTED, find_invocations
from ..chunking.linking import _resolve as resolve_invocation
from ..commands import invocation, runs_file, split_commands
from .base import REMAINDER_NARGS, Affordance, Catalog, Param, read_catalog, sort_entries, write_catalog
from .examples import example_affordances
from .packaging import console_scripts
from .python_api import api_affordances, is_api_module, module_name, registry_affordances
from .python_cli import (
    absl_params,
    argv_params,
    borrowed_cli,
    class_defs,
    dataclass_params,
    dict_options,
    exec_config_params,
    has_main_block,
    hf_dataclass_names,
    hydra_config,
    hydra_params,
    imported_repo_modules,
    params_from_options,
    read_cli,
    runs_as_main,
    tyro_dataclass_names,
    tyro_params,
    with_helpers,
    with_parents,
    yacs_keys,
)
from .shell import make_affordances, shell_affordance

log = logging.getLogger(__name__)

_SHELL = (".sh", ".bash")
_MAKE = ("Makefile", "makefile", "GNUmakefile")
_PACKAGING = ("setup.cfg", "pyproject.toml", "setup.py")
_DOCS = (".md", ".rst", ".txt", ".ipynb", ".markdown")
_YAML = (".yaml", ".yml")
_EXAMPLE_DOCS = (".md", ".markdown", ".rst", ".ipynb")
MAX_SOURCE_CHARS = 2_000_000  # a "script" larger than this is generated or data; skipped


#: Folders whose files are configs a script's ``--config`` takes, and the extensions such files have.
_CONFIG_DIRS = frozenset({"config", "configs", "cfg", "cfgs", "conf", "confs"})
_CONFIG_EXT = (".yaml", ".yml", ".txt", ".json", ".cfg", ".ini", ".toml", ".py")


def config_file(path: str) -> bool:
    """Whether ``path`` is a config file: in a folder named config(s)/cfg(s)/conf(s), with a config extension."""
    parts = path.lower().split("/")
    return path.endswith(_CONFIG_EXT) and any(d in _CONFIG_DIRS for d in parts[:-1]) and parts[-1] != "__init__.py"


def wanted(path: str) -> bool:
    """True for the files the catalog reads (code, shell, make, packaging, hydra YAML, READMEs/docs, configs)."""
    name = path.rsplit("/", 1)[-1]
    return (
        path.endswith((".py", *_SHELL, *_YAML, *_DOCS)) or name in _MAKE or name.endswith(".mk") or name in _PACKAGING
        or config_file(path)
    )  # fmt: skip


def _config_entries(paths: Iterable[str]) -> list[Affordance]:
    """One ``config-files`` entry per folder of config files, its files as ``values`` (names only are kept)."""
    folders: dict[str, list[str]] = {}
    for path in sorted(p for p in paths if config_file(p)):
        folders.setdefault(posixpath.dirname(path), []).append(path)
    return [
        Affordance(id=f"config-files:{folder}", kind="config-files", name=folder, path=files[0],
                   framework="files", values=tuple(files))  # fmt: skip
        for folder, files in folders.items()
    ]


def read_sources(root: Path, files: Iterable[Any]) -> Iterator[tuple[str, str]]:
    """``(path, text)`` of the catalog's files among ``files`` (``SourceFile``s with ``text``, objects with a
    ``path``, or plain paths), reading under ``root`` when no text is given. Unreadable files are skipped."""
    root = Path(root)
    for f in files:
        path = f if isinstance(f, str) else getattr(f, "path", None)
        if not isinstance(path, str) or not wanted(path):
            continue
        text = getattr(f, "text", None)
        if text is None:
            target = (root / path).resolve()
            if root.resolve() not in target.parents or not target.is_file():
                continue
            try:
                text = target.read_text(encoding="utf-8-sig", errors="replace")
            except OSError as e:
                log.info("affordances: skip %s (%s)", path, e.strerror or e)
                continue
        yield path, text


def load_catalog_or_build(path: Path, root: Path, files: Sequence[Any]) -> Catalog:
    """The catalog stored at ``path``, else one built from ``files`` under ``root`` (and stored when possible)."""
    found = read_catalog(path)
    if found is not None:
        return found
    log.info("affordances: %s missing or of another version; rebuilding from %s", path, root)
    catalog = build_catalog(read_sources(root, files))
    try:
        write_catalog(path, catalog)
    except OSError as e:
        log.info("affordances: cannot store %s (%s)", path, e.strerror or e)
    return catalog


# The Python 2 statements that old research scripts still hold (``print "epoch", i``, ``except IOError, e:``,
# ``raise ValueError, "bad"``) and keyword arguments named ``async`` (``.cuda(async=True)``, PyTorch before 0.4),
# each rewritten on its own line so that line numbers stay. Written here because the
# standard library's converter (lib2to3) is gone from Python 3.13 and a script only needs to parse, not to run.
_PY2_PRINT = re.compile(r"^(\s*)print(?![\w(])\s*(?!=)(.*?)\s*,?\s*$")
_PY2_PRINT_TO = re.compile(r"^>>\s*([\w.]+)\s*,\s*(.*)$")
_PY2_EXCEPT = re.compile(r"^(\s*except\s+)(\([^)]*\)|[\w.]+)\s*,\s*(\w+)\s*:")
_PY2_RAISE = re.compile(r"^(\s*raise\s+[\w.]+)\s*,\s*(.+?)\s*$")
_ASYNC_KEYWORD = re.compile(r"(?<=[(,])(\s*)async(?=\s*=[^=])")


def python2_as_3(text: str) -> str:
    """``text`` with its Python 2 print, except and raise statements and its ``async=`` keyword arguments
    written as Python 3 parses them.

    Example:
        >>> print(python2_as_3("print 'loss', x\\nexcept IOError, e:\\nprint >>f, 'a'\\n"
        ...                    "raise KeyError, 'k'\\nx.cuda(async=True)"))
        print('loss', x)
        except IOError as e:
        print('a', file=f)
        raise KeyError('k')
        x.cuda(async_=True)
    """
    out = []
    for line in text.expandtabs(8).split("\n"):
        if (m := _PY2_PRINT.match(line)) is not None:
            to = _PY2_PRINT_TO.match(m.group(2))
            line = f"{m.group(1)}print({to.group(2)}, file={to.group(1)})" if to else f"{m.group(1)}print({m.group(2)})"
        elif (m := _PY2_EXCEPT.match(line)) is not None:
            line = f"{m.group(1)}{m.group(2)} as {m.group(3)}:{line[m.end():]}"
        elif (m := _PY2_RAISE.match(line)) is not None:
            line = f"{m.group(1)}({m.group(2)})"
        out.append(_ASYNC_KEYWORD.sub(r"\1async_", line))
    return "\n".join(out)


def _parse(path: str, text: str, skipped: list[str]) -> ast.Module | None:
    if len(text) > MAX_SOURCE_CHARS:
        skipped.append(f"{path}: larger than {MAX_SOURCE_CHARS} characters")
        return None
    try:
        return ast.parse(text)
    except SyntaxError as e:
        try:
            tree = ast.parse(python2_as_3(text))  # an old script's Python 2 statements
            log.info("affordances: %s read as Python 2", path)
            return tree
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            pass
        skipped.append(f"{path}: syntax error at line {e.lineno}")
    except (ValueError, RecursionError, MemoryError) as e:
        skipped.append(f"{path}: cannot parse ({type(e).__name__})")
    return None


def _script_entries(path: str, spec: CliSpec | None, params: tuple[Param, ...], framework: str, summary: str,
                    span: tuple[int, int]) -> list[Affordance]:  # fmt: skip
    main = Affordance(
        id=f"python-script:{path}",
        kind="python-script",
        name=path.rsplit("/", 1)[-1],
        path=path,
        start_line=span[0],
        end_line=span[1],
        run=f"python {path}",
        framework=framework,
        params=params,
        summary=summary,
    )
    out = [main]
    if spec is not None:
        for sub, opts in spec.subcommands.items():
            out.append(
                replace(
                    main,
                    id=f"python-script:{path}:{sub}",
                    name=f"{main.name} {sub}",
                    run=f"python {path} {sub}",
                    subcommand=sub,
                    params=params_from_options(opts),
                )
            )
    return out


def _documented_scripts(src: dict[str, str]) -> set[str]:
    """The Python files the documentation runs (``cd code && python main.py``), resolved as ``_place`` does: a
    script whose options come from a module it imports at the top (``import world``, which parses them) is run
    though it has no ``__main__`` block."""
    scripts = {p for p in src if p.endswith(".py")}
    out: set[str] = set()
    for path, text in src.items():
        if not path.endswith((*_DOCS, *_SHELL)) or ".py" not in text:
            continue
        for line in text.splitlines():
            if ".py" in line:
                for target, is_module in find_invocations(line):
                    hit = resolve_invocation(target, is_module, posixpath.dirname(path), scripts)
                    if hit is not None:
                        out.add(hit[0])
    return out


def _python_entries(path: str, text: str, tree: ast.Module, sources: dict[str, str], specs: dict[str, CliSpec | None],
                    trees: dict[str, ast.Module], load_yaml: Any, documented: AbstractSet[str] = frozenset()
                    ) -> list[Affordance]:  # fmt: skip
    v = Values(tree)
    summary = (ast.get_docstring(tree) or "").strip().split("\n", 1)[0]
    spec = specs.get(path)
    main = runs_as_main(tree) or path in documented
    if spec is not None:
        if "parents" in text:  # ArgumentParser(parents=[other_module.get_args_parser()])
            spec = with_parents(spec, tree, path, sources, specs)
        if "import" in text:  # add_model_args(parser), a function of another module
            spec = with_helpers(spec, tree, path, sources)
        return _script_entries(path, spec, params_from_options(spec.options), spec.framework, summary,
                               (spec.start_line, spec.end_line))  # fmt: skip
    if "exec(" in text and (configured := exec_config_params(tree, text)):
        return _script_entries(path, None, configured, "configurator", summary, (1, len(text.splitlines()) or 1))
    absl = absl_params(tree, v) if "DEFINE_" in text else ()
    if absl and main:
        return _script_entries(path, None, absl, "absl", summary, (1, len(text.splitlines()) or 1))
    names = hf_dataclass_names(tree) if "HfArgumentParser" in text else []
    if names and main:
        params: list[Param] = []
        external: list[str] = []
        local = class_defs(tree)
        for mod in imported_repo_modules(tree, path, sources):
            if mod in trees:
                local = {**class_defs(trees[mod]), **local}
        for n in names:
            if n in local:
                params += dataclass_params(local[n], Values(tree))
            else:
                external.append(n)
        summary = summary or ("plus the options of " + ", ".join(external) if external else "")
        return _script_entries(path, None, tuple(params), "hf-dataclass", summary, (1, len(text.splitlines()) or 1))
    tyro = tyro_dataclass_names(tree) if "tyro" in text else []
    if tyro and main:  # args = tyro.cli(Args): one --field-name per dataclass field
        local = class_defs(tree)
        for mod in imported_repo_modules(tree, path, sources):
            if mod in trees:
                local = {**class_defs(trees[mod]), **local}
        fields = tuple(p for n in tyro if n in local for p in dataclass_params(local[n], Values(tree)))
        if fields:
            return _script_entries(path, None, tyro_params(fields), "tyro", summary, (1, len(text.splitlines()) or 1))
    hydra = hydra_config(tree, v) if "hydra" in text else None
    if hydra is not None:
        ps = hydra_params(path, hydra[0], hydra[1], sources, load_yaml)
        return _script_entries(path, None, ps, "hydra", summary, (1, len(text.splitlines()) or 1))
    if main:
        looped = dict_options(tree, path, sources, trees) if ".items()" in text or "argparse" in text else ()
        if looped:
            return _script_entries(path, None, params_from_options(looped), "argparse", summary,
                                   (1, len(text.splitlines()) or 1))  # fmt: skip
        borrowed = borrowed_cli(tree, path, sources, specs)
        if borrowed is not None:
            if not summary:  # a __main__.py that runs fid_score.main(): what the module it runs says it does
                summary = next((first for m in imported_repo_modules(tree, path, sources) if m in trees
                                and (first := (ast.get_docstring(trees[m]) or "").strip().split("\n", 1)[0])), "")
            return _script_entries(path, borrowed, params_from_options(borrowed.options), borrowed.framework,
                                   summary, (1, len(text.splitlines()) or 1))  # fmt: skip
        if absl:
            return _script_entries(path, None, absl, "absl", summary, (1, len(text.splitlines()) or 1))
        argv = argv_params(tree) if "argv" in text else ()
        return _script_entries(path, None, argv, "sys.argv" if argv else "", summary, (1, len(text.splitlines()) or 1))
    return []


_IMPORTS_PACKAGE = re.compile(r"^\s*(?:from|import)\s+([A-Za-z_]\w*)", re.M)


def _implied_packages(src: dict[str, str]) -> set[str]:
    """``<folder>/__init__.py`` for top-level folders of Python files that the documentation or the packaging
    imports or names as a package, though no ``__init__.py`` was read (a walk that honours a ``.gitignore``
    listing ``cleanfid/__*`` misses the empty file the repository tracks)."""
    folders = {p.split("/", 1)[0] for p in src if p.endswith(".py") and p.count("/") == 1}
    missing = {f for f in folders if f"{f}/__init__.py" not in src and f.isidentifier()}
    if not missing:
        return set()
    said: set[str] = set()
    for path, text in src.items():
        if path.endswith((*_DOCS, "setup.py", "pyproject.toml", "setup.cfg")):
            said.update(m.group(1) for m in _IMPORTS_PACKAGE.finditer(text))
            if path.endswith(("setup.py", "pyproject.toml", "setup.cfg")):
                said.update(f for f in missing if re.search(rf"""['"\s=]{re.escape(f)}['"\s,\]]""", text))
    return {f"{f}/__init__.py" for f in missing & said}


def imported_choices(spec: CliSpec, tree: ast.Module, path: str, src: dict[str, str],
                     trees: dict[str, ast.Module]) -> CliSpec:
    """``spec`` with the choices its options take from names imported from repository modules
    (``choices=DATASETS`` after ``from utils.datasets import DATASETS``, where ``DATASETS = list(D.keys())``)."""
    found: dict[str, list[str]] = {}
    wanted = {o["choices_ref"] for o in spec.options if o.get("choices_ref")}
    for node in tree.body:
        if not isinstance(node, ast.ImportFrom):
            continue
        for alias in node.names:
            local = alias.asname or alias.name
            if local not in wanted or local in found:
                continue
            one = ast.Module(body=[ast.ImportFrom(module=node.module, names=[ast.alias(name=alias.name)],
                                                  level=node.level)], type_ignores=[])  # fmt: skip
            for mod in imported_repo_modules(one, path, src):
                got = Values(trees[mod]).choices(ast.Name(id=alias.name, ctx=ast.Load())) if mod in trees else None
                if got:
                    found[local] = got
                    break
    if not found:
        return spec
    options = tuple({**o, "choices": found[o["choices_ref"]]} if o.get("choices_ref") in found else o
                    for o in spec.options)  # fmt: skip
    return replace(spec, options=options)


def _with_console_usage(entries: list[Affordance], src: dict[str, str]) -> list[Affordance]:
    """Console scripts with the documentation's lines that run them (``$ stylegan2_pytorch --data x``)."""
    commands = {a.run.split()[0]: a for a in entries if a.kind == "console-script" and not a.subcommand}
    if not commands:
        return entries
    lines: dict[str, dict[str, None]] = {}
    head = re.compile(r"^\s*(?:\$\s*)?(" + "|".join(re.escape(c) for c in commands) + r")(?=\s|$)(.*)$")
    for path, text in src.items():
        if path.endswith((*_DOCS, *_SHELL)) and any(c in text for c in commands):
            for line in text.splitlines():
                # a command line, not prose that starts with the command's word ("train the model ..."): a
                # prompt, options, or nothing after it
                if (m := head.match(line)) is not None and (line.lstrip().startswith("$") or not m.group(2).strip()
                                                            or re.match(r"\s+-", m.group(2))):  # fmt: skip
                    lines.setdefault(m.group(1), {})[f"{m.group(1)}{m.group(2)}".strip()] = None
    return [replace(a, usage=tuple(lines[a.run.split()[0]])[:_MAX_USAGE])
            if a.kind == "console-script" and not a.subcommand and a.run.split()[0] in lines else a
            for a in entries]  # fmt: skip


def _yaml_loader() -> Any:
    import yaml  # a dependency of mlrag (configs)

    def load(text: str) -> Any:
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError:
            return None

    return load


def build_catalog(sources: Iterable[tuple[str, str]]) -> Catalog:
    """Every affordance of a repository, from ``(repo-relative path, text)`` pairs.

    Example:
        >>> cat = build_catalog([("train.py", "import argparse\\np = argparse.ArgumentParser()\\n"
        ...                      "p.add_argument('--lr', type=float, default=0.1)\\np.parse_args()\\n")])
        >>> [(a.run, [p.name for p in a.params]) for a in cat]
        [('python train.py', ['--lr'])]
    """
    src = {p: t for p, t in sources if wanted(p)}
    skipped: list[str] = []
    trees: dict[str, ast.Module] = {}
    for path, text in src.items():
        if path.endswith(".py"):
            tree = _parse(path, text, skipped)
            if tree is not None:
                trees[path] = tree
    specs: dict[str, CliSpec | None] = {}
    for path, tree in trees.items():
        try:
            specs[path] = read_cli(src[path], tree)
        except (RecursionError, MemoryError):
            skipped.append(f"{path}: command line too deeply nested to read")
            specs[path] = None
        spec = specs[path]
        if spec is not None and any(o.get("choices_ref") for o in spec.options):
            specs[path] = imported_choices(spec, tree, path, src, trees)
    load_yaml = _yaml_loader()
    documented = _documented_scripts(src)
    entries: list[Affordance] = []
    names = set(src) | _implied_packages(src)
    for path, tree in trees.items():
        try:
            entries += _python_entries(path, src[path], tree, src, specs, trees, load_yaml, documented)
            if is_api_module(path, names, runs_as_main(tree)):
                entries += api_affordances(path, tree, names)
            entries += registry_affordances(path, tree, names, decorators="register" in src[path])
        except (RecursionError, MemoryError):
            skipped.append(f"{path}: too deeply nested to read")
    for path, text in src.items():
        base = path.rsplit("/", 1)[-1]
        if path.endswith(_SHELL):
            entries.append(shell_affordance(path, text))
        elif base in _MAKE or base.endswith(".mk"):
            entries += make_affordances(path, text)
        elif base in _PACKAGING:
            entries += _console_entries(path, text, src, specs)
        elif path.endswith(_EXAMPLE_DOCS) and len(text) <= MAX_SOURCE_CHARS:
            try:
                entries += example_affordances(path, text)
            except (TypeError, ValueError, KeyError, AttributeError, RecursionError) as e:  # a malformed notebook
                skipped.append(f"{path}: examples not read ({type(e).__name__})")
    entries += _module_entries(trees, specs, names)
    entries = _with_console_usage(entries, src)
    entries += _config_entries(names)
    if any("CN()" in t or "CfgNode(" in t for p, t in src.items() if p.endswith(".py")):
        keys = yacs_keys(trees)
        entries = [_with_config_keys(a, keys) for a in entries] if keys else entries
    if any(a.kind == "registry" for a in entries):
        entries = _with_table_choices(entries, trees, names)
    entries = [_with_compared_values(a, trees, src) if a.kind == "python-script" else a for a in entries]
    placed = _place(entries, src)
    placed = [_with_passed_options(a, src, load_yaml) for a in placed]
    helpers = _option_modules(trees, specs, src)
    placed = [a for a in placed if not (a.kind == "python-script" and a.path in helpers and not a.invoked_by)]
    # a module a documented script imports, that parses the options at import (LightGCN's ``world.py`` for
    # ``python main.py``) and that nothing runs itself, is the script's configuration, not an entry
    imported = {m for a in placed if a.kind == "python-script" and a.usage and a.path in trees
                for m in imported_repo_modules(trees[a.path], a.path, src)}  # fmt: skip
    placed = [a for a in placed if not (a.kind == "python-script" and a.path in imported and not a.usage
                                        and not a.invoked_by and not has_main_block(trees.get(a.path)))]
    return Catalog(sort_entries(placed), skipped=tuple(skipped))


#: Most values kept per option from the comparisons a script makes with it.
MAX_COMPARED = 64  # get_network() of a model zoo compares --net with a few dozen names


def compared_values(tree: ast.Module, dests: set[str]) -> dict[str, list[str]]:
    """The strings a script compares each option with (``if args.dataset == "cifar10"``, ``elif task_name in
    ("docvqa", "rvlcdip")`` after ``task_name = args.task``): the values it acts on, for options that list none."""
    alias: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                and isinstance(node.value, ast.Attribute) and node.value.attr in dests:
            alias.setdefault(node.targets[0].id, node.value.attr)

    def dest_of(e: ast.expr) -> str | None:
        if isinstance(e, ast.Attribute) and e.attr in dests:
            return e.attr
        return alias.get(e.id) if isinstance(e, ast.Name) else None

    def strings(e: ast.expr) -> list[str]:
        items = e.elts if isinstance(e, (ast.Tuple, ast.List, ast.Set)) else [e]
        return [x.value for x in items if isinstance(x, ast.Constant) and isinstance(x.value, str)]

    out: dict[str, dict[str, None]] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare) or len(node.comparators) != 1:
            continue
        if not isinstance(node.ops[0], (ast.Eq, ast.NotEq, ast.In, ast.NotIn)):
            continue
        left, right = node.left, node.comparators[0]
        for side, other in ((left, right), (right, left)):
            dest = dest_of(side)
            if dest is not None:
                for v in strings(other):
                    if re.fullmatch(r"[\w.+/-]{1,40}", v):
                        out.setdefault(dest, {})[v] = None
    return {d: list(vs)[:MAX_COMPARED] for d, vs in out.items()}


def _with_compared_values(a: Affordance, trees: dict[str, ast.Module], src: dict[str, str]) -> Affordance:
    """``a`` with the values its script (or a repository module it imports: a wrapper ``enjoy.py`` that calls
    ``rl_zoo3.enjoy``) compares an option with written into that option's help (``checked: docvqa | rvlcdip``),
    where neither choices nor the help list them: the names it takes, as a help would."""
    tree = trees.get(a.path)
    if tree is None or not a.params:
        return a
    dests = {p.dest for p in a.params if p.kind == "option" and not p.choices and not p.is_flag}
    found: dict[str, list[str]] = {}
    for t in [tree, *(trees[m] for m in imported_repo_modules(tree, a.path, src) if m in trees)] if dests else []:
        for dest, values in compared_values(t, dests).items():
            found[dest] = list(dict.fromkeys([*found.get(dest, []), *values]))[:MAX_COMPARED]
    if not found:
        return a
    params = tuple(replace(p, help=f"{p.help} (checked: {' | '.join(found[p.dest])})".strip())
                   if p.dest in found and p.kind == "option" and not p.choices and not p.is_flag else p
                   for p in a.params)  # fmt: skip
    return replace(a, params=params)


def _table_lookups(tree: ast.Module) -> dict[str, str]:
    """The options a script looks up in a name table: ``CONFIGS[args.vit_name]`` or ``MODELS.get(args.arch)``
    gives ``{"vit_name": "CONFIGS", "arch": "MODELS"}`` (the attribute read, the table's local name)."""
    out: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) \
                and isinstance(node.slice, ast.Attribute) and isinstance(node.slice.value, ast.Name):
            out.setdefault(node.slice.attr, node.value.id)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" \
                and isinstance(node.func.value, ast.Name) and node.args and isinstance(node.args[0], ast.Attribute) \
                and isinstance(node.args[0].value, ast.Name):
            out.setdefault(node.args[0].attr, node.func.value.id)
    return out


def _with_table_choices(entries: list[Affordance], trees: dict[str, ast.Module], names: set[str]) -> list[Affordance]:
    """Scripts whose options index a name table of the repository (``CONFIGS_ViT_seg[args.vit_name]``, the table
    imported as ``from networks.vit_seg_modeling import CONFIGS as CONFIGS_ViT_seg``) take that table's names
    as the option's choices: any other value fails the lookup."""
    tables = {(a.path, a.name.rsplit(".", 1)[-1]): a.values for a in entries if a.kind == "registry" and a.values}
    out = []
    for a in entries:
        tree = trees.get(a.path) if a.kind in ("python-script", "python-module") else None
        if tree is None or not a.params or not (lookups := _table_lookups(tree)):
            out.append(a)
            continue
        local = {t: v for (path, t), v in tables.items() if path == a.path}
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                rel = node.module.replace(".", "/") + ".py"
                homes = [x for x in (posixpath.join(posixpath.dirname(a.path), rel), rel) if x in names]
                for alias in node.names:
                    got = next((tables[(h, alias.name)] for h in homes if (h, alias.name) in tables), None)
                    if got is not None:
                        local[alias.asname or alias.name] = got
        params = tuple(replace(p, choices=local[lookups[p.dest]]) if p.dest in lookups and lookups[p.dest] in local
                       and p.choices is None and not p.is_flag and len(local[lookups[p.dest]]) >= 2 else p
                       for p in a.params)  # fmt: skip
        out.append(replace(a, params=params) if params != a.params else a)
    return out


#: Most options a script gains from its documented commands and the config file they pass.
MAX_PASSED_OPTIONS = 96
_CONFIG_FLAGS = ("--config", "--cfg", "--config_file", "--config-file", "--config_path", "--config-path")


def _value_type(value: str) -> str:
    if value in ("True", "False", "true", "false"):
        return "bool"
    if re.fullmatch(r"-?\d+", value):
        return "int"
    return "float" if re.fullmatch(r"-?\d*\.\d+(?:e-?\d+)?", value) else "str"


def _with_passed_options(a: Affordance, src: dict[str, str], load_yaml: Any) -> Affordance:
    """A script that hands the options its parser does not know to its config (``parse_known_args``, then
    ``config.argv_update(left_argv)``) takes the options its documented commands pass
    (``--pretrained_model_name_or_path``) and the top-level keys of the config file they give (``--result_path``
    of ``config/train_cord.yaml``)."""
    if a.kind != "python-script" or not a.usage or "parse_known_args" not in src.get(a.path, ""):
        return a
    have = {sp for p in a.params for sp in p.spellings}
    extra: dict[str, Param] = {}
    configs: list[str] = []
    for line in a.usage:
        for cmd in split_commands(line):
            inv = invocation(cmd)
            args = list(inv.args) if inv is not None else []
            for k, tok in enumerate(args):
                name, eq, value = tok.partition("=")
                if not name.startswith("--") or len(name) < 4:
                    continue
                if not eq and k + 1 < len(args) and not args[k + 1].startswith("-"):
                    value = args[k + 1]
                if name in _CONFIG_FLAGS and value:
                    configs.append(value)
                if name not in have and name not in extra and not any(h.startswith(name) for h in have):
                    # (``--batch`` abbreviates --batch-size, as argparse lets it)
                    extra[name] = Param(name=name, kind="option", type=_value_type(value) if value else None,
                                        action=None if value else "store_true", dest=name[2:].replace("-", "_"),
                                        help="documented option")
    for cfg in dict.fromkeys(configs):
        path = next((c for c in (posixpath.normpath(posixpath.join(a.workdir, cfg)), posixpath.normpath(cfg))
                     if c in src and c.endswith(_YAML)), None)  # fmt: skip
        if path is None:
            continue
        data = load_yaml(src[path])
        for key, value in (data.items() if isinstance(data, dict) else ()):
            name = f"--{key}"
            if isinstance(key, str) and re.fullmatch(r"\w+", key) and name not in have and name not in extra \
                    and not isinstance(value, dict):
                text = "" if value is None else str(value)
                extra[name] = Param(name=name, kind="option", type=_value_type(text), default=text or None,
                                    dest=key, help=f"yaml key ({posixpath.basename(path)})")
    if not extra:
        return a
    return replace(a, params=a.params + tuple(extra.values())[:MAX_PASSED_OPTIONS])


def _with_config_keys(a: Affordance, keys: Sequence[tuple[str, str | None, str]]) -> Affordance:
    """``a`` with the repository's yacs config keys as ``config-key`` parameters, when it has an ``opts``-like
    parameter that takes the rest of the command line (``nargs=argparse.REMAINDER``: "Modify config options
    using the command-line"); their ``dest`` is that option's flag (``--opts``), or "" when the pairs stand
    bare after the options (a positional ``opts``)."""
    if a.kind not in ("python-script", "python-module", "console-script"):
        return a
    rest = next((p for p in a.params if p.nargs in REMAINDER_NARGS
                 and ("opt" in p.name.lower() or "config" in p.help.lower())), None)  # fmt: skip
    if rest is None:
        return a
    dest = rest.name if rest.kind == "option" else ""
    have = {p.name for p in a.params}
    extra = tuple(Param(name=k, kind="config-key", type=t, default=d, dest=dest)
                  for k, d, t in keys if k not in have)  # fmt: skip
    return replace(a, params=a.params + extra)


def _option_modules(trees: dict[str, ast.Module], specs: dict[str, CliSpec | None], src: dict[str, str]) -> set[str]:
    """Modules that only build a parser for others (nerf_pl's ``opt.py``: ``def get_opts(): ... parse_args()``,
    imported by ``train.py``): they have a command line but cannot run as a script, and a script imports them.
    Running them does nothing, so they are no entry (the importing script has their options)."""
    maybe = {p for p, t in trees.items() if specs.get(p) is not None and not runs_as_main(t)}
    if not maybe:
        return set()
    used: set[str] = set()
    for path, tree in trees.items():
        if path not in maybe and runs_as_main(tree):
            used.update(m for m in imported_repo_modules(tree, path, src) if m in maybe)
    return used


def _console_entries(path: str, text: str, src: dict[str, str], specs: dict[str, CliSpec | None]) -> list[Affordance]:
    out: list[Affordance] = []
    for command, module, func in console_scripts(path, text):
        rel = module.replace(".", "/")
        target = next(
            (c for c in (f"{rel}.py", f"src/{rel}.py", f"{rel}/__init__.py", f"src/{rel}/__init__.py") if c in src), ""
        )
        spec = specs.get(target) if target else None
        params = params_from_options(spec.options) if spec else ()
        out.append(
            Affordance(
                id=f"console-script:{command}",
                kind="console-script",
                name=command,
                path=target or path,
                run=command,
                framework=(spec.framework if spec else "entry-point"),
                params=params,
                summary=f"{module}:{func} (declared in {path})",
            )
        )
        if spec is not None:
            for sub, opts in spec.subcommands.items():
                out.append(
                    Affordance(
                        id=f"console-script:{command}:{sub}",
                        kind="console-script",
                        name=f"{command} {sub}",
                        path=target,
                        run=f"{command} {sub}",
                        framework=spec.framework,
                        subcommand=sub,
                        params=params_from_options(opts),
                    )
                )
    return out


def _module_entries(
    trees: dict[str, ast.Module], specs: dict[str, CliSpec | None], names: set[str]
) -> list[Affordance]:
    """``python -m pkg`` for each package with a ``__main__.py``."""
    out: list[Affordance] = []
    for path in trees:
        if not path.endswith("/__main__.py"):
            continue
        pkg = module_name(path[: -len("/__main__.py")] + "/__init__.py", names)
        spec = specs.get(path)
        out.append(
            Affordance(
                id=f"python-module:{pkg}",
                kind="python-module",
                name=pkg,
                path=path,
                run=f"python -m {pkg}",
                workdir="src" if path.startswith("src/") else "",
                framework=spec.framework if spec else "",
                params=params_from_options(spec.options) if spec else (),
            )
        )
    return out


_CD = re.compile(r"^\s*(?:\$\s*)?cd\s+([^\s;&|]+)")


def _place(entries: list[Affordance], src: dict[str, str]) -> list[Affordance]:
    """Set ``workdir``, ``run`` and ``invoked_by`` of scripts from the README/shell lines that run them."""
    scripts = {a.path for a in entries if a.kind == "python-script"}
    shells = {a.path for a in entries if a.kind == "shell-script"}
    seen: dict[str, list[tuple[str, str]]] = {}  # script -> [(workdir, where)]
    usage: dict[str, dict[str, None]] = {}  # script -> its documented commands, in order, once each
    as_module: dict[str, int] = {}  # script -> how many more times the docs run it by ``-m`` than by its path
    as_program: dict[str, int] = {}  # script -> how many more times the docs run it as ``./x.py`` than by python
    for path, text in src.items():
        if not path.endswith((*_DOCS, *_SHELL)):
            continue
        from_dir = posixpath.dirname(path)
        lines = text.splitlines()
        moved = ""  # where a ``cd`` earlier in the same code block went: ``cd scripts/torch/`` picks its verify.py
        for no, line in enumerate(lines, 1):
            if line.lstrip().startswith(("```", "~~~")):
                moved = ""
            if (cd := _CD.match(line)) is not None:
                moved = posixpath.normpath(posixpath.join(from_dir, cd.group(1).strip("'\"")))
                moved = "" if moved.startswith(("..", "/", "~", "$")) or moved == "." else moved
            if ".py" in line or "-m " in line:
                for target, is_module in find_invocations(line):
                    hit = (moved and resolve_invocation(target, is_module, moved, scripts)) or resolve_invocation(
                        target, is_module, from_dir, scripts)  # fmt: skip
                    if hit is not None:
                        seen.setdefault(hit[0], []).append((hit[1], f"{path}:{no}"))
                        as_module[hit[0]] = as_module.get(hit[0], 0) + (1 if is_module else -1)
                        if not is_module:
                            direct = any(target in m.groups() for m in EXECUTED.finditer(line))
                            as_program[hit[0]] = as_program.get(hit[0], 0) + (1 if direct else -1)
                        for command in _commands_running(hit[0], lines, no - 1):
                            usage.setdefault(hit[0], {})[command] = None
            if ".sh" in line and not path.endswith(_SHELL) or path.endswith(_SHELL) and ".sh" in line:
                for word in line.replace(";", " ").split():
                    if word.endswith(_SHELL):
                        w = word[2:] if word.startswith("./") else word
                        for cand, wd in (
                            (posixpath.normpath(posixpath.join(from_dir, w)), from_dir),
                            (posixpath.normpath(w), ""),
                        ):
                            if cand in shells and cand != path:
                                seen.setdefault(cand, []).append((wd, f"{path}:{no}"))
                                for command in _commands_running(cand, lines, no - 1):
                                    usage.setdefault(cand, {})[command] = None
                                break
    out: list[Affordance] = []
    for a in entries:
        if a.kind not in ("python-script", "shell-script"):
            out.append(a)
            continue
        uses = seen.get(a.path, [])
        if uses:
            workdir = Counter(w for w, _ in uses).most_common(1)[0][0]
        else:
            workdir = posixpath.dirname(a.path) if a.kind == "python-script" else ""
        package_main = a.kind == "python-script" and a.path.endswith("/__main__.py")
        if package_main and not uses:
            workdir = "src" if a.path.startswith("src/") else ""  # run from the folder that holds the package
        rel = posixpath.relpath(a.path, workdir or ".")
        runner = "python" if a.kind == "python-script" else "bash"
        if a.kind == "python-script" and (as_module.get(a.path, 0) > 0 or package_main):
            # the docs run it as ``python -m baselines.run`` (its imports are the package's), and a package's
            # ``__main__.py`` only runs so
            rel = rel.removesuffix(".py").removesuffix("/__main__")
            if rel.startswith("src/") and not workdir:
                rel = rel[4:]  # the docs run an installed package of a src layout from the root
            rel = "-m " + rel.replace("/", ".")
        elif a.kind == "python-script" and as_program.get(a.path, 0) > 0 and not rel.startswith("../"):
            runner, rel = "", "./" + rel  # the docs run it as a program: ``./main.py --si`` (chmod +x, a shebang)
        run = f"{runner} {rel}".lstrip() + (f" {a.subcommand}" if a.subcommand else "")
        out.append(replace(a, workdir=workdir, run=run, invoked_by=tuple(dict.fromkeys(w for _, w in uses))[:8],
                           usage=tuple(usage.get(a.path, ()))[:_MAX_USAGE]))
    return out


#: Documented commands kept per script: a README that lists one command per model and scale has a few dozen.
_MAX_USAGE = 64
#: A placeholder written with spaces (``--test_folder=[folder path to test images]``): one word once joined.
_BRACKETED = re.compile(r"\[[^\]\n]*\s[^\]\n]*\]|<[^>\n]*\s[^>\n]*>")
#: HTML formatting tags READMEs wrap commands in (``<pre>``, ``<code>``, ``<br>``); a ``<path>`` placeholder is none.
_HTML_CODE = re.compile(r"<code(?:\s[^<>]*)?>([^<>`\n]+)</code>", re.I)
_HTML_TAG = re.compile(r"</?(?:pre|code|br|b|i|em|strong|p|div|span|tt|kbd|samp)(?:\s[^<>]*)?/?>", re.I)
_INLINE_CODE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
_PROMPT = re.compile(r"^\s*(?:\$|>>>|!|%)\s*")  # a shell or notebook prompt before a command


def _commands_running(script: str, lines: Sequence[str], i: int) -> list[str]:
    """The simple commands of the line ``lines[i]`` (with its ``\\`` continuations) that run ``script``, each
    written back as one line (``shlex.join``): prefixes (``VAR=x``) and launchers kept, redirections dropped.
    Arguments held in variables the same file sets (``$MODEL_FLAGS``) are written out, once per block of settings
    that sets them (``_expanded``)."""
    text = lines[i]
    while text.rstrip().endswith("\\") and i + 1 < len(lines):
        i += 1
        text = text.rstrip()[:-1] + " " + lines[i].strip()
    # <code>python train.py</code> is inline code; <pre>python -m torch.distributed.run ... train.py</pre> a line
    text = _HTML_TAG.sub(" ", _HTML_CODE.sub(lambda m: f"`{m.group(1)}`", text))
    out = []
    for piece in _INLINE_CODE.findall(text) or [text]:  # `python predict.py -i image.jpg` inside prose
        piece = _BRACKETED.sub(lambda m: re.sub(r"\s+", "_", m.group(0)), _PROMPT.sub("", piece))
        for cmd in split_commands(piece):
            inv = invocation(cmd)
            if inv is not None and runs_file(inv, script):
                out += [shlex.join(c) for c in _expanded(cmd, lines)]
    return out


_ASSIGN = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
_VAR = re.compile(r"^\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)\})$")


def _settings_blocks(lines: Sequence[str]) -> list[dict[str, str]]:
    """Runs of consecutive ``NAME="value"`` lines of a file, each as one block of settings, in file order."""
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in lines:
        m = _ASSIGN.match(line)
        if m:
            try:
                words = shlex.split(m.group(2), comments=True)
            except ValueError:
                words = []
            current[m.group(1)] = " ".join(words)
        elif current:
            blocks.append(current)
            current = {}
    if current:
        blocks.append(current)
    return blocks


def _expanded(cmd: Sequence[str], lines: Sequence[str]) -> list[list[str]]:
    """``cmd`` with its ``$NAME`` arguments written out from the file's settings blocks (``_settings_blocks``): one
    command per block that sets any of them, a name the block lacks taken from the last block before it that set
    it (the README lists ``MODEL_FLAGS`` / ``TRAIN_FLAGS`` once per model, the command that uses them once).
    Unchanged when no block sets them.

    Why by hand: these are documentation snippets, not scripts to run; no shell is ever invoked on them."""
    names = [m.group(1) or m.group(2) for t in cmd if (m := _VAR.match(t))]
    if not names:
        return [list(cmd)]
    out: list[list[str]] = []
    known: dict[str, str] = {}
    for block in _settings_blocks(lines):
        known.update(block)
        if not set(names) & set(block):
            continue
        expanded: list[str] = []
        for t in cmd:
            m = _VAR.match(t)
            name = m and (m.group(1) or m.group(2))
            expanded += known[name].split() if name and name in known else [t]
        if expanded not in out:
            out.append(expanded)
    return out or [list(cmd)]
