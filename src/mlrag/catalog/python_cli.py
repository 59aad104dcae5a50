"""Command lines of Python scripts, read statically: what ``python script.py ...`` accepts.

In-file interfaces (argparse, click, typer, fire) come from the argument-card readers
(``mlrag.chunking.cards.extract_cli``), so cards and catalog agree on every option. This module adds the shapes
those readers do not see:

* **a parser built in another module** (``from opts import get_parser`` / ``import options; options.parse()``):
  when a script runs as main and builds no parser of its own, the options of the repository modules it imports
  that do define one are its options;
* **absl / tf.flags**: ``flags.DEFINE_string("name", default, "help")`` and the other ``DEFINE_*`` calls
  (``DEFINE_enum`` gives choices, ``DEFINE_bool`` a ``--name`` / ``--noname`` flag);
* **tyro dataclasses**: ``tyro.cli(Args)`` -> one ``--field-name`` per field (``--field_name`` an alias), the
  string after a field its help;
* **HfArgumentParser dataclasses**: ``HfArgumentParser((ModelArguments, DataArguments))`` -> one ``--field``
  option per dataclass field (default, ``metadata={"help": ...}``, ``Literal``/choices); dataclasses that are not in
  the repository (``transformers.TrainingArguments``) are recorded by name, their options are not known;
* **hydra**: ``@hydra.main(config_path=..., config_name=...)`` -> one ``key=value`` override per leaf of the YAML
  config, and one per config group (a folder of YAML files beside it) with its files as choices;
* **sys.argv**: ``flac_dir = sys.argv[1]`` -> positional ``flac_dir`` at position 0 (``int(sys.argv[3])`` gives
  its type), in scripts that read them with no parser at all; a module whose top-level code reads ``sys.argv``
  runs as a script even with no ``__main__`` guard;
* **an exec'd configurator** (``exec(open('configurator.py').read())``, nanoGPT's shape): the simple globals the
  script assigns before that line are ``--name=value`` options, plus a positional Python config file;
* **options from a dict of defaults** (OpenAI's diffusion scripts' shape): ``add_dict_to_argparser(parser,
  defaults)`` whose loop ``for k, v in d.items(): parser.add_argument(f"--{k}", default=v, ...)`` adds one
  ``--key`` per key of ``defaults = dict(lr=1e-4, ...)``, ``defaults.update(model_defaults())`` included (the
  functions that return such dicts are followed into the repository modules the script imports).
"""

from __future__ import annotations

import ast
import posixpath
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from ..chunking.cards import extract_cli
from ..chunking.cli_ast import NOT_LITERAL, CliSpec, Values, dotted_name, keywords, option, str_args
from .base import Param

Sources = Mapping[str, str]  # repo-relative path -> text


def params_from_options(options: Any) -> tuple[Param, ...]:
    """Catalog parameters from the card readers' option dicts (``chunking.cli_ast.option``)."""
    out: list[Param] = []
    pos = 0
    for o in options:
        flags = [str(f) for f in o.get("flags") or ()]
        if not flags:
            continue
        positional = bool(o.get("positional"))
        if positional:
            name, aliases = str(o.get("dest") or flags[0]), tuple[str, ...]()
        else:
            longs = [f for f in flags if f.startswith("--")]
            name = longs[0] if longs else flags[0]
            aliases = tuple(f for f in flags if f != name)
        out.append(
            Param(
                name=name,
                kind="positional" if positional else "option",
                aliases=aliases,
                type=_clean_type(o.get("type")),
                choices=tuple(str(c) for c in o["choices"]) if o.get("choices") else None,
                default=None if o.get("default") is None else str(o["default"]),
                required=bool(o.get("required")),
                help=" ".join(str(o.get("help") or "").split()),
                nargs=None if o.get("nargs") is None else str(o["nargs"]),
                action=o.get("action"),
                position=pos if positional else None,
                dest=str(o.get("dest") or ""),
            )
        )
        if positional:
            pos += 1
    return tuple(out)


def _clean_type(t: Any) -> str | None:
    if t is None:
        return None
    s = str(t)
    return {"str2bool": "bool", "strtobool": "bool", "boolean": "bool", "pathlib.Path": "path", "Path": "path"}.get(
        s, s
    )


def _reads_argv(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Attribute) and n.attr == "argv" and dotted_name(n) == "sys.argv"
               for n in ast.walk(node))  # fmt: skip


