"""Prompts: templates in ``configs/prompts/``, context packing, and the expected output type.

Templates are plain text read with ``string.Template`` (``$task``, ``$context``, ``$output_type``,
``$output_name``, ``$output_instruction``, ``$workdir``; ``$$`` is a literal dollar), split into chat messages by
``[system]`` / ``[user]`` / ``[assistant]`` marker lines. No template engine: the templates are short and users
read them next to the defaults.

Context packing: hits keep their retrieval order; region hits of the same file whose line ranges overlap or touch
are merged into one part (the earlier rank's position); each part gets a ``### path:start-end`` header; parts
are added until the token budget is spent, and the part that crosses the budget is cut at a line boundary (its
header then shows the lines actually included).
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import CONFIG_DIR
from ..errors import ConfigError
from ..types import Chunk, Hit
from .base import Messages
from .extract import runs_script

if TYPE_CHECKING:
    from ..catalog.base import Catalog

PROMPT_DIR = CONFIG_DIR / "prompts"
_ROLE_LINE = re.compile(r"^\[(system|user|assistant)\][ \t]*$", re.MULTILINE)

OUTPUT_NAMES = {"bash": "bash command", "python": "Python code"}
OUTPUT_INSTRUCTIONS = {
    "bash": "Write the bash command that runs the repository's script for this task, from the folder $where.",
    "python": "Write the Python code that does this task with the repository's modules, imports included.",
}


def approx_tokens(text: str) -> int:
    """A tokenizer-free token estimate (about 4 characters per token for English and code)."""
    return math.ceil(len(text) / 4)


def load_template(name: str) -> str:
    """A template's text: ``name`` is a file in ``configs/prompts`` (with or without ``.txt``) or a path."""
    candidates = [PROMPT_DIR / name, PROMPT_DIR / f"{name}.txt", Path(name).expanduser()]
    for path in candidates:
        if path.is_file():
            return path.read_text(encoding="utf-8")
    known = sorted(p.stem for p in PROMPT_DIR.glob("*.txt"))
    raise ConfigError(f"generation.prompt: no template {name!r}; use one of {', '.join(known)} or a file path")


def render(template: str, **values: str) -> Messages:
    """Fill ``template`` and split it into chat messages at its ``[role]`` lines (no marker = one user message)."""
    try:
        text = string.Template(template).substitute(values)
    except (KeyError, ValueError) as e:
        raise ConfigError(
            f"prompt template: bad or unknown placeholder {e}; known: {', '.join(sorted(values))}"
        ) from None
    parts = _ROLE_LINE.split(text)
    if len(parts) == 1:
        return [{"role": "user", "content": text.strip()}]
    messages = []
    for role, content in zip(parts[1::2], parts[2::2]):
        if content.strip():
            messages.append({"role": role, "content": content.strip()})
    return messages


@dataclass(frozen=True)
class ContextPart:
    """One packed piece of context: a file's line range (possibly merged from several hits) or a card."""

    path: str
    start_line: int
    end_line: int
    text: str
    derived: bool = False

    @property
    def header(self) -> str:
        suffix = " (command-line options)" if self.derived else ""
        return f"### {self.path}:{self.start_line}-{self.end_line}{suffix}"


@dataclass
class _Region:
    """A file's lines being merged (mutable while merging): ``lines`` maps a line number to its text."""

    path: str
    start: int
    end: int
    lines: dict[int, str]

    def touches(self, other: _Region) -> bool:
        return self.path == other.path and other.start <= self.end + 1 and self.start <= other.end + 1

    def absorb(self, other: _Region) -> None:
        self.lines = {**other.lines, **self.lines}
        self.start, self.end = min(self.start, other.start), max(self.end, other.end)


def merge_hits(hits: Sequence[Hit]) -> list[ContextPart]:
    """Merge region hits of one file whose ranges overlap or touch; keep first-rank order; cards stay apart."""
    parts: list[_Region | ContextPart] = []
    for hit in hits:
        if hit.chunk.derived or hit.chunk.kind == "card":
            card = ContextPart(hit.path, hit.start_line, hit.end_line, hit.text, derived=True)
            if card not in parts:
                parts.append(card)
            continue
        lines = dict(enumerate(hit.text.splitlines(keepends=True), start=hit.start_line))
        new = _Region(hit.path, hit.start_line, max(hit.end_line, hit.start_line + len(lines) - 1), lines)
        # Fold the new region into the earliest region it touches; that may bridge to later ones: repeat.
        target = next((p for p in parts if isinstance(p, _Region) and p.touches(new)), None)
        if target is None:
            parts.append(new)
            continue
        target.absorb(new)
        while True:
            later = [p for p in parts if isinstance(p, _Region) and p is not target and target.touches(p)]
            if not later:
                break
            for p in later:
                target.absorb(p)
                parts.remove(p)
    out: list[ContextPart] = []
    for part in parts:
        if isinstance(part, _Region):
            text = "".join(part.lines.get(n, "\n") for n in range(part.start, part.end + 1))
            out.append(ContextPart(part.path, part.start, part.end, text))
        else:
            out.append(part)
    return out


