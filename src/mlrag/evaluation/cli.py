"""``mlrag eval``: parse options, load the config, call the runner, write reports.

``add_eval_parser(subparsers)`` adds the subcommand to mlrag's CLI; ``run_eval_command(args)`` runs it and
returns the exit status (0 = done, 1 = an expected figure was missed, 2 = a library error, printed as one line).

Two ways to choose conditions:

* without ``--ablation``: ``--k 0,1,3,5,10`` (k = 0 is "no context") plus the built-in ``--conditions``
  (``oracle,readme`` by default; ``none`` is k = 0), over ``--data``/``--repos``, into ``--out``;
* with ``--ablation FILE``: the file's conditions (all, or ``--conditions a,b``) over its task sets (or over
  ``--data``/``--repos``), each into ``--out/<task set>``; expected figures are checked and printed as OK/FAIL.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..config import load_config
from ..errors import ConfigError, MlragError
from .conditions import (
    BUILTIN,
    Ablation,
    Condition,
    builtin_condition,
    check_expectations,
    depth_conditions,
    load_ablation,
    parse_ks,
)
from .report import markdown_table, overall, write_reports
from .runner import ROWS_FILE, EvalOptions, GenerateFn, RetrieveFn, iter_records, run_eval
from .tasks import load_tasks

log = logging.getLogger(__name__)


def add_eval_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``eval`` subcommand to an ``argparse`` subparsers object and return its parser."""
    p = subparsers.add_parser(
        "eval",
        help="evaluate retrieval (and generation) on ML-Bench-format rows",
        description="Evaluate mlrag on task rows in ML-Bench's JSONL format, across retrieval depths and "
        "conditions; writes rows.jsonl, summary.csv/.md, plots and the resolved config into --out.",
    )
    p.add_argument("overrides", nargs="*", metavar="key.sub=value", help="config overrides")
    p.add_argument("--data", help="task rows (JSONL, ML-Bench format)")
    p.add_argument("--repos", help="folder holding one folder per row's repo_dir")
    p.add_argument("--out", help="results folder (reruns resume)")
    p.add_argument("--k", default="0,1,3,5,10", help="retrieval depths, comma-separated; 0 = no context")
    p.add_argument("--llm", default=None, help="generator spec (echo, default, llama-cpp:<gguf>...); absent = "
                   "retrieval metrics only")
    p.add_argument("--config", default=None, help="YAML config file")
    p.add_argument("--set", dest="set_overrides", action="append", default=[], metavar="key.sub=value",
                   help="a config override (repeatable)")
    p.add_argument("--limit", type=int, default=None, help="only the first N rows")
    p.add_argument("--per-repo", type=int, default=None, help="only the first N rows of each repository")
    p.add_argument("--samples", type=int, default=1, help="answers per row and condition (Pass@k)")
    p.add_argument("--conditions", default=None,
                   help=f"comma-separated condition names (built-in: {', '.join(BUILTIN)}; or an ablation's)")
    p.add_argument("--ablation", default=None, help="an ablation file (configs/ablations/*.yaml)")
    p.add_argument("--task-set", default=None, help="with --ablation: only this task set")
    p.add_argument("--list", action="store_true", help="list the conditions and task sets, then stop")
    p.add_argument("--dry-run", action="store_true", help="show what would run, then stop")
    p.add_argument("--execute", action="store_true", help="run each answer in its repository (sandbox only)")
    p.add_argument("--exec-timeout", type=float, default=10.0, help="seconds per executed answer")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or log lines")
    p.add_argument("--ray", action="store_true",
                   help="spread rows over Ray workers (ray.* config: address, workers, endpoints)")
    return p


def _names(text: str | None) -> list[str] | None:
    return [n.strip() for n in text.split(",") if n.strip()] if text else None


Job = tuple[str, str, str, Path]  # (task set name, data file, repositories folder, results folder)


def plan_from_args(args: argparse.Namespace) -> tuple[list[Condition], list[Job], Ablation | None]:
    """Conditions and ``(task set, data, repos, out)`` jobs from the parsed options."""
    ablation = load_ablation(args.ablation) if args.ablation else None
    names = _names(args.conditions)
    if ablation is None:
        conds = depth_conditions(parse_ks(args.k))
        for n in names if names is not None else ["oracle", "readme"]:
            if n not in {c.name for c in conds}:
                conds.append(builtin_condition(n))
        if args.list:
            return conds, [], None
        if not (args.data and args.repos and args.out):
            raise ConfigError("mlrag eval needs --data, --repos and --out (or --ablation with task sets)")
        name = Path(args.data).stem
        return conds, [(name, args.data, args.repos, Path(args.out))], None
    conds = ablation.select(names)
    if args.data or args.repos:
        if not (args.data and args.repos):
            raise ConfigError("--data and --repos go together")
        jobs_src = [(args.task_set or Path(args.data).stem, args.data, args.repos)]
    else:
        sets = [ablation.task_set(args.task_set)] if args.task_set else list(ablation.task_sets)
        if not sets and not args.list:
            raise ConfigError(f"{ablation.path} names no task sets; give --data and --repos")
        jobs_src = [(t.name, t.data, t.repos) for t in sets]
    if not args.out and not args.list:
        raise ConfigError("mlrag eval needs --out")
    out = Path(args.out or ".")
    return conds, [(n, d, r, out / n) for n, d, r in jobs_src], ablation


