"""Small frozen data types shared by every stage of the pipeline.

A ``Chunk`` is a unit of a repository (a README section, a function, an argument card); a ``Hit`` is a chunk
found for a query, with the text it contributes to a prompt; a ``Generation`` is what a model wrote from those
hits, with the checks made against the repository. Ids are content hashes so they are stable across runs and
machines.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

#: Chunk kinds. Region-backed kinds hold an exact slice of a file; ``card`` chunks are derived.
CHUNK_KINDS = (
    "markdown",  # a README/docs section (prose with its code blocks)
    "rst",  # a reStructuredText section
    "notebook",  # interleaved notebook cells (outputs dropped)
    "python",  # a Python unit: module header, function, class, method, main block, statements
    "shell",  # a shell script (or a part of one)
    "config",  # yaml/json/toml/cfg
    "text",  # any other text file, in line windows
    "card",  # derived: the command-line interface of a script
)


def content_id(*parts: object) -> str:
    """A stable 16-hex-digit id from the given parts (sha1 over their string forms, NUL-separated)."""
    h = hashlib.sha1()
    for p in parts:
        h.update(str(p).encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class Chunk:
    """One unit of a repository.

    Attributes:
        id: content hash of (path, kind, start_line, text); stable across runs.
        text: for region-backed chunks, exactly lines ``start_line..end_line`` of the file; for derived chunks
            (``derived=True``), synthesised text.
        path: POSIX path relative to the repository root.
        start_line, end_line: 1-based, inclusive.
        kind: one of ``CHUNK_KINDS``.
        title: heading path (``"Installation > From source"``) or symbol name (``"Trainer.fit"``), may be empty.
        derived: True when ``text`` is not a slice of the file (argument cards).
        parent_id: id of the larger context unit this chunk belongs to, if any (small unit for search, parent for
            the prompt).
        links: ids of related chunks (a card and the README sections / shell scripts that invoke the script).
        meta: extra plain-JSON facts (e.g. a card's options).
    """

    id: str
    text: str
    path: str
    start_line: int
    end_line: int
    kind: str
    title: str = ""
    derived: bool = False
    parent_id: str | None = None
    links: tuple[str, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def make(cls, text: str, path: str, start_line: int, end_line: int, kind: str, **kw: Any) -> "Chunk":
        """Build a chunk whose id is derived from its content and place."""
        return cls(content_id(path, kind, start_line, text), text, path, start_line, end_line, kind, **kw)

    @property
    def location(self) -> str:
        """``path:start-end``, the form used in prompts and CLI output."""
        return f"{self.path}:{self.start_line}-{self.end_line}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "path": self.path,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "kind": self.kind,
            "title": self.title,
            "derived": self.derived,
            "parent_id": self.parent_id,
            "links": list(self.links),
            "meta": dict(self.meta),
            "text": self.text,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Chunk":
        return cls(
            id=d["id"],
            text=d["text"],
            path=d["path"],
            start_line=int(d["start_line"]),
            end_line=int(d["end_line"]),
            kind=d["kind"],
            title=d.get("title", ""),
            derived=bool(d.get("derived", False)),
            parent_id=d.get("parent_id"),
            links=tuple(d.get("links", ())),
            meta=dict(d.get("meta", {})),
        )

    def with_(self, **changes: Any) -> "Chunk":
        """A copy with some fields changed (the id is kept)."""
        return replace(self, **changes)


@dataclass(frozen=True)
class Hit:
    """A retrieved unit: ``chunk`` is what matched; ``text`` and the line range are what goes into the prompt
    (the chunk itself, or its parent section when the retriever returns context units)."""

    text: str
    path: str
    start_line: int
    end_line: int
    score: float
    chunk: Chunk
    repo: str = ""

    @property
    def location(self) -> str:
        return f"{self.path}:{self.start_line}-{self.end_line}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "repo": self.repo,
            "path": self.path,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "score": self.score,
            "chunk_id": self.chunk.id,
            "kind": self.chunk.kind,
            "title": self.chunk.title,
            "text": self.text,
        }


@dataclass(frozen=True)
class Check:
    """One grounding check of generated code against the repository."""

    name: str  # e.g. "script-exists", "flag-exists", "choice-valid"
    ok: bool
    message: str
    subject: str = ""  # the script, flag or value checked

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "message": self.message, "subject": self.subject}


@dataclass(frozen=True)
class Generation:
    """What a model wrote for a task.

    Attributes:
        code: the extracted code (one block).
        text: the raw model output.
        hits: the retrieved context used in the prompt.
        prompt: the prompt as sent (chat messages flattened to text).
        checks: grounding checks run on ``code`` (empty when grounding is off).
        repaired: True when a repair round replaced the first answer.
        mode, affordance, warnings: how the code was made (``structured``: rendered from the catalog entry
            ``affordance``), and what the task said that the command could not carry.
        first_code: the first answer's code when a repair round ran.
        model: the generator's id.
    """

    code: str
    text: str
    hits: tuple[Hit, ...]
    prompt: str
    checks: tuple[Check, ...] = ()
    repaired: bool = False
    first_code: str | None = None
    model: str = ""
    mode: str = "free"  # free: the model wrote the code; structured: mlrag rendered it from a catalog entry
    affordance: str = ""  # the catalog entry's id (structured mode)
    warnings: tuple[str, ...] = ()  # task values that fit no option, required options without a value

    @property
    def violations(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.ok)

    @property
    def grounded(self) -> bool:
        return not self.violations

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "text": self.text,
            "prompt": self.prompt,
            "model": self.model,
            "repaired": self.repaired,
            "first_code": self.first_code,
            "mode": self.mode,
            "affordance": self.affordance,
            "warnings": list(self.warnings),
            "checks": [c.to_dict() for c in self.checks],
            "hits": [h.to_dict() for h in self.hits],
        }
