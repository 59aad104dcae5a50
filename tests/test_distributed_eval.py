"""``run_eval_ray`` against two real OpenAI-compatible servers (llama.cpp's server with the packaged SmolLM2 on two
ports) gives the records of the single-process ``run_eval`` against one; reruns resume the same way.

Greedy decoding, a few tokens, separate output caches for the two runs (so neither reads the other's answers).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llama_servers import llama_servers
from mlrag.config import Config, load_config
from mlrag.evaluation.conditions import builtin_condition, depth_conditions
from mlrag.evaluation.runner import EvalOptions, run_eval
from mlrag.evaluation.tasks import load_tasks

ray = pytest.importorskip("ray")
httpx = pytest.importorskip("httpx")

ROOT = Path(__file__).resolve().parents[1]
TRAIN = ("import argparse\np = argparse.ArgumentParser()\np.add_argument('--dataset', default='cora')\n"
         "p.add_argument('--lr', type=float, default=0.01)\nargs = p.parse_args()\nprint(args.dataset)\n")
ROWS = [
    {"github_id": 1, "github": "https://github.com/acme/tiny", "repo_id": 1, "path": "./examples/gcn",
     "arguments": "{'dataset': 'citeseer', 'lr': 0.5}", "instruction": "Train GCN on citeseer with lr 0.5",
     "oracle": "python train.py --dataset cora --lr 0.01", "type": "Bash Script", "id": 1, "prefix_code": "",
     "output": "python train.py --dataset citeseer --lr 0.5", "repo_dir": "acme__tiny"},
    {"github_id": 1, "github": "https://github.com/acme/tiny", "repo_id": 1, "path": "./examples/gcn",
     "arguments": "{'dataset': 'pubmed'}", "instruction": "Train GCN on pubmed", "oracle": "python train.py",
     "type": "Bash Script", "id": 2, "prefix_code": "", "output": "python train.py --dataset pubmed",
     "repo_dir": "acme__tiny"},
    {"github_id": 2, "github": "https://github.com/acme/other", "repo_id": 2, "path": "./",
     "arguments": "{'x': '1'}", "instruction": "print x equal to 1", "oracle": "Install with pip.",
     "type": "Python Code", "id": 1, "prefix_code": "", "output": "print('x=1')", "repo_dir": "acme__other"},
]


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[tuple[str, Path]]]:
    """Two llama_cpp.server processes with the packaged GGUF on free local ports: [(base URL, log file)]."""
    with llama_servers(2, tmp_path_factory.mktemp("llama-servers"), threads=1) as running:
        yield running


def _tasks(tmp: Path) -> tuple[Path, Path]:
    repo = tmp / "repos" / "acme__tiny"
    (repo / "examples" / "gcn").mkdir(parents=True)
    (repo / "README.md").write_text("# Tiny GNN zoo\n\nSee examples/gcn.\n", encoding="utf-8")
    (repo / "examples" / "gcn" / "README.md").write_text(
        "# GCN\n\n```bash\npython train.py --dataset cora --lr 0.01\n```\n", encoding="utf-8")
    (repo / "examples" / "gcn" / "train.py").write_text(TRAIN, encoding="utf-8")
    other = tmp / "repos" / "acme__other"
    other.mkdir()
    (other / "README.md").write_text("# Other\n\nInstall with pip.\n", encoding="utf-8")
    data = tmp / "rows.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    return data, tmp / "repos"


def _config(tmp: Path, name: str, extra: list[str]) -> Config:
    return load_config(overrides=[
        "embedding.model=fake", "progress=false", "generation.max_new_tokens=24", "generation.temperature=0",
        "generation.repair=false", "retrieval.budget_chars=600", f"generation.cache_dir={tmp / name / 'cache'}",
        "generation.timeout_s=120", *extra,
    ])


def _comparable(rec: dict[str, Any], drop: tuple[str, ...] = ("model",)) -> dict[str, Any]:
    """A record as ``rows.jsonl`` holds it (JSON types), without ``drop`` (the model id names the endpoints) and
    without the wall time of its generation (the one value that differs between identical runs)."""
    out = {k: v for k, v in json.loads(json.dumps(rec, sort_keys=True)).items() if k not in drop}
    out.get("metrics", {}).pop("gen_seconds", None)
    return out


@pytest.mark.slow  # ~85 s on the shared 2-core box: two servers, 14 generations
def test_ray_eval_on_two_servers_equals_single_process(
    servers: list[tuple[str, Path]], ray_runtime: Any, tmp_path: Path
) -> None:
    from mlrag.distributed.ray_eval import run_eval_ray

    data, repos = _tasks(tmp_path)
    rows = load_tasks(data)
    conds = [*depth_conditions([1]), builtin_condition("oracle")]
    opts = EvalOptions(llm="openai:smollm2", progress=False)
    (u1, _), (u2, _) = servers

    single = run_eval(rows, conds, repos=repos, out=tmp_path / "single",
                      config=_config(tmp_path, "single", [f"generation.base_url={u1}"]), options=opts)
    ray_cfg = _config(tmp_path, "ray", [f"ray.endpoints=[{u1},{u2}]", "ray.workers=2",
                                        "ray.concurrency_per_endpoint=1", "ray.eval_batch_size=1"])
    dist = run_eval_ray(rows, conds, repos=repos, out=tmp_path / "ray", config=ray_cfg, options=opts)

    assert single.done == dist.done == len(rows) * len(conds)
    assert [_comparable(r) for r in dist.records] == [_comparable(r) for r in single.records]
    assert all(r["codes"] for r in dist.records)
    assert {r["model"] for r in dist.records} == {f"openai:smollm2@{u1},{u2}"}
    written = [json.loads(line) for line in (tmp_path / "ray" / "rows.jsonl").read_text().splitlines()]
    assert sorted((r["key"], r["condition"]) for r in written) == sorted((r["key"], r["condition"])
                                                                         for r in single.records)
    for _, log in servers:  # load balancing sent requests to both servers
        assert "POST /v1/chat/completions" in log.read_text(errors="replace")

    # resume: nothing to do; then a torn last line and a missing record are recomputed, the rest skipped
    again = run_eval_ray(rows, conds, repos=repos, out=tmp_path / "ray", config=ray_cfg, options=opts)
    assert (again.done, again.skipped) == (0, len(written))
    lines = (tmp_path / "ray" / "rows.jsonl").read_text().splitlines()
    (tmp_path / "ray" / "rows.jsonl").write_text("\n".join(lines[:-2]) + "\n" + lines[-2][:20])
    third = run_eval_ray(rows, conds, repos=repos, out=tmp_path / "ray", config=ray_cfg, options=opts)
    assert (third.done, third.skipped) == (2, len(written) - 2)
    assert [_comparable(r) for r in third.records] == [_comparable(r) for r in single.records]


def test_ray_eval_with_local_generator_resumes_single_process_run(ray_runtime: Any, tmp_path: Path) -> None:
    """Without endpoints each worker makes its own generator (here ``echo``); a Ray run finishes a folder that a
    single-process run started, and the records equal a single-process run of everything."""
    from mlrag.distributed.ray_eval import run_eval_ray

    data, repos = _tasks(tmp_path)
    rows = load_tasks(data)
    conds = [*depth_conditions([0, 2]), builtin_condition("readme")]
    opts = EvalOptions(llm="echo", progress=False)
    cfg = _config(tmp_path, "echo", ["ray.workers=2"])
    full = run_eval(rows, conds, repos=repos, out=tmp_path / "full", config=cfg, options=opts)
    run_eval(rows[:1], conds, repos=repos, out=tmp_path / "mixed", config=cfg, options=opts)
    dist = run_eval_ray(rows, conds, repos=repos, out=tmp_path / "mixed", config=cfg, options=opts)
    assert (dist.done, dist.skipped) == (len(rows[1:]) * len(conds), len(conds))
    assert [_comparable(r, ()) for r in dist.records] == [_comparable(r, ()) for r in full.records]
