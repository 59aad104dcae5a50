"""Grounding: check generated code against the repository (its files and its scripts' argument cards).

ML-Bench found that models fail mostly by inventing arguments and by running scripts that do not exist, so the
checks are about exactly that. For bash, command lines are read with ``mlrag.commands`` (``split_commands``:
``&&``, ``;``, ``|`` and new lines separate commands; ``invocation``: ``VAR=value`` and ``nohup``-like prefixes
skipped, launchers' own options skipped); ``cd dir`` moves the working folder, and every script run (``python
x.py``, ``python -m pkg.mod``, ``torchrun … x.py``, ``bash x.sh``, ``./x.sh``) gives:

* ``script-exists``: the script (or module) is a repository file, relative to the working folder;
* ``flag-exists``: every ``-x``/``--flag`` passed to it is an option of its card (exact, argparse's unique
  prefix, ``-``/``_`` spelled either way for fire, ``--no-x`` for click/typer booleans); a failure names the
  nearest real flags;
* ``choice-valid``: a value given to an option with ``choices`` is one of them;
* ``required-given``: every required (non-positional) option is passed;
* ``file-exists``: a config-like argument (``.yaml``, ``.json``, ``.py`` …) that points into a folder of the
  repository names a file there (relative to the working folder or the root); paths into folders the repository
  lacks are downloads or user data and are not checked;
* ``runs-script``: a bash answer runs some script at all (ML-Bench's output-type rule).

For Python: ``python-syntax`` (it parses) and ``module-exists`` (``import a.b`` / ``from a.b import c`` resolve
to repository files when ``a`` is a top-level package of the repository; third-party imports are not checked).

Scripts without a card have only ``script-exists``. When ``workdir`` is "" (unknown) and a script is not found
at the root, a card whose script path ends with the given path stands in (its ``workdir`` is where it runs).
"""

from __future__ import annotations

import ast
import difflib
import logging
import posixpath
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from ..commands import SCRIPT_EXTS, invocation, runs_script, split_commands
from ..types import Check, Chunk
from .extract import parse_python

__all__ = ["cards_for", "ground", "ground_bash", "ground_python", "split_commands"]

log = logging.getLogger(__name__)

_FILE_EXTS = (".yaml", ".yml", ".json", ".cfg", ".toml", ".ini", ".py", ".sh")
_NO_VALUE_ACTIONS = {"store_true", "store_false", "store_const", "count", "help", "version", "append_const"}
_NUMBER = re.compile(r"^-\d|^-\.\d")


def _norm(*parts: str) -> str:
    """Join repository-relative path parts and normalise them ("" for the root)."""
    kept = [p for p in parts if p]
    if not kept:
        return ""
    path = posixpath.normpath(posixpath.join(*kept))
    return "" if path == "." else path


def _module_files(module: str, cwd: str) -> list[str]:
    rel = module.replace(".", "/")
    return [_norm(cwd, rel + ".py"), _norm(cwd, rel, "__init__.py"), _norm(cwd, rel, "__main__.py")]


def _cards_by_script(cards: Sequence[Chunk]) -> dict[str, Chunk]:
    out: dict[str, Chunk] = {}
    for card in cards:
        script = str(card.meta.get("script") or card.path)
        out.setdefault(_norm(script), card)
    return out


def _options(card: Chunk, args: list[str]) -> list[Mapping[str, Any]]:
    opts = list(card.meta.get("options") or [])
    subs: Mapping[str, Any] = card.meta.get("subcommands") or {}
    for a in args:
        if not a.startswith("-"):
            opts += list(subs.get(a, []))
            break
    return [o for o in opts if isinstance(o, Mapping)]


def _takes_value(opt: Mapping[str, Any]) -> bool:
    return (
        opt.get("action") not in _NO_VALUE_ACTIONS
        and opt.get("nargs") not in (0, "0")
        and not (
            opt.get("type") in ("bool", "flag") and opt.get("action") is None and opt.get("default") in (False, "False")
        )
    )


