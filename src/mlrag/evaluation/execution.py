"""Optional execution of an answer in the row's repository folder (``mlrag eval --execute``).

Follows ML-Bench's scorer in what runs: ``prefix_code`` then the answer, in ``<repo>/<path>``; an answer that
runs a ``.sh``/``.py`` file is a shell command, anything else is Python code. Unlike ML-Bench, a timeout is its
own outcome (``timeout``), never counted as a pass.

Design choices: everything runs in one ``bash`` script in a new session (process group), so that a timeout kills
the whole tree the answer started; Python answers are written to a temporary file outside the repository and run
with the working folder first on ``PYTHONPATH`` (ML-Bench writes ``temp.py`` into the folder; we do not write into
the user's checkout). Output is discarded. This executes model-written code: it is off by default, and meant for
a sandbox or container.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .metrics import runs_file

#: Outcomes of ``execute_answer``.
OUTCOMES = ("ok", "error", "timeout", "no-dir")


@dataclass(frozen=True)
class ExecResult:
    """What running one answer did."""

    outcome: str  # one of OUTCOMES
    returncode: int | None
    seconds: float

    def to_dict(self) -> dict[str, object]:
        return {"outcome": self.outcome, "returncode": self.returncode, "seconds": round(self.seconds, 3)}


def execute_answer(
    code: str, workdir: str | Path, *, prefix_code: str = "", timeout_s: float = 10.0, python: str = "python"
) -> ExecResult:
    """Run ``prefix_code`` and then ``code`` in ``workdir``.

    Args:
        code: the answer (a shell command when it runs a ``.sh``/``.py`` file, else Python code).
        workdir: the folder to run in (the row's ``path`` inside its repository).
        prefix_code: setup commands run first, in the same shell.
        timeout_s: wall-clock limit; on expiry the whole process group is killed.
        python: the interpreter for Python answers (``python`` on ``PATH``, like ML-Bench's conda environments).

    Returns:
        ``ok`` (exit 0), ``error`` (non-zero exit), ``timeout`` or ``no-dir`` (``workdir`` missing).
    """
    wd = Path(workdir)
    if not wd.is_dir():
        return ExecResult("no-dir", None, 0.0)
    with tempfile.TemporaryDirectory(prefix="mlrag-exec-") as tmp:
        lines = [prefix_code] if prefix_code.strip() else []
        env = dict(os.environ)
        if runs_file(code):
            lines.append(code)
        else:
            answer = Path(tmp) / "answer.py"
            answer.write_text(code, encoding="utf-8")
            env["PYTHONPATH"] = os.pathsep.join(p for p in (str(wd.resolve()), env.get("PYTHONPATH", "")) if p)
            lines.append(f'{python} "{answer}"')
        script = Path(tmp) / "run.sh"
        script.write_text("\n".join(lines) + "\n", encoding="utf-8")
        start = time.monotonic()
        proc = subprocess.Popen(
            ["bash", str(script)],
            cwd=wd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            rc = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the group we created for this answer only
            except ProcessLookupError:
                pass
            proc.wait()
            return ExecResult("timeout", None, time.monotonic() - start)
        return ExecResult("ok" if rc == 0 else "error", rc, time.monotonic() - start)
