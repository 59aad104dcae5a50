"""``transformers:<hub name | local dir>[#<file.gguf>]``: a causal LM through Hugging Face transformers.

Design choices:
    * A model is loaded once per process and reused: a module-level cache keyed by (target, gguf file, device).
    * GGUF files load through transformers' ``gguf_file`` (de-quantised to float32, needs ``gguf`` and
      ``accelerate``); the ``#file.gguf`` part of the spec or the ``gguf_file=`` option names the file, and a
      target that is itself a ``.gguf`` path is split into folder and file.
    * The tokenizer's chat template formats the messages; a tokenizer without one gets a plain
      ``role: content`` transcript ending in ``assistant:``.
    * Greedy when ``temperature == 0``, else sampling with ``torch.manual_seed(seed)``; CUDA when present
      (``device=auto``), float16 there.
    * ``complete_batch`` left-pads and generates the batch at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..config import GenerationConfig
from ..errors import BackendError, require
from .base import BaseGenerator, DecodeParams, Messages, Spec

log = logging.getLogger(__name__)
_LOADED: dict[tuple[str, str | None, str], tuple[Any, Any]] = {}
_LOCK = threading.Lock()


def _device(requested: str) -> str:
    torch = require("torch", "core", "the transformers backend")
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return requested


def load_model(target: str, gguf_file: str | None, device: str) -> tuple[Any, Any]:
    """The (tokenizer, model) for ``target``, loaded once per process."""
    key = (target, gguf_file, device)
    with _LOCK:
        if key in _LOADED:
            return _LOADED[key]
        transformers = require("transformers", "core", "the transformers backend")
        torch = require("torch", "core", "the transformers backend")
        kwargs: dict[str, Any] = {"gguf_file": gguf_file} if gguf_file else {}
        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(target, **kwargs)
            # float16 on CUDA; GGUF weights are de-quantised to float32 (CPU matmuls in float16 are slow)
            dtype = torch.float16 if device.startswith("cuda") and not gguf_file else torch.float32
            major_minor = tuple(int(x) for x in transformers.__version__.split(".")[:2])
            kwargs["dtype" if major_minor >= (4, 56) else "torch_dtype"] = dtype
            model = transformers.AutoModelForCausalLM.from_pretrained(target, **kwargs)
        except (OSError, ValueError) as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise BackendError(
                f"transformers cannot load {target!r}{' #' + gguf_file if gguf_file else ''}: {first}"
            ) from None
        model.to(device).eval()
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        tokenizer.padding_side = "left"
        _LOADED[key] = (tokenizer, model)
        return tokenizer, model


class TransformersGenerator(BaseGenerator):
    """A chat model run with ``model.generate``."""

    def __init__(self, target: str, gguf_file: str | None = None, device: str = "auto", threads: int = 0) -> None:
        if target.endswith(".gguf") and not gguf_file:
            target, gguf_file = str(Path(target).parent), Path(target).name
        self.target, self.gguf_file = target, gguf_file
        self.device = _device(device)
        if threads:
            require("torch", "core").set_num_threads(threads)
        self.tokenizer, self.model = load_model(target, gguf_file, self.device)
        self.id = f"transformers:{target}" + (f"#{gguf_file}" if gguf_file else "")

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def format(self, messages: Messages) -> str:
        """The prompt text for ``messages`` (chat template, or a plain transcript without one)."""
        if getattr(self.tokenizer, "chat_template", None):
            return str(self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))
        lines = [f"{m['role']}: {m['content']}" for m in messages]
        return "\n".join(lines) + "\nassistant:"

    def complete(self, messages: Messages, params: DecodeParams) -> str:
        return self.complete_batch([messages], params)[0]

    def complete_batch(self, batch: Sequence[Messages], params: DecodeParams) -> list[str]:
        torch = require("torch", "core")
        texts = [self.format(list(m)) for m in batch]
        has_template = bool(getattr(self.tokenizer, "chat_template", None))
        enc = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=not has_template)
        enc = {k: v.to(self.device) for k, v in enc.items()}
        gen_kwargs: dict[str, Any] = {
            "max_new_tokens": params.max_new_tokens,
            "pad_token_id": self.tokenizer.pad_token_id,
        }
        if params.greedy:
            gen_kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        else:
            torch.manual_seed(params.seed)
            gen_kwargs.update(do_sample=True, temperature=params.temperature, top_p=params.top_p)
        if params.stop:
            gen_kwargs.update(stop_strings=list(params.stop), tokenizer=self.tokenizer)
        with torch.no_grad():
            out = self.model.generate(**enc, **gen_kwargs)
        new = out[:, enc["input_ids"].shape[1] :]
        return [self.tokenizer.decode(row, skip_special_tokens=True) for row in new]


def make_transformers(spec: Spec, config: GenerationConfig) -> TransformersGenerator:
    if not spec.target:
        raise BackendError(
            "transformers: give a hub name or a local folder, e.g. transformers:HuggingFaceTB/SmolLM2-135M-Instruct"
        )
    return TransformersGenerator(
        spec.target,
        spec.file or spec.option("gguf_file"),
        device=spec.option("device") or config.device,
        threads=int(spec.option("threads") or config.threads),
    )
