"""Pull exactly one code block out of a model's reply.

Models wrap the answer in chatter, use several fences, forget to close the last one, prefix commands with ``$``,
or write no fence at all. The rules, in order:

1. Closed fenced blocks (```` ``` ```` or ``~~~``): score each and keep the best — a block in the expected
   language beats one in another, for bash a block that runs a ``.py``/``.sh`` file beats one that does not
   (so ``pip install`` blocks lose to the run command), and for Python a block that parses; ties go to the
   first block.
2. An opening fence that is never closed: everything after it.
3. No fence: an inline `` `span` `` that runs a script; else the lines that look like commands (bash) or like
   code (Python); else the whole reply.

Shell prompts (``$ ``, ``>>> ``), chat special tokens (``<|im_end|>``) and surrounding blank lines are removed.
Hand-written (no library parses "markdown as models write it"); the rules are covered by a table of messy
replies in the tests.
"""

from __future__ import annotations

import ast
import re
import warnings

from ..commands import BASH_LANGS, COMMAND_START, PYTHON_LANGS, runs_script

_FENCE_OPEN = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*([\w+.#-]*)[^\n]*$", re.MULTILINE)
_SPECIAL = re.compile(r"<\|[^|>]{1,40}\|>|</?s>|\[/?INST\]")
_INLINE = re.compile(r"`([^`\n]+)`")
_CODE_START = re.compile(
    r"^\s*(?:>>>\s*)?(?:import\s|from\s+\S+\s+import\s|def\s|class\s|with\s|for\s|if\s|print\(|return\b|"
    r"[A-Za-z_][\w.]*\s*(?:=|\()|#|@|\)|\]|\}|\s+\S)"
)


def strip_special(text: str) -> str:
    """Remove chat special tokens such as ``<|im_end|>``."""
    return _SPECIAL.sub("", text)


def _clean(code: str) -> str:
    lines = code.split("\n")
    if lines and all(ln.lstrip().startswith(("$ ", ">>> ", "... ")) or not ln.strip() for ln in lines):
        lines = [re.sub(r"^\s*(?:\$|>>>|\.\.\.) ?", "", ln) for ln in lines]
    else:
        lines = [re.sub(r"^\s*\$ ", "", ln) for ln in lines]
    return "\n".join(lines).strip("\n").rstrip()


def parse_python(code: str) -> ast.Module:
    """``ast.parse`` without the SyntaxWarning/DeprecationWarning noise that odd string escapes in a model's
    answer (``"\\-"``) would print; a real syntax error still raises."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (SyntaxWarning, DeprecationWarning))
        return ast.parse(code)


def _parses(code: str) -> bool:
    try:
        parse_python(code)
    except (SyntaxError, ValueError):
        return False
    return True


def _blocks(text: str) -> tuple[list[tuple[str, str]], str | None]:
    """Closed fenced blocks as (language, body), and the body of a trailing unclosed fence (or None)."""
    blocks: list[tuple[str, str]] = []
    pos = 0
    while True:
        m = _FENCE_OPEN.search(text, pos)
        if not m:
            return blocks, None
        fence = m.group(1)
        close = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$", re.MULTILINE)
        end = close.search(text, m.end())
        if end is None:
            return blocks, text[m.end() + 1 :]
        blocks.append((m.group(2).lower(), text[m.end() + 1 : end.start()]))
        pos = end.end()


def _score(lang: str, body: str, output_type: str | None) -> int:
    score = 0
    if output_type == "bash":
        score += 2 if lang in BASH_LANGS else (-2 if lang in PYTHON_LANGS else 0)
        score += 3 if runs_script(body) else 0
    elif output_type == "python":
        score += 2 if lang in PYTHON_LANGS else (-2 if lang in BASH_LANGS else 0)
        score += 1 if _parses(body) else 0
    return score


def _unfenced(text: str, output_type: str | None) -> str:
    for span in _INLINE.findall(text):
        if runs_script(span) and COMMAND_START.match(span):
            return span.strip()
    lines = text.split("\n")
    start = COMMAND_START if output_type != "python" else _CODE_START
    picked: list[str] = []
    for line in lines:
        if (
            start.match(line)
            or (picked and line.rstrip().endswith("\\"))
            or (picked and picked[-1].rstrip().endswith("\\"))
        ):
            picked.append(line)
        elif picked and output_type == "python" and not line.strip():
            picked.append(line)
        elif picked:
            break
    if picked:
        return "\n".join(picked)
    return text


def extract_code(text: str, output_type: str | None = None) -> str:
    """The one code block in a model reply (see the module docstring for the rules).

    Args:
        text: the raw reply.
        output_type: ``"bash"``, ``"python"`` or None (no preference).

    Returns:
        The code, without fences, prompts or surrounding blank lines ("" when the reply is empty).

    >>> extract_code("Sure! Run:\\n```bash\\n$ python train.py --lr 0.1\\n```\\nGood luck.", "bash")
    'python train.py --lr 0.1'
    """
    text = strip_special(text).replace("\r\n", "\n")
    blocks, tail = _blocks(text)
    fenced = bool(blocks) or tail is not None
    blocks = [(lang, body) for lang, body in blocks if body.strip()]
    if blocks:
        best = max(range(len(blocks)), key=lambda i: (_score(*blocks[i], output_type), -i))
        return _clean(blocks[best][1])
    if tail is not None and tail.strip():
        return _clean(tail)
    if fenced:  # only empty fenced blocks: the model wrote no code (the prose around them is not code)
        return ""
    return _clean(_unfenced(text, output_type))
