"""GPU ids, the task's purpose, percentages, help lists, compound names and other binding rules of the sixth
session (shapes unseen repositories showed; the repository below is written here, not taken from any of them)."""

from __future__ import annotations

import shlex

import pytest

from mlrag.catalog import build_catalog
from mlrag.catalog.base import Param
from mlrag.generation.synthesis import (
    device_ids,
    help_choices,
    render,
    shell_word,
    synthesize,
    task_roles,
    wants_python,
)

README = """# Segmenter

```bash
python train.py --arch unet_small --data data/cells
python test.py --arch unet_small --split test --save_dir ../predictions
```
"""

TRAIN = (
    "import argparse\n"
    "p = argparse.ArgumentParser()\n"
    "p.add_argument('--arch', type=str, default='unet_small', help='network')\n"
    "p.add_argument('--data', type=str, default='data/cells', help='dataset folder')\n"
    "p.add_argument('--batch_size', type=int, default=8, help='batch size')\n"
    "p.add_argument('--size', type=int, default=256, help='image size')\n"
    "p.add_argument('--learning_rate', type=float, default=0.01)\n"
    "p.add_argument('--lr_steps', type=float, nargs='+', default=[20, 40], help='epochs to decay learning rate')\n"
    "p.add_argument('--epochs', type=int, default=45)\n"
    "p.add_argument('--n_gpu', type=int, default=1, help='number of gpus')\n"
    "p.add_argument('--holdout_fraction', type=float, default=0.2, help='fraction held out')\n"
    "p.add_argument('--init', default='pre_trained', type=str, help='random or pre_trained')\n"
    "p.add_argument('--load-8bit', action='store_true', help='load the weights in 8 bit')\n"
    "p.add_argument('--max-gpu-memory', type=str, help='memory per GPU, e.g. 12GiB')\n"
    "args = p.parse_args()\n"
)
TEST = (
    "import argparse\n"
    "p = argparse.ArgumentParser()\n"
    "p.add_argument('--arch', type=str, default='unet_small', help='network')\n"
    "p.add_argument('--split', type=str, default='test', help='which split')\n"
    "p.add_argument('--save_dir', type=str, default='../predictions', help='where masks go')\n"
    "p.add_argument('--gpus', type=int, nargs='+', help='gpu ids')\n"
    "p.add_argument('--num-gpus', type=int, default=1, help='how many GPUs')\n"
    "args = p.parse_args()\n"
)
SERVE = (
    "import argparse\n"
    "p = argparse.ArgumentParser()\n"
    "p.add_argument('--device', type=str, default='cuda', help='cuda device')\n"
    "p.add_argument('--port', type=int, default=8000)\n"
    "args = p.parse_args()\n"
)
API = (
    '"""Segmenter API."""\n\n\n'
    "def segment(image_path: str, threshold: float = 0.5):\n"
    '    """Segment an image.\n\n    Args:\n        image_path: the image to segment.\n'
    '        threshold: mask threshold.\n    """\n    return image_path\n\n\n'
    "def old_segment(image_path: str):\n"
    '    """Deprecated segmentation. Use segment instead."""\n    return image_path\n'
)
REPO = {"README.md": README, "train.py": TRAIN, "test.py": TEST, "serve.py": SERVE,
        "segmenter/__init__.py": "", "segmenter/api.py": API}


@pytest.fixture(scope="module")
def cat():  # noqa: ANN201
    return build_catalog(REPO.items())


def line(cat, task: str) -> str:  # noqa: ANN001
    b = synthesize(task, cat, output_type="bash")
    assert b is not None
    code = render(b)[0]
    # invariant: every option the line sets is an option of the entry it runs
    names = {s for p in b.affordance.params for s in p.spellings}
    assert all(t.split("=", 1)[0] in names for t in shlex.split(code) if t.startswith("--")), code
    return code


@pytest.mark.parametrize(("task", "ids"), [
    ("train on GPU 1.", ["1"]),
    ("run on GPUs 0,1,2,3 and save", ["0", "1", "2", "3"]),
    ("two GPUs (ids 0 and 1) please", ["0", "1"]),
    ("the second GPU (device 1)", ["1"]),
    ("on the first GPU", ["0"]),
    ("use 4 GPUs", []),
    ("a GPU with 12 GB", []),
])
def test_device_ids_are_ids_not_counts_or_memory(task: str, ids: list[str]) -> None:
    assert device_ids(task)[0] == ids


def test_gpu_ids_go_to_the_entry_device_option_in_its_form_or_to_cuda_visible_devices(cat) -> None:  # noqa: ANN001
    code = line(cat, "Run inference with unet_small on GPUs 0 and 1, masks to ../predictions/run2.")
    assert code.startswith("python test.py") and "--gpus 0 1" in code
    assert "--save_dir ../predictions/run2" in code  # a folder beside the default one
    train = line(cat, "Train unet_small on GPU 1 for 30 epochs.")
    assert train.startswith("CUDA_VISIBLE_DEVICES=1 python train.py") and "--n_gpu" not in train
    assert "--epochs 30" in train
    assert "--device cuda:1" in line(cat, "Start the serve.py server on port 9000 on GPU 1")


