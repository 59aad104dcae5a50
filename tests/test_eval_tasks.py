"""Task-set loading: ML-Bench's quirks (arguments in a string, non-unique id, literal \\n), and the real dev rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlrag.evaluation.tasks import TaskSetError, load_tasks, parse_arguments, repo_dir_from_url

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def _row(**kw: object) -> dict[str, object]:
    base: dict[str, object] = {
        "github_id": 1,
        "github": "https://github.com/dmlc/dgl",
        "repo_id": 1,
        "path": "./examples/pytorch/arma",
        "arguments": "{'dataset': 'Citeseer', 'lr': 0, 'dropout': 0.5}",
        "instruction": "train ARMA",
        "oracle": "Run:\\npython citation.py --dataset Cora",
        "type": "Bash Script",
        "id": 1,
        "prefix_code": "",
        "output": "python citation.py --dataset Citeseer --lr 0 --dropout 0.5",
    }
    base.update(kw)
    return base


def _write(tmp_path: Path, rows: list[dict[str, object]]) -> Path:
    p = tmp_path / "rows.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in rows) + "\n", encoding="utf-8")
    return p


def test_parse_arguments_is_literal_only() -> None:
    assert parse_arguments("{'a': '1', 'b': 2, 'c': 0.5}") == {"a": "1", "b": "2", "c": "0.5"}
    assert parse_arguments("") == {} and parse_arguments(None) == {}
    assert parse_arguments({"x": 1}) == {"x": "1"}
    with pytest.raises(TaskSetError):
        parse_arguments("__import__('os').system('echo pwned')")  # eval would run this; literal_eval refuses
    with pytest.raises(TaskSetError):
        parse_arguments("['a', 'b']")


def test_load_rows_keyed_by_github_id_and_id(tmp_path: Path) -> None:
    # the same id in two repositories is fine; the pair is the key
    path = _write(tmp_path, [_row(), _row(github_id=2, github="https://github.com/google-research/bert")])
    rows = load_tasks(path)
    assert [r.key for r in rows] == [(1, 1), (2, 1)]
    assert rows[0].repo_dir == "dmlc__dgl" and rows[1].repo_dir == "google-research__bert"
    assert rows[0].arguments == {"dataset": "Citeseer", "lr": "0", "dropout": "0.5"}
    assert rows[0].workdir == "examples/pytorch/arma" and rows[0].output_type == "bash"
    assert rows[0].oracle_text == "Run:\npython citation.py --dataset Cora"
    assert load_tasks(path, limit=1) == rows[:1]
    assert [r.key for r in load_tasks(path, repos=["google-research__bert"])] == [(2, 1)]
    assert [r.key for r in load_tasks(path, per_repo=1)] == [(1, 1), (2, 1)]
    assert [r.key for r in load_tasks(path, per_repo=0)] == []


def test_duplicate_key_and_bad_rows_fail_with_line(tmp_path: Path) -> None:
    with pytest.raises(TaskSetError, match=r"rows.jsonl:2: duplicate key"):
        load_tasks(_write(tmp_path, [_row(), _row()]))
    with pytest.raises(TaskSetError, match=r":1: .*not a Python dict literal"):
        load_tasks(_write(tmp_path, [_row(arguments="{'a': ")]))
    with pytest.raises(TaskSetError, match="type"):
        load_tasks(_write(tmp_path, [_row(type="Haiku")]))
    with pytest.raises(TaskSetError, match="not found"):
        load_tasks(tmp_path / "missing.jsonl")


def test_workdir_root_forms() -> None:
    from mlrag.evaluation.tasks import row_from_dict

    for p in ("./", "", ".", "./examples/x/"):
        assert row_from_dict(_row(path=p)).workdir == ("examples/x" if "x" in p else "")
    assert repo_dir_from_url("https://github.com/salesforce/lavis.git") == "salesforce__lavis"


@pytest.mark.skipif(not (SHARED / "mlbench" / "dev.jsonl").is_file(), reason="../shared/mlbench not present")
def test_real_dev_rows_load() -> None:
    rows = load_tasks(SHARED / "mlbench" / "dev.jsonl")
    assert len(rows) == 193
    assert len({r.key for r in rows}) == 193
    assert all((SHARED / "mlbench" / "repos" / r.repo_dir).is_dir() for r in rows)
    assert sum("\\n" in r.oracle for r in rows) > 0
