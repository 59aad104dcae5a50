"""The synthesis bars on the project's two fixture repositories (``tests/synthesis_fixtures.py``: 6 and 8 tasks), by
model and mode: how many tasks get the exact command, how many answers name an option or script the repository
lacks (``mlrag.check``), and the seconds per task.

    python benchmarks/bench_fixtures.py --llm default --llm llama-cpp:<qwen.gguf> [--modes auto,free]

The fixtures were written for this project (not ML-Bench); the binding rules were developed with them in view,
so these figures are in-sample. Every generation is fresh (the output cache is off).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

import mlrag  # noqa: E402
from mlrag.agent.check import check_code  # noqa: E402
from mlrag.catalog import build_catalog  # noqa: E402
from synthesis_fixtures import FIXTURES, same_command, write_repo  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--llm", action="append", default=None, help="generator spec (repeatable)")
    ap.add_argument("--modes", default="auto,free", help="generation.mode values, comma-separated")
    ap.add_argument("-v", "--verbose", action="store_true", help="print each answer")
    a = ap.parse_args()
    llms = a.llm or ["default"]
    base = Path(tempfile.mkdtemp(prefix="mlrag-fixtures-"))
    repos = {name: write_repo(base / name, files) for name, (files, _) in FIXTURES.items()}
    print("| model | mode | fixture | exact | invented | errors | s/task |\n|---|---|---|---:|---:|---:|---:|")
    for llm in llms:
        for mode in a.modes.split(","):
            for name, (files, tasks) in FIXTURES.items():
                catalog = build_catalog(files.items())
                exact = invented = errors = 0
                t0 = time.perf_counter()
                for task, want in tasks:
                    cfg = {
                        "progress": False,
                        "index_dir": str(base / "indexes"),
                        "retrieval": {"dense": "off"},
                        "generation": {"mode": mode, "cache": False},
                    }
                    try:
                        gen = mlrag.generate(task, str(repos[name]), llm=llm, config=cfg)
                    except mlrag.MlragError as e:
                        errors += 1
                        print(f"  error: {e}", file=sys.stderr)
                        continue
                    ok = same_command(gen.code, want)
                    exact += ok
                    bad = not gen.code.strip() or not check_code(gen.code, catalog, set(files)).valid
                    invented += bad
                    if a.verbose:
                        print(f"  {'OK ' if ok else 'BAD'} {gen.code!r}  want {want!r}", file=sys.stderr)
                secs = (time.perf_counter() - t0) / len(tasks)
                shown = Path(llm).name if "/" in llm else llm
                print(f"| {shown} | {mode} | {name} | {exact}/{len(tasks)} | {invented} | {errors} | {secs:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