def test_a_count_of_gpus_goes_to_the_count_option(cat) -> None:  # noqa: ANN001
    code = line(cat, "Evaluate unet_small on the validation split across 2 GPUs")
    assert "--num-gpus 2" in code and "--gpus" not in code.replace("--num-gpus", "")
    assert "--split validation" in code  # a split option takes a split's name


def test_the_task_purpose_ranks_scripts_by_file_name(cat) -> None:  # noqa: ANN001
    assert task_roles("Fine-tune the model") == {"train"} and task_roles("Run inference with it") == {"apply"}
    assert task_roles("I trained it; evaluate that checkpoint") == {"apply"}  # "trained" describes the model
    # both scripts take --arch alone: only the purpose tells them apart
    assert line(cat, "Fine-tune unet_small").startswith("python train.py")
    assert line(cat, "Run inference with unet_small").startswith("python test.py")


def test_percent_fraction_help_list_compound_names_and_lists(cat) -> None:  # noqa: ANN001
    code = line(cat, "Train with 10% held out, randomly initialized weights, batch size 512, lr 0.5 "
                     "decayed at epochs 30 and 60, 80 epochs")
    assert "--holdout_fraction 0.1" in code and "--init random" in code
    assert "--batch_size 512" in code and "--size" not in code.replace("--batch_size", "")
    assert "--learning_rate 0.5" in code and "--lr_steps 30 60" in code and "--epochs 80" in code


def test_an_8_bit_flag_takes_its_number_and_memory_options_take_memory(cat) -> None:  # noqa: ANN001
    code = line(cat, "Train unet_small in 8-bit with the 7B weights, 12 GiB per GPU")
    assert "--load-8bit" in code and "--max-gpu-memory 12GiB" in code and "7B" not in code


@pytest.mark.parametrize(("help_", "values"), [
    ("random or pre_trained", ("random", "pre_trained")),
    ("split type, user or sample", ("user", "sample")),
    ("Options: VGG-Face, Facenet and ArcFace (default is VGG-Face).", ("VGG-Face", "Facenet", "ArcFace")),
    ('using which method: ``"llm.int8"``: LLM.int8() mode, ``"gptq.int4"``: GPTQ mode', ("llm.int8", "gptq.int4")),
    ("whether i.i.d or not", ()),
    ("path to the 'train' folder", ()),
])
def test_help_lists(help_: str, values: tuple[str, ...]) -> None:
    assert help_choices(Param(name="--x", help=help_)) == values


def test_output_type_and_api_choice(cat) -> None:  # noqa: ANN001
    assert wants_python("Segment cells.png with segmenter, then print the mask", cat)
    assert wants_python("Using the segmenter package, segment cells.png", cat)
    assert not wants_python("Using the segmenter command line, train unet_small", cat)
    b = synthesize("Segment cells.png with segmenter and print the mask", cat)
    assert b is not None and b.affordance.name.endswith(".segment")  # not the deprecated old_segment


def test_a_home_path_stays_bare_for_bash() -> None:
    assert shell_word("~/data/x") == "~/data/x" and shell_word("~/my data") == "'~/my data'"
    assert shell_word("a b") == "'a b'"


NERF = {
    "README.md": "```bash\npython eval.py --root_dir data/x --scene_name lego --img_wh 400 400\n```\n",
    "eval.py": (
        "import argparse\np = argparse.ArgumentParser()\n"
        "p.add_argument('--root_dir', type=str)\n"
        "p.add_argument('--scene_name', type=str, default='test', help='scene name, used as output folder name')\n"
        "p.add_argument('--img_wh', type=int, nargs=2, default=[800, 800])\n"
        "args = p.parse_args()\n"
    ),
}


def test_a_name_before_its_noun_a_default_that_is_no_split_and_a_non_square_size() -> None:
    cat = build_catalog(NERF.items())
    code = line(cat, "Evaluate the fern scene in data/llff/fern at resolution 504x378, not the data scene.")
    assert "--scene_name fern" in code and "--img_wh 504 378" in code and "--root_dir data/llff/fern" in code


def test_a_top_level_script_that_parses_an_options_class_is_an_entry() -> None:
    cat = build_catalog({
        "options/__init__.py": "",
        "options/base.py": "import argparse\nclass Options:\n    def __init__(self):\n"
                           "        self.parser = argparse.ArgumentParser()\n"
                           "        self.parser.add_argument('--name', type=str)\n"
                           "    def parse(self):\n        return self.parser.parse_args()\n",
        "train.py": "from options.base import Options\nopt = Options().parse()\nprint(opt.name)\n",
    }.items())
    train = next(a for a in cat if a.path == "train.py" and a.kind == "python-script")
    assert [p.name for p in train.params] == ["--name"]
