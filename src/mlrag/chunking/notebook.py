"""Jupyter notebooks (``.ipynb``): markdown and code cells interleaved like a README, outputs dropped.

A notebook is rendered to Markdown — markdown cells as they are, code cells inside a ```` ```python ```` fence,
cells separated by a blank line — and that rendering is chunked like a README (``sections.py``), so a code
cell stays with the markdown cell that introduces it, and contexts of both levels are found the same way.

Notebook chunks are **not** exact slices of the file: their ``text`` is the rendered cell sources (the file is
JSON), yet they are ``derived=False`` because they hold only what the author wrote. ``meta["cells"]`` lists
the 0-based indices of the cells a chunk covers, and ``start_line``/``end_line`` span those cells in the JSON
file (from the line of the first cell's ``"cell_type"`` key to the line before the next cell's; the whole file
when those keys cannot be matched to cells). A notebook that is not valid JSON or has no cell list is skipped
with a logged warning.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from ..types import Chunk
from .base import ChunkSet, CountTokens, LineTokens, Span, file_lines, leveled_chunkset
from .markdown import scan_markdown
from .sections import sectioned_spans

if TYPE_CHECKING:
    from ..config import ChunkingConfig

log = logging.getLogger(__name__)


def _source(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def render_notebook(nb: dict[str, Any]) -> tuple[list[str], list[int]]:
    """Rendered Markdown lines of a notebook's cells and, for each line, the index of its cell."""
    lines: list[str] = []
    owner: list[int] = []
    for idx, cell in enumerate(nb.get("cells", [])):
        if not isinstance(cell, dict):
            continue
        src = _source(cell).rstrip("\n")
        if not src.strip():
            continue
        body = src + "\n"
        if cell.get("cell_type") == "code":
            body = "```python\n" + body + "```\n"
        if lines:
            lines.append("\n")
            owner.append(idx)
        for line in file_lines(body):
            lines.append(line)
            owner.append(idx)
    return lines, owner


def _cell_lines(raw: str, n_cells: int) -> list[tuple[int, int]]:
    raw_lines = file_lines(raw)
    starts = [i + 1 for i, line in enumerate(raw_lines) if '"cell_type"' in line]
    if len(starts) != n_cells:
        return [(1, max(1, len(raw_lines)))] * n_cells
    ends = [s - 1 for s in starts[1:]] + [len(raw_lines)]
    return list(zip(starts, ends))


def chunk_notebook(path: str, text: str, config: "ChunkingConfig", count_tokens: CountTokens) -> ChunkSet:
    """Search units and contexts of a notebook (see the module docstring); broken notebooks give none."""
    try:
        nb = json.loads(text)
    except ValueError as e:
        log.warning("%s: not a valid notebook (%s); skipped", path, e)
        return ChunkSet()
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        log.warning("%s: not a valid notebook (no cell list); skipped", path)
        return ChunkSet()
    lines, owner = render_notebook(nb)
    if not lines:
        return ChunkSet()
    where = _cell_lines(text, len(nb["cells"]))
    tok = LineTokens(lines, count_tokens)
    units, levels = sectioned_spans(lines, scan_markdown(lines), config, tok)

    def make(span: Span, parent_id: str | None, extra: dict[str, Any]) -> Chunk:
        cells = sorted(set(owner[span.start : span.end]))
        body = "".join(lines[span.start : span.end])
        return Chunk.make(
            body, path, where[cells[0]][0], where[cells[-1]][1], "notebook",
            title=span.title, parent_id=parent_id, meta={"cells": cells, **extra},
        )  # fmt: skip

    return leveled_chunkset(units, levels, make)
