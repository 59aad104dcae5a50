"""The affordance catalog and structured synthesis on a small repository written here (every shape the catalog
reads), checked by invariants: rendered commands only use options the catalog has, bound values come from the
task, and the exact commands for plain tasks."""

from __future__ import annotations

import shlex

import pytest

from mlrag.catalog import Catalog, build_catalog, read_catalog, write_catalog
from mlrag.generation.synthesis import match_choice, render, synthesize

FILES = {
    "README.md": "# tagger\n\nRun `python tag.py --model tagger-s` or `bash run.sh data/x.txt 3`.\n",
    "tag.py": (
        "import argparse\n"
        "p = argparse.ArgumentParser()\n"
        "p.add_argument('--model', choices=['tagger-s', 'tagger-l'], default='tagger-s', help='which tagger')\n"
        "p.add_argument('--input-file', type=str, default='in.txt', help='input path')\n"
        "p.add_argument('--batch-size', type=int, default=8, help='batch size')\n"
        "p.add_argument('--lower', action='store_true', help='lowercase the text')\n"
        "args = p.parse_args()\n"
    ),
    "opts.py": (
        "import argparse\n"
        "def get_parser():\n"
        "    p = argparse.ArgumentParser()\n"
        "    p.add_argument('--epochs', type=int, default=10)\n"
        "    p.add_argument('--lr', type=float, default=0.1, help='learning rate')\n"
        "    return p\n"
    ),
    "fit.py": "from opts import get_parser\n\nif __name__ == '__main__':\n    args = get_parser().parse_args()\n",
    "run.sh": (
        "#!/bin/bash\nDATA=${1:-data/default.txt}\nEPOCHS=$2\nMODE=${MODE:-fast}\npython fit.py --epochs $EPOCHS\n"
    ),
    "Makefile": "EPOCHS ?= 5\n\ntrain:\n\tpython fit.py --epochs $(EPOCHS)\n\n.PHONY: train\n",
    "hf_train.py": (
        "from dataclasses import dataclass, field\n"
        "from transformers import HfArgumentParser, TrainingArguments\n"
        "@dataclass\nclass ModelArguments:\n"
        "    model_name: str = field(default='tiny', metadata={'help': 'model name'})\n"
        "    dropout: float = 0.1\n"
        "if __name__ == '__main__':\n"
        "    HfArgumentParser((ModelArguments, TrainingArguments)).parse_args_into_dataclasses()\n"
    ),
    "cli.py": (
        "import click\n@click.group()\ndef cli():\n    pass\n"
        "@cli.command()\n@click.option('--size', type=int, default=1)\ndef grow(size):\n    pass\n"
        "@cli.command()\ndef shrink():\n    pass\n"
    ),
    "flagged.py": "from absl import flags, app\nflags.DEFINE_integer('steps', 100, 'training steps')\n"
    "flags.DEFINE_enum('opt', 'sgd', ['sgd', 'adam'], 'optimizer')\nif __name__ == '__main__':\n    app.run(main)\n",
    "lib/__init__.py": "",
    "lib/models.py": (
        "MODELS = {'small': 1, 'large': 2}\n\n"
        "def build(name, pretrained=False):\n    '''Build a model by name.'''\n    return MODELS[name]\n"
    ),
}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return build_catalog(FILES.items())


def _opts(cat: Catalog, aid: str) -> list[str]:
    a = cat.get(aid)
    assert a is not None, aid
    return [p.name for p in a.params]


def test_catalog_reads_every_shape(catalog: Catalog) -> None:
    assert _opts(catalog, "python-script:tag.py") == ["--model", "--input-file", "--batch-size", "--lower"]
    assert _opts(catalog, "python-script:fit.py") == ["--epochs", "--lr"]  # parser built in opts.py
    assert _opts(catalog, "python-script:hf_train.py") == ["--model_name", "--dropout"]
    assert _opts(catalog, "python-script:flagged.py") == ["--steps", "--opt"]
    assert catalog.get("python-script:flagged.py").param("--opt").choices == ("sgd", "adam")  # type: ignore[union-attr]
    assert {a.subcommand for a in catalog.by_path("cli.py")} >= {"grow", "shrink"}
    sh = catalog.get("shell-script:run.sh")
    assert sh is not None
    assert [(p.name, p.kind, p.default) for p in sh.params] == [
        ("data", "positional", "data/default.txt"), ("epochs", "positional", None), ("MODE", "env", "fast"),
    ]  # fmt: skip
    make = catalog.get("make-target:Makefile:train")
    assert make is not None and [p.name for p in make.params] == ["EPOCHS"]
    reg = [r for r in catalog.registries if r.name.endswith("MODELS")]
    assert reg and reg[0].values == ("small", "large")
    api = catalog.get("python-api:lib/models.py:build")
    assert (
        api is not None
        and api.run == "from lib.models import build"
        and api.signature == "build(name, pretrained=False)"
    )


def test_catalog_provenance_and_round_trip(catalog: Catalog, tmp_path) -> None:  # type: ignore[no-untyped-def]
    for a in catalog:
        assert a.path in FILES
        assert 1 <= a.start_line <= a.end_line <= max(1, FILES[a.path].count("\n") + 1)
    assert len({a.id for a in catalog}) == len(catalog)
    write_catalog(tmp_path / "c.json", catalog)
    assert read_catalog(tmp_path / "c.json") == catalog
    (tmp_path / "bad.json").write_text('{"version": -1}')
    assert read_catalog(tmp_path / "bad.json") is None


