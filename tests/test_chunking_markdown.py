"""Markdown and reStructuredText chunking: regression cases and property tests of the invariants."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlrag.chunking import chunk_text, file_lines
from mlrag.chunking.invariants import check_invariants
from mlrag.chunking.markdown import scan_markdown
from mlrag.chunking.rst import scan_rst
from mlrag.chunking.tokens import approx_tokens
from mlrag.config import ChunkingConfig

SMALL = ChunkingConfig(max_tokens=40, context_max_tokens=120, merge_tokens=12)


def words_count(text: str) -> int:
    return len(text.split())


def chunk(text: str, cfg: ChunkingConfig = ChunkingConfig(), path: str = "README.md"):  # noqa: B008
    cs = chunk_text(path, text, cfg, words_count)
    assert check_invariants({path: text}, cs, cfg, words_count) == []
    return cs


def headings(text: str) -> list[tuple[int, str]]:
    return [(b.level, b.title) for b in scan_markdown(file_lines(text)) if b.type == "heading"]


def test_comment_in_bash_fence_is_not_a_heading() -> None:
    text = "# Train\nRun it:\n```bash\n# Cora\npython citation.py --gpu 0\n# Citeseer\npython citation.py\n```\n"
    assert headings(text) == [(1, "Train")]
    (unit,) = chunk(text).units
    assert unit.title == "Train" and unit.start_line == 1 and unit.end_line == 8


def test_tilde_fences_and_longer_closers() -> None:
    text = "# A\n~~~python\n# not a heading\n```\nstill code\n~~~~\n## B\ntext\n"
    assert headings(text) == [(1, "A"), (2, "B")]
    text2 = "# A\n````md\n```\n# inner\n```\n````\n# C\n"
    assert headings(text2) == [(1, "A"), (1, "C")]


def test_unterminated_fence_runs_to_the_end() -> None:
    text = "# A\nSee:\n```\n# x\n## y\npython run.py\n"
    assert headings(text) == [(1, "A")]
    blocks = scan_markdown(file_lines(text))
    assert blocks[-1].type == "code" and blocks[-1].end == 6
    chunk(text, SMALL)


def test_inline_triple_backticks_are_not_a_fence() -> None:
    text = "Use ```x``` inline.\n# Real heading\n"
    assert headings(text) == [(1, "Real heading")]


def test_fence_nested_in_a_list_item() -> None:
    text = "# Setup\n1. Install:\n   ```bash\n   # comment\n   pip install x\n   ```\n2. Done\n"
    assert headings(text) == [(1, "Setup")]


def test_setext_html_headings_and_front_matter() -> None:
    text = "---\ntitle: x\n---\nTitle\n=====\nintro\n\nSub\n---\nbody\n<h2 align='center'>Html <b>one</b></h2>\nz\n"
    assert headings(text) == [(1, "Title"), (2, "Sub"), (2, "Html one")]
    assert scan_markdown(file_lines(text))[0].type == "code"  # the front matter


def test_code_block_stays_with_its_intro_and_explanation() -> None:
    filler = " ".join(["word"] * 30)
    text = (
        f"# Usage\n{filler}\n\n{filler}\n\nTrain on Citeseer:\n\n```bash\npython citation.py --dataset Citeseer\n```\n"
        f"This trains the model.\n\n{filler}\n"
    )
    cs = chunk(text, ChunkingConfig(max_tokens=45, context_max_tokens=200, merge_tokens=10))
    (unit,) = [u for u in cs.units if "citation.py" in u.text]
    assert "Train on Citeseer:" in unit.text and "This trains the model." in unit.text
    assert unit.title == "Usage" and unit.parent_id is not None


def test_long_code_block_splits_by_lines_keeping_the_title() -> None:
    code = "".join(f"python run.py --seed {i} --lr 0.1\n" for i in range(40))
    text = f"# A\n## Runs\n```bash\n{code}```\n"
    cs = chunk(text, SMALL)
    assert len(cs.units) > 2
    assert all(u.title == "A > Runs" for u in cs.units)
    assert {u.parent_id for u in cs.units} != {None}


def test_tiny_sections_merge_and_parents_are_sections() -> None:
    text = "# Doc\n## A\nshort a\n## B\nshort b\n"
    cs = chunk(text)
    assert len(cs.units) == 1 and cs.units[0].parent_id is None
    big = "# Doc\n" + "".join(f"## S{i}\n" + "word " * 30 + "\n" for i in range(6))
    cs = chunk(big, SMALL)
    parents = {c.id: c for c in cs.contexts}
    for u in cs.units:
        assert u.parent_id is None or parents[u.parent_id].start_line <= u.start_line


def test_empty_and_blank_files() -> None:
    assert chunk("").units == ()
    assert chunk("\n\n  \n").units == ()


def test_rst_sections_and_literal_blocks() -> None:
    text = (
        "=====\nTitle\n=====\n\nIntro.\n\nUsage\n-----\n\nRun this::\n\n    # not a title\n    python x.py\n\n"
        ".. code-block:: bash\n\n   python y.py\n   ---\n\nDetails\n~~~~~~~\nText.\n"
    )
    blocks = scan_rst(file_lines(text))
    assert [(b.level, b.title) for b in blocks if b.type == "heading"] == [(1, "Title"), (2, "Usage"), (3, "Details")]
    assert sum(b.type == "code" for b in blocks) == 2
    cs = chunk(text, ChunkingConfig(merge_tokens=0), path="docs/index.rst")
    assert {u.kind for u in cs.units} == {"rst"}
    assert any(u.title == "Title > Usage" and "python y.py" in u.text for u in cs.units)


# ------------------------------------------------------------------------------------------- properties

_word = st.sampled_from(["train", "the", "model", "python", "x.py", "--lr", "0.1", "# note", "|", "data", "é"])
_line = st.lists(_word, min_size=1, max_size=12).map(" ".join)


@st.composite
def markdown_docs(draw: st.DrawFn) -> str:
    parts: list[str] = []
    for _ in range(draw(st.integers(0, 14))):
        kind = draw(
            st.sampled_from(["heading", "para", "fence", "list", "blank", "indented", "table", "html", "setext"])
        )
        if kind == "heading":
            parts.append("#" * draw(st.integers(1, 4)) + " " + draw(_line) + "\n")
        elif kind == "para":
            parts.append("".join(draw(_line) + "\n" for _ in range(draw(st.integers(1, 4)))))
        elif kind == "fence":
            marker = draw(st.sampled_from(["```", "~~~", "````"]))
            body = "".join(
                draw(st.sampled_from(["# comment\n", "python run.py\n", "```\n", "\n", "## x\n"]))
                for _ in range(draw(st.integers(0, 6)))
            )
            closed = draw(st.booleans())
            parts.append(f"{marker}bash\n{body}" + (f"{marker}\n" if closed else ""))
        elif kind == "list":
            parts.append("".join(f"- {draw(_line)}\n" for _ in range(draw(st.integers(1, 3)))))
        elif kind == "blank":
            parts.append("\n" * draw(st.integers(1, 2)))
        elif kind == "indented":
            parts.append("\n    code line\n    # more\n")
        elif kind == "table":
            parts.append("| a | b |\n|---|---|\n| 1 | 2 |\n")
        elif kind == "html":
            parts.append("<p align='center'>\n<img src='x.png'>\n</p>\n")
        else:
            parts.append(draw(_line) + "\n" + draw(st.sampled_from(["===", "---"])) + "\n")
    text = "".join(parts)
    if text and draw(st.booleans()):
        text = text.rstrip("\n")  # last line without a newline
    return text


@st.composite
def configs(draw: st.DrawFn) -> ChunkingConfig:
    m = draw(st.integers(4, 60))
    ctx = draw(st.integers(m, 4 * m))
    section = draw(st.sampled_from([0, ctx, 2 * ctx, 3072]))  # off, equal, the usual ratio, the default
    return ChunkingConfig(
        max_tokens=m, context_max_tokens=ctx, section_max_tokens=section, merge_tokens=draw(st.integers(0, m))
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(markdown_docs(), configs())
def test_markdown_invariants(text: str, cfg: ChunkingConfig) -> None:
    for count in (words_count, approx_tokens):
        cs = chunk_text("docs/guide.md", text, cfg, count)
        assert check_invariants({"docs/guide.md": text}, cs, cfg, count) == []
        inside_fence = set()
        for b in scan_markdown(file_lines(text)):
            if b.type == "code":
                inside_fence.update(range(b.start, b.end))
        assert not any(b.type == "heading" and b.start in inside_fence for b in scan_markdown(file_lines(text)))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "Title\n=====\n",
                "Sub\n---\n",
                "Para text here.\n",
                "\n",
                "Code::\n\n    x = 1\n\n",
                ".. code-block:: python\n\n   y = 2\n",
                ".. note::\n   careful\n",
            ]
        ),
        max_size=20,
    ),
    configs(),
)
def test_rst_invariants(parts: list[str], cfg: ChunkingConfig) -> None:
    text = "".join(parts)
    cs = chunk_text("docs/x.rst", text, cfg, words_count)
    assert check_invariants({"docs/x.rst": text}, cs, cfg, words_count) == []


def test_crlf_line_endings() -> None:
    text = "# Title\r\nIntro:\r\n```bash\r\n# Cora\r\npython a.py\r\n```\r\nSetup\r\n=====\r\nbody\r\n"
    assert headings(text) == [(1, "Title"), (1, "Setup")]
    cs = chunk(text, ChunkingConfig(merge_tokens=0))
    assert cs.units[0].text.endswith("```\r\n")
