"""Prompts, context packing, the echo backend, repair, the output cache, the registry and execution."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlrag.config import GenerationConfig
from mlrag.errors import BackendError, ConfigError
from mlrag.generation import (
    DecodeParams,
    GenerationRequest,
    draft_query,
    get_generator,
    parse_spec,
    run_generation,
    run_generation_batch,
)
from mlrag.generation.cache import CachedGenerator, OutputCache, cache_key
from mlrag.generation.prompts import (
    approx_tokens,
    build_messages,
    guess_output_type,
    load_template,
    merge_hits,
    pack_context,
    render,
)
from mlrag.types import Chunk, Hit
from test_generation_grounding import CARDS

README = "".join(f"line {i}\n" for i in range(1, 41))


def hit(start: int, end: int, path: str = "README.md", score: float = 1.0) -> Hit:
    lines = README.splitlines(keepends=True)[start - 1 : end]
    chunk = Chunk.make("".join(lines), path, start, end, "markdown")
    return Hit("".join(lines), path, start, end, score, chunk)


def text_hit(text: str, path: str = "citation/README.md") -> Hit:
    n = text.count("\n") or 1
    return Hit(text, path, 1, n, 1.0, Chunk.make(text, path, 1, n, "markdown"))


@pytest.fixture
def files(example_repo: Path) -> set[str]:
    return {p.relative_to(example_repo).as_posix() for p in example_repo.rglob("*") if p.is_file()}


def cfg(**kw: object) -> GenerationConfig:
    return GenerationConfig(**{"llm": "echo", "cache": False, **kw})  # type: ignore[arg-type]


# --- prompts ---------------------------------------------------------------------------------------------------


def test_merge_overlapping_hits_equals_the_file_slice() -> None:
    parts = merge_hits([hit(10, 15), hit(1, 3), hit(14, 20), hit(21, 22), hit(30, 31), hit(5, 5, "other.md")])
    assert [(p.path, p.start_line, p.end_line) for p in parts] == [
        ("README.md", 10, 22),
        ("README.md", 1, 3),
        ("README.md", 30, 31),
        ("other.md", 5, 5),
    ]
    lines = README.splitlines(keepends=True)
    for p in parts[:3]:
        assert p.text == "".join(lines[p.start_line - 1 : p.end_line])


@given(st.lists(st.tuples(st.integers(1, 40), st.integers(0, 6)), min_size=1, max_size=8))
@settings(max_examples=60, deadline=None)
def test_merge_hits_property(spans: list[tuple[int, int]]) -> None:
    """Merged parts are exact file slices, cover exactly the hits' lines, and no two of them touch."""
    hits = [hit(s, min(40, s + n)) for s, n in spans]
    parts = merge_hits(hits)
    lines = README.splitlines(keepends=True)
    covered = {n for p in parts for n in range(p.start_line, p.end_line + 1)}
    assert covered == {n for h in hits for n in range(h.start_line, h.end_line + 1)}
    for p in parts:
        assert p.text == "".join(lines[p.start_line - 1 : p.end_line])
    for a in parts:
        for b in parts:
            assert a is b or b.start_line > a.end_line + 1 or a.start_line > b.end_line + 1
    assert parts[0].start_line <= hits[0].start_line <= parts[0].end_line  # the best hit's part comes first


def test_pack_context_respects_the_budget_and_headers() -> None:
    hits = [hit(1, 10), hit(20, 40)]
    full, parts = pack_context(hits, 0)
    assert "### README.md:1-10\n" in full and "### README.md:20-40\n" in full
    for budget in (20, 40, 60, 1000):
        text, parts = pack_context(hits, budget)
        assert approx_tokens(text) <= budget
        for p in parts:
            assert f"### {p.path}:{p.start_line}-{p.end_line}" in text
    text, parts = pack_context(hits, 40)
    assert parts[-1].end_line < 40  # the second hit was cut at a line boundary


def test_templates_render_to_messages() -> None:
    for name in ("mlrag", "mlbench"):
        msgs = build_messages(load_template(name), "train gcn", [hit(1, 2)], "bash", workdir="citation")
        assert msgs[-1]["role"] == "user"
        assert "train gcn" in msgs[-1]["content"] and "### README.md:1-2" in msgs[-1]["content"]
        assert "```bash" in msgs[-1]["content"]
    with pytest.raises(ConfigError, match="mlbench"):
        load_template("nope")
    with pytest.raises(ConfigError, match="placeholder"):
        render("$unknown", task="x")


def test_guess_output_type() -> None:
    bash = text_hit("Run:\n```bash\npython train.py --dataset cora\n```\n")
    py = text_hit("```python\nfrom model.attention.MUSEAttention import MUSEAttention\nimport torch\n```\n")
    assert guess_output_type("train gcn on cora", [bash]) == "bash"
    assert guess_output_type("implement MUSE attention with the fighting-cv module", [py]) == "python"
    assert guess_output_type("train gcn on cora") == "bash"


# --- echo, repair, batches ---------------------------------------------------------------------------------------


def test_echo_end_to_end_is_grounded(files: set[str]) -> None:
    hits = [text_hit("Train ARMA:\n```bash\npython train.py --dataset citeseer --model arma --num-stacks 3\n```\n")]
    gen = run_generation(
        "train arma on citeseer",
        hits,
        get_generator("echo", cfg()),
        cfg(),
        cards=CARDS,
        files=files,
        workdir="citation",
    )
    assert gen.code == "python train.py --dataset citeseer --model arma --num-stacks 3"
    assert gen.grounded and not gen.repaired and gen.model == "echo"
    assert "### citation/README.md:1-4" in gen.prompt


