"""Names in tasks: a hub name goes where a model is named, a name goes to no option whose help lists other values,
and a checkpoint path keeps its ``epoch=15`` (shapes that unseen repositories showed; a repository written here)."""

from __future__ import annotations

from mlrag.catalog import build_catalog
from mlrag.catalog.examples import fill_slots
from mlrag.generation.synthesis import example_values, help_choices, hub_id, render, synthesize, task_literals

REPO = {
    "finetune.py": (
        "import argparse\n"
        "p = argparse.ArgumentParser()\n"
        "p.add_argument('--model_name_or_path', type=str, default='acme/base-1b', help='model to tune')\n"
        "p.add_argument('--cache_dir', type=str, default=None, help='folder where downloads are kept')\n"
        "p.add_argument('--dataset', type=str, default='alpaca', help='dataset file or name')\n"
        "p.add_argument('--output_dir', type=str, default='./output', help='where checkpoints go')\n"
        "args = p.parse_args()\n"
    ),
    "train.py": (
        "import argparse\n"
        "p = argparse.ArgumentParser()\n"
        "p.add_argument('--arch', type=str, default='convnet_tiny', help='model to train')\n"
        "p.add_argument('--train_interpolation', type=str, default='bicubic',\n"
        "               help='Training interpolation (random, bilinear, bicubic default: \"bicubic\")')\n"
        "p.add_argument('--data_path', type=str, default='data', help='dataset folder')\n"
        "p.add_argument('--epochs', type=int, default=300)\n"
        "args = p.parse_args()\n"
    ),
    "tts.py": (
        "import argparse\n"
        "p = argparse.ArgumentParser()\n"
        "p.add_argument('--device', type=str, default='cuda', help='device to run on')\n"
        "p.add_argument('--rank', type=int, default=0, help='rank of this process')\n"
        "p.add_argument('--batch_size', type=int, default=64)\n"
        "p.add_argument('--log_dir', type=str, default='logs')\n"
        "args = p.parse_args()\n"
    ),
    "extract.py": (
        "import argparse\n"
        "p = argparse.ArgumentParser()\n"
        "p.add_argument('--ckpt', type=str)\n"
        "p.add_argument('--name', type=str, help='name of the lmdb to write')\n"
        "p.add_argument('path', type=str)\n"
        "args = p.parse_args()\n"
    ),
    "render.py": (
        "import argparse\n"
        "p = argparse.ArgumentParser()\n"
        "p.add_argument('--ckpt_path', type=str, required=True, help='checkpoint to load')\n"
        "p.add_argument('--scene', type=str, default='lego')\n"
        "args = p.parse_args()\n"
    ),
}


def _values(task: str, path: str) -> dict[str, str]:
    b = synthesize(task, build_catalog(REPO.items()), output_type="bash")
    assert b is not None and b.affordance.path == path, b and b.affordance.path
    assert render(b)[0].startswith(f"python {path}")
    return {p.name: v for p, v in b.values}


def test_a_hub_name_goes_where_the_model_is_named_not_to_a_folder_option() -> None:
    assert hub_id("EleutherAI/pythia-6.9b") and hub_id("facebook/opt-125m")
    assert not hub_id("data/cifar") and not hub_id("ckpt/model.pt") and not hub_id("./runs/x")
    got = _values("Finetune EleutherAI/pythia-6.9b on data/tickets.jsonl and write checkpoints to ./out/tickets",
                  "finetune.py")  # fmt: skip
    assert got["--model_name_or_path"] == "EleutherAI/pythia-6.9b"
    assert "--cache_dir" not in got
    assert got["--dataset"] == "data/tickets.jsonl" and got["--output_dir"] == "./out/tickets"


def test_a_name_is_no_value_of_an_option_whose_help_lists_other_values() -> None:
    # the list may end in "default: ..." inside its parentheses
    assert help_choices(build_catalog(REPO.items()).get("python-script:train.py").params[1]) == (  # type: ignore[union-attr]
        "random", "bilinear", "bicubic")  # fmt: skip
    got = _values("Train ConvNeXt-S for 90 epochs with the data in /data/imagenet", "train.py")
    assert "--train_interpolation" not in got
    assert got["--epochs"] == "90" and got["--data_path"] == "/data/imagenet"
    # a value it lists still goes there
    assert _values("Train with bilinear train interpolation", "train.py")["--train_interpolation"] == "bilinear"


