"""Ray benchmark: indexing chunks/s and evaluation rows/s with 1 and 2 Ray workers vs. the single-process path.

Indexing: the same repositories (folders of this checkout: examples/graphlab and mlrag's own subpackages, each
indexed as a repository) are indexed from scratch, each run into a fresh index folder with no embedding cache to
hit: once by ``Index.open`` in this process, one repository after another, then by ``build_indexes_ray`` with
``ray.workers`` = 1 and 2 (walk/chunk tasks, a Ray Data embedding stage with that many actors, shard writers).
chunks/s = chunks indexed / wall seconds of the whole call. The local Ray runtime is started once, before any
timing (its start-up is reported separately).

Evaluation: ``--rows`` synthetic rows over two tiny repositories, conditions k=1 and k=3, retrieval with the given
embedder, generation by the ``echo`` generator (so the numbers measure mlrag and Ray overhead, not a model); once
by ``run_eval`` in this process, then by ``run_eval_ray`` with 1 and 2 workers. rows/s = (row, condition) pairs
per wall second, indexes already built (warm) for all three.

Usage:
    python benchmarks/bench_ray.py [--model minilm|fake] [--rows 200] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from mlrag.config import Config, load_config  # noqa: E402

REPOS = ["examples/graphlab", "src/mlrag/chunking", "src/mlrag/evaluation", "src/mlrag/generation",
         "src/mlrag/retrieval", "src/mlrag/embedding"]


def _cfg(index_dir: Path, model: str, workers: int, extra: list[str] = ()) -> Config:  # type: ignore[assignment]
    return load_config(overrides=[f"index_dir={index_dir}", f"embedding.model={model}", "progress=false",
                                  "embedding.cache=false", f"ray.workers={workers}", "retrieval.dense=full", *extra])


def bench_index(tmp: Path, model: str) -> list[tuple[str, int, float]]:
    from mlrag.distributed.ray_index import build_indexes_ray
    from mlrag.index import Index

    repos = [str(ROOT / r) for r in REPOS]
    out = []
    d = tmp / "single"
    os.environ["MLRAG_INDEX_DIR"] = str(d)
    t = time.perf_counter()
    n = sum(len(Index.open(Path(r), _cfg(d, model, 1), name=Path(r).name, progress=False).chunks) for r in repos)
    out.append(("single process (Index.open, sequential)", n, time.perf_counter() - t))
    for w in (1, 2):
        d = tmp / f"ray{w}"
        os.environ["MLRAG_INDEX_DIR"] = str(d)
        t = time.perf_counter()
        res = build_indexes_ray(repos, _cfg(d, model, w), progress=False)
        secs = time.perf_counter() - t
        bad = [r.error for r in res if not r.ok]
        if bad:
            raise SystemExit(f"ray build failed: {bad}")
        out.append((f"Ray, {w} worker{'s' * (w > 1)}", sum(r.stats.chunks for r in res), secs))  # type: ignore[union-attr]
    return out


def _eval_data(tmp: Path, n_rows: int) -> tuple[Path, Path]:
    repo = tmp / "repos" / "acme__tiny"
    shutil.copytree(ROOT / "examples" / "graphlab", repo)
    shutil.copytree(ROOT / "src" / "mlrag" / "chunking", tmp / "repos" / "acme__other")
    rows = []
    for i in range(n_rows):
        other = i % 2
        rows.append({"github_id": 1 + other, "github": "https://github.com/acme/x", "repo_id": 1 + other,
                     "path": "./", "arguments": f"{{'lr': '0.{i}'}}", "instruction": f"train with lr 0.{i} (row {i})",
                     "oracle": "python train.py", "type": "Bash Script", "id": i, "prefix_code": "",
                     "output": f"python train.py --lr 0.{i}", "repo_dir": "acme__other" if other else "acme__tiny"})
    data = tmp / "rows.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return data, tmp / "repos"


def bench_eval(tmp: Path, model: str, n_rows: int) -> list[tuple[str, int, float]]:
    from mlrag.distributed.ray_eval import run_eval_ray
    from mlrag.evaluation.conditions import depth_conditions
    from mlrag.evaluation.runner import EvalOptions, run_eval
    from mlrag.evaluation.tasks import load_tasks

    data, repos = _eval_data(tmp, n_rows)
    rows = load_tasks(data)
    conds = depth_conditions([1, 3])
    opts = EvalOptions(llm="echo", progress=False)
    d = tmp / "eval-indexes"
    os.environ["MLRAG_INDEX_DIR"] = str(d)
    out = []
    run_eval(rows[:2], conds, repos=repos, out=tmp / "warm", config=_cfg(d, model, 1), options=opts)  # builds
    t = time.perf_counter()
    run_eval(rows, conds, repos=repos, out=tmp / "e-single", config=_cfg(d, model, 1), options=opts)
    out.append(("single process (run_eval)", len(rows) * len(conds), time.perf_counter() - t))
    for w in (1, 2):
        cfg = _cfg(d, model, w, ["ray.eval_batch_size=8"])
        t = time.perf_counter()
        run = run_eval_ray(rows, conds, repos=repos, out=tmp / f"e-ray{w}", config=cfg, options=opts)
        out.append((f"Ray, {w} worker{'s' * (w > 1)}", run.done, time.perf_counter() - t))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="minilm")
    ap.add_argument("--rows", type=int, default=200)
    ap.add_argument("--out", default=None, help="also write the tables to this markdown file")
    args = ap.parse_args()
    import ray

    t = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT / "src")}})
    init_s = time.perf_counter() - t
    tmp = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    try:
        idx = bench_index(tmp, args.model)
        ev = bench_eval(tmp, args.model, args.rows)
    finally:
        ray.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
    lines = [f"Local Ray runtime start (ray.init, 2 CPUs): {init_s:.1f} s", "",
             f"### Indexing {len(REPOS)} repositories from scratch (embedder {args.model})", "",
             "| path | chunks | seconds | chunks/s | vs. single process |", "|---|---:|---:|---:|---:|"]
    base = idx[0][2]
    lines += [f"| {name} | {n} | {s:.1f} | {n / s:.1f} | {s / base:.2f}x time |" for name, n, s in idx]
    lines += ["", f"### Evaluation: {args.rows} rows x 2 conditions, echo generator, warm indexes", "",
              "| path | pairs | seconds | pairs/s | vs. single process |", "|---|---:|---:|---:|---:|"]
    base = ev[0][2]
    lines += [f"| {name} | {n} | {s:.1f} | {n / s:.1f} | {s / base:.2f}x time |" for name, n, s in ev]
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
