"""Hostile task sets and results folders for ``mlrag eval``: rows cannot choose what is read or run outside
``--repos``, malformed files are one-line errors, ``--out`` never overwrites the user's files, and no secret
reaches ``run.json``, ``config.yaml`` or ``summary.md``."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from mlrag.cli import main
from mlrag.config import Config
from mlrag.errors import MlragError, RepoError
from mlrag.evaluation.conditions import builtin_condition, depth_conditions
from mlrag.evaluation.results import MARKER, ResultsDirError
from mlrag.evaluation.runner import EvalOptions, run_eval
from mlrag.evaluation.tasks import TaskSetError, load_tasks
from mlrag.types import Chunk, Generation, Hit

ROW = {
    "github_id": 1, "id": 1, "repo_dir": "acme__tiny", "path": "./", "type": "Bash Script",
    "instruction": "run train.py on cora", "output": "python train.py --dataset cora",
    "arguments": "{'dataset': 'cora'}", "oracle": "python train.py --dataset cora",
}
SECRET = "sk-test-abcdefghijklmnop123456"


def _repos(tmp_path: Path) -> Path:
    repo = tmp_path / "repos" / "acme__tiny"
    repo.mkdir(parents=True)
    (repo / "README.md").write_text("# Tiny\n\n```bash\npython train.py --dataset cora\n```\n", encoding="utf-8")
    (repo / "train.py").write_text("import sys\nsys.exit(0)\n", encoding="utf-8")
    return tmp_path / "repos"


def _data(tmp_path: Path, *rows: dict[str, Any], name: str = "rows.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _retrieve(task: str, repo: str, k: int = 5, config: Config | None = None) -> list[Hit]:
    files = sorted(p for p in Path(repo).rglob("*") if p.is_file())
    hits = []
    for p in files[:k]:
        text = p.read_text(encoding="utf-8")
        rel = p.relative_to(repo).as_posix()
        n = max(1, text.count("\n"))
        hits.append(Hit(text, rel, 1, n, 1.0, Chunk.make(text, rel, 1, n, "text")))
    return hits


def _generate(task: str, repo: str, k: int = 5, llm: Any = None, config: Config | None = None,
              workdir: str = "", hits: Sequence[Hit] = ()) -> Generation:
    code = "python train.py --dataset cora"
    return Generation(code=code, text=code, hits=tuple(hits), prompt=task, checks=(), model="fake")


def _run(rows: Sequence[dict[str, Any]], tmp_path: Path, out: Path | None = None, **opts: Any) -> Any:
    repos = _repos(tmp_path) if not (tmp_path / "repos").exists() else tmp_path / "repos"
    data = _data(tmp_path, *rows)
    return run_eval(load_tasks(data), depth_conditions([1]), repos=repos, out=out or tmp_path / "out",
                    options=EvalOptions(progress=False, **opts), retrieve_fn=_retrieve, generate_fn=_generate)


# --- rows cannot leave --repos -----------------------------------------------------------------------------------


@pytest.mark.parametrize("field,value", [
    ("repo_dir", "../../../../etc"), ("repo_dir", "/etc"), ("repo_dir", "acme__tiny/../../x"),
    ("repo_dir", "C:\\Windows"), ("repo_dir", "~root"), ("repo_dir", "."), ("repo_dir", "a\0b"),
    ("path", "../.."), ("path", "/tmp"), ("path", "./sub/../../.."), ("path", "..\\..\\"),
])
def test_rows_naming_folders_outside_are_refused(tmp_path: Path, field: str, value: str) -> None:
    data = _data(tmp_path, {**ROW, field: value})
    with pytest.raises(TaskSetError, match=field):
        load_tasks(data)


def test_repo_dir_through_a_symlink_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("do not index me\n", encoding="utf-8")
    repos = _repos(tmp_path)
    (repos / "evil").symlink_to(outside, target_is_directory=True)
    with pytest.raises(RepoError, match="outside"):
        _run([{**ROW, "repo_dir": "evil"}], tmp_path)
    assert not (tmp_path / "out" / "rows.jsonl").exists()


def test_path_through_a_symlink_inside_the_repo_is_not_followed(tmp_path: Path) -> None:
    repos = _repos(tmp_path)
    (repos / "acme__tiny" / "up").symlink_to(tmp_path, target_is_directory=True)
    with pytest.raises(RepoError, match="outside"):
        _run([{**ROW, "path": "up"}], tmp_path, llm="fake", execute=True)


def test_symlink_loop_as_repo_dir_is_an_error_not_a_hang(tmp_path: Path) -> None:
    repos = _repos(tmp_path)
    (repos / "loop").symlink_to(repos / "loop")
    with pytest.raises(RepoError):
        _run([{**ROW, "repo_dir": "loop"}], tmp_path)


def test_cli_reports_a_hostile_row_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repos = _repos(tmp_path)
    data = _data(tmp_path, {**ROW, "repo_dir": "../../../../etc"})
    rc = main(["eval", "--data", str(data), "--repos", str(repos), "--out", str(tmp_path / "o"), "--k", "1"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "repo_dir" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


# --- malformed task files ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("line", [
    '{"github_id": 1e999, "id": 1, "instruction": "x", "output": "y", "type": "Bash Script", "repo_dir": "a"}',
    '{"github_id": NaN, "id": 1, "instruction": "x", "output": "y", "type": "Bash Script", "repo_dir": "a"}',
    '{"github_id": Infinity, "id": 1, "instruction": "x", "output": "y", "type": "Bash Script", "repo_dir": "a"}',
    '{"github_id": 1.5, "id": 1, "instruction": "x", "output": "y", "type": "Bash Script", "repo_dir": "a"}',
    '{"github_id": true, "id": 1, "instruction": "x", "output": "y", "type": "Bash Script", "repo_dir": "a"}',
    '{"github_id": 99999999999999999999999, "id": 1, "instruction": "x", "output": "y", "type": "Bash Script",'
    ' "repo_dir": "a"}',
    '{"github_id": 1, "id": 1, "instruction": null, "output": "y", "type": "Bash Script", "repo_dir": "a"}',
    '{"github_id": 1, "id": 1, "instruction": "", "output": "y", "type": "Bash Script", "repo_dir": "a"}',
    '{"github_id": 1, "id": 1, "instruction": ["x"], "output": "y", "type": "Bash Script", "repo_dir": "a"}',
    '{"github_id": 1, "id": 1, "instruction": "x", "output": "y", "type": null, "repo_dir": "a"}',
    '{"github_id": 1, "id": 1, "instruction": "x", "output": "y", "type": ["Bash Script"], "repo_dir": "a"}',
    '{"github_id": 1, "id": 1, "instruction": "x", "output": "y", "type": "Bash Script", "repo_dir": 5}',
    '{"github_id": 1, "id": 1, "instruction": "x", "output": "y", "type": "Bash Script", "arguments": 7,'
    ' "repo_dir": "a"}',
    '{"github_id": 1, "id": 1, "instruction": "x", "output": "y", "type": "Bash Script", "arguments": "' + "[" * 5000
    + '", "repo_dir": "a"}',
    "[" * 100_000,
    '"just a string"',
    "null",
    '{"github_id": 1,',
    "9" * 10_000,
])
def test_malformed_rows_are_one_line_errors(tmp_path: Path, line: str) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(TaskSetError) as e:
        load_tasks(path)
    assert "\n" not in str(e.value) and str(e.value).startswith(str(path))


def test_binary_and_undecodable_files_are_one_line_errors(tmp_path: Path) -> None:
    for name, data in [("bin.jsonl", b"\x89PNG\r\n\x1a\n\0\0\0IHDR"), ("latin1.jsonl", b'{"a": "caf\xe9"}\n'),
                       ("zeros.jsonl", b"\0" * 64)]:
        (tmp_path / name).write_bytes(data)
        with pytest.raises(TaskSetError) as e:
            load_tasks(tmp_path / name)
        assert "\n" not in str(e.value)
    (tmp_path / "folder.jsonl").mkdir()
    with pytest.raises(TaskSetError, match="not found"):
        load_tasks(tmp_path / "folder.jsonl")


def test_a_fifo_as_task_file_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "rows.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(TaskSetError):
        load_tasks(fifo)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-8-sig"])
def test_utf16_and_bom_files_read_like_utf8(tmp_path: Path, encoding: str) -> None:
    text = json.dumps({**ROW, "instruction": "entraîner sur cora"}) + "\r\n"
    path = tmp_path / "rows.jsonl"
    raw = text.encode(encoding)
    path.write_bytes(("\ufeff".encode("utf-16-be") + raw) if encoding == "utf-16-be" else raw)
    (row,) = load_tasks(path)
    assert row.instruction == "entraîner sur cora" and row.key == (1, 1)


def test_integral_floats_and_digit_strings_are_integers(tmp_path: Path) -> None:
    (row,) = load_tasks(_data(tmp_path, {**ROW, "github_id": 3.0, "id": "7", "repo_id": None}))
    assert row.key == (3, 7) and row.repo_id is None


# --- --out never overwrites the user's files ---------------------------------------------------------------------


def test_out_onto_a_folder_of_user_files_is_refused_and_untouched(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "summary.md").write_text("my notes\n", encoding="utf-8")
    (out / "rows.jsonl").write_text("my rows\n", encoding="utf-8")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(ResultsDirError, match="did not write"):
        _run([ROW], tmp_path, out=out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_out_onto_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    target.write_text("keep\n", encoding="utf-8")
    with pytest.raises(ResultsDirError, match="not a folder"):
        _run([ROW], tmp_path, out=target)
    assert target.read_text(encoding="utf-8") == "keep\n"


def test_own_results_folder_resumes_and_empty_folder_is_claimed(tmp_path: Path) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    first = _run([ROW], tmp_path, out=out)
    assert (out / MARKER).is_file() and first.done == 1
    again = _run([ROW], tmp_path, out=out)
    assert again.done == 0 and again.skipped == 1 and again.records == first.records


def test_cli_out_refusal_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repos = _repos(tmp_path)
    data = _data(tmp_path, ROW)
    out = tmp_path / "home"
    out.mkdir()
    (out / "thesis.tex").write_text("\\begin{document}\n", encoding="utf-8")
    rc = main(["eval", "--data", str(data), "--repos", str(repos), "--out", str(out), "--conditions", "oracle",
               "--k", "0", "-q"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "thesis.tex" in err
    assert sorted(p.name for p in out.iterdir()) == ["thesis.tex"]


# --- no secret in result files -----------------------------------------------------------------------------------


def test_result_files_never_hold_keys(tmp_path: Path) -> None:
    from mlrag.evaluation.report import write_reports

    repos = _repos(tmp_path)
    data = _data(tmp_path, ROW)
    cfg = Config().replace([f"generation.base_url=http://user:{SECRET}@127.0.0.1:9/v1"])
    llm = f"openai:gpt-x?api_key={SECRET}"
    conds = [builtin_condition("oracle")]
    run = run_eval(load_tasks(data), conds, repos=repos, out=tmp_path / "out", config=cfg,
                   options=EvalOptions(llm=llm, progress=False), retrieve_fn=_retrieve, generate_fn=_generate,
                   extra={"argv": ["eval", "--llm", llm]})
    write_reports(tmp_path / "out", run.records, conds, notes=[f"model: {llm}"])
    texts = {p.name: p.read_text(encoding="utf-8") for p in (tmp_path / "out").iterdir() if p.is_file()}
    assert {"run.json", "config.yaml", "summary.md", "rows.jsonl"} <= set(texts)
    for name, text in texts.items():
        assert SECRET not in text, name
    assert "api_key=***" in texts["run.json"] and "127.0.0.1:9" in texts["config.yaml"]
    # a rerun with the same (secret) settings resumes rather than calling it another run
    again = run_eval(load_tasks(data), conds, repos=repos, out=tmp_path / "out", config=cfg,
                     options=EvalOptions(llm=llm, progress=False), retrieve_fn=_retrieve, generate_fn=_generate)
    assert again.skipped == 1


def test_errors_are_mlrag_errors(tmp_path: Path) -> None:
    assert issubclass(TaskSetError, MlragError) and issubclass(ResultsDirError, MlragError)


def test_a_rerun_with_or_without_progress_bars_resumes(tmp_path: Path) -> None:
    data = _data(tmp_path, ROW)
    repos = _repos(tmp_path)
    kw: dict[str, Any] = dict(repos=repos, out=tmp_path / "out", retrieve_fn=_retrieve, generate_fn=_generate)
    run_eval(load_tasks(data), depth_conditions([1]), config=Config(), options=EvalOptions(progress=False), **kw)
    again = run_eval(load_tasks(data), depth_conditions([1]), config=Config().replace({"progress": False}),
                     options=EvalOptions(progress=False), **kw)
    assert again.skipped == 1 and again.done == 0


def test_garbage_in_rows_jsonl_is_dropped_and_recomputed(tmp_path: Path) -> None:
    first = _run([ROW], tmp_path)
    rows = tmp_path / "out" / "rows.jsonl"
    rows.write_bytes(rows.read_bytes() + b'{"key": "\xff\xfe torn')
    again = _run([ROW], tmp_path)
    assert again.skipped == 1 and again.records == first.records
    assert b"\xff" not in rows.read_bytes()
    (tmp_path / "out" / "run.json").write_bytes(b"\xff\x00 not json")
    assert _run([ROW], tmp_path).skipped == 1  # an unreadable run.json does not block a resume
