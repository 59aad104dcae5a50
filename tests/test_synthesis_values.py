"""Value binding precision on a small repository written here: what an option's name says it takes (a path, a
config file, free text), single quotes that are apostrophes, choices of required options, and required options
that the task leaves open taking the documented value."""

from __future__ import annotations

import pytest

from mlrag.catalog import Catalog, Param, build_catalog
from mlrag.generation.synthesis import Literal, _fits, render, synthesize, task_literals
from mlrag.types import Chunk, Hit

DETECT = (
    "import argparse\n"
    "p = argparse.ArgumentParser()\n"
    "p.add_argument('--cfg-path', required=True, help='path to the config file')\n"
    "p.add_argument('--image_path', type=str, required=True, help='input image')\n"
    "p.add_argument('--text_prompt', type=str, help='what to find')\n"
    "p.add_argument('--checkpoint', type=str, help='weights to load')\n"
    "p.add_argument('--box_threshold', type=float, default=0.3, help='box threshold')\n"
    "args = p.parse_args()\n"
)
EMBED = (
    "import argparse\n"
    "p = argparse.ArgumentParser()\n"
    "p.add_argument('model_location', type=str, help='model file or name of a pretrained model')\n"
    "p.add_argument('fasta_file', type=str, help='FASTA file to embed')\n"
    "p.add_argument('--repr_layers', type=int, nargs='+', default=[-1], help='layers to return')\n"
    "p.add_argument('--include', type=str, nargs='+', choices=['mean', 'per_tok', 'bos'], required=True,\n"
    "               help='which representations to return')\n"
    "args = p.parse_args()\n"
)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return build_catalog([("detect.py", DETECT), ("embed.py", EMBED)])


def test_what_an_options_name_says_it_takes() -> None:
    cfg = Param("--cfg-path", help="path to the config file")
    assert not _fits(cfg, Literal("city.jpg", "path", 0))
    assert _fits(cfg, Literal("configs/det.yaml", "path", 0))
    assert not _fits(cfg, Literal("3", "number", 0))
    assert not _fits(cfg, Literal("apple", "word", 0))  # an English word is no path
    assert not _fits(Param("--image_path"), Literal("all the animals", "quoted", 0))
    assert not _fits(Param("--text_prompt"), Literal("img/0.jpg", "path", 0))
    assert _fits(Param("--text_prompt"), Literal("all the animals", "quoted", 0))
    assert _fits(Param("--prompt_file"), Literal("prompts.txt", "path", 0))
    assert not _fits(Param("--checkpoint"), Literal("out.csv", "path", 0))
    assert _fits(Param("--model_name_or_path"), Literal("bert-base", "word", 0))
    assert not _fits(Param("--mode", choices=("fast", "slow")), Literal("quick", "word", 0))


def test_apostrophes_do_not_open_quoted_values() -> None:
    task = "Gather 'round! I want the model in the folder 'models/base' and a caption 'a dog.' too."
    quoted = [lit.text for lit in task_literals(task)[1] if lit.kind in ("quoted", "path")]
    assert quoted == ["models/base", "a dog."]


def test_values_go_where_their_kind_belongs(catalog: Catalog) -> None:
    task = ("Detect 'all the animals' in the image 'pics/zoo.jpg' with the config 'configs/det.yaml' "
            "and a box threshold of 0.4")  # fmt: skip
    b = synthesize(task, catalog, output_type="bash")
    assert b is not None and b.affordance.name == "detect.py"
    got = {p.name: v for p, v in b.values}
    assert got == {"--cfg-path": "configs/det.yaml", "--image_path": "pics/zoo.jpg",
                   "--text_prompt": "all the animals", "--box_threshold": "0.4"}  # fmt: skip


def test_required_option_left_open_takes_the_documented_value(catalog: Catalog) -> None:
    task = "Extract the 12 layer embedding of seqs.fasta with the esm_small model"
    b = synthesize(task, catalog, output_type="bash")
    assert b is not None and b.affordance.name == "embed.py"
    assert "--include" not in render(b)[0]  # no value the task gives fits its choices: nothing invented
    assert any("--include is required" in w for w in b.warnings)
    text = "Embed:\n\npython embed.py esm_big data/x.fasta --repr_layers 33 --include mean per_tok\n"
    chunk = Chunk(id="c", text=text, path="README.md", start_line=1, end_line=3, kind="markdown")
    hit = Hit(text=text, path="README.md", start_line=1, end_line=3, score=1.0, chunk=chunk)
    b = synthesize(task, catalog, [hit], output_type="bash")
    assert b is not None
    code = render(b)[0]
    # the documented value for the required option, every list item; the task's own values kept; nothing else
    assert code == "python embed.py esm_small seqs.fasta --repr_layers 12 --include mean per_tok"
    assert not any("--include is required" in w for w in b.warnings)


