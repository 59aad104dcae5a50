"""The CLI in-process: readable output, --json, and one-line errors with a non-zero exit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlrag.cli import main


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


FAKE = ["--set", "embedding.model=fake", "-q"]


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["index", "{missing}"], "does not exist"),
        (["index", "{file}"], "is a file"),
        (["index", "{empty}"], "no readable text files"),
        (["index", "https://127.0.0.1:9/x/y.git"], "cannot clone"),
        (["search", "{repo}", "q", "--set", "retrieval.mode=nope"], "retrieval.mode"),
        (["generate", "t", "--repo", "{repo}", "--llm", "nobackend:x"], "nobackend"),
        (["index", "{repo}", "--config", "{missing}"], "config file not found"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, example_repo: Path, argv: list[str], fragment: str
) -> None:
    (tmp_path / "f.txt").write_text("x")
    (tmp_path / "empty").mkdir()
    subs = {"missing": tmp_path / "nope", "file": tmp_path / "f.txt", "empty": tmp_path / "empty", "repo": example_repo}
    argv = [a.format(**{k: str(v) for k, v in subs.items()}) for a in argv]
    code, out, err = _run(capsys, *argv, *FAKE)
    assert code == 2
    assert err.startswith("mlrag: error:") and fragment in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_index_search_generate(capsys: pytest.CaptureFixture[str], example_repo: Path) -> None:
    code, out, _ = _run(capsys, "index", str(example_repo), *FAKE)
    assert code == 0 and "index:" in out
    code, out, _ = _run(capsys, "search", str(example_repo), "train arma on citeseer", "-k", "3", *FAKE, "--json")
    hits = json.loads(out)
    assert code == 0 and 1 <= len(hits) <= 3 and all(h["path"] for h in hits)
    code, out, _ = _run(
        capsys, "generate", "train arma on citeseer", "--repo", str(example_repo), "--llm", "echo", *FAKE
    )
    assert code == 0
    assert "context:" in out and ":" in out.split("context:")[1]


@pytest.mark.parametrize("task, k", [("", 5), ("   ", 5), ("train", -1), ("train", 2.5)])
def test_api_rejects_bad_task_or_k(example_repo: Path, task: str, k: object) -> None:
    import mlrag
    from mlrag.errors import ConfigError

    for fn in (mlrag.retrieve, mlrag.generate):
        with pytest.raises(ConfigError):
            fn(task, example_repo, k=k, llm="echo") if fn is mlrag.generate else fn(task, example_repo, k=k)