def has_main_block(tree: ast.Module | None) -> bool:
    """Whether the module has an ``if __name__ == "__main__":`` block."""
    return tree is not None and any(
        isinstance(n, ast.If) and "__name__" in ast.unparse(n.test) and "__main__" in ast.unparse(n.test)
        for n in tree.body
    )


def runs_as_main(tree: ast.Module) -> bool:
    """True when the module has an ``if __name__ == "__main__":`` block, calls a parser at module level or reads
    ``sys.argv`` in its top-level code, or exec's a configurator (``exec_config_call``)."""
    if exec_config_call(tree) is not None or has_main_block(tree):
        return True  # (a top-level script configured by exec'ing a configurator)
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and _reads_argv(node):
            return True
        if isinstance(node, (ast.Expr, ast.Assign)) and isinstance(getattr(node, "value", None), ast.Call):
            name = dotted_name(node.value.func).split(".")[-1]  # type: ignore[union-attr,attr-defined]
            if name in ("parse_args", "parse_known_args", "run", "Fire", "main", "app", "cli", "parse", "parse_opt",
                        "parse_opts", "parse_arguments", "get_args", "get_opts", "get_arguments"):
                return True
    return False


# ------------------------------------------------------------------------------------------------ sys.argv

_ARGV_TYPES = {"int": "int", "float": "float"}
_PATHY = ("dir", "path", "file", "folder", "root", "json", "csv", "pickle", "txt")


def argv_params(tree: ast.Module) -> tuple[Param, ...]:
    """Positionals read as ``sys.argv[N]`` (N >= 1), named by the variable they are assigned to (``argN`` when
    none), typed by a wrapping ``int(...)`` / ``float(...)`` or as a path when the name says so."""
    found: dict[int, Param] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Assign) or len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
            continue
        value, typ = node.value, None
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and len(value.args) == 1:
            typ = _ARGV_TYPES.get(value.func.id)
            value = value.args[0] if typ else value
        if not (isinstance(value, ast.Subscript) and dotted_name(value.value) == "sys.argv"):
            continue
        idx = value.slice
        if not (isinstance(idx, ast.Constant) and isinstance(idx.value, int) and idx.value >= 1):
            continue
        name = node.targets[0].id
        if typ is None and any(w in name.lower() for w in _PATHY):
            typ = "path"
        found.setdefault(idx.value, Param(name, kind="positional", type=typ, required=True,
                                          position=idx.value - 1, dest=name))  # fmt: skip
    # positions with a gap (argv[2] read, argv[1] not) still keep their order
    return tuple(found[i] for i in sorted(found))


# ------------------------------------------------------------------------------------------------ exec'd configurator


def exec_config_call(tree: ast.Module) -> ast.Expr | None:
    """The module-level ``exec(open('configurator.py').read())`` of a script whose globals are its options
    (nanoGPT's "poor man's configurator" and its many descendants), or None."""
    for node in tree.body:
        if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)):
            continue
        call = node.value
        if dotted_name(call.func) != "exec" or len(call.args) != 1:
            continue
        read = call.args[0]
        if (isinstance(read, ast.Call) and isinstance(read.func, ast.Attribute) and read.func.attr == "read"
                and isinstance(read.func.value, ast.Call) and dotted_name(read.func.value.func) == "open"):  # fmt: skip
            return node
    return None


def exec_config_params(tree: ast.Module, text: str) -> tuple[Param, ...]:
    """The options of a script configured by an exec'd configurator: the simple globals it assigns before the
    ``exec`` line (``batch_size = 12``: ``--batch_size=12``, typed by the value, helped by the line's comment),
    and a positional config file (a Python file of overrides). Empty when the script has no such call."""
    call = exec_config_call(tree)
    if call is None:
        return ()
    lines = text.splitlines()
    out: dict[str, Param] = {}
    for node in tree.body:
        if node.lineno >= call.lineno:
            break
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            continue
        name, value = node.targets[0].id, node.value
        neg = isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.USub)
        if neg and isinstance(value.operand, ast.Constant) and isinstance(value.operand.value, (int, float)):  # type: ignore[attr-defined]
            value = ast.Constant(-value.operand.value)  # type: ignore[attr-defined]
        if name.startswith("_") or not isinstance(value, ast.Constant) or value.value is None:
            continue
        typ = {bool: "bool", int: "int", float: "float", str: "str"}.get(type(value.value))
        if typ is None:
            continue
        line = lines[node.lineno - 1] if node.lineno <= len(lines) else ""
        comment = line.split("#", 1)[1].strip() if "#" in line[node.end_col_offset or 0 :] else ""
        raw = value.value
        default = raw.encode("unicode_escape").decode() if isinstance(raw, str) else str(raw)  # "\\n", not a newline
        out[name] = Param(f"--{name}", type=typ, default=default, help=comment, dest=name)
    if not out:
        return ()
    config = Param("config", kind="positional", type="path", position=0, dest="config",
                   help="config file: a Python file of overrides (config/*.py)")  # fmt: skip
    return (config, *out.values())


