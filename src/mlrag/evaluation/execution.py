"""Running an answer in the row's repository folder (``mlrag eval --execute``): mlrag's one executor.

Follows ML-Bench's scorer in what runs: ``prefix_code`` then the answer, in ``<repo>/<path>``; an answer that
runs a ``.sh``/``.py`` file is a shell command, anything else is Python code. Unlike ML-Bench, a timeout is its
own outcome (``timeout``), never counted as a pass.

Design choices:

* One ``bash`` script in a new session (process group), so that a timeout kills the whole tree the answer
  started. Python answers are written to a temporary file outside the repository and run with the working
  folder first on ``PYTHONPATH`` (ML-Bench writes ``temp.py`` into the folder; we do not write into the
  user's checkout). Output is discarded (bounded memory whatever the answer prints).
* A minimal environment, built from nothing rather than filtered from the caller's: ``PATH`` (to find
  ``python`` and the repository's tools), ``HOME`` and ``TMPDIR`` in a fresh temporary folder (removed
  afterwards), ``LANG``, and ``PYTHONPATH`` for Python answers. No API key, token or the variable named by
  ``generation.api_key_env`` can reach model-written code, whatever it is called.
* The working folder must lie inside ``root`` (the repository) after symlinks are followed; otherwise the
  outcome is ``outside`` and nothing runs.

This executes model-written code: it is off by default, and meant for a sandbox or container.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .metrics import runs_file

#: Outcomes of ``execute_answer``.
OUTCOMES = ("ok", "error", "timeout", "no-dir", "outside")


@dataclass(frozen=True)
class ExecResult:
    """What running one answer did."""

    outcome: str  # one of OUTCOMES
    returncode: int | None
    seconds: float

    def to_dict(self) -> dict[str, object]:
        return {"outcome": self.outcome, "returncode": self.returncode, "seconds": round(self.seconds, 3)}


def minimal_env(home: str | os.PathLike[str]) -> dict[str, str]:
    """The whole environment an executed answer gets: ``PATH``, ``HOME``/``TMPDIR`` = ``home``, ``LANG``."""
    return {
        "PATH": os.environ.get("PATH") or os.defpath,
        "HOME": os.fspath(home),
        "TMPDIR": os.fspath(home),
        "LANG": "C.UTF-8",
    }


def _default_python() -> str:
    return shutil.which("python") or sys.executable


def execute_answer(
    code: str,
    workdir: str | Path,
    *,
    prefix_code: str = "",
    timeout_s: float = 10.0,
    python: str | None = None,
    root: str | Path | None = None,
) -> ExecResult:
    """Run ``prefix_code`` and then ``code`` in ``workdir``, in a minimal environment, within ``timeout_s``.

    Args:
        code: the answer (a shell command when it runs a ``.sh``/``.py`` file, else Python code).
        workdir: the folder to run in (the row's ``path`` inside its repository).
        prefix_code: setup commands run first, in the same shell.
        timeout_s: wall-clock limit; on expiry the whole process group is killed.
        python: the interpreter for Python answers (default: ``python`` on ``PATH``, like ML-Bench's conda
            environments, else this interpreter).
        root: the repository; ``workdir`` must lie inside it (default: ``workdir`` itself).

    Returns:
        ``ok`` (exit 0), ``error`` (non-zero exit), ``timeout``, ``no-dir`` (``workdir`` missing) or
        ``outside`` (``workdir`` leads out of ``root``).

    Example:
        >>> execute_answer("print('hi')", ".").outcome  # doctest: +SKIP
        'ok'
    """
    wd = Path(workdir)
    if not wd.is_dir():
        return ExecResult("no-dir", None, 0.0)
    try:
        wd_real = wd.resolve()
        inside = wd_real.is_relative_to(Path(root).resolve()) if root is not None else True
    except (OSError, RuntimeError):
        inside = False
    if not inside:
        return ExecResult("outside", None, 0.0)
    with tempfile.TemporaryDirectory(prefix="mlrag-exec-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        env = minimal_env(home)
        lines = [prefix_code] if prefix_code.strip() else []
        if runs_file(code):
            lines.append(code)
        else:
            answer = Path(tmp) / "answer.py"
            answer.write_text(code, encoding="utf-8", errors="surrogateescape")
            env["PYTHONPATH"] = str(wd_real)
            lines.append(f'"{python or _default_python()}" "{answer}"')
        script = Path(tmp) / "run.sh"
        script.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogateescape")
        start = time.monotonic()
        try:
            proc = subprocess.Popen(
                ["bash", str(script)],
                cwd=wd_real,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError:  # no bash, or the folder vanished
            return ExecResult("error", None, time.monotonic() - start)
        try:
            rc = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            rc = None
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the group we created for this answer only (and what it left)
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait()
        if rc is None:
            return ExecResult("timeout", None, time.monotonic() - start)
        return ExecResult("ok" if rc == 0 else "error", rc, time.monotonic() - start)
