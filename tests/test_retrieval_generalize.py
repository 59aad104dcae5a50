"""Retrieval that does not depend on one repository: data-like units, long-section windows, query expansion
from the repository's own names."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlrag.chunking import chunk_files
from mlrag.chunking.datalike import count_data_like, data_like_reason, flag_data_like
from mlrag.config import ChunkingConfig, Config
from mlrag.errors import ConfigError
from mlrag.index import Index
from mlrag.retrieval.context import pack, section_windows
from mlrag.retrieval.query import expand_query, prefix_names
from mlrag.types import Chunk

LOG = "".join(f"epoch {i} step {i * 50} loss {1 / (i + 1):.4f} acc {i / 40:.3f} lr 0.0001\n" for i in range(40))
TABLE = "".join(" ".join(f"{(i * 31 + j * 17) % 997 / 10:.1f}" for j in range(8)) + "\n" for i in range(30))
LYRICS = ("I walk the line tonight my love\nand the river runs so cold\n" * 6) + "Verse two begins here now\n"
TOKENS = " ".join(["C4_q", "E4_e", "G4_q", "C5_h"] * 60)
PROSE = (
    "This repository trains graph neural networks on citation datasets. Run the training script with the "
    "dataset name and the number of layers you want, then evaluate the saved checkpoint on the test split.\n"
) * 4
CODE = (
    "import argparse\n\nparser = argparse.ArgumentParser()\n"
    + "".join(
        f'parser.add_argument(\n    "--opt{i}",\n    type=int,\n    default={i},\n    help="option {i}",\n)\n'
        for i in range(12)
    )
    + "args = parser.parse_args()\n"
)


@pytest.mark.parametrize(
    ("text", "reason"),
    [(LOG, "numeric"), (TABLE, "numeric"), (LYRICS, "repeated lines"), (TOKENS, "repeated tokens")],
)
def test_data_like_text_is_recognised_by_content(text: str, reason: str) -> None:
    assert data_like_reason(text) == reason


RESULTS = "# Results\n\n| model | acc |\n|---|---|\n| a | 0.9 |\n"


@pytest.mark.parametrize("text", [PROSE, CODE, "1 2 3 4 5", "", RESULTS])
def test_documentation_code_and_short_text_are_not_data_like(text: str) -> None:
    assert data_like_reason(text) is None


def test_chunk_files_flags_units_whatever_the_file_name() -> None:
    files = [("README.md", "# Intro\n\n" + PROSE), ("notes.md", LOG), ("train.py", CODE), ("x.txt", TABLE)]
    cs = chunk_files(files, ChunkingConfig())
    flagged = {u.path for u in cs.units if u.meta.get("data_like")}
    assert flagged == {"notes.md", "x.txt"}  # a Markdown name does not protect a log; cards never flagged
    assert count_data_like(cs.units) == sum(1 for u in cs.units if u.path in flagged)
    assert any(u.kind == "card" for u in cs.units)
    off = chunk_files(files, ChunkingConfig(data_like=False))
    assert count_data_like(off.units) == 0
    assert [u.id for u in off.units] == [u.id for u in cs.units]  # the flag never changes a unit's identity


def test_flag_data_like_leaves_other_units_untouched() -> None:
    a = Chunk.make(PROSE, "README.md", 1, 4, "markdown")
    b = Chunk.make(LOG, "log.md", 1, 40, "markdown", meta={"level": 0})
    out = flag_data_like([a, b])
    assert out[0] is a and out[1].meta == {"level": 0, "data_like": True} and out[1].id == b.id


def _repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "README.md").write_text("# Project\n\n" + PROSE)
    (root / "results.md").write_text(LOG)
    return root


def _open(root: Path, tmp_path: Path, **retrieval: object) -> Index:
    cfg = Config().replace({"embedding": {"model": "fake"}, "retrieval": {"dense": "full", **retrieval}})
    return Index.open(root, cfg, name="repo", out=tmp_path / "idx" / str(sorted(retrieval.items())), progress=False)


def test_data_like_units_stay_out_of_dense_search_but_not_bm25(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    query = LOG.splitlines()[3]  # the fake embedder maps equal text close: dense would rank the log first
    lexical = _open(root, tmp_path)
    assert any(u.meta.get("data_like") for u in lexical.chunks)
    flagged = {row for row, u in enumerate(lexical.chunks) if u.meta.get("data_like")}
    assert flagged and not flagged & {row for row, _ in lexical.searcher.rank(query, 10, mode="dense")}
    assert flagged & {row for row, _ in lexical.searcher.rank(query, 10, mode="bm25")}
    skip = _open(root, tmp_path, data_like="skip")
    assert not flagged & {row for row, _ in skip.searcher.rank(query, 10, mode="bm25")}
    everything = _open(root, tmp_path, data_like="all")
    assert flagged & {row for row, _ in everything.searcher.rank(query, 10, mode="dense")}
    with pytest.raises(ConfigError):
        Config().replace({"retrieval": {"data_like": "sometimes"}})


def _long_section() -> tuple[Chunk, Chunk, Chunk]:
    blocks = [f"Paragraph {i} about installing drivers and general setup of the machine.\n" * 3 for i in range(40)]
    blocks[33] = "To fine-tune on GLUE run:\n\n```bash\npython run_classifier.py --task_name MRPC --do_train\n```\n"
    text = "# Usage\n\n" + "\n".join(blocks)
    n = text.count("\n")
    section = Chunk.make(text, "README.md", 1, n, "markdown", title="Usage", meta={"level": 2})
    lines = text.split("\n")
    start = next(i for i, ln in enumerate(lines) if ln.startswith("To fine-tune")) + 1
    unit_text = "".join(x + "\n" for x in lines[start - 1 : start + 4])
    unit = Chunk.make(
        unit_text, "README.md", start, start + 4, "markdown", title="Usage", parent_id=section.id,
        meta={"section_id": section.id},
    )  # fmt: skip
    other = Chunk.make("python other.py --x 1\n" * 60, "other.md", 1, 60, "markdown")
    return section, unit, other


def test_a_long_section_gives_the_windows_that_match_the_task() -> None:
    section, unit, other = _long_section()
    assert len(section.text) > 6000
    query = "fine-tune on the MRPC task of GLUE with run_classifier.py"
    hits = pack([(unit, 1.0), (other, 0.5)], {section.id: section}, k=5, budget_chars=4000, query=query, windows=True)
    first = hits[0].text
    assert "--task_name MRPC" in first and first.startswith("Usage\n")
    assert "Paragraph 0 " not in first  # not the section's first characters
    assert len(first) <= 2000 and sum(len(h.text) for h in hits) <= 4000
    assert len(hits) == 2  # half the budget at most: the next hit still gets its place
    off = pack([(unit, 1.0)], {section.id: section}, k=5, budget_chars=4000, query=query, windows=False)
    assert off[0].text == unit.text  # the old rule: the unit alone


def test_section_windows_never_exceed_the_limit() -> None:
    section, unit, _ = _long_section()
    for limit in (50, 300, 1000, 5000):
        text = section_windows(section, unit, "MRPC drivers", limit)
        assert 0 < len(text) <= limit


def test_prefix_names_come_from_the_vocabulary_only() -> None:
    vocab = {"seq_len", "pred_len", "hidden_channels", "train"}
    assert prefix_names("with a sequence length of 96 and 64 hidden channels", vocab) == [
        "hidden_channels",
        "seq_len",
    ]
    assert prefix_names("with a sequence length of 96", {"train"}) == []
    assert expand_query("predict with a prediction length of 24", vocab).endswith("pred_len")
    assert expand_query("sequence length 96", set()) == "sequence length 96"


def test_profiles_load_and_only_change_retrieval_or_generation_settings() -> None:
    from mlrag.config import CONFIG_DIR, load_config

    profiles = sorted((CONFIG_DIR / "profiles").glob("*.yaml"))
    assert profiles, "configs/profiles/ ships at least one opt-in profile"
    default = Config().to_dict()
    for path in profiles:
        cfg = load_config(path).to_dict()
        changed = {k for k in default if cfg[k] != default[k]}
        assert changed <= {"retrieval", "chunking", "generation"}, (path.name, changed)
        if "generation" in changed:  # a generation profile changes how answers are made, never which model
            assert cfg["generation"]["llm"] == default["generation"]["llm"], path.name
        assert cfg != default, path.name