# ------------------------------------------------------------------------------------------------ absl


_ABSL_TYPES = {
    "DEFINE_string": "str",
    "DEFINE_integer": "int",
    "DEFINE_float": "float",
    "DEFINE_bool": "bool",
    "DEFINE_boolean": "bool",
    "DEFINE_enum": "str",
    "DEFINE_list": "list",
    "DEFINE_multi_string": "str",
    "DEFINE_multi_integer": "int",
    "DEFINE_spaceseplist": "list",
}


def absl_params(tree: ast.Module, v: Values) -> tuple[Param, ...]:
    """``flags.DEFINE_*("name", default, "help")`` calls -> ``--name`` options (absl and tf.flags)."""
    out: list[Param] = []
    seen: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        fn = dotted_name(node.func).split(".")[-1]
        if fn not in _ABSL_TYPES:
            continue
        kw = keywords(node)
        args = list(node.args)
        name_node = args[0] if args else kw.get("name")
        name = v.literal(name_node)
        if not isinstance(name, str) or name in seen:
            continue
        seen.add(name)
        default = v.text(args[1] if len(args) > 1 else kw.get("default"))
        if fn == "DEFINE_enum":
            choices = v.choices(args[2] if len(args) > 2 else kw.get("enum_values"))
            help_node = args[3] if len(args) > 3 else kw.get("help")
        else:
            choices = None
            help_node = args[2] if len(args) > 2 else kw.get("help")
        help_ = v.literal(help_node)
        required = False
        out.append(
            Param(
                name=f"--{name}",
                aliases=(f"--no{name}",) if _ABSL_TYPES[fn] == "bool" else (),
                type=_ABSL_TYPES[fn],
                choices=tuple(choices) if choices else None,
                default=default,
                required=required,
                help=" ".join(help_.split()) if isinstance(help_, str) else "",
                action="store_true" if _ABSL_TYPES[fn] == "bool" else None,
                dest=name,
            )
        )
    marked = _absl_required(tree, v)
    return tuple(replace(p, required=True) if p.dest in marked else p for p in out)


def _absl_required(tree: ast.Module, v: Values) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and dotted_name(node.func).split(".")[-1] in (
            "mark_flag_as_required",
            "mark_flags_as_required",
        ):
            for a in node.args:
                lit = v.literal(a)
                if isinstance(lit, str):
                    out.add(lit)
                elif isinstance(lit, (list, tuple)):
                    out.update(str(x) for x in lit)
    return out


# ------------------------------------------------------------------------------------------------ HfArgumentParser


def hf_dataclass_names(tree: ast.Module) -> list[str]:
    """Names of the dataclasses given to ``HfArgumentParser(...)`` in ``tree``, in order."""
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and dotted_name(node.func).split(".")[-1] == "HfArgumentParser" and node.args:
            arg = node.args[0]
            elts = arg.elts if isinstance(arg, (ast.Tuple, ast.List)) else [arg]
            names += [dotted_name(e).split(".")[-1] for e in elts if dotted_name(e)]
    return names


def tyro_dataclass_names(tree: ast.Module) -> list[str]:
    """Names of the dataclasses given to ``tyro.cli(...)`` in ``tree``, in order."""
    return [dotted_name(node.args[0]).split(".")[-1] for node in ast.walk(tree)
            if isinstance(node, ast.Call) and dotted_name(node.func) in ("tyro.cli", "cli") and node.args
            and dotted_name(node.args[0])]  # fmt: skip


def tyro_params(params: tuple[Param, ...]) -> tuple[Param, ...]:
    """``dataclass_params`` as tyro spells them: ``--env-id`` for ``env_id`` (the underscore form an alias)."""
    return tuple(replace(p, name=p.name.replace("_", "-"), aliases=(p.name, *p.aliases)) if "_" in p.name else p
                 for p in params)  # fmt: skip


