"""What counts as a command line: one vocabulary for chunking, retrieval, generation, evaluation and the agent.

A command line is shell text that runs a program; mlrag cares about the ones that run a repository's script.
Parsed code (a generated answer, a ``.sh`` file) is read as a user's shell would:

* ``split_commands`` cuts bash into simple commands (token lists) with ``shlex``: new lines, ``\\``
  continuations, ``;``, ``&&``, ``||``, ``|``, ``&`` and parentheses separate them; redirections and comments
  are dropped.
* ``strip_prefixes`` removes what may stand before the program: ``VAR=value`` assignments (returned, they are
  the script's environment) and ``PREFIXES`` that run the rest of the line (``nohup``, ``time``, ``sudo``...).
* ``invocation`` says which script a simple command runs: ``python [opts] x.py``, ``python -m pkg.mod``, a
  ``SHELLS`` word and a file (``bash x.sh``), a ``LAUNCHERS`` word whose own options come before the script
  (``torchrun --nproc_per_node 2 train.py``, ``accelerate launch``, ``python -m torch.distributed.run``,
  ``srun ... python x.py``), or the script itself (``./x.sh``, ``x.py``).

Unparsed text (README prose, a model's reply) is matched by patterns built from the same words: ``RUNNER``, a
word anywhere in a line that runs a Python script; ``COMMAND_START``, a line that starts like a shell command;
``runs_script``, whether bash code runs a script at all.

Design choices:
    * The words are data (frozensets), and every pattern is built from them, so adding a launcher here teaches
      chunking, retrieval, generation, evaluation and the agent at once.
    * Words that start English sentences as often as commands (``make``, ``time``, ``source``, ``env``,
      ``exec``) count only in parsed code, never at the start of a line of prose (``make sure you ...``).
    * Nothing here knows a benchmark: no dataset's scripts, folders or flags.

Example:
    >>> [invocation(c) for c in split_commands("cd src && CUDA_VISIBLE_DEVICES=0 torchrun --nproc 2 train.py -b 8")]
    [None, Invocation(kind='file', target='train.py', args=('-b', '8'))]
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

# --- the vocabulary --------------------------------------------------------------------------------------------

#: Interpreter names: ``python``, ``python3``, ``python3.10``.
PYTHON = re.compile(r"python[0-9.]*")
#: Shells (and ``source``/``.``): they run the script file given as their first non-option argument.
SHELLS = frozenset({"bash", "sh", "zsh", "source", "."})
#: Launchers: programs that start a Python script given after their own options.
LAUNCHERS = frozenset({"torchrun", "deepspeed", "horovodrun", "mpirun", "kernprof", "srun"})
#: Programs whose subcommand is a launcher (``accelerate launch``).
LAUNCHER_SUBCOMMANDS = {"accelerate": "launch"}
#: Launchers run as ``python -m <module>``.
LAUNCH_MODULES = frozenset({"torch.distributed.run", "torch.distributed.launch", "accelerate.commands.launch"})
#: How a task asks for a launcher by name, and how the command then starts: the launcher's words (or "distributed
#: launch"), the command, its option for the process count, and the options it takes on one machine.
LAUNCHER_REQUESTS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    (r"\btorchrun\b", "torchrun", "--nproc_per_node", ("--standalone",)),
    (r"\btorch\.distributed\.run\b", "python -m torch.distributed.run", "--nproc_per_node", ()),
    (r"\btorch\.distributed\.launch\b|\bdistributed\s+launch(?:er)?\b", "python -m torch.distributed.launch",
     "--nproc_per_node", ()),
    (r"\baccelerate\s+launch\b", "accelerate launch", "--num_processes", ()),
    (r"\bdeepspeed\b", "deepspeed", "--num_gpus", ()),
)  # fmt: skip
#: Words that run the rest of the command line (``nohup python x.py``).
PREFIXES = frozenset({"nohup", "time", "exec", "sudo", "env", "xvfb-run"})
#: Other programs a command line often starts with; they are not a repository's scripts.
TOOLS = frozenset({"cd", "export", "pip", "pip3", "conda", "git", "wget", "curl", "mkdir", "cp", "mv", "ls"})
#: Words that start prose as often as commands: not a command start in unparsed text.
AMBIGUOUS = frozenset({"make", "time", "source", "env", "exec", "."})
#: Words of a command line that name nothing of a repository (every command line could hold them).
GENERIC_WORDS = frozenset(
    {"python", "python3", "cd", "export", "echo", "pip", "pip3", "conda"} | (SHELLS - {"."}) | PREFIXES
)
#: The files a command runs as scripts.
SCRIPT_EXTS = (".py", ".sh")
#: Python's options that take a value (``python -W ignore x.py``).
PYTHON_OPTS_WITH_VALUE = frozenset({"-W", "-X", "-Q"})
#: Code-fence language tags of shell and of Python code.
BASH_LANGS = frozenset({"bash", "sh", "shell", "console", "zsh", "shell-session", "terminal", "cmd"})
PYTHON_LANGS = frozenset({"python", "py", "python3", "ipython", "pycon"})

#: ``VAR=value`` (group 1 the name, group 2 the value).
ASSIGN = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.S)

# --- patterns for unparsed text --------------------------------------------------------------------------------


def _alternation(words: frozenset[str] | set[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w)))


_EXTS = "|".join(e.lstrip(".") for e in SCRIPT_EXTS)
_LAUNCH_WORDS = LAUNCHERS | set(LAUNCHER_SUBCOMMANDS)
#: A word anywhere in a line that runs a Python script (``%run`` is IPython's).
RUNNER = re.compile(rf"(?:%run|\b(?:{PYTHON.pattern}|{_alternation(_LAUNCH_WORDS)}))\b")
#: ``python [opts] -m pkg.mod`` anywhere in a line (group 1 the module).
PYTHON_MODULE = re.compile(rf"\b{PYTHON.pattern}\s+(?:-\w+\s+)*-m\s+([\w.]+)")
_COMMAND_WORDS = (SHELLS | _LAUNCH_WORDS | PREFIXES | TOOLS) - AMBIGUOUS
#: A line that starts like a shell command: an optional ``$`` prompt and ``VAR=value`` assignments, then a
#: program of the vocabulary, ``pipN``, ``./x`` or a script file.
COMMAND_START = re.compile(
    rf"^\s*(?:\$\s+)?(?:[A-Za-z_]\w*=\S*\s+)*(?:{PYTHON.pattern}|pip[0-9]*|{_alternation(_COMMAND_WORDS)}|"
    rf"\./\S+|\S+\.(?:{_EXTS}))\b",
    re.M,
)
_RUNS_SCRIPT = re.compile(
    rf"(?:^|[\s;&|(])(?:\S*/)?[\w.-]+\.(?:{_EXTS})\b|^\s*(?:\S+=\S*\s+)*{PYTHON.pattern}\s+-m\s+\w", re.M
)


#: A Python module run at the start of a line (``python -m pkg``, ``CUDA_VISIBLE_DEVICES=0 python3 -u -m pkg.cli``).
RUNS_MODULE = re.compile(rf"^\s*(?:\S+=\S*\s+)*{PYTHON.pattern}\s+(?:-[A-Za-z]+\s+)*-m\s+[A-Za-z_]", re.M)


def runs_script(code: str) -> bool:
    """Whether bash ``code`` runs a ``.py``/``.sh`` file or a module (``python -m pkg``).

    >>> runs_script("pip install -r requirements.txt"), runs_script("cd x && bash run.sh")
    (False, True)
    """
    return bool(_RUNS_SCRIPT.search(code))


# --- parsed code -----------------------------------------------------------------------------------------------

_SEPARATORS = {";", "&", "&&", "|", "||", "(", ")", ";;", "|&"}
_REDIRECTS = {">", ">>", "<", "2>", "&>", "2>&1", ">&"}
_FD_REDIRECT = re.compile(r"(?<![^\s;&|(])\d+(?=[<>])")
#: A documentation placeholder (``python main.py ucf101 RGB <train_list> <val_list>``), not two redirections.
_ANGLE_PLACEHOLDER = re.compile(r"(?<![^\s=])<([\w./:@+-]+)>(?=[\s;&|]|$)")


def split_commands(code: str) -> list[list[str]]:
    """Bash code as simple commands (token lists): lines, ``\\`` continuations, ``;``/``&&``/``|`` and comments.

    >>> split_commands("cd a && python x.py > log.txt 2>&1  # run")
    [['cd', 'a'], ['python', 'x.py']]
    >>> split_commands("python main.py <train_list> <val_list> --arch X")  # placeholders, not redirections
    [['python', 'main.py', '<train_list>', '<val_list>', '--arch', 'X']]
    """
    code = re.sub(r"\\[ \t]*\r?\n", " ", code)
    commands: list[list[str]] = []
    for line in code.splitlines():
        line = _FD_REDIRECT.sub("", line)  # ``2>&1``, ``2> err``: the descriptor is no argument
        line = _ANGLE_PLACEHOLDER.sub(r"'<\1>'", line)
        lex = shlex.shlex(line, posix=True, punctuation_chars=";&|()<>")
        lex.whitespace_split = True
        try:
            tokens = list(lex)
        except ValueError:  # an unclosed quote: fall back to whitespace
            tokens = line.split()
        current: list[str] = []
        skip_next = False
        for tok in tokens:
            if skip_next:
                skip_next = False
                continue
            if tok in _SEPARATORS:
                if current:
                    commands.append(current)
                current = []
            elif tok in _REDIRECTS or set(tok) <= set("<>&"):
                skip_next = not tok.endswith("&1")
            else:
                current.append(tok)
        if current:
            commands.append(current)
    return commands


def strip_prefixes(cmd: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """``(environment, rest)``: the ``VAR=value`` assignments and ``PREFIXES`` words before the program removed.

    >>> strip_prefixes(["nohup", "CUDA_VISIBLE_DEVICES=0", "python", "x.py"])
    ({'CUDA_VISIBLE_DEVICES': '0'}, ['python', 'x.py'])
    """
    env: dict[str, str] = {}
    i = 0
    while i < len(cmd):
        m = ASSIGN.match(cmd[i])
        if m:
            env[m.group(1)] = m.group(2)
        elif cmd[i] not in PREFIXES:
            break
        i += 1
    return env, list(cmd[i:])


def is_python(program: str) -> bool:
    """Whether ``program`` (a name or a path) is a Python interpreter."""
    return PYTHON.fullmatch(posixpath.basename(program)) is not None


def launcher_args(program: str, args: Sequence[str]) -> list[str] | None:
    """The arguments a launcher reads (after ``accelerate launch``'s subcommand); None when it is no launcher."""
    base = posixpath.basename(program)
    if base in LAUNCHERS:
        return list(args)
    sub = LAUNCHER_SUBCOMMANDS.get(base)
    return list(args[1:]) if sub is not None and list(args[:1]) == [sub] else None


@dataclass(frozen=True)
class Invocation:
    """The script a simple command runs: ``kind`` is ``file`` (a path as written) or ``module`` (dotted)."""

    kind: str
    target: str
    args: tuple[str, ...] = ()


def runs_file(inv: Invocation, path: str) -> bool:
    """Whether ``inv`` runs the repository file ``path``: a file of its name (``train.py``, ``scripts/train.py``)
    or a module whose dotted name ends the path (``-m baselines.run`` for ``baselines/run.py``, ``-m lm_eval`` for
    ``lm_eval/__main__.py``, ``-m pkg.cli`` for ``src/pkg/cli.py``).

    >>> runs_file(Invocation("module", "baselines.run"), "baselines/run.py")
    True
    >>> runs_file(Invocation("module", "run"), "baselines/run.py"), runs_file(Invocation("file", "run.py"), "x/run.py")
    (True, True)
    """
    if inv.kind == "file":
        return posixpath.basename(inv.target) == posixpath.basename(path)
    dotted = path.removesuffix(".py").removesuffix("/__main__").replace("/", ".")
    return inv.kind == "module" and (dotted == inv.target or dotted.endswith("." + inv.target))


def invocation(cmd: Sequence[str]) -> Invocation | None:
    """The script a simple command (one list of ``split_commands``) runs, or None (``pip``, ``python -c``...).

    >>> invocation(["accelerate", "launch", "--num_processes", "2", "train.py", "--lr", "1"])
    Invocation(kind='file', target='train.py', args=('--lr', '1'))
    >>> invocation(["python", "-u", "-m", "pkg.cli", "run"])
    Invocation(kind='module', target='pkg.cli', args=('run',))
    """
    _, cmd = strip_prefixes(cmd)
    if not cmd:
        return None
    head, rest = cmd[0], cmd[1:]
    base = posixpath.basename(head)
    if PYTHON.fullmatch(base):
        return _python(rest)
    if base in SHELLS:
        k = next((j for j, a in enumerate(rest) if not a.startswith("-")), None)
        if k is None or rest[0] == "-c":
            return None
        return Invocation("file", rest[k], tuple(rest[k + 1 :]))
    launched = launcher_args(head, rest)
    if launched is not None:
        return _after_launcher(launched)
    if head.endswith(SCRIPT_EXTS):
        return Invocation("file", head, tuple(rest))
    return None


def _python(args: list[str]) -> Invocation | None:
    j = 0
    while j < len(args) and args[j].startswith("-"):
        if args[j] == "-m" and j + 1 < len(args):
            module, rest = args[j + 1], args[j + 2 :]
            if module in LAUNCH_MODULES:
                return _after_launcher(rest)
            return Invocation("module", module, tuple(rest))
        if args[j] in ("-c", "-"):
            return None  # code on the command line or from stdin: no script
        j += 2 if args[j] in PYTHON_OPTS_WITH_VALUE else 1
    return Invocation("file", args[j], tuple(args[j + 1 :])) if j < len(args) else None


def _after_launcher(args: list[str]) -> Invocation | None:
    """The script after a launcher's own options: a ``.py`` file, ``-m module``, or ``python``/``bash ...``."""
    for k, a in enumerate(args):
        if a == "-m" and k + 1 < len(args):
            return Invocation("module", args[k + 1], tuple(args[k + 2 :]))
        if a.startswith("-"):
            continue
        if a.endswith(".py"):
            return Invocation("file", a, tuple(args[k + 1 :]))
        if is_python(a) or posixpath.basename(a) in SHELLS:
            return invocation(args[k:])
    return None
