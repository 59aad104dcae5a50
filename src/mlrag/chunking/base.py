"""Shared pieces of the chunkers: the ``ChunkSet`` result, line handling, packing and parent (context) units.

Every chunker works on *lines*: a file is ``file_lines(text)`` (split at ``"\\n"`` only, each line keeping its
``"\\n"``; the last line may lack it), and a region is a half-open range ``[start, end)`` of 0-based line
indices. A ``Span`` is such a region with a title. Region-backed chunks are then built by slicing, so
``chunk.text == "".join(lines[start_line - 1:end_line])`` holds by construction.

Sizes come from a ``LineTokens`` table: each line is counted once and ranges are summed with prefix sums, so a
chunker never re-tokenizes text while it tries different cuts (exact for WordPiece, whose pre-tokenizer splits on
the whitespace that ends every line).

Search units are at most ``max_tokens``. Contexts come in two levels, both exact region-backed slices:

* **level 1** (``meta["level"] == 1``, at most ``context_max_tokens``): a unit that is part of a larger region
  gets as ``parent_id`` the largest enclosing region that fits — a heading section, class or function, or a
  run of neighbouring sibling sections when their common parent is too large (see ``assign_parents``) — so
  the prompt sees the whole section around a hit. A unit that is its own section has no parent.
* **level 2** (``meta["level"] == 2``, at most ``section_max_tokens``; off when 0): the same packing run once
  more, over the level-1 *regions* (level-1 contexts, and units without a parent) against the same nodes, so
  a long section with its subsections and the tiny sections after it can be one prompt unit. Levels nest by
  construction: a region lies inside its level-2 context, which is strictly larger. A level-1 context's
  ``parent_id`` is its level-2 context (None when there is none); level-2 contexts have no parent. A unit's
  ``parent_id`` keeps naming its level-1 context only (so it never exceeds ``context_max_tokens``); every unit
  inside a level-2 context names it in ``meta["section_id"]``, whether or not it has a level-1 parent.

Both levels are computed once here (``context_levels``) and turned into chunks once (``leveled_chunkset``)
for every format: Markdown, reStructuredText and notebooks (``sections.py``), Python and line windows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..types import Chunk

if TYPE_CHECKING:
    from ..config import ChunkingConfig

CountTokens = Callable[[str], int]
#: Per unit: its level-1 context region and its level-2 (section) region, each None when there is none.
Levels = list[tuple["Span | None", "Span | None"]]


@dataclass(frozen=True)
class ChunkSet:
    """Chunks of one or more files.

    Attributes:
        units: search units in file order (files in input order), argument cards at the end.
        contexts: parent context units referenced by ``unit.parent_id``.
    """

    units: tuple[Chunk, ...] = ()
    contexts: tuple[Chunk, ...] = ()

    def __add__(self, other: "ChunkSet") -> "ChunkSet":
        return ChunkSet(self.units + other.units, self.contexts + other.contexts)

    @property
    def by_id(self) -> dict[str, Chunk]:
        """Every unit and context by id."""
        return {c.id: c for c in (*self.units, *self.contexts)}


def embed_text(chunk: Chunk, config: "ChunkingConfig | None" = None) -> str:
    """The text given to the embedder: ``"path > title"`` on a first line, then the chunk text.

    The header is left out when ``config.embed_header`` is false.

    Example:
        >>> c = Chunk.make("pip install x\\n", "README.md", 3, 3, "markdown", title="Install")
        >>> embed_text(c)
        'README.md > Install\\npip install x\\n'
    """
    if config is not None and not config.embed_header:
        return chunk.text
    head = f"{chunk.path} > {chunk.title}" if chunk.title else chunk.path
    return f"{head}\n{chunk.text}"


def file_lines(text: str) -> list[str]:
    """Split ``text`` at ``"\\n"`` only; every line keeps its ``"\\n"`` (the last one may lack it)."""
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


class LineTokens:
    """Token counts of a file's lines with prefix sums: ``tokens(a, b)`` is the count of lines ``[a, b)``."""

    def __init__(self, lines: Sequence[str], count_tokens: CountTokens) -> None:
        many = getattr(count_tokens, "count_many", None)
        idx = [i for i, line in enumerate(lines) if line.strip()]
        texts = [lines[i] for i in idx]
        counts = many(texts) if many is not None else [count_tokens(t) for t in texts]
        per = [0] * len(lines)
        for i, c in zip(idx, counts):
            per[i] = c
        prefix = [0] * (len(lines) + 1)
        acc = 0
        for i, c in enumerate(per):
            acc += c
            prefix[i + 1] = acc
        self.prefix = prefix

    def __call__(self, start: int, end: int) -> int:
        return self.prefix[end] - self.prefix[start]


