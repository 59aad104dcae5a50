"""Speed of the local generation backends on this machine: seconds per generation and generated tokens/s.

Each backend runs the packaged SmolLM2-135M-Instruct GGUF on the same prompts: mlrag's prompt template filled
with ML-Bench DEV tasks and their oracle README segment (``../shared/mlbench/dev.jsonl``; the example repository's
README when that folder is absent). Greedy decoding, no output cache, one generation at a time. Load time is
reported apart; tokens are counted with each backend's own tokenizer (the same vocabulary).

Usage:
    python benchmarks/bench_generation.py [--backends llama-cpp,transformers] [--n 5] [--max-new-tokens 64]
        [--gguf path.gguf]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from mlrag.config import GenerationConfig  # noqa: E402
from mlrag.generation import DecodeParams, get_generator  # noqa: E402
from mlrag.generation.base import packaged_gguf  # noqa: E402
from mlrag.generation.prompts import build_messages, load_template  # noqa: E402
from mlrag.types import Chunk, Hit  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "mlbench" / "dev.jsonl"


def tasks(n: int) -> list[tuple[str, str, str]]:
    """(task, context, output type) for the first ``n`` prompts."""
    if SHARED.is_file():
        rows = [json.loads(line) for line in SHARED.read_text().splitlines() if line.strip()]
        step = max(1, len(rows) // n)
        picked = rows[::step][:n]
        return [(r["instruction"], r["oracle"], "python" if r["type"] == "Python Code" else "bash") for r in picked]
    readme = (ROOT / "examples" / "graphlab" / "README.md").read_text()
    return [(f"train ARMA on citeseer with {k} stacks", readme, "bash") for k in range(1, n + 1)]


def hit(text: str) -> Hit:
    n = text.count("\n") + 1
    return Hit(text, "README.md", 1, n, 1.0, Chunk.make(text, "README.md", 1, n, "markdown"))


def mlbench_repair(gen, rows: int, max_new_tokens: int) -> None:  # type: ignore[no-untyped-def]
    """Grounding and repair on ML-Bench DEV rows with the oracle segment as context (no cards: the shared folder
    holds docs only, so only script-exists / runs-script / syntax checks apply). Prints one summary table."""
    import ast

    from mlrag.generation import GenerationRequest, run_generation_batch
    from mlrag.generation.extract import runs_script

    data = [json.loads(line) for line in SHARED.read_text().splitlines() if line.strip()]
    picked = data[:: max(1, len(data) // rows)][:rows]
    reqs, meta = [], []
    for r in picked:
        listing = (SHARED.parent / "repos" / r["repo_dir"] / "FILES.txt").read_text().splitlines()
        files = frozenset(line.split("\t")[0] for line in listing)
        kind = "python" if r["type"] == "Python Code" else "bash"
        reqs.append(GenerationRequest(r["instruction"], (hit(r["oracle"]),), (), files, r["path"], kind))
        meta.append((ast.literal_eval(r["arguments"]), kind))
    for repair in (False, True):
        cfg = GenerationConfig(cache=False, max_new_tokens=max_new_tokens, repair=repair)
        t0 = time.perf_counter()
        out = run_generation_batch(reqs, gen, cfg)
        dt = time.perf_counter() - t0
        grounded = sum(g.grounded for g in out)
        args_ok = sum(all(str(v).lower() in g.code.lower() for v in a.values()) for g, (a, _) in zip(out, meta))
        type_ok = sum(runs_script(g.code) == (k == "bash") for g, (_, k) in zip(out, meta))
        both = sum(
            all(str(v).lower() in g.code.lower() for v in a.values()) and runs_script(g.code) == (k == "bash")
            for g, (a, k) in zip(out, meta)
        )
        print(
            f"| repair={'on' if repair else 'off'} | {len(out)} | {grounded} | {sum(g.repaired for g in out)} | "
            f"{args_ok} | {type_ok} | {both} | {dt / len(out):.1f} |"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backends", default="llama-cpp,transformers")
    ap.add_argument("--n", type=int, default=5)
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--gguf", default="", help="a GGUF file (default: the packaged SmolLM2)")
    ap.add_argument("--repair-rows", type=int, default=0, help="also run grounding/repair on N ML-Bench rows")
    args = ap.parse_args()
    gguf = Path(args.gguf).resolve() if args.gguf else packaged_gguf()
    specs = {"llama-cpp": f"llama-cpp:{gguf}", "transformers": f"transformers:{gguf.parent}#{gguf.name}"}
    cfg = GenerationConfig(cache=False, max_new_tokens=args.max_new_tokens, device="cpu")
    params = DecodeParams(max_new_tokens=args.max_new_tokens)
    template = load_template("mlrag")
    rows = []
    for name in args.backends.split(","):
        t0 = time.perf_counter()
        gen = get_generator(specs[name], cfg)
        load = time.perf_counter() - t0
        count = gen.count_tokens  # type: ignore[attr-defined]
        secs, toks, prompt_toks = [], [], []
        for task, context, kind in tasks(args.n):
            msgs = build_messages(
                template, task, [hit(context)], kind, budget_tokens=cfg.context_tokens, count_tokens=count
            )
            t0 = time.perf_counter()
            text = gen.complete(msgs, params)
            secs.append(time.perf_counter() - t0)
            toks.append(count(text))
            prompt_toks.append(sum(count(m["content"]) for m in msgs))
        rows.append(
            (
                name,
                load,
                statistics.mean(prompt_toks),
                statistics.mean(toks),
                statistics.mean(secs),
                sum(toks) / sum(secs),
            )
        )
    print(f"{gguf.name}, {args.n} prompts, greedy, max_new_tokens={args.max_new_tokens}\n")
    print("| backend | load s | prompt tokens (mean) | generated tokens (mean) | s / generation | generated tokens/s |")
    print("|---|---|---|---|---|---|")
    for name, load, pt, gt, s, tps in rows:
        print(f"| {name} | {load:.1f} | {pt:.0f} | {gt:.1f} | {s:.2f} | {tps:.1f} |")
    if args.repair_rows and SHARED.is_file():
        gen = get_generator(specs[args.backends.split(",")[0]], cfg)
        every = len(SHARED.read_text().splitlines()) // args.repair_rows
        print(f"\nML-Bench DEV, {args.repair_rows} rows (every {every}th), oracle context, no cards\n")
        print(
            "| condition | rows | grounded | repaired | all argument values in code | output type right | both |"
            " s / row |"
        )
        print("|---|---|---|---|---|---|---|---|")
        mlbench_repair(gen, args.repair_rows, args.max_new_tokens)


if __name__ == "__main__":
    main()
