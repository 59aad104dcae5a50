"""Synthetic stand-ins for the citation graphs (the real ones are downloaded by users)."""

import numpy as np

SIZES = {"cora": (2708, 1433, 7), "citeseer": (3327, 3703, 6), "pubmed": (19717, 500, 3)}


def load_citation(name, seed=0, scale=0.05):
    """Return (features, labels, adjacency) shaped like the named dataset, scaled down by ``scale``."""
    nodes, feats, classes = SIZES[name]
    n = max(50, int(nodes * scale))
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, size=n)
    centers = rng.normal(size=(classes, 16))
    x = centers[labels] + rng.normal(scale=1.0, size=(n, 16))
    adj = (rng.random((n, n)) < 5.0 / n).astype(float)
    adj = np.maximum(adj, adj.T)
    return x, labels, adj