@dataclass(frozen=True)
class Span:
    """A region ``[start, end)`` of 0-based line indices with a title (heading path or symbol)."""

    start: int
    end: int
    title: str = ""


def is_blank(line: str) -> bool:
    return not line.strip()


def trim(lines: Sequence[str], start: int, end: int) -> tuple[int, int]:
    """Shrink ``[start, end)`` so it neither starts nor ends with a blank line (may become empty)."""
    while start < end and is_blank(lines[start]):
        start += 1
    while end > start and is_blank(lines[end - 1]):
        end -= 1
    return start, end


def line_windows(lines: Sequence[str], start: int, end: int, limit: int, tok: LineTokens) -> list[tuple[int, int]]:
    """Cut ``[start, end)`` into consecutive windows of at most ``limit`` tokens, preferring blank-line cuts.

    A window ends at the last blank line that keeps it under the limit when one lies in its second half, else
    at the limit. A single line over the limit is a window of its own.
    """
    out: list[tuple[int, int]] = []
    a = start
    while a < end:
        b = a + 1
        last_blank = -1
        while b < end and tok(a, b + 1) <= limit:
            if is_blank(lines[b]):
                last_blank = b
            b += 1
        if b < end and last_blank > a + (b - a) // 2:
            b = last_blank
        s, e = trim(lines, a, b)
        if s < e:
            out.append((s, e))
        a = b
    return out


def pack(pieces: Sequence[tuple[int, int]], limit: int, tok: LineTokens) -> list[tuple[int, int]]:
    """Greedily join consecutive ranges while the joined range has at most ``limit`` tokens."""
    out: list[tuple[int, int]] = []
    cur: tuple[int, int] | None = None
    for s, e in pieces:
        if cur is not None and tok(cur[0], e) <= limit:
            cur = (cur[0], e)
        else:
            if cur is not None:
                out.append(cur)
            cur = (s, e)
    if cur is not None:
        out.append(cur)
    return out


