"""Two context levels: level-1 contexts (``context_max_tokens``) nest in level-2 sections (``section_max_tokens``).

Property tests on generated Markdown and Python check ``check_invariants`` (which checks the levels) and compare
against the single-level reference (``section_max_tokens=0``): adding level 2 never changes the units or the
level-1 contexts. Example tests cover every chunker that packs contexts and a LAVIS-like README.
"""

from __future__ import annotations

import ast
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlrag.chunking import ChunkSet, chunk_files, chunk_text, file_lines
from mlrag.chunking.invariants import check_invariants
from mlrag.chunking.tokens import approx_tokens
from mlrag.config import ChunkingConfig, load_config
from mlrag.errors import ConfigError
from mlrag.types import Chunk


def words_count(text: str) -> int:
    return len(text.split())


def levels(cs: ChunkSet) -> dict[int, list[Chunk]]:
    out: dict[int, list[Chunk]] = {1: [], 2: []}
    for c in cs.contexts:
        out[c.meta["level"]].append(c)
    return out


def single_level(cfg: ChunkingConfig) -> ChunkingConfig:
    return ChunkingConfig(
        max_tokens=cfg.max_tokens,
        context_max_tokens=cfg.context_max_tokens,
        section_max_tokens=0,
        merge_tokens=cfg.merge_tokens,
    )


def assert_levels(path: str, text: str, cfg: ChunkingConfig, count) -> ChunkSet:  # type: ignore[no-untyped-def]
    """Invariants hold, and level 2 adds contexts without changing units or level-1 contexts."""
    cs = chunk_text(path, text, cfg, count)
    assert check_invariants({path: text}, cs, cfg, count) == []
    ref = chunk_text(path, text, single_level(cfg), count)
    assert check_invariants({path: text}, ref, single_level(cfg), count) == []
    assert [(u.id, u.parent_id) for u in cs.units] == [(u.id, u.parent_id) for u in ref.units]
    assert [c.id for c in levels(cs)[1]] == [c.id for c in ref.contexts]
    assert all(c.meta["level"] == 1 and c.parent_id is None for c in ref.contexts)
    by_id = cs.by_id
    for u in cs.units:  # unit inside its parent inside its section
        chain = [u]
        if u.parent_id:
            chain.append(by_id[u.parent_id])
        if u.meta.get("section_id"):
            chain.append(by_id[u.meta["section_id"]])
        for inner, outer in zip(chain, chain[1:]):
            assert outer.start_line <= inner.start_line and inner.end_line <= outer.end_line
    return cs


@st.composite
def configs(draw: st.DrawFn) -> ChunkingConfig:
    m = draw(st.integers(6, 40))
    ctx = draw(st.integers(m, 3 * m))
    return ChunkingConfig(
        max_tokens=m,
        context_max_tokens=ctx,
        section_max_tokens=draw(st.integers(ctx, 4 * ctx)),
        merge_tokens=draw(st.integers(0, m)),
    )


# ------------------------------------------------------------------------------------------- Markdown

_word = st.sampled_from(["train", "the", "model", "python", "x.py", "--lr", "0.1", "# note", "data", "é"])
_para = st.lists(_word, min_size=1, max_size=40).map(lambda ws: " ".join(ws) + "\n")


@st.composite
def sectioned_markdown(draw: st.DrawFn) -> str:
    """Nested sections of very different sizes, with code blocks and tiny sections."""
    out: list[str] = []
    if draw(st.booleans()):
        out.append(draw(_para) + "\n")
    for _ in range(draw(st.integers(0, 16))):
        out.append("#" * draw(st.integers(1, 4)) + " " + draw(_word) + "\n\n")
        for _ in range(draw(st.integers(0, 4))):
            kind = draw(st.sampled_from(["para", "para", "fence", "list"]))
            if kind == "para":
                out.append(draw(_para) + "\n")
            elif kind == "fence":
                body = "".join(draw(st.sampled_from(["# comment\n", "python run.py --lr 1\n", "\n"])) for _ in range(4))
                out.append(f"Run:\n```bash\n{body}```\n\n")
            else:
                out.append("".join(f"- {draw(_para)}" for _ in range(draw(st.integers(1, 3)))) + "\n")
    return "".join(out)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sectioned_markdown(), configs())
