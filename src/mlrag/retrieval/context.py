"""From ranked units to prompt context: parent expansion, deduplication, merging and a character budget.

Rules, applied in rank order:
- ``context_unit="parent"``: a unit with a ``parent_id`` contributes its parent section, once; a later unit of
  the same parent adds nothing (its text is already there). When the parent would overflow the remaining budget
  but the unit alone fits, the unit is used instead, so one long section cannot crowd out every other hit; a
  parent longer than ``parent_max_chars`` (when set) is never used, nor a derived one (the whole argument card
  behind a piece of a long card: each piece repeats the card's header and holds the options that matched).
- Region-backed hits of the same file whose line ranges overlap or touch are merged into one hit at the better
  rank (text rebuilt line by line from both slices); a range inside an earlier hit adds nothing.
- Two hits inside the same *section* (the level-2 context named by the units' ``meta["section_id"]``) are
  merged with the lines between them, when the joined passage fits the budget: several hits in one section
  say that the section is what the task needs, and a prompt reads one contiguous passage better than pieces
  of it (the "auto-merging" of hierarchical retrievers, bounded by the section's size).
- Long sections (``query`` given, ``windows=True``; ``retrieval.section_windows``, opt-in: it wins at 2,000
  characters but not at 6,000, leave-one-repository-out, see BENCHMARKS.md): when a unit's parent does not
  fit the budget left, the hit is not the unit alone nor the section's first characters but the *windows* of
  its section (the level-2 context, else the parent) that match the query: the section's blocks (paragraphs
  and fenced code blocks) that share the most query tokens, the matched unit's block first, in file order,
  under the section's heading path, up to half the budget (or what is left, when less). Such a hit is derived
  text (not one slice of the file) and merges with nothing.
- ``budget_chars`` (0 = no limit) caps the summed ``Hit.text`` lengths: the hit that crosses it is cut at a line
  boundary (when at least ``MIN_PIECE`` characters remain), and packing stops there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..types import Chunk, Hit
from .tokenize import code_tokens

MIN_PIECE = 200  # a cut hit shorter than this is left out rather than added as a stub


@dataclass
class _Slot:
    """A hit being assembled (mutable while packing)."""

    text: str
    path: str
    start: int
    end: int
    score: float
    chunk: Chunk
    derived: bool
    section: str | None = None  # the level-2 context (section) the matched unit lies in

    def hit(self, repo: str) -> Hit:
        return Hit(self.text, self.path, self.start, self.end, self.score, self.chunk, repo)


def _lines(text: str, start: int) -> dict[int, str]:
    parts = text.split("\n")
    out = {start + i: p + "\n" for i, p in enumerate(parts[:-1])}
    if parts[-1]:
        out[start + len(parts) - 1] = parts[-1]
    return out


def merge_text(a: tuple[int, int, str], b: tuple[int, int, str]) -> tuple[int, int, str] | None:
    """Union of two overlapping or touching line slices ``(start, end, text)``, or None when they cannot merge."""
    (s1, e1, t1), (s2, e2, t2) = a, b
    if s2 > e1 + 1 or s1 > e2 + 1:
        return None
    lines = _lines(t2, s2)
    lines.update(_lines(t1, s1))
    s, e = min(s1, s2), max(e1, e2)
    if any(i not in lines for i in range(s, e + 1)):
        return None
    return s, e, "".join(lines[i] for i in range(s, e + 1))


def _cut(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, at a line end when one exists."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    nl = head.rfind("\n")
    return head[: nl + 1] if nl > 0 else head


def _span(section: Chunk, start: int, end: int) -> tuple[int, int, str] | None:
    """Lines ``start..end`` (1-based, inclusive) of a section context, or None when they are not all in it."""
    if not (section.start_line <= start and end <= section.end_line) or section.derived:
        return None
    lines = section.text.split("\n")
    keep = lines[start - section.start_line : end - section.start_line + 1]
    text = "\n".join(keep)
    if end < section.end_line or section.text.endswith("\n"):
        text += "\n"
    return start, end, text


def _blocks(text: str) -> list[tuple[int, int]]:
    """``text``'s blocks as ``(first, last)`` 0-based line indices: runs of non-blank lines, a fenced code block
    (blank lines included) kept whole."""
    out: list[tuple[int, int]] = []
    start: int | None = None
    fence = False
    lines = text.split("\n")
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            fence = not fence
        if not stripped and not fence:
            if start is not None:
                out.append((start, i - 1))
                start = None
        elif start is None:
            start = i
    if start is not None:
        out.append((start, len(lines) - 1))
    return out


def section_windows(section: Chunk, unit: Chunk, query: str, limit: int) -> str:
    """The blocks of ``section`` that match ``query`` best, at most ``limit`` characters, in file order, under
    the section's heading path; the block holding ``unit``'s first line comes first in the choice, then blocks by
    the number of distinct query tokens they hold (ties: earlier first). Skipped stretches are marked ``...``.

    Example:
        >>> text = section_windows(section, unit, "train with --lr", 2000)  # doctest: +SKIP
    """
    lines = section.text.split("\n")
    blocks = _blocks(section.text)
    if not blocks:
        return _cut(section.text, limit)
    wanted = set(code_tokens(query))
    own = unit.start_line - section.start_line

    def score(b: tuple[int, int]) -> tuple[int, int, int]:
        toks = set(code_tokens("\n".join(lines[b[0] : b[1] + 1])))
        return (int(b[0] <= own <= b[1]), len(wanted & toks), -b[0])

    head = f"{section.title}\n" if section.title else ""
    chosen: list[tuple[int, int]] = []
    used = len(head)
    for b in sorted(blocks, key=score, reverse=True):
        size = sum(len(x) + 1 for x in lines[b[0] : b[1] + 1]) + 4
        if used + size > limit:
            continue
        if chosen and score(b)[1] == 0:
            break  # blocks sharing no query word add nothing the prompt needs
        chosen.append(b)
        used += size
    if not chosen:
        return _cut(section.text, limit)
    parts: list[str] = []
    prev = -1
    for a, z in sorted(chosen):
        if a > prev + 1 and (prev >= 0 or a > 0):
            parts.append("...\n")
        parts.append("".join(x + "\n" for x in lines[a : z + 1]))
        prev = z
    if head and chosen and sorted(chosen)[0][0] == 0:
        head = ""  # the section's own first lines (its heading) are there
    return head + "".join(parts)


def pack(
    ranked: Sequence[tuple[Chunk, float]],
    contexts: Mapping[str, Chunk],
    *,
    k: int,
    context_unit: str = "parent",
    budget_chars: int = 0,
    repo: str = "",
    parent_max_chars: int = 0,
    query: str = "",
    windows: bool = False,
) -> list[Hit]:
    """Turn ranked units into at most ``k`` deduplicated hits within ``budget_chars``.

    Example:
        >>> hits = pack([(unit, 0.9)], {}, k=5, budget_chars=6000)
    """
    slots: list[_Slot] = []
    seen_parents: set[str] = set()
    total = 0
    for unit, score in ranked:
        if len(slots) >= k or (budget_chars and total >= budget_chars):
            break
        target = unit
        parent = contexts.get(unit.parent_id) if context_unit == "parent" and unit.parent_id else None
        if parent is not None and (parent.derived or (parent_max_chars and len(parent.text) > parent_max_chars)):
            parent = None  # a piece of a long argument card is self-contained (its header is repeated)
        if parent is not None:
            if parent.id in seen_parents:
                continue
            fits = not budget_chars or total + len(parent.text) <= budget_chars
            if fits or len(unit.text) >= len(parent.text):
                target = parent
                seen_parents.add(parent.id)
            elif windows and query:
                outer = contexts.get(unit.meta.get("section_id") or "")
                source = outer if outer is not None and not outer.derived else parent
                limit = min(budget_chars - total, max(len(unit.text), budget_chars // 2))
                text = section_windows(source, unit, query, limit)
                if len(text) > len(unit.text):
                    seen_parents.add(parent.id)
                    slots.append(_Slot(text, source.path, source.start_line, source.end_line, score, unit, True))
                    total += len(text)
                    continue
        section = unit.meta.get("section_id") if context_unit == "parent" else None
        new = _Slot(target.text, target.path, target.start_line, target.end_line, score, unit, target.derived, section)
        merged = False
        if not new.derived:
            for s in slots:
                if s.derived or s.path != new.path:
                    continue
                if s.start <= new.start and new.end <= s.end:
                    merged = True  # already inside an earlier hit
                    break
                m = merge_text((s.start, s.end, s.text), (new.start, new.end, new.text))
                if m is None and section is not None and s.section == section and section in contexts:
                    m = _span(contexts[section], min(s.start, new.start), max(s.end, new.end))
                if m is not None:
                    grow = len(m[2]) - len(s.text)
                    if budget_chars and total + grow > budget_chars:
                        break  # the merged hit would not fit; treat as a separate (cut) hit below
                    s.start, s.end, s.text = m
                    total += grow
                    merged = True
                    break
        if merged:
            continue
        if budget_chars and total + len(new.text) > budget_chars:
            room = budget_chars - total
            if room < MIN_PIECE:
                break
            new.text = _cut(new.text, room)
            if not new.derived:
                new.end = new.start + max(0, new.text.count("\n") - (1 if new.text.endswith("\n") else 0))
            slots.append(new)
            total += len(new.text)
            break
        slots.append(new)
        total += len(new.text)
    return [s.hit(repo) for s in slots]