def dataclass_params(cls: ast.ClassDef, v: Values) -> tuple[Param, ...]:
    """``--field`` options of a dataclass, as ``HfArgumentParser`` derives them; a string right after a field is
    its help (the attribute docstrings tyro and others read)."""
    out: list[Param] = []
    for k, st in enumerate(cls.body):
        if not (isinstance(st, ast.AnnAssign) and isinstance(st.target, ast.Name)):
            continue
        after = cls.body[k + 1] if k + 1 < len(cls.body) else None
        doc = after.value.value if isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant) \
            and isinstance(after.value.value, str) else ""  # fmt: skip
        name = st.target.id
        ann = ast.unparse(st.annotation)
        default: str | None = None
        help_ = ""
        choices: tuple[str, ...] | None = None
        required = st.value is None
        if isinstance(st.value, ast.Call) and dotted_name(st.value.func).split(".")[-1] == "field":
            kw = keywords(st.value)
            required = "default" not in kw and "default_factory" not in kw
            default = v.text(kw.get("default"))
            meta = v.literal(kw.get("metadata"))
            if isinstance(meta, dict):
                help_ = " ".join(str(meta.get("help", "")).split())
                if isinstance(meta.get("choices"), (list, tuple)):
                    choices = tuple(str(c) for c in meta["choices"])
        elif st.value is not None:
            default = v.text(st.value)
        if "Literal[" in ann:
            sub = ann[ann.index("Literal[") + 8 :].split("]")[0]
            lit = _safe_literal(f"[{sub}]")
            if isinstance(lit, list):
                choices = tuple(str(x) for x in lit)
        base = _base_type(ann)
        out.append(
            Param(
                name=f"--{name}",
                type=base,
                choices=choices,
                default=default,
                required=required,
                help=help_ or " ".join(doc.split()),
                action="store_true" if base == "bool" and default in (None, "False") else None,
                nargs="+" if base == "list" else None,
                dest=name,
            )
        )
    return tuple(out)


def _safe_literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return NOT_LITERAL


def _base_type(ann: str) -> str:
    a = ann.replace("typing.", "").replace("Optional[", "").rstrip("]")
    for t in ("bool", "int", "float", "str"):
        if a == t or a.startswith(t):
            return t
    if a.startswith(("List", "list", "Tuple", "tuple")):
        return "list"
    return "str"


def class_defs(tree: ast.Module) -> dict[str, ast.ClassDef]:
    return {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}


# ------------------------------------------------------------------------------------------------ yacs
#: Keys read per repository at most: detectron2's defaults hold about 400, a few hold more.
MAX_CONFIG_KEYS = 600


def yacs_keys(trees: Mapping[str, ast.Module]) -> list[tuple[str, str | None, str]]:
    """The keys of the repository's yacs config defaults (``_C = CN()``, then ``_C.TRAIN.num_epoch = 20``:
    ``TRAIN.num_epoch`` with its default ``20`` and type ``int``), in file order, once each. A script with a
    ``nargs=argparse.REMAINDER`` ``opts`` option takes them as ``KEY VALUE`` pairs after its options."""
    out: dict[str, tuple[str | None, str]] = {}
    for tree in trees.values():
        roots: set[str] = set()
        for node in ast.walk(tree):
            if len(out) >= MAX_CONFIG_KEYS:
                return [(k, d, t) for k, (d, t) in out.items()]
            if not isinstance(node, ast.Assign) or len(node.targets) != 1:
                continue
            target, value = node.targets[0], node.value
            if isinstance(value, ast.Call) and dotted_name(value.func).split(".")[-1] in ("CN", "CfgNode"):
                if isinstance(target, ast.Name):
                    roots.add(target.id)
                continue  # a node, not a key
            if not isinstance(target, ast.Attribute):
                continue
            parts = dotted_name(target).split(".")
            if len(parts) < 2 or parts[0] not in roots:
                continue
            try:
                val = ast.literal_eval(value)
            except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
                out.setdefault(".".join(parts[1:]), (None, "str"))
            else:
                out.setdefault(".".join(parts[1:]), (None if val is None else str(val), _yaml_type(val)))
    return [(k, d, t) for k, (d, t) in out.items()]


# ------------------------------------------------------------------------------------------------ hydra


