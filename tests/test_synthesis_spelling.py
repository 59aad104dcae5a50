"""A task's names written the way the repository writes them, the folder a README ``cd``s into, help phrases said
with hyphens or typos, and abbreviations such as ``gt`` (shapes unseen repositories showed; a repository written
here, not taken from any of them)."""

from __future__ import annotations

import pytest

from mlrag.catalog import build_catalog
from mlrag.generation.synthesis import render, synthesize, wants_python, written_as

README = """# Tracker

## Evaluate

```bash
cd tools/eval/
python score.py --backbone convnext_tiny --benchmark davis
```

## Train

```bash
cd tools/train
python score.py --lr 0.1
```
"""

EVAL = (
    "import argparse\n"
    "p = argparse.ArgumentParser()\n"
    "p.add_argument('--backbone', type=str, default='convnext_base', help='backbone network')\n"
    "p.add_argument('--benchmark', type=str, default='davis', help='benchmark to score on')\n"
    "p.add_argument('--fast_corr', action='store_true', help='use efficent correlation implementation')\n"
    "p.add_argument('--out_dir', type=str, default='scores', help='where the scores go')\n"
    "args = p.parse_args()\n"
)
TRAIN = (
    "import argparse\n"
    "p = argparse.ArgumentParser()\n"
    "p.add_argument('--lr', type=float, default=0.01)\n"
    "p.add_argument('--epochs', type=int, default=10)\n"
    "args = p.parse_args()\n"
)
LOSSES = (
    "import argparse\n"
    "p = argparse.ArgumentParser()\n"
    "p.add_argument('--data_path', type=str, help='folder of the images to score')\n"
    "p.add_argument('--gt_path', type=str, help='folder of the reference images')\n"
    "p.add_argument('--workers', type=int, default=4)\n"
    "args = p.parse_args()\n"
)
API = (
    '"""Tracker models."""\n\n\n'
    'def build_backbone(name: str = "convnext_tiny"):\n    """Build a backbone."""\n    return name\n'
)
REPO = {"README.md": README, "tools/eval/score.py": EVAL, "tools/train/score.py": TRAIN, "losses.py": LOSSES,
        "tracker/__init__.py": API}


def _catalog():  # type: ignore[no-untyped-def]
    return build_catalog(REPO.items())


def _pairs(task: str, path: str) -> dict[str, str]:
    b = synthesize(task, _catalog(), output_type="bash")
    assert b is not None and b.affordance.path == path, b and b.affordance.path
    return {p.name: v for p, v in b.values}


@pytest.mark.parametrize(
    ("name", "known", "written"),
    [
        ("ResNeSt-101", ["resnest50"], "resnest101"),
        ("ViT-Base", ["vit_small"], "vit_base"),
        ("ConvNeXt-S", ["convnext_tiny"], "convnext_small"),
        ("GPT2-XL", ["gpt2-medium"], "gpt2-xl"),  # a size written with two letters stays as it is
        ("KITTI", ["sintel"], "kitti"),
        ("resnet50", ["resnet18"], None),  # already written so
        ("ResNet-50", ["vgg16"], None),  # no known name of that family
        ("KITTI", ["CelebA"], None),  # the names keep their capitals
    ],
)
def test_a_name_is_written_as_the_options_known_names_are(name: str, known: list[str], written: str | None) -> None:
    assert written_as(name, known) == written


def test_a_cd_in_a_readme_block_places_the_script_that_block_runs() -> None:
    by_path = {a.path: a for a in _catalog()}
    assert any("--backbone convnext_tiny" in u for u in by_path["tools/eval/score.py"].usage)
    assert not any("--backbone" in u for u in by_path["tools/train/score.py"].usage)
    assert by_path["tools/eval/score.py"].workdir == "tools/eval"


def test_a_model_name_takes_the_readmes_spelling_and_the_folder_the_task_stands_in_is_no_value() -> None:
    task = "I'm inside tools/eval. Score the ConvNeXt-S backbone on the DAVIS benchmark."
    b = synthesize(task, _catalog(), output_type="bash", workdir="tools/eval")
    assert b is not None and b.affordance.path == "tools/eval/score.py"
    got = {p.name: v for p, v in b.values}
    assert got == {"--backbone": "convnext_small", "--benchmark": "davis"}
    assert render(b, "tools/eval")[0] == "python score.py --backbone convnext_small --benchmark davis"


def test_a_help_phrase_said_with_a_hyphen_and_a_typo_in_the_help_still_sets_the_flag() -> None:
    got = _pairs("Score convnext_tiny on davis with the memory-efficient correlation implementation.",
                 "tools/eval/score.py")
    assert got.get("--fast_corr") == ""


def test_a_word_the_task_gives_as_a_folder_name_keeps_its_capitals() -> None:
    got = _pairs("Score convnext_tiny on davis and write the scores to the folder DAVIS.", "tools/eval/score.py")
    assert got.get("--out_dir") in (None, "DAVIS")


