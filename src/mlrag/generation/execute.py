"""Run generated code, only when the caller asks, in a subprocess with a timeout.

Safety rules:
    * Nothing in mlrag calls this on its own; evaluation and users opt in.
    * Bash code is never handed to a shell unless the caller passes ``allow_shell=True`` (then it runs as
      ``bash -c code``). Without it, the code must be one simple command (no ``;``, ``&&``, ``|``, redirections,
      ``$``-expansions, backquotes or several lines); it is split with ``shlex`` and run as an argv list.
    * Python code runs as ``<this interpreter> -c code``.
    * The child gets the caller's environment minus variables that look like secrets (``*_API_KEY``,
      ``*_TOKEN``, ``*_SECRET``, ``*PASSWORD*``), runs in ``cwd``, in its own process group, and the whole group
      is killed at the timeout.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
from dataclasses import dataclass

from ..errors import MlragError

_SHELL_SYNTAX = re.compile(r"[;&|<>`$(){}\n]|\\\n")
_SECRET = re.compile(r"(_API_KEY|_TOKEN|_SECRET|PASSWORD|^OPENAI_API_KEY$|^HF_TOKEN$)", re.I)


class UnsafeCommandError(MlragError, ValueError):
    """Generated bash code needs a shell, and the caller did not allow one."""


@dataclass(frozen=True)
class ExecResult:
    """The outcome of running generated code."""

    argv: tuple[str, ...]
    returncode: int | None  # None when killed at the timeout
    stdout: str
    stderr: str
    timed_out: bool
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def command_argv(code: str, kind: str, allow_shell: bool = False) -> list[str]:
    """The argv that runs ``code`` (see the module docstring); raises ``UnsafeCommandError`` when it needs a shell."""
    if kind == "python":
        return [sys.executable, "-c", code]
    if kind != "bash":
        raise MlragError(f"execute: kind must be 'bash' or 'python', got {kind!r}")
    if allow_shell:
        return ["bash", "-c", code]
    text = re.sub(r"\\[ \t]*\n", " ", code.strip())
    if _SHELL_SYNTAX.search(text):
        raise UnsafeCommandError(
            "execute: the code uses shell syntax (several commands, pipes, redirections or expansions); "
            "pass allow_shell=True to run it with bash -c"
        )
    argv = shlex.split(text)
    if not argv:
        raise MlragError("execute: the code is empty")
    return argv


def safe_env() -> dict[str, str]:
    """The current environment without variables that look like secrets."""
    return {k: v for k, v in os.environ.items() if not _SECRET.search(k)}


def execute(
    code: str, cwd: str | os.PathLike[str], timeout: float, kind: str, *, allow_shell: bool = False
) -> ExecResult:
    """Run ``code`` in ``cwd`` with a timeout.

    Args:
        code: bash command or Python code.
        cwd: the folder to run in (the repository's working directory for the task).
        timeout: seconds before the process group is killed.
        kind: ``"bash"`` or ``"python"``.
        allow_shell: let bash code run through ``bash -c`` (pipes, ``&&``, variables).

    Returns:
        An ``ExecResult`` (``timed_out`` set when it was killed).

    Example:
        >>> execute("echo hi", ".", 5, "bash").stdout
        'hi\\n'
    """
    import time

    argv = command_argv(code, kind, allow_shell)
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            argv,
            cwd=str(cwd),
            env=safe_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
    except (FileNotFoundError, PermissionError, NotADirectoryError) as e:
        return ExecResult(tuple(argv), 127, "", f"{type(e).__name__}: {e}", False, time.monotonic() - start)
    try:
        out, err = proc.communicate(timeout=timeout)
        return ExecResult(tuple(argv), proc.returncode, out, err, False, time.monotonic() - start)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = proc.communicate()
        return ExecResult(tuple(argv), None, out, err, True, time.monotonic() - start)