def test_markdown_levels_nest(text: str, cfg: ChunkingConfig) -> None:
    for count in (words_count, approx_tokens):
        assert_levels("docs/guide.md", text, cfg, count)


# ------------------------------------------------------------------------------------------- Python


@st.composite
def python_modules(draw: st.DrawFn) -> str:
    out = ['"""Doc."""\nimport os\n\n']
    for k in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(["func", "class", "class", "stmt", "main"]))
        if kind == "func":
            body = "".join(f"    x{i} = {i} + len('a b c')\n" for i in range(draw(st.integers(1, 15))))
            out.append(f"@dec\ndef f{k}(a, b=2):\n    '''Doc.'''\n{body}    return 1\n\n")
        elif kind == "class":
            meths = "".join(
                f"    def m{i}(self):\n"
                + "".join(f"        y = {j} + self.z\n" for j in range(draw(st.integers(1, 8))))
                + "\n"
                for i in range(draw(st.integers(0, 12)))
            )
            out.append(f"class C{k}(object):\n    '''Doc.'''\n    attr = 1\n\n{meths}")
        elif kind == "stmt":
            out.append(f"v{k} = {{'k': [1, 2, 3]}}\n\n")
        else:
            out.append("if __name__ == '__main__':\n    main()\n")
    text = "".join(out)
    ast.parse(text)
    return text


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(python_modules(), configs())
def test_python_levels_nest(text: str, cfg: ChunkingConfig) -> None:
    for count in (words_count, approx_tokens):
        assert_levels("pkg/mod.py", text, cfg, count)


def test_large_class_is_the_level2_context_of_its_method_runs() -> None:
    meths = "".join(f"    def m{i}(self):\n" + "        y = 1 + 2\n" * 6 + "\n" for i in range(12))
    text = f"import os\n\n\nclass Big:\n    '''Doc.'''\n\n{meths}"
    cfg = ChunkingConfig(max_tokens=30, context_max_tokens=80, section_max_tokens=400, merge_tokens=0)
    cs = assert_levels("big.py", text, cfg, words_count)
    by_level = levels(cs)
    (cls,) = by_level[2]
    assert cls.title == "Big" and cls.start_line == 4 and cls.end_line == len(file_lines(text.rstrip("\n")))
    assert len(by_level[1]) > 1 and all(c.parent_id == cls.id for c in by_level[1])
    assert all(u.meta.get("section_id") == cls.id for u in cs.units if u.title.startswith("Big"))
    assert cs.units[0].title == "<module>" and "section_id" not in cs.units[0].meta  # outside every node


# ------------------------------------------------------------------------------------------- other formats


def test_rst_notebook_and_windows_have_both_levels() -> None:
    cfg = ChunkingConfig(max_tokens=20, context_max_tokens=45, section_max_tokens=130, merge_tokens=0)
    para = "word " * 12 + "\n"
    rst = "Title\n=====\n\n" + "".join(f"Sub {i}\n-----\n\n{para}\n{para}\n" for i in range(8))
    cells = [{"cell_type": "markdown", "source": [f"## Part {i}\n", para]} for i in range(8)]
    cells += [{"cell_type": "code", "source": ["x = 1 + 2\n"], "outputs": []}]
    nb = json.dumps({"cells": cells, "metadata": {}, "nbformat": 4}, indent=1)
    text = "".join(para + "\n" for _ in range(30))
    for path, body in (("docs/a.rst", rst), ("nb.ipynb", nb), ("notes.txt", text)):
        cs = chunk_text(path, body, cfg, words_count)
        assert check_invariants({path: body}, cs, cfg, words_count) == []
        by_level = levels(cs)
        assert by_level[1] and by_level[2], path
        assert all(c.parent_id in {s.id for s in by_level[2]} for c in by_level[1] if c.parent_id), path
    off = chunk_text("notes.txt", text, ChunkingConfig(max_tokens=20, context_max_tokens=45, section_max_tokens=0))
    assert all(c.meta["level"] == 1 for c in off.contexts) and all("section_id" not in u.meta for u in off.units)


