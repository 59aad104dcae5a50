"""Documented commands as templates (``generation.templates``), on a small restoration repository written here
whose README runs its one script once per task and strength: the command that fits the task is the template,
what the task states wins, and nothing outside the script's options is ever written."""

from __future__ import annotations

import shlex

import pytest

from mlrag.catalog import Catalog, build_catalog
from mlrag.generation.synthesis import render, synthesize
from mlrag.generation.templates import best_template, documented_commands, template_values

SCRIPT = (
    "import argparse\n"
    "p = argparse.ArgumentParser()\n"
    "p.add_argument('--mode', type=str, default='deblur', help='deblur, denoise or inpaint')\n"
    "p.add_argument('--strength', type=int, default=10, help='noise strength')\n"
    "p.add_argument('--weights', type=str, default=None, help='weights file')\n"
    "p.add_argument('--input_dir', type=str, default='samples', help='folder of input images')\n"
    "p.add_argument('--out', type=str, default='out.png', help='where the result is written')\n"
    "p.add_argument('--iters', type=int, default=100, help='number of iterations')\n"
    "p.add_argument('--tiled', action='store_true', help='process in tiles')\n"
    "args = p.parse_args()\n"
)
README = (
    "# restorekit\n\n"
    "## Denoising\n\n"
    "```bash\n"
    "python restore.py --mode denoise --strength 15 --weights zoo/denoise_s15.pth --input_dir data/Kodak24 "
    "--iters 300\n"
    "python restore.py --mode denoise --strength 25 --weights zoo/denoise_s25.pth --input_dir data/Kodak24 "
    "--iters 300\n"
    "$ python restore.py --mode denoise --strength 50 --weights zoo/denoise_s50.pth \\\n"
    "    --input_dir data/Kodak24 --iters 300\n"
    "```\n\n"
    "## Inpainting\n\n"
    "Run `python restore.py --mode inpaint --weights zoo/inpaint.pth --input_dir data/Places --out result.png "
    "--tiled`.\n"
    "\n"
    "Or with your own folder: `python restore.py --mode inpaint --input_dir <your_folder>`.\n"
    "\n"
    "## Deblurring\n\n"
    "A quick look: `python restore.py --mode deblur --iters 20`.\n"
)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return build_catalog([("README.md", README), ("restore.py", SCRIPT)])


def _options(code: str) -> dict[str, str]:
    toks = shlex.split(code)
    out: dict[str, str] = {}
    for i, t in enumerate(toks):
        if t.startswith("--"):
            nxt = toks[i + 1] if i + 1 < len(toks) else ""
            out[t] = "" if not nxt or nxt.startswith("--") else nxt
    return out


def test_every_documented_command_is_in_the_catalog(catalog: Catalog) -> None:
    entry = catalog.get("python-script:restore.py")
    assert entry is not None
    assert len(entry.usage) == 6  # prompts stripped, continuations joined, inline code read
    assert all(line.startswith("python restore.py --mode") for line in entry.usage)
    assert "--input_dir data/Kodak24 --iters 300" in entry.usage[2]
    assert [u.retrieved for u in documented_commands(entry)] == [False] * 6


@pytest.mark.parametrize(
    "task, want",
    [
        # the line that agrees with the stated strength is the template: its weights, folder and mode, and (a
        # recipe of five options) its iterations
        ("Denoise the Kodak24 images at strength 25",
         {"--mode": "denoise", "--strength": "25", "--weights": "zoo/denoise_s25.pth", "--input_dir": "data/Kodak24",
          "--iters": "300"}),
        # no line has strength 35: the first denoising line, with the stated strength put into its weights file
        ("Denoise the Kodak24 images at strength 35",
         {"--mode": "denoise", "--strength": "35", "--weights": "zoo/denoise_s35.pth", "--input_dir": "data/Kodak24",
          "--iters": "300"}),
        # what the task states wins over the recipe's number
        ("Denoise the Kodak24 images at strength 25 with 40 iterations",
         {"--mode": "denoise", "--strength": "25", "--weights": "zoo/denoise_s25.pth", "--input_dir": "data/Kodak24",
          "--iters": "40"}),
        # a two-option example only demonstrates: its mode is taken, its number is not the task's
        ("Deblur the images in blurry/",
         {"--mode": "deblur", "--input_dir": "blurry/"}),
        # the word "Places" names the inpainting line's folder; its flag and output come with it
        ("Inpaint the Places pictures",
         {"--mode": "inpaint", "--weights": "zoo/inpaint.pth", "--input_dir": "data/Places", "--out": "result.png",
          "--tiled": ""}),
        # the task's own image goes where the line writes one, and its folder replaces the line's
        ("Inpaint the photos in my_pics/ and save the result as fixed.jpg",
         {"--mode": "inpaint", "--weights": "zoo/inpaint.pth", "--input_dir": "my_pics/", "--out": "fixed.jpg",
          "--tiled": ""}),
    ],
)  # fmt: skip
def test_the_best_fitting_documented_command_writes_what_the_task_left_open(
    catalog: Catalog, task: str, want: dict[str, str]
) -> None:
    binding = synthesize(task, catalog, usage=True)
    assert binding is not None and binding.affordance.id == "python-script:restore.py"
    got = _options(render(binding)[0])
    assert got == want
    entry = catalog.get("python-script:restore.py")
    assert entry is not None
    assert set(got) <= {p.name for p in entry.params}  # never an option the script lacks
    # a recipe's numbers come with it, a short example's never do: the script's default stands
    assert ("--iters" in got) == (got.get("--mode") == "denoise")


