"""The evaluation runner: every (row, condition) pair -> one record in ``RESULTS_DIR/rows.jsonl``.

For each pair the runner builds the context the condition asks for (nothing, top-k hits, the oracle segment,
or the root README cut to the budget), scores it with the retrieval metrics, and, when a model is given, asks
for ``samples`` answers and scores them with ML-Bench's checks (and optionally runs them).

Design choices:

* Retrieval and generation are injected callables (``retrieve_fn``, ``generate_fn``) with the signatures of
  ``mlrag.api.retrieve`` / ``mlrag.api.generate``; the default is ``Pipeline`` (those functions over indexes
  and models opened once). Tests pass fakes.
* Pairs are computed grouped by repository, then condition, then row (so each index is opened once per
  condition); ``rows.jsonl`` is in that order, and returned records are in row-major order.
* Generation gets the condition's hits, so every model sees the context that was scored, except under
  ``generation.strategy: draft``, where the generator retrieves with its own draft (the record then scores the
  hits it used).
* Retrieval is called once per (row, condition), not once at the largest k and sliced: deduplication, merging
  of overlapping hits and the context budget make top-k not a prefix of top-(k+1) in general.
* Records are appended and flushed one by one, so an interrupted run keeps what it finished; a rerun skips the
  (row, condition) pairs already in ``rows.jsonl`` (a torn last line is dropped). A rerun with another base
  config, model or sample count into the same folder is refused rather than mixed.
* Samples > 1 vary ``generation.seed`` (seed, seed+1, ...); model outputs are reused from the generation cache.
* A record's ``metrics`` hold per-row values; ``None`` means "not applicable" and is skipped by the summary.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Config
from ..errors import ConfigError, MlragError, RepoError
from ..redact import redact, redact_obj
from ..types import Chunk, Generation, Hit
from . import metrics as M
from .conditions import Condition
from .execution import execute_answer
from .results import claim_results_dir, write_text_atomic
from .tasks import TaskRow

log = logging.getLogger(__name__)

RetrieveFn = Callable[..., Sequence[Hit]]
GenerateFn = Callable[..., Generation]
CheckFn = Callable[..., Any]  # (code, repo, config=, workdir=) -> CheckResult

ROWS_FILE = "rows.jsonl"
RUN_FILE = "run.json"
CONFIG_FILE = "config.yaml"
_README_NAMES = ("readme.md", "readme.rst", "readme.txt", "readme.markdown", "readme")


@dataclass(frozen=True)
class EvalOptions:
    """How to run an evaluation (the base ``Config`` is passed separately).

    Attributes:
        llm: generator spec (``echo``, ``default``, ``llama-cpp:<gguf>``...); None = retrieval metrics only.
        samples: answers per (row, condition), for Pass@k.
        execute: run each answer (``prefix_code`` + answer) in the row's folder.
        exec_timeout_s: the limit for one execution.
        progress: show a tqdm progress bar.
    """

    llm: str | None = None
    samples: int = 1
    execute: bool = False
    exec_timeout_s: float = 10.0
    progress: bool = True

    def __post_init__(self) -> None:
        if self.samples < 1:
            raise ConfigError(f"samples must be >= 1, got {self.samples}")
        if self.execute and not self.llm:
            raise ConfigError("--execute needs a model (--llm): there are no answers to run without one")
        if self.exec_timeout_s <= 0:
            raise ConfigError(f"exec_timeout_s must be > 0, got {self.exec_timeout_s}")


@dataclass
class EvalRun:
    """What ``run_eval`` did: the records of the requested (row, condition) pairs, in order."""

    out: Path
    records: list[dict[str, Any]] = field(default_factory=list)
    done: int = 0  # computed in this call
    skipped: int = 0  # already in rows.jsonl


def _sha(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _pseudo_hit(text: str, path: str, title: str) -> Hit:
    """A context unit that does not come from retrieval (the oracle, the README)."""
    end = max(1, text.count("\n") + (0 if text.endswith("\n") else 1))
    chunk = Chunk.make(text, path, 1, end, "markdown", title=title, derived=True)
    return Hit(text=text, path=path, start_line=1, end_line=end, score=1.0, chunk=chunk)


def find_readme(repo: Path) -> Path | None:
    """The repository's root README (``README.md`` first, then ``.rst``, ``.txt``, ``.markdown``, bare)."""
    by_name = {p.name.lower(): p for p in sorted(repo.iterdir()) if p.is_file()} if repo.is_dir() else {}
    for name in _README_NAMES:
        if name in by_name:
            return by_name[name]
    return None


