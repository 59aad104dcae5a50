"""Python chunking: ast units, regression cases and property tests on generated modules."""

from __future__ import annotations

import ast
import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlrag.chunking import chunk_text
from mlrag.chunking.invariants import check_invariants
from mlrag.chunking.tokens import approx_tokens
from mlrag.config import ChunkingConfig


def words_count(text: str) -> int:
    return len(text.split())


def chunk(text: str, cfg: ChunkingConfig = ChunkingConfig(), path: str = "pkg/mod.py"):  # noqa: B008
    cs = chunk_text(path, text, cfg, words_count)
    assert check_invariants({path: text}, cs, cfg, words_count) == []
    return cs


SOURCE = '''"""Module docstring."""
import os
from typing import Any

# a comment about CONST
CONST = 3


@decorator(arg=1)
@other
def decorated(x: int) -> int:
    """Doc."""
    return x + CONST


class Small:
    def method(self) -> None:
        pass


if __name__ == "__main__":
    decorated(1)
'''


def test_units_follow_top_level_statements() -> None:
    cs = chunk(SOURCE, ChunkingConfig(merge_tokens=0))
    got = [(u.title, u.start_line, u.end_line) for u in cs.units]
    assert got == [
        ("<module>", 1, 3),
        ("", 5, 6),
        ("decorated", 9, 13),
        ("Small", 16, 18),
        ("__main__", 21, 22),
    ]
    assert cs.units[2].text.startswith("@decorator(arg=1)\n@other\ndef decorated")
    assert all(u.kind == "python" and u.parent_id is None for u in cs.units)


def test_small_neighbours_merge_but_not_with_the_main_block() -> None:
    cs = chunk(SOURCE)
    assert cs.units[-1].title == "__main__"
    assert len(cs.units) < 5


def test_syntax_error_falls_back_to_windows(caplog: pytest.LogCaptureFixture) -> None:
    text = "def broken(:\n    pass\n\nprint 'py2'\n"
    with caplog.at_level(logging.WARNING, logger="mlrag.chunking.python_code"):
        cs = chunk(text)
    assert cs.units and "not valid Python" in caplog.text
    assert cs.units[0].start_line == 1


def test_class_larger_than_the_limit_splits_into_methods() -> None:
    methods = "".join(
        f"    def m{i}(self, a, b):\n        '''Method {i}.'''\n        x = a + b * {i}\n        return x - {i}\n\n"
        for i in range(12)
    )
    text = f"class Trainer(Base):\n    '''Trains.'''\n    rate = 0.1\n\n{methods}"
    cfg = ChunkingConfig(max_tokens=40, context_max_tokens=400, merge_tokens=10)
    cs = chunk(text, cfg)
    assert len(cs.units) > 3
    assert cs.units[0].title.startswith("Trainer") and "class Trainer(Base):" in cs.units[0].text
    assert any(u.title.startswith("Trainer.m") for u in cs.units)
    (parent,) = cs.contexts
    assert parent.start_line == 1 and parent.title == "Trainer"
    assert {u.parent_id for u in cs.units} == {parent.id}
    # a class also over context_max_tokens: pieces get windows of units as parents, never the whole class
    cs = chunk(text, ChunkingConfig(max_tokens=40, context_max_tokens=80, merge_tokens=10))
    assert len(cs.contexts) > 1


def test_huge_literal_is_cut_by_lines() -> None:
    text = "TABLE = [\n" + "".join(f"    {i}, {i + 1}, {i + 2},\n" for i in range(200)) + "]\n"
    cs = chunk(text, ChunkingConfig(max_tokens=50, context_max_tokens=100))
    assert len(cs.units) > 5


def test_one_line_compound_statement_over_the_limit() -> None:
    text = "def f(): return [" + ", ".join(str(i) for i in range(100)) + "]\n"
    cs = chunk(text, ChunkingConfig(max_tokens=10, context_max_tokens=20))
    assert len(cs.units) == 1


def test_semicolons_and_comments_at_the_end() -> None:
    text = "a = 1; b = 2\n\n\n# trailing comment\n# another\n"
    cs = chunk(text)
    assert cs.units[-1].end_line == 5


# ------------------------------------------------------------------------------------------- properties


@st.composite
def python_modules(draw: st.DrawFn) -> str:
    out: list[str] = []
    if draw(st.booleans()):
        out.append('"""Doc\n\nmore."""\n')
    out.append("import os\n" * draw(st.integers(0, 2)))
    for _ in range(draw(st.integers(0, 10))):
        kind = draw(st.sampled_from(["func", "class", "stmt", "comment", "blank", "main", "if"]))
        if kind == "func":
            deco = draw(st.sampled_from(["", "@dec\n", "@a.b(1)\n@c\n"]))
            body = "".join(f"    x{i} = {i} + len('a b c')\n" for i in range(draw(st.integers(1, 12))))
            out.append(f"{deco}def f{len(out)}(a, b=2):\n    '''Doc.'''\n{body}    return 1\n")
        elif kind == "class":
            meths = "".join(
                f"    @property\n    def m{i}(self):\n"
                + "".join(f"        y = {j}\n" for j in range(draw(st.integers(1, 6))))
                for i in range(draw(st.integers(0, 5)))
            )
            out.append(f"class C{len(out)}(object):\n    '''Doc.'''\n    attr = 1\n{meths}")
        elif kind == "stmt":
            out.append(f"v{len(out)} = {{'k': [1, 2, 3]}}\n")
        elif kind == "comment":
            out.append("# a comment line\n")
        elif kind == "blank":
            out.append("\n")
        elif kind == "main":
            out.append("if __name__ == '__main__':\n    main()\n")
        else:
            out.append("if x:\n    pass\nelse:\n    y = 1\n    z = 2\n")
    text = "".join(out)
    ast.parse(text)
    return text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(python_modules(), st.integers(6, 80), st.integers(1, 4), st.integers(0, 40), st.sampled_from([0, 1, 3]))
def test_python_invariants(text: str, max_tokens: int, ctx_factor: int, merge: int, section_factor: int) -> None:
    ctx = max_tokens * ctx_factor
    cfg = ChunkingConfig(
        max_tokens=max_tokens, context_max_tokens=ctx, section_max_tokens=ctx * section_factor, merge_tokens=merge
    )
    for count in (words_count, approx_tokens):
        cs = chunk_text("m.py", text, cfg, count)
        assert check_invariants({"m.py": text}, cs, cfg, count) == []


def test_crlf_and_old_mac_newlines() -> None:
    crlf = "import os\r\n\r\n\r\ndef f():\r\n    return 1\r\n"
    cs = chunk(crlf, ChunkingConfig(merge_tokens=0))
    assert [u.title for u in cs.units] == ["<module>", "f"]
    old_mac = "import os\rdef f():\r    return 1\r"  # ast counts "\r" as a newline; the file has one line
    cs = chunk(old_mac)
    assert len(cs.units) == 1 and cs.units[0].start_line == 1