def _find_flag(name: str, opts: list[Mapping[str, Any]], framework: str) -> tuple[Mapping[str, Any] | None, str]:
    """The option for ``name`` and a note on how it matched ("" exact)."""
    table = {f: o for o in opts for f in (o.get("flags") or []) if str(f).startswith("-")}
    if name in table:
        return table[name], ""
    canon = {f.replace("_", "-"): o for f, o in table.items()}
    if framework in ("fire", "typer", "click") and name.replace("_", "-") in canon:
        return canon[name.replace("_", "-")], ""
    if framework in ("click", "typer", "fire") and name.startswith("--no-"):
        plain = "--" + name[5:]
        if plain in table or plain.replace("_", "-") in canon:
            return table.get(plain) or canon[plain.replace("_", "-")], ""
    if framework == "argparse" and name.startswith("--"):
        prefixed = {id(o): (f, o) for f, o in table.items() if f.startswith(name) and f.startswith("--")}
        if len(prefixed) == 1:
            full, opt = next(iter(prefixed.values()))
            return opt, f"abbreviation of {full}"
    return None, ""


def _check_args(card: Chunk, args: list[str], script: str) -> list[Check]:
    framework = str(card.meta.get("framework") or "argparse")
    opts = _options(card, args)
    all_flags = sorted({str(f) for o in opts for f in (o.get("flags") or []) if str(f).startswith("-")})
    checks: list[Check] = []
    given: set[int] = set()
    i = 0
    while i < len(args):
        tok = args[i]
        i += 1
        if tok == "--":
            break
        if not tok.startswith("-") or tok == "-" or _NUMBER.match(tok):
            continue
        name, eq, inline = tok.partition("=")
        if name in ("-h", "--help"):
            continue
        opt, note = _find_flag(name, opts, framework)
        if opt is None:
            near = difflib.get_close_matches(name, all_flags, n=3, cutoff=0.6)
            hint = (
                f"; did you mean {' or '.join(near)}?"
                if near
                else (f"; it accepts: {', '.join(all_flags[:25])}" if all_flags else "; it takes no options")
            )
            checks.append(Check("flag-exists", False, f"{script} has no option {name}{hint}", name))
            if not eq and i < len(args) and not args[i].startswith("-"):
                i += 1  # most likely the unknown option's value
            continue
        given.add(id(opt))
        checks.append(
            Check("flag-exists", True, f"{name} is an option of {script}" + (f" ({note})" if note else ""), name)
        )
        if not _takes_value(opt):
            continue
        values = [inline] if eq else []
        nargs = opt.get("nargs")
        many = nargs in ("+", "*") or (str(nargs).isdigit() and int(str(nargs)) > 1)
        if not eq:
            while i < len(args) and (not args[i].startswith("-") or _NUMBER.match(args[i])):
                values.append(args[i])
                i += 1
                if not many:
                    break
        choices = opt.get("choices")
        if choices:
            allowed = [str(c).strip("'\"") for c in choices]
            for v in values:
                ok = v.strip("'\"") in allowed
                msg = (
                    f"{name} {v} is one of its choices"
                    if ok
                    else f"{name} {v!r} is not a valid choice of {script}; choose from {', '.join(allowed)}"
                )
                checks.append(Check("choice-valid", ok, msg, f"{name}={v}"))
    for opt in opts:
        if opt.get("required") and not opt.get("positional") and id(opt) not in given and opt.get("flags"):
            flag = str(opt["flags"][-1])
            checks.append(Check("required-given", False, f"{script} requires option {flag}", flag))
    return checks


def _folders(files: Collection[str]) -> set[str]:
    out = {""}
    for f in files:
        parts = f.split("/")[:-1]
        out.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    return out


def _check_file_args(args: list[str], cwd: str, files: Collection[str], folders: set[str]) -> list[Check]:
    """``file-exists`` for config-like values that point into a repository folder (downloads and user data,
    e.g. ``./model/bert_config.json`` in a folder the repository does not have, are not checked)."""
    checks = []
    for a in args:
        value = a.partition("=")[2] if a.startswith("-") else a
        value = value.strip("'\"")
        if not value.endswith(_FILE_EXTS) or value.startswith(("/", "~", "$")) or "://" in value or "*" in value:
            continue
        candidates = [_norm(cwd, value), _norm(value)]
        if not any(posixpath.dirname(c) in folders for c in candidates):
            continue
        found = any(c in files for c in candidates)
        msg = f"{value} exists" if found else f"{value} is not a file of the repository (looked in {cwd or '.'} and .)"
        checks.append(Check("file-exists", found, msg, value))
    return checks


