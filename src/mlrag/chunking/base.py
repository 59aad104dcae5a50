"""Shared pieces of the chunkers: the ``ChunkSet`` result, line handling, packing and parent (context) units.

Every chunker works on *lines*: a file is ``file_lines(text)`` (split at ``"\\n"`` only, each line keeping its
``"\\n"``; the last line may lack it), and a region is a half-open range ``[start, end)`` of 0-based line
indices. A ``Span`` is such a region with a title. Region-backed chunks are then built by slicing, so
``chunk.text == "".join(lines[start_line - 1:end_line])`` holds by construction.

Sizes come from a ``LineTokens`` table: each line is counted once and ranges are summed with prefix sums, so a
chunker never re-tokenizes text while it tries different cuts (exact for WordPiece, whose pre-tokenizer splits on
the whitespace that ends every line).

Search units are at most ``max_tokens``; a unit that is part of a larger region gets as parent the *outermost*
enclosing region (heading section, class, function, file) of at most ``context_max_tokens`` — the largest unit
that still fits a prompt. When even the innermost enclosing region is too large, consecutive units inside it
are grouped into context windows instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

from ..types import Chunk

if TYPE_CHECKING:
    from ..config import ChunkingConfig

CountTokens = Callable[[str], int]


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

    ``nodes`` are nested regions (sections, classes, functions). A unit's parent is the outermost node that
    contains it and has at most ``context_max`` tokens. When the unit lies in nodes that are all too large,
    units sharing the innermost such node are grouped into consecutive windows of at most ``context_max``.
    """
    parents: list[Span | None] = []
    overflow: dict[tuple[int, int], list[int]] = {}
    for i, u in enumerate(units):
        containing = [n for n in nodes if n.start <= u.start and u.end <= n.end]
        containing.sort(key=lambda n: (n.start - n.end, n.start))  # outermost first
        chosen = next((n for n in containing if tok(n.start, n.end) <= context_max), None)
        if chosen is None and containing:
            inner = containing[-1]
            overflow.setdefault((inner.start, inner.end), []).append(i)
            parents.append(None)
            continue
        if chosen is not None and (chosen.start, chosen.end) == (u.start, u.end):
            chosen = None
        parents.append(chosen)
    titles = {(n.start, n.end): n.title for n in nodes}
    for key, members in overflow.items():
        groups: list[list[int]] = []
        for i in members:
            if groups and tok(units[groups[-1][0]].start, units[i].end) <= context_max:
                groups[-1].append(i)
            else:
                groups.append([i])
        for g in groups:
            if len(g) > 1:
                span = Span(units[g[0]].start, units[g[-1]].end, titles.get(key, units[g[0]].title))
                for i in g:
                    parents[i] = span
    return parents


def build_chunks(
    path: str,
    lines: Sequence[str],
    kind: str,
    units: Sequence[Span],
    parents: Sequence[Span | None],
) -> ChunkSet:
    """Region-backed unit chunks and their (deduplicated) context chunks."""
    contexts: dict[tuple[int, int], Chunk] = {}
    out: list[Chunk] = []
    for u, p in zip(units, parents):
        parent_id = None
        if p is not None:
            key = (p.start, p.end)
            if key not in contexts:
                contexts[key] = region_chunk(path, lines, p, kind)
            parent_id = contexts[key].id
        out.append(region_chunk(path, lines, u, kind, parent_id=parent_id))
    return ChunkSet(tuple(out), tuple(contexts.values()))


def region_chunk(path: str, lines: Sequence[str], span: Span, kind: str, **kw: object) -> Chunk:
    """The chunk holding exactly lines ``span.start..span.end-1`` of the file."""
    text = "".join(lines[span.start : span.end])
    return Chunk.make(text, path, span.start + 1, span.end, kind, title=span.title, **kw)  # type: ignore[arg-type]


def windows_chunkset(
    path: str, text: str, kind: str, config: "ChunkingConfig", count_tokens: CountTokens, title: str = ""
) -> ChunkSet:
    """Blank-line-aware line windows of a whole file; the file is the parent when it fits a context."""
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
    return build_chunks(path, lines, kind, units, assign_parents(units, nodes, tok, config.context_max_tokens))


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


def iter_nonblank(lines: Sequence[str], spans: Iterable[Span]) -> Iterable[int]:
    """Indices of the non-blank lines covered by ``spans`` (a test helper for coverage invariants)."""
    for s in spans:
        for i in range(s.start, s.end):
            if not is_blank(lines[i]):
                yield i