def readme_hits(repo: Path, budget_chars: int) -> list[Hit]:
    """The root README as one hit, cut to ``budget_chars`` (0 = whole); empty when there is no README."""
    path = find_readme(repo)
    if path is None:
        log.warning("no root README in %s; the readme condition gets an empty context", repo)
        return []
    text = path.read_text(encoding="utf-8", errors="replace")
    if budget_chars > 0:
        text = text[:budget_chars]
    return [_pseudo_hit(text, path.name, "README")]


def build_context(
    row: TaskRow, condition: Condition, repo: Path, config: Config, retrieve_fn: RetrieveFn
) -> list[Hit]:
    """The hits ``condition`` gives ``row`` (``config`` already has the condition's overrides)."""
    if condition.context == "none":
        return []
    if condition.context == "oracle":
        return [_pseudo_hit(row.oracle_text, "oracle", "oracle segment")] if row.oracle.strip() else []
    if condition.context == "readme":
        return readme_hits(repo, config.retrieval.budget_chars)
    return list(retrieve_fn(row.instruction, str(repo), k=condition.k, config=config))


def retrieval_metrics(row: TaskRow, condition: Condition, hits: Sequence[Hit]) -> dict[str, Any]:
    """Oracle and answer recall, path hit and reciprocal rank (retrieval conditions only), context size."""
    context = "\n".join(h.text for h in hits)
    terms = M.answer_terms(row.output, row.instruction, row.arguments)
    paths = [h.path for h in hits]
    retrieved = condition.context == "retrieval"
    return {
        "oracle_recall": M.oracle_recall(row.oracle, context),
        "answer_recall": M.answer_recall(terms, context),
        "path_hit": M.path_hit(paths, row.workdir) if retrieved else None,
        "mrr": M.reciprocal_rank(paths, row.workdir) if retrieved else None,
        "context_chars": len(context),
        "hits": len(hits),
    }


def generation_metrics(
    row: TaskRow, codes: Sequence[str], gens: Sequence[Generation], execs: Sequence[str] | None,
    invented: Sequence[int] | None = None, errors: Sequence[str] | None = None,
    seconds: Sequence[float] | None = None,
) -> dict[str, Any]:
    """ML-Bench's checks per sample, summarised for the row: shares, Pass@1, Pass@n, invented flags.

    A sample passes when it passes both checks and, when executed, exits 0 (a timeout is not a pass).
    ``strict`` also asks for every gold flag and file name (``metrics.strict_check``); ``invented_options``
    counts what the answer names that the repository lacks (options a script does not define, scripts,
    subcommands, modules, config keys; ``mlrag.check``), for either generation mode; ``errors`` is the share of
    samples whose generation failed (the error is in the record); ``gen_seconds`` is the wall time of one
    generation.
    """
    n = len(codes)
    arg = [M.argument_check(c, row.arguments) for c in codes]
    typ = [M.type_check(c, row.output_type) for c in codes]
    both = [a and t for a, t in zip(arg, typ)]
    strict = [b and M.strict_check(c, row.output, row.output_type, row.arguments) for b, c in zip(both, codes)]
    ran = list(execs) if execs is not None else ["ok"] * n  # without execution the checks decide
    passed = [b and e == "ok" for b, e in zip(both, ran)]
    out: dict[str, Any] = {
        "arg_check": M.mean(arg),
        "type_check": M.mean(typ),
        "both_checks": M.mean(both),
        "strict": M.mean(strict),
        "pass@1": M.pass_at_k(n, sum(passed), 1),
        "invented_flags": M.mean(M.invented_flags(g.checks) for g in gens),
        "errors": M.mean(bool(e) for e in errors) if errors is not None else 0.0,
        "structured": M.mean(g.mode == "structured" for g in gens),
    }
    if seconds is not None:
        out["gen_seconds"] = M.mean(seconds)
    if invented is not None:
        out["invented_options"] = M.mean(invented)
    if n > 1:
        out[f"pass@{n}"] = M.pass_at_k(n, sum(passed), n)
    if execs is not None:
        for outcome in ("ok", "error", "timeout"):
            out[f"exec_{outcome}"] = M.mean(e == outcome for e in execs)
    return out