def ground_bash(code: str, cards: Sequence[Chunk], files: Collection[str], workdir: str = "") -> list[Check]:
    """Checks for bash code (see the module docstring)."""
    by_script = _cards_by_script(cards)
    folders = _folders(files)
    cwd = _norm(workdir) if workdir else ""
    checks: list[Check] = []
    ran = False
    for cmd in split_commands(code):
        if cmd[0] == "cd" and len(cmd) > 1:
            cwd = _norm(cwd, cmd[1]) if not cmd[1].startswith(("/", "~", "$")) else cwd
            continue
        found = invocation(cmd)
        if found is None:
            continue
        kind, target, args = found.kind, found.target, list(found.args)
        ran = True
        if target.startswith(("/", "~", "$")):
            log.info("not checking %s: outside the repository", target)
            continue
        if kind == "module":
            paths = _module_files(target, cwd) + _module_files(target, "")
            path = next((p for p in paths if p in files), "")
            shown = target
        else:
            path = _norm(cwd, target)
            shown = path
            if path not in files and not workdir:
                stand_in = [s for s in by_script if s.endswith("/" + posixpath.normpath(target))]
                if len(stand_in) == 1:
                    path = stand_in[0]
        if path and path in files:
            where = posixpath.dirname(path) or "."
            checks.append(Check("script-exists", True, f"{shown} exists (in {where})", path))
        else:
            near = difflib.get_close_matches(_norm(cwd, target), [f for f in files if f.endswith(SCRIPT_EXTS)], n=3)
            hint = f"; nearest: {', '.join(near)}" if near else ""
            checks.append(Check("script-exists", False, f"{shown} is not a file of the repository{hint}", shown))
            continue
        card = by_script.get(path)
        if card is not None:
            checks += _check_args(card, args, path)
        checks += _check_file_args(args, cwd, files, folders)
    if not ran:
        checks.append(Check("runs-script", False, "the answer runs no .py/.sh script of the repository", ""))
    return checks


def ground_python(code: str, files: Collection[str], workdir: str = "") -> list[Check]:
    """Checks for Python code: it parses, and imports of the repository's own packages resolve."""
    try:
        tree = parse_python(code)
    except SyntaxError as e:
        return [Check("python-syntax", False, f"the code does not parse: {e.msg} (line {e.lineno})", "")]
    checks = [Check("python-syntax", True, "the code parses", "")]
    cwd = _norm(workdir) if workdir else ""
    tops = {f.split("/", 1)[0] for f in files} | {
        f[len(cwd) + 1 :].split("/", 1)[0] for f in files if cwd and f.startswith(cwd + "/")
    }
    modules: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules.append(node.module)
    for module in dict.fromkeys(modules):
        top = module.split(".")[0]
        if top not in tops and top + ".py" not in tops:
            continue  # a third-party or standard-library import
        candidates = _module_files(module, cwd) + _module_files(module, "")
        ok = any(c in files for c in candidates)
        msg = f"module {module} is in the repository" if ok else f"module {module} is not in the repository"
        checks.append(Check("module-exists", ok, msg, module))
    return checks


def ground(
    code: str, output_type: str, cards: Sequence[Chunk], files: Collection[str], workdir: str = ""
) -> tuple[Check, ...]:
    """All grounding checks of ``code`` (an empty answer fails ``code-found``).

    Args:
        code: the extracted code.
        output_type: ``"bash"`` or ``"python"``.
        cards: argument-card chunks (``kind == "card"``; others are ignored).
        files: every repository-relative file path.
        workdir: the repository-relative folder the code runs in ("" = the root, unknown).
    """
    if not code.strip():
        return (Check("code-found", False, "the answer holds no code", ""),)
    files = files if isinstance(files, (set, frozenset, dict)) else set(files)
    cards = [c for c in cards if c.kind == "card"]
    if output_type == "python" and not runs_script(code.split("\n", 1)[0]):
        return tuple(ground_python(code, files, workdir))
    return tuple(ground_bash(code, cards, files, workdir))


def cards_for(checks: Iterable[Check], cards: Sequence[Chunk]) -> list[Chunk]:
    """The cards of the scripts the checks refer to (for a repair prompt)."""
    by_script = _cards_by_script([c for c in cards if c.kind == "card"])
    out: dict[str, Chunk] = {}
    for c in checks:
        if c.name == "script-exists" and c.ok and c.subject in by_script:
            out[c.subject] = by_script[c.subject]
    return list(out.values())
