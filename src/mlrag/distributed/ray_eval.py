"""``run_eval`` on Ray: (row, condition) pairs spread over worker actors, records into the same ``rows.jsonl``.

Design choices:
- The driver does everything with files, through the runner's own functions: the run-identity check, ``run.json``
  and ``config.yaml``, reading finished pairs, the condition check. So a Ray run resumes a single-process run
  into the same folder and the other way round, and ``write_reports`` reads the records of either.
- Workers are Ray actors (``ray.workers`` of them, ``num_cpus_per_worker``/``num_gpus_per_worker`` each) holding a
  ``Pipeline``: each opens an index once and keeps it, and a local model (``llama-cpp:``, ``transformers:``)
  loads once per actor. Pairs go in batches of ``ray.eval_batch_size`` consecutive pairs (the runner's order:
  repository, condition, row), handed to whichever actor is free, so the same repository tends to stay on one
  actor.
- With ``ray.endpoints`` and ``--llm openai:<model>``, generation goes through one shared ``EndpointPool`` actor:
  least-loaded endpoint, at most ``ray.concurrency_per_endpoint`` requests in flight per endpoint cluster-wide.
- Records are appended and flushed as batches finish (completion order, not the runner's order: an interrupted
  run keeps everything finished); returned records are row-major like ``run_eval``'s. A failed batch does not
  stop the others; the error is raised after every other batch is written, and a rerun retries only the
  missing pairs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..config import Config
from ..errors import ConfigError, MlragError
from ..evaluation.conditions import Condition
from ..evaluation.runner import EvalOptions, EvalRun, evaluate_one, prepare_run
from ..evaluation.tasks import TaskRow
from .runtime import connect, worker_env

log = logging.getLogger(__name__)

Pair = tuple[TaskRow, Condition]


class EvalWorker:
    """A Ray actor evaluating batches of (row, condition) pairs with a ``Pipeline`` kept across batches."""

    def __init__(self, config: Config, options: EvalOptions, repos: str, pool: Any = None) -> None:
        from ..evaluation.pipeline import Pipeline

        self.options = options
        self.repos = Path(repos)
        self.pool = pool
        self.urls = config.ray.endpoints
        self.pipeline = Pipeline()
        self._pooled: dict[str, Any] = {}

    def _generator(self, llm: Any, config: Config) -> Any:
        """``llm`` itself, or for ``openai:`` with endpoints the pooled generator (once per generation config)."""
        if not (self.urls and isinstance(llm, str)):
            return llm
        from .endpoints import RayLease, pooled_generator

        gen_cfg = config.generation
        key = json.dumps([llm, {**gen_cfg.__dict__, "seed": 0}], sort_keys=True, default=str)
        if key not in self._pooled:
            lease = RayLease(self.pool) if self.pool is not None else None
            self._pooled[key] = pooled_generator(llm, gen_cfg, self.urls, lease, config.ray.concurrency_per_endpoint)
        return self._pooled[key]

    def generate(self, task: str, repo: str, k: int = 5, llm: Any = None, config: Config | None = None,
                 **kw: Any) -> Any:
        cfg = config or Config()
        return self.pipeline.generate(task, repo, k=k, llm=self._generator(llm, cfg), config=cfg, **kw)

    def run(self, batch: Sequence[tuple[TaskRow, Condition, Config]]) -> list[dict[str, Any]]:
        """The records of ``batch`` (each pair with its condition's config), in order."""
        return [
            evaluate_one(row, cond, self.repos / row.repo_dir, cfg, self.options, self.pipeline.retrieve,
                         self.generate, self.pipeline.check)
            for row, cond, cfg in batch
        ]


def run_eval_ray(
    rows: Sequence[TaskRow],
    conditions: Sequence[Condition],
    *,
    repos: str | Path,
    out: str | Path,
    config: Config | None = None,
    options: EvalOptions | None = None,
    extra: Mapping[str, Any] | None = None,
) -> EvalRun:
    """``run_eval`` with the pairs spread over Ray workers; same arguments (no injected functions), same files.

    Args:
        rows, conditions, repos, out, config, options, extra: as ``mlrag.evaluation.runner.run_eval``;
            ``config.ray`` says where Ray runs, how many workers, and the OpenAI-compatible endpoints.

    Returns:
        The records of ``rows`` x ``conditions`` (resumed and new), row-major.

    Raises:
        RepoError, ConfigError: as ``run_eval``.
        MlragError: some batches failed (the others are in ``rows.jsonl``; rerun to retry the rest).

    Example:
        >>> cfg = load_config(overrides=["ray.endpoints=[http://gpu1:8000/v1,http://gpu2:8000/v1]"])
        >>> run = run_eval_ray(load_tasks("dev.jsonl"), depth_conditions([0, 5]), repos="repos", out="results",
        ...                    config=cfg, options=EvalOptions(llm="openai:qwen2.5-coder-7b"))  # doctest: +SKIP
    """
    cfg = config or Config()
    opts = options or EvalOptions()
    if cfg.ray.endpoints and opts.llm and not opts.llm.startswith("openai:"):
        raise ConfigError(f"ray.endpoints serve OpenAI-compatible models: use --llm openai:<model>, got {opts.llm!r}")
    plan = prepare_run(rows, conditions, Path(repos).resolve(), Path(out), cfg, opts, extra)
    repos_dir, rows_path, done, cond_cfgs, todo, result = (
        plan.repos_dir, plan.rows_path, plan.done, plan.cond_cfgs, plan.todo, plan.result)
    if todo:
        bs = cfg.ray.eval_batch_size
        batches = [[(r, c, cond_cfgs[c.name]) for r, c in todo[s : s + bs]] for s in range(0, len(todo), bs)]
        errors = _dispatch(batches, cfg, opts, str(repos_dir), rows_path, done, result)
        if errors:
            raise MlragError(f"{len(errors)} of {len(batches)} evaluation batches failed (the rest are in "
                             f"{rows_path}; rerun to retry): {errors[0]}")
    result.records = [done[(r.key_str, c.name)] for r in rows for c in conditions]
    return result


def _dispatch(batches: list[list[Any]], cfg: Config, opts: EvalOptions, repos: str, rows_path: Path,
              done: dict[tuple[str, str], dict[str, Any]], result: EvalRun) -> list[str]:
    """Run ``batches`` on worker actors, appending records as batches finish; returns the batches' errors."""
    from tqdm.auto import tqdm

    from .ray_index import _actors, _error

    ray = connect(cfg.ray)
    rc = cfg.ray
    n = min(_actors(ray, rc), len(batches))
    pool = None
    if rc.endpoints and opts.llm:
        from .endpoints import pool_actor

        pool = pool_actor(ray, rc.endpoints, rc.concurrency_per_endpoint, n)
    actor_cls = ray.remote(EvalWorker).options(num_cpus=rc.num_cpus_per_worker, num_gpus=rc.num_gpus_per_worker,
                                               runtime_env=worker_env(cfg))
    actors = [actor_cls.remote(cfg, opts, repos, pool) for _ in range(n)]
    queue = list(reversed(batches))
    running: dict[Any, Any] = {}
    for a in actors:
        if queue:
            running[a.run.remote(queue.pop())] = a
    errors: list[str] = []
    bar = tqdm(total=sum(len(b) for b in batches), disable=not opts.progress, desc="eval", unit="row")
    try:
        with rows_path.open("a", encoding="utf-8") as f:
            while running:
                (ref,), _ = ray.wait(list(running), num_returns=1)
                actor = running.pop(ref)
                if queue:
                    running[actor.run.remote(queue.pop())] = actor
                try:
                    records = ray.get(ref)
                except Exception as e:  # the batch's own error, or a worker that died
                    errors.append(_error(e))
                    log.warning("an evaluation batch failed: %s", errors[-1])
                    continue
                for rec in records:
                    f.write(json.dumps(rec, sort_keys=True, ensure_ascii=False) + "\n")
                    done[(rec["key"], rec["condition"])] = rec
                f.flush()
                result.done += len(records)
                bar.update(len(records))
    finally:
        bar.close()
        for a in actors:
            ray.kill(a)
        if pool is not None:
            ray.kill(pool)
    return errors
