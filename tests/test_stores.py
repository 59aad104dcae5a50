"""Vector stores against the numpy brute-force reference: faiss (exact and HNSW), Chroma, llama-index."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from mlrag.config import StoreConfig
from mlrag.errors import ConfigError, IndexMismatchError
from mlrag.stores import NumpyStore, chunk_key, make_store

DIM = 16


def _data(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    vecs = rng.normal(size=(n, DIM)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    ids = rng.choice(2**60, size=n, replace=False).astype(np.int64)
    queries = rng.normal(size=(8, DIM)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)  # mlrag's contract: unit vectors everywhere
    return ids, vecs, queries


def _reference(ids: np.ndarray, vecs: np.ndarray) -> NumpyStore:
    ref = NumpyStore(DIM)
    ref.add(ids, vecs)
    return ref


def test_chunk_key_is_stable_and_positive() -> None:
    assert chunk_key("ffffffffffffffff") == 2**60 - 1
    assert chunk_key("0123456789abcdef") == int("0123456789abcde", 16)


def test_numpy_store_ties_pads_and_roundtrips(tmp_path: Path) -> None:
    s = NumpyStore(2)
    s.add([9, 3, 5], np.array([[1, 0], [1, 0], [0, 1]], np.float32))
    scores, ids = s.search(np.array([[1.0, 0.0]]), 5)
    assert ids[0].tolist() == [3, 9, 5, -1, -1]  # tie broken by smaller id, padded
    assert np.isneginf(scores[0, 3:]).all()
    s.save(tmp_path)
    t = NumpyStore.load(tmp_path)
    assert t.search(np.array([[1.0, 0.0]]), 2)[1].tolist() == [[3, 9]]


def test_faiss_exact_equals_brute_force_after_removal(tmp_path: Path) -> None:
    pytest.importorskip("faiss")
    ids, vecs, q = _data()
    store = make_store(StoreConfig(backend="faiss"), DIM)
    ref = _reference(ids, vecs)
    store.add(ids, vecs)
    store.remove(ids[:40])
    ref.remove(ids[:40])
    assert len(store) == len(ref) == 360
    s1, i1 = store.search(q, 10)
    s2, i2 = ref.search(q, 10)
    np.testing.assert_array_equal(i1, i2)
    np.testing.assert_allclose(s1, s2, atol=1e-5)
    store.save(tmp_path)
    loaded = make_store(StoreConfig(backend="faiss"), DIM, tmp_path, load=True)
    np.testing.assert_array_equal(loaded.search(q, 10)[1], i2)
    assert loaded.search(q[:1], 500)[1][0, 360:].tolist() == [-1] * 140


def test_faiss_switches_to_hnsw_above_threshold_and_still_removes() -> None:
    pytest.importorskip("faiss")
    ids, vecs, q = _data(n=600)
    store = make_store(StoreConfig(backend="faiss", approx_threshold=100), DIM)
    store.add(ids[:50], vecs[:50])
    assert not store.approximate  # type: ignore[attr-defined]
    store.add(ids[50:], vecs[50:])
    assert store.approximate  # type: ignore[attr-defined]
    store.remove(ids[:100])
    ref = _reference(ids[100:], vecs[100:])
    got, want = store.search(q, 10)[1], ref.search(q, 10)[1]
    recall = np.mean([len(set(g) & set(w)) / 10 for g, w in zip(got, want)])
    assert recall >= 0.9
    assert not set(got.ravel()) & set(ids[:100].tolist())


def test_corrupt_faiss_file_is_refused(tmp_path: Path) -> None:
    pytest.importorskip("faiss")
    (tmp_path / "faiss.index").write_bytes(b"not an index")
    with pytest.raises(IndexMismatchError):
        make_store(StoreConfig(backend="faiss"), DIM, tmp_path, load=True)


def test_unknown_backend_lists_valid_ones() -> None:
    cfg = StoreConfig()
    object.__setattr__(cfg, "backend", "nope")  # Config() itself would refuse it; the store factory too
    with pytest.raises(ConfigError, match="faiss"):
        make_store(cfg, DIM)


def _check_store_matches_reference(store, ids, vecs, q) -> None:  # type: ignore[no-untyped-def]
    store.add(ids, vecs)
    store.remove(ids[:10])
    ref = _reference(ids[10:], vecs[10:])
    assert len(store) == len(ids) - 10
    got, want = store.search(q, 5), ref.search(q, 5)
    assert (got[1][:, 0] == want[1][:, 0]).all()
    np.testing.assert_allclose(got[0][:, 0], want[0][:, 0], atol=1e-4)


def test_chroma_persistent_store(tmp_path: Path) -> None:
    pytest.importorskip("chromadb")
    from mlrag.stores.chroma_store import ChromaStore

    ids, vecs, q = _data(n=120)
    store = ChromaStore.local(tmp_path / "chroma", DIM)
    _check_store_matches_reference(store, ids, vecs, q)
    again = ChromaStore.local(tmp_path / "chroma", DIM)  # persisted
    assert len(again) == 110 and set(again.ids()) == set(ids[10:].tolist())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_chroma_http_store_against_a_real_server(tmp_path: Path) -> None:
    pytest.importorskip("chromadb")
    chroma = Path(sys.executable).parent / "chroma"
    if not chroma.exists():
        pytest.skip("the chroma command is not installed")
    from mlrag.errors import BackendError
    from mlrag.stores.chroma_store import ChromaStore

    port = _free_port()
    proc = subprocess.Popen(
        [str(chroma), "run", "--path", str(tmp_path / "srv"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 60
        store = None
        while time.time() < deadline:
            try:
                store = ChromaStore.from_config(
                    StoreConfig(backend="chroma", chroma_host="127.0.0.1", chroma_port=port), DIM, tmp_path / "idx"
                )
                break
            except BackendError:
                time.sleep(0.5)
        assert store is not None, "chroma server did not start"
        ids, vecs, q = _data(n=60)
        _check_store_matches_reference(store, ids, vecs, q)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_llamaindex_store_adapter(tmp_path: Path) -> None:
    pytest.importorskip("llama_index.core")
    from llama_index.core.vector_stores import SimpleVectorStore

    from mlrag.stores.llamaindex import LlamaIndexStore

    ids, vecs, q = _data(n=80)
    store = LlamaIndexStore(SimpleVectorStore(), DIM)
    _check_store_matches_reference(store, ids, vecs, q)
    store.save(tmp_path)
    assert (tmp_path / "llamaindex_store.json").is_file()
