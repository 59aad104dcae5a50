"""``echo``: a deterministic, dependency-free generator for tests and dry runs.

It does not model anything: it answers with a code block copied from the prompt, so a pipeline test gets a
grounded answer whenever the retrieved context holds one. It looks, in the last user message first, for the
first line that runs a ``.py``/``.sh`` file (``python x.py --a 1``, ``bash run.sh``, ``$ ./go.sh``); failing
that, the first fenced code block; failing that, it answers with an empty bash block.
"""

from __future__ import annotations

import re

from ..commands import AMBIGUOUS, LAUNCHER_SUBCOMMANDS, LAUNCHERS, PYTHON, SHELLS
from ..config import GenerationConfig
from .base import BaseGenerator, DecodeParams, Messages, Spec

_LAUNCH = "|".join(sorted(LAUNCHERS) + [f"{p}[ \\t]+{sub}" for p, sub in sorted(LAUNCHER_SUBCOMMANDS.items())])
_SHELL = "|".join(sorted(SHELLS - AMBIGUOUS))
#: A line that runs a Python or shell script, optionally after a ``$`` prompt and ``VAR=value`` assignments.
RUN_LINE = re.compile(
    r"^\s*(?:\$\s+)?((?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)*"
    rf"(?:{PYTHON.pattern}\s+(?:-\S+\s+)*|(?:{_SHELL})\s+|(?:{_LAUNCH})[ \t]+(?:\S+[ \t]+)*?)?"
    r"\.{0,2}/?[\w./-]*\.(?:py|sh)\b.*)$",
    re.MULTILINE,
)
_FENCE = re.compile(r"^[ \t]*(```|~~~)[ \t]*([\w+-]*)[^\n]*\n(.*?)^[ \t]*\1", re.MULTILINE | re.DOTALL)


class EchoGenerator(BaseGenerator):
    """Answers with the first script-running line (or code block) found in the prompt."""

    id = "echo"

    def complete(self, messages: Messages, params: DecodeParams) -> str:
        users = [m.get("content", "") for m in messages if m.get("role") == "user"] or [
            m.get("content", "") for m in messages
        ]
        for content in reversed(users):
            m = RUN_LINE.search(content)
            if m:
                return f"```bash\n{m.group(1).strip()}\n```"
        for content in reversed(users):
            block = _FENCE.search(content)
            if block and block.group(3).strip():
                lang = block.group(2) or "bash"
                return f"```{lang}\n{block.group(3).strip()}\n```"
        return "```bash\n\n```"


def make_echo(spec: Spec, config: GenerationConfig) -> EchoGenerator:
    return EchoGenerator()