@dataclass
class Scripted:
    """A generator that replays fixed replies and records the conversations it saw."""

    replies: list[str]
    id: str = "scripted"
    seen: list[list[dict[str, str]]] = field(default_factory=list)

    def complete(self, messages: list[dict[str, str]], params: DecodeParams) -> str:
        self.seen.append(messages)
        return self.replies[min(len(self.seen), len(self.replies)) - 1]


def test_repair_fixes_an_invented_flag(files: set[str]) -> None:
    model = Scripted(["```bash\npython train.py --num_stacks 5\n```", "```bash\npython train.py --num-stacks 5\n```"])
    gen = run_generation("5 stacks", [], model, cfg(), cards=CARDS, files=files, workdir="citation")
    assert gen.repaired and gen.grounded
    assert gen.code == "python train.py --num-stacks 5" and gen.first_code == "python train.py --num_stacks 5"
    repair = model.seen[1][-1]["content"]
    assert "--num_stacks" in repair and "--num-stacks" in repair  # what is wrong, and what the card allows
    assert model.seen[1][-2] == {"role": "assistant", "content": model.replies[0]}


def test_repair_keeps_the_first_answer_when_not_better(files: set[str]) -> None:
    model = Scripted(["```bash\npython train.py --bad 1\n```", "```bash\npython nope.py --x 1 --y 2\n```"])
    gen = run_generation("x", [], model, cfg(), cards=CARDS, files=files, workdir="citation")
    assert not gen.repaired and gen.code == "python train.py --bad 1" and gen.first_code == gen.code
    assert [c.subject for c in gen.violations] == ["--bad"]


def test_no_grounding_no_repair(files: set[str]) -> None:
    model = Scripted(["```bash\npython train.py --bad 1\n```"])
    gen = run_generation("x", [], model, cfg(grounding=False), cards=CARDS, files=files)
    assert gen.checks == () and len(model.seen) == 1
    model = Scripted(["```bash\npython train.py --bad 1\n```"])
    gen = run_generation("x", [], model, cfg(repair=False), cards=CARDS, files=files, workdir="citation")
    assert not gen.grounded and len(model.seen) == 1


def test_batch_equals_one_by_one(files: set[str]) -> None:
    reqs = [
        GenerationRequest(
            "a", (text_hit("python train.py --model gat\n"),), tuple(CARDS), frozenset(files), "citation"
        ),
        GenerationRequest(
            "b", (text_hit("python train.py --modle gat\n"),), tuple(CARDS), frozenset(files), "citation"
        ),
        GenerationRequest("c", (), (), frozenset(files), ""),
    ]
    echo = get_generator("echo", cfg())
    batch = run_generation_batch(reqs, echo, cfg())
    single = [
        run_generation(r.task, r.hits, echo, cfg(), cards=r.cards, files=r.files, workdir=r.workdir) for r in reqs
    ]
    assert batch == single
    assert [g.grounded for g in batch] == [True, False, False]


def test_draft_query_returns_the_draft_code() -> None:
    model = Scripted(["I think:\n```bash\npython train.py --model arma\n```"])
    assert draft_query("train arma", model, cfg()) == "python train.py --model arma"
    assert "(no context)" in model.seen[0][-1]["content"]


# --- cache -------------------------------------------------------------------------------------------------------


def test_cache_hits_and_keys(tmp_path: Path) -> None:
    model = Scripted(["```bash\npython a.py\n```"])
    cached = CachedGenerator(model, OutputCache.open(tmp_path))
    msgs = [{"role": "user", "content": "hi"}]
    p = DecodeParams(max_new_tokens=8)
    assert cached.complete(msgs, p) == cached.complete(msgs, p) == model.replies[0]
    assert len(model.seen) == 1 and (cached.hits, cached.misses) == (1, 1)
    cached.complete(msgs, DecodeParams(max_new_tokens=9))
    assert len(model.seen) == 2  # other decoding params: another key
    again = CachedGenerator(Scripted(["other"]), OutputCache.open(tmp_path))  # a new process would see this
    assert again.complete(msgs, p) == model.replies[0]
    assert cache_key("m", msgs, p) != cache_key("n", msgs, p)


def test_get_generator_wraps_a_cache_and_keeps_keys_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY_VAR", "sk-very-secret")
    config = GenerationConfig(cache=True, cache_dir=str(tmp_path), api_key_env="SECRET_KEY_VAR")
    gen = get_generator("openai:some-model?base_url=http://user:pw@127.0.0.1:9/v1", config)
    assert isinstance(gen, CachedGenerator)
    assert gen.id == "openai:some-model@http://127.0.0.1:9/v1"
    assert "sk-very-secret" not in repr(gen.inner) and "pw" not in gen.id
    assert get_generator("echo", config).id == "echo"  # echo is not cached


# --- registry ----------------------------------------------------------------------------------------------------


def test_registry_errors_and_specs() -> None:
    with pytest.raises(BackendError, match="valid: .*echo.*llama-cpp.*openai.*transformers"):
        get_generator("nope:x", cfg())
    assert parse_spec("transformers:org/m#f.gguf?device=cpu").file == "f.gguf"
    assert parse_spec("openai:m?base_url=http://h:1/v1").option("base_url") == "http://h:1/v1"
    model = Scripted(["x"])
    assert get_generator(model, cfg()) is model  # type: ignore[arg-type]
    with pytest.raises(BackendError, match="no GGUF file"):
        get_generator("llama-cpp:/does/not/exist.gguf", cfg())
    with pytest.raises(BackendError, match="no API key"):
        get_generator("openai:gpt-x", GenerationConfig(cache=False, api_key_env="MLRAG_TEST_UNSET_VAR"))
