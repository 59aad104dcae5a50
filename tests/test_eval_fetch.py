"""scripts/fetch_mlbench_repos.py: the pin table is parsed, a pinned commit is checked out (from a local git
"server"), and an unreachable server fails with a clear message and leaves nothing behind."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "fetch_mlbench_repos.py"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")


def _load():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("fetch_mlbench_repos", SCRIPT)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def _git(*args: str, cwd: Path) -> str:
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
        "PATH": "/usr/bin:/bin:/usr/local/bin",
        "HOME": str(cwd),
    }
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def test_parse_pins_from_table() -> None:
    mod = _load()
    text = "| github_id | repo | pinned commit |\n|---|---|---|\n| 1 | dmlc/dgl | " + "a" * 40 + " | 21 |\n"
    (pin,) = mod.parse_pins(text)
    assert (pin.github_id, pin.repo, pin.folder) == (1, "dmlc/dgl", "dmlc__dgl")


@pytest.mark.skipif(not (SHARED / "mlbench" / "README.md").is_file(), reason="../shared/mlbench not present")
def test_real_readme_has_the_ten_dev_pins() -> None:
    pins = _load().parse_pins((SHARED / "mlbench" / "README.md").read_text(encoding="utf-8"))
    assert len(pins) == 10 and pins[2].folder == "salesforce__LAVIS"


def test_fetch_pinned_commit_from_local_server(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mod = _load()
    server = tmp_path / "server" / "acme" / "tiny"
    server.mkdir(parents=True)
    _git("init", "-q", cwd=server)
    (server / "README.md").write_text("v1\n")
    _git("add", ".", cwd=server)
    _git("commit", "-q", "-m", "v1", cwd=server)
    pinned = _git("rev-parse", "HEAD", cwd=server).strip()
    (server / "README.md").write_text("v2\n")
    _git("commit", "-q", "-am", "v2", cwd=server)
    readme = tmp_path / "README.md"
    readme.write_text(f"| 1 | acme/tiny | {pinned} | 1 |\n")
    dest = tmp_path / "dest"
    argv = ["--dest", str(dest), "--readme", str(readme), "--base-url", f"file://{tmp_path / 'server'}"]
    assert mod.main(argv) == 0
    assert (dest / "acme__tiny" / "README.md").read_text() == "v1\n"
    assert mod.main(argv) == 0 and "present" in capsys.readouterr().out


def test_unreachable_server_fails_cleanly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mod = _load()
    readme = tmp_path / "README.md"
    readme.write_text(f"| 1 | acme/tiny | {'b' * 40} | 1 |\n| 2 | acme/two | {'c' * 40} | 1 |\n")
    rc = mod.main(["--dest", str(tmp_path / "d"), "--readme", str(readme), "--base-url", "file:///nonexistent"])
    err = capsys.readouterr().err
    assert rc == 1 and "cannot fetch" in err and "network access" in err and "first failure" in err
    assert list((tmp_path / "d").iterdir()) == []  # the half-made folder was removed
