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
    assert len(entry.usage) == 5  # prompts stripped, continuations joined, inline code read
    assert all(line.startswith("python restore.py --mode") for line in entry.usage)
    assert "--input_dir data/Kodak24 --iters 300" in entry.usage[2]
    assert [u.retrieved for u in documented_commands(entry)] == [False] * 5


@pytest.mark.parametrize(
    "task, want",
    [
        # the line that agrees with the stated strength is the template: its weights, folder and mode
        ("Denoise the Kodak24 images at strength 25",
         {"--mode": "denoise", "--strength": "25", "--weights": "zoo/denoise_s25.pth", "--input_dir": "data/Kodak24"}),
        # no line has strength 35: the first denoising line, with the stated strength put into its weights file
        ("Denoise the Kodak24 images at strength 35",
         {"--mode": "denoise", "--strength": "35", "--weights": "zoo/denoise_s35.pth", "--input_dir": "data/Kodak24"}),
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
    assert "--iters" not in got  # the README's numbers are not the task's: the script's default stands


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
