"""Hostile repositories: odd files, names and ignore patterns are logged skips; the walk and the build finish in
bounded time and the CLI never prints a traceback."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path

import pytest

from mlrag.cli import main
from mlrag.config import ChunkingConfig, WalkConfig
from mlrag.repo import WalkReport, compile_patterns, walk_repo

FAKE = ["--set", "embedding.model=fake", "-q"]
README = "# Tiny\n\nTrain with:\n\n```bash\npython train.py --lr 0.1\n```\n"


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "README.md").write_text(README, encoding="utf-8")
    (repo / "train.py").write_text("import argparse\np = argparse.ArgumentParser()\np.add_argument('--lr')\n",
                                   encoding="utf-8")
    return repo


def _walk(repo: Path, config: WalkConfig | None = None, bound_s: float = 20.0) -> tuple[list[str], WalkReport]:
    """Walk in a thread so that a hang fails the test instead of blocking the suite."""
    report = WalkReport()
    box: dict[str, object] = {}
    worker = threading.Thread(target=lambda: box.setdefault("files", walk_repo(repo, config, report)), daemon=True)
    worker.start()
    worker.join(bound_s)
    assert not worker.is_alive(), "walk_repo did not finish"
    return [f.path for f in box["files"]], report  # type: ignore[attr-defined]


def test_fifo_in_the_repository_is_skipped_not_opened(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    os.mkfifo(repo / "notes.md")
    os.mkfifo(repo / ".gitignore")
    files, report = _walk(repo)
    assert "notes.md" not in files and report.skipped["notes.md"] == "not a regular file"
    assert "README.md" in files


def test_symlinks_to_devices_and_loops_are_skipped(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    (repo / "zero.txt").symlink_to("/dev/zero")
    (repo / "a.md").symlink_to(repo / "b.md")
    (repo / "b.md").symlink_to(repo / "a.md")
    (repo / "self.py").symlink_to(repo / "self.py")
    (repo / "sub").mkdir()
    (repo / "sub" / "up").symlink_to(repo, target_is_directory=True)
    (repo / "dangling.md").symlink_to(repo / "missing.md")
    files, report = _walk(repo)
    assert sorted(files) == ["README.md", "train.py"]
    assert report.skipped["a.md"] == "symlink loop" and report.skipped["self.py"] == "symlink loop"
    assert report.skipped["zero.txt"] == "symlink leaving the repository"
    assert report.skipped["sub/up/"] == "symlinked folder"


def test_non_utf8_file_and_folder_names_are_skipped(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    os.close(os.open(os.fsencode(repo) + b"/caf\xe9.py", os.O_CREAT | os.O_WRONLY))
    os.mkdir(os.fsencode(repo) + b"/d\xff")
    Path(os.fsdecode(os.fsencode(repo) + b"/d\xff/x.md")).write_text("# x\n", encoding="utf-8")
    files, report = _walk(repo)
    assert sorted(files) == ["README.md", "train.py"]
    json.dumps(report.skipped, ensure_ascii=False).encode("utf-8")  # the report itself is writable UTF-8
    assert "file name is not UTF-8" in report.skipped.values()


def test_unreadable_files_are_skipped(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    repo = _repo(tmp_path)
    (repo / "secret.md").write_text("x\n", encoding="utf-8")
    (repo / "secret.md").chmod(0)
    files, report = _walk(repo)
    assert "secret.md" not in files and "unreadable" in report.skipped["secret.md"]


@pytest.mark.parametrize("lines", [["\\"], ["foo\\"], ["[z-a]"], ["**a**b[", "!"], ["a/**/b/**/c"], [""]])
def test_odd_gitignore_lines_do_not_break_the_walk(tmp_path: Path, lines: list[str]) -> None:
    repo = _repo(tmp_path)
    (repo / ".gitignore").write_text("\n".join([*lines, "*.log"]) + "\n", encoding="utf-8")
    (repo / "x.log").write_text("log\n", encoding="utf-8")
    files, _ = _walk(repo)
    assert "README.md" in files and "x.log" not in files  # the valid line still applies


def test_backtracking_gitignore_patterns_are_skipped_in_bounded_time(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    (repo / ".gitignore").write_text("*a*a*a*a*a*a*a*a*a*b\n" + "x" * 5000 + "*\n*.log\n", encoding="utf-8")
    (repo / ("a" * 200 + ".md")).write_text("# long name\n", encoding="utf-8")
    start = time.monotonic()
    files, _ = _walk(repo, bound_s=10.0)
    assert time.monotonic() - start < 10.0 and ("a" * 200 + ".md") in files


def test_bad_patterns_in_the_config_are_skipped_too(caplog: pytest.LogCaptureFixture,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logging.getLogger("mlrag"), "propagate", True)  # the CLI's setup_logging may have run
    caplog.set_level(logging.INFO, logger="mlrag")
    spec = compile_patterns(["\\", "*.py", "*a*a*a*a*a*b"], "walk.exclude")
    assert spec.match_file("x.py") and not spec.match_file("aaaab")
    assert "walk.exclude" in caplog.text


@pytest.mark.parametrize("name,text", [
    ("cells_int.ipynb", json.dumps({"cells": [{"cell_type": "code", "source": [1, 2]}]})),
    ("cells_dict.ipynb", json.dumps({"cells": [{"cell_type": "markdown", "source": {"a": 1}}]})),
    ("cells_null.ipynb", json.dumps({"cells": None})),
    ("deep.ipynb", "[" * 100_000),
    ("deep.py", "x = 1" + " + 1" * 100_000 + "\n"),
    ("nested.py", "x = " + "[" * 3000 + "]" * 3000 + "\n"),
    ("indent.py", "def f():\n" + "".join("    " * (i + 1) + "if x:\n" for i in range(150)) + "    " * 151 + "pass\n"),
    ("quotes.md", "> " * 20_000 + "x\n"),
    ("lists.md", "".join("  " * i + "- x\n" for i in range(3000))),
])
def test_hostile_file_contents_are_chunked_or_skipped(name: str, text: str) -> None:
    from mlrag.chunking.dispatch import chunk_files

    cs = chunk_files([(name, text), ("README.md", README)], ChunkingConfig())
    assert any(c.path == "README.md" for c in cs.units)


def test_index_of_a_hostile_repository_finishes_and_search_works(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    repo = _repo(tmp_path)
    os.mkfifo(repo / "pipe.txt")
    (repo / "loop.md").symlink_to(repo / "loop.md")
    (repo / ".gitignore").write_text("\\\n*a*a*a*a*a*a*b\n", encoding="utf-8")
    (repo / "nb.ipynb").write_text(json.dumps({"cells": [{"cell_type": "code", "source": [1]}]}), encoding="utf-8")
    (repo / "deep.py").write_text("x = 1" + " + 1" * 100_000 + "\n", encoding="utf-8")
    assert main(["index", str(repo), *FAKE]) == 0
    assert main(["search", str(repo), "train lr", "-k", "3", "--json", *FAKE]) == 0
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    hits = json.loads(out.strip().splitlines()[-1])
    assert hits and {h["path"] for h in hits} <= {"README.md", "train.py"}


def test_huge_k_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = _repo(tmp_path)
    with pytest.raises(SystemExit) as e:
        main(["search", str(repo), "q", "-k", str(10**12), *FAKE])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "-k" in err and "Traceback" not in err


def test_a_byte_order_mark_is_not_text_of_the_file(tmp_path: Path) -> None:
    import mlrag

    repo = _repo(tmp_path)
    src = "# (c) someone\nimport argparse\np = argparse.ArgumentParser()\np.add_argument('--seed', type=int)\n"
    (repo / "gen.py").write_bytes(b"\xef\xbb\xbf" + src.encode())
    files = {f.path: f for f in walk_repo(repo)}
    assert files["gen.py"].text == src
    gen = next(a for a in mlrag.affordances(repo).of_kind("python-script") if a.path == "gen.py")
    assert [p.name for p in gen.params] == ["--seed"]
