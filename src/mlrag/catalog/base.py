"""The affordance catalog's data types: every way to run a repository, each with its parameters and provenance.

An ``Affordance`` is one thing a user can run or call: a Python script's command line (or one of its
subcommands), a shell script, a Makefile target, a console entry point, ``python -m package.module``, a public
Python function or class, or a name registry (``MODELS = {...}``, ``@register("x")``) whose names other calls
accept. Its ``params`` are what can be given to it: options, positionals, environment/make variables, config
overrides (``key=value``) or keyword arguments. Everything is read statically; nothing is imported or run.

The catalog is a plain-JSON file in the index folder (``affordances.json``) with its own ``version``; a file of
another version is rebuilt, never half-read.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

#: Bumped whenever the extractors or the file layout change what a catalog holds.
#: 6: exec-configured scripts, byte-order marks, blockquoted examples; 7: parents from other modules;
#: 8: the documented commands of each script (``usage``); 9: bracketed placeholders with spaces kept whole,
#: modules that only build a parser for the scripts that import them are no entries; 14: a ``cd`` earlier in a
#: README code block places the script that block runs; 15: ``python -m pkg.mod`` lines are the usage of
#: ``pkg/mod.py``, which then runs so (as a package's ``__main__.py`` always does); 16: yacs config keys
#: (``config-key`` parameters) for scripts that take ``opts``; 17: options a function of another module adds
#: to a script's parser (``add_model_args(parser)``); 18: Python 2 scripts, ``<placeholder>`` arguments, the names of a
#: table an option indexes as its choices, ``./x.py`` runs, options a ``parse_known_args`` script takes from its
#: documented commands and config file, values a script compares an option with, docstring help of API and
#: fire/jsonargparse parameters, top-level scripts that ``parse()`` an options class; 19: placeholder names of
#: examples (``compute_fid(fdir1)``) as slots, ``python -m pkg`` of a src layout, a ``__main__.py`` running another
#: module's ``main()`` takes its options; 20: hydra group keys, console-script usage, fire's dashed spellings,
#: choices imported from other modules, packages the docs import, names a public function compares its first
#: parameter with (a registry); 21: tyro dataclasses (``tyro.cli(Args)``), field docstrings as help.
CATALOG_VERSION = 21

#: Affordance kinds, in the order a command-writing task prefers them.
AFFORDANCE_KINDS = (
    "python-script",  # python path/to/script.py [subcommand] [options]
    "shell-script",  # bash path/to/run.sh positional... (VAR=x inputs)
    "make-target",  # make target VAR=value
    "console-script",  # an entry point declared in setup.cfg / pyproject.toml / setup.py
    "python-module",  # python -m package.module (a package's __main__.py or a module run as main)
    "python-api",  # a public function or class of the repository's package, called from Python
    "python-example",  # a Python usage example of the documentation (README code block), adapted to a task
    "registry",  # a table of names (models, datasets) that other calls look up
    "config-files",  # a folder of config files (configs/flower.txt) that options such as --config take
)

#: Parameter kinds: how a value reaches the affordance.
PARAM_KINDS = (
    "option",  # --flag value / --flag
    "positional",  # the n-th bare argument
    "env",  # VAR=value before the command (shell scripts reading ${VAR:-x})
    "make-var",  # make target VAR=value
    "override",  # key=value (hydra / OmegaConf dotlist)
    "config-key",  # KEY VALUE after the options, or after the flag in ``dest`` (yacs: --opts MODEL.WEIGHTS x)
    "kwarg",  # keyword argument of a Python call
    "literal",  # a value written in an example's code (a string, a called name, a shape) that a task may replace
)


#: ``nargs`` of a parameter that takes the rest of the command line (yacs ``opts``, ``argparse.REMAINDER``).
REMAINDER_NARGS = frozenset({"argparse.REMAINDER", "REMAINDER", "..."})


@dataclass(frozen=True)
class Param:
    """One parameter of an affordance.

    ``name`` is what the user writes: ``--num-stacks`` for an option (its first long flag), ``dataset`` for a
    positional (its dest), ``EPOCHS`` for a variable, ``trainer.max_epochs`` for an override, ``lr`` for a
    keyword argument. ``aliases`` are the other spellings (``-n``). A flag (``action`` ``store_true`` /
    ``store_false`` / ``count``) takes no value.
    """

    name: str
    kind: str = "option"
    aliases: tuple[str, ...] = ()
    type: str | None = None  # int | float | bool | str | path | list | the source text of a callable
    choices: tuple[str, ...] | None = None
    default: str | None = None
    required: bool = False
    help: str = ""
    nargs: str | None = None  # argparse nargs: ?, *, +, N
    action: str | None = None  # store_true | store_false | count | append | ...
    position: int | None = None  # 0-based, for positionals
    dest: str = ""  # the attribute name (argparse dest, function parameter)

    @property
    def is_flag(self) -> bool:
        """True when the parameter takes no value (``--verbose``)."""
        return self.action in ("store_true", "store_false", "count", "store_const")

    @property
    def takes_bool(self) -> bool:
        """True when the option takes a True/False value (click ``type=bool``, argparse ``type=str2bool``), not a
        flag."""
        return not self.is_flag and self.kind != "positional" and "bool" in (self.type or "").lower()

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["aliases"] = list(self.aliases)
        d["choices"] = list(self.choices) if self.choices is not None else None
        def kept(k: str, v: Any) -> bool:  # drop empty fields (0 is a value: position 0)
            return k in ("name", "kind") or not (v is None or v is False or v == "" or v == [])

        return {k: v for k, v in d.items() if kept(k, v)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Param":
        return cls(
            name=str(d["name"]),
            kind=str(d.get("kind", "option")),
            aliases=tuple(d.get("aliases", ())),
            type=d.get("type"),
            choices=tuple(d["choices"]) if d.get("choices") is not None else None,
            default=d.get("default"),
            required=bool(d.get("required", False)),
            help=str(d.get("help", "")),
            nargs=d.get("nargs"),
            action=d.get("action"),
            position=d.get("position"),
            dest=str(d.get("dest", "")),
        )


@dataclass(frozen=True)
class Affordance:
    """One way to run or call the repository.

    Attributes:
        id: stable and unique in the catalog: ``<kind>:<path>[:<subcommand or symbol>]``.
        kind: one of ``AFFORDANCE_KINDS``.
        name: short display name (``citation.py``, ``train``, ``graphlab.load_model``).
        path: repo-relative file the affordance is defined in (provenance), with ``start_line``..``end_line``.
        run: how to invoke it from ``workdir`` (``python citation.py``, ``bash scripts/run.sh``, ``make train``,
            ``python -m pkg.cli``); for ``python-api`` the import line (``from pkg.models import build``); for
            ``python-example`` the example's whole code.
        workdir: repo-relative folder the README runs it from ("" = the root).
        framework: how its parameters were read (argparse, click, typer, fire, absl, hf-dataclass, tyro, hydra,
            shell, make, entry-point, signature, registry).
        subcommand: the subcommand this entry stands for ("" = the main command).
        params: what can be given to it.
        summary: the description or docstring's first line.
        signature: a Python signature (``build(name, pretrained=False)``), for ``python-api``.
        values: the registered names, for ``registry`` entries; the repo-relative files, for ``config-files``.
        invoked_by: ``path:start-end`` of README/shell lines that run it.
        usage: the documented commands that run it (README and shell lines, continuations joined), in file
            order, as written: what a task's command is best written from (``generation.templates``).
    """

    id: str
    kind: str
    name: str
    path: str
    start_line: int = 1
    end_line: int = 1
    run: str = ""
    workdir: str = ""
    framework: str = ""
    subcommand: str = ""
    params: tuple[Param, ...] = ()
    summary: str = ""
    signature: str = ""
    values: tuple[str, ...] = ()
    invoked_by: tuple[str, ...] = ()
    usage: tuple[str, ...] = ()

    @property
    def location(self) -> str:
        return f"{self.path}:{self.start_line}-{self.end_line}"

    def param(self, spelling: str) -> Param | None:
        """The parameter written as ``spelling`` (any alias; ``--x=`` forms stripped), or None."""
        want = spelling.split("=", 1)[0] if spelling.startswith("-") else spelling
        for p in self.params:
            if want in p.spellings or (p.kind != "option" and want == p.dest and want):
                return p
        return None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "name": self.name,
            "path": self.path,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "run": self.run,
            "workdir": self.workdir,
            "framework": self.framework,
            "subcommand": self.subcommand,
            "params": [p.to_dict() for p in self.params],
            "summary": self.summary,
            "signature": self.signature,
            "values": list(self.values),
            "invoked_by": list(self.invoked_by),
            "usage": list(self.usage),
        }
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Affordance":
        return cls(
            id=str(d["id"]),
            kind=str(d["kind"]),
            name=str(d.get("name", "")),
            path=str(d.get("path", "")),
            start_line=int(d.get("start_line", 1)),
            end_line=int(d.get("end_line", 1)),
            run=str(d.get("run", "")),
            workdir=str(d.get("workdir", "")),
            framework=str(d.get("framework", "")),
            subcommand=str(d.get("subcommand", "")),
            params=tuple(Param.from_dict(p) for p in d.get("params", ())),
            summary=str(d.get("summary", "")),
            signature=str(d.get("signature", "")),
            values=tuple(d.get("values", ())),
            invoked_by=tuple(d.get("invoked_by", ())),
            usage=tuple(d.get("usage", ())),
        )


@dataclass(frozen=True)
class Catalog:
    """Every affordance of one repository, in kind order then path order."""

    entries: tuple[Affordance, ...] = ()
    version: int = CATALOG_VERSION
    skipped: tuple[str, ...] = field(default=(), compare=False)  # "path: reason" for files that could not be read

    def __iter__(self) -> Iterator[Affordance]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, affordance_id: str) -> Affordance | None:
        return next((a for a in self.entries if a.id == affordance_id), None)

    def of_kind(self, *kinds: str) -> tuple[Affordance, ...]:
        return tuple(a for a in self.entries if a.kind in kinds)

    def by_path(self, path: str) -> tuple[Affordance, ...]:
        return tuple(a for a in self.entries if a.path == path)

    @property
    def registries(self) -> tuple[Affordance, ...]:
        return self.of_kind("registry")

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "entries": [a.to_dict() for a in self.entries],
            "skipped": list(self.skipped),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Catalog":
        return cls(
            entries=tuple(Affordance.from_dict(a) for a in d.get("entries", ())),
            version=int(d.get("version", 0)),
            skipped=tuple(d.get("skipped", ())),
        )


def write_catalog(path: Path, catalog: Catalog) -> None:
    """Write ``catalog`` to ``path`` atomically (a temporary file beside it, then ``os.replace``)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(catalog.to_dict(), indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def read_catalog(path: Path) -> Catalog | None:
    """The catalog at ``path``, or None when it is missing, unreadable or of another ``CATALOG_VERSION``."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("version") != CATALOG_VERSION:
        return None
    try:
        return Catalog.from_dict(data)
    except (KeyError, TypeError, ValueError):
        return None


def sort_entries(entries: Sequence[Affordance]) -> tuple[Affordance, ...]:
    """Kind order, then path, line and id; duplicates (same id) dropped, the first kept."""
    rank = {k: i for i, k in enumerate(AFFORDANCE_KINDS)}
    seen: dict[str, Affordance] = {}
    for a in sorted(entries, key=lambda a: (rank.get(a.kind, 99), a.path, a.start_line, a.id)):
        seen.setdefault(a.id, a)
    return tuple(seen.values())
