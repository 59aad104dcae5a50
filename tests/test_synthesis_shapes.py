"""Shapes of scripts seen in the wild that a catalog must still read, each on a tiny repository written here:
a script that reads ``sys.argv`` with no parser and no ``__main__`` guard, an ``argparse.REMAINDER`` positional,
choices listed in an option's help in quotes, weights files and load options, and a script run from an
ancestor folder. Checked by invariants (options exist, values come from the task) and exact commands."""

from __future__ import annotations

import shlex

from mlrag.catalog import build_catalog
from mlrag.generation.synthesis import render, synthesize

ARGV = {
    "tools/convert.py": (
        "import os, sys\n"
        "src_dir = sys.argv[1]\n"
        "out_dir = sys.argv[2]\n"
        "rate = int(sys.argv[3])\n"
        "for f in os.listdir(src_dir):\n"
        "    print(f, out_dir, rate)\n"
    ),
    "tools/helper.py": "import sys\n\ndef main():\n    return sys.argv[1]\n",
}


def test_sys_argv_script_without_main_guard_is_an_entry_with_positionals_in_order() -> None:
    cat = build_catalog(ARGV.items())
    a = cat.get("python-script:tools/convert.py")
    assert a is not None
    assert [(p.name, p.kind, p.position, p.type) for p in a.params] == [
        ("src_dir", "positional", 0, "path"), ("out_dir", "positional", 1, "path"), ("rate", "positional", 2, "int"),
    ]  # fmt: skip
    # sys.argv read only inside a function that nothing at module level calls: not a script
    assert cat.get("python-script:tools/helper.py") is None


def test_sys_argv_positionals_bound_from_the_task() -> None:
    cat = build_catalog(ARGV.items())
    b = synthesize("Convert the files in data/flac into data/wav at a rate of 16000 with convert.py", cat,
                   workdir="tools", output_type="bash")  # fmt: skip
    assert b is not None and b.affordance.path == "tools/convert.py"
    assert shlex.split(render(b, "tools")[0]) == ["python", "convert.py", "data/flac", "data/wav", "16000"]


GEN = {
    "gen/track.py": (
        "import argparse\n"
        "p = argparse.ArgumentParser()\n"
        "p.add_argument('--load_path', type=str, default=None, help='path to the model to be loaded (pretrained)')\n"
        "p.add_argument('--file_path', type=str, default=None)\n"
        "p.add_argument('--modal', type=str, default='music', help=\"the query modal, either 'music' or 'text'\")\n"
        "p.add_argument('--model_name', type=str, default='org/small-512',\n"
        "               help='The model name, either \"org/small-512\" or \"org/small-1024\"')\n"
        "p.add_argument('opts', nargs=argparse.REMAINDER, help='Modify config options')\n"
        "args = p.parse_args()\n"
    ),
}
TASK = "Generate with track.py from the checkpoints/best.pth weights for songs/a.mid, text modal, org/small-1024 model"


def test_weights_quoted_choices_and_remainder() -> None:
    cat = build_catalog(GEN.items())
    b = synthesize(TASK, cat, workdir="gen", output_type="bash")
    assert b is not None
    got = dict(zip(*[iter(shlex.split(render(b, "gen")[0])[2:])] * 2, strict=True))
    # the weights file to the option that loads a model, the other path to the plain one; the help's quoted
    # choices place "text" and the model name; nothing lands on the REMAINDER positional
    assert got == {"--load_path": "checkpoints/best.pth", "--file_path": "songs/a.mid", "--modal": "text",
                   "--model_name": "org/small-1024"}  # fmt: skip


def test_a_script_no_readme_runs_is_run_from_the_callers_ancestor_folder() -> None:
    cat = build_catalog(GEN.items())
    b = synthesize(TASK, cat, workdir="", output_type="bash")
    assert b is not None
    code = render(b, "")[0]
    assert shlex.split(code)[:2] == ["python", "gen/track.py"] and "cd " not in code
    # a README line that runs it from its folder decides: that workdir is kept
    cat = build_catalog({**GEN, "README.md": "Run it:\n\n```\ncd gen\npython track.py --modal text\n```\n"}.items())
    b = synthesize(TASK, cat, workdir="", output_type="bash")
    assert b is not None and render(b, "")[0].startswith("cd gen && python track.py")


