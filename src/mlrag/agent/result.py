"""What a check returns (``CheckResult``) and the small helpers the bash and Python checkers share.

A problem is one line that says what is wrong and, when mlrag knows it, what the repository really offers
(``train.py has no option --learning-rate; did you mean --lr?``). A suggestion is a corrected command, a nearby
real name, or a note that is not an error (a shell positional left empty). The result is valid when there are no
problems; suggestions alone never make it invalid.
"""

from __future__ import annotations

import difflib
import posixpath
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

#: Reads a repository-relative file: its text, or None when it is missing or unreadable.
Reader = Callable[[str], "str | None"]


@dataclass(frozen=True)
class CheckResult:
    """The verdict on one command or snippet.

    Attributes:
        valid: True when no problem was found.
        problems: one line per problem, in the order they occur in the code.
        suggestions: corrected commands, nearest real names, or notes (never a reason for ``valid=False``).
    """

    valid: bool
    problems: tuple[str, ...] = ()
    suggestions: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"valid": self.valid, "problems": list(self.problems), "suggestions": list(self.suggestions)}


@dataclass
class Report:
    """Problems and suggestions collected while checking (deduplicated, in order)."""

    problems: list[str] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)

    def problem(self, message: str, *suggestions: str) -> None:
        if message not in self.problems:
            self.problems.append(message)
        self.suggest(*suggestions)

    def suggest(self, *suggestions: str) -> None:
        for s in suggestions:
            if s and s not in self.suggestions:
                self.suggestions.append(s)

    def result(self) -> CheckResult:
        """The verdict, with anything that looks like a credential (a key given as an option's value) masked."""
        from ..redact import redact

        return CheckResult(
            not self.problems, tuple(redact(p) for p in self.problems), tuple(redact(s) for s in self.suggestions)
        )


def nearest(word: str, candidates: Iterable[str], n: int = 3, cutoff: float = 0.6) -> list[str]:
    """The closest ``candidates`` to ``word`` (difflib's ratio, best first); case is ignored when comparing."""
    pool = list(dict.fromkeys(c for c in candidates if c))
    lowered = {c.lower(): c for c in pool}
    found = difflib.get_close_matches(word.lower(), list(lowered), n=n, cutoff=cutoff)
    return [lowered[f] for f in found]


def did_you_mean(word: str, candidates: Iterable[str], cutoff: float = 0.6) -> str:
    """``"; did you mean X?"`` (or ``X or Y``) for the nearest candidates, else ""."""
    near = nearest(word, candidates, cutoff=cutoff)
    return f"; did you mean {' or '.join(near)}?" if near else ""


def join_path(*parts: str) -> str | None:
    """Repository-relative normalised path of ``parts`` ("" = the root); None when it leaves the repository
    (``..`` above the root) or is absolute/home/variable-based (``/x``, ``~/x``, ``$DIR/x``)."""
    kept = [p for p in parts if p]
    if any(p.startswith(("/", "~", "$")) for p in kept):
        return None
    if not kept:
        return ""
    path = posixpath.normpath(posixpath.join(*kept))
    if path == ".":
        return ""
    if path == ".." or path.startswith("../"):
        return None
    return path


def shorten(values: Iterable[str], limit: int = 12) -> str:
    """``a, b, c`` with at most ``limit`` items (``..., and 5 more``)."""
    items = list(values)
    if len(items) <= limit:
        return ", ".join(items)
    return ", ".join(items[:limit]) + f", ... and {len(items) - limit} more"