def test_contractions_are_no_values_and_help_lists_are_hints() -> None:
    from mlrag.generation.synthesis import bind, help_options, plain_numbers

    assert plain_numbers("I'm sure I'd like the model's 3,000 steps; don't") == (
        "I am sure I would like the model 3000 steps; do not"
    )
    run = build_catalog([("run.py", (
        "import argparse\n"
        "p = argparse.ArgumentParser()\n"
        "p.add_argument('--task_name', type=str, default='forecast', help='task name, options:[forecast, classify]')\n"
        "p.add_argument('--features', type=str, default='M', help='features, options:[M, S, MS]')\n"
        "p.add_argument('--model', type=str, default='base', help='model name')\n"
        "args = p.parse_args()\n"
    ))]).get("python-script:run.py")  # fmt: skip
    assert run is not None
    assert help_options(run.param("--features")) == {"m", "s", "ms"}  # type: ignore[arg-type]
    pairs, _, _ = bind("I'm after the classify task, and my model is Former2", run)
    got = {p.name: v for p, v in pairs}
    assert got == {"--task_name": "classify", "--model": "Former2"}  # the 'm' of "I'm" is no --features value


def test_values_offered_to_the_model_are_typed_and_bound_ones_are_not_offered() -> None:
    from mlrag.generation.synthesis import _as_literal, _leftovers, wants_python

    assert [_as_literal(v).kind for v in ("0.5", "a/b.jpg", "all the cats", "resnet50")] == [
        "number", "path", "quoted", "word"]  # fmt: skip
    assert not _fits(Param("--image_path"), _as_literal("all the cats"))
    p = Param("--text_prompt")
    assert _leftovers("find 'right ear of cat' in 'x/y.jpg'", [(p, "right ear of cat")]) == ["x/y.jpg"]
    empty = build_catalog([("pkg/__init__.py", ""), ("pkg/mod.py", "def f(x):\n    '''F.'''\n"), ("embed.py", EMBED)])
    assert not wants_python("Write the Top-k Class Ids of the images to a CSV", empty)
    assert wants_python("Build the HaloAttention class on my tensor", empty)


TRANSCRIBE = (
    "import argparse\n"
    "p = argparse.ArgumentParser()\n"
    "p.add_argument('-i', '--input', required=True, help='path to the input audio file')\n"
    "p.add_argument('-o', '--output', default='out.txt', help='where to write the transcript')\n"
    "p.add_argument('--beam', type=int, default=4, help='beam size')\n"
    "p.add_argument('--fp16', action='store_true', help='half precision')\n"
    "p.add_argument('--manifest', help='training manifest (csv)')\n"
    "args = p.parse_args()\n"
)


@pytest.mark.parametrize(
    ("task", "expected"),
    [
        ("Transcribe recordings/a.wav into notes/a.txt with a beam size of 8",
         "python transcribe.py --input recordings/a.wav --output notes/a.txt --beam 8"),
        ("Transcribe talk.wav using half precision", "python transcribe.py --input talk.wav --fp16"),
        ("Transcribe x.wav with the list lists/train.csv",
         "python transcribe.py --input x.wav --manifest lists/train.csv"),
    ],
)  # fmt: skip
def test_output_after_into_flags_by_their_help_and_files_by_their_kind(task: str, expected: str) -> None:
    cat = build_catalog([("transcribe.py", TRANSCRIBE)])
    b = synthesize(task, cat, output_type="bash")
    assert b is not None and render(b)[0] == expected


def test_a_later_positional_brings_the_ones_before_it() -> None:
    demo = ("#!/bin/bash\nSOURCE=${1:-images/}\nWEIGHTS=${2:-w/yolo.pt}\n"
            "python detect.py --source $SOURCE --weights $WEIGHTS\n")
    cat = build_catalog([("run_demo.sh", demo)])
    b = synthesize("Run the demo with the weights w/s.pt", cat, output_type="bash")
    assert b is not None and render(b)[0] == "bash run_demo.sh images/ w/s.pt"  # $1 keeps its default
    b = synthesize("Run the demo on the folder street/ with the weights w/s.pt", cat, output_type="bash")
    assert b is not None and render(b)[0] == "bash run_demo.sh street/ w/s.pt"


def test_an_example_name_of_the_same_make_is_replaced() -> None:
    readme = ('## In Python\n\n```python\nfrom detkit import Detector\n'
              'boxes = Detector("yolo-s").predict("a.jpg")\n```\n')
    core = "class Detector:\n    '''A detector.'''\n    def __init__(self, name='yolo-s'):\n        self.name = name\n"
    cat = build_catalog([("README.md", readme), ("detkit/__init__.py", "from .core import Detector\n"),
                         ("detkit/core.py", core)])  # fmt: skip
    b = synthesize("Write Python code to detect objects in 'dog.jpg' with the yolo-m detector", cat)
    assert b is not None and b.affordance.kind == "python-example"
    assert render(b)[0] == "from detkit import Detector\nboxes = Detector('yolo-m').predict('dog.jpg')\n"


def test_language_names_match_their_codes() -> None:
    from mlrag.generation.synthesis import match_choice

    assert match_choice(["in", "German", "please"], ["en-us", "de-de", "fr-fr"]) == ("de-de", 1, 0.8)
    assert match_choice(["in", "French"], ["en", "de", "fr"]) == ("fr", 1, 0.8)
    assert match_choice(["in", "Klingon"], ["en", "de"]) is None