def hydra_config(tree: ast.Module, v: Values) -> tuple[str, str] | None:
    """(config_path, config_name) of a ``@hydra.main(...)`` function, or None."""
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for d in node.decorator_list:
            if isinstance(d, ast.Call) and dotted_name(d.func) in ("hydra.main", "main") and "hydra" in ast.unparse(d):
                kw = keywords(d)
                path = v.literal(kw.get("config_path"))
                name = v.literal(kw.get("config_name"))
                return (path if isinstance(path, str) else "", name if isinstance(name, str) else "config")
            if isinstance(d, ast.Call) and dotted_name(d.func) == "hydra.main":
                return ("", "config")
    return None


def hydra_params(
    script: str, config_path: str, config_name: str, sources: Sources, load_yaml: Callable
) -> tuple[Param, ...]:  # type: ignore[type-arg]
    """``key=value`` overrides from the hydra config file and its config groups."""
    base = posixpath.normpath(posixpath.join(posixpath.dirname(script), config_path)) if config_path else ""
    base = "" if base == "." else base
    name = config_name if config_name.endswith((".yaml", ".yml")) else f"{config_name}.yaml"
    main = posixpath.join(base, name) if base else name
    out: list[Param] = []
    groups: dict[str, list[str]] = {}
    prefix = f"{base}/" if base else ""
    for path in sources:
        if path.startswith(prefix) and path.endswith((".yaml", ".yml")) and path != main:
            rel = path[len(prefix) :]
            if "/" in rel:
                group, _, file = rel.rpartition("/")
                groups.setdefault(group.replace("/", "."), []).append(file.rsplit(".", 1)[0])
    data = load_yaml(sources[main]) if main in sources else None
    defaults: dict[str, str] = {}
    if isinstance(data, dict):
        for item in data.get("defaults") or ():
            if isinstance(item, dict):
                for k, val in item.items():
                    defaults[str(k).lstrip("/").replace("/", ".")] = str(val)
        for key, val in _leaves(data):
            if key.split(".")[0] == "defaults" or key.startswith("hydra."):
                continue
            out.append(
                Param(name=key, kind="override", type=_yaml_type(val), default=None if val is None else str(val))
            )
    for group, files in sorted(groups.items()):
        out.append(
            Param(name=group, kind="override", type="str", choices=tuple(sorted(files)), default=defaults.get(group))
        )
    seen = {p.name for p in out}
    for group, files in sorted(groups.items()):
        # the keys of the group's default file are overridable under the group (train.batch_size=8), hydra's
        # default package for a group's config
        chosen = defaults.get(group) or (files[0] if len(files) == 1 else "")
        path = f"{prefix}{group.replace('.', '/')}/{chosen}"
        text = sources.get(f"{path}.yaml") or sources.get(f"{path}.yml") if chosen else None
        data = load_yaml(text) if text else None
        for key, val in _leaves(data)[:MAX_GROUP_KEYS] if isinstance(data, dict) else ():
            name = f"{group}.{key}"
            if key.split(".")[0] != "defaults" and name not in seen:
                seen.add(name)
                out.append(Param(name=name, kind="override", type=_yaml_type(val),
                                 default=None if val is None else str(val)))  # fmt: skip
    return tuple(out)


#: Keys read from one config group's default file.
MAX_GROUP_KEYS = 200


