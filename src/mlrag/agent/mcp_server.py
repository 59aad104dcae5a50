"""``mlrag mcp``: the repository tools as an MCP server over stdio (the official ``mcp`` Python SDK).

Tools: ``search_repo`` (retrieved passages with path, lines and heading), ``list_entry_points`` (the affordance
catalog with every option's type, choices, default, required and help, and where it is defined),
``check_command`` (``mlrag.check``) and ``generate_command`` (``mlrag.generate`` with its context locations and
warnings). Every tool takes ``repo``: a local folder or a git URL (``URL@commit``).

Design choices:
* The tools' logic is the SDK-free ``ToolBox`` (tested directly); ``build_server`` only wraps it. Each tool
  error becomes one redacted line in a tool error result (``is_error``), never a crash of the server: library
  errors as they are, anything unforeseen as ``internal error: <type>: <message>`` (its traceback goes to stderr,
  the server's log).
* Opened indexes are cached per repository (at most ``max_open``, least recently used dropped) and re-validated
  after ``ttl`` seconds (``Index.open`` reuses a current index on disk, so that costs a walk and hashes, not a
  rebuild). Calls for one repository wait for each other; the SDK may run tools in threads.
* The generator (a local model by default) is loaded once, on the first ``generate_command``.
* Nothing a tool does may write to stdout (it carries the protocol): library output is sent to stderr.
* Works with the SDK's ``MCPServer`` (mcp 2.x) and ``FastMCP`` (mcp 1.x), which share the API used here.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from pydantic import Field

from ..config import Config
from ..errors import ConfigError, MissingDependencyError, MlragError
from ..redact import redact

if TYPE_CHECKING:
    from ..index import Index

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_K = 20
MAX_TEXT = 200_000
INSTRUCTIONS = (
    "Tools grounded in one code repository (a local folder or a git URL). Before writing a command that runs a "
    "repository's scripts, call list_entry_points to see its real scripts, options, choices and defaults, or "
    "search_repo for the README passages and code that explain a task; after writing one, call check_command: it "
    "reports invented scripts or options, bad choices and missing required options, with the real alternatives. "
    "generate_command writes a command for a task with mlrag's own model."
)


def _one_line(e: BaseException) -> str:
    text = " ".join(redact(str(e)).split())
    return text[:500] + (" ..." if len(text) > 500 else "")


class ToolBox:
    """The logic of the MCP tools over cached indexes (usable without the SDK).

    Example:
        >>> box = ToolBox(Config().replace({"embedding": {"model": "fake"}}))  # doctest: +SKIP
        >>> box.check_command("examples/graphlab", "python citation/train.py --datset cora")["valid"]  # doctest: +SKIP
        False
    """

    def __init__(self, config: Config, *, llm: str | None = None, max_open: int = 8, ttl: float = 60.0) -> None:
        self.config = config.replace({"progress": False})
        self.llm = llm
        self.max_open = max_open
        self.ttl = ttl
        self._indexes: OrderedDict[str, tuple[float, Index]] = OrderedDict()
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._generator: Any = None

    # --- indexes -----------------------------------------------------------------------------------------------

    @staticmethod
    def _key(repo: str) -> str:
        from pathlib import Path

        if "://" in repo or repo.startswith("git@"):
            return repo
        try:
            return str(Path(repo).expanduser().resolve())
        except (OSError, RuntimeError):
            return repo

    def index(self, repo: str) -> Index:
        """The opened index of ``repo`` (built when missing: lexical first, as a first search builds it)."""
        from ..api import _open

        repo = _text(repo, "repo", 4096)
        key = self._key(repo)
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            with self._lock:
                cached = self._indexes.get(key)
            if cached is not None and time.monotonic() - cached[0] < self.ttl:
                with self._lock:
                    self._indexes.move_to_end(key)
                return cached[1]
            index = _open(key, self.config)
            with self._lock:
                self._indexes[key] = (time.monotonic(), index)
                self._indexes.move_to_end(key)
                while len(self._indexes) > self.max_open:
                    self._indexes.popitem(last=False)
            return index

    # --- tools -------------------------------------------------------------------------------------------------

    def search_repo(self, repo: str, query: str, k: int = 5) -> dict[str, Any]:
        query = _text(query, "query", 10_000)
        k = _bounded(k, "k", 1, MAX_K)
        hits = self.index(repo).search(query, k)
        return {
            "hits": [
                {
                    "path": h.path,
                    "start_line": h.start_line,
                    "end_line": h.end_line,
                    "location": h.location,
                    "heading": h.chunk.title,
                    "kind": h.chunk.kind,
                    "score": round(float(h.score), 4),
                    "text": h.text,
                }
                for h in hits
            ]
        }

    def list_entry_points(self, repo: str, kind: str = "", query: str = "") -> dict[str, Any]:
        from .entry_points import catalog_json, select

        kinds = [k.strip() for k in (kind or "").split(",") if k.strip()]
        catalog = self.index(repo).affordances
        entries = select(catalog, kinds, _text(query, "query", 1000, empty=True))
        return {"count": len(entries), "entry_points": catalog_json(entries)}

    def check_command(self, repo: str, command: str, workdir: str = "") -> dict[str, Any]:
        from .check import check_with_index

        command = _text(command, "command", MAX_TEXT)
        return check_with_index(command, self.index(repo), workdir=workdir or "").to_dict()

    def generate_command(self, repo: str, task: str, workdir: str = "", k: int = 5) -> dict[str, Any]:
        from ..api import generate

        task = _text(task, "task", 10_000)
        k = _bounded(k, "k", 0, MAX_K)
        index = self.index(repo)
        gen = generate(task, index, k=k, llm=self._generator_for(), config=self.config, workdir=workdir or "")
        warnings = [c.message for c in gen.violations] + [str(w) for w in getattr(gen, "warnings", ()) or ()]
        return {
            "code": gen.code,
            "context": [h.location for h in gen.hits],
            "warnings": list(dict.fromkeys(warnings)),
            "repaired": gen.repaired,
            "model": gen.model,
        }

    def _generator_for(self) -> Any:
        if self._generator is None:
            from ..generation import get_generator

            with self._lock:
                if self._generator is None:
                    spec = self.llm or self.config.generation.llm
                    self._generator = get_generator(spec, self.config.generation)
        return self._generator


def _text(value: object, name: str, limit: int, empty: bool = False) -> str:
    if not isinstance(value, str) or (not value.strip() and not empty):
        raise ConfigError(f"{name} must be a non-empty string")
    if len(value) > limit:
        raise ConfigError(f"{name} has {len(value)} characters; at most {limit} are accepted")
    return value


def _bounded(value: object, name: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ConfigError(f"{name} must be an integer from {low} to {high}, got {value!r}")
    return value


def _sdk() -> tuple[Any, type[Exception]]:
    """(server class, ToolError) of the installed SDK: ``MCPServer`` (mcp 2.x) or ``FastMCP`` (mcp 1.x)."""
    try:
        from mcp.server.mcpserver import MCPServer
        from mcp.server.mcpserver.exceptions import ToolError

        return MCPServer, ToolError
    except ImportError:
        pass
    try:
        from mcp.server.fastmcp import FastMCP  # type: ignore[attr-defined]
        from mcp.server.fastmcp.exceptions import ToolError as V1ToolError

        return FastMCP, V1ToolError
    except ImportError as e:
        raise MissingDependencyError(
            f"mlrag mcp needs the MCP Python SDK ({e}); install it with: pip install 'mlrag[mcp]'"
        ) from None


@contextlib.contextmanager
def _guarded(tool_error: type[Exception], name: str) -> Iterator[None]:
    """Library output to stderr; every error as one ``tool_error`` line."""
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    except (MlragError, OSError) as e:
        raise tool_error(_one_line(e)) from None
    except Exception as e:  # anything unforeseen: still one line for the model, the traceback in the log
        log.error("tool %s failed: %s", name, _one_line(e), exc_info=True)
        raise tool_error(f"internal error: {type(e).__name__}: {_one_line(e)}") from None


RepoArg = Annotated[str, Field(description="The repository: a local folder path or a git URL (optionally URL@commit).")]


def build_server(box: ToolBox) -> Any:
    """The MCP server (the SDK's ``MCPServer``/``FastMCP``) with the four tools over ``box``."""
    server_cls, tool_error = _sdk()
    from .. import __version__

    try:
        server = server_cls("mlrag", instructions=INSTRUCTIONS, version=__version__, log_level="WARNING")
    except TypeError:  # mcp 1.x FastMCP has no version argument
        server = server_cls("mlrag", instructions=INSTRUCTIONS, log_level="WARNING")

    def call(name: str, fn: Callable[[], T]) -> T:
        with _guarded(tool_error, name):
            return fn()

    @server.tool(
        name="search_repo",
        description=(
            "Search a repository's READMEs, docs and source for passages relevant to a task or question. Returns "
            "up to k hits, best first, each with path, start_line/end_line, heading (section title path), kind "
            "(markdown section, function, argument card...) and the passage text. Use it to find which script "
            "does a task and how the README runs it."
        ),
    )
    def search_repo(
        repo: RepoArg,
        query: Annotated[str, Field(description="What to look for, in words (e.g. 'train GAT on cora').")],
        k: Annotated[int, Field(description=f"Number of hits, 1 to {MAX_K}.")] = 5,
    ) -> dict[str, Any]:
        return call("search_repo", lambda: box.search_repo(repo, query, k))

    @server.tool(
        name="list_entry_points",
        description=(
            "List every way to run or call the repository, read from its source: Python scripts with their "
            "command-line options (argparse, click, typer, fire, absl, HfArgumentParser, hydra overrides), shell "
            "scripts (positional $1.. and VAR=... inputs), make targets and variables, console scripts, "
            "python -m modules, the public Python API (signatures) and name registries (registered values). Each "
            "entry has 'command' (how to run it from the repository root, with cd when it runs in a subfolder), "
            "'params' (name, kind, aliases, type, choices, default, required, help, nargs, action) and its "
            "provenance (path, start_line, end_line, invoked_by). Filter with kind and query on big repositories."
        ),
    )
    def list_entry_points(
        repo: RepoArg,
        kind: Annotated[
            str,
            Field(description="Only these kinds, comma-separated: python-script, shell-script, make-target, "
                              "console-script, python-module, python-api, registry. Empty: all."),  # fmt: skip
        ] = "",
        query: Annotated[str, Field(description="Only entries whose id, command or summary contains this text.")] = "",
    ) -> dict[str, Any]:
        return call("list_entry_points", lambda: box.list_entry_points(repo, kind, query))

    @server.tool(
        name="check_command",
        description=(
            "Check a bash command line (or a Python snippet) against what the repository really offers, before "
            "running it. Reports unknown scripts (with the real path and the cd it needs), invented options (with "
            "the nearest real one), invalid choices (with the valid ones), missing required options, too many "
            "positional arguments, values given to flags, unknown make targets; for Python: imports of repository "
            "modules that do not exist, names and keyword arguments that are not in the signatures, unregistered "
            "names passed to registries. Returns {valid, problems, suggestions}; valid is true when there are no "
            "problems. Commands may use cd X && ..., VAR=value prefixes, python -m, torchrun/accelerate launch."
        ),
    )
    def check_command(
        repo: RepoArg,
        command: Annotated[str, Field(description="The bash command line(s) or Python code to check.")],
        workdir: Annotated[
            str, Field(description="Repository-relative folder the command runs in; empty: the repository root.")
        ] = "",
    ) -> dict[str, Any]:
        return call("check_command", lambda: box.check_command(repo, command, workdir))

    @server.tool(
        name="generate_command",
        description=(
            "Write the bash command (or Python code) that does a task with the repository, using mlrag's own "
            "retrieval and language model (slower than the other tools: it runs a model). Returns code, context "
            "(path:lines of the passages used) and warnings (grounding problems left in the answer). Check or "
            "adapt the answer before running it; nothing is executed."
        ),
    )
    def generate_command(
        repo: RepoArg,
        task: Annotated[str, Field(description="The task in words, with its values (dataset, numbers, paths).")],
        workdir: Annotated[str, Field(description="Repository-relative folder the command will run in.")] = "",
        k: Annotated[int, Field(description=f"Context passages to retrieve, 0 to {MAX_K}.")] = 5,
    ) -> dict[str, Any]:
        return call("generate_command", lambda: box.generate_command(repo, task, workdir, k))

    return server


def serve(config: Config, *, llm: str | None = None) -> None:
    """Run the MCP server on stdin/stdout until the client closes it."""
    server = build_server(ToolBox(config, llm=llm))
    server.run()
