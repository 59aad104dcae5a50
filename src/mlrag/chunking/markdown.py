"""Markdown (``.md``, ``.markdown``, README without an extension) into sections with their code blocks.

The scanner is a small line-based block reader rather than a full CommonMark parser: chunking needs only block
boundaries with exact line ranges (headings, fenced/indented code, paragraphs, lists, tables, HTML), it must be
fast on large doc trees, and it must be forgiving where READMEs are sloppy. Choices, each a regression case:

* a line inside a fence is never a heading (``# comment`` in a bash block);
* fences use backticks or tildes (3 or more; closed by the same character, at least as many), may carry an info
  string, and may be indented (fences nested in list items); an unterminated fence runs to the end of the file;
* ATX (``## Title``), setext (``Title`` over ``===``/``---``) and one-line HTML headings (``<h2>Title</h2>``);
* YAML front matter and indented code are code blocks; lists, tables, block quotes and HTML blocks are prose.

Sectioning, gluing code to its prose and packing live in ``sections.py``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .base import ChunkSet, CountTokens, LineTokens, file_lines, is_blank, trim
from .sections import Block, sectioned_chunkset

if TYPE_CHECKING:
    from ..config import ChunkingConfig

_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})(.*)$")
_FENCE_CLOSE = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*\r?$")
_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*\r?$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*\r?$")
_HTML_H = re.compile(r"^[ \t]*<h([1-6])\b[^>]*>(.*?)</h\1>[ \t]*\r?$", re.I)
_TAGS = re.compile(r"<[^>]*>")
_LIST = re.compile(r"^ {0,3}(?:[-*+]|\d{1,9}[.)])(?:[ \t]|\r?$)")
_QUOTE = re.compile(r"^ {0,3}>")
_HR = re.compile(r"^ {0,3}(?:(?:\*[ \t]*){3,}|(?:_[ \t]*){3,})\r?$")


def _fence_open(line: str) -> tuple[str, int] | None:
    m = _FENCE.match(line)
    if m is None:
        return None
    marker, info = m.group(1), m.group(2)
    if marker[0] == "`" and "`" in info:  # inline code such as ```x```, not a fence
        return None
    return marker[0], len(marker)


def _clean_title(text: str) -> str:
    return " ".join(_TAGS.sub("", text).replace("**", "").strip().strip("#").split())


def _heading(line: str) -> tuple[int, str] | None:
    m = _ATX.match(line)
    if m:
        return len(m.group(1)), _clean_title(m.group(2) or "")
    m = _HTML_H.match(line)
    if m:
        return int(m.group(1)), _clean_title(m.group(2))
    return None


def _is_indented(line: str) -> bool:
    return line.startswith(("    ", "\t"))


def scan_markdown(lines: Sequence[str]) -> list[Block]:
    """Block records of a Markdown file, in order; blank lines between blocks belong to none."""
    blocks: list[Block] = []
    n = len(lines)
    i = 0
    if n and lines[0].rstrip() == "---":  # YAML front matter
        j = next((k for k in range(1, n) if lines[k].rstrip() in ("---", "...")), None)
        if j is not None:
            blocks.append(Block(0, j + 1, "code"))
            i = j + 1
    while i < n:
        line = lines[i]
        if is_blank(line):
            i += 1
            continue
        fence = _fence_open(line)
        if fence is not None:
            ch, width = fence
            j = i + 1
            while j < n:
                m = _FENCE_CLOSE.match(lines[j])
                j += 1
                if m and m.group(1)[0] == ch and len(m.group(1)) >= width:
                    break
            blocks.append(Block(i, j, "code"))
            i = j
            continue
        head = _heading(line)
        if head is not None:
            blocks.append(Block(i, i + 1, "heading", head[0], head[1]))
            i += 1
            continue
        prev_blank = i == 0 or is_blank(lines[i - 1])
        if _is_indented(line) and prev_blank and not (blocks and blocks[-1].type == "list"):
            j = i + 1
            while j < n and (is_blank(lines[j]) or _is_indented(lines[j])) and _fence_open(lines[j]) is None:
                j += 1
            s, e = trim(lines, i, j)
            blocks.append(Block(s, e, "code"))
            i = e
            continue
        i = _prose(lines, i, blocks)
    return [b if b.type != "list" else Block(b.start, b.end, "prose") for b in blocks]


def _prose(lines: Sequence[str], i: int, blocks: list[Block]) -> int:
    """Read one prose block (paragraph, list, table, quote, HTML) starting at ``i``; return where it ends."""
    n = len(lines)
    is_list = bool(_LIST.match(lines[i]))
    is_para = not is_list and not lines[i].lstrip().startswith(("|", "<", ">"))
    j = i + 1
    while j < n:
        line = lines[j]
        if is_blank(line):
            if not is_list:
                break
            k = j
            while k < n and is_blank(lines[k]):
                k += 1
            if k < n and line_continues_list(lines[k]):
                j = k
                continue
            break
        if _fence_open(line) is not None or _heading(line) is not None:
            break
        if is_para:
            m = _SETEXT.match(line)
            if m is not None:
                title = _clean_title(" ".join(x.strip() for x in lines[i:j]))
                blocks.append(Block(i, j + 1, "heading", 1 if m.group(1)[0] == "=" else 2, title))
                return j + 1
            if _LIST.match(line) or _QUOTE.match(line) or _HR.match(line):
                break
        j += 1
    blocks.append(Block(i, j, "list" if is_list else "prose"))
    return j


def line_continues_list(line: str) -> bool:
    """After a blank line, a list goes on with an indented line or another item."""
    return bool(_is_indented(line) or line.startswith(("  ", " \t")) or _LIST.match(line))


def chunk_markdown(path: str, text: str, config: "ChunkingConfig", count_tokens: CountTokens) -> ChunkSet:
    """Search units and contexts of a Markdown file.

    Example:
        >>> from mlrag.config import ChunkingConfig
        >>> cs = chunk_markdown("README.md", "# Run\\nTrain:\\n```bash\\npython train.py\\n```\\n",
        ...                     ChunkingConfig(), len)
        >>> [(c.title, c.start_line, c.end_line) for c in cs.units]
        [('Run', 1, 5)]
    """
    lines = file_lines(text)
    tok = LineTokens(lines, count_tokens)
    return sectioned_chunkset(path, lines, scan_markdown(lines), "markdown", config, tok)