def test_a_checkpoint_path_keeps_its_equals_sign() -> None:
    _, lits = task_literals("my checkpoint is ckpts/lego/epoch=15.ckpt and the lr=1e-4 run")
    assert [(x.text, x.kind) for x in lits if x.kind != "word"] == [("ckpts/lego/epoch=15.ckpt", "path"),
                                                                    ("1e-4", "number")]  # fmt: skip
    assert _values("Render the lego scene from ckpts/lego/epoch=15.ckpt", "render.py")["--ckpt_path"] == (
        "ckpts/lego/epoch=15.ckpt")  # fmt: skip


def test_memory_amounts_and_bare_counts_for_name_valued_options_are_no_values() -> None:
    got = _values("My GPU only has 12 GB, so train the tts model on 4 GPUs with batch size 32", "tts.py")
    assert got == {"--batch_size": "32"}  # not --rank 12, not --device 4


def test_a_name_the_task_calls_something_goes_to_the_option_that_takes_a_name() -> None:
    got = _values("Stage 1 finished and the checkpoint is ckpt/vq_560.pt. Extract the codes of /data/faces into an"
                  " LMDB called face_codes.", "extract.py")  # fmt: skip
    assert got == {"--ckpt": "ckpt/vq_560.pt", "--name": "face_codes", "path": "/data/faces"}


def test_a_jsonargparse_cli_reads_the_functions_parameters_as_options() -> None:
    script = ("from pathlib import Path\nfrom jsonargparse import CLI\n\n"
              "def main(checkpoint_path: Path = Path('ckpt/7B.pth'), output_path: Path = None, dtype: str = 'float32',"
              " n_samples: int = 128):\n    pass\n\nif __name__ == '__main__':\n    CLI(main)\n")  # fmt: skip
    cat = build_catalog([("quantize.py", script)])
    entry = cat.get("python-script:quantize.py")
    assert entry is not None and entry.framework == "jsonargparse"
    assert [p.name for p in entry.params] == ["--checkpoint_path", "--output_path", "--dtype", "--n_samples"]
    b = synthesize("Quantize ckpt/13B.pth into ckpt/13B-int4.pth loading in bfloat16", cat, output_type="bash")
    assert b is not None
    got = {p.name: v for p, v in b.values}
    assert got["--checkpoint_path"] == "ckpt/13B.pth" and got["--output_path"] == "ckpt/13B-int4.pth"


def test_an_examples_numbers_named_by_the_task_take_its_values() -> None:
    readme = ("# tinygpt\n\n```python\nfrom tinygpt.model import GPT\nconfig = GPT.get_default_config()\n"
              "config.model_type = 'gpt-mini'\nconfig.vocab_size = 50257\nconfig.block_size = 1024\n"
              "model = GPT(config, dropout=0.1)\n```\n")  # fmt: skip
    module = "class GPT:\n    @staticmethod\n    def get_default_config():\n        pass\n"
    cat = build_catalog([("README.md", readme), ("tinygpt/__init__.py", ""), ("tinygpt/model.py", module)])
    example = next(a for a in cat if a.kind == "python-example")
    assert [(p.name, p.dest) for p in example.params if p.type == "number"] == [
        ("50257", "vocab_size"), ("1024", "block_size"), ("0.1", "dropout")]  # fmt: skip
    task = ("Write Python code that builds the gpt-mini model with an embedding size of 512, for a vocabulary of 10000"
            " tokens and a block size of 256")  # fmt: skip
    pairs, _, fit, held = example_values(task, example, cat)
    # each number goes to the keyword its own word names ("size" alone names neither), the rest stays
    assert sorted((p.dest, v) for p, v in pairs if p.type == "number") == [("block_size", "256"),
                                                                           ("vocab_size", "10000")]  # fmt: skip
    code = fill_slots(example.run, [(p.position or 0, v) for p, v in pairs])
    assert "config.vocab_size = 10000" in code and "config.block_size = 256" in code and "dropout=0.1" in code
    # numbers fill an example, they add nothing to its fit
    assert fit == 0.0
