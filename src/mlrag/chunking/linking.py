"""Argument-card chunks, and the links between cards and the chunks that run their scripts.

Invocations are found by pattern in README, docs, notebook and shell chunks: a ``*.py`` path on a line that
also names a runner (``python``, ``python3.8``, ``torchrun``, ``accelerate launch``, ``deepspeed``, ...), and
``python -m package.module``. A path is resolved against the folder of the invoking file first (``python
citation.py`` in ``examples/pytorch/arma/README.md``), then against the repository root, then as the unique
script whose path ends with it. The card's ``workdir`` is where most invocations run it from (the invoking
file's folder for bare names, the root for repo-relative paths); with no invocation, the script's own folder.

A card is one chunk however many options the script has, so a large interface can exceed ``max_tokens`` (the
dense embedder then reads its first options; BM25 reads it all).

Chunks are frozen and their ids do not depend on ``links``, so linking rebuilds the invoking chunks with
``with_(links=...)``; the card's own id is computed once its text (which names the invoking sections) is final.
"""

from __future__ import annotations

import posixpath
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from ..types import Chunk
from .base import ChunkSet
from .cards import CliSpec, Option

_SCRIPT = re.compile(r"(?<![\w/.-])((?:\.{1,2}/)?[\w.-]+(?:/[\w.-]+)*\.py)(?![\w/.-])")
_RUNNER = re.compile(r"(?:\bpython[\d.]*|\btorchrun|\baccelerate|\bdeepspeed|\bhorovodrun|%run|\bmpirun|\bsrun)\b")
_MODULE = re.compile(r"\bpython[\d.]*\s+(?:-\w+\s+)*-m\s+([\w.]+)")
INVOKING_KINDS = ("markdown", "rst", "notebook", "shell", "text")


def find_invocations(text: str) -> list[tuple[str, bool]]:
    """``(target, is_module)`` pairs for the scripts a text runs, in order, without repeats."""
    out: list[tuple[str, bool]] = []
    for line in text.splitlines():
        if not _RUNNER.search(line):
            continue
        for m in _SCRIPT.finditer(line):
            out.append((m.group(1), False))
        for m in _MODULE.finditer(line):
            out.append((m.group(1), True))
    return list(dict.fromkeys(out))


def _resolve(target: str, is_module: bool, from_dir: str, scripts: set[str]) -> tuple[str, str] | None:
    """(script, workdir) for an invocation written in a file under ``from_dir``."""
    if is_module:
        rel = target.replace(".", "/")
        for cand in (rel + ".py", rel + "/__main__.py"):
            for base in (from_dir, ""):
                p = posixpath.normpath(posixpath.join(base, cand))
                if p in scripts:
                    return p, base
        return None
    t = target[2:] if target.startswith("./") else target
    joined = posixpath.normpath(posixpath.join(from_dir, t))
    if joined in scripts:
        return joined, from_dir
    rooted = posixpath.normpath(t)
    if rooted in scripts:
        return rooted, ""
    if t.startswith("../"):
        return None
    matches = [s for s in scripts if s.endswith("/" + rooted)]
    if len(matches) == 1:
        return matches[0], matches[0][: -len(rooted) - 1]
    return None


def _run_line(script: str, workdir: str) -> str:
    rel = posixpath.relpath(script, workdir or ".")
    return f"python {rel}"


def _option_line(o: Option) -> str:
    head = ", ".join(o["flags"])
    if o.get("action") in ("store_true", "store_false"):
        head += " (flag)"
    elif o.get("type"):
        head += " " + str(o["type"]).upper()
    if o.get("positional"):
        head += " (positional)"
    parts = [head]
    if o.get("nargs"):
        parts.append(f"nargs: {o['nargs']}")
    if o.get("default") is not None:
        parts.append(f"default: {o['default']}")
    if o.get("choices"):
        parts.append("choices: " + ", ".join(o["choices"]))
    if o.get("required") and not o.get("positional"):
        parts.append("required")
    if o.get("mutex_group"):
        parts.append(f"(mutually exclusive group {o['mutex_group']})")
    if o.get("help"):
        parts.append(" ".join(str(o["help"]).split()))
    return "  " + "  ".join(parts)


def card_text(script: str, spec: CliSpec, workdir: str, run: str, invoked: Sequence[Chunk]) -> str:
    """The readable card: how to run the script, then one line per option (subcommands after)."""
    cd = f"cd {workdir} && " if workdir else ""
    lines = [f"Command-line interface of {script} ({spec.framework})", f"Run: {cd}{run} [options]"]
    lines += [_option_line(o) for o in spec.options]
    for name, opts in spec.subcommands.items():
        lines.append(f"Subcommand {name}: {cd}{run} {name} [options]")
        lines += ["  " + _option_line(o) for o in opts]
    if invoked:
        where = [f"{c.path} ({c.title})" if c.title else c.path for c in invoked]
        lines.append("Invoked in: " + ", ".join(dict.fromkeys(where)))
    return "\n".join(lines) + "\n"


def link_cards(chunks: ChunkSet, specs: Mapping[str, CliSpec]) -> ChunkSet:
    """Add one card per script in ``specs`` (path -> CLI) and link cards with the chunks that invoke them."""
    if not specs:
        return chunks
    scripts = set(specs)
    invoked_by: dict[str, list[tuple[Chunk, str]]] = {s: [] for s in scripts}  # script -> (chunk, workdir)
    for c in _invoking(chunks.units):
        from_dir = posixpath.dirname(c.path)
        for target, is_module in find_invocations(c.text):
            hit = _resolve(target, is_module, from_dir, scripts)
            if hit is not None and all(c.id != x.id for x, _ in invoked_by[hit[0]]):
                invoked_by[hit[0]].append((c, hit[1]))
    cards: list[Chunk] = []
    back: dict[str, list[str]] = {}  # chunk id -> card ids
    for script in sorted(scripts):
        spec = specs[script]
        users = invoked_by[script]
        workdir = Counter(w for _, w in users).most_common(1)[0][0] if users else posixpath.dirname(script)
        run = _run_line(script, workdir)
        text = card_text(script, spec, workdir, run, [u for u, _ in users])
        ids = tuple(u.id for u, _ in users)
        meta = {
            "script": script, "workdir": workdir, "run": run, "framework": spec.framework,
            "options": list(spec.options), "subcommands": dict(spec.subcommands), "invoked_by": list(ids),
        }  # fmt: skip
        card = Chunk.make(
            text, script, spec.start_line, spec.end_line, "card",
            title=f"{script} command line", derived=True, links=ids, meta=meta,
        )  # fmt: skip
        cards.append(card)
        for uid in ids:
            back.setdefault(uid, []).append(card.id)

    def relink(cs: Iterable[Chunk]) -> tuple[Chunk, ...]:
        return tuple(c.with_(links=c.links + tuple(back[c.id])) if c.id in back else c for c in cs)

    return ChunkSet(relink(chunks.units) + tuple(cards), chunks.contexts)


def _invoking(units: Iterable[Chunk]) -> Iterable[Chunk]:
    return (c for c in units if c.kind in INVOKING_KINDS and not c.derived)
