"""sentence-transformers models (hub name or local folder) as an mlrag ``Embedder``.

Design choices:
- The model's own modules run unchanged (``model.forward(features)``: transformer, pooling, normalise), so any
  sentence-transformers model works and vectors equal ``SentenceTransformer.encode``'s; what mlrag replaces is
  the feeding loop around it.
- Texts are sorted by length (longest first) and cut into batches, so padding is minimal; results are put back
  in input order. On the CPU, where padded positions cost as much compute as real ones, length is the token
  count and a batch holds at most 2,048 padded tokens: on the Grounded-SAM docs, character-length batches of
  64 padded 27% extra tokens, token-count batches under that budget 5%. On a GPU, character length and
  ``batch_size`` (host tokenisation is the bottleneck there, padding nearly free).
- Tokenisation runs in a background thread one to four batches ahead of the model (the Rust tokenizer and
  torch's kernels both release the GIL), so the model never waits on the host. On CUDA the batches are pinned
  and copied with ``non_blocking=True``; outputs stay on the GPU until the group ends (one device sync), and
  the model runs in fp16 when ``embedding.fp16``. On CPU, ``embedding.threads`` sets torch's intra-op threads.
  The loop's parts (``length_sorted_batches``, ``prefetched``, ``restore_order``) are shared with the ONNX
  Runtime backend (``onnx_backend.py``).
- The id is ``<name>@<8 hex>`` where the hex digest covers the model's config files and weight sizes, so a
  different checkpoint under the same name is a different embedder.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from ..config import EmbeddingConfig
from ..errors import BackendError, require
from .base import BaseEmbedder

log = logging.getLogger(__name__)

_PREFETCH = 4  # tokenised batches kept ready ahead of the model
_CPU_BATCH_TOKENS = 2048  # CPU: padded tokens per batch (8 full 256-token chunks); see ``_plan``
T = TypeVar("T")
U = TypeVar("U")


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when torch sees a GPU, else ``cpu``; other values pass through."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def model_fingerprint(folder: Path) -> str:
    """8 hex digits over a local model folder's small config files and its weight files' sizes."""
    h = hashlib.sha1()
    for p in sorted(folder.rglob("*")):
        if not p.is_file() or ".git" in p.parts:
            continue
        rel = p.relative_to(folder).as_posix()
        h.update(rel.encode())
        if p.suffix in (".json", ".txt") and p.stat().st_size < 2_000_000:
            h.update(p.read_bytes())
        else:
            h.update(str(p.stat().st_size).encode())
    return h.hexdigest()[:8]


class SentenceTransformerEmbedder(BaseEmbedder):
    """A sentence-transformers model with a length-sorted, prefetching batch loop.

    Example:
        >>> emb = SentenceTransformerEmbedder("/path/to/all-MiniLM-L6-v2", EmbeddingConfig())
        >>> emb.embed_batch(["train ARMA on Citeseer"]).shape
        (1, 384)
    """

    def __init__(self, model: str, config: EmbeddingConfig, *, name: str | None = None) -> None:
        st = require("sentence_transformers", "core", "sentence-transformers embeddings")
        import torch

        self.device = resolve_device(config.device)
        if self.device.startswith("cuda") and not torch.cuda.is_available():
            raise BackendError(f"embedding.device: {config.device!r} asked for CUDA but torch sees no GPU")
        if config.threads > 0 and self.device == "cpu":
            torch.set_num_threads(config.threads)
        try:
            self.model = st.SentenceTransformer(model, device=self.device)
        except (OSError, ValueError) as e:
            raise BackendError(f"embedding.model {model!r} could not be loaded: {e}") from None
        self.fp16 = bool(config.fp16 and self.device.startswith("cuda"))
        if self.fp16:
            self.model.half()
        self.model.eval()
        self.batch_size = config.batch_size
        self.max_tokens = int(self.model.max_seq_length or 512)
        get_dim = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        dim = get_dim()
        if not dim:
            raise BackendError(f"embedding.model {model!r} does not report an embedding dimension")
        self.dim = int(dim)
        folder = Path(model)
        base = name or (folder.name if folder.is_dir() else model)
        self.id = f"{base}@{model_fingerprint(folder) if folder.is_dir() else _hub_revision(model)}"
        self._counter = _plain_tokenizer(self.model.tokenizer)
        tj = folder / "tokenizer.json"
        self.tokenizer_json: Path | None = tj if tj.is_file() else None  # lets chunkers count in batches

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` without truncation or special tokens (for chunk sizing)."""
        if self._counter is not None:
            return len(self._counter.encode(text, add_special_tokens=False).ids)
        return len(self.model.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _encode(self, texts: list[str]) -> np.ndarray:
        import torch

        order, batches = self._plan(texts)
        pin = self.device.startswith("cuda")

        def features(batch: list[int]) -> dict[str, Any]:
            feats = self.model.preprocess([texts[i] for i in batch])
            if pin:
                feats = {k: v.pin_memory() if torch.is_tensor(v) else v for k, v in feats.items()}
            return feats

        outs: list[Any] = []
        with torch.inference_mode():
            for item in prefetched(features, batches):
                feats = {k: v.to(self.device, non_blocking=True) if torch.is_tensor(v) else v for k, v in item.items()}
                outs.append(self.model.forward(feats)["sentence_embedding"])
        return restore_order(torch.cat(outs).float().cpu().numpy(), order)

    def _plan(self, texts: list[str]) -> tuple[list[int], list[list[int]]]:
        """(order, batches) for ``texts``. On the CPU, padding is compute: texts are sorted by their token count
        (one extra Rust tokenizer pass, ~1% of the model's time) and a batch holds at most ``_CPU_BATCH_TOKENS``
        padded tokens. On a GPU, host tokenisation is the bottleneck and padding nearly free: character length."""
        if self.device == "cpu" and self._counter is not None:
            lengths = [min(len(e.ids), self.max_tokens) for e in self._counter.encode_batch(texts)]
            return length_sorted_batches(lengths, self.batch_size, max_padded=_CPU_BATCH_TOKENS)
        return length_sorted_batches([len(t) for t in texts], self.batch_size)


def length_sorted_batches(
    lengths: list[int], batch_size: int, *, max_padded: int = 0
) -> tuple[list[int], list[list[int]]]:
    """(order, batches): positions sorted longest first (ties in input order), cut into runs of at most
    ``batch_size`` and, when ``max_padded``, of at most ``max_padded`` padded length units (a longer single
    text still gets its own batch).

    Example:
        >>> length_sorted_batches([10, 10, 10, 2, 2, 2], 64, max_padded=20)
        ([0, 1, 2, 3, 4, 5], [[0, 1], [2, 3], [4, 5]])
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    cur: list[int] = []
    for i in order:
        if cur and (len(cur) == batch_size or 0 < max_padded < (len(cur) + 1) * lengths[cur[0]]):
            batches.append(cur)
            cur = []
        cur.append(i)
    if cur:
        batches.append(cur)
    return order, batches


def pad_ids(
    seqs: Sequence[Sequence[int]], width: int, out: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Token id sequences -> ``(input_ids, attention_mask)``, int64 ``(len(seqs), width)``, zero-padded on the
    right (sequences longer than ``width`` are cut). ``out``: two flat int64 buffers of at least
    ``len(seqs) * width`` elements (reused, pinned host memory on CUDA) that the results are contiguous views of.

    Example:
        >>> ids, mask = pad_ids([[101, 7, 102], [101, 102]], 4)
        >>> ids.tolist(), mask.tolist()
        ([[101, 7, 102, 0], [101, 102, 0, 0]], [[1, 1, 1, 0], [1, 1, 0, 0]])
    """
    n = len(seqs)
    lengths = np.fromiter((min(len(x), width) for x in seqs), dtype=np.int64, count=n)
    if out is not None:
        ids, mask = (buf[: n * width].reshape(n, width) for buf in out)
    else:
        ids, mask = np.empty((n, width), dtype=np.int64), np.empty((n, width), dtype=np.int64)
    real = np.arange(width)[None, :] < lengths[:, None]
    ids[:] = 0
    ids[real] = np.fromiter((t for x, m in zip(seqs, lengths) for t in x[:m]), dtype=np.int64, count=int(lengths.sum()))
    mask[:] = real
    return ids, mask


class HostFeed:
    """Texts (or the token ids of a tokenizer) -> length-bucketed, padded int64 batches for a BERT-style model.

    The host half of GPU embedding: one Rust ``encode_batch`` call per group (parallel inside ``tokenizers``),
    positions sorted by length and cut into batches of at most ``batch_tokens`` padded tokens (and ``batch_size``
    texts), each padded to its longest member rounded up to a multiple of 8 (tensor-core shapes, few distinct
    shapes), written into a small ring of reused buffers: pinned memory when CUDA is present, so the copy to
    the device can be ``non_blocking`` and overlap the next batch's padding. ``benchmarks/bench_gpu_feed.py``
    measures it with a null model.

    Example:
        >>> feed = HostFeed(tokenizer, max_tokens=256)  # doctest: +SKIP
        >>> for rows, ids, mask in feed.batches(texts): model(ids, mask)  # doctest: +SKIP
    """

    def __init__(
        self,
        tokenizer: Any,
        *,
        max_tokens: int = 256,
        batch_tokens: int = 16384,
        batch_size: int = 512,
        pin: bool = False,
        ring: int = 4,
    ) -> None:
        from tokenizers import Tokenizer

        tok = Tokenizer.from_str(tokenizer.to_str())
        tok.no_padding()
        tok.enable_truncation(max_tokens)
        self.tokenizer = tok
        self.max_tokens = max_tokens
        self.batch_tokens = max(batch_tokens, max_tokens)
        self.batch_size = batch_size
        self.pin = pin
        self._ring: list[tuple[np.ndarray, np.ndarray]] = []
        self._pinned: list[Any] = []
        self._ring_size = ring
        self._next = 0

    def ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids with special tokens, cut at ``max_tokens`` (the model's own truncation)."""
        return [e.ids for e in self.tokenizer.encode_batch(list(texts), add_special_tokens=True)]

    def _buffers(self) -> tuple[np.ndarray, np.ndarray]:
        """The next pair of flat ring buffers (ids, mask), each large enough for any batch."""
        size = max(self.batch_tokens, self.max_tokens + 8) + 8 * self.batch_size
        if len(self._ring) < self._ring_size:
            if self.pin:
                import torch

                tensors = [torch.zeros(size, dtype=torch.int64).pin_memory() for _ in range(2)]
                self._pinned.extend(tensors)  # the numpy views below do not own the pinned memory
                pair = (tensors[0].numpy(), tensors[1].numpy())
            else:
                pair = (np.zeros(size, dtype=np.int64), np.zeros(size, dtype=np.int64))
            self._ring.append(pair)
        pair = self._ring[self._next % len(self._ring)]
        self._next += 1
        return pair

    def batches(
        self, texts: Sequence[str] | None = None, *, ids: Sequence[Sequence[int]] | None = None
    ) -> Iterator[tuple[list[int], np.ndarray, np.ndarray]]:
        """``(positions, input_ids, attention_mask)`` per batch, longest first; ``ids`` skips tokenisation.

        A yielded buffer is reused ``ring`` batches later: copy it (to the device) before taking that many more.
        """
        seqs = ids if ids is not None else self.ids(texts or [])
        lengths = [min(len(x), self.max_tokens) for x in seqs]
        _, batches = length_sorted_batches(lengths, self.batch_size, max_padded=self.batch_tokens)
        for batch in batches:
            width = lengths[batch[0]]
            width += (-width) % 8
            if width * len(batch) > self.batch_tokens and len(batch) > 1:  # the rounding pushed it over
                width = lengths[batch[0]]
            ids_, mask = pad_ids([seqs[i] for i in batch], width, self._buffers())
            yield batch, ids_, mask


def restore_order(flat: np.ndarray, order: list[int]) -> np.ndarray:
    """Rows of ``flat`` (in ``order``) put back at their input positions."""
    result = np.empty_like(flat)
    result[np.asarray(order)] = flat
    return result


def prefetched(make: Callable[[T], U], items: list[T], depth: int = _PREFETCH) -> Iterator[U]:
    """``make(item)`` for each item, computed by a background thread up to ``depth`` items ahead.

    The tokenizers and the model runtimes release the GIL, so tokenising the next batches overlaps the model's
    compute. An exception in ``make`` is raised here; closing the generator early stops the thread.
    """
    q: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def put(value: object) -> bool:
        """Queue ``value`` unless the consumer has gone; False when it has."""
        while not stop.is_set():
            try:
                q.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(make(item)):
                    return
            put(done)
        except BaseException as e:  # surfaced in the consumer
            put(_Failure(e))

    worker = threading.Thread(target=produce, name="mlrag-tokenize", daemon=True)
    worker.start()
    try:
        while True:
            value = q.get()
            if value is done:
                return
            if isinstance(value, _Failure):
                raise value.error
            yield value
    finally:
        stop.set()
        worker.join()


class _Failure:
    """An exception raised in the producer thread, carried to the consumer."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


def _plain_tokenizer(tok: Any) -> Any:
    """A copy of the Rust tokenizer with truncation and padding off, or None when the model has none."""
    backend = getattr(tok, "backend_tokenizer", None)
    if backend is None:
        return None
    from tokenizers import Tokenizer

    plain = Tokenizer.from_str(backend.to_str())
    plain.no_truncation()
    plain.no_padding()
    return plain


def _hub_revision(name: str) -> str:
    """The cached snapshot's commit for a hub model (8 hex), or ``main`` when unknown."""
    try:
        from huggingface_hub import snapshot_download

        path = Path(snapshot_download(name, local_files_only=True))
        return path.name[:8] if len(path.name) >= 8 else model_fingerprint(path)
    except Exception:  # offline and not cached: the load above would already have failed
        return os.environ.get("MLRAG_MODEL_REVISION", "main")
