"""The one executor (``mlrag eval --execute``): minimal environment, bounded time, confined to the repository."""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from pathlib import Path

import pytest

from mlrag.evaluation.execution import OUTCOMES, execute_answer, minimal_env


def _dump_env(tmp_path: Path) -> dict[str, str]:
    out = tmp_path / "env.json"
    code = f"import json, os\nopen({str(out)!r}, 'w').write(json.dumps(dict(os.environ)))"
    assert execute_answer(code, tmp_path, python=sys.executable).outcome == "ok"
    return dict(json.loads(out.read_text(encoding="utf-8")))


def test_answers_get_a_minimal_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-should-not-leak-0000")
    monkeypatch.setenv("MY_LLM_CREDENTIAL", "custom-named-key-1234")  # what generation.api_key_env may name
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-secret-5678")
    monkeypatch.setenv("INNOCENT_LOOKING", "value-9")
    env = _dump_env(tmp_path)
    leaked = [k for k in env if k in ("OPENAI_API_KEY", "MY_LLM_CREDENTIAL", "AWS_SECRET_ACCESS_KEY",
                                       "INNOCENT_LOOKING")]
    assert leaked == []
    assert set(env) - {"PWD", "SHLVL", "_", "OLDPWD", "LC_CTYPE"} == {"PATH", "HOME", "TMPDIR", "LANG", "PYTHONPATH"}
    assert Path(env["HOME"]).name == "home" and not Path(env["HOME"]).exists()  # a temporary HOME, removed
    assert env["PYTHONPATH"] == str(tmp_path.resolve())


def test_minimal_env_is_built_not_filtered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOMETHING_ELSE", "x")
    assert set(minimal_env("/h")) == {"PATH", "HOME", "TMPDIR", "LANG"}


def test_shell_answers_run_in_the_row_folder_with_the_same_env(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_abcdefghijklmnopqrstu")
    sub = tmp_path / "examples"
    sub.mkdir()
    (sub / "run.py").write_text(
        "import os, sys\nsys.exit(0 if 'HF_TOKEN' not in os.environ and os.getcwd().endswith('examples') else 5)\n",
        encoding="utf-8",
    )
    res = execute_answer(f"{sys.executable} run.py --x 1", sub, root=tmp_path)
    assert res.outcome == "ok", res


def test_outcomes(tmp_path: Path) -> None:
    (tmp_path / "mod.py").write_text("VALUE = 3\n", encoding="utf-8")
    assert execute_answer("import mod\nassert mod.VALUE == 3", tmp_path, python=sys.executable).outcome == "ok"
    assert execute_answer("raise SystemExit(3)", tmp_path, python=sys.executable).returncode == 3
    assert execute_answer("x", tmp_path / "nope").outcome == "no-dir"
    assert {"ok", "error", "timeout", "no-dir", "outside"} == set(OUTCOMES)


def test_timeout_kills_the_whole_group_in_bounded_time(tmp_path: Path) -> None:
    flag = tmp_path / "survivor"
    code = f"sleep 30 & sleep 30; touch {flag}"
    (tmp_path / "x.sh").write_text(code + "\n", encoding="utf-8")
    start = time.monotonic()
    res = execute_answer("bash x.sh", tmp_path, timeout_s=0.5)
    assert res.outcome == "timeout" and res.returncode is None and time.monotonic() - start < 10
    time.sleep(0.2)
    assert not flag.exists()


def test_background_children_do_not_outlive_a_finished_answer(tmp_path: Path) -> None:
    flag = tmp_path / "late"
    (tmp_path / "bg.sh").write_text(f"(sleep 1; touch {flag}) &\nexit 0\n", encoding="utf-8")
    assert execute_answer("bash bg.sh", tmp_path).outcome == "ok"
    time.sleep(1.5)
    assert not flag.exists()


def test_workdir_outside_the_repository_does_not_run(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "out").symlink_to(tmp_path, target_is_directory=True)
    flag = tmp_path / "ran"
    code = f"open({str(flag)!r}, 'w').write('x')"
    assert execute_answer(code, repo / "out", root=repo).outcome == "outside"
    assert execute_answer(code, repo / ".." , root=repo).outcome == "outside"
    assert not flag.exists()


def test_huge_output_is_discarded_not_buffered(tmp_path: Path) -> None:
    code = "import sys\nfor _ in range(2000): sys.stdout.write('x' * 65536)\n"
    res = execute_answer(code, tmp_path, python=sys.executable, timeout_s=60)
    assert res.outcome == "ok"


def test_there_is_one_executor() -> None:
    assert importlib.util.find_spec("mlrag.generation.execute") is None