def _read_done(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """Records already in ``rows.jsonl`` by (row key, condition); a torn last line is dropped (file rewritten)."""
    done: dict[tuple[str, str], dict[str, Any]] = {}
    if not path.is_file():
        return done
    good: list[str] = []
    bad = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            done[(rec["key"], rec["condition"])] = rec
            good.append(line)
        except (json.JSONDecodeError, KeyError, TypeError):
            bad += 1
    if bad:
        log.warning("%s: dropped %d unreadable line(s) (an interrupted write?); they will be recomputed", path, bad)
        write_text_atomic(path, "".join(g + "\n" for g in good))
    return done


def _check_run_file(out: Path, identity: Mapping[str, Any]) -> None:
    """Refuse to resume into a folder made with another base config, model, sample count or execution mode."""
    run_file = out / RUN_FILE
    if run_file.is_file():
        try:
            previous = json.loads(run_file.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            previous = None
        before = previous.get("identity") if isinstance(previous, dict) else None
        if before is not None and _identity_json(before) != _identity_json(identity):
            raise ConfigError(
                f"{out} holds results of another run (config, --llm, --samples or --execute differ); "
                "use another --out or delete that folder"
            )


def _check_conditions(records: Iterable[Mapping[str, Any]], conditions: Sequence[Condition], path: Path) -> None:
    """Refuse to resume a condition whose name is in ``rows.jsonl`` with other settings."""
    current = {c.name: json.loads(json.dumps(c.to_dict())) for c in conditions}
    for rec in records:
        want = current.get(rec["condition"])
        if want is None:
            continue
        got = {k: rec.get(k) for k in ("context", "k", "variant", "overrides")}
        if got != {k: want[k] for k in got}:
            raise ConfigError(
                f"{path} holds condition {rec['condition']!r} with other settings ({got}, now {want}); "
                "rename the condition or use another --out"
            )


def _identity_json(identity: Mapping[str, Any]) -> Any:
    """The identity as ``run.json`` stores it: plain JSON, secrets redacted (so a resume compares like with like),
    without ``config.progress`` (showing bars or not, ``-q``, is not another run)."""
    plain = redact_obj(json.loads(json.dumps(identity)))
    if isinstance(plain, dict) and isinstance(plain.get("config"), dict):
        plain["config"].pop("progress", None)
    return plain


def write_run_files(out: Path, config: Config, options: EvalOptions, conditions: Sequence[Condition],
                    extra: Mapping[str, Any]) -> None:
    """``config.yaml`` (the resolved base config, loadable with ``--config``) and ``run.json`` (the settings),
    both redacted (an API key in ``--llm`` or a password in ``generation.base_url`` is never written)."""
    import yaml

    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / CONFIG_FILE, yaml.safe_dump(redact_obj(config.to_dict()), sort_keys=False))
    identity = {"config": config.to_dict(), "llm": options.llm, "samples": options.samples, "execute": options.execute}
    run = {
        "identity": _identity_json(identity),
        "exec_timeout_s": options.exec_timeout_s,
        "conditions": [c.to_dict() for c in conditions],
        **dict(extra),
    }
    write_text_atomic(out / RUN_FILE, json.dumps(redact_obj(run), indent=2, sort_keys=True) + "\n")


def _inside(path: Path, base: Path) -> bool:
    """True when ``path`` (symlinks followed) lies in ``base`` (resolved); a symlink loop is outside."""
    try:
        return path.resolve().is_relative_to(base)
    except (OSError, RuntimeError):
        return False


def check_row_paths(rows: Sequence[TaskRow], repos_dir: Path) -> None:
    """Every row's repository folder and working folder must exist and lie inside ``repos_dir``, also after
    symlinks are followed (``tasks.row_from_dict`` already refuses ``..`` and absolute paths).

    Raises:
        RepoError: folders missing, or rows whose folders lead outside (named, at most five).
    """
    base = repos_dir.resolve()
    missing = sorted({r.repo_dir for r in rows if not (repos_dir / r.repo_dir).is_dir()})
    if missing:
        raise RepoError(
            f"{len(missing)} repository folder(s) missing under {repos_dir}: {', '.join(missing[:5])}"
            " (fetch them with scripts/fetch_mlbench_repos.py, or point --repos at the right folder)"
        )
    outside = []
    for r in rows:
        repo = repos_dir / r.repo_dir
        if not _inside(repo, base) or not _inside(repo / r.workdir, repo.resolve()):
            outside.append(f"{r.key_str} ({r.repo_dir}/{r.workdir})".replace("/)", ")"))
    if outside:
        raise RepoError(
            f"{len(outside)} row(s) name folders that lead outside {repos_dir} (through a symlink): "
            f"{', '.join(outside[:5])}; put the checkouts themselves under --repos"
        )


@dataclass
class RunPlan:
    """What a run still has to do: the pairs not yet in ``rows.jsonl`` and what is there already."""

    repos_dir: Path
    rows_path: Path
    done: dict[tuple[str, str], dict[str, Any]]
    cond_cfgs: dict[str, Config]
    todo: list[tuple[TaskRow, Condition]]
    result: EvalRun


def prepare_run(
    rows: Sequence[TaskRow], conditions: Sequence[Condition], repos_dir: Path, out_dir: Path, cfg: Config,
    opts: EvalOptions, extra: Mapping[str, Any] | None,
) -> RunPlan:
    """Validate a run, write its ``run.json``/``config.yaml``, read what is done, and list the pairs to compute
    (grouped by repository so each index is opened once). Shared by ``run_eval`` and the Ray runner."""
    names = [c.name for c in conditions]
    if len(set(names)) != len(names):
        raise ConfigError(f"duplicate condition names: {', '.join(sorted({n for n in names if names.count(n) > 1}))}")
    check_row_paths(rows, repos_dir)
    if opts.llm and opts.samples > 1 and cfg.generation.temperature == 0:
        log.warning("--samples %d with generation.temperature=0: greedy samples are identical except where the "
                    "seed matters; set generation.temperature > 0 for Pass@k", opts.samples)
    identity = {"config": cfg.to_dict(), "llm": opts.llm, "samples": opts.samples, "execute": opts.execute}
    claim_results_dir(out_dir)
    _check_run_file(out_dir, identity)
    write_run_files(out_dir, cfg, opts, conditions, extra or {})
    rows_path = out_dir / ROWS_FILE
    done = _read_done(rows_path)
    _check_conditions(done.values(), conditions, rows_path)
    cond_cfgs = {c.name: c.apply(cfg) for c in conditions}
    order = {c.name: i for i, c in enumerate(conditions)}
    todo = [(r, c) for r in rows for c in conditions if (r.key_str, c.name) not in done]
    todo.sort(key=lambda rc: (rc[0].repo_dir, order[rc[1].name]))  # stable: rows keep their order
    result = EvalRun(out_dir, skipped=len(rows) * len(conditions) - len(todo))
    return RunPlan(repos_dir, rows_path, done, cond_cfgs, todo, result)


def run_eval(
    rows: Sequence[TaskRow],
    conditions: Sequence[Condition],
    *,
    repos: str | Path,
    out: str | Path,
    config: Config | None = None,
    options: EvalOptions | None = None,
    retrieve_fn: RetrieveFn | None = None,
    generate_fn: GenerateFn | None = None,
    extra: Mapping[str, Any] | None = None,
    check_fn: CheckFn | None = None,
) -> EvalRun:
    """Evaluate every row under every condition, appending to ``out/rows.jsonl``.

    Args:
        rows: the task set (see ``load_tasks``).
        conditions: what context each row gets (see ``depth_conditions``, ``load_ablation``).
        repos: folder holding one folder per ``row.repo_dir`` (a checkout, or docs only).
        out: results folder; created; reruns skip finished (row, condition) pairs.
        config: the base config; each condition's overrides are applied on top.
        options: model, samples, execution, progress.
        retrieve_fn: ``(task, repo, k=, config=) -> list[Hit]``; default ``Pipeline().retrieve``
            (``mlrag.api.retrieve`` over indexes opened once).
        generate_fn: ``(task, repo, k=, llm=, config=, workdir=, hits=) -> Generation``; default
            ``Pipeline().generate`` (``mlrag.api.generate``).
        check_fn: ``(code, repo, config=, workdir=) -> CheckResult`` for the ``invented_options`` count;
            default ``Pipeline().check`` (``mlrag.check``) when ``generate_fn`` is the default, else none.
        extra: more facts for ``run.json`` (data path, command line).

    Returns:
        The records for ``rows`` x ``conditions`` (resumed and new), in row-major order.

    Raises:
        RepoError: a row's repository folder is missing, or leads outside ``repos``.
        ResultsDirError: ``out`` is a file or a folder of files that mlrag did not write.
        ConfigError: duplicate condition names, or ``out`` holds another run (another base config, model,
            sample count or execution mode, or a condition of the same name with other overrides).

    Example:
        >>> run = run_eval(load_tasks("dev.jsonl"), depth_conditions([0, 5]), repos="repos", out="results")
        ... # doctest: +SKIP
    """
    cfg = config or Config()
    opts = options or EvalOptions()
    if retrieve_fn is None or generate_fn is None:
        from .pipeline import Pipeline

        pipeline = Pipeline()
    retrieve = retrieve_fn or pipeline.retrieve
    generate = generate_fn or pipeline.generate
    check = check_fn if check_fn is not None else (pipeline.check if generate_fn is None else None)
    plan = prepare_run(rows, conditions, Path(repos), Path(out), cfg, opts, extra)
    repos_dir, rows_path, done, cond_cfgs, todo, result = (
        plan.repos_dir, plan.rows_path, plan.done, plan.cond_cfgs, plan.todo, plan.result)
    if result.skipped:
        log.info("resuming: %d of %d (row, condition) pairs already in %s", result.skipped,
                 len(rows) * len(conditions), rows_path)

    from tqdm.auto import tqdm

    bar = tqdm(total=len(todo), disable=not opts.progress, desc="eval", unit="row", dynamic_ncols=True)
    try:
        with rows_path.open("a", encoding="utf-8") as f:
            for row, cond in todo:
                rec = evaluate_one(row, cond, repos_dir / row.repo_dir, cond_cfgs[cond.name], opts, retrieve, generate,
                                   check)
                f.write(json.dumps(rec, sort_keys=True, ensure_ascii=False) + "\n")
                f.flush()
                done[(row.key_str, cond.name)] = rec
                result.done += 1
                bar.update(1)
    finally:
        bar.close()
    result.records = [done[(r.key_str, c.name)] for r in rows for c in conditions]
    return result


def evaluate_one(
    row: TaskRow, cond: Condition, repo: Path, config: Config, options: EvalOptions,
    retrieve_fn: RetrieveFn, generate_fn: GenerateFn, check_fn: CheckFn | None = None,
) -> dict[str, Any]:
    """The record of one (row, condition) pair: context, metrics and, with a model, the answers (checked with
    ``check_fn`` for invented options when given)."""
    own_retrieval = bool(options.llm) and cond.context == "retrieval" and config.generation.strategy == "draft"
    hits = [] if own_retrieval else build_context(row, cond, repo, config, retrieve_fn)
    samples = _generate(row, cond, repo, config, options, generate_fn, None if own_retrieval else hits)
    gens = [s.generation for s in samples]
    if own_retrieval and samples and not samples[0].error:
        hits = list(gens[0].hits)
    context = "\n".join(h.text for h in hits)
    rec: dict[str, Any] = {
        "key": row.key_str,
        "github_id": row.github_id,
        "id": row.id,
        "repo": row.repo_dir,
        "condition": cond.name,
        "variant": cond.variant,
        "context": cond.context,
        "k": cond.k,
        "overrides": cond.to_dict()["overrides"],
        "context_hash": _sha(context),
        "context_paths": [h.location for h in hits],
        "prompt_hash": None,
        "codes": [],
        "model": None,
        "metrics": retrieval_metrics(row, cond, hits),
    }
    if not gens:
        return rec
    errors = [s.error for s in samples]
    seconds = [s.seconds for s in samples]
    if any(errors):
        rec["errors"] = sorted({e for e in errors if e})
    codes = [g.code for g in gens]
    execs = None
    if options.execute:
        results = [execute_answer(c, repo / row.workdir, prefix_code=row.prefix_code,
                                  timeout_s=options.exec_timeout_s, root=repo) for c in codes]
        execs = [r.outcome for r in results]
        rec["exec"] = [r.to_dict() for r in results]
    rec.update(
        prompt_hash=_sha(gens[0].prompt),
        codes=codes,
        model=gens[0].model,
        checks=[[c.to_dict() for c in g.checks if not c.ok] for g in gens],
    )
    invented = None
    if check_fn is not None:
        invented = [_invented(check_fn, c, repo, config, row.workdir) for c in codes]
    rec["metrics"].update(generation_metrics(row, codes, gens, execs, invented, errors, seconds))
    return rec


def _invented(check_fn: CheckFn, code: str, repo: Path, config: Config, workdir: str) -> int:
    """How many things ``code`` names that the repository lacks: options a script does not define, scripts,
    folders, subcommands, modules, config keys (0 for an empty answer)."""
    if not code.strip():
        return 0
    try:
        result = check_fn(code, str(repo), config=config, workdir=workdir)
    except Exception as e:  # noqa: BLE001 - a checker failure must not end the run; the count is then unknown
        log.debug("check failed on %s: %s", repo.name, e)
        return 0
    return sum(1 for p in result.problems if _INVENTED.search(p))


#: ``mlrag.check`` problems that name something the repository does not have (an option, a script, a
#: subcommand, a module, a config key), as opposed to a wrong value or a missing required option.
_INVENTED = re.compile(
    r" has no option | takes no options | is not a file | is not a folder of the repository| is not a subcommand"
    r"|: the module is not in the repository|: no config key "
)


def _generate(row: TaskRow, cond: Condition, repo: Path, config: Config, options: EvalOptions,
              generate_fn: GenerateFn, hits: Sequence[Hit] | None) -> list["_Sample"]:
    """``options.samples`` answers (seeds ``seed``, ``seed + 1``...); none without a model.

    A generation that fails (``MlragError``: the model crashed, the prompt did not fit, the server refused)
    becomes an empty answer with its one-line error, so one row never ends the run."""
    if not options.llm:
        return []
    out = []
    for i in range(options.samples):
        cfg_i = config if i == 0 else config.replace({"generation": {"seed": config.generation.seed + i}})
        t0 = time.perf_counter()
        try:
            gen = generate_fn(row.instruction, str(repo), k=cond.k, llm=options.llm, config=cfg_i,
                              workdir=row.workdir, hits=None if hits is None else list(hits))
            error = ""
        except MlragError as e:
            gen = Generation(code="", text="", hits=tuple(hits or ()), prompt="", model=str(options.llm))
            error = redact(str(e).splitlines()[0] if str(e) else type(e).__name__)
            log.warning("%s / %s: generation failed: %s", row.key_str, cond.name, error)
        out.append(_Sample(gen, time.perf_counter() - t0, error))
    return out


@dataclass(frozen=True)
class _Sample:
    generation: Generation
    seconds: float
    error: str = ""


def iter_records(path: str | Path) -> Iterable[dict[str, Any]]:
    """The records of a ``rows.jsonl`` file (unreadable lines skipped)."""
    p = Path(path)
    for line in p.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.strip():
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                log.warning("%s: skipped an unreadable line", p)
