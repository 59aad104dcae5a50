"""Chunking benchmark: oracle containment on ML-Bench docs, and chunking throughput.

Oracle containment: for each ``dev.jsonl`` row, the share of the oracle README segment's 8-word sequences
(words = ``\\w+`` lower-cased, fence markers removed, a literal ``\\n`` read as a newline) that lie inside the
single best context unit of the row's repository docs (``repos/<repo_dir>/``, every file but FILES.txt).
Oracles were mostly copied from rendered pages, so a "rendered" column also drops Markdown link/image targets
and HTML tags from the oracle and from every method's units before comparing (the same transformation on both
sides and for every method).
mlrag's context units are its parent contexts plus the search units that have no parent (at the default
``context_max_tokens`` = 1024 and larger values); LlamaIndex's are the
nodes of ``SentenceSplitter()`` (1024 tokens, 200 overlap) and ``MarkdownNodeParser()`` on the same files.

Throughput: MB of input per second on one process, on the same docs and on a large Python code base (the
installed torch package's ``.py`` files, capped at ``--py-mb``), with the MiniLM tokenizer and with the
approximate counter.

Usage:
    python benchmarks/bench_chunking.py [--shared ../shared] [--py-mb 12] [--no-llama] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from mlrag.chunking import TokenCounter, chunk_files  # noqa: E402
from mlrag.config import ChunkingConfig  # noqa: E402

N = 8
_WORD = re.compile(r"\w+")
_FENCE = re.compile(r"^[ \t]*(?:`{3,}|~{3,})[\w+-]*[ \t]*$", re.M)
# "rendered" variant: what a rendered page does not show as words (link and image targets, HTML tags,
# ordered-list numbers) is dropped
_HIDDEN = re.compile(r"\]\([^)\s]*(?:\s+\"[^\"]*\")?\)|<[^>\n]{1,400}>|^[ \t]*\d{1,3}[.)](?=[ \t])", re.M)


def render(text: str) -> str:
    return _HIDDEN.sub(" ", text)


def words(text: str) -> list[str]:
    return _WORD.findall(_FENCE.sub(" ", text).lower())


def grams(ws: Sequence[str], n: int = N) -> set[int]:
    if len(ws) < n:
        return {hash(tuple(ws))} if ws else set()
    return {hash(tuple(ws[i : i + n])) for i in range(len(ws) - n + 1)}


def read_docs(repo: Path) -> list[tuple[str, str]]:
    out = []
    for p in sorted(repo.rglob("*")):
        if p.is_file() and p.name != "FILES.txt":
            try:
                out.append((p.relative_to(repo).as_posix(), p.read_text(encoding="utf-8")))
            except UnicodeDecodeError:
                continue
    return out


def containment(oracles: list[set[int]], units: Iterable[str], rendered: bool = False) -> list[float]:
    """For each oracle n-gram set, the best share found inside one unit."""
    wanted: set[int] = set().union(*oracles) if oracles else set()
    best = [0.0] * len(oracles)
    for text in units:
        ws = words(render(text) if rendered else text)
        g = grams(ws) & wanted
        if len(ws) < N:  # short units can only hold short oracles
            g |= {hash(tuple(ws))} & wanted
        if not g:
            continue
        for i, o in enumerate(oracles):
            if o:
                best[i] = max(best[i], len(o & g) / len(o))
    return best


def mlrag_units(
    files: list[tuple[str, str]], counter: TokenCounter, context_max: int = 1024
) -> tuple[list[str], list[str]]:
    cs = chunk_files(files, ChunkingConfig(context_max_tokens=context_max), counter)
    contexts = [c.text for c in cs.contexts] + [c.text for c in cs.units if c.parent_id is None and not c.derived]
    return contexts, [c.text for c in cs.units]


def llama_units(files: list[tuple[str, str]], parser: str) -> list[str]:
    from llama_index.core import Document
    from llama_index.core.node_parser import MarkdownNodeParser, SentenceSplitter

    p = SentenceSplitter() if parser == "sentence" else MarkdownNodeParser()
    docs = [Document(text=t, metadata={"path": path}) for path, t in files if t.strip()]
    return [n.get_content() for n in p.get_nodes_from_documents(docs)]


def bench_containment(
    shared: Path, counter: TokenCounter, llama: bool, ctx_sizes: Sequence[int]
) -> tuple[list[str], dict]:
    rows = [json.loads(line) for line in (shared / "dev.jsonl").read_text().splitlines() if line.strip()]
    by_repo: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_repo[r["repo_dir"]].append(r)
    ours = [f"mlrag ctx≤{n}" for n in ctx_sizes]
    methods = ours + (["SentenceSplitter", "MarkdownNodeParser"] if llama else [])
    scores: dict[str, dict[str, list[float]]] = {m: {} for m in methods}
    rscores: dict[str, dict[str, list[float]]] = {m: {} for m in methods}
    sizes: dict[str, list[int]] = {m: [] for m in methods + ["mlrag search units"]}
    for repo, rs in sorted(by_repo.items()):
        files = read_docs(shared / "repos" / repo)
        oracles = [grams(words(r["oracle"].replace("\\n", "\n"))) for r in rs]
        roracles = [grams(words(render(r["oracle"].replace("\\n", "\n")))) for r in rs]
        units: dict[str, list[str]] = {}
        for name, n in zip(ours, ctx_sizes):
            units[name], search = mlrag_units(files, counter, n)
        sizes["mlrag search units"] += [len(t) for t in search]
        if llama:
            units["SentenceSplitter"] = llama_units(files, "sentence")
            units["MarkdownNodeParser"] = llama_units(files, "markdown")
        for m in methods:
            scores[m][repo] = containment(oracles, units[m])
            rscores[m][repo] = containment(roracles, units[m], rendered=True)
            sizes[m] += [len(t) for t in units[m]]
    head = " | ".join(methods) + " | " + " | ".join(f"{m} (rendered)" for m in methods)
    lines = [f"| repository | rows | {head} |", "|---|---:|" + "---:|" * 2 * len(methods)]
    for repo in sorted(by_repo):
        vals = " | ".join(f"{statistics.mean(sc[m][repo]):.3f}" for sc in (scores, rscores) for m in methods)
        lines.append(f"| {repo} | {len(by_repo[repo])} | {vals} |")
    overall = {
        f"{m}{tag}": statistics.mean(x for v in sc[m].values() for x in v)
        for sc, tag in ((scores, ""), (rscores, " (rendered)"))
        for m in methods
    }
    lines.append(
        f"| **overall (mean over rows)** | {len(rows)} | " + " | ".join(f"**{v:.3f}**" for v in overall.values()) + " |"
    )
    lines.append("")
    lines.append("| units | count | mean chars | median chars |")
    lines.append("|---|---:|---:|---:|")
    for m, s in sizes.items():
        label = f"{m} (context units)" if m.startswith("mlrag ctx") else m
        lines.append(f"| {label} | {len(s)} | {statistics.mean(s):.0f} | {statistics.median(s):.0f} |")
    return lines, overall


def bench_speed(name: str, files: list[tuple[str, str]], counters: dict[str, TokenCounter]) -> list[str]:
    mb = sum(len(t.encode("utf-8")) for _, t in files) / 1e6
    out = []
    for label, counter in counters.items():
        t0, c0 = time.perf_counter(), time.process_time()
        cs = chunk_files(files, ChunkingConfig(), counter)
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        cards = sum(1 for c in cs.units if c.kind == "card")
        out.append(
            f"| {name} | {len(files)} | {mb:.1f} | {label} | {dt:.1f} | {mb / dt:.2f} | {cpu:.1f} | {mb / cpu:.2f} "
            f"| {len(cs.units)} | {cards} |"
        )
    return out


def torch_files(limit_mb: float) -> list[tuple[str, str]]:
    import importlib.util

    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        return []
    root = Path(list(spec.submodule_search_locations)[0])
    out, total = [], 0
    for p in sorted(root.rglob("*.py")):
        text = p.read_text(encoding="utf-8", errors="replace")
        out.append((p.relative_to(root.parent).as_posix(), text))
        total += len(text)
        if total > limit_mb * 1e6:
            break
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared", help="folder holding mlbench/")
    ap.add_argument("--py-mb", type=float, default=12.0, help="MB of torch sources for the throughput run")
    ap.add_argument("--no-llama", action="store_true", help="skip the LlamaIndex baselines")
    ap.add_argument("--ctx", type=int, nargs="+", default=[1024, 2048, 3072], help="context_max_tokens values")
    ap.add_argument("--out", type=Path, default=None, help="also write the tables to this markdown file")
    args = ap.parse_args(argv)
    mlbench = args.shared / "mlbench"
    if not (mlbench / "dev.jsonl").is_file():
        print(f"no ML-Bench data at {mlbench}; pass --shared", file=sys.stderr)
        return 1
    counter = TokenCounter.minilm()
    report = ["## Oracle containment (ML-Bench dev, 8-word sequences in the single best context unit)", ""]
    table, _ = bench_containment(mlbench, counter, not args.no_llama, args.ctx)
    report += table
    report += ["", "## Throughput (one process)", ""]
    report += [
        "| corpus | files | MB | token counter | wall s | MB/s (wall) | CPU s | MB/s (CPU) | units | cards |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    docs = [
        (f"{repo.name}/{path}", text)
        for repo in sorted((mlbench / "repos").iterdir())
        if repo.is_dir()
        for path, text in read_docs(repo)
    ]
    counters = {"MiniLM (cold cache)": TokenCounter.minilm(), "approximate": TokenCounter()}
    report += bench_speed("ML-Bench docs", docs, counters)
    py = torch_files(args.py_mb)
    if py:
        report += bench_speed(
            "torch .py sources", py, {"MiniLM (cold cache)": TokenCounter.minilm(), "approximate": TokenCounter()}
        )
    text = "\n".join(report) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
