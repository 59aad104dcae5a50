"""Argument-card chunks, and the links between cards and the chunks that run their scripts.

Invocations are found by pattern in README, docs, notebook and shell chunks: a ``*.py`` path on a line that
also names a runner (``mlrag.commands.RUNNER``: ``python``, ``python3.8``, ``torchrun``, ``accelerate launch``,
``deepspeed``, ...), and ``python -m package.module``. A path is resolved against the folder of the invoking file
first (``python citation.py`` in ``examples/pytorch/arma/README.md``), then against the repository root, then as
the unique script whose path ends with it. The card's ``workdir`` is where most invocations run it from (the invoking
file's folder for bare names, the root for repo-relative paths); with no invocation, the script's own folder.

A card longer than ``max_tokens`` would be truncated by the embedder, so it is split (``card_pieces``): the full
card becomes a derived level-1 context, and the search units are *pieces* that each fit ``max_tokens``: the
card's header (what it is, how to run it, from which folder; ``part i of n``) repeated at the top of each, then
consecutive option lines (a subcommand's line repeated when its options continue in the next piece), each
option in exactly one piece. Pieces are ``kind == "card"``, ``derived``, with ``parent_id`` = the full card, the
full card's ``links`` and ``meta`` (all options, so code reading ``meta["options"]`` from any piece sees the
whole interface) plus ``meta["part"] = [i, n]``. A single option line longer than the budget is a piece alone.
The chunks that invoke a script link to its full card, in ``units`` or in ``contexts``.

Chunks are frozen and their ids do not depend on ``links``, so linking rebuilds the invoking chunks with
``with_(links=...)``; the card's own id is computed once its text (which names the invoking sections) is final.
"""

from __future__ import annotations

import posixpath
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from ..commands import PYTHON_MODULE, RUNNER
from ..types import Chunk
from .base import ChunkSet, CountTokens
from .cards import CliSpec, Option

if TYPE_CHECKING:
    from ..config import ChunkingConfig

_SCRIPT = re.compile(r"(?<![\w/.-])((?:\.{1,2}/)?[\w.-]+(?:/[\w.-]+)*\.py)(?![\w/.-])")
#: A script run as a program where a command starts: a code line (``./main.py --si``, ``$ ./tools/train.py``), after
#: ``&&`` or ``;``, or inline code with its arguments (`` `./main.py --icarl` ``; `` `./app.py` file`` names a file).
EXECUTED = re.compile(
    r"(?:^\s*(?:\$\s+)?|[;&|]\s*)(\.{1,2}/[\w.-]+(?:/[\w.-]+)*\.py)(?=\s|$|`)"
    r"|`(\.{1,2}/[\w.-]+(?:/[\w.-]+)*\.py)(?=\s+[^`\s][^`]*`)")
INVOKING_KINDS = ("markdown", "rst", "notebook", "shell", "text")


def find_invocations(text: str) -> list[tuple[str, bool]]:
    """``(target, is_module)`` pairs for the scripts a text runs, in order, without repeats."""
    out: list[tuple[str, bool]] = []
    for line in text.splitlines():
        if not RUNNER.search(line):
            out += [(m.group(1) or m.group(2), False) for m in EXECUTED.finditer(line)]  # ./main.py: chmod +x
            continue
        for m in _SCRIPT.finditer(line):
            out.append((m.group(1), False))
        for m in PYTHON_MODULE.finditer(line):
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
            if "src/" + cand in scripts:  # a src layout's package, run as installed from where the docs are
                return "src/" + cand, from_dir
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


def card_lines(
    script: str, spec: CliSpec, workdir: str, run: str, invoked: Sequence[Chunk]
) -> tuple[list[str], list[tuple[str, str]]]:
    """A card's header lines and its body as ``(subcommand line or "", line)`` pairs, in card order; the card's
    text is the header, then the body's lines (how to run the script, then one line per option, subcommands
    after)."""
    cd = f"cd {workdir} && " if workdir else ""
    header = [f"Command-line interface of {script} ({spec.framework})", f"Run: {cd}{run} [options]"]
    body = [("", _option_line(o)) for o in spec.options]
    for name, opts in spec.subcommands.items():
        sub = f"Subcommand {name}: {cd}{run} {name} [options]"
        body.append((sub, sub))
        body += [(sub, "  " + _option_line(o)) for o in opts]
    if invoked:
        where = [f"{c.path} ({c.title})" if c.title else c.path for c in invoked]
        body.append(("", "Invoked in: " + ", ".join(dict.fromkeys(where))))
    return header, body