def test_gt_in_an_option_name_is_said_by_ground_truth() -> None:
    task = ("Compute the losses between my results in out/results and the ground-truth images in data/test, "
            "with 8 workers.")
    got = _pairs(task, "losses.py")
    assert got == {"--data_path": "out/results", "--gt_path": "data/test", "--workers": "8"}


@pytest.mark.parametrize(
    ("task", "python"),
    [
        ("Write a short Python script (run from the repo root) that scores two images.", True),
        ("Using the tracker python package, load a backbone.", True),
        ("Run the python script score.py on davis.", False),
        ("Using tracker, build a convnext_tiny backbone.", True),  # the repository's own package
        ("Using DeepSpeed, score convnext_tiny on davis.", False),  # another tool: a launcher, not this API
        ("Show me how to load the convnext_tiny backbone.", True),
        ("Load the backbone through torch hub.", True),
    ],
)
def test_asking_for_a_python_script_asks_for_python(task: str, python: bool) -> None:
    assert wants_python(task, _catalog()) is python


SEG_README = """# Scene parsing

```bash
python test.py --cfg configs/ade20k-resnet50-upernet.yaml --imgs demo.jpg
```
"""
SEG_TEST = (
    "import argparse\n"
    "p = argparse.ArgumentParser()\n"
    "p.add_argument('--cfg', default='configs/ade20k-resnet50-upernet.yaml', help='config file')\n"
    "p.add_argument('--imgs', required=True, help='an image path, or a directory name')\n"
    "p.add_argument('--gpu', default=0, type=int)\n"
    "args = p.parse_args()\n"
)
SEG = {
    "README.md": SEG_README,
    "test.py": SEG_TEST,
    "configs/ade20k-resnet50-upernet.yaml": "MODEL:\n  arch: resnet50\n",
    "configs/ade20k-resnet101-upernet.yaml": "MODEL:\n  arch: resnet101\n",
    "configs/ade20k-mobilenetv2dilated-c1_deepsup.yaml": "MODEL:\n  arch: mobilenetv2dilated\n",
}


@pytest.mark.parametrize(
    ("task", "config"),
    [
        ("Segment ./my_photos with the UPerNet-101 ADE20K model on GPU 1.", "configs/ade20k-resnet101-upernet.yaml"),
        ("Segment ./my_photos with the MobileNetV2-dilated C1 deep-supervision parser on ADE20K.",
         "configs/ade20k-mobilenetv2dilated-c1_deepsup.yaml"),
        ("Segment ./my_photos on GPU 1.", "configs/ade20k-resnet50-upernet.yaml"),  # the README's stays
        ("Segment ./my_photos with the 101 model.", "configs/ade20k-resnet50-upernet.yaml"),  # one piece says none
    ],
)
def test_the_config_whose_name_the_task_says_replaces_the_readme_examples(task: str, config: str) -> None:
    b = synthesize(task, build_catalog(SEG.items()), output_type="bash", usage=True)
    assert b is not None and b.affordance.path == "test.py"
    got = {p.name: v for p, v in b.values}
    assert got["--cfg"] == config and got["--imgs"] == "./my_photos"


FORECAST = (
    "import argparse\n"
    "p = argparse.ArgumentParser()\n"
    "p.add_argument('--data', type=str, default='ETT', help='dataset')\n"
    "p.add_argument('--features', type=str, default='M', help='task, options:[M, S, MS]; M:multivariate predict "
    "multivariate, S:univariate predict univariate, MS:multivariate predict univariate')\n"
    "p.add_argument('--freq', type=str, default='h', help='time features, options:[s:secondly, h:hourly, d:daily]')\n"
    "p.add_argument('--pred_len', type=int, default=24, help='prediction sequence length')\n"
    "args = p.parse_args()\n"
)
FORECAST_README = "# Forecasting\n\n```bash\npython -u forecast.py --data ETT --features M --pred_len 24\n```\n"


@pytest.mark.parametrize(
    ("task", "want"),
    [
        ("Forecast ETT as a univariate task with daily features and a prediction length of 48.",
         {"--features": "S", "--freq": "d", "--pred_len": "48"}),
        ("Forecast ETT multivariate to multivariate with hourly features.", {"--features": "M", "--freq": "h"}),
        # a help's values said by no word: left alone
        ("Forecast ETT with a prediction length of 48.", {"--pred_len": "48"}),
    ],
)
def test_a_value_the_help_defines_is_chosen_by_the_words_of_its_meaning(task: str, want: dict[str, str]) -> None:
    cat = build_catalog({"forecast.py": FORECAST, "README.md": FORECAST_README}.items())
    b = synthesize(task, cat, output_type="bash")
    assert b is not None
    got = {p.name: v for p, v in b.values}
    assert {k: got.get(k) for k in want} == want
    assert ("--freq" in got) == ("--freq" in want)


def test_the_readmes_python_flags_are_kept() -> None:
    cat = build_catalog({"forecast.py": FORECAST, "README.md": FORECAST_README}.items())
    b = synthesize("Forecast ETT 48 steps ahead.", cat, output_type="bash", usage=True)
    assert b is not None and render(b)[0].startswith("python -u forecast.py ")
