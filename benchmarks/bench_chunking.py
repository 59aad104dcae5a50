"""Chunking benchmark: oracle containment on ML-Bench docs, and chunking throughput.

Oracle containment: for each ``dev.jsonl`` row, the share of the oracle README segment's 8-word sequences
(words = ``\\w+`` lower-cased, fence markers removed, a literal ``\\n`` read as a newline) that lie inside the
single best context unit of the row's repository docs (``repos/<repo_dir>/``, every file but FILES.txt).
Oracles were mostly copied from rendered pages, so a "rendered" column also drops Markdown link/image targets
and HTML tags from the oracle and from every method's units before comparing (the same transformation on both
sides and for every method).

Methods: mlrag's context units are all its contexts of both levels (level 1 at ``context_max_tokens``, level 2
at ``section_max_tokens``) plus the search units that have no parent, at the default config and single-level
(``section_max_tokens=0``); LlamaIndex's are the nodes of ``SentenceSplitter()`` (1024 tokens, 200 overlap) and
``MarkdownNodeParser()`` on the same files; the *ceiling* takes each whole file as one unit, the best any
exact-slice chunker can do under the raw metric. Beside each score: the mean size of the unit that earned it
(per row, the smallest unit with the best score), so the score is read with the unit size that bought it.

Throughput: MB of input per second on one process, on the same docs and on a large Python code base (the
installed torch package's ``.py`` files, capped at ``--py-mb``), with the MiniLM tokenizer (a fresh counter per
run, so its word cache starts cold) and with the approximate counter, single-level and two-level side by side
(each config twice, in ABBA order; the faster run is reported).

Usage:
    python benchmarks/bench_chunking.py [--shared ../shared] [--py-mb 12] [--no-llama] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import dataclasses
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

from mlrag.chunking import ChunkSet, TokenCounter, chunk_files  # noqa: E402
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


def containment(oracles: list[set[int]], units: Sequence[str], rendered: bool = False) -> tuple[list[float], list[int]]:
    """For each oracle n-gram set, the best share found inside one unit, and the length of the smallest unit
    with that share (0 when no unit holds any of it)."""
    wanted: set[int] = set().union(*oracles) if oracles else set()
    best = [0.0] * len(oracles)
    size = [0] * len(oracles)
    for text in units:
        ws = words(render(text) if rendered else text)
        g = grams(ws) & wanted
        if len(ws) < N:  # short units can only hold short oracles
            g |= {hash(tuple(ws))} & wanted
        if not g:
            continue
        for i, o in enumerate(oracles):
            if not o:
                continue
            share = len(o & g) / len(o)
            if share > best[i] or (share == best[i] and share > 0 and len(text) < size[i]):
                best[i], size[i] = share, len(text)
    return best, size


def mlrag_units(files: list[tuple[str, str]], counter: TokenCounter, cfg: ChunkingConfig) -> dict[str, list[str]]:
    """Context units (``"context"``) and, by kind, the texts of each level and of the search units."""
    cs = chunk_files(files, cfg, counter)
    out: dict[str, list[str]] = {"context": [], "level 1": [], "level 2": [], "no parent": [], "search": []}
    for c in cs.contexts:
        if not c.derived:
            out[f"level {c.meta['level']}"].append(c.text)
    for u in cs.units:
        out["search"].append(u.text)
        if u.parent_id is None and not u.derived:
            out["no parent"].append(u.text)
    out["context"] = out["level 1"] + out["level 2"] + out["no parent"]
    return out


def llama_units(files: list[tuple[str, str]], parser: str) -> list[str]:
    from llama_index.core import Document
    from llama_index.core.node_parser import MarkdownNodeParser, SentenceSplitter

    p = SentenceSplitter() if parser == "sentence" else MarkdownNodeParser()
    docs = [Document(text=t, metadata={"path": path}) for path, t in files if t.strip()]
    return [n.get_content() for n in p.get_nodes_from_documents(docs)]


def _mean(xs: Iterable[float]) -> float:
    xs = list(xs)
    return statistics.mean(xs) if xs else float("nan")


def bench_containment(
    shared: Path, counter: TokenCounter, llama: bool, configs: dict[str, ChunkingConfig]
) -> tuple[list[str], dict[str, float]]:
    rows = [json.loads(line) for line in (shared / "dev.jsonl").read_text().splitlines() if line.strip()]
    by_repo: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_repo[r["repo_dir"]].append(r)
    methods = list(configs) + (["SentenceSplitter", "MarkdownNodeParser"] if llama else []) + ["ceiling (whole file)"]
    variants = ("raw", "rendered")
    scores = {v: {m: {} for m in methods} for v in variants}  # variant -> method -> repo -> per-row scores
    best_size = {v: {m: [] for m in methods} for v in variants}  # variant -> method -> per-row best unit chars
    sizes: dict[str, list[int]] = defaultdict(list)  # unit kind -> chars
    for repo, rs in sorted(by_repo.items()):
        files = read_docs(shared / "repos" / repo)
        oracle_text = [r["oracle"].replace("\\n", "\n") for r in rs]
        oracles = {
            "raw": [grams(words(t)) for t in oracle_text],
            "rendered": [grams(words(render(t))) for t in oracle_text],
        }
        units: dict[str, list[str]] = {}
        for name, cfg in configs.items():
            parts = mlrag_units(files, counter, cfg)
            units[name] = parts["context"]
            for kind in ("level 1", "level 2", "no parent", "search"):
                if kind != "level 2" or cfg.section_max_tokens:
                    sizes[f"{name}: {kind}"] += [len(t) for t in parts[kind]]
        if llama:
            units["SentenceSplitter"] = llama_units(files, "sentence")
            units["MarkdownNodeParser"] = llama_units(files, "markdown")
        units["ceiling (whole file)"] = [t for _, t in files if t.strip()]
        for m in methods:
            if not m.startswith("mlrag"):
                sizes[m] += [len(t) for t in units[m]]
            for v in variants:
                sc, bs = containment(oracles[v], units[m], rendered=v == "rendered")
                scores[v][m][repo] = sc
                best_size[v][m] += bs
    head = " | ".join(f"{m} ({v})" for v in variants for m in methods)
    lines = [f"| repository | rows | {head} |", "|---|---:|" + "---:|" * len(variants) * len(methods)]
    for repo in sorted(by_repo):
        vals = " | ".join(f"{_mean(scores[v][m][repo]):.3f}" for v in variants for m in methods)
        lines.append(f"| {repo} | {len(by_repo[repo])} | {vals} |")
    overall = {f"{m} ({v})": _mean(x for xs in scores[v][m].values() for x in xs) for v in variants for m in methods}
    lines.append(
        f"| **overall (mean over rows)** | {len(rows)} | " + " | ".join(f"**{x:.3f}**" for x in overall.values()) + " |"
    )
    lines.append(
        "| mean chars of the best unit per row | | "
        + " | ".join(f"{_mean(best_size[v][m]):.0f}" for v in variants for m in methods)
        + " |"
    )
    lines += ["", "| units | count | mean chars | median chars |", "|---|---:|---:|---:|"]
    for kind, s in sizes.items():
        lines.append(f"| {kind} | {len(s)} | {_mean(s):.0f} | {statistics.median(s) if s else 0:.0f} |")
    return lines, overall


def bench_speed(name: str, files: list[tuple[str, str]], configs: dict[str, ChunkingConfig]) -> list[str]:
    """Chunk ``files`` with each (token counter, config), twice per config in ABBA order; the faster run counts.

    Each run gets a fresh token counter, so the MiniLM word cache starts cold every time.
    """
    mb = sum(len(t.encode("utf-8")) for _, t in files) / 1e6
    out = []
    for label, make in (("MiniLM (cold cache)", TokenCounter.minilm), ("approximate", TokenCounter)):
        names = list(configs)
        runs: dict[str, list[tuple[float, float]]] = defaultdict(list)
        last: dict[str, ChunkSet] = {}
        for cname in names + names[::-1]:
            counter = make()
            t0, c0 = time.perf_counter(), time.process_time()
            last[cname] = chunk_files(files, configs[cname], counter)
            runs[cname].append((time.perf_counter() - t0, time.process_time() - c0))
        base_cpu = min(c for _, c in runs[names[0]])
        for cname in names:
            cs = last[cname]
            dt, cpu = min(w for w, _ in runs[cname]), min(c for _, c in runs[cname])
            pieces = [c for c in cs.units if c.kind == "card"]
            cards = len({c.meta["script"] for c in pieces})
            out.append(
                f"| {name} | {len(files)} | {mb:.1f} | {label} | {cname} | {dt:.1f} | {mb / dt:.2f} | {cpu:.1f} "
                f"| {mb / cpu:.2f} | {cpu / base_cpu:.2f} | {len(cs.units)} | {len(cs.contexts)} "
                f"| {cards} ({len(pieces)}) |"
            )
    return out


def level2_share(name: str, files: list[tuple[str, str]], config: ChunkingConfig) -> list[str]:
    """CPU time of the two ``assign_parents`` passes inside one chunking run, by timing a wrapper around it.

    Whole-run timings of two configs differ by a few percent at most and this container's noise is larger, so
    the level-2 cost is also measured inside one run: the second pass is the only work level 2 adds, besides
    building its context chunks.
    """
    from mlrag.chunking import base

    orig = base.assign_parents
    spent = {config.context_max_tokens: 0.0, config.section_max_tokens: 0.0}

    def timed(units, nodes, tok, limit):  # type: ignore[no-untyped-def]
        t = time.process_time()
        out = orig(units, nodes, tok, limit)
        spent[limit] += time.process_time() - t
        return out

    rows = []
    base.assign_parents = timed  # type: ignore[assignment]
    try:
        for label, make in (("MiniLM (cold cache)", TokenCounter.minilm), ("approximate", TokenCounter)):
            spent.update(dict.fromkeys(spent, 0.0))
            t0 = time.process_time()
            chunk_files(files, config, make())
            total = time.process_time() - t0
            l1, l2 = spent[config.context_max_tokens], spent[config.section_max_tokens]
            rows.append(f"| {name} | {label} | {total:.2f} | {l1:.2f} | {l2:.2f} | {100 * l2 / total:.1f}% |")
    finally:
        base.assign_parents = orig
    return rows


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
    ap.add_argument("--no-speed", action="store_true", help="skip the throughput runs")
    ap.add_argument("--out", type=Path, default=None, help="also write the tables to this markdown file")
    args = ap.parse_args(argv)
    mlbench = args.shared / "mlbench"
    if not (mlbench / "dev.jsonl").is_file():
        print(f"no ML-Bench data at {mlbench}; pass --shared", file=sys.stderr)
        return 1
    default = ChunkingConfig()
    single = dataclasses.replace(default, section_max_tokens=0)
    configs = {
        f"mlrag {default.context_max_tokens}/{default.section_max_tokens}": default,
        f"mlrag {single.context_max_tokens} single-level": single,
    }
    report = ["## Oracle containment (ML-Bench dev, 8-word sequences in the single best context unit)", ""]
    table, _ = bench_containment(mlbench, TokenCounter.minilm(), not args.no_llama, configs)
    report += table
    if not args.no_speed:
        report += ["", "## Throughput (one process; per config the faster of two runs in ABBA order)", ""]
        report += [
            "| corpus | files | MB | token counter | config | wall s | MB/s (wall) | CPU s | MB/s (CPU) "
            "| CPU vs single-level | units | contexts | cards (card units) |",
            "|---|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        docs = [
            (f"{repo.name}/{path}", text)
            for repo in sorted((mlbench / "repos").iterdir())
            if repo.is_dir()
            for path, text in read_docs(repo)
        ]
        speed_configs = {"single-level": single, "two levels": default}
        report += bench_speed("ML-Bench docs", docs, speed_configs)
        py = torch_files(args.py_mb)
        if py:
            report += bench_speed("torch .py sources", py, speed_configs)
        report += [
            "",
            "## Level-2 cost inside one run (CPU s; two-level default config)",
            "",
            "| corpus | token counter | chunking | level-1 pass | level-2 pass | level-2 share |",
            "|---|---|---:|---:|---:|---:|",
        ]
        report += level2_share("ML-Bench docs", docs, default)
        if py:
            report += level2_share("torch .py sources", py, default)
    text = "\n".join(report) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
