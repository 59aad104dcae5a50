"""ONNX Runtime backends for sentence-transformers models: ``embedding.backend = onnx | onnx-int8``.

Design choices:
- Not sentence-transformers' own ``backend="onnx"``: sentence-transformers 6 needs transformers >= 5, and its
  ONNX loader needs ``optimum-onnx``, whose only release pins transformers < 4.58, so the two cannot be
  installed together. mlrag exports the model itself with ``torch.onnx.export`` (the TorchScript exporter,
  ``dynamo=False``, which needs only the ``onnx`` package) and runs it with ``onnxruntime``; the ``onnx``
  extra installs both.
- The whole sentence-transformers forward is exported (transformer, pooling, normalisation), with batch and
  sequence length dynamic, so pooling and normalisation are the model's own, as on the torch path. Attention is
  traced in its eager form and, for BERT-like models, fused by ONNX Runtime's transformer optimizer (Attention,
  SkipLayerNorm, BiasGelu): unfused, the exported graph ran ~1.2x slower than torch's SDPA on one core; fused,
  it runs about as fast as torch. Tokenisation stays ``SentenceTransformer.preprocess`` (same ids, same
  truncation), fed by the same length-sorted, prefetching loop as the torch backend (``onnxruntime`` releases
  the GIL while it runs).
- An export is checked before it is kept: on probe texts of other lengths and batch sizes than the traced
  ones, the ONNX vectors must match torch's (cosine > 0.9999; a trace that froze a shape fails here).
- Exported files live in a user cache (``$MLRAG_CACHE_DIR`` or ``$XDG_CACHE_HOME/mlrag`` or
  ``~/.cache/mlrag``, then ``onnx/<model id>/``), because the model folder (e.g. the packaged MiniLM inside
  site-packages) may be read-only. Files are written under a temporary name and renamed into place, so a
  reader never sees half a file and two processes exporting at once both end with a whole one. The folder is
  keyed by the model id, which covers the checkpoint's files, so another checkpoint exports anew.
- ``onnx-int8`` quantizes the weights of every MatMul with a constant operand (the projections; the fused
  attention core stays fp32) to int8: dynamic quantization (activations quantized per batch at run time, no
  calibration data), per output channel and with 7-bit weights (``reduce_range``; CPUs without VNNI saturate
  int16 sums of u8*s8 products otherwise). On MiniLM over the Grounded-SAM docs its vectors keep cosine >= 0.978
  to torch's (mean 0.992) and it embeds ~1.4x faster than torch on one AVX2 core (benchmarks/results/embedding.md).
- Ids: fp32 ONNX reproduces torch's vectors to ~1e-7 (cosine 1.0000 in the tests), no further apart than
  torch's own results for different batch compositions, so ``onnx`` keeps the torch id: caches and indexes
  built by either are shared. ``onnx-int8`` vectors differ, so its id is ``<torch id>+onnx-int8`` and an index
  built with it is refused by the other backends (and the other way round).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ..config import EmbeddingConfig
from ..errors import BackendError, require
from .sentence_transformers_backend import SentenceTransformerEmbedder, prefetched, restore_order

log = logging.getLogger(__name__)

OPSET = 17
_TRACE_TEXTS = ["a short text", "a longer text to trace the padded positions of a batch " * 3]
_PROBE_TEXTS = [
    "python train.py --dataset cora --epochs 200",
    "## Installation\n\nRun `pip install -e .` and then the demo script on one image. " * 12,
    "x",
]
_MIN_EXPORT_COSINE = 0.9999
_FUSABLE = ("bert", "roberta", "xlm-roberta")  # model types whose attention ONNX Runtime fuses


def cache_root() -> Path:
    """mlrag's user cache folder: ``$MLRAG_CACHE_DIR``, else ``$XDG_CACHE_HOME/mlrag``, else ``~/.cache/mlrag``."""
    if os.environ.get("MLRAG_CACHE_DIR"):
        return Path(os.environ["MLRAG_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "mlrag"


def onnx_dir(model_id: str) -> Path:
    """The cache folder of one model's ONNX files, named after its id (``/`` -> ``--``)."""
    return cache_root() / "onnx" / re.sub(r"[^A-Za-z0-9._@+-]", "-", model_id.replace("/", "--"))


class OnnxEmbedder(SentenceTransformerEmbedder):
    """A sentence-transformers model run by ONNX Runtime: fp32 (``embedding.backend=onnx``) or int8 weights
    (``onnx-int8``), on the CPU unless ``embedding.device`` asks for CUDA (which needs onnxruntime-gpu).

    Example:
        >>> emb = OnnxEmbedder("/path/to/all-MiniLM-L6-v2", EmbeddingConfig(backend="onnx-int8"))
        >>> emb.embed_batch(["train ARMA on Citeseer"]).shape
        (1, 384)
    """

    def __init__(self, model: str, config: EmbeddingConfig, *, name: str | None = None) -> None:
        ort = require("onnxruntime", "onnx", f"embedding.backend={config.backend}")
        providers = _providers(config.device, ort.get_available_providers())
        # torch (on the CPU) only tokenises, and exports the model on first use
        super().__init__(model, replace(config, device="cpu", fp16=False), name=name)
        self.quantized = config.backend == "onnx-int8"
        folder = onnx_dir(self.id)
        path = folder / ("model_int8.onnx" if self.quantized else "model.onnx")
        if not path.is_file():
            ensure_exported(self.model, folder, quantized=self.quantized)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(0, config.threads)
        opts.inter_op_num_threads = 1
        opts.enable_mem_pattern = False  # shapes change every batch: per-shape memory plans only grow the heap
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=providers)
        except Exception as e:  # onnxruntime's own exception types live in a private module
            raise BackendError(f"cannot load {path} ({e}); delete {folder} to export the model again") from None
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.onnx_path = path
        if self.quantized:
            self.id = f"{self.id}+onnx-int8"

    def _encode(self, texts: list[str]) -> np.ndarray:
        order, batches = self._plan(texts)

        def feed(batch: list[int]) -> dict[str, np.ndarray]:
            feats = self.model.preprocess([texts[i] for i in batch])
            return {k: feats[k].numpy() for k in self.inputs}

        outs = [self.session.run(None, f)[0] for f in prefetched(feed, batches)]
        return restore_order(np.concatenate(outs).astype(np.float32, copy=False), order)


def _providers(device: str, available: list[str]) -> list[str]:
    """ONNX Runtime providers for ``embedding.device``: the CPU unless CUDA is asked for (and present)."""
    if device.startswith("cuda"):
        if "CUDAExecutionProvider" not in available:
            raise BackendError(
                f"embedding.device={device!r} with an ONNX backend needs onnxruntime-gpu (providers here: "
                f"{', '.join(available)}); use embedding.device=cpu"
            )
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


def ensure_exported(model: Any, folder: Path, *, quantized: bool) -> Path:
    """Export ``model`` (a ``SentenceTransformer`` on the CPU) to ``folder/model.onnx`` if absent, checked against
    torch, and with ``quantized`` also ``folder/model_int8.onnx``; returns the file asked for."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BackendError(f"cannot create the ONNX cache folder {folder} ({e}); set MLRAG_CACHE_DIR") from None
    fp32 = folder / "model.onnx"
    if not fp32.is_file():
        export_onnx(model, fp32)
    if not quantized:
        return fp32
    int8 = folder / "model_int8.onnx"
    if not int8.is_file():
        quantize_int8(fp32, int8, model=model)
    return int8


def export_onnx(model: Any, dest: Path) -> None:
    """Trace ``model``'s forward to ONNX at ``dest`` (atomically), fuse BERT-like attention, and keep it only
    if it reproduces torch's vectors."""
    require("onnx", "onnx", "exporting an embedding model to ONNX")
    import torch

    feats = model.preprocess(_TRACE_TEXTS)
    names = [k for k, v in feats.items() if torch.is_tensor(v)]
    extra = {k: v for k, v in feats.items() if not torch.is_tensor(v)}  # e.g. sentence-transformers' "modality"
    wrapper = _forward_module(model, names, extra)
    tmp = _tmp_name(dest)
    log.info("exporting %s to ONNX at %s (once per model)", type(model).__name__, dest)
    try:
        with torch.no_grad(), warnings.catch_warnings(), _eager_attention(model):
            warnings.simplefilter("ignore")  # tracer warnings about Python control flow; the probe below checks
            torch.onnx.export(
                wrapper,
                tuple(feats[k] for k in names),
                str(tmp),
                dynamo=False,
                input_names=names,
                output_names=["sentence_embedding"],
                dynamic_axes={**{k: {0: "batch", 1: "sequence"} for k in names}, "sentence_embedding": {0: "batch"}},
                opset_version=OPSET,
            )
        fused = _fuse_attention(model, tmp)
        cos = _probe_cosine(model, tmp)
        if cos < _MIN_EXPORT_COSINE:
            raise BackendError(
                f"the ONNX export of the embedding model does not reproduce its torch vectors (min cosine {cos:.5f}); "
                "use embedding.backend=torch"
            )
        meta = {"opset": OPSET, "torch": torch.__version__, "fused": fused, "probe_min_cosine": round(cos, 7)}
        _write_atomic(dest.with_suffix(".json"), json.dumps({**meta, "inputs": names}, indent=1).encode())
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def _eager_attention(model: Any) -> Iterator[None]:
    """Trace attention as plain MatMul/Softmax (the pattern ONNX Runtime's fusion recognises), then restore."""
    inner = getattr(model[0], "auto_model", None) if len(model) else None
    before = getattr(getattr(inner, "config", None), "_attn_implementation", None)
    switch = getattr(inner, "set_attn_implementation", None)
    if switch is None or before in (None, "eager"):
        yield
        return
    switch("eager")
    try:
        yield
    finally:
        switch(before)


def _fuse_attention(model: Any, path: Path) -> dict[str, int]:
    """Fuse attention, GELU and layer norms of a BERT-like graph in place (ONNX Runtime's transformer optimizer,
    which needs the head count); other architectures are left as exported. Returns the fused operator counts."""
    inner = getattr(model[0], "auto_model", None) if len(model) else None
    cfg: Any = getattr(inner, "config", None)
    if cfg is None or getattr(cfg, "model_type", None) not in _FUSABLE:
        return {}
    from onnxruntime.transformers.optimizer import optimize_model

    opt = optimize_model(
        str(path), model_type="bert", num_heads=cfg.num_attention_heads, hidden_size=cfg.hidden_size, opt_level=1
    )
    opt.save_model_to_file(str(path))
    return {k: v for k, v in opt.get_fused_operator_statistics().items() if v}


def quantize_int8(src: Path, dest: Path, *, model: Any) -> None:
    """Dynamic int8 quantization of ``src``'s constant MatMul weights (per channel, 7-bit range) to ``dest``;
    ``model`` (the torch original) gives the probe cosine recorded beside it (refused below 0.95: broken)."""
    onnx = require("onnx", "onnx", "quantizing an embedding model")
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = _tmp_name(dest)
    try:
        quantize_dynamic(
            str(src),
            str(tmp),
            weight_type=QuantType.QInt8,
            per_channel=True,
            reduce_range=True,
            op_types_to_quantize=["MatMul"],  # weights of the projections; fused Attention stays fp32
            extra_options={"MatMulConstBOnly": True, "DefaultTensorType": onnx.TensorProto.FLOAT},
        )
        cos = _probe_cosine(model, tmp)
        if cos < 0.95:
            raise BackendError(
                f"the int8 ONNX model is too far from the torch one (min cosine {cos:.3f}); use embedding.backend=onnx"
            )
        meta = {"from": src.name, "weights": "int8 per channel, reduce_range", "probe_min_cosine": round(cos, 5)}
        _write_atomic(dest.with_suffix(".json"), json.dumps(meta, indent=1).encode())
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _forward_module(model: Any, names: list[str], extra: dict[str, Any]) -> Any:
    """``model.forward`` over positional tensors named ``names``, as a module ``torch.onnx.export`` can trace."""
    import torch

    class Forward(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors: Any) -> Any:
            return self.model.forward({**dict(zip(names, tensors)), **extra})["sentence_embedding"]

    return Forward().eval()


def _probe_cosine(model: Any, path: Path) -> float:
    """Smallest cosine between the ONNX file's and torch's vectors for the probe texts (in one batch)."""
    import onnxruntime as ort
    import torch

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feats = model.preprocess(_PROBE_TEXTS)
    got = session.run(None, {i.name: feats[i.name].numpy() for i in session.get_inputs()})[0]
    with torch.inference_mode():
        ref = model.forward(dict(feats))["sentence_embedding"].float().numpy()
    got = got / np.linalg.norm(got, axis=1, keepdims=True)
    ref = ref / np.linalg.norm(ref, axis=1, keepdims=True)
    return float((got * ref).sum(axis=1).min())


def _tmp_name(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}.tmp-{os.getpid()}")


def _write_atomic(dest: Path, data: bytes) -> None:
    tmp = _tmp_name(dest)
    tmp.write_bytes(data)
    os.replace(tmp, dest)