def _leaves(data: Any, prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    if isinstance(data, dict):
        for k, val in data.items():
            key = f"{prefix}{k}"
            if str(k).startswith("_"):
                continue  # hydra's _target_ / _recursive_: a class to build, not a value a task gives
            if isinstance(val, dict) and val:
                out += _leaves(val, key + ".")
            else:
                out.append((key, val))
    return out


def _yaml_type(val: Any) -> str:
    if isinstance(val, bool):
        return "bool"
    if isinstance(val, int):
        return "int"
    if isinstance(val, float):
        return "float"
    if isinstance(val, list):
        return "list"
    return "str"


# ------------------------------------------------------------------------------------------------ imports


def imported_repo_modules(tree: ast.Module, script: str, sources: Sources, run_from: str | None = None) -> list[str]:
    """Repository files that ``tree`` (the file ``script``) imports, resolved as Python would from the script's
    folder (how a script run as ``python script.py`` sees its siblings), from the repository root, or from
    ``src/`` (an installed package of a src layout)."""
    out: list[str] = []
    here = posixpath.dirname(script)
    for node in ast.walk(tree):
        mods: list[str] = []
        if isinstance(node, ast.Import):
            mods = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.level:
                up = here
                for _ in range(node.level - 1):
                    up = posixpath.dirname(up)
                mods = [f"{up.replace('/', '.')}.{node.module}".lstrip(".")]
            else:
                mods = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level:  # from . import x
            mods = [f"{here.replace('/', '.')}.{a.name}".lstrip(".") for a in node.names]
        for m in mods:
            rel = m.replace(".", "/")
            bases: tuple[str, ...] = (here, "") if run_from is None else (here, run_from, "")
            if isinstance(node, ast.Import) or isinstance(node, ast.ImportFrom) and not node.level:
                bases += ("src",)  # a src layout: ``import pkg.mod`` finds src/pkg/mod.py, the package installed
            for base in bases:
                for cand in (f"{rel}.py", f"{rel}/__init__.py"):
                    p = posixpath.normpath(posixpath.join(base, cand)) if base else cand
                    if p in sources and p != script and p not in out:
                        out.append(p)
    return out


def borrowed_cli(
    tree: ast.Module, script: str, sources: Sources, specs: Mapping[str, CliSpec | None], depth: int = 3
) -> CliSpec | None:
    """The options of a parser built in other modules: the repository modules ``script`` imports, followed up to
    ``depth`` imports away (``from utility.batch_test import *`` whose module imports the parser), merged.

    A module that adds options to a parser it did not create (``self.parser.add_argument`` in an options class
    that extends a base class elsewhere) is read as if it built one, so class hierarchies of options
    (``TrainOptions(BaseOptions)``) give every option. First definition of a flag wins.
    """
    seen = {script}
    frontier = [(m, 1) for m in imported_repo_modules(tree, script, sources)]
    merged: list[dict[str, Any]] = []
    flags: set[str] = set()
    framework = ""
    while frontier:
        mod, level = frontier.pop(0)
        if mod in seen:
            continue
        seen.add(mod)
        text = sources.get(mod, "")
        spec = specs.get(mod)
        if spec is None and "add_argument(" in text:
            # the card reader counts options only in files that build a parser; give it one
            spec = extract_cli(text + "\nimport argparse\n_mlrag_parser = argparse.ArgumentParser()\n")
        if spec is not None:
            framework = framework or spec.framework
            for o in spec.options:
                key = tuple(o.get("flags") or ())
                if key and not (set(key) & flags):
                    flags.update(key)
                    merged.append(o)
        if level < depth and text:
            try:
                sub = ast.parse(text)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                continue
            run_from = posixpath.dirname(script)  # imports resolve from the script's folder (sys.path[0])
            frontier += [(m, level + 1) for m in imported_repo_modules(sub, mod, sources, run_from) if m not in seen]
    if not merged:
        return None
    return CliSpec(framework or "argparse", tuple(merged))


def _names_in(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def parent_modules(tree: ast.Module, script: str, sources: Sources) -> list[str]:
    """The repository modules whose parsers ``script``'s parser takes as ``parents=[...]``
    (``argparse.ArgumentParser(parents=[detection.get_args_parser()])`` with ``import main as detection``, or a
    name assigned from such a call first)."""
    used: set[str] = set()
    assigned: dict[str, ast.AST] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            assigned[node.targets[0].id] = node.value
        if isinstance(node, ast.Call) and dotted_name(node.func).split(".")[-1] == "ArgumentParser":
            used |= {n for kw in node.keywords if kw.arg == "parents" for n in _names_in(kw.value)}
    used |= {n for name in list(used) if name in assigned for n in _names_in(assigned[name])}
    if not used:
        return []
    stems: dict[str, str] = {}  # an import's local name -> the module's last dotted part
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            stems.update({(a.asname or a.name).split(".")[0]: a.name.rsplit(".", 1)[-1] for a in node.names})
        elif isinstance(node, ast.ImportFrom) and node.module:
            stems.update({a.asname or a.name: node.module.rsplit(".", 1)[-1] for a in node.names})
    wanted = {stems[n] for n in used if n in stems}
    return [m for m in imported_repo_modules(tree, script, sources)
            if posixpath.splitext(posixpath.basename(m))[0] in wanted]  # fmt: skip


def with_parents(spec: CliSpec, tree: ast.Module, script: str, sources: Sources,
                 specs: Mapping[str, CliSpec | None]) -> CliSpec:  # fmt: skip
    """``spec`` with the options of the parent parsers built in other repository modules (``parent_modules``)
    added after its own (a flag of its own wins)."""
    flags = {f for o in spec.options for f in (o.get("flags") or ())}
    extra: list[dict[str, Any]] = []
    for mod in parent_modules(tree, script, sources):
        parent = specs.get(mod)
        for o in parent.options if parent is not None else ():
            key = tuple(o.get("flags") or ())
            if key and not set(key) & flags:
                flags.update(key)
                extra.append(o)
    return replace(spec, options=(*spec.options, *extra)) if extra else spec


def with_helpers(spec: CliSpec, tree: ast.Module, script: str, sources: Sources) -> CliSpec:
    """``spec`` with the options that functions of other repository modules add to the script's parser
    (``from fastchat.model.model_adapter import add_model_args``, then ``add_model_args(parser)``), added after
    its own (a flag of its own wins). Only functions called with a bare name and that call ``add_argument``."""
    imported: dict[str, list[str]] = {}  # name -> the repository modules it may come from
    modules = imported_repo_modules(tree, script, sources)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            rel = node.module.replace(".", "/")
            homes = [m for m in modules if m.endswith((f"{rel}.py", f"{rel}/__init__.py"))]
            for a in node.names:
                imported.setdefault(a.asname or a.name, []).extend(homes)
    called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
              and n.func.id in imported and n.args and isinstance(n.args[0], ast.Name)}  # fmt: skip
    flags = {f for o in spec.options for f in (o.get("flags") or ())}
    extra: list[dict[str, Any]] = []
    for name in sorted(called):
        for mod in imported[name]:
            text = sources.get(mod, "")
            if f"def {name}(" not in text or "add_argument(" not in text:
                continue
            try:
                fn = next(n for n in ast.parse(text).body if isinstance(n, ast.FunctionDef) and n.name == name)
            except (StopIteration, SyntaxError, ValueError, RecursionError, MemoryError):
                continue
            body = ast.get_source_segment(text, fn) or ""
            helper = extract_cli("import argparse\n_mlrag_parser = argparse.ArgumentParser()\n" + body)
            for o in helper.options if helper is not None else ():
                key = tuple(o.get("flags") or ())
                if key and not set(key) & flags:
                    flags.update(key)
                    extra.append(o)
            break
    return replace(spec, options=(*spec.options, *extra)) if extra else spec


# ------------------------------------------------------------------------------------ options from a dict


def _loops_over_dict(fn: ast.FunctionDef | ast.AsyncFunctionDef | ast.Module) -> set[str]:
    """Names of the dicts whose keys ``fn`` turns into options: ``for k, v in d.items(): p.add_argument(f"--{k}")``
    (also ``for k in d``)."""
    out: set[str] = set()
    for loop in ast.walk(fn):
        if not isinstance(loop, ast.For):
            continue
        it = loop.iter
        if isinstance(it, ast.Call) and isinstance(it.func, ast.Attribute) and it.func.attr in ("items", "keys"):
            it = it.func.value
        if not isinstance(it, ast.Name):
            continue
        target = loop.target.elts[0] if isinstance(loop.target, ast.Tuple) and loop.target.elts else loop.target
        if not isinstance(target, ast.Name):
            continue
        for call in ast.walk(loop):
            if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                    and call.func.attr == "add_argument" and call.args
                    and isinstance(call.args[0], ast.JoinedStr) and _flag_of(call.args[0], target.id)):  # fmt: skip
                out.add(it.id)
    return out