SCENES = {
    "run.py": (
        "import argparse\n"
        "from nets import NET_models\n"
        "p = argparse.ArgumentParser()\n"
        "p.add_argument('--config', is_config_file=True, help='config file path')\n"
        "p.add_argument('--model', type=str, choices=list(NET_models), default='Net-S/2')\n"
        "p.add_argument('--ckpt', type=str, default=None, help='Optional path to a checkpoint')\n"
        "p.add_argument('--datadir', type=str, default='./data', help='input data directory')\n"
        "p.add_argument('--model_dir', type=str, default=None, help='where models are cached')\n"
        "p.add_argument('audio', nargs='+', type=str, help='audio file(s) to transcribe')\n"
        "p.add_argument('--language', type=str, default=None, help='spoken language')\n"
        "p.add_argument('--no-cuda', action='store_true', default=False, help='Disables CUDA training.')\n"
        "p.add_argument('--fastmode', action='store_true', default=False, help='Validate during training pass.')\n"
        "p.add_argument('--cfg-scale', type=float, default=4.0)\n"
        "args = p.parse_args()\n"
    ),
    "nets.py": "NET_models = {'Net-S/2': 1, 'Net-B/4': 2}\n",
    "configs/fern.txt": "expname = fern\n",
    "configs/lego.txt": "expname = lego\n",
}


def _pairs(task: str) -> dict[str, str]:
    cat = build_catalog(SCENES.items())
    b = synthesize(task, cat, output_type="bash")
    assert b is not None and b.affordance.path == "run.py"
    return {p.name: v for p, v in b.values}


def test_config_files_of_the_repository_are_values_of_config_options() -> None:
    cat = build_catalog(SCENES.items())
    entry = cat.get("config-files:configs")
    assert entry is not None and entry.values == ("configs/fern.txt", "configs/lego.txt")
    assert _pairs("Train on the lego scene with run.py on clip.wav")["--config"] == "configs/lego.txt"
    # no file named, no config; a plain English word is no config file
    assert "--config" not in _pairs("Train with the provided config on clip.wav with run.py")


def test_registry_names_weights_languages_flags_and_absolute_paths() -> None:
    task = ("With run.py, run my Net-B/4 from the checkpoint at /models/run-B-4/ckpt/0400.pt on the French "
            "recording talk.mp3 on the CPU only, in fast mode, with a cfg scale of 6.0")  # fmt: skip
    got = _pairs(task)
    assert got["--model"] == "Net-B/4"  # a name the NET_models table holds, though choices=list(...) is unread
    assert got["--ckpt"] == "/models/run-B-4/ckpt/0400.pt"  # whole, with its leading "/" and its hyphens
    assert got["audio"] == "talk.mp3" and "--model_dir" not in got  # a folder option takes no .mp3
    assert got["--language"] == "French"
    assert got["--no-cuda"] == "" and got["--fastmode"] == ""
    assert got["--cfg-scale"] == "6.0"  # "cfg" here is classifier-free guidance, not a config file
    for p, v in got.items():  # every option is the script's own, every value the task's
        assert f"'{p}'" in SCENES["run.py"] and v in task


def test_a_module_that_only_builds_a_parser_for_a_script_is_no_entry() -> None:
    opts = ("import argparse\n\ndef get_opts():\n    p = argparse.ArgumentParser()\n"
            "    p.add_argument('--root_dir', type=str)\n    p.add_argument('--num_epochs', type=int, default=16)\n"
            "    return p.parse_args()\n")  # fmt: skip
    train = "from opt import get_opts\n\nif __name__ == '__main__':\n    hparams = get_opts()\n"
    lonely = opts.replace("get_opts", "get_args")  # a parser module nothing imports stays an entry
    cat = build_catalog([("opt.py", opts), ("train.py", train), ("tools/args.py", lonely)])
    scripts = {a.path: a for a in cat.of_kind("python-script")}
    assert set(scripts) == {"train.py", "tools/args.py"}
    assert {p.name for p in scripts["train.py"].params} == {"--root_dir", "--num_epochs"}