def assign_parents(
    units: Sequence[Span], nodes: Sequence[Span], tok: LineTokens, context_max: int
) -> list[Span | None]:
    """The context region of each unit (``None`` when the unit is its own context).

    ``nodes`` are nested regions (sections, classes, functions). Going down from each outermost node: a node
    that fits ``context_max`` is the context of the units inside it; a node that does not is cut into segments
    (its own text before, between and after its child nodes, and each child; neighbours joined where a unit runs
    across their border), consecutive segments are packed into as few runs of at most ``context_max`` as
    possible, with the largest run as small as possible (``balanced_runs``), and each run (from its first unit
    to its last) is the context of its units, so neighbouring small sections share a context. A child too
    large alone is handled the same way one level down; other text too large alone gives its units consecutive
    windows of at most ``context_max``. Units outside every node have no parent.
    """
    parents: list[Span | None] = [None] * len(units)
    tree = _node_tree(nodes)
    crossed = {p for u in units for p in range(u.start + 1, u.end)}  # lines a unit runs through

    def inside(a: int, b: int, ids: Sequence[int]) -> list[int]:
        return [i for i in ids if a <= units[i].start and units[i].end <= b]

    def settle(span: Span, ids: Sequence[int]) -> None:
        for i in ids:
            u = units[i]
            parents[i] = None if (u.start, u.end) == (span.start, span.end) else span

    def place(node: Span, ids: list[int]) -> None:
        if not ids:
            return
        if tok(node.start, node.end) <= context_max:
            settle(node, ids)
            return
        # segments covering the node: its own text and its children, joined where a unit runs across a border
        segments: list[tuple[int, int, Span | None]] = []
        pos = node.start
        for child in tree.get((node.start, node.end), []):
            if pos < child.start:
                segments.append((pos, child.start, None))
            segments.append((child.start, child.end, child))
            pos = child.end
        if pos < node.end:
            segments.append((pos, node.end, None))
        joined: list[tuple[int, int, Span | None]] = []
        for seg in segments:
            if joined and seg[0] in crossed:
                joined[-1] = (joined[-1][0], seg[1], None)
            else:
                joined.append(seg)
        groups = [(n, m) for a, b, n in joined if (m := inside(a, b, ids))]
        cuts = balanced_runs(
            len(groups), lambda a, b: tok(units[groups[a][1][0]].start, units[groups[b][1][-1]].end), context_max
        )
        for run in (groups[a:b] for a, b in cuts):
            members = [i for _, m in run for i in m]
            span = Span(units[members[0]].start, units[members[-1]].end, "")
            title = next((n.title for n, _ in run if n is not None and n.title), node.title)
            if len(run) > 1 or tok(span.start, span.end) <= context_max:
                settle(Span(span.start, span.end, title), members)
            elif run[0][0] is not None:
                place(run[0][0], members)
            else:
                windows(members, title)

    def windows(ids: list[int], title: str) -> None:
        groups: list[list[int]] = []
        for i in ids:
            if groups and tok(units[groups[-1][0]].start, units[i].end) <= context_max:
                groups[-1].append(i)
            else:
                groups.append([i])
        for g in groups:
            if len(g) > 1:
                settle(Span(units[g[0]].start, units[g[-1]].end, title), g)

    everyone = list(range(len(units)))
    for top in tree.get(None, []):  # type: ignore[call-overload]
        place(top, inside(top.start, top.end, everyone))
    return parents


def balanced_runs(n: int, size: Callable[[int, int], int], limit: int) -> list[tuple[int, int]]:
    """Cut items ``0..n-1`` into consecutive runs ``[a, b)``: as few as greedy packing to ``limit`` gives, with the
    largest run as small as possible. ``size(a, b)`` is the size of items ``a..b`` (inclusive), growing with
    ``b``; a run of one item may exceed ``limit``.

    Greedy packing alone fills runs from the left and can leave a section's tiny neighbours to a run of their
    own; balancing moves the cuts so they join it when the count allows (binary search on the largest run,
    each step a greedy pass).

    Example:
        >>> sizes = [3, 1, 6, 1]
        >>> balanced_runs(4, lambda a, b: sum(sizes[a : b + 1]), 10)  # greedy: [3, 1, 6] [1]
        [(0, 2), (2, 4)]
    """

    def greedy(cap: int) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        a = 0
        for b in range(1, n):
            if size(a, b) > cap:
                out.append((a, b))
                a = b
        if n:
            out.append((a, n))
        return out

    if n <= 1:
        return greedy(limit)
    best = greedy(limit)
    lo, hi = 0, limit
    while lo < hi:
        mid = (lo + hi) // 2
        if len(greedy(mid)) <= len(best):
            hi = mid
        else:
            lo = mid + 1
    return greedy(hi)


def _node_tree(nodes: Sequence[Span]) -> dict:  # type: ignore[type-arg]
    """Children of each node keyed by ``(start, end)``; the outermost nodes under the key ``None``."""
    tree: dict = {None: []}  # type: ignore[type-arg]
    stack: list[Span] = []
    seen: set[tuple[int, int]] = set()
    for n in sorted(nodes, key=lambda n: (n.start, -n.end)):
        if n.start >= n.end or (n.start, n.end) in seen:
            continue
        seen.add((n.start, n.end))
        while stack and not (stack[-1].start <= n.start and n.end <= stack[-1].end):
            stack.pop()
        tree.setdefault((stack[-1].start, stack[-1].end) if stack else None, []).append(n)
        tree.setdefault((n.start, n.end), [])
        stack.append(n)
    return tree


