"""reStructuredText (``.rst``) into sections with their code blocks.

A line-based reader, like the Markdown one, because chunking needs only block boundaries with exact line
ranges (docutils builds a tree without reliable end lines and fails on unknown Sphinx directives). Section
titles may use any punctuation adornment, underline only or over- and underline; levels follow the order in
which the styles first appear, as in docutils. ``.. code-block::``, ``.. code::``, ``.. sourcecode::`` and
the indented literal block after a paragraph ending in ``::`` are code blocks; other directives, comments,
lists and paragraphs are prose. Sectioning and packing live in ``sections.py``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .base import ChunkSet, CountTokens, LineTokens, file_lines, is_blank, trim
from .sections import Block, sectioned_chunkset

if TYPE_CHECKING:
    from ..config import ChunkingConfig

_ADORN = re.compile(r"^([!-/:-@\[-`{-~])\1{2,}[ \t]*\r?$")
_CODE_DIRECTIVE = re.compile(r"^([ \t]*)\.\.[ \t]+(?:code-block|code|sourcecode|ipython|jupyter-execute)::")
_DIRECTIVE = re.compile(r"^([ \t]*)\.\.(?:[ \t]|\r?$)")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _indented_end(lines: Sequence[str], j: int, base: int) -> int:
    """End of the run of blank lines or lines indented deeper than ``base`` starting at ``j`` (trimmed)."""
    n = len(lines)
    k = j
    while k < n and (is_blank(lines[k]) or _indent(lines[k]) > base):
        k += 1
    while k > j and is_blank(lines[k - 1]):
        k -= 1
    return k


def scan_rst(lines: Sequence[str]) -> list[Block]:
    """Block records of a reStructuredText file, in order."""
    blocks: list[Block] = []
    levels: dict[tuple[str, bool], int] = {}
    n = len(lines)
    i = 0

    def level(style: tuple[str, bool]) -> int:
        return levels.setdefault(style, len(levels) + 1)

    while i < n:
        line = lines[i]
        if is_blank(line):
            i += 1
            continue
        nxt = lines[i + 1] if i + 1 < n else ""
        m_over = _ADORN.match(line)
        if m_over and i + 2 < n and not is_blank(nxt) and _ADORN.match(lines[i + 2] or ""):
            ch = m_over.group(1)
            if lines[i + 2].strip()[0] == ch:
                blocks.append(Block(i, i + 3, "heading", level((ch, True)), nxt.strip()))
                i += 3
                continue
        m_under = _ADORN.match(nxt)
        if m_under and not m_over and _indent(line) == 0 and len(nxt.strip()) >= min(3, len(line.strip())):
            blocks.append(Block(i, i + 2, "heading", level((m_under.group(1), False)), line.strip()))
            i += 2
            continue
        m = _CODE_DIRECTIVE.match(line)
        if m:
            end = max(i + 1, _indented_end(lines, i + 1, len(m.group(1).expandtabs())))
            blocks.append(Block(i, end, "code"))
            i = end
            continue
        m = _DIRECTIVE.match(line)
        if m:
            end = max(i + 1, _indented_end(lines, i + 1, len(m.group(1).expandtabs())))
            blocks.append(Block(i, end, "prose"))
            i = end
            continue
        j = i + 1
        while j < n and not is_blank(lines[j]):
            j += 1
        blocks.append(Block(i, j, "prose"))
        base = _indent(line)
        if lines[j - 1].rstrip().endswith("::"):
            k = j
            while k < n and is_blank(lines[k]):
                k += 1
            if k < n and _indent(lines[k]) > base:
                end = _indented_end(lines, k, base)
                s, e = trim(lines, k, end)
                blocks.append(Block(s, e, "code"))
                j = e
        i = j
    return blocks


def chunk_rst(path: str, text: str, config: "ChunkingConfig", count_tokens: CountTokens) -> ChunkSet:
    """Search units and contexts of a reStructuredText file."""
    lines = file_lines(text)
    tok = LineTokens(lines, count_tokens)
    return sectioned_chunkset(path, lines, scan_rst(lines), "rst", config, tok)
