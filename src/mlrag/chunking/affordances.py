"""Affordance units: each runnable entry of the affordance catalog as one compact, derived text unit.

The catalog (``mlrag.catalog``) knows every way to run a repository with its parameters, read further than the
argument cards (parsers borrowed from imported modules, absl flags, HfArgumentParser dataclasses, shell inputs,
make variables). An affordance unit states how to run one entry and lists every parameter on one line each::

    Entry point: cd examples/arma && python citation.py [options]  (examples/arma/citation.py:9-31, argparse)
    Train ARMA on the citation datasets.
    Options:
      --dataset STR  default: Cora  choices: Cora, Citeseer, Pubmed  Name of dataset.
      --lr FLOAT  default: 0.01  Learning rate.
    Run in: examples/arma/README.md:14

Design choices:

* **Pure**: a function of the catalog entry alone (no I/O); the unit is ``kind == "card"`` (a derived
  command-line interface, like the argument cards), ``derived=True``, placed at the entry's definition
  (``path``, ``start_line``..``end_line``), so ``Chunk.location`` is its provenance.
* **Exact**: ``meta["params"]`` holds the catalog's parameter names in catalog order, and the text names every
  one of them (help texts are shortened to ``HELP_CHARS``, never the names). ``meta["invoked_by"]`` is the
  entry's ``invoked_by`` (``path:line`` of the README/shell lines that run it), ``meta["affordance"]`` its id.
* **Compact for a prompt**: ``compact_text`` renders the same entry within a character limit for the context:
  the options the task mentions keep their full line, the rest are listed by name only, so a long interface
  (vid2vid's ~150 options) still shows every name without eating the budget.

Only runnable kinds become units (``RUNNABLE_KINDS``); the Python API and registries are not commands.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..types import Chunk

if TYPE_CHECKING:
    from ..catalog.base import Affordance, Param

#: Catalog kinds that are run from a shell (the ones a command-writing task needs the options of).
RUNNABLE_KINDS = ("python-script", "shell-script", "make-target", "console-script", "python-module")
HELP_CHARS = 100  # a parameter's help text is shortened to this many characters in a unit
UNIT_KIND = "card"


def param_head(p: "Param") -> str:
    """How a parameter is written: ``--lr, -l FLOAT``, ``dataset (positional)``, ``EPOCHS=… (env)``."""
    if p.kind == "option":
        head = ", ".join(p.spellings)
        if p.is_flag:
            return head + " (flag)"
        return head + (f" {p.type.upper()}" if p.type and len(p.type) <= 12 else "")
    if p.kind == "positional":
        return f"{p.name} (positional{', ' + p.type if p.type and len(p.type) <= 12 else ''})"
    if p.kind in ("env", "make-var", "override"):
        return f"{p.name}=… ({p.kind})"
    return f"{p.name}= ({p.kind})"


def param_line(p: "Param", help_chars: int = HELP_CHARS) -> str:
    """One parameter on one line: head, then nargs, default, choices, required and a shortened help."""
    parts = [param_head(p)]
    if p.nargs:
        parts.append(f"nargs: {p.nargs}")
    if p.default is not None and not p.is_flag:
        parts.append(f"default: {_short(p.default, 40)}")
    if p.choices:
        parts.append("choices: " + _short(", ".join(p.choices), 120))
    if p.required and p.kind != "positional":
        parts.append("required")
    if p.help:
        parts.append(_short(p.help, help_chars))
    return "  " + "  ".join(parts)


def _short(text: str, limit: int) -> str:
    one = " ".join(str(text).split())
    return one if len(one) <= limit else one[: limit - 1].rstrip() + "…"


def _header(a: "Affordance") -> list[str]:
    cd = f"cd {a.workdir} && " if a.workdir else ""
    run = a.run or a.name
    tail = " [options]" if any(p.kind == "option" for p in a.params) else ""
    how = f" {a.framework}" if a.framework else ""
    lines = [f"Entry point: {cd}{run}{tail}  ({a.location},{how or ' ' + a.kind})"]
    if a.summary:
        lines.append(_short(a.summary, 200))
    return lines


def _footer(a: "Affordance") -> list[str]:
    return ["Run in: " + ", ".join(a.invoked_by)] if a.invoked_by else []


#: Config keys a unit names (a yacs config holds hundreds; the catalog keeps them all).
UNIT_CONFIG_KEYS = 40


def unit_text(a: "Affordance") -> str:
    """The unit's text: header, one line per parameter (catalog order), the lines that run it; config keys by
    name only, the first ``UNIT_CONFIG_KEYS``."""
    own = [p for p in a.params if p.kind != "config-key"]
    keys = [p.name for p in a.params if p.kind == "config-key"]
    body = ["Options:", *(param_line(p) for p in own)] if own else []
    if keys:
        flag = next(p.dest for p in a.params if p.kind == "config-key")
        more = f" and {len(keys) - UNIT_CONFIG_KEYS} more" if len(keys) > UNIT_CONFIG_KEYS else ""
        body.append(f"Config keys ({flag + ' ' if flag else ''}KEY VALUE ...): "
                    + ", ".join(keys[:UNIT_CONFIG_KEYS]) + more)  # fmt: skip
    return "\n".join([*_header(a), *body, *_footer(a)]) + "\n"


def compact_text(a: "Affordance", limit: int, wanted: Iterable[str] = ()) -> str:
    """``unit_text`` when it fits ``limit`` characters; else the header, the full lines of the parameters in
    ``wanted`` (spellings or dests the task mentions), then every other parameter by name only."""
    full = unit_text(a)
    if len(full) <= limit:
        return full
    want = set(wanted)
    named = [p for p in a.params if want & {*p.spellings, p.dest} and p.kind != "config-key"]
    rest = [p.name for p in a.params if p not in named and p.kind != "config-key"]
    lines = [*_header(a)]
    if named:
        lines += ["Options (matching the task):", *(param_line(p) for p in named)]
    if rest:
        lines += [("Other options: " if named else "Options: ") + ", ".join(rest)]
    lines += _footer(a)
    return "\n".join(lines) + "\n"


def affordance_unit(a: "Affordance") -> Chunk:
    """The unit of one catalog entry (see the module docstring for its fields).

    Example:
        >>> from mlrag.catalog import Affordance, Param
        >>> a = Affordance("python-script:train.py", "python-script", "train.py", "train.py", 3, 9,
        ...                run="python train.py", params=(Param("--lr", type="float", default="0.1"),))
        >>> affordance_unit(a).text.splitlines()[2]
        '  --lr FLOAT  default: 0.1'
    """
    meta = {
        "affordance": a.id,
        "affordance_kind": a.kind,
        "run": a.run,
        "workdir": a.workdir,
        "params": [p.name for p in a.params],
        "invoked_by": list(a.invoked_by),
    }
    return Chunk.make(
        unit_text(a), a.path, a.start_line, a.end_line, UNIT_KIND, title=a.run or a.name, derived=True, meta=meta
    )


def affordance_units(entries: Iterable["Affordance"]) -> tuple[Chunk, ...]:
    """One unit per runnable catalog entry, in catalog order (``Catalog`` iterates its entries)."""
    return tuple(affordance_unit(a) for a in entries if a.kind in RUNNABLE_KINDS)