def _flag_of(js: ast.JoinedStr, name: str) -> bool:
    """Whether ``f"--{name}"`` (the f-string ``js``) is a flag made of the loop variable ``name``."""
    parts = js.values
    return (len(parts) == 2 and isinstance(parts[0], ast.Constant) and parts[0].value in ("-", "--")
            and isinstance(parts[1], ast.FormattedValue) and isinstance(parts[1].value, ast.Name)
            and parts[1].value.id == name)  # fmt: skip


class _DictKeys:
    """The literal keys (and default values) of a dict expression, followed through names assigned and updated in
    the same function, ``dict(...)``/``{...}`` literals, ``**`` unpacking and calls of functions that return such
    dicts (in ``defs``: the script's and its imported repository modules' top-level functions)."""

    def __init__(self, defs: Mapping[str, ast.FunctionDef | ast.AsyncFunctionDef]) -> None:
        self.defs = defs

    def keys(self, node: ast.expr, scope: ast.AST, depth: int = 0) -> dict[str, ast.expr]:
        if depth > 6:
            return {}
        out: dict[str, ast.expr] = {}
        if isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values):
                if k is None:
                    out.update(self.keys(v, scope, depth + 1))
                elif isinstance(k, ast.Constant) and isinstance(k.value, str):
                    out[k.value] = v
        elif isinstance(node, ast.Call):
            name = dotted_name(node.func).split(".")[-1]
            if name == "dict":
                for a in node.args:
                    out.update(self.keys(a, scope, depth + 1))
                for kw in node.keywords:
                    if kw.arg is None:
                        out.update(self.keys(kw.value, scope, depth + 1))
                    else:
                        out[kw.arg] = kw.value
            elif name in self.defs:
                fn = self.defs[name]
                for r in ast.walk(fn):
                    if isinstance(r, ast.Return) and r.value is not None:
                        out.update(self.keys(r.value, fn, depth + 1))
        elif isinstance(node, ast.Name):
            for st in ast.walk(scope):
                if (isinstance(st, ast.Assign) and len(st.targets) == 1 and isinstance(st.targets[0], ast.Name)
                        and st.targets[0].id == node.id and st.value is not node):  # fmt: skip
                    out.update(self.keys(st.value, scope, depth + 1))
                elif (isinstance(st, ast.Call) and isinstance(st.func, ast.Attribute) and st.func.attr == "update"
                        and isinstance(st.func.value, ast.Name) and st.func.value.id == node.id):  # fmt: skip
                    for a in st.args:
                        out.update(self.keys(a, scope, depth + 1))
                    out.update({kw.arg: kw.value for kw in st.keywords if kw.arg})
        return out