def pack_card_lines(
    header: Sequence[str], body: Sequence[tuple[str, str]], max_tokens: int, count_tokens: CountTokens
) -> list[list[str]]:
    """Body lines packed into pieces that fit ``max_tokens`` with the header on top (header not included).

    Each body line lands in exactly one piece, in order; a piece that starts inside a subcommand repeats the
    subcommand's line first; a subcommand's line is not left last in a piece. Sizes are summed per line (the
    ``part i of n`` tag is budgeted at its widest), as chunk sizes are everywhere.
    """
    budget = max_tokens - sum(count_tokens(h + "\n") for h in header) - count_tokens(", part 99 of 99")
    sizes = [count_tokens(line + "\n") for _, line in body]
    pieces: list[list[str]] = []
    cur: list[str] = []
    used = 0
    for k, ((sub, line), size) in enumerate(zip(body, sizes)):
        need = size
        if sub == line and k + 1 < len(body) and body[k + 1][0] == sub:
            need += sizes[k + 1]  # a subcommand line goes with its first option
        if cur and used + need > budget:
            pieces.append(cur)
            cur, used = [], 0
        if not cur and sub and sub != line:
            cur, used = [sub], count_tokens(sub + "\n")
        cur.append(line)
        used += size
    if cur:
        pieces.append(cur)
    return pieces


def card_pieces(
    card: Chunk,
    header: Sequence[str],
    body: Sequence[tuple[str, str]],
    config: "ChunkingConfig",
    count_tokens: CountTokens,
) -> list[Chunk]:
    """Search units of a card longer than ``max_tokens`` (see the module docstring); ``[card]`` when it fits."""
    if count_tokens(card.text) <= config.max_tokens or not body:
        return [card]
    groups = pack_card_lines(header, body, config.max_tokens, count_tokens)
    out: list[Chunk] = []
    for i, lines in enumerate(groups, 1):
        head = [f"{header[0]}, part {i} of {len(groups)}", *header[1:]]
        out.append(
            Chunk.make(
                "\n".join(head + lines) + "\n",
                card.path,
                card.start_line,
                card.end_line,
                "card",
                title=f"{card.title} ({i}/{len(groups)})",
                derived=True,
                parent_id=card.id,
                links=card.links,
                meta={**card.meta, "part": [i, len(groups)]},
            )
        )
    return out


def link_cards(
    chunks: ChunkSet,
    specs: Mapping[str, CliSpec],
    config: "ChunkingConfig | None" = None,
    count_tokens: CountTokens | None = None,
) -> ChunkSet:
    """Add one card per script in ``specs`` (path -> CLI) and link cards with the chunks that invoke them.

    With ``config`` and ``count_tokens``, a card longer than ``config.max_tokens`` is split into pieces and
    kept whole as a context (``card_pieces``); without them every card is one unit.
    """
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
    full: list[Chunk] = []  # split cards, kept whole as contexts
    back: dict[str, list[str]] = {}  # chunk id -> card ids
    for script in sorted(scripts):
        spec = specs[script]
        users = invoked_by[script]
        workdir = Counter(w for _, w in users).most_common(1)[0][0] if users else posixpath.dirname(script)
        run = _run_line(script, workdir)
        header, body = card_lines(script, spec, workdir, run, [u for u, _ in users])
        text = "\n".join(header + [line for _, line in body]) + "\n"
        ids = tuple(u.id for u, _ in users)
        meta = {
            "script": script, "workdir": workdir, "run": run, "framework": spec.framework,
            "options": list(spec.options), "subcommands": dict(spec.subcommands), "invoked_by": list(ids),
        }  # fmt: skip
        card = Chunk.make(
            text, script, spec.start_line, spec.end_line, "card",
            title=f"{script} command line", derived=True, links=ids, meta=meta,
        )  # fmt: skip
        pieces = (
            [card] if config is None or count_tokens is None else card_pieces(card, header, body, config, count_tokens)
        )
        cards.extend(pieces)
        if pieces[0] is not card:
            full.append(card.with_(meta={**meta, "level": 1}))
        for uid in ids:
            back.setdefault(uid, []).append(card.id)

    def relink(cs: Iterable[Chunk]) -> tuple[Chunk, ...]:
        return tuple(c.with_(links=c.links + tuple(back[c.id])) if c.id in back else c for c in cs)

    return ChunkSet(relink(chunks.units) + tuple(cards), chunks.contexts + tuple(full))


def _invoking(units: Iterable[Chunk]) -> Iterable[Chunk]:
    return (c for c in units if c.kind in INVOKING_KINDS and not c.derived)
