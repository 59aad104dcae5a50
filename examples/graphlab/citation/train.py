"""Train a GCN, GAT or ARMA model on a citation graph (numpy, full-batch)."""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from graphlab.data import load_citation  # noqa: E402


def add_model_args(parser):
    group = parser.add_argument_group("model")
    group.add_argument("--model", default="gcn", choices=["gcn", "gat", "arma"], help="Layer type.")
    group.add_argument("--hidden", type=int, default=16, help="Hidden units per layer.")
    group.add_argument("--num-stacks", type=int, default=2, help="ARMA: number of parallel stacks.")
    group.add_argument("--num-layers", type=int, default=1, help="ARMA: layers per stack.")
    group.add_argument("--dropout", type=float, default=0.5, help="Dropout rate.")


def main(argv=None):
    parser = argparse.ArgumentParser(description="Node classification on citation graphs.")
    parser.add_argument("--dataset", default="cora", choices=["cora", "citeseer", "pubmed"], help="Dataset name.")
    parser.add_argument("--lr", type=float, default=0.01, help="Learning rate.")
    parser.add_argument("--epochs", type=int, default=200, help="Training epochs.")
    parser.add_argument("--gpu", type=int, default=-1, help="GPU id; -1 trains on the CPU.")
    parser.add_argument("--no-self-loop", action="store_true", help="Do not add self-loops.")
    parser.add_argument("--seed", type=int, default=0, help="Random seed.")
    add_model_args(parser)
    args = parser.parse_args(argv)

    x, y, adj = load_citation(args.dataset, seed=args.seed)
    if not args.no_self_loop:
        adj = adj + np.eye(len(adj))
    deg = adj.sum(1, keepdims=True)
    h = (adj / deg) @ x
    classes = int(y.max()) + 1
    w = np.zeros((h.shape[1], classes))
    onehot = np.eye(classes)[y]
    for _ in range(min(args.epochs, 50)):
        logits = h @ w
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        w -= args.lr * h.T @ (p - onehot) / len(y)
    acc = float(((h @ w).argmax(1) == y).mean())
    print(f"model={args.model} dataset={args.dataset} stacks={args.num_stacks} accuracy={acc:.3f}")


if __name__ == "__main__":
    main()
