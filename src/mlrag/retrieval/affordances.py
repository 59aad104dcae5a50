"""Affordance units in the context (``retrieval.affordances``): the options of the entry points a task needs.

Off by default: leave-one-repository-out on the ten full DEV checkouts it loses at 6,000 characters (a unit
takes budget from README text) though it wins without a budget at k=1 (BENCHMARKS.md, issue 13);
``configs/profiles/entry-points.yaml`` turns it on.

``AffordanceIndex`` holds the affordance units of one repository (``mlrag.chunking.affordances``: one per
runnable catalog entry) with three small look-ups and a BM25 over the units (built on first use; a catalog is
hundreds of entries, not the tens of thousands of an index, so it is not stored). ``choose`` looks at the hits a
search packed and the task, and returns which units join the context and after which hit:

* **linked**: a hit whose lines hold a README/shell line that runs an entry (the entry's ``invoked_by``) brings
  that entry's unit right after it: the README shows how the authors run the script, the unit lists what else
  it accepts. Several entries run in one hit: the one whose unit matches the task best (BM25), then the first.
* **named**: a task that names a script (``citation.py``, ``scripts/run.sh``, ``python -m pkg.cli``) brings the
  unit of that entry after the first hit (several entries of that name: the one under a hit's folder, then the
  best BM25 match); a task that writes options (``--num-stacks``) and names no script brings the unit of the
  entry that has all of them, when exactly one has, or when one of those lies in the folder of a hit.

At most ``MAX_UNITS`` units join. A unit is not added when the context already states its options: the script's
own argument card is among the hits, or ``DUPLICATE_SHARE`` of its option names already appear in the hits'
text. The units come in addition to the ``k`` hits of a search (``Searcher.search`` packs again with
``k + len(units)``), inside its character budget. The unit's text is ``compact_text`` under ``budget // 4``
characters (``NO_BUDGET_CHARS`` with no budget): the options the task mentions keep their full line, every other
one keeps its name.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..chunking.affordances import RUNNABLE_KINDS, affordance_unit, compact_text
from ..commands import PYTHON_MODULE, SCRIPT_EXTS
from ..types import Chunk, Hit

if TYPE_CHECKING:
    from ..catalog.base import Affordance
    from .lexical import LexicalIndex

MAX_UNITS = 2
DUPLICATE_SHARE = 0.8
NO_BUDGET_CHARS = 3000
_EXTS = "|".join(re.escape(e.lstrip(".")) for e in SCRIPT_EXTS)
_SCRIPT_NAME = re.compile(rf"(?<![\w.-])((?:[\w.-]+/)*[\w.-]+\.(?:{_EXTS}))\b")
_FLAG = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")
_WORDS = re.compile(r"[a-z0-9]+")


def _location(where: str) -> tuple[str, int, int] | None:
    """``README.md:12`` / ``README.md:12-14`` -> (path, start, end)."""
    path, _, lines = where.rpartition(":")
    a, _, b = lines.partition("-")
    if not path or not a.isdigit() or (b and not b.isdigit()):
        return None
    return path, int(a), int(b or a)


class AffordanceIndex:
    """The runnable entries of one catalog, their units and look-ups by invoking line, script name and flag.

    Example:
        >>> aff = AffordanceIndex(index.affordances)  # doctest: +SKIP
        >>> [(after, a.id) for after, a in aff.choose("train with --lr 0.1", hits)]  # doctest: +SKIP
        [(0, 'python-script:examples/arma/citation.py')]
    """

    def __init__(self, entries: Iterable["Affordance"]) -> None:
        self.entries: tuple[Affordance, ...] = tuple(a for a in entries if a.kind in RUNNABLE_KINDS)
        self.units: tuple[Chunk, ...] = tuple(affordance_unit(a) for a in self.entries)
        self._invoked: dict[str, list[tuple[int, int, int]]] = {}  # path -> [(start, end, entry)]
        self._names: dict[str, list[int]] = {}  # script path, its basename, a module name -> entries
        self._flags: dict[str, list[int]] = {}  # option spelling -> entries
        for i, a in enumerate(self.entries):
            for where in a.invoked_by:
                loc = _location(where)
                if loc is not None:
                    self._invoked.setdefault(loc[0], []).append((loc[1], loc[2], i))
            names = {a.path, posixpath.basename(a.path)}
            if a.kind == "python-module":
                names.add(a.name)
            for n in names:
                self._names.setdefault(n, []).append(i)
            for p in a.params:
                if p.kind == "option":
                    for s in p.spellings:
                        self._flags.setdefault(s, []).append(i)
        self._lexical: LexicalIndex | None = None

    def __len__(self) -> int:
        return len(self.entries)

    # --- look-ups ----------------------------------------------------------------------------------------------

    def invoked_in(self, path: str, start: int, end: int) -> list[int]:
        """Entries run by a line of ``path`` within ``start..end`` (1-based, inclusive), in catalog order."""
        return sorted({i for s, e, i in self._invoked.get(path, ()) if s <= end and start <= e})

    def named(self, query: str) -> list[int]:
        """Entries whose script path, file name or module the task writes."""
        out: list[int] = []
        for m in (*_SCRIPT_NAME.finditer(query), *PYTHON_MODULE.finditer(query)):
            name = m.group(1).removeprefix("./")
            out += self._names.get(name, ())
            if "/" in name:  # a path written from a subfolder: the entries whose path ends with it
                out += [i for i, a in enumerate(self.entries) if a.path.endswith("/" + name)]
        return list(dict.fromkeys(out))

    def flagged(self, query: str) -> list[int]:
        """Entries that accept every option the task writes (``--x``), or [] when it writes none or none does."""
        flags = {m.group(1) for m in _FLAG.finditer(query) if m.group(1).startswith("--")}
        if not flags:
            return []
        sets = [set(self._flags.get(f, ())) for f in flags]
        return sorted(set.intersection(*sets)) if all(sets) else []

    def lexical_order(self, query: str, candidates: Sequence[int]) -> list[int]:
        """``candidates`` by the BM25 score of their units for ``query`` (unmatched ones after, in order)."""
        if len(candidates) <= 1:
            return list(candidates)
        if self._lexical is None:
            from .lexical import LexicalIndex

            self._lexical = LexicalIndex.build(self.units)
        mask = np.zeros(len(self.units), dtype=bool)
        mask[list(candidates)] = True
        ranked = [row for row, _ in self._lexical.search(query, len(candidates), mask)]
        return ranked + [i for i in candidates if i not in ranked]

    # --- choice --------------------------------------------------------------------------------------------------

    def choose(self, query: str, hits: Sequence[Hit]) -> list[tuple[int, "Affordance"]]:
        """``(after, entry)`` pairs: the entries whose units join the context, each after hit number ``after``
        (0-based), at most ``MAX_UNITS``, in context order (see the module docstring)."""
        if not self.entries or not hits:
            return []
        context = "\n".join(h.text for h in hits)
        carded = {h.chunk.path for h in hits if h.chunk.kind == "card"}
        folders = [posixpath.dirname(h.path) for h in hits]
        picks: list[tuple[int, int]] = []

        def near_hit(i: int) -> bool:
            d = posixpath.dirname(self.entries[i].path)
            return any(f == d or f.startswith(d + "/") or d.startswith(f + "/") for f in folders if f)

        def usable(i: int) -> bool:
            a = self.entries[i]
            if not a.params or a.path in carded or any(i == j for _, j in picks):
                return False
            names = [p.name for p in a.params]
            present = sum(1 for n in names if re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", context))
            return present < DUPLICATE_SHARE * len(names)

        named = self.named(query)
        if named:
            order = self.lexical_order(query, named)
            order.sort(key=lambda i: not near_hit(i))  # stable: BM25 order within each group
            first = next((i for i in order if usable(i)), None)
            if first is not None:
                picks.append((0, first))
        else:
            flagged = self.flagged(query)
            near = [i for i in flagged if near_hit(i)]
            pool = flagged if len(flagged) == 1 else self.lexical_order(query, near)
            first = next((i for i in pool if usable(i)), None)
            if first is not None:
                picks.append((0, first))
        for n, h in enumerate(hits):
            if len(picks) >= MAX_UNITS:
                break
            if h.chunk.kind == "card":
                continue
            run_here = [i for i in self.invoked_in(h.path, h.start_line, h.end_line) if usable(i)]
            if run_here:
                picks.append((n, self.lexical_order(query, run_here)[0]))
        picks.sort(key=lambda p: p[0])
        return [(after, self.entries[i]) for after, i in picks[:MAX_UNITS]]

    def unit_for(self, entry: "Affordance", query: str, budget_chars: int) -> Chunk:
        """The unit of ``entry`` as the context gets it: ``compact_text`` within the unit budget."""
        unit = self.units[self.entries.index(entry)]
        limit = budget_chars // 4 if budget_chars else NO_BUDGET_CHARS
        words = set(_WORDS.findall(query.lower()))
        flags = {m.group(1) for m in _FLAG.finditer(query)}
        wanted = set(flags)
        for p in entry.params:
            parts = _WORDS.findall(p.name.lower())
            if parts and all(w in words for w in parts):
                wanted.update(p.spellings)
        text = compact_text(entry, limit, wanted)
        return unit if text == unit.text else unit.with_(text=text)


def with_affordances(
    ranked: Sequence[tuple[Chunk, float]], hits: Sequence[Hit], picks: Sequence[tuple[int, Chunk]]
) -> list[tuple[Chunk, float]]:
    """``ranked`` with each picked unit placed right after the ranked unit behind hit number ``after`` (the
    unit takes that hit's score). A pick whose hit is not found goes after the first ranked unit."""
    if not picks:
        return list(ranked)
    ids = [c.id for c, _ in ranked]
    after_rank: dict[int, list[Chunk]] = {}
    for after, unit in picks:
        hit_id = hits[after].chunk.id if after < len(hits) else None
        at = ids.index(hit_id) if hit_id in ids else 0
        after_rank.setdefault(at, []).append(unit)
    out: list[tuple[Chunk, float]] = []
    for j, (chunk, score) in enumerate(ranked):
        out.append((chunk, score))
        out += [(u, score) for u in after_rank.get(j, ())]
    return out