def dict_options(tree: ast.Module, script: str, sources: Sources,
                 trees: Mapping[str, ast.Module]) -> tuple[dict[str, Any], ...]:  # fmt: skip
    """Options a script adds in a loop over a dict of defaults, in the script or in a helper of an imported
    repository module (``add_dict_to_argparser(parser, defaults)``); ``()`` when it adds none this way."""
    modules = [tree, *(trees[m] for m in imported_repo_modules(tree, script, sources) if m in trees)]
    defs: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
    helpers: dict[str, int] = {}  # a function that loops over its parameter's keys -> that parameter's index
    for mod in reversed(modules):  # the script's own definitions win
        for fn in mod.body:
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                defs[fn.name] = fn
                params = [a.arg for a in fn.args.args]
                for d in _loops_over_dict(fn):
                    if d in params:
                        helpers[fn.name] = params.index(d)
    found: list[tuple[ast.expr, ast.AST]] = []  # (dict expression, the scope it is read in)
    scopes = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))] + [tree]
    for scope in scopes:
        body = scope.body if isinstance(scope, ast.Module) else [scope]
        for node in (n for b in body for n in ast.walk(b)):
            if isinstance(node, ast.Call) and (h := dotted_name(node.func).split(".")[-1]) in helpers:
                if len(node.args) > helpers[h]:
                    found.append((node.args[helpers[h]], scope))
        if not isinstance(scope, ast.Module):
            found += [(ast.Name(id=d, ctx=ast.Load()), scope) for d in _loops_over_dict(scope)]
    if not found:
        return ()
    reader = _DictKeys(defs)
    v = Values(tree)
    out: dict[str, dict[str, Any]] = {}
    for expr, where in found:
        for key, val in reader.keys(expr, where).items():
            if key in out or not key.isidentifier():
                continue
            lit = v.literal(val)
            type_ = ("str2bool" if isinstance(lit, bool) else type(lit).__name__
                     if isinstance(lit, (int, float, str)) else "str")  # fmt: skip
            out[key] = option([f"--{key}"], type_=type_, default=None if lit is NOT_LITERAL else
                              (None if lit is None else str(lit)))  # fmt: skip
    return tuple(out.values())


def read_cli(source: str, tree: ast.Module) -> CliSpec | None:
    return extract_cli(source, tree)


__all__ = [
    "absl_params",
    "argv_params",
    "borrowed_cli",
    "class_defs",
    "dataclass_params",
    "dict_options",
    "hf_dataclass_names",
    "tyro_dataclass_names",
    "tyro_params",
    "hydra_config",
    "hydra_params",
    "yacs_keys",
    "has_main_block",
    "imported_repo_modules",
    "params_from_options",
    "read_cli",
    "runs_as_main",
    "str_args",
]
