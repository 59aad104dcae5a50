"""Python usage examples of a repository's documentation: README, ``.rst`` and notebook code blocks that import
and call something, read as ``python-example`` affordances.

Many ML repositories document their Python API only by example ("### Image Captioning" followed by a
``python`` block), and a task that asks for such code is best answered from that block, adapted to the task's
values. Each example keeps its provenance (file, lines), its heading path and the sentence that introduces it
(``summary``), and its code (``run``). A block that uses names an earlier block of the same file defines
(``raw_image`` loaded once, used by every later block) gets that block prepended, so every example runs on its
own. Its *slots* — the string literals, the repository calls and the tensor shapes written in it — are its
parameters (kind ``literal``, ``position`` = slot index): the values a task may replace (``example_slots``);
numbers given to a keyword or an attribute are slots too, named by it (``num_inference_steps=50``), and so are
names the example uses but never defines, given to a call (``compute_fid(fdir1, fdir2)``: placeholders).

Pure: text in, affordances out; a block that is not Python (shell, pseudo-code, a syntax error) is not an
example and is silently left out, because documentation is full of them.
"""

from __future__ import annotations

import ast
import builtins
import json
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from ..chunking.markdown import scan_markdown
from ..chunking.notebook import render_notebook
from ..chunking.rst import scan_rst
from ..chunking.sections import Block, heading_nodes
from .base import Affordance, Param

MAX_EXAMPLES_PER_FILE = 60
MAX_EXAMPLE_LINES = 150
MAX_SLOTS = 64
_BUILTINS = set(dir(builtins))
_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*([\w+-]*)")
_QUOTE = re.compile(r"^[ \t]{0,3}>[ \t]?")
_NOT_PYTHON = {"bash", "sh", "shell", "console", "zsh", "yaml", "yml", "json", "text", "txt", "cpp", "c", "js",
               "javascript", "html", "latex", "tex", "bibtex", "toml", "ini", "cmd", "powershell", "diff",
               "r"}  # fmt: skip


@dataclass(frozen=True)
class Slot:
    """A place in an example's code a task value may replace: ``kind`` string | call | shape | number | name, its
    ``text`` (the string's value, the called name, the shape's numbers joined by commas, the placeholder's name),
    the name it is given to (``dest``: the keyword or the assigned variable) and its character span in the code."""

    kind: str
    text: str
    dest: str
    start: int
    end: int


def _offsets(code: str) -> list[int]:
    starts = [0]
    for line in code.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return starts


