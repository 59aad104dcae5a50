from __future__ import annotations

from pathlib import Path

import pytest

from mlrag.config import WalkConfig
from mlrag.errors import RepoError
from mlrag.repo import WalkReport, corpus_hash, resolve_repo, walk_repo


def _write(root: Path, rel: str, data: bytes | str) -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data if isinstance(data, bytes) else data.encode())


def test_a_gitignore_that_ignores_all_then_re_includes_folders_and_named_files(tmp_path: Path) -> None:
    # "*", "!*/", "!*.*": only files without a dot are ignored (a pattern some research repositories use)
    _write(tmp_path, ".gitignore", "*\n!*/\n!*.*\n*.pth\nlogs/\n")
    _write(tmp_path, "pytorch/main.py", "print(1)\n")
    _write(tmp_path, "pytorch/model.pth", "weights\n")
    _write(tmp_path, "logs/run.txt", "ignored\n")
    _write(tmp_path, "Makefile", "ignored: no dot\n")
    _write(tmp_path, "README.md", "# hi\n")
    files = walk_repo(tmp_path, WalkConfig())
    assert [f.path for f in files] == [".gitignore", "README.md", "pytorch/main.py"]


def test_walk_skips_what_it_should(tmp_path: Path) -> None:
    _write(tmp_path, "README.md", "# hi\n")
    _write(tmp_path, "train.py", "print(1)\n")
    _write(tmp_path, ".gitignore", "outputs/\n*.log\n")
    _write(tmp_path, "outputs/x.txt", "ignored\n")
    _write(tmp_path, "run.log", "ignored\n")
    _write(tmp_path, "sub/.gitignore", "local.txt\n")
    _write(tmp_path, "sub/local.txt", "ignored\n")
    _write(tmp_path, "sub/kept.txt", "kept\n")
    _write(tmp_path, "weights.bin", b"\x00\x01")
    _write(tmp_path, "data.txt", b"abc\x00def")
    _write(tmp_path, "latin1.txt", "caf\xe9".encode("latin-1"))
    _write(tmp_path, "big.txt", "x" * 2000)
    _write(tmp_path, "node_modules/a.js", "x\n")
    _write(tmp_path, ".git/config", "x\n")
    outside = tmp_path.parent / "outside.txt"
    outside.write_text("secret\n")
    (tmp_path / "link.txt").symlink_to(outside)
    report = WalkReport()
    files = walk_repo(tmp_path, WalkConfig(max_file_bytes=1000), report)
    assert [f.path for f in files] == [".gitignore", "README.md", "sub/.gitignore", "sub/kept.txt", "train.py"]
    assert report.skipped["latin1.txt"] == "not UTF-8"
    assert report.skipped["data.txt"] == "binary"
    assert report.skipped["link.txt"] == "symlink leaving the repository"
    assert "over 1000 bytes" in report.skipped["big.txt"]


def test_include_globs_and_corpus_hash(tmp_path: Path) -> None:
    _write(tmp_path, "a.md", "a\n")
    _write(tmp_path, "b.py", "b\n")
    files = walk_repo(tmp_path, WalkConfig(include=("*.md",)))
    assert [f.path for f in files] == ["a.md"]
    h1 = corpus_hash(walk_repo(tmp_path))
    _write(tmp_path, "b.py", "c\n")
    assert corpus_hash(walk_repo(tmp_path)) != h1


def test_resolve_errors(tmp_path: Path) -> None:
    with pytest.raises(RepoError, match="does not exist"):
        resolve_repo(tmp_path / "nope", tmp_path)
    f = tmp_path / "f.txt"
    f.write_text("x")
    with pytest.raises(RepoError, match="is a file"):
        resolve_repo(f, tmp_path)
    with pytest.raises(RepoError, match="cannot clone"):
        resolve_repo("https://127.0.0.1:9/nobody/nothing.git@abc123", tmp_path)
    assert not list((tmp_path / "repos").glob("*")) if (tmp_path / "repos").exists() else True


def test_data_lists_are_skipped_but_docs_are_not(tmp_path: Path) -> None:
    _write(tmp_path, "synsets.txt", "".join(f"n{i:08d} goldfish, Carassius auratus\n" for i in range(400)))
    _write(tmp_path, "urls.txt", "".join(f"https://example.org/shard-{i}.tar\n" for i in range(400)))
    prose = "This tutorial explains how to train the model on your own data set.\n" * 100
    _write(tmp_path, "docs/tutorial.txt", prose)
    _write(tmp_path, "requirements.txt", "torch\n" * 1000)
    _write(tmp_path, "small.txt", "1\n2\n3\n")
    report = WalkReport()
    paths = [f.path for f in walk_repo(tmp_path, WalkConfig(), report)]
    assert paths == ["docs/tutorial.txt", "requirements.txt", "small.txt"]
    assert report.skipped["synsets.txt"].startswith("data file")
    assert [f.path for f in walk_repo(tmp_path, WalkConfig(skip_data_files=False))] == [
        "docs/tutorial.txt", "requirements.txt", "small.txt", "synsets.txt", "urls.txt"]


def test_json_lines_records_are_data_even_when_they_hold_prose(tmp_path: Path) -> None:
    # an evaluation's saved generations: megabytes of prose answers, one JSON record a line (qlora's eval/)
    record = '{"question": "How do I bake bread at home with a simple recipe?", "answer": "Mix flour and water."}\n'
    _write(tmp_path, "eval/generations.jsonl", record * 200)
    _write(tmp_path, "eval/small.jsonl", record)
    _write(tmp_path, "README.md", "# evals\n")
    report = WalkReport()
    assert [f.path for f in walk_repo(tmp_path, WalkConfig(), report)] == ["README.md", "eval/small.jsonl"]
    assert report.skipped["eval/generations.jsonl"].startswith("data file")