def pack_context(
    hits: Sequence[Hit], budget_tokens: int, count_tokens: Callable[[str], int] | None = None
) -> tuple[str, list[ContextPart]]:
    """The context section of a prompt, and the parts it holds.

    Args:
        hits: retrieved hits, best first.
        budget_tokens: the most tokens the section may take (0 = unlimited).
        count_tokens: the model's token counter (default: ``approx_tokens``).

    Returns:
        ``(text, parts)`` where ``text`` is the parts, each with its ``### path:start-end`` header, joined by
        blank lines, and ``parts`` lists what went in (cut parts with their cut line range).
    """
    count = count_tokens or approx_tokens
    packed: list[ContextPart] = []
    used = 0
    for part in merge_hits(hits):
        block = f"{part.header}\n{part.text.rstrip()}\n"
        cost = count(block) + 1
        if not budget_tokens or used + cost <= budget_tokens:
            packed.append(part)
            used += cost
            continue
        left = budget_tokens - used - count(part.header) - 2
        if left > 16 and not part.derived:  # cut at a line boundary; a few lines are not worth a header
            keep: list[str] = []
            for line in part.text.splitlines(keepends=True):
                if count("".join(keep) + line) > left:
                    break
                keep.append(line)
            if keep:
                packed.append(ContextPart(part.path, part.start_line, part.start_line + len(keep) - 1, "".join(keep)))
        break
    text = "\n".join(f"{p.header}\n{p.text.rstrip()}\n" for p in packed)
    return text, packed


_PY_TASK = re.compile(
    r"\b(python (?:code|snippet|api|function)|snippet|import|module|library|api|usage|"
    r"in python|class|instantiate)\b",
    re.I,
)
_BASH_TASK = re.compile(r"\b(bash|shell|command[- ]line|command|terminal|cli|run the script|\.sh|\.py)\b|--\w", re.I)
_IMPORT_LINE = re.compile(r"^\s*(?:>>>\s*)?(?:from\s+[\w.]+\s+import|import\s+[\w.]+)", re.M)


def guess_output_type(task: str, hits: Sequence[Hit] = ()) -> str:
    """``"bash"`` or ``"python"`` from cues in the task and, more strongly, in the top-ranked context.

    The context's top three hits vote (weight 3, 2, 1): script-running lines count for bash, import lines for
    Python; the task's words add one vote each way. Ties go to bash (most ML repositories are run by command).
    """
    score = 0.0  # > 0: python
    score += len(_PY_TASK.findall(task)) - len(_BASH_TASK.findall(task))
    for weight, hit in zip((3, 2, 1), hits):
        run = sum(1 for line in hit.text.splitlines() if runs_script(line))
        imp = len(_IMPORT_LINE.findall(hit.text))
        if run or imp:
            score += weight * (1 if imp > run else -1)
    return "python" if score > 0 else "bash"


def build_messages(
    template: str,
    task: str,
    hits: Sequence[Hit],
    output_type: str,
    *,
    workdir: str = "",
    budget_tokens: int = 0,
    count_tokens: Callable[[str], int] | None = None,
) -> Messages:
    """The chat messages for one task (the template filled with the task and the packed context)."""
    context, _ = pack_context(hits, budget_tokens, count_tokens)
    where = f"`{workdir}`" if workdir and workdir not in (".", "./") else "the repository root"
    return render(
        template,
        task=task.strip(),
        context=context.strip() or "(no context)",
        output_type=output_type,
        output_name=OUTPUT_NAMES[output_type],
        output_instruction=OUTPUT_INSTRUCTIONS[output_type].replace("$where", where),
        workdir=workdir or ".",
    )


def render_card(card: Chunk) -> str:
    """A card as plain text for a repair prompt: how to run the script, and each option with type/choices."""
    meta = card.meta
    script = meta.get("script", card.path)
    head = f"{script}: run from `{meta.get('workdir') or '.'}` as `{meta.get('run') or 'python ' + script}`"
    lines = [head]

    def fmt(opt: dict) -> str:
        names = "/".join(opt.get("flags") or [opt.get("dest", "?")])
        bits = [names]
        if opt.get("type"):
            bits.append(str(opt["type"]).upper())
        if opt.get("choices"):
            bits.append("{" + ",".join(str(c) for c in opt["choices"]) + "}")
        if opt.get("default") not in (None, "None", ""):
            bits.append(f"(default {opt['default']})")
        if opt.get("help"):
            bits.append("- " + str(opt["help"]).strip()[:100])
        return "  " + " ".join(bits)

    lines += [fmt(o) for o in meta.get("options") or []]
    for sub, opts in (meta.get("subcommands") or {}).items():
        lines.append(f"  subcommand {sub}:")
        lines += ["  " + fmt(o) for o in opts]
    return "\n".join(lines)


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def render_python_api(code: str, catalog: Catalog | None, suggestions: Sequence[str] = (), limit: int = 12) -> str:
    """What a Python repair prompt shows: the checker's suggestions, then the import line and signature of each
    repository function or class the code (or a suggestion) names — the first ``limit`` entries when it names
    none — and the names of the registries it uses."""
    lines = [f"- {s}" for s in suggestions]
    entries = catalog.of_kind("python-api") if catalog is not None else ()
    words = set(_WORD.findall(code)) | {w for s in suggestions for w in _WORD.findall(s)}
    named = [a for a in entries if a.name.rpartition(".")[2] in words] or list(entries)
    if named:
        lines.append("Python API (import line, then signature):")
        for a in named[:limit]:
            lines.append(f"  {a.run or a.name}")
            if a.signature:
                lines.append(f"      {a.signature}" + (f"  - {a.summary.strip()[:100]}" if a.summary else ""))
    registries = catalog.registries if catalog is not None else ()
    used = [r for r in registries if r.name.rpartition(".")[2] in words or words.intersection(r.values)]
    for r in used[:limit]:
        shown = ", ".join(r.values[:30]) + (", ..." if len(r.values) > 30 else "")
        lines.append(f"Names registered in {r.name}: {shown}")
    return "\n".join(lines) or "(no Python API found in the repository)"


def flatten(messages: Messages) -> str:
    """Chat messages as one text (what ``Generation.prompt`` records)."""
    return "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in messages)
