"""Sections of prose documents (Markdown, reStructuredText, notebooks) into search and context units.

A document arrives as ``Block`` records from a format's scanner: headings, code blocks and prose blocks
(paragraphs, lists, tables, HTML), each a line range. From there every format is chunked the same way:

1. *Leaf sections* run from one heading to the next (any level); their title is the heading path
   (``Installation > From source``). A tiny leaf merges into the one before it, up to ``merge_tokens``, when
   it is a subsection of that leaf's heading (so merged units stay inside one heading section, which can then
   be their context); a heading with no body of its own always joins its first subsection.
2. Inside a section, blocks are glued into *atoms* that must not be cut: a heading to what follows it, prose
   that introduces a code block (it comes right before it, or ends with ``:``) to that block, and a short
   paragraph right after a code block (the sentence that explains it) to the block, unless it introduces the
   next code block. Atoms are packed greedily into units of at most ``max_tokens``; an atom over the limit is
   cut at block boundaries, a block over the limit by lines (the unit keeps the section's heading path as title).
3. Contexts come from the heading tree (a heading's section includes its subsections; the whole file is the
   root), in two levels (``base.context_levels``): a unit's parent is the outermost enclosing section of at
   most ``context_max_tokens`` (or a run of neighbouring sibling sections when their common section is too
   large), and that context's own parent is the outermost enclosing section of at most ``section_max_tokens``
   holding it (or a run of neighbouring level-1 regions). So a long "Getting Started" section with its
   subsections and the tiny sections after it can be one level-2 context while each subsection stays a
   level-1 context.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .base import ChunkSet, Levels, LineTokens, Span, build_chunks, context_levels, line_windows, pack, trim

if TYPE_CHECKING:
    from ..config import ChunkingConfig

#: A paragraph right after a code block of at most this many tokens is kept with the block (it explains it).
EXPLAIN_TOKENS = 64


@dataclass(frozen=True)
class Block:
    """A block of a prose document: lines ``[start, end)``; ``type`` is heading, code or prose."""

    start: int
    end: int
    type: str
    level: int = 0  # heading level (1 = top)
    title: str = ""  # heading text


def heading_nodes(blocks: Sequence[Block], n: int) -> tuple[list[Span], dict[int, str]]:
    """The heading tree as nested spans (root = whole file) and the heading path at each heading's line."""
    heads = [b for b in blocks if b.type == "heading"]
    nodes = [Span(0, n, "")]
    paths: dict[int, str] = {}
    stack: list[tuple[int, str]] = []
    for i, h in enumerate(heads):
        while stack and stack[-1][0] >= h.level:
            stack.pop()
        stack.append((h.level, h.title))
        path = " > ".join(t for _, t in stack if t)
        paths[h.start] = path
        end = next((x.start for x in heads[i + 1 :] if x.level <= h.level), n)
        nodes.append(Span(h.start, end, path))
    return nodes, paths


def _atoms(blocks: Sequence[Block], lines: Sequence[str], tok: LineTokens) -> list[list[Block]]:
    """Group a section's blocks into runs that stay together (see the module docstring)."""
    atoms: list[list[Block]] = []
    glue_next = False
    for k, b in enumerate(blocks):
        if atoms and glue_next:
            atoms[-1].append(b)
        else:
            atoms.append([b])
        nxt = blocks[k + 1] if k + 1 < len(blocks) else None
        if nxt is None:
            break
        if b.type == "heading":
            glue_next = True
        elif b.type == "prose":
            glue_next = nxt.type == "code" or lines[b.end - 1].rstrip().endswith(":")
        else:  # code: keep the explaining sentence after it, unless that sentence introduces more code
            after = blocks[k + 2] if k + 2 < len(blocks) else None
            glue_next = (
                nxt.type == "prose"
                and tok(nxt.start, nxt.end) <= EXPLAIN_TOKENS
                and not (after is not None and after.type == "code")
                and not lines[nxt.end - 1].rstrip().endswith(":")
            )
    return atoms


def _section_units(
    blocks: Sequence[Block], title: str, lines: Sequence[str], tok: LineTokens, limit: int
) -> list[Span]:
    pieces: list[tuple[int, int]] = []
    for atom in _atoms(blocks, lines, tok):
        s, e = atom[0].start, atom[-1].end
        if tok(s, e) <= limit:
            pieces.append((s, e))
            continue
        for b in atom:
            if tok(b.start, b.end) <= limit:
                pieces.append((b.start, b.end))
            else:
                pieces.extend(line_windows(lines, b.start, b.end, limit, tok))
    return [Span(s, e, title) for s, e in pack(pieces, limit, tok)]


def _level(blocks: Sequence[Block]) -> int:
    """The heading level a leaf section starts with (0 for text before the first heading)."""
    return blocks[0].level if blocks and blocks[0].type == "heading" else 0


def sectioned_chunkset(
    path: str,
    lines: Sequence[str],
    blocks: Sequence[Block],
    kind: str,
    config: "ChunkingConfig",
    tok: LineTokens,
) -> ChunkSet:
    """Search units and contexts of a document given as blocks (in file order, not overlapping)."""
    units, levels = sectioned_spans(lines, blocks, config, tok)
    return build_chunks(path, lines, kind, units, levels)


def sectioned_spans(
    lines: Sequence[str], blocks: Sequence[Block], config: "ChunkingConfig", tok: LineTokens
) -> tuple[list[Span], Levels]:
    """Unit spans and their context spans of both levels (see ``sectioned_chunkset``)."""
    n = len(lines)
    nodes, paths = heading_nodes(blocks, n)
    nodes = [Span(*trim(lines, s.start, s.end), s.title) for s in nodes]
    # leaf sections: (blocks, title)
    leaves: list[tuple[list[Block], str]] = []
    title = ""
    for b in blocks:
        if b.type == "heading" or not leaves:
            if b.type == "heading":
                title = paths[b.start]
            leaves.append(([], title))
        leaves[-1][0].append(b)
    merged: list[tuple[list[Block], str]] = []
    for bl, t in leaves:
        size = tok(merged[-1][0][0].start, bl[-1].end) if merged else 0
        bare = bool(merged) and all(b.type == "heading" for b in merged[-1][0])
        inside = bool(merged) and _level(bl) > _level(merged[-1][0])  # never merge across a sibling heading
        if inside and (size <= config.merge_tokens or bare):
            merged[-1][0].extend(bl)
            if bare:  # a heading with no body of its own: the subsection's path names the unit better
                merged[-1] = (merged[-1][0], t)
        else:
            merged.append((list(bl), t))
    units: list[Span] = []
    for bl, t in merged:
        units.extend(_section_units(bl, t, lines, tok, config.max_tokens))
    return units, context_levels(units, nodes, tok, config)
