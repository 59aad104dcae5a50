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
    * ``call_tool`` (structured answers) decodes under a grammar built from ``tools_schema(tools)`` by
      llguidance, applied as a logits processor in ``model.generate``: at each step every token that would
      leave the schema gets ``-inf``, so the reply can only be ``{"tool": <one of the names>, "arguments":
      {...}}`` with enum values from their enums and no unknown keys (objects are closed:
      ``additionalProperties: false`` where the schema leaves it open), written without whitespace (fewer
      tokens, no whitespace loops). llguidance is optional: without it the schema is described in the prompt
      and the first JSON object of a free reply is parsed (``via="free"``), with a logged note. An answer cut
      by ``max_new_tokens`` before the JSON closes keeps only its tool name (``parse_call``'s fallback).
    * Why llguidance (among outlines, xgrammar, lm-format-enforcer): one abi3 wheel with no dependencies (it
      neither pins nor pulls torch: xgrammar 0.2 pulls triton, outlines 1.x pulls outlines-core and genson and
      changes API between majors, lm-format-enforcer walks the vocabulary in Python at each step); its JSON
      schema compiler covers ``anyOf``/``enum``/``additionalProperties``; the Rust matcher computes a
      49k-token mask in well under a millisecond; it is the grammar engine of llama.cpp, vLLM and SGLang, kept
      by the guidance-ai team. Its ``llguidance.torch`` helper is skipped on purpose (``torch.compile`` needs a
      C compiler on CPU): the mask is applied with numpy.
    * A ``RuntimeError`` inside ``model.generate`` (out of memory, a bad device) is a ``BackendError`` that
      names the model.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..config import GenerationConfig
from ..errors import BackendError, MissingDependencyError, require
from .base import BaseGenerator, DecodeParams, Messages, Spec
from .structured import Tool, ToolCall, describe, parse_call, tools_schema

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
        self._lltok: Any = None

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
        return self._generate([self.format(list(m)) for m in batch], params)

    def call_tool(self, messages: Messages, tools: Sequence[Tool], params: DecodeParams) -> ToolCall | None:
        """One call of one of ``tools``, decoded under the grammar of ``tools_schema(tools)`` (see the module
        docstring); without llguidance, free JSON parsed from the reply. Not validated here:
        ``structured.call_tool`` validates whatever a backend returns.

        Example:
            >>> tools = [Tool("train_py", "train", {"type": "object", "properties": {"model": {"enum": ["gcn"]}}})]
            >>> gen.call_tool([{"role": "user", "content": "train gcn"}], tools, DecodeParams())  # doctest: +SKIP
            ToolCall(name='train_py', arguments={'model': 'gcn'}, via='grammar')
        """
        if not tools:
            return None
        try:
            llguidance = require("llguidance", "all", "constrained decoding in the transformers backend")
        except MissingDependencyError as e:
            log.info("%s; answering with free JSON parsed from the reply (not constrained)", e)
            prompt = list(messages)
            prompt[-1] = {
                "role": prompt[-1]["role"],
                "content": f"{prompt[-1]['content']}\n\nTools:\n{describe(tools)}\n\nAnswer with one JSON object: "
                '{"tool": <name>, "arguments": {<argument>: <value>}}.',
            }
            return parse_call(self.complete(prompt, params), tools, "free")
        grammar = llguidance.LLMatcher.grammar_from_json_schema(
            closed(tools_schema(tools)), overrides={"whitespace_flexible": False}
        )
        matcher = llguidance.LLMatcher(self._ll_tokenizer(llguidance), grammar, log_level=0)
        if matcher.is_error():
            raise BackendError(f"llguidance cannot compile the tools' schema: {matcher.get_error()}")
        eos = int(self.tokenizer.eos_token_id)
        mask = GrammarMask(matcher, eos)
        no_stop = dataclasses.replace(params, stop=())  # a stop string could cut the JSON
        logits = require("transformers", "core").LogitsProcessorList([mask])
        text = self._generate([self.format(list(messages))], no_stop, logits_processor=logits, eos_token_id=eos)[0]
        if not matcher.is_accepting():
            log.info("the constrained answer stopped before its JSON closed (max_new_tokens=%d)", params.max_new_tokens)
        return parse_call(text, tools, "grammar")

    def _ll_tokenizer(self, llguidance: Any) -> Any:
        """llguidance's view of the tokenizer (built once per generator: ~0.3 s for a 49k vocabulary)."""
        if self._lltok is None:
            hf = require("llguidance.hf", "all", "constrained decoding in the transformers backend")
            self._lltok = hf.from_tokenizer(self.tokenizer, n_vocab=self._vocab_size())
        return self._lltok

    def _vocab_size(self) -> int:
        """The width of the model's logits (may exceed the tokenizer's vocabulary)."""
        out = self.model.get_output_embeddings()
        return int(out.weight.shape[0]) if out is not None else len(self.tokenizer)

    def _generate(self, texts: list[str], params: DecodeParams, **extra: Any) -> list[str]:
        torch = require("torch", "core")
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
        gen_kwargs.update(extra)
        try:
            with torch.no_grad():
                out = self.model.generate(**enc, **gen_kwargs)
        except RuntimeError as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise BackendError(f"{self.id} failed while generating on {self.device}: {first}") from None
        new = out[:, enc["input_ids"].shape[1] :]
        return [self.tokenizer.decode(row, skip_special_tokens=True) for row in new]


def closed(schema: Any) -> Any:
    """``schema`` with ``additionalProperties: false`` on every object schema that leaves it unset (JSON
    schema's default would let the grammar write keys no tool has)."""
    if isinstance(schema, list):
        return [closed(s) for s in schema]
    if not isinstance(schema, Mapping):
        return schema
    out = {k: closed(v) for k, v in copy.deepcopy(dict(schema)).items()}
    if (out.get("type") == "object" or "properties" in out) and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


class GrammarMask:
    """A ``model.generate`` logits processor: ``-inf`` for every token ``matcher`` (an ``llguidance.LLMatcher``)
    does not allow next; only ``eos`` once the grammar is complete (or broken). One sequence (batch of 1).

    Data shapes: ``input_ids`` [1, prompt + generated so far], ``scores`` [1, vocabulary]; the matcher's mask is
    one bit per token, little-endian within each byte.
    """

    def __init__(self, matcher: Any, eos: int) -> None:
        self.matcher, self.eos = matcher, eos
        self.prompt_len: int | None = None

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import numpy as np

        torch = require("torch", "core")
        if self.prompt_len is None:
            self.prompt_len = int(input_ids.shape[1])
        elif input_ids.shape[1] > self.prompt_len and not self.matcher.consume_token(int(input_ids[0, -1])):
            log.warning("constrained decoding: the grammar rejected a token (%s)", self.matcher.get_error())
        vocab = int(scores.shape[-1])
        if self.matcher.is_error():
            allowed = np.zeros(vocab, dtype=bool)
        else:
            bits = np.unpackbits(np.frombuffer(self.matcher.compute_bitmask(), dtype=np.uint8), bitorder="little")
            allowed = np.zeros(vocab, dtype=bool)
            n = min(vocab, bits.shape[0])
            allowed[:n] = bits[:n].astype(bool)
        if not allowed.any():
            allowed[self.eos] = True
        blocked = torch.from_numpy(~allowed).to(scores.device)
        return scores.masked_fill(blocked.unsqueeze(0), float("-inf"))


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