def test_without_inheritance_only_the_task_is_written(catalog: Catalog) -> None:
    binding = synthesize("Denoise the Kodak24 images at strength 25", catalog, usage=False)
    assert binding is not None
    assert set(_options(render(binding)[0])) <= {"--mode", "--strength", "--input_dir"}
    # a task that points at no documented command (no value of any line said) is written as it says
    binding = synthesize("Process the pictures at strength 7", catalog, usage=True)
    assert binding is not None and _options(render(binding)[0]) == {"--strength": "7"}


def test_placeholders_and_unknown_spellings_are_never_taken() -> None:
    cat = build_catalog([("restore.py", SCRIPT), ("README.md", "`python restore.py --mode inpaint --input_dir "
                                                              "<your_folder> --weights $W --nope 3`\n")])  # fmt: skip
    entry = cat.get("python-script:restore.py")
    assert entry is not None and entry.usage
    best = best_template("inpaint my pictures", entry, [])
    assert best is not None
    assert {p.name for p, _ in best[1]} <= {"--mode", "--input_dir", "--weights"}  # --nope is no option
    written = dict((p.name, v) for p, v in template_values("inpaint my pictures", entry, []))
    assert written == {"--mode": "inpaint"}


def test_a_script_no_line_runs_is_left_as_bound(catalog: Catalog) -> None:
    cat = build_catalog([("restore.py", SCRIPT)])
    entry = cat.get("python-script:restore.py")
    assert entry is not None and entry.usage == ()
    pairs = [(entry.param("--strength"), "5")]
    assert template_values("strength 5", entry, pairs) == pairs  # type: ignore[arg-type]


def test_documented_values_show_each_option_its_kind(catalog: Catalog) -> None:
    from mlrag.generation.templates import PLACEHOLDER, documented_shapes, value_shape

    entry = catalog.get("python-script:restore.py")
    assert entry is not None
    shapes = documented_shapes(entry)
    assert shapes["--strength"] == {"number"} and shapes["--mode"] == {"text"}
    assert shapes["--weights"] == shapes["--input_dir"] == {"path"}  # <your_folder> hides its kind
    assert [value_shape(v) for v in ("1e-4", "huggyllama/llama-7b", "x.pth", "DIV2K", "$DATA")] == [
        "number", "path", "path", "text", ""]
    for v in ("[path_to_coco_dataset]", "/path/to/imagenet", "<name>", "YOUR_TOKEN", "$ROOT"):
        assert PLACEHOLDER.search(v), v
    assert not PLACEHOLDER.search("testsets/Set5/HR")


# --- a diffusion-style repository: options from a dict of defaults, README settings held in shell variables