def context_levels(units: Sequence[Span], nodes: Sequence[Span], tok: LineTokens, config: "ChunkingConfig") -> Levels:
    """The level-1 and level-2 context regions of each unit (see the module docstring).

    Level 1 is ``assign_parents`` at ``context_max_tokens``. Level 2 runs ``assign_parents`` again at
    ``section_max_tokens`` over the level-1 regions (each distinct level-1 context, and each unit without one),
    which are in file order and do not overlap, so a level-2 region always holds whole level-1 regions.
    """
    inner = assign_parents(units, nodes, tok, config.context_max_tokens)
    if not config.section_max_tokens:
        return [(p, None) for p in inner]
    regions: list[Span] = []
    index: dict[tuple[int, int], int] = {}
    for u, p in zip(units, inner):
        r = p if p is not None else u
        if (r.start, r.end) not in index:
            index[(r.start, r.end)] = len(regions)
            regions.append(r)
    outer = assign_parents(regions, nodes, tok, config.section_max_tokens)
    out: Levels = []
    for u, p in zip(units, inner):
        r = p if p is not None else u
        out.append((p, outer[index[(r.start, r.end)]]))
    return out


#: Builds the chunk of a region: ``make(span, parent_id, meta)``.
MakeChunk = Callable[[Span, "str | None", "dict[str, Any]"], Chunk]


def leveled_chunkset(units: Sequence[Span], levels: Levels, make: MakeChunk) -> ChunkSet:
    """Unit chunks and their deduplicated level-1 and level-2 context chunks, linked as the module describes.

    ``make`` builds one chunk from a region (exact file slices here; rendered cells for notebooks).
    """
    contexts: dict[tuple[int, int], Chunk] = {}

    def context(span: Span, level: int, parent_id: str | None) -> Chunk:
        key = (span.start, span.end)
        if key not in contexts:
            contexts[key] = make(span, parent_id, {"level": level})
        return contexts[key]

    out: list[Chunk] = []
    for u, (inner, outer) in zip(units, levels):
        section_id = context(outer, 2, None).id if outer is not None else None
        parent_id = context(inner, 1, section_id).id if inner is not None else None
        out.append(make(u, parent_id, {"section_id": section_id} if section_id else {}))
    return ChunkSet(tuple(out), tuple(contexts.values()))


def build_chunks(path: str, lines: Sequence[str], kind: str, units: Sequence[Span], levels: Levels) -> ChunkSet:
    """Region-backed unit chunks and their context chunks of both levels."""

    def make(span: Span, parent_id: str | None, meta: dict[str, Any]) -> Chunk:
        return region_chunk(path, lines, span, kind, parent_id=parent_id, meta=meta)

    return leveled_chunkset(units, levels, make)


def region_chunk(path: str, lines: Sequence[str], span: Span, kind: str, **kw: object) -> Chunk:
    """The chunk holding exactly lines ``span.start..span.end-1`` of the file."""
    text = "".join(lines[span.start : span.end])
    return Chunk.make(text, path, span.start + 1, span.end, kind, title=span.title, **kw)  # type: ignore[arg-type]


def windows_chunkset(
    path: str, text: str, kind: str, config: "ChunkingConfig", count_tokens: CountTokens, title: str = ""
) -> ChunkSet:
    """Blank-line-aware line windows of a whole file; the file is the context when it fits one (either level)."""
    lines = file_lines(text)
    tok = LineTokens(lines, count_tokens)
    paras = paragraphs(lines, 0, len(lines))
    pieces: list[tuple[int, int]] = []
    for s, e in paras:
        if tok(s, e) > config.max_tokens:
            pieces.extend(line_windows(lines, s, e, config.max_tokens, tok))
        else:
            pieces.append((s, e))
    units = [Span(s, e, title) for s, e in pack(pieces, config.max_tokens, tok)]
    s, e = trim(lines, 0, len(lines))
    nodes = [Span(s, e, title)] if s < e else []
    return build_chunks(path, lines, kind, units, context_levels(units, nodes, tok, config))


def paragraphs(lines: Sequence[str], start: int, end: int) -> list[tuple[int, int]]:
    """Maximal runs of non-blank lines in ``[start, end)``."""
    out: list[tuple[int, int]] = []
    i = start
    while i < end:
        if is_blank(lines[i]):
            i += 1
            continue
        j = i
        while j < end and not is_blank(lines[j]):
            j += 1
        out.append((i, j))
        i = j
    return out
