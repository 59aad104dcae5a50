"""The default model's two routes side by side: llama-cpp vs transformers from the same GGUF (no compile).

For the packaged SmolLM2-135M-Instruct GGUF, each backend runs in its own child process (so peak RSS is its own)
and reports: model load time, one structured ``call_tool`` over 4 tools (llama-cpp: a grammar from the JSON
schema; transformers: llguidance as a logits processor), a 64-token free completion (greedy, the generation
stops only at 64 tokens or end of turn), and the child's peak RSS (``ru_maxrss``). The call is timed on 4
prompts and the first one is repeated, so the table shows the first call (which includes building the grammar
/ the llguidance tokenizer) and the mean of the rest.

The install times (pip into a fresh venv) are not measured here: they are timed once by hand and recorded
in BENCHMARKS.md.

Usage:
    python benchmarks/bench_default_backend.py [--backends llama-cpp,transformers] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
TOOLS_SPEC = [
    ("train_py", "Train a graph neural network", {"dataset": ["cora", "citeseer", "pubmed"], "model": ["gcn", "gat"]}),
    ("download_sh", "Download a dataset", {"dataset": ["cora", "citeseer"]}),
    ("export_onnx", "Export the trained model to ONNX", {}),
    ("eval_py", "Evaluate a saved checkpoint", {"split": ["val", "test"]}),
]
PROMPTS = [
    ("Train a GAT on citeseer", "train_py"),
    ("Download the cora dataset", "download_sh"),
    ("Export the model to ONNX", "export_onnx"),
    ("Evaluate the checkpoint on the test split", "eval_py"),
]
FREE = "Write a bash command that trains a GCN on the cora dataset with train.py, then explain each flag."


def child(backend: str) -> dict[str, object]:
    """Measure one backend in this process; the parent reads the JSON it prints."""
    from mlrag.config import GenerationConfig
    from mlrag.generation import DecodeParams, get_generator
    from mlrag.generation.base import packaged_gguf
    from mlrag.generation.structured import Tool, call_tool, describe

    tools = [
        Tool(n, d, {"type": "object", "properties": {k: {"type": "string", "enum": v} for k, v in a.items()}})
        for n, d, a in TOOLS_SPEC
    ]
    path = packaged_gguf()
    spec = f"llama-cpp:{path}" if backend == "llama-cpp" else f"transformers:{path.parent}#{path.name}"
    t0 = time.perf_counter()
    gen = get_generator(spec, GenerationConfig(cache=False, device="cpu"))
    load_s = time.perf_counter() - t0
    calls = []
    for task, want in [*PROMPTS, PROMPTS[0]]:
        msgs = [
            {"role": "system", "content": f"Pick the tool that does the task.\nTools:\n{describe(tools)}"},
            {"role": "user", "content": task},
        ]
        t = time.perf_counter()
        got = call_tool(gen, msgs, tools, DecodeParams(max_new_tokens=64))
        calls.append(
            {
                "task": task,
                "s": round(time.perf_counter() - t, 3),
                "tool": got.name if got else None,
                "arguments": dict(got.arguments) if got else None,
                "via": got.via if got else None,
                "right": bool(got and got.name == want),
            }
        )
    t = time.perf_counter()
    text = gen.complete([{"role": "user", "content": FREE}], DecodeParams(max_new_tokens=64))
    free_s = time.perf_counter() - t
    rest = [c["s"] for c in calls[1:]]
    return {
        "backend": backend,
        "model": gen.id.split("/")[-1],
        "load_s": round(load_s, 2),
        "call_tool_first_s": calls[0]["s"],
        "call_tool_mean_rest_s": round(sum(rest) / len(rest), 3),  # type: ignore[arg-type]
        "call_tool_right": sum(bool(c["right"]) for c in calls),
        "call_tool_n": len(calls),
        "free_64_s": round(free_s, 2),
        "free_tokens": gen.count_tokens(text),  # type: ignore[attr-defined]
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "calls": calls,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backends", default="llama-cpp,transformers")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child)))
        return
    rows = []
    for backend in args.backends.split(","):
        load = os.getloadavg()[0]
        proc = subprocess.run(
            [sys.executable, __file__, "--child", backend], capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            print(f"{backend}: exit {proc.returncode}\n{proc.stderr[-2000:]}", file=sys.stderr)
            continue
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        row["load_average_before"] = round(load, 2)
        rows.append(row)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    (out / "default_backend.json").write_text(json.dumps({"date": stamp, "rows": rows}, indent=2) + "\n")
    lines = [
        "| backend | load s | call_tool s (first) | call_tool s (mean of next 4) | right tool | 64-token free s "
        "| peak RSS MiB |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['backend']} | {r['load_s']} | {r['call_tool_first_s']} | {r['call_tool_mean_rest_s']} "
            f"| {r['call_tool_right']}/{r['call_tool_n']} | {r['free_64_s']} ({r['free_tokens']} tokens) "
            f"| {r['peak_rss_mib']} |"
        )
    table = "\n".join(lines)
    (out / "default_backend.md").write_text(f"{stamp}\n\n{table}\n")
    print(table)


if __name__ == "__main__":
    main()
