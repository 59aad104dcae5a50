"""Examples with placeholders and packages laid out under ``src/``: names a README example never defines
(``score(folder_a, folder_b)``) are slots the task's values fill, keyword strings take the value the task names
beside the keyword, model names match in any case; a ``__main__.py`` that runs another module's ``main()`` takes
that module's options and is what ``python -m pkg`` runs (each repository below is written here)."""

from __future__ import annotations

from mlrag.catalog import build_catalog
from mlrag.catalog.examples import example_slots, fill_slots
from mlrag.generation.synthesis import render, synthesize, wants_python

METRIC_README = (
    "# imgscore\n\n## Scores\n\nScore a folder against another:\n\n"
    "```python\nfrom imgscore import metric\nvalue = metric.distance(folder_a, folder_b)\n```\n\n"
    "Score a folder against stored statistics:\n\n"
    "```python\nfrom imgscore import metric\n"
    "value = metric.distance(folder_a, stats_name=\"cats\", stats_res=128, stats_split=\"all\")\n```\n"
)
METRIC = {
    "README.md": METRIC_README,
    "imgscore/__init__.py": "",
    "imgscore/metric.py": (
        "def distance(folder_a, folder_b=None, stats_name=None, stats_res=None, stats_split='train'):\n"
        "    \"\"\"The distance between two image folders.\"\"\"\n    return 0.0\n"
    ),
}


def test_undefined_call_arguments_are_name_slots_filled_as_strings() -> None:
    code = "from imgscore import metric\nvalue = metric.distance(folder_a, folder_b, size=n)\n"
    slots = example_slots(code)
    names = [s for s in slots if s.kind == "name"]
    assert [(s.text, s.dest) for s in names] == [("folder_a", "distance"), ("folder_b", "distance"), ("n", "size")]
    i = slots.index(names[0])
    k = slots.index(names[2])
    out = fill_slots(code, [(i, "./fake"), (k, "64")])
    assert "metric.distance('./fake', folder_b, size=64)" in out  # a path is a string, a number stays a number


def test_defined_names_and_classes_are_no_slots() -> None:
    code = "import torch\nx = torch.zeros(3)\nmodel = Net(x, Config)\n"
    assert not [s for s in example_slots(code) if s.kind == "name"]


def test_task_paths_fill_placeholders_in_order() -> None:
    cat = build_catalog(METRIC.items())
    task = "Write Python with imgscore that scores ./gen/cats_fake against ./data/cats_real and prints it."
    b = synthesize(task, cat)
    assert b is not None and b.affordance.kind == "python-example"
    code = render(b)[0]
    assert "metric.distance('./gen/cats_fake', './data/cats_real')" in code


def test_keyword_strings_take_the_value_named_beside_the_keyword() -> None:
    cat = build_catalog(METRIC.items())
    task = ("Write Python with imgscore that scores ./gen/dogs against the stored statistics of the dog_faces "
            "stats at 256 res, test split, and prints the value.")
    code = render(synthesize(task, cat))[0]  # type: ignore[arg-type]
    assert "'./gen/dogs'" in code and "stats_name='dog_faces'" in code and "stats_res=256" in code
    assert "stats_split='test'" in code  # a split's name, though "test" is too common a word to be a literal
    assert "cats" not in code  # the example's own name is replaced, not kept beside the task's


def test_model_names_match_the_example_in_any_case() -> None:
    files = {
        "README.md": "# effnets\n\n```python\nfrom effnets import Net\nmodel = Net.from_pretrained('effnet-b0')\n```\n",
        "effnets/__init__.py": (
            "class Net:\n    @classmethod\n    def from_pretrained(cls, name):\n        return cls()\n"
        ),
    }
    task = "Using the effnets package, load a pretrained EffNet-B3 in Python."
    code = render(synthesize(task, build_catalog(files.items())))[0]  # type: ignore[arg-type]
    assert "from_pretrained('effnet-b3')" in code  # lower case, as the example writes its names


FID = {
    "setup.py": "from setuptools import setup\nsetup(name='fidtool', package_dir={'': 'src'})\n",
    "README.md": "# fidtool\n\n```\npython -m fidtool path/to/a path/to/b --dims 2048\n```\n",
    "src/fidtool/__init__.py": "",
    "src/fidtool/__main__.py": "import fidtool.score\n\nfidtool.score.main()\n",
    "src/fidtool/score.py": (
        '"""Frechet distance between two folders of images."""\n'
        "from argparse import ArgumentParser\n"
        "parser = ArgumentParser()\n"
        "parser.add_argument('--batch-size', type=int, default=50, help='Batch size to use')\n"
        "parser.add_argument('--device', type=str, default=None, help='Device to use. Like cuda, cuda:0 or cpu')\n"
        "parser.add_argument('--dims', type=int, default=2048, help='Dimensionality of the features')\n"
        "parser.add_argument('path', type=str, nargs=2, help='Paths to the images or to .npz statistics')\n"
        "def main():\n    args = parser.parse_args()\n\n"
        "if __name__ == '__main__':\n    main()\n"
    ),
}