UTIL = (
    "import argparse\n\n"
    "def diffusion_defaults():\n"
    "    return dict(steps=1000, noise_schedule='linear', learn_sigma=False)\n\n"
    "def model_defaults():\n"
    "    res = dict(image_size=64, num_channels=128, dropout=0.0)\n"
    "    res.update(diffusion_defaults())\n"
    "    return res\n\n"
    "def add_dict_to_argparser(parser, default_dict):\n"
    "    for k, v in default_dict.items():\n"
    "        parser.add_argument(f'--{k}', default=v, type=type(v))\n"
)
TRAIN = (
    "import argparse\n"
    "from diffkit.script_util import add_dict_to_argparser, model_defaults\n\n"
    "def create_argparser():\n"
    "    defaults = dict(data_dir='', lr=1e-4, batch_size=1)\n"
    "    defaults.update(model_defaults())\n"
    "    parser = argparse.ArgumentParser()\n"
    "    add_dict_to_argparser(parser, defaults)\n"
    "    return parser\n\n"
    "if __name__ == '__main__':\n"
    "    create_argparser().parse_args()\n"
)
DIFF_README = (
    "# diffkit\n\n## Training\n\n```\n"
    'MODEL_FLAGS="--image_size 64 --num_channels 128"\n'
    'DIFFUSION_FLAGS="--steps 4000 --noise_schedule linear"\n'
    'TRAIN_FLAGS="--lr 1e-4 --batch_size 128"\n'
    "```\n\n```\n"
    "python scripts/train.py --data_dir path/to/images $MODEL_FLAGS $DIFFUSION_FLAGS $TRAIN_FLAGS\n"
    "```\n\n## Models\n\nSmall images:\n\n```bash\n"
    'MODEL_FLAGS="--image_size 32 --num_channels 128 --learn_sigma True --dropout 0.3"\n'
    'DIFFUSION_FLAGS="--steps 4000 --noise_schedule cosine"\n'
    "```\n"
)


@pytest.fixture(scope="module")
def diffkit() -> Catalog:
    return build_catalog([("README.md", DIFF_README), ("diffkit/__init__.py", ""),
                          ("diffkit/script_util.py", UTIL), ("scripts/train.py", TRAIN)])  # fmt: skip


def test_options_added_in_a_loop_over_a_dict_of_defaults_are_the_scripts_options(diffkit: Catalog) -> None:
    entry = diffkit.get("python-script:scripts/train.py")
    assert entry is not None
    params = {p.name: p for p in entry.params}
    # the script's own dict, and the keys of the dicts the helper functions of another module return
    assert set(params) == {"--data_dir", "--lr", "--batch_size", "--image_size", "--num_channels", "--dropout",
                           "--steps", "--noise_schedule", "--learn_sigma"}  # fmt: skip
    assert params["--lr"].type == "float" and params["--lr"].default == "0.0001"
    assert params["--image_size"].type == "int" and params["--noise_schedule"].default == "linear"
    assert not params["--learn_sigma"].is_flag  # type=type(v) of a bool: it takes a value


def test_settings_held_in_shell_variables_are_written_out_once_per_block(diffkit: Catalog) -> None:
    entry = diffkit.get("python-script:scripts/train.py")
    assert entry is not None
    assert len(entry.usage) == 2 and not any("$" in line for line in entry.usage)
    first, small = entry.usage
    assert "--image_size 64" in first and "--lr 1e-4 --batch_size 128" in first
    # the second block sets MODEL_FLAGS and DIFFUSION_FLAGS; TRAIN_FLAGS stays the one set before it
    assert "--image_size 32 --num_channels 128 --learn_sigma" in small and "--noise_schedule cosine" in small
    assert "--lr 1e-4 --batch_size 128" in small


def test_a_recipe_the_task_points_at_gives_its_settings_and_its_documented_names(diffkit: Catalog) -> None:
    task = "Train on the 32x32 images in data/cifar with the cosine noise schedule instead, and a batch size of 64"
    binding = synthesize(task, diffkit, usage=True)
    assert binding is not None
    got = _options(render(binding)[0])
    entry = diffkit.get("python-script:scripts/train.py")
    assert entry is not None and set(got) <= {p.name for p in entry.params}
    assert got["--noise_schedule"] == "cosine"  # the documented name the task says, not "instead"
    assert got["--image_size"] == "32" and got["--batch_size"] == "64" and got["--data_dir"] == "data/cifar"
    # the recipe's own settings, its numbers too; "64" replacing 128 leaves other options' numbers alone
    assert got["--num_channels"] == "128" and got["--dropout"] == "0.3" and got["--lr"] == "1e-4"
    assert got["--learn_sigma"] == "True"


def test_commands_wrapped_in_html_tags_are_documented_commands() -> None:
    readme = ("# r\n\n<pre>python -m torch.distributed.run --nproc_per_node=8 train.py \\\n"
              "--config ./configs/base.yaml --output_dir output/base </pre>\n\n"
              "Or <code>python train.py --config configs/small.yaml</code>.\n")  # fmt: skip
    script = ("import argparse\np = argparse.ArgumentParser()\np.add_argument('--config')\n"
              "p.add_argument('--output_dir')\n")  # fmt: skip
    entry = build_catalog([("README.md", readme), ("train.py", script)]).get("python-script:train.py")
    assert entry is not None
    assert entry.usage == (
        "python -m torch.distributed.run --nproc_per_node=8 train.py --config ./configs/base.yaml"
        " --output_dir output/base",
        "python train.py --config configs/small.yaml",
    )
