"""Python source into ``ast``-based units.

A module is cut between top-level statements (never inside one): the module header (leading comments,
docstring and imports), each function and class with its decorators, the ``if __name__ == "__main__":`` block,
and runs of other top-level statements. Comment lines directly above a statement (no blank line between)
belong to it; other lines between statements stay with the statement before.

Small neighbouring top-level units merge up to ``merge_tokens`` (titles joined with ``", "``). A unit over
``max_tokens`` is cut the same way one level down: a class into its header (signature, docstring,
class attributes) and its methods, a function into its signature and docstring and its body statements, any
compound statement into its child statements, recursively; a simple statement over the limit (a huge literal)
by lines. Pieces keep qualified titles (``Trainer.fit``) so the class is named in every piece's embedding
header; neighbouring pieces are packed up to ``max_tokens``; and the split class or function becomes their
parent context when it fits ``context_max_tokens``, else runs of its pieces do and the whole class becomes
their level-2 context when it fits ``section_max_tokens`` (``base.context_levels``). Top-level units that
were not split have no context of either level.

A file that does not parse (Python 2, templates) falls back to line windows with a logged warning.
"""

from __future__ import annotations

import ast
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .base import (
    ChunkSet,
    CountTokens,
    LineTokens,
    Span,
    build_chunks,
    context_levels,
    file_lines,
    is_blank,
    line_windows,
    trim,
    windows_chunkset,
)

if TYPE_CHECKING:
    from ..config import ChunkingConfig

log = logging.getLogger(__name__)

_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


@dataclass
class _Piece:
    start: int
    end: int
    title: str
    node: ast.stmt | None  # the statement when the piece is one def/class/compound statement
    group: str  # "def", "header", "main", "stmt": pieces of different groups do not form one run


def _first_line(node: ast.stmt) -> int:
    deco = getattr(node, "decorator_list", None) or []
    return min([node.lineno, *(d.lineno for d in deco)]) - 1


def _is_main(node: ast.stmt) -> bool:
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    names = [n for n in ast.walk(node.test) if isinstance(n, ast.Name)]
    consts = [n for n in ast.walk(node.test) if isinstance(n, ast.Constant)]
    return any(n.id == "__name__" for n in names) and any(c.value == "__main__" for c in consts)


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _pieces(stmts: Sequence[ast.stmt], lo: int, hi: int, lines: Sequence[str]) -> list[tuple[int, int, ast.stmt]]:
    """Partition ``[lo, hi)`` between ``stmts`` (sorted): comments right above a statement belong to it."""
    starts: list[tuple[int, ast.stmt]] = []
    prev_end = lo
    for st in stmts:
        s = max(_first_line(st), lo)
        if starts and s < prev_end:  # "a = 1; b = 2": same line as the previous statement
            continue
        k = s
        while k > prev_end and _is_comment(lines[k - 1]):
            k -= 1
        starts.append((k if starts else lo, st))
        prev_end = max(prev_end, (st.end_lineno or st.lineno))
    out: list[tuple[int, int, ast.stmt]] = []
    for idx, (s, st) in enumerate(starts):
        e = starts[idx + 1][0] if idx + 1 < len(starts) else hi
        a, b = trim(lines, s, e)
        if a < b:
            out.append((a, b, st))
    return out


def _children(node: ast.stmt) -> list[ast.stmt]:
    kids: list[ast.stmt] = []
    for name in ("body", "orelse", "finalbody"):
        kids.extend(getattr(node, name, None) or [])
    for h in getattr(node, "handlers", None) or []:
        kids.extend(h.body)
    for c in getattr(node, "cases", None) or []:
        kids.extend(c.body)
    return sorted(kids, key=lambda k: k.lineno)


def _docstring_stmt(node: ast.stmt) -> ast.stmt | None:
    body = getattr(node, "body", None) or []
    first = body[0] if body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        return first
    return None


