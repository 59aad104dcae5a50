"""``check_invariants``: the reference every chunker's output is tested against.

It states the chunking contract as checks rather than code paths: exact slices, file order, coverage of every
non-blank line, sizes, and the two context levels nesting (see ``base.py``). Tests call it on hand-written and
generated files; it is not used at run time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..types import Chunk
from .base import ChunkSet, CountTokens, file_lines

if TYPE_CHECKING:
    from ..config import ChunkingConfig


def check_invariants(
    files: Mapping[str, str], chunks: ChunkSet, config: "ChunkingConfig", count_tokens: CountTokens
) -> list[str]:
    """Problems with a chunk set, as messages (empty when it is sound); the reference for tests.

    Checks, for region-backed chunks (not derived, not notebooks): ``text`` is the exact slice of its file;
    per file, search units come in file order without overlapping and cover every non-blank line; units fit
    ``max_tokens`` unless a single line; each ``parent_id`` names a level-1 context that contains the unit and
    fits ``context_max_tokens``. For the levels (every chunker, notebooks included): each context has
    ``meta["level"]`` 1 or 2; a level-2 context fits ``section_max_tokens`` and has no parent; a level-1
    context's parent is a strictly larger level-2 context of the same file that contains it (lines and text); a
    unit's ``meta["section_id"]`` names a level-2 context that contains it, the same as its parent's parent. Derived
    contexts (full argument cards) are level 1 and only need to resolve.
    """
    problems: list[str] = []
    contexts = {c.id: c for c in chunks.contexts}
    per_file: dict[str, list[Chunk]] = {}
    for c in (*chunks.units, *chunks.contexts):
        if c.derived or c.kind == "notebook":
            continue
        lines = file_lines(files[c.path])
        if c.text != "".join(lines[c.start_line - 1 : c.end_line]):
            problems.append(f"{c.location}: text is not the file's slice")
    for c in chunks.units:
        if c.parent_id is not None and contexts.get(c.parent_id) is None:
            problems.append(f"{c.location}: parent {c.parent_id} is not a context")
        if c.derived or c.kind == "notebook":
            continue
        per_file.setdefault(c.path, []).append(c)
        if "\n" in c.text.rstrip("\n") and count_tokens(c.text) > config.max_tokens:
            problems.append(f"{c.location}: {count_tokens(c.text)} tokens > max_tokens")
        p = contexts.get(c.parent_id) if c.parent_id is not None else None
        if p is None:
            continue
        if not _contains(p, c):
            problems.append(f"{c.location}: parent {p.location} does not contain it")
        elif count_tokens(p.text) > config.context_max_tokens:
            problems.append(f"{p.location}: context over context_max_tokens")
    problems += _level_problems(chunks, contexts, config, count_tokens)
    for path, units in per_file.items():
        for a, b in zip(units, units[1:]):
            if b.start_line <= a.end_line:
                problems.append(f"{b.location}: overlaps or precedes {a.location}")
        covered = {i for u in units for i in range(u.start_line - 1, u.end_line)}
        lines = file_lines(files[path])
        missing = [i + 1 for i, line in enumerate(lines) if line.strip() and i not in covered]
        if missing:
            problems.append(f"{path}: non-blank lines in no unit: {missing[:10]}")
    return problems


def _contains(outer: Chunk, inner: Chunk) -> bool:
    return outer.path == inner.path and outer.start_line <= inner.start_line and inner.end_line <= outer.end_line


def _level_problems(
    chunks: ChunkSet, contexts: Mapping[str, Chunk], config: "ChunkingConfig", count_tokens: CountTokens
) -> list[str]:
    """The level checks of ``check_invariants``."""
    problems: list[str] = []
    for c in chunks.contexts:
        level = c.meta.get("level")
        if level not in (1, 2) or (c.derived and level != 1):
            problems.append(f"{c.location}: context level {level!r}")
            continue
        if c.derived:
            continue
        limit = config.context_max_tokens if level == 1 else config.section_max_tokens
        if count_tokens(c.text) > limit:
            problems.append(f"{c.location}: level-{level} context over {limit} tokens")
        if level == 2 and c.parent_id is not None:
            problems.append(f"{c.location}: a level-2 context has a parent")
        if level == 1 and c.parent_id is not None:
            s = contexts.get(c.parent_id)
            if s is None or s.meta.get("level") != 2:
                problems.append(f"{c.location}: parent {c.parent_id} is not a level-2 context")
            elif not _contains(s, c) or len(s.text) <= len(c.text) or c.text not in s.text:
                problems.append(f"{c.location}: level-2 parent {s.location} does not strictly contain it")
    for u in chunks.units:
        sid = u.meta.get("section_id")
        p = contexts.get(u.parent_id) if u.parent_id is not None else None
        if p is not None and p.meta.get("level") != 1:
            problems.append(f"{u.location}: parent {p.location} is not a level-1 context")
        if p is not None and not u.derived and p.parent_id != sid:
            problems.append(f"{u.location}: section_id {sid} is not its parent's parent {p.parent_id}")
        if sid is None:
            continue
        s = contexts.get(sid)
        if s is None or s.meta.get("level") != 2:
            problems.append(f"{u.location}: section_id {sid} is not a level-2 context")
        elif not _contains(s, u) or u.text not in s.text:
            problems.append(f"{u.location}: section {s.location} does not contain it")
    return problems