# ------------------------------------------------------------------------------------------- LAVIS-like README


def _lavis_like() -> str:
    def para(n: int, w: str = "text") -> str:
        return " ".join([w] * n) + "\n\n"

    code = "```python\nimport torch\nfrom lavis.models import load_model_and_preprocess\nmodel = load(name)\n```\n\n"
    subsections = "".join(f"### {name}\n\n{para(30)}{code}{para(20)}" for name in ("Model Zoo", "Captioning", "VQA"))
    tiny = "".join(f"## {name}\n\n{para(6)}" for name in ("Notebooks", "Documentation", "Ethics", "License"))
    return (
        "# LAVIS\n\n" + para(20) + "## Introduction\n\n" + para(60) + para(60) + "## Installation\n\n"
        + para(10) + "```bash\npip install salesforce-lavis\n```\n\n" + "## Getting Started\n\n" + para(15)
        + subsections + tiny
    )  # fmt: skip


def test_lavis_like_readme_long_section_and_tiny_sections_are_one_level2_context() -> None:
    text = _lavis_like()
    lines = file_lines(text)
    start = next(i for i, line in enumerate(lines) if line.startswith("### Model Zoo")) + 1  # 1-based
    end = len(lines) - 1  # the last non-blank line, 1-based
    assert lines[end - 1].strip() and not lines[end].strip()
    cfg = ChunkingConfig(max_tokens=60, context_max_tokens=120, section_max_tokens=400, merge_tokens=10)
    assert words_count("".join(lines[start - 1 : end])) > cfg.context_max_tokens  # too large for level 1
    cs = assert_levels("README.md", text, cfg, words_count)

    def holds(c: Chunk) -> bool:
        return c.start_line <= start and end <= c.end_line

    by_level = levels(cs)
    assert not [c for c in by_level[1] if holds(c)]
    (section,) = [c for c in by_level[2] if holds(c)]
    assert section.title == "LAVIS > Getting Started" and lines[section.start_line - 1] == "## Getting Started\n"
    assert section.text == "".join(lines[section.start_line - 1 : section.end_line])
    inside = [u for u in cs.units if u.start_line >= section.start_line]
    assert inside and all(u.meta["section_id"] == section.id for u in inside)
    # the single-level chunker has no unit holding the span
    off = chunk_text("README.md", text, single_level(cfg), words_count)
    assert not [c for c in (*off.contexts, *off.units) if holds(c)]


# ------------------------------------------------------------------------------------------- config


def test_section_max_tokens_is_validated() -> None:
    assert ChunkingConfig().section_max_tokens == 3072
    assert ChunkingConfig(context_max_tokens=4096, section_max_tokens=0).section_max_tokens == 0
    with pytest.raises(ConfigError, match=r"chunking.section_max_tokens: must be 0 \(off\) or >= .*1024.*512"):
        ChunkingConfig(section_max_tokens=512)
    with pytest.raises(ConfigError, match="section_max_tokens"):
        load_config(overrides=["chunking.section_max_tokens=100"])
    with pytest.raises(ConfigError, match="must be >= 0"):
        ChunkingConfig(section_max_tokens=-1, context_max_tokens=1024)


def test_chunk_files_default_config_has_both_levels() -> None:
    para = "word " * 40 + "\n\n"
    readme = "# Top\n\n" + "".join(f"## S{i}\n\n{para * 8}" for i in range(12))
    cs = chunk_files([("README.md", readme)], ChunkingConfig())
    assert check_invariants({"README.md": readme}, cs, ChunkingConfig(), approx_tokens) == []
    assert {c.meta["level"] for c in cs.contexts} == {1, 2}
