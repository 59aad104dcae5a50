"""Check bash command lines against the affordance catalog: scripts, options, choices, positionals, make targets.

The line is read with ``mlrag.commands`` (``split_commands``: ``&&``, ``;``, ``|`` and new lines separate
commands; ``invocation``: which script a command runs), so "what counts as a command" is defined once. Each simple
command is then read as a user's shell would: ``cd X`` / ``pushd X`` move the working folder; ``VAR=x`` prefixes
are environment inputs (checked against a shell script's named inputs); ``nohup``/``time``/``env``... are
skipped; ``python [-u] x.py``, ``python -m pkg.mod``, ``torchrun``/``deepspeed``/``accelerate launch`` (their own
options skipped), ``bash x.sh``, ``./x.sh``, ``make [-C dir] target VAR=1`` and the repository's console scripts
are checked; any other program (``pip``, ``git``, ``wget``) is not the repository's and is left alone.

What is checked against an entry point's parameters depends on how they were read (``Affordance.framework``):
argparse accepts unique prefixes of long options; click/typer/fire/absl/HfArgumentParser spell ``-`` and ``_``
alike and accept ``--no-x`` (absl ``--nox``) for booleans; hydra takes ``key=value`` overrides (``+key``,
``~key``, ``hydra.*`` and keys under a config group are not checked). An entry point whose options are only
partly known (a script without a parsed CLI, HfArgumentParser dataclasses from another library, a shell script
without ``getopts``) gets no "no such option" problems: a false alarm costs an agent more than a missed one.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import replace

from ..catalog.base import Affordance, Catalog, Param
from ..commands import ASSIGN as _ASSIGN
from ..commands import invocation, split_commands, strip_prefixes
from .result import Reader, Report, did_you_mean, join_path, nearest, shorten

_NUMBER = re.compile(r"^-\d|^-\.\d")
_CLOSED = {"argparse", "click", "typer", "fire", "absl", "hf-dataclass", "hydra"}
_NEAR_MISS = 0.75  # how close an unknown option must be to a real one to be flagged when options are partly known
_LOOSE_SPELLING = {"click", "typer", "fire", "absl", "hf-dataclass"}
_BOOL_WORDS = {"true", "false", "1", "0", "yes", "no"}
_HYDRA_VALUE = {"--config-name", "-cn", "--config-path", "-cp", "--config-dir", "-cd", "--package", "-p",
                "--cfg", "-c", "--info", "-i", "--experimental-rerun", "--shell-completion", "-sc"}  # fmt: skip
_HYDRA_FLAGS = {"--multirun", "-m", "--resolve", "--run", "-r", "--hydra-help", "--version"}
_MAKE_VALUE = {"-C", "-f", "--file", "--makefile", "--directory", "-I", "-o", "-W", "-j", "-l"}
_FORWARDS = re.compile(r"\$\{?[@*#]|\bshift\b|\$\{?(?:1[0-9]|[1-9])\b|getopts")


def check_bash(code: str, catalog: Catalog, files: Collection[str], report: Report, *, workdir: str = "",
               read: Reader | None = None) -> None:  # fmt: skip
    """Add the problems of bash ``code`` to ``report`` (see the module docstring)."""
    files = files if isinstance(files, (set, frozenset)) else set(files)
    cwd: str | None = join_path(workdir) if workdir else ""
    stack: list[str | None] = []
    consoles = {a.run.split()[0]: a for a in catalog.of_kind("console-script") if a.run and not a.subcommand}
    for line in split_commands(code):
        env, cmd = strip_prefixes(line)
        if not cmd:
            continue
        head, args = cmd[0], cmd[1:]
        base = posixpath.basename(head)
        if head in ("cd", "pushd"):
            if head == "pushd":
                stack.append(cwd)
            target = next((a for a in args if not a.startswith("-")), "")
            cwd = None if cwd is None or not target else join_path(cwd, target)
            if cwd is not None and cwd and not _is_folder(cwd, files):
                report.problem(f"cd {target}: {cwd} is not a folder of the repository" + did_you_mean(
                    cwd, _folders(files), cutoff=0.7))  # fmt: skip
            continue
        if head == "popd":
            cwd = stack.pop() if stack else cwd
            continue
        if cwd is None:  # the command runs outside the repository (cd /tmp, cd ~): nothing to check
            continue
        run = invocation(cmd)
        if run is not None and run.kind == "module":
            _module(run.target, list(run.args), cwd, catalog, files, report, read)
        elif run is not None:
            _script(run.target, list(run.args), cwd, catalog, files, report, read, env)
        elif base in ("make", "gmake"):
            _make(args, cwd, catalog, files, report)
        elif head.startswith("./"):
            _script(head, args, cwd, catalog, files, report, read, env)
        elif head in consoles:
            entries = [a for a in catalog.of_kind("console-script") if a.run.split()[0] == head]
            _check_entry(consoles[head], entries, args, report, read, head)


def _is_folder(path: str, files: Collection[str]) -> bool:
    prefix = path + "/"
    return any(f.startswith(prefix) for f in files)


def _folders(files: Collection[str]) -> set[str]:
    out: set[str] = set()
    for f in files:
        parts = f.split("/")[:-1]
        out.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    return out


def _module(module: str, args: list[str], cwd: str, catalog: Catalog, files: Collection[str], report: Report,
            read: Reader | None) -> None:  # fmt: skip
    rel = module.replace(".", "/")
    for root in dict.fromkeys((cwd, "", "src")):
        for cand in (f"{rel}.py", f"{rel}/__main__.py"):
            path = join_path(root, cand)
            if path is not None and path in files:
                kind = "python-script" if cand.endswith(".py") and not cand.endswith("__main__.py") else "python-module"
                main, entries = _entries(catalog, (kind, "python-script", "python-module"), path)
                if main is not None:
                    _check_entry(main, entries, args, report, read, f"python -m {module}")
                return
    top = module.split(".")[0]
    tops = {posixpath.join(r, top) for r in (cwd, "", "src")}
    if any(f"{t}/__init__.py" in files or f"{t}.py" in files for t in tops):
        modules = []
        for root in dict.fromkeys((cwd, "", "src")):
            prefix = f"{root}/" if root else ""
            modules += [f[len(prefix) : -3].replace("/", ".").removesuffix(".__main__").removesuffix(".__init__")
                        for f in files if f.startswith(prefix) and f.endswith(".py")]  # fmt: skip
        report.problem(f"python -m {module}: the module is not in the repository" + did_you_mean(module, modules))


def _entries(catalog: Catalog, kinds: Sequence[str], path: str) -> tuple[Affordance | None, list[Affordance]]:
    """The main entry of ``path`` (no subcommand) and all its entries (subcommands included)."""
    entries = [a for a in catalog.by_path(path) if a.kind in kinds]
    main = next((a for a in entries if not a.subcommand), entries[0] if entries else None)
    return main, entries


def _script(target: str, args: list[str], cwd: str, catalog: Catalog, files: Collection[str], report: Report,
            read: Reader | None, env: dict[str, str]) -> None:  # fmt: skip
    path = join_path(cwd, target)
    if path is None:
        return  # /abs/path, ~/x, $DIR/x or above the repository: not the repository's to check
    if path not in files:
        _unknown_script(target, path, cwd, catalog, files, report)
        return
    kinds = ("shell-script",) if path.endswith((".sh", ".bash")) else ("python-script", "python-module")
    main, entries = _entries(catalog, kinds, path)
    if main is None:
        return  # a file of the repository whose command line mlrag could not read
    if main.kind == "shell-script":
        _check_shell(main, args, env, report, read)
    else:
        text = read(path) if read is not None and main.framework == "argparse" else None
        helper = _parser_helper(text) if text else ""
        if helper:  # options the catalog cannot see may come from the helper: flag near misses only
            main = replace(main, framework="argparse-open", summary=helper)
            entries = [main, *(replace(a, framework="argparse-open") for a in entries if a.subcommand)]
        _check_entry(main, entries, args, report, read, path)


_PARSER_VAR = re.compile(r"(\w+)\s*=\s*(?:argparse\.)?ArgumentParser\(")


def _parser_helper(text: str) -> str:
    """``f(parser)`` when the script hands its parser to a function (``register_data_args(parser)``) or builds
    it from ``parents=``: options may come from code the catalog did not read; "" otherwise."""
    for var in dict.fromkeys(_PARSER_VAR.findall(text)):
        m = re.search(rf"(?<![\w.])([A-Za-z_][\w.]*)\(\s*{re.escape(var)}\s*[,)]", text)
        if m and not m.group(1).startswith(f"{var}."):
            return f"{m.group(1)}({var})"
    m = re.search(r"ArgumentParser\([^)]*\bparents\s*=", text)
    return "ArgumentParser(parents=...)" if m else ""


def _unknown_script(target: str, path: str, cwd: str, catalog: Catalog, files: Collection[str], report: Report) -> None:
    where = f"in {cwd}" if cwd else "at the repository root"
    name = posixpath.basename(path)
    same = sorted(f for f in files if posixpath.basename(f) == name)
    entries = {a.path: a for a in catalog if a.kind in ("python-script", "shell-script") and not a.subcommand}
    suggestions = []
    for f in same[:3]:
        a = entries.get(f)
        if a is not None and a.run:
            suggestions.append(f"cd {a.workdir} && {a.run}" if a.workdir else a.run)
        else:
            runner = "bash" if f.endswith((".sh", ".bash")) else "python"
            rel = posixpath.relpath(f, cwd or ".")
            suggestions.append(f"{runner} {rel}")
    if same:
        report.problem(f"{target} is not a file {where}; the repository has {shorten(same, 3)}", *suggestions)
        return
    ext = posixpath.splitext(path)[1] or ".py"
    scripts = [f for f in files if f.endswith(ext)]
    near = nearest(path, scripts, cutoff=0.6) or [f for f in scripts if posixpath.basename(f) in
                                                   nearest(name, [posixpath.basename(s) for s in scripts])]  # fmt: skip
    hint = f"; nearest: {', '.join(near[:3])}" if near else ""
    runner = "bash" if ext in (".sh", ".bash") else "python"
    report.problem(f"{target} is not a file of the repository ({where}){hint}",
                   *(f"{runner} {posixpath.relpath(n, cwd or '.')}" for n in near[:2]))  # fmt: skip


# --- option-style entry points (python scripts, modules, console scripts) ---------------------------------------


def _check_entry(main: Affordance, entries: Sequence[Affordance], args: list[str], report: Report,
                 read: Reader | None, who: str = "") -> None:  # fmt: skip
    """Options, choices, positionals and subcommands of a command-line entry point; ``who`` names it in messages
    (the script's repository path, ``python -m pkg``, the console command)."""
    subs = {a.subcommand: a for a in entries if a.subcommand}
    who = who or main.run or main.name
    if subs:
        k = next((j for j, a in enumerate(args) if a in subs), None)
        if k is not None:
            _check_args(main, args[:k], report, who, before_sub=True)
            _check_args(subs[args[k]], args[k + 1 :], report, f"{who} {args[k]}")
            return
        bare = _bare(main, args)
        if bare and not any(p.kind == "positional" for p in main.params):
            report.problem(f"{who}: {bare[0]!r} is not a subcommand" + did_you_mean(bare[0], subs),
                           f"subcommands of {who}: {shorten(sorted(subs))}")  # fmt: skip
            return
        if not bare:
            report.suggest(f"{who} has subcommands: {shorten(sorted(subs))}")
    _check_args(main, args, report, who)


def _bare(entry: Affordance, args: list[str]) -> list[str]:
    """The bare words of ``args`` that are not an option's value (a rough pass, for subcommand detection)."""
    out, i = [], 0
    while i < len(args):
        a = args[i]
        i += 1
        if a.startswith("-") and not _NUMBER.match(a):
            p = _lookup(entry, a.partition("=")[0])
            if "=" not in a and (p is None or not p.is_flag) and i < len(args) and not args[i].startswith("-"):
                i += 1
            continue
        out.append(a)
    return out


def _lookup(entry: Affordance, name: str) -> Param | None:
    """The option spelled ``name`` (aliases, the framework's spelling variants, argparse's unique prefixes)."""
    options = [p for p in entry.params if p.kind == "option"]
    for p in options:
        if name in p.spellings:
            return p
    fw = entry.framework
    if fw in _LOOSE_SPELLING:
        canon = name.replace("_", "-")
        for p in options:
            if canon in (s.replace("_", "-") for s in p.spellings):
                return p
        for neg in ("--no-", "--no_", "--no"):
            if name.startswith(neg) and len(name) > len(neg):
                plain = ("--" + name[len(neg) :]).replace("_", "-")
                for p in options:
                    if plain in (s.replace("_", "-") for s in p.spellings) and (p.is_flag or p.type == "bool"):
                        return p
    if fw in ("argparse", "argparse-open") and name.startswith("--") and len(name) > 2:
        pref = {id(p): p for p in options for s in p.spellings if s.startswith(name) and s.startswith("--")}
        if len(pref) == 1:
            return next(iter(pref.values()))
    if len(name) > 2 and name[1] != "-":  # -n5: a short option with its value attached
        for p in options:
            if name[:2] in p.spellings and not p.is_flag:
                return p
    return None


def _takes_values(p: Param) -> tuple[int, int | None]:
    """(least, most) values after an option (most None = unbounded)."""
    if p.is_flag:
        return 0, 0
    n = (p.nargs or "").strip()
    if n == "?":
        return 0, 1
    if n == "*":
        return 0, None
    if n == "+":
        return 1, None
    if n.isdigit():
        return int(n), int(n)
    if n in ("...", "argparse.REMAINDER", "REMAINDER"):
        return 0, None
    return 1, 1


def _is_value(tok: str) -> bool:
    return not tok.startswith("-") or tok == "-" or bool(_NUMBER.match(tok))


class _Tokens:
    """A cursor over command-line tokens: ``options()`` yields each option token and collects the others in
    ``bare`` (everything after ``--`` too); an option's handler reads its values with ``peek``/``take``."""

    def __init__(self, args: list[str], is_value: Callable[[str], bool]) -> None:
        self.args, self.is_value, self.i = args, is_value, 0
        self.bare: list[str] = []

    def options(self) -> Iterator[str]:
        while self.i < len(self.args):
            tok = self.args[self.i]
            self.i += 1
            if tok == "--":
                self.bare += self.args[self.i :]
                self.i = len(self.args)
                return
            if self.is_value(tok):
                self.bare.append(tok)
                continue
            yield tok

    def peek(self) -> str | None:
        return self.args[self.i] if self.i < len(self.args) else None

    def take(self) -> str:
        self.i += 1
        return self.args[self.i - 1]

    def value_next(self) -> bool:
        nxt = self.peek()
        return nxt is not None and _is_value(nxt)


def _check_args(entry: Affordance, args: list[str], report: Report, who: str, before_sub: bool = False) -> None:
    fw = entry.framework
    closed = fw in _CLOSED and not (fw == "hf-dataclass" and "plus the options of" in entry.summary)
    options = [p for p in entry.params if p.kind == "option"]
    spellings = [s for p in options for s in p.spellings if s.startswith("-")]
    given: set[int] = set()
    toks = _Tokens(args, _is_value)
    bare = toks.bare
    for tok in toks.options():
        name, eq, inline = tok.partition("=")
        if name in ("-h", "--help"):
            continue
        if fw == "hydra" and (name in _HYDRA_VALUE or name in _HYDRA_FLAGS):
            if name in _HYDRA_VALUE and not eq and toks.value_next():
                toks.take()
            continue
        p = _lookup(entry, name)
        if p is not None and name not in p.spellings and len(name) > 2 and name[1] != "-" and not eq:
            eq, inline = "=", name[2:]  # -n5
            name = name[:2]
        if p is None:
            if fw == "argparse-open":
                near = nearest(name, spellings, cutoff=_NEAR_MISS)
                if near:
                    report.problem(f"{who} has no option {name}; did you mean {' or '.join(near)}?")
                else:
                    report.suggest(f"{who}: {name} is not among the options mlrag read; the script's parser also "
                                   f"gets options from {entry.summary}")  # fmt: skip
            elif closed and spellings:
                report.problem(f"{who} has no option {name}" + did_you_mean(name, spellings),
                               f"options of {who}: {shorten(sorted(set(spellings)))}")  # fmt: skip
            elif closed:
                report.problem(f"{who} takes no options (got {name})")
            if not eq and toks.value_next():
                toks.take()  # most likely the unknown option's value
            continue
        given.add(id(p))
        if p.is_flag:
            if eq and not (fw in ("absl", "hf-dataclass") and inline.lower() in _BOOL_WORDS):
                report.problem(
                    f"{who}: {name} is a flag and takes no value (got {name}={inline})", f"write {name} alone"
                )
            elif not eq and fw == "hf-dataclass" and (toks.peek() or "").lower() in _BOOL_WORDS:
                toks.take()
            continue
        least, most = _takes_values(p)
        values = [inline] if eq else []
        while not eq and toks.value_next() and (most is None or len(values) < most):
            if least == 0 and most == 1 and "=" in (toks.peek() or "") and fw == "hydra":
                break
            values.append(toks.take())
        if len(values) < least:
            report.problem(f"{who}: {name} needs {'a value' if least == 1 else f'{least} values'}"
                           + (f" (one of {shorten(p.choices)})" if p.choices else ""))  # fmt: skip
        for v in values:
            _check_value(who, name, p, v, report)
    _check_positionals(entry, bare, report, who, closed)
    if not before_sub:
        for p in options:
            if p.required and id(p) not in given:
                extra = f" ({p.help})" if p.help else ""
                choices = f"; one of {shorten(p.choices)}" if p.choices else ""
                report.problem(f"{who} requires {p.name}{extra}{choices}")


def _check_value(who: str, name: str, p: Param, value: str, report: Report) -> None:
    v = value.strip("'\"")
    if v.startswith("$") or "$(" in v or "`" in v:
        return  # a shell variable or substitution: its value is not known here
    if p.choices:
        allowed = [c.strip("'\"") for c in p.choices]
        if v not in allowed:
            near = nearest(v, allowed, cutoff=0.5)
            report.problem(f"{who}: {v!r} is not a valid choice for {name}; choose from {shorten(allowed, 20)}",
                           *(f"{name} {n}" for n in near[:1]))  # fmt: skip
        return
    t = (p.type or "").strip()
    if t in ("int", "float") and v:
        try:
            int(v) if t == "int" else float(v)
        except ValueError:
            report.problem(f"{who}: {name} expects {'an integer' if t == 'int' else 'a number'}, got {v!r}")


def _check_positionals(entry: Affordance, bare: list[str], report: Report, who: str, closed: bool) -> None:
    fw = entry.framework
    if fw == "hydra":
        keys = {p.name: p for p in entry.params if p.kind == "override"}
        groups = {k for k, p in keys.items() if p.choices}
        for word in bare:
            key, eq, value = word.partition("=")
            if not eq:
                report.problem(f"{who}: {word!r} is not a key=value override (hydra scripts take overrides such as "
                               f"{next(iter(keys), 'key')}=VALUE)")  # fmt: skip
                continue
            if key.startswith(("+", "~")) or key.startswith("hydra.") or key.split(".")[0] in groups:
                if key in keys:
                    _check_value(who, key, keys[key], value, report)
                continue
            if key not in keys:
                if keys:
                    report.problem(f"{who}: no config key {key}" + did_you_mean(key, keys),
                                   f"use +{key}={value} to add a new key")  # fmt: skip
                continue
            _check_value(who, key, keys[key], value, report)
        return
    if not closed or fw == "fire":
        return  # fire maps bare words to any parameter; an unread command line accepts anything
    pos = sorted((p for p in entry.params if p.kind == "positional"), key=lambda p: p.position or 0)
    most: int | None = 0
    least = 0
    for p in pos:
        lo, hi = _takes_values(p)
        if p.nargs is None:
            lo = 0 if p.default is not None and not p.required and fw != "argparse" else 1
        least += lo
        most = None if most is None or hi is None else most + hi
    if most is not None and len(bare) > most:
        names = ", ".join(p.name for p in pos)
        takes = f"{most} positional argument{'s' if most != 1 else ''}" + (f" ({names})" if names else "")
        report.problem(f"{who} takes {takes}, got {len(bare)}: unexpected {shorten(repr(b) for b in bare[most:])}")
        return
    if len(bare) < least:
        missing = [p for p in pos][len(bare) :]
        names = ", ".join(p.name for p in missing if _takes_values(p)[0] > 0 or p.nargs is None)
        report.problem(f"{who}: missing positional argument{'s' if len(missing) > 1 else ''} {names}")
    for p, value in zip(pos, bare):
        if p.nargs is None:
            _check_value(who, p.name, p, value, report)


# --- shell scripts and make ----------------------------------------------------------------------------------


def _check_shell(entry: Affordance, args: list[str], env: dict[str, str], report: Report, read: Reader | None) -> None:
    who = entry.path
    options = [p for p in entry.params if p.kind == "option"]
    pos = sorted((p for p in entry.params if p.kind == "positional"), key=lambda p: p.position or 0)
    named = [p.name for p in entry.params if p.kind == "env"]
    text = read(entry.path) if read is not None else None
    bare = args
    if options:  # getopts: a closed set of -x options
        toks = _Tokens(args, lambda t: not t.startswith("-") or len(t) < 2)
        bare = toks.bare
        for tok in toks.options():
            p = next((o for o in options if o.name == tok[:2]), None)
            if p is None:
                report.problem(f"{who} has no option {tok[:2]}" + did_you_mean(tok[:2], [o.name for o in options]),
                               f"options of {who}: {', '.join(o.name for o in options)}")  # fmt: skip
                continue
            if not p.is_flag and len(tok) == 2:
                if toks.peek() is not None:
                    toks.take()
                else:
                    report.problem(f"{who}: {tok} needs a value")
    if text is not None and not pos and not options and args and not _FORWARDS.search(text):
        report.problem(f"{who} reads no arguments (got {shorten(repr(a) for a in args)})")
    elif text is not None and pos and not re.search(r"\$\{?[@*#]|\bshift\b", text):
        most = max(p.position or 0 for p in pos) + 1
        if len(bare) > most:
            report.problem(f"{who} reads {most} positional argument{'s' if most > 1 else ''} "
                           f"({', '.join(p.name for p in pos)}), got {len(bare)}")  # fmt: skip
    for p in pos[len(bare) :]:
        if p.required:
            report.suggest(f"{who} reads ${(p.position or 0) + 1} ({p.name}) and none was given")
    for var in env:
        if var not in named and named:
            near = nearest(var, named, cutoff=0.75)
            if near:
                report.problem(f"{who} does not read {var}; did you mean {' or '.join(near)}?",
                               f"inputs of {who}: {', '.join(named)}")  # fmt: skip


def _make(args: list[str], cwd: str, catalog: Catalog, files: Collection[str], report: Report) -> None:
    folder = cwd
    makefile = ""
    targets: list[str] = []
    variables: dict[str, str] = {}
    i = 0
    while i < len(args):
        a = args[i]
        i += 1
        if a in _MAKE_VALUE and i < len(args):
            if a in ("-C", "--directory"):
                folder = join_path(folder, args[i]) or ""
            elif a in ("-f", "--file", "--makefile"):
                makefile = args[i]
            i += 1
        elif a.startswith("-"):
            continue
        elif _ASSIGN.match(a):
            variables[a.split("=", 1)[0]] = a.split("=", 1)[1]
        else:
            targets.append(a)
    entries = [a for a in catalog.of_kind("make-target") if posixpath.dirname(a.path) == folder
               and (not makefile or posixpath.basename(a.path) == posixpath.basename(makefile))]  # fmt: skip
    if not entries:
        names = ("Makefile", "makefile", "GNUmakefile") if not makefile else (makefile,)
        if not any(join_path(folder, n) in files for n in names):
            report.problem(f"make: no {makefile or 'Makefile'} in {folder or 'the repository root'}",
                           *[f"cd {posixpath.dirname(a.path)} && make {a.name}" if posixpath.dirname(a.path) else
                             f"make {a.name}" for a in catalog.of_kind("make-target")[:3]])  # fmt: skip
        return
    known = {a.name: a for a in entries}
    chosen = [known[t] for t in targets if t in known]
    for t in targets:
        if t not in known:
            report.problem(f"make: no target {t!r} in {entries[0].path}" + did_you_mean(t, known),
                           f"targets of {entries[0].path}: {shorten(known)}")  # fmt: skip
    read_vars = {p.name for a in entries for p in a.params if p.kind == "make-var"}
    for var in variables:
        if var not in read_vars and read_vars:
            near = nearest(var, read_vars, cutoff=0.75)
            if near:
                used = ", ".join(sorted({p.name for a in chosen for p in a.params}))
                report.problem(f"make: no target of {entries[0].path} reads {var}; did you mean {' or '.join(near)}?",
                               *(f"make {a.name} reads {used}" for a in chosen[:1] if used))  # fmt: skip