def example_slots(code: str) -> list[Slot]:
    """The slots of ``code`` in source order (empty when it does not parse). Docstrings are not slots."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError):
        return []
    starts = _offsets(code)

    def span(node: ast.expr) -> tuple[int, int]:
        return (starts[node.lineno - 1] + node.col_offset, starts[node.end_lineno - 1] + node.end_col_offset)  # type: ignore[operator]

    dest_of: dict[int, str] = {}
    docstrings: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg:
                    dest_of[id(kw.value)] = kw.arg
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            for arg in node.args:
                dest_of.setdefault(id(arg), name)
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            dest_of[id(node.value)] = node.targets[0].id
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Attribute):
            dest_of[id(node.value)] = node.targets[0].attr  # config.vocab_size = 50257
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            docstrings.add(id(node.value))
    out: list[Slot] = []
    free = _free(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in free and id(node) in dest_of and isinstance(node.ctx, ast.Load) \
                and not node.id[:1].isupper():
            # a name the example never defines, given to a call: a placeholder for the user's value
            # (``fid.compute_fid(fdir1, fdir2)``, ``dataset_name=custom_name``)
            out.append(Slot("name", node.id, dest_of[id(node)], *span(node)))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            if 0 < len(node.value) <= 200 and "\n" not in node.value and not node.value.startswith("__"):
                out.append(Slot("string", node.value, dest_of.get(id(node), ""), *span(node)))
        elif (isinstance(node, ast.Constant) and type(node.value) in (int, float)
              and dest_of.get(id(node), "").isidentifier() and dest_of.get(id(node), "")[:1].islower()):
            # a number given to a keyword or an attribute (num_inference_steps=50, config.block_size = 1024)
            out.append(Slot("number", repr(node.value), dest_of[id(node)], *span(node)))
        elif isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Attribute):
                a, b = span(f)
                out.append(Slot("call", f.attr, "", b - len(f.attr), b))
            elif isinstance(f, ast.Name) and f.id not in _BUILTINS:
                out.append(Slot("call", f.id, "", *span(f)))
            ints = [x for x in node.args if isinstance(x, ast.Constant) and type(x.value) is int]
            if len(ints) >= 2 and len(ints) == len(node.args) and not node.keywords:
                a, _ = span(node.args[0])
                _, b = span(node.args[-1])
                out.append(Slot("shape", ",".join(str(x.value) for x in ints), "", a, b))
    out.sort(key=lambda s: (s.start, s.kind))
    return out[:MAX_SLOTS]


def fill_slots(code: str, values: Sequence[tuple[int, str]]) -> str:
    """``code`` with slot ``i`` replaced by ``value`` for each pair: strings are re-quoted (``repr``), calls
    renamed, shapes rewritten (``50,49,512``)."""
    slots = example_slots(code)
    edits = []
    for i, value in values:
        if 0 <= i < len(slots):
            s = slots[i]
            number = re.fullmatch(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?", value) is not None
            text = repr(value) if s.kind == "string" or s.kind == "name" and not number else value
            edits.append((s.start, s.end, text))
    for a, b, text in sorted(edits, reverse=True):
        code = code[:a] + text + code[b:]
    return code


def _python_of(lines: Sequence[str], block: Block) -> tuple[str, ast.Module] | None:
    """The code of a documentation block and its tree when it is Python, else None."""
    body = list(lines[block.start : block.end])
    lang = ""
    m = _FENCE.match(body[0]) if body else None
    if m:
        lang = m.group(2).lower()
        body = body[1:]
        if body and _FENCE.match(body[-1]):
            body = body[:-1]
    elif body and body[0].lstrip().startswith(".. "):  # rst directive: its options, then the indented code
        lang = body[0].split("::", 1)[-1].strip().lower()
        body = body[1:]
        while body and re.match(r"^[ \t]+:[\w-]+:", body[0]):
            body = body[1:]
    if lang in _NOT_PYTHON or len(body) > MAX_EXAMPLE_LINES:
        return None
    text = textwrap.dedent("".join(line if line.endswith("\n") else line + "\n" for line in body))
    if ">>> " in text:  # doctest style: keep the statements, drop the shown results
        kept = [ln[4:] if ln.startswith((">>> ", "... ")) else None for ln in text.splitlines()]
        text = "\n".join(k for k in kept if k is not None) + "\n"
    text = "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith(("!", "%"))) + "\n"
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return None
    if not any(isinstance(n, ast.Call) for n in ast.walk(tree)):
        return None
    return text.strip("\n") + "\n", tree


def _defined(tree: ast.Module) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            out.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)  # (their parameters are ast.arg nodes, below)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            out.add(node.id)
        elif isinstance(node, ast.arg):
            out.add(node.arg)
    return out


def _free(tree: ast.Module) -> set[str]:
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return used - _defined(tree) - _BUILTINS


def _imports(tree: ast.Module) -> bool:
    return any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.walk(tree))


def _lead(lines: Sequence[str], blocks: Sequence[Block], k: int) -> str:
    """The first sentence of the prose right before block ``k`` (after its heading)."""
    for b in reversed(blocks[:k]):
        if b.type == "heading":
            return ""
        if b.type == "prose":
            text = " ".join("".join(lines[b.start : b.end]).split())
            return re.split(r"(?<=[.!?:])\s", text, maxsplit=1)[0][:200]
    return ""


def unquote(lines: Sequence[str]) -> list[str]:
    """``lines`` with one level of markdown blockquote (``> ``) removed outside fenced code, line for line, so that
    a code block written inside a quote ("> ```python") is read as code. Lines inside an unquoted fence keep their
    ``>`` (a doctest's ``>>>``, a shell prompt).

    Example:
        >>> unquote(["> ```python\n", "> import x\n", "> ```\n", "```\n", ">>> f()\n", "```\n"])
        ['```python\n', 'import x\n', '```\n', '```\n', '>>> f()\n', '```\n']
    """
    out: list[str] = []
    fence = ""
    for line in lines:
        m = _FENCE.match(line)
        if fence:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and not m.group(2):
                fence = ""
            out.append(line)
        elif m:
            fence = m.group(1)
            out.append(line)
        else:
            out.append(_QUOTE.sub("", line, count=1))
    return out


def example_affordances(path: str, text: str) -> list[Affordance]:
    """The Python examples of one documentation file (``.md``, ``.rst``, ``.ipynb``)."""
    if path.endswith(".ipynb"):
        try:
            nb = json.loads(text)
        except ValueError:
            return []
        if not isinstance(nb, dict):
            return []
        lines, _ = render_notebook(nb)
        blocks = scan_markdown(lines)
    else:
        lines = text.splitlines(keepends=True)
        if path.endswith(".rst"):
            blocks = scan_rst(lines)
        else:
            lines = unquote(lines)
            blocks = scan_markdown(lines)
    _, paths = heading_nodes(blocks, len(lines))
    heading = ""
    seen: list[tuple[ast.Module, str]] = []  # earlier Python blocks of the file, for the names they define
    out: list[Affordance] = []
    for k, b in enumerate(blocks):
        if b.type == "heading":
            heading = paths.get(b.start, b.title)
            continue
        doctest = b.type == "prose" and lines[b.start].lstrip().startswith(">>> ")  # an rst doctest block
        if b.type != "code" and not doctest:
            continue
        got_code = _python_of(lines, b)
        if got_code is None:
            continue
        code, tree = got_code
        need = _free(tree)
        prefix: list[tuple[ast.Module, str]] = []
        for earlier, earlier_code in reversed(seen):
            got = need & _defined(earlier)
            if got:
                prefix.insert(0, (earlier, earlier_code))
                need -= got
        seen.append((tree, code))
        full = "\n".join([*(c for _, c in prefix), code])
        if not any(_imports(t) for t in (tree, *(t for t, _ in prefix))) or len(out) >= MAX_EXAMPLES_PER_FILE:
            continue
        title = heading.rsplit(" > ", 1)[-1] if heading else path.rsplit("/", 1)[-1]
        lead = _lead(lines, blocks, k)
        params = tuple(
            Param(name=s.text, kind="literal", type=s.kind, dest=s.dest, position=i)
            for i, s in enumerate(example_slots(full))
        )
        out.append(
            Affordance(
                id=f"python-example:{path}:{b.start + 1}",
                kind="python-example",
                name=title,
                path=path,
                start_line=b.start + 1,
                end_line=max(b.start + 1, b.end),
                run=full,
                framework="docs",
                params=params,
                summary=f"{heading}: {lead}" if heading and lead else heading or lead,
            )
        )
    return out
