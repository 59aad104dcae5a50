"""Python answers on the free path are checked against the repository's API, and the findings drive the repair."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mlrag.agent.check import file_reader
from mlrag.catalog.base import Catalog
from mlrag.catalog.catalog import build_catalog
from mlrag.config import GenerationConfig
from mlrag.generation import DecodeParams, GenerationRequest, run_generation, run_generation_batch

FIXTURE = {
    "pkg/__init__.py": "from .models import MODELS, Trainer, build_model\n",
    "pkg/models.py": (
        '"""Models and a trainer."""\n\n'
        'MODELS = {"resnet": "ResNet", "vit": "ViT"}\n\n\n'
        "def build_model(name, pretrained=False, num_classes=10):\n"
        '    """Build a model by its registered name."""\n'
        "    return MODELS[name]\n\n\n"
        "class Trainer:\n"
        '    """Trains a model."""\n\n'
        "    def __init__(self, model, lr=0.1, epochs=3):\n"
        "        self.model, self.lr, self.epochs = model, lr, epochs\n\n"
        "    def fit(self):\n"
        "        return self\n"
    ),
    "README.md": "# pkg\n\n```python\nfrom pkg import Trainer, build_model\n```\n",
}
GOOD = 'from pkg import Trainer, build_model\n\nTrainer(build_model("vit"), lr=0.01, epochs=5).fit()'
BAD_KWARG = 'from pkg import Trainer, build_model\n\nTrainer(build_model("vit"), learning_rate=0.01, epochs=5).fit()'
BAD_NAME = 'from pkg import Trainer, build_model\n\nTrainer(build_model("vitt"), lr=0.01, epochs=5).fit()'
BAD_MODULE = "from pkg.model import build_model\n\nbuild_model('vit')"


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, Catalog, set[str]]:
    for rel, text in FIXTURE.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    return tmp_path, build_catalog(FIXTURE.items()), set(FIXTURE)


@dataclass
class Scripted:
    """Replays fixed replies (the last one repeats) and records the conversations it saw."""

    codes: list[str]
    id: str = "scripted"
    seen: list[list[dict[str, str]]] = field(default_factory=list)

    def complete(self, messages: list[dict[str, str]], params: DecodeParams) -> str:
        self.seen.append(messages)
        return f"```python\n{self.codes[min(len(self.seen), len(self.codes)) - 1]}\n```"


def cfg(**kw: object) -> GenerationConfig:
    return GenerationConfig(**{"llm": "echo", "cache": False, "output_type": "python", **kw})  # type: ignore[arg-type]


def generate(model: Scripted, repo: tuple[Path, Catalog, set[str]], **kw: object):  # type: ignore[no-untyped-def]
    root, catalog, files = repo
    return run_generation(
        "train a vit for 5 epochs with learning rate 0.01", [], model, cfg(), cards=[], files=files,
        catalog=catalog, read=file_reader(root), **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def test_an_invented_keyword_argument_is_repaired(repo: tuple[Path, Catalog, set[str]]) -> None:
    model = Scripted([BAD_KWARG, GOOD])
    gen = generate(model, repo)
    assert gen.repaired and gen.grounded and gen.code == GOOD and gen.first_code == BAD_KWARG
    assert any(c.name == "python-api" and c.ok for c in gen.checks)
    assert len(model.seen) == 2
    repair = model.seen[1][-1]["content"]
    assert "no keyword argument learning_rate" in repair  # what is wrong
    assert "Trainer(model, lr=0.1, epochs=3)" in repair and "from pkg.models import Trainer" in repair  # what is
    assert model.seen[1][-2] == {"role": "assistant", "content": f"```python\n{BAD_KWARG}\n```"}


@pytest.mark.parametrize(
    ("bad", "says", "shows"),
    [
        (
            BAD_NAME,
            "'vitt' is not registered in pkg.models.MODELS",
            "Names registered in pkg.models.MODELS: resnet, vit",
        ),
        (BAD_MODULE, "module pkg.model is not in the repository; did you mean pkg.models?", "build_model(name"),
    ],
)
def test_registry_names_and_modules_are_checked(
    repo: tuple[Path, Catalog, set[str]], bad: str, says: str, shows: str
) -> None:
    model = Scripted([bad, GOOD])
    gen = generate(model, repo)
    assert gen.repaired and gen.grounded and gen.first_code == bad
    repair = model.seen[1][-1]["content"]
    assert says in repair and shows in repair


def test_a_repair_that_is_not_better_keeps_the_first_answer(repo: tuple[Path, Catalog, set[str]]) -> None:
    model = Scripted([BAD_KWARG, BAD_KWARG.replace("learning_rate", "lrate")])
    gen = generate(model, repo)
    assert not gen.repaired and gen.code == BAD_KWARG
    assert [c.message for c in gen.violations] == ["Trainer() has no keyword argument learning_rate"]


def test_more_rounds_until_grounded(repo: tuple[Path, Catalog, set[str]]) -> None:
    model = Scripted([BAD_MODULE, BAD_KWARG, GOOD, GOOD])
    gen = generate(model, repo, repair_rounds=3)
    assert gen.grounded and gen.code == GOOD and len(model.seen) == 3  # stops once grounded
    assert model.seen[2][-1]["content"].count("no keyword argument learning_rate") == 1


def test_without_catalog_or_reader_only_the_basic_checks(repo: tuple[Path, Catalog, set[str]]) -> None:
    _, _, files = repo
    model = Scripted([BAD_KWARG])
    gen = run_generation("train", [], model, cfg(), cards=[], files=files)
    assert gen.grounded and {c.name for c in gen.checks} == {"python-syntax", "module-exists"}


def test_batch_requests_carry_the_catalog(repo: tuple[Path, Catalog, set[str]]) -> None:
    root, catalog, files = repo
    reqs = [
        GenerationRequest("a", files=frozenset(files), catalog=catalog, read=file_reader(root)),
        GenerationRequest("b", files=frozenset(files)),
    ]
    out = run_generation_batch(reqs, Scripted([BAD_KWARG]), cfg(repair=False))
    assert [g.grounded for g in out] == [False, True]
    assert out[0].violations[0].name == "python-api"


def test_bash_answers_are_not_python_checked(repo: tuple[Path, Catalog, set[str]]) -> None:
    root, catalog, files = repo

    class Bash(Scripted):
        def complete(self, messages: list[dict[str, str]], params: DecodeParams) -> str:
            return "```bash\npython -c 'import pkg'\n```"

    gen = run_generation("x", [], Bash([]), cfg(output_type="bash"), cards=[], files=files, catalog=catalog,
                         read=file_reader(root))  # fmt: skip
    assert not any(c.name == "python-api" for c in gen.checks)