def _print_list(conds: Sequence[Condition], ablation: Ablation | None, jobs: Sequence[Job]) -> None:
    print(f"conditions ({len(conds)}):")
    for c in conds:
        sets = " ".join(f"{k}={v}" for k, v in c.overrides)
        n_exp = sum(1 for e in (ablation.expectations if ablation else ()) if e.condition == c.name)
        extra = f"  expected figures: {n_exp}" if ablation else ""
        print(f"  {c.name:<24} context={c.context:<9} k={c.k:<3} {sets}{extra}".rstrip())
    if jobs:
        print("task sets:")
        for name, data, repos, out in jobs:
            print(f"  {name}: data={data} repos={repos} out={out}")


def run_eval_command(
    args: argparse.Namespace, *, retrieve_fn: RetrieveFn | None = None, generate_fn: GenerateFn | None = None
) -> int:
    """Run ``mlrag eval`` from parsed options; returns the exit status.

    ``retrieve_fn``/``generate_fn`` replace ``mlrag.api.retrieve``/``generate`` (tests pass fakes).
    """
    try:
        return _run(args, retrieve_fn, generate_fn)
    except MlragError as e:
        print(f"mlrag eval: error: {e}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace, retrieve_fn: RetrieveFn | None, generate_fn: GenerateFn | None) -> int:
    conds, jobs, ablation = plan_from_args(args)
    if args.list:
        _print_list(conds, ablation, jobs)
        return 0
    config = load_config(args.config, [*args.overrides, *args.set_overrides])
    quiet = args.no_progress or args.quiet
    if quiet:  # no bars from the indexes built on the way either
        config = config.replace({"progress": False})
    options = EvalOptions(llm=args.llm, samples=args.samples, execute=args.execute,
                          exec_timeout_s=args.exec_timeout, progress=config.progress and not quiet)
    failed = False
    for name, data, repos, out in jobs:
        rows = load_tasks(data, limit=args.limit, per_repo=args.per_repo)
        if args.dry_run:
            rows_file = out / ROWS_FILE
            done = {(r["key"], r["condition"]) for r in iter_records(rows_file)} if rows_file.is_file() else set()
            todo = sum((r.key_str, c.name) not in done for r in rows for c in conds)
            missing = sorted({r.repo_dir for r in rows if not (Path(repos) / r.repo_dir).is_dir()})
            print(f"[dry-run] {name}: {len(rows)} rows x {len(conds)} conditions = {len(rows) * len(conds)} pairs, "
                  f"{todo} to compute, into {out}; model: {args.llm or 'none (retrieval metrics only)'}")
            if missing:
                print(f"[dry-run] {name}: missing repository folders under {repos}: {', '.join(missing)}")
            for c in conds:
                print(f"[dry-run]   {c.name}: context={c.context} k={c.k} "
                      + " ".join(f"{k}={v}" for k, v in c.overrides))
            continue
        extra = {"task_set": name, "data": str(data), "repos": str(repos), "limit": args.limit,
                 "per_repo": args.per_repo, "argv": sys.argv[1:]}
        if getattr(args, "ray", False):
            from ..distributed.ray_eval import run_eval_ray

            run = run_eval_ray(rows, conds, repos=repos, out=out, config=config, options=options, extra=extra)
        else:
            run = run_eval(rows, conds, repos=repos, out=out, config=config, options=options,
                           retrieve_fn=retrieve_fn, generate_fn=generate_fn, extra=extra)
        notes = [f"task set: {name} ({data}, {len(rows)} rows)", f"model: {args.llm or 'none (retrieval only)'}",
                 f"samples: {args.samples}", f"computed {run.done}, resumed {run.skipped} (row, condition) pairs"]
        summary = write_reports(out, run.records, conds, title=f"mlrag eval: {name}", notes=notes)
        print(f"## {name} ({len(rows)} rows) -> {out}\n")
        print(markdown_table(summary))
        print()
        if ablation is not None and (args.limit is not None or args.per_repo is not None):
            print("(a subset of rows: expected figures are for whole task sets and were not checked)")
        elif ablation is not None:
            verdicts = check_expectations(ablation.expectations, overall(summary), name, ablation.tolerance)
            for v in verdicts:
                print(v.line())
            failed |= any(not v.ok for v in verdicts)
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``eval`` as a standalone command (``python -m mlrag.evaluation.cli``)."""
    parser = argparse.ArgumentParser(prog="mlrag")
    sub = parser.add_subparsers(dest="command", required=True)
    add_eval_parser(sub)
    from ..cli import setup_logging

    setup_logging()
    return run_eval_command(parser.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