def test_broken_files_are_skipped_not_raised() -> None:
    cat = build_catalog([("bad.py", "def (:\n"), ("deep.py", "x = " + "(" * 5000 + ")" * 5000), ("ok.sh", "echo $1\n")])
    assert any(s.startswith("bad.py") for s in cat.skipped)
    assert cat.get("shell-script:ok.sh") is not None


@pytest.mark.parametrize(
    ("task", "expected"),
    [
        ("Tag the text with the large tagger and a batch size of 16", "python tag.py --model tagger-l --batch-size 16"),
        ("Run fit.py for 20 epochs with a learning rate of 0.01", "python fit.py --epochs 20 --lr 0.01"),
        ("Tag 'notes/a.txt' as the input file, lowercase the text", "python tag.py --input-file notes/a.txt --lower"),
        ("Use the flagged script with the adam optimizer for 500 steps", "python flagged.py --steps=500 --opt=adam"),
    ],
)
def test_exact_commands(catalog: Catalog, task: str, expected: str) -> None:
    b = synthesize(task, catalog)
    assert b is not None
    code, kind = render(b)
    assert kind == "bash"
    assert shlex.split(code) == shlex.split(expected)


def test_rendered_options_exist_and_values_come_from_the_task(catalog: Catalog) -> None:
    tasks = [
        "Tag the text with the large tagger and a batch size of 16",
        "Run the shell script on data/y.txt for 7 epochs",
        "make the train target with 12 epochs",
        "Train with hf_train using model name 'bert-mini' and dropout 0.3",
        "grow it to size 4",
        "Tag something with an invented --warp 9 option",
    ]
    for task in tasks:
        b = synthesize(task, catalog)
        assert b is not None, task
        for p, v in b.values:
            assert p in b.affordance.params  # never an option outside the affordance
            if v and not p.choices:
                assert v in task or v.lower() in task.lower(), (task, p.name, v)
            if p.choices:
                assert v in p.choices


def test_unfitting_values_are_warnings(catalog: Catalog) -> None:
    b = synthesize("Tag the text with the small tagger, 42 times faster", catalog)
    assert b is not None and b.affordance.id == "python-script:tag.py"
    assert any("42" in w for w in b.warnings)
    assert "42" not in render(b)[0]


def test_python_output_for_python_tasks(catalog: Catalog) -> None:
    b = synthesize("Write Python code that builds the model named 'large' with lib.models", catalog)
    assert b is not None
    code, kind = render(b)
    assert kind == "python"
    assert code.startswith("from lib.models import build")
    compile(code, "<answer>", "exec")


def test_match_choice_fuzzy() -> None:
    assert match_choice("train on Citeseer".split(), ["cora", "citeseer"])[0] == "citeseer"  # type: ignore[index]
    assert match_choice("use the large tagger".split(), ["tagger-s", "tagger-l"])[0] == "tagger-l"  # type: ignore[index]
    assert match_choice("resnet 50 please".split(), ["resnet18", "resnet50"])[0] == "resnet50"  # type: ignore[index]
    assert match_choice("nothing here".split(), ["cora"]) is None


def test_options_classes_and_imports_two_steps_away() -> None:
    files = {
        "app/options/__init__.py": "",
        "app/options/base.py": (
            "import argparse\nclass Base:\n    def __init__(self):\n        self.parser = argparse.ArgumentParser()\n"
            "        self.parser.add_argument('--name', type=str, default='x')\n"
        ),
        "app/options/train.py": (
            "from options.base import Base\nclass Train(Base):\n    def more(self):\n"
            "        self.parser.add_argument('--niter', type=int, default=10)\n"
        ),
        "app/utils/__init__.py": "",
        "app/utils/setup.py": "from options.train import Train\n",
        "app/train.py": "from utils.setup import *\n\nif __name__ == '__main__':\n    opt = Train()\n",
    }
    cat = build_catalog(files.items())
    a = cat.get("python-script:app/train.py")
    assert a is not None
    assert {p.name for p in a.params} == {"--name", "--niter"}


def test_the_documented_command_that_fits_the_task_fills_what_it_left_open(catalog: Catalog) -> None:
    from mlrag.generation.templates import template_values
    from mlrag.types import Chunk, Hit

    text = "Run it:\n\npython tag.py --model tagger-l --input-file data/in.txt --lower --batch-size $BS --nope 3\n"
    chunk = Chunk(id="c", text=text, path="README.md", start_line=1, end_line=3, kind="markdown")
    hit = Hit(text=text, path="README.md", start_line=1, end_line=3, score=1.0, chunk=chunk)
    entry = catalog.get("python-script:tag.py")
    assert entry is not None and entry.usage == ("python tag.py --model tagger-s",)  # the README's inline command
    large = [(entry.param("--model"), "tagger-l")]
    got = {p.name: v for p, v in template_values("tag with the large tagger", entry, large, [hit])}  # type: ignore[arg-type]
    # the task's own value stays; placeholders ($BS) and options the script lacks (--nope) are never taken
    assert got == {"--model": "tagger-l", "--input-file": "data/in.txt", "--lower": ""}
    # the README's own line agrees with a task for the small tagger, so nothing of the retrieved line is taken
    small = [(entry.param("--model"), "tagger-s")]
    assert template_values("tag with the small tagger", entry, small, [hit]) == small  # type: ignore[arg-type]
    binding = synthesize("tag with the large tagger", catalog, [hit], usage=True)
    assert binding is not None and binding.affordance.id == "python-script:tag.py"
    code = render(binding)[0]
    assert "--input-file data/in.txt" in code and "--nope" not in code and "$BS" not in code
    assert synthesize("tag with the large tagger", catalog, [hit], usage=False) != binding
