"""Shell scripts and Makefiles as affordances, read with small line-level patterns.

Why by hand: no maintained Python library parses bash or make into what a caller may pass in (bashlex parses
syntax but not ``${1:-x}`` defaults or ``getopts`` specs, and is not kept up). What is read:

* shell: positional inputs ``$1``..``$9`` / ``${1}`` / ``${1:-default}`` (named by the variable they are assigned
  to, ``DATASET=${1:-cora}`` -> ``dataset``), ``getopts "d:e:v"`` options (``-d VALUE``, ``-v`` a flag), named
  inputs ``VAR=${VAR:-x}`` / ``: ${VAR:=x}`` (passed as ``VAR=value bash run.sh``), and the scripts it runs;
* make: targets (not pattern rules, not ``.SPECIAL``), their recipe's first line as a summary, and the variables
  a target's recipe reads that are given a default (``EPOCHS ?= 10``, ``EPOCHS = 10``) -> ``make train EPOCHS=20``.
"""

from __future__ import annotations

import re

from .base import Affordance, Param

_POS = re.compile(r"\$\{?([1-9])(?::?[-=]([^}]*))?\}?")
_ASSIGN_POS = re.compile(
    r"^\s*(?:export\s+|local\s+|readonly\s+)?([A-Za-z_]\w*)=[\"']?\$\{?([1-9])(?::?[-=]([^}\"']*))?\}?[\"']?\s*(?:#.*)?$"
)
_NAMED = re.compile(
    r"^\s*(?:export\s+)?([A-Za-z_]\w*)=[\"']?\$\{\1:?[-=]([^}]*)\}[\"']?\s*(?:#.*)?$|^\s*:\s+[\"']?\$\{([A-Za-z_]\w*):?=([^}]*)\}"
)
_GETOPTS = re.compile(r"\bgetopts\s+[\"']?:?([A-Za-z:]+)[\"']?")
_CASE_ARM = re.compile(r"^\s*([A-Za-z])\)\s*([A-Za-z_]\w*)=")
_COMMENT_HELP = re.compile(r"^\s*#\s*(?:usage|Usage|USAGE)\s*:?\s*(.*)$")


def shell_affordance(path: str, text: str) -> Affordance:
    """The inputs of one shell script (see the module docstring)."""
    lines = text.splitlines()
    positional: dict[int, Param] = {}
    named: dict[str, Param] = {}
    options: list[Param] = []
    usage = ""
    for line in lines:
        m = _COMMENT_HELP.match(line)
        if m and not usage:
            usage = m.group(1).strip()
        code = line.split("#", 1)[0] if not line.lstrip().startswith("#!") else ""
        if not code.strip():
            continue
        a = _ASSIGN_POS.match(code)
        if a:
            n = int(a.group(2))
            if n not in positional or not positional[n].dest:
                positional[n] = Param(
                    name=a.group(1).lower(),
                    kind="positional",
                    default=(a.group(3) or None) if a.group(3) is not None else None,
                    required=a.group(3) is None,
                    position=n - 1,
                    dest=a.group(1),
                    type=_guess(a.group(3)),
                )
            continue
        nm = _NAMED.match(code)
        if nm:
            var, default = (nm.group(1), nm.group(2)) if nm.group(1) else (nm.group(3), nm.group(4))
            named.setdefault(var, Param(name=var, kind="env", default=default or None, type=_guess(default), dest=var))
            continue
        for m in _POS.finditer(code):
            n = int(m.group(1))
            if n not in positional:
                positional[n] = Param(
                    name=f"arg{n}",
                    kind="positional",
                    default=m.group(2),
                    required=m.group(2) is None,
                    position=n - 1,
                    type=_guess(m.group(2)),
                )
        g = _GETOPTS.search(code)
        if g:
            spec = g.group(1)
            dests = _getopts_dests(lines)
            for i, ch in enumerate(spec):
                if ch == ":":
                    continue
                takes = i + 1 < len(spec) and spec[i + 1] == ":"
                options.append(
                    Param(
                        name=f"-{ch}",
                        type="str" if takes else "bool",
                        action=None if takes else "store_true",
                        dest=dests.get(ch, ""),
                        help=dests.get(ch, "").lower(),
                    )
                )
    pos = [positional[k] for k in sorted(positional)]
    # a positional without a default before one with a default is still required; later ones keep theirs
    params = tuple(options) + tuple(pos) + tuple(named.values())
    return Affordance(
        id=f"shell-script:{path}",
        kind="shell-script",
        name=path.rsplit("/", 1)[-1],
        path=path,
        start_line=1,
        end_line=max(1, len(lines)),
        run=f"bash {path}",
        framework="shell",
        params=params,
        summary=usage,
    )


def _getopts_dests(lines: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in lines:
        m = _CASE_ARM.match(line)
        if m:
            out.setdefault(m.group(1), m.group(2))
    return out


def _guess(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if re.fullmatch(r"-?\d+", value):
        return "int"
    if re.fullmatch(r"-?\d*\.\d+(?:e-?\d+)?|-?\d+e-?\d+", value):
        return "float"
    if value.lower() in ("true", "false"):
        return "bool"
    return "str"


_TARGET = re.compile(r"^([A-Za-z0-9][\w.-]*(?:\s+[A-Za-z0-9][\w.-]*)*)\s*:(?!=)(.*)$")
_VAR = re.compile(r"^\s*(?:override\s+|export\s+)?([A-Za-z_]\w*)\s*(\?=|:=|::=|=|\+=)\s*(.*?)\s*(?:#.*)?$")
_REF = re.compile(r"\$[({]([A-Za-z_]\w*)[)}]")


def make_affordances(path: str, text: str) -> list[Affordance]:
    """One affordance per explicit target of a Makefile, with the variables its recipe reads."""
    folder = path.rsplit("/", 1)[0] if "/" in path else ""
    lines = text.splitlines()
    variables: dict[str, str] = {}
    targets: list[tuple[str, int, list[str], str]] = []  # (name, line, recipe lines, doc)
    current: list[tuple[str, int, list[str], str]] = []
    last_comment = ""
    for i, line in enumerate(lines, 1):
        if line.startswith("\t"):
            for t in current:
                t[2].append(line.strip())
            continue
        if line.lstrip().startswith("#"):
            last_comment = line.lstrip("# ").strip()
            continue
        v = _VAR.match(line)
        if v:
            variables.setdefault(v.group(1), v.group(3))
            current = []
            continue
        m = _TARGET.match(line)
        if m and "%" not in m.group(1):
            doc = m.group(2).split("##", 1)[1].strip() if "##" in m.group(2) else last_comment
            current = [(name, i, [], doc) for name in m.group(1).split() if not name.startswith(".")]
            targets += current
        elif line.strip():
            current = []
        last_comment = ""
    out: list[Affordance] = []
    seen: set[str] = set()
    for name, line_no, recipe, doc in targets:
        if name in seen:
            continue
        seen.add(name)
        reads = list(dict.fromkeys(r for rl in recipe for r in _REF.findall(rl) if r in variables))
        params = tuple(
            Param(name=r, kind="make-var", default=variables[r] or None, type=_guess(variables[r]), dest=r)
            for r in reads
        )
        out.append(
            Affordance(
                id=f"make-target:{path}:{name}",
                kind="make-target",
                name=name,
                path=path,
                start_line=line_no,
                end_line=line_no + len(recipe),
                run=f"make {name}",
                workdir=folder,
                framework="make",
                subcommand=name,
                params=params,
                summary=doc or (recipe[0] if recipe else ""),
            )
        )
    return out