def test_a_src_layout_package_runs_as_python_m_with_the_options_of_the_main_it_calls() -> None:
    cat = build_catalog(FID.items())
    entry = next(a for a in cat if a.path == "src/fidtool/__main__.py")
    assert entry.run == "python -m fidtool"  # not "python -m src.fidtool"
    assert {"--batch-size", "--dims", "path"} <= {p.name for p in entry.params}
    assert entry.usage  # the README's python -m line runs it
    assert not wants_python("Using fidtool, compute the distance between ./a and ./b.", cat)  # a command too


def test_a_positional_of_two_paths_takes_both_and_a_device_no_big_number() -> None:
    task = ("With fidtool, compute the distance between ./samples/gen and ./data/real using the 768-dimensional "
            "features and a batch size of 32.")
    code = render(synthesize(task, build_catalog(FID.items())))[0]  # type: ignore[arg-type]
    assert code.startswith("python -m fidtool ./samples/gen ./data/real")
    assert "--dims 768" in code and "--batch-size 32" in code and "--device" not in code


def test_python_is_asked_for_in_plain_words() -> None:
    cat = build_catalog(METRIC.items())
    assert wants_python("Which folders are closest? Show me the Python.", cat)
    assert wants_python("Call imgscore directly from Python instead of the command line.", cat)
    assert wants_python("Inside my Python script I want the distance of ./a and ./b.", cat)


def test_keywords_the_task_gives_join_the_examples_call() -> None:
    files = dict(METRIC)
    files["imgscore/metric.py"] = (
        "def distance(folder_a, folder_b=None, stats_name=None, stats_res=None, stats_split='train', mode='clean',"
        " batch_size=32):\n    \"\"\"The distance between two image folders.\"\"\"\n    return 0.0\n"
    )
    cat = build_catalog(files.items())
    code = render(synthesize("Write Python with imgscore that scores ./gen/x against ./data/y in the "  # type: ignore[arg-type]
                             "legacy_tf mode with a batch size of 64", cat))[0]
    assert "metric.distance('./gen/x', './data/y', mode='legacy_tf', batch_size=64)" in code


def test_a_package_the_readme_imports_is_one_without_its_init_file() -> None:
    files = {k: v for k, v in METRIC.items() if k != "imgscore/__init__.py"}  # (a walk that honoured a .gitignore)
    cat = build_catalog(files.items())
    assert any(a.kind == "python-api" and a.name == "imgscore.metric.distance" for a in cat)


def test_a_name_the_task_spells_piece_by_piece_replaces_the_examples_name() -> None:
    files = {
        "README.md": (
            "# relx\n\n## Easy start\n\n```python\nimport relx\nmodel = relx.get_model('wiki8_cnn_softmax')\n```\n"
        ),
        "relx/__init__.py": "from .pretrain import get_model\n",
        "relx/pretrain.py": (
            "def get_model(model_name, root='~/.relx'):\n"
            "    if model_name == 'wiki8_cnn_softmax':\n        return 1\n"
            "    elif model_name in ['wiki8_bert_softmax', 'wiki8_bertentity_softmax']:\n        return 2\n"
            "    elif model_name == 'tacred_bert_softmax':\n        return 3\n"
        ),
    }
    cat = build_catalog(files.items())
    assert any(a.kind == "registry" and "wiki8_bert_softmax" in a.values for a in cat)  # names get_model tells apart
    b = synthesize("Write Python that loads the relx wiki8 model with the plain BERT encoder (softmax classifier) "
                   "in an easy start", cat)
    assert b is not None and b.affordance.kind == "python-example"
    assert "relx.get_model('wiki8_bert_softmax')" in render(b)[0]


def test_a_cd_is_written_from_the_callers_folder() -> None:
    from mlrag.catalog.base import Affordance, Param
    from mlrag.generation.synthesis import render_bash

    a = Affordance("python-script:tf/seg/train.py", "python-script", "train.py", "tf/seg/train.py",
                   run="python train.py", workdir="tf/seg", framework="argparse", params=(Param("--lr"),),
                   invoked_by=("tf/seg/README.md:3",))  # the README there runs it from its own folder
    assert render_bash(a, [(a.params[0], "0.1")], workdir="tf") == "cd seg && python train.py --lr 0.1"
    assert render_bash(a, [(a.params[0], "0.1")], workdir="") == "cd tf/seg && python train.py --lr 0.1"
    assert render_bash(a, [(a.params[0], "0.1")], workdir="pt") == "cd ../tf/seg && python train.py --lr 0.1"
    assert render_bash(a, [], workdir="tf/seg") == "python train.py"