class _Splitter:
    def __init__(self, lines: Sequence[str], tok: LineTokens, config: "ChunkingConfig") -> None:
        self.lines, self.tok, self.cfg = lines, tok, config
        self.nodes: list[Span] = []  # split defs/compounds: candidate contexts

    def units(self, pieces: list[_Piece], merge_limit: int) -> list[Span]:
        """Final unit spans of sibling pieces: big ones split, neighbours merged up to ``merge_limit``."""
        out: list[Span] = []
        run: list[_Piece] = []  # small unsplit pieces waiting to be merged

        def flush() -> None:
            cur: list[_Piece] = []
            for p in run:
                mixes_main = cur and "main" in (cur[-1].group, p.group)
                if cur and not mixes_main and self.tok(cur[0].start, p.end) <= merge_limit:
                    cur.append(p)
                    continue
                if cur:
                    out.append(_joined(cur))
                cur = [p]
            if cur:
                out.append(_joined(cur))
            run.clear()

        for p in pieces:
            if self.tok(p.start, p.end) <= self.cfg.max_tokens:
                run.append(p)
                continue
            flush()
            out.extend(self.split(p))
        flush()
        return out

    def split(self, p: _Piece) -> list[Span]:
        kids = _children(p.node) if p.node is not None else []
        kids = [k for k in kids if p.start <= _first_line(k) < p.end]
        if not kids:
            return [
                Span(s, e, p.title) for s, e in line_windows(self.lines, p.start, p.end, self.cfg.max_tokens, self.tok)
            ]
        self.nodes.append(Span(p.start, p.end, p.title))
        doc = _docstring_stmt(p.node) if isinstance(p.node, _DEFS) else None
        if doc is not None and len(kids) > 1:
            kids = [k for k in kids if k is not doc]
        first = _first_line(kids[0])
        k0 = first
        while k0 > p.start and _is_comment(self.lines[k0 - 1]):
            k0 -= 1
        pieces: list[_Piece] = []
        hs, he = trim(self.lines, p.start, k0)
        if hs < he:
            pieces.append(_Piece(hs, he, p.title, None, "header"))
        for s, e, st in _pieces(kids, k0, p.end, self.lines):
            if isinstance(st, _DEFS):
                title = f"{p.title}.{st.name}" if p.title else st.name
                pieces.append(_Piece(s, e, title, st, "def"))
            else:
                pieces.append(_Piece(s, e, p.title, st, "stmt"))
        if len(pieces) == 1 and (pieces[0].start, pieces[0].end) == (p.start, p.end):  # one-line compound
            self.nodes.pop()
            return [
                Span(s, e, p.title) for s, e in line_windows(self.lines, p.start, p.end, self.cfg.max_tokens, self.tok)
            ]
        return self.units(pieces, self.cfg.max_tokens)  # pieces of one split unit: pack up to the limit


def _joined(ps: list[_Piece]) -> Span:
    titles: list[str] = []
    for p in ps:
        if p.title and p.title not in titles:
            titles.append(p.title)
    return Span(ps[0].start, ps[-1].end, ", ".join(titles))


def _top_pieces(tree: ast.Module, lines: Sequence[str]) -> list[_Piece]:
    out: list[_Piece] = []
    in_header = True
    for s, e, st in _pieces(tree.body, 0, len(lines), lines):
        header_stmt = isinstance(st, (ast.Import, ast.ImportFrom)) or (
            isinstance(st, ast.Expr) and isinstance(st.value, ast.Constant) and isinstance(st.value.value, str)
        )
        in_header = in_header and header_stmt
        if in_header and out:  # the header is one piece however many statements it has
            out[-1] = _Piece(out[-1].start, e, "<module>", None, "header")
        elif in_header:
            out.append(_Piece(s, e, "<module>", st, "header"))
        elif isinstance(st, _DEFS):
            out.append(_Piece(s, e, st.name, st, "def"))
        elif _is_main(st):
            out.append(_Piece(s, e, "__main__", st, "main"))
        else:
            out.append(_Piece(s, e, "", st, "stmt"))
    return out


def parse_python(path: str, text: str) -> ast.Module | None:
    """``ast.parse(text)``, or None with a logged warning when the file is not valid Python."""
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError) as e:
        log.warning("%s: not valid Python (%s); chunked in line windows", path, e)
        return None


def chunk_python(
    path: str, text: str, config: "ChunkingConfig", count_tokens: CountTokens, tree: ast.Module | None = None
) -> ChunkSet:
    """Search units and contexts of a Python file (see the module docstring); ``tree`` is its parse if known.

    Example:
        >>> from mlrag.config import ChunkingConfig
        >>> cs = chunk_python("a.py", "import os\\n\\n@dec\\ndef f():\\n    return 1\\n", ChunkingConfig(), len)
        >>> [(c.title, c.start_line, c.end_line) for c in cs.units]
        [('<module>, f', 1, 5)]
    """
    if tree is None:
        tree = parse_python(path, text)
    if tree is None:
        return windows_chunkset(path, text, "python", config, count_tokens)
    lines = file_lines(text)
    if any((getattr(n, "end_lineno", 0) or 0) > len(lines) for n in tree.body):  # "\r" newlines: ast disagrees
        log.warning("%s: line numbers do not match the file's lines; chunked in line windows", path)
        return windows_chunkset(path, text, "python", config, count_tokens)
    tok = LineTokens(lines, count_tokens)
    sp = _Splitter(lines, tok, config)
    units = sp.units(_top_pieces(tree, lines), min(config.merge_tokens, config.max_tokens))
    units = [u for u in units if any(not is_blank(x) for x in lines[u.start : u.end])]
    return build_chunks(path, lines, "python", units, context_levels(units, sp.nodes, tok, config))
