"""The ``mlrag`` command: verbs that mirror the library (index, search, generate, eval).

Each command parses its arguments, loads the config (``--config FILE`` plus ``key.sub=value`` overrides,
anywhere on the line, also after options) and calls one library function. Library errors (and OS errors such as
a full disk) become one redacted line on stderr and exit status 2; any other exception is one line too, with
its traceback only when ``MLRAG_DEBUG=1``. Log lines go through ``mlrag.redact`` as well.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from . import __version__
from .config import Config, load_config
from .errors import ConfigError, MlragError
from .redact import RedactingFilter, redact

log = logging.getLogger("mlrag")
#: The largest ``-k``: more context units than any prompt or screen holds (and a bound on memory).
MAX_K = 1000


def _k(text: str) -> int:
    try:
        k = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text[:20]!r}") from None
    if not 0 <= k <= MAX_K:
        raise argparse.ArgumentTypeError(f"must be between 0 and {MAX_K}, got {text[:20]}")
    return k


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", help="YAML config (only the keys you change)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="config override, e.g. --set retrieval.mode=bm25 (repeatable)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars or log lines")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlrag",
        description="Generate commands and code that use an existing ML repository, from its own docs and source.",
    )
    parser.add_argument("--version", action="version", version=f"mlrag {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("index", help="build or update the index of a repository (or of many, with --ray)")
    p.add_argument("repo", help="local folder or git URL[@commit]; with --ray, a file listing repositories")
    p.add_argument("--out", help="index folder (default: under indexes/ or $MLRAG_INDEX_DIR)")
    p.add_argument("--ray", action="store_true", help="REPO is a list file: index every repository on Ray")
    p.add_argument("overrides_pos", nargs="*", metavar="KEY=VALUE", help="config overrides")
    _common(p)

    p = sub.add_parser("search", help="show the context retrieved for a query")
    p.add_argument("repo")
    p.add_argument("query")
    p.add_argument("-k", type=_k, default=5, help="number of hits (default 5)")
    p.add_argument("overrides_pos", nargs="*", metavar="KEY=VALUE")
    _common(p)

    p = sub.add_parser("generate", help="write the command or code that does a task with a repository")
    p.add_argument("task")
    p.add_argument("--repo", required=True, help="local folder or git URL[@commit]")
    p.add_argument("-k", type=_k, default=5, help="retrieved context units (0 = no retrieval)")
    p.add_argument("--llm", help="default | echo | transformers:NAME | llama-cpp:FILE.gguf | openai:MODEL")
    p.add_argument("--workdir", default="", help="repo-relative folder the command will run in")
    p.add_argument("--base-url", help="OpenAI-compatible endpoint (else $OPENAI_BASE_URL)")
    p.add_argument("overrides_pos", nargs="*", metavar="KEY=VALUE")
    _common(p)

    _add_agent_parsers(sub)

    try:
        from .evaluation.cli import add_eval_parser
    except ImportError:  # the evaluation stage is optional at runtime (matplotlib)
        add_eval_parser = None  # type: ignore[assignment]
    if add_eval_parser is not None:
        add_eval_parser(sub)
    return parser


def _load(args: argparse.Namespace) -> Config:
    overrides = list(getattr(args, "overrides", []) or []) + list(getattr(args, "overrides_pos", []) or [])
    cfg = load_config(args.config, overrides)
    if getattr(args, "quiet", False):
        cfg = cfg.replace({"progress": False})
    return cfg


def _print_hits(hits: Sequence[Any]) -> None:
    for i, h in enumerate(hits, 1):
        title = f"  [{h.chunk.title}]" if h.chunk.title else ""
        print(f"{i:>2}. {h.location}  score={h.score:.4f}  {h.chunk.kind}{title}")


def _cmd_index(args: argparse.Namespace) -> int:
    from .api import build_index

    cfg = _load(args)
    if args.ray:
        return _index_ray(args, cfg)
    index = build_index(args.repo, config=cfg, out=args.out)
    if args.json:
        print(json.dumps({"path": str(index.path), **dataclasses.asdict(index.stats)}))
    else:
        print(f"index: {index.path}")
        print(index.stats.summary())
    return 0


def _index_ray(args: argparse.Namespace, cfg: Config) -> int:
    from .distributed.ray_index import build_indexes_ray, read_repo_list

    if args.out:
        raise ConfigError("--out names one index folder; with --ray set index_dir=FOLDER instead")
    results = build_indexes_ray(read_repo_list(args.repo), cfg, progress=cfg.progress)
    if args.json:
        print(json.dumps([{"repo": r.repo, "path": str(r.path) if r.path else None, "error": r.error,
                           **(dataclasses.asdict(r.stats) if r.stats else {})} for r in results]))
    else:
        for r in results:
            print(r.line())
    return 0 if all(r.ok for r in results) else 1


def _cmd_search(args: argparse.Namespace) -> int:
    from .api import retrieve

    cfg = _load(args)
    hits = retrieve(args.query, args.repo, k=args.k, config=cfg)
    if args.json:
        print(json.dumps([h.to_dict() for h in hits]))
    else:
        _print_hits(hits)
    return 0


def _cmd_generate(args: argparse.Namespace) -> int:
    from .api import generate

    cfg = _load(args)
    extra: dict[str, Any] = {"workdir": args.workdir}
    if args.base_url:
        extra["base_url"] = args.base_url
    gen = generate(args.task, args.repo, k=args.k, llm=args.llm, config=cfg, **extra)
    if args.json:
        print(json.dumps(gen.to_dict()))
        return 0
    print(gen.code.rstrip())
    print()
    if gen.hits:
        print("context:")
        for h in gen.hits:
            print(f"  {h.location}")
    for c in gen.violations:
        print(f"warning: {c.message}")
    if gen.repaired:
        print("note: the first answer failed grounding checks and was repaired")
    return 0


def _add_agent_parsers(sub: Any) -> None:
    """``check``, ``entry-points`` and ``mcp``: the agent tools (``mlrag.agent``)."""
    p = sub.add_parser("check", help="check a command or Python snippet against the repository's scripts and options")
    p.add_argument("repo", help="local folder or git URL[@commit]")
    p.add_argument("code", metavar="COMMAND", help='the bash command line or Python code, quoted ("-" reads stdin)')
    p.add_argument("--workdir", default="", help="repo-relative folder the command runs in (default: the root)")
    p.add_argument("--language", choices=("auto", "bash", "python"), default="auto", help="default: auto")
    p.add_argument("overrides_pos", nargs="*", metavar="KEY=VALUE")
    _common(p)

    p = sub.add_parser("entry-points", help="list every way to run the repository, with each option")
    p.add_argument("repo", help="local folder or git URL[@commit]")
    p.add_argument("--kind", action="append", default=[], help="only this kind (repeatable): python-script, "
                   "shell-script, make-target, console-script, python-module, python-api, registry")
    p.add_argument("--grep", default="", metavar="TEXT", help="only entries whose id, command or summary has TEXT")
    p.add_argument("overrides_pos", nargs="*", metavar="KEY=VALUE")
    _common(p)

    p = sub.add_parser("mcp", help="serve search, entry points, check and generate as MCP tools over stdio")
    p.add_argument("--llm", help="generator for generate_command (default: generation.llm of the config)")
    p.add_argument("overrides_pos", nargs="*", metavar="KEY=VALUE")
    _common(p)


def _cmd_check(args: argparse.Namespace) -> int:
    from .agent import check

    cfg = _load(args)
    code = sys.stdin.read() if args.code == "-" else args.code
    result = check(code, args.repo, workdir=args.workdir, language=args.language, config=cfg)
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        print("valid" if result.valid else "invalid")
        for line in result.problems:
            print(f"  problem: {line}")
        for line in result.suggestions:
            print(f"  suggestion: {line}")
    return 0 if result.valid else 1


def _cmd_entry_points(args: argparse.Namespace) -> int:
    from .agent.entry_points import catalog_json, format_catalog, select
    from .api import affordances

    cfg = _load(args)
    entries = select(affordances(args.repo, config=cfg), args.kind, args.grep)  # read from the files, no index
    if args.json:
        print(json.dumps(catalog_json(entries)))
    else:
        print(format_catalog(entries) if entries else "no entry points found")
    return 0


def _cmd_mcp(args: argparse.Namespace) -> int:
    from .errors import require

    require("mcp", "mcp", "mlrag mcp")
    from .agent.mcp_server import serve

    serve(_load(args), llm=args.llm)
    return 0


def setup_logging(quiet: bool = False) -> None:
    """Show mlrag's own log lines (INFO, or WARNING when quiet) as ``mlrag: ...``; other libraries stay at
    their defaults (the root logger is left alone)."""
    logger = logging.getLogger("mlrag")
    for h in logger.handlers:  # called again (in-process use, tests): write to the current stderr
        if getattr(h, "_mlrag", False) and isinstance(h, logging.StreamHandler):
            h.stream = sys.stderr  # (setStream would flush the old one, which may be closed)
    if not any(getattr(h, "_mlrag", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("mlrag: %(message)s"))
        handler.addFilter(RedactingFilter())
        handler._mlrag = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    logger.propagate = False
    if quiet:  # the command line is the application: silence the model loaders' own bars too
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def parse_args(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse ``argv``; ``key.sub=value`` words after options (``search REPO Q -k 3 retrieval.mode=bm25``) are
    overrides too, as help and README show them (argparse alone stops collecting positionals at an option)."""
    args, rest = parser.parse_known_args(argv)
    extra = [w for w in rest if "=" in w and not w.startswith("-")]
    unknown = [w for w in rest if w not in extra]
    dest = "overrides_pos" if hasattr(args, "overrides_pos") else "overrides"
    if unknown or (extra and not isinstance(getattr(args, dest, None), list)):
        parser.error(f"unrecognized arguments: {redact(' '.join(unknown or extra))}")
    if extra:
        setattr(args, dest, [*getattr(args, dest), *extra])
    return args


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parse_args(parser, argv)
    if not args.command:
        parser.print_help()
        return 1
    setup_logging(quiet=getattr(args, "quiet", False) or getattr(args, "no_progress", False))
    handlers = {"index": _cmd_index, "search": _cmd_search, "generate": _cmd_generate, "check": _cmd_check,
                "entry-points": _cmd_entry_points, "mcp": _cmd_mcp}
    try:
        if args.command == "eval":
            from .evaluation.cli import run_eval_command

            return int(run_eval_command(args))
        return handlers[args.command](args)
    except (MlragError, OSError) as e:
        print(f"mlrag: error: {_one_line(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mlrag: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug, or a library failing in a way mlrag did not foresee: still one line
        if os.environ.get("MLRAG_DEBUG"):
            raise
        print(f"mlrag: internal error: {type(e).__name__}: {_one_line(e)} (set MLRAG_DEBUG=1 for the traceback)",
              file=sys.stderr)
        return 3


def _one_line(e: BaseException) -> str:
    text = " ".join(redact(e).split())
    return text[:500] + (" ..." if len(text) > 500 else "")


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
