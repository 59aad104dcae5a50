"""Structured synthesis on ML-Bench DEV rows over full checkouts, with no model and no retrieval: how often the
catalog + deterministic binding alone gives the gold command's script and arguments.

    python benchmarks/bench_synthesis.py --checkouts $MLRAG_CHECKOUTS [--data ../shared/mlbench/dev.jsonl]

Per row: the catalog of the row's repository (``mlrag.affordances``), ``synthesize(task, catalog,
workdir=row.path)``, rendered; scored against the gold ``output``: script hit (same script file name),
argument hit (every gold ``--key value`` pair present), exact (script and the option set equal), on bash rows;
then every row with the output type left to synthesis: strict, arg-hit x type and type (``evaluation.metrics``).
Skips cleanly when the rows or checkouts are absent.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shlex
import sys
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent


def parse_cmd(cmd: str) -> tuple[str, dict[str, str]]:
    try:
        toks = shlex.split(cmd.replace("\\\n", " "))
    except ValueError:
        toks = cmd.split()
    if "&&" in toks:
        toks = toks[len(toks) - toks[::-1].index("&&") :]
    script = next((t.rsplit("/", 1)[-1] for t in toks if t.endswith((".py", ".sh"))), "")
    args: dict[str, str] = {}
    i = 0
    while i < len(toks):
        t = toks[i]
        if t.startswith("--"):
            k, eq, v = t[2:].partition("=")
            if not eq and i + 1 < len(toks) and not toks[i + 1].startswith("--"):
                v = toks[i + 1]
                i += 1
            args[k.replace("_", "-")] = v
        i += 1
    return script, args


def table(per: dict[str, list[tuple[int, int, int]]], columns: tuple[str, str, str], rates: bool) -> None:
    """A markdown table of three 0/1 columns per repository and overall: rates, or counts with the overall rate."""
    print(f"| repository | rows | {' | '.join(columns)} |\n|---|---:|---:|---:|---:|")
    tot = [0, 0, 0, 0]
    for repo, xs in sorted(per.items()):
        s = [sum(x[i] for x in xs) for i in range(3)]
        tot = [tot[0] + len(xs), tot[1] + s[0], tot[2] + s[1], tot[3] + s[2]]
        cells = [f"{v / len(xs):.2f}" if rates else str(v) for v in s]
        print(f"| {repo} | {len(xs)} | {' | '.join(cells)} |")
    n = max(tot[0], 1)
    cells = [f"{v / n:.2f}" if rates else f"{v} ({v / n:.3f})" for v in tot[1:]]
    print(f"| **all** | {tot[0]} | {' | '.join(cells)} |")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkouts", default=os.environ.get("MLRAG_CHECKOUTS", "../checkouts"))
    ap.add_argument("--data", default=str(HERE.parent.parent / "shared" / "mlbench" / "dev.jsonl"))
    a = ap.parse_args()
    data, co = Path(a.data), Path(a.checkouts)
    if not data.is_file() or not co.is_dir():
        print(f"skipped: {data} or {co} is missing")
        return 0
    sys.path.insert(0, str(HERE.parent / "src"))
    import mlrag
    from mlrag.config import load_config
    from mlrag.generation.synthesis import render, synthesize

    usage = load_config().generation.usage_values  # the documented-command templates, as the default config says

    rows = [json.loads(line) for line in data.open()]
    cats: dict[str, object] = {}
    per: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    t0 = time.perf_counter()
    for r in rows:
        if "bash" not in r["type"].lower():
            continue
        repo = co / r["repo_dir"]
        if not repo.is_dir():
            continue
        if r["repo_dir"] not in cats:
            cats[r["repo_dir"]] = mlrag.affordances(str(repo), config={"progress": False})
        b = synthesize(r["instruction"], cats[r["repo_dir"]], workdir=r["path"].strip("./"), output_type="bash",
                       usage=usage)
        code = render(b, r["path"].strip("./"))[0] if b else ""
        gs, ga = parse_cmd(r["output"])
        ms, ma = parse_cmd(code)
        script_hit = int(bool(gs) and gs == ms)
        arg_hit = int(script_hit and all(ma.get(k, "").lower() == str(v).lower() for k, v in ga.items()))
        exact = int(arg_hit and set(ma) == set(ga))
        per[r["repo_dir"]].append((script_hit, arg_hit, exact))
    table(per, ("script hit", "args hit", "exact"), rates=True)
    # every row, bash and Python, with the output type left to synthesis: ML-Bench's checks and strict
    from mlrag.evaluation.metrics import argument_check, strict_check, type_check

    ml: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for r in rows:
        repo = co / r["repo_dir"]
        if not repo.is_dir():
            continue
        if r["repo_dir"] not in cats:
            cats[r["repo_dir"]] = mlrag.affordances(str(repo), config={"progress": False})
        wd = r["path"].strip("./")
        b = synthesize(r["instruction"], cats[r["repo_dir"]], workdir=wd, usage=usage)
        code = render(b, wd)[0] if b else ""
        args = ast.literal_eval(r["arguments"]) if r.get("arguments") else {}
        typed = type_check(code, r["type"])
        ml[r["repo_dir"]].append((int(strict_check(code, r["output"], r["type"], args)),
                                  int(typed and argument_check(code, args)), int(typed)))  # fmt: skip
    print("\nEvery row, output type from synthesis:\n")
    table(ml, ("strict", "arg-hit x type", "type"), rates=False)
    print(f"\n{time.perf_counter() - t0:.1f} s in all ({len(cats)} catalogs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
