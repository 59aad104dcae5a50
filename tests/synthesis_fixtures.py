"""Two small repositories written for the synthesis bars, with tasks and the command each task asks for.

``SOUND`` (6 tasks): argparse scripts with choices and flags, a shell script with positional arguments, a Python
API. ``VISION`` (8 tasks): a parser built in another module, ``HfArgumentParser`` dataclasses, a click group, make
variables, ``${VAR:-default}`` inputs, an API with a name registry. Neither shape nor wording comes from ML-Bench.

``same_command(got, want)`` compares what matters and not the spelling: the environment assignments, the program,
the script or subcommand words and the options as a set of (name, value) pairs; for Python, the called name and
its arguments.
"""

from __future__ import annotations

import ast
import shlex
from pathlib import Path

SOUND_FILES = {
    "README.md": (
        "# soundlab\n\nAudio classification.\n\n```\npython train.py --dataset esc50 --epochs 10\n"
        "python eval.py --checkpoint runs/last.pt\nbash scripts/prepare.sh data/raw\n```\n"
    ),
    "train.py": (
        "import argparse\n\n"
        "def main():\n"
        "    p = argparse.ArgumentParser(description='train an audio classifier')\n"
        "    p.add_argument('--dataset', choices=['esc50', 'urbansound8k', 'speechcommands'], default='esc50')\n"
        "    p.add_argument('--epochs', type=int, default=10, help='number of epochs')\n"
        "    p.add_argument('--lr', type=float, default=1e-3, help='learning rate')\n"
        "    p.add_argument('--backbone', choices=['cnn14-small', 'cnn14-large'], default='cnn14-small')\n"
        "    p.add_argument('--out-dir', default='runs/', help='where results are written')\n"
        "    p.add_argument('--mixup', action='store_true', help='use mixup augmentation')\n"
        "    return p.parse_args()\n\n"
        "if __name__ == '__main__':\n    main()\n"
    ),
    "eval.py": (
        "import argparse\n"
        "p = argparse.ArgumentParser(description='evaluate a checkpoint')\n"
        "p.add_argument('--checkpoint', required=True, help='checkpoint file')\n"
        "p.add_argument('--split', choices=['val', 'test'], default='val')\n"
        "p.add_argument('--batch-size', type=int, default=32)\n"
        "args = p.parse_args()\n"
    ),
    "scripts/prepare.sh": (
        "#!/bin/bash\n# prepare raw audio: prepare.sh RAW_DIR [SAMPLE_RATE]\nRAW=$1\nRATE=${2:-16000}\n"
        "python -c \"print('resampling', '$RAW', $RATE)\"\n"
    ),
    "soundlab/__init__.py": "",
    "soundlab/api.py": (
        "def load_model(name, device='cpu'):\n    '''Load a trained classifier by name.'''\n    return name\n\n"
        "def predict(model, wav_path):\n    '''Class probabilities for one file.'''\n    return {}\n"
    ),
}

SOUND_TASKS = [
    (
        "Train the large CNN14 backbone on UrbanSound8K for 30 epochs with a learning rate of 0.0003",
        "python train.py --dataset urbansound8k --epochs 30 --lr 0.0003 --backbone cnn14-large",
    ),
    (
        "Evaluate the checkpoint runs/best.pt on the test split with batch size 64",
        "python eval.py --checkpoint runs/best.pt --split test --batch-size 64",
    ),
    ("Prepare the raw audio in data/raw at a sample rate of 22050", "bash scripts/prepare.sh data/raw 22050"),
    (
        "Train on ESC-50 with mixup and write the results to 'out/esc'",
        "python train.py --dataset esc50 --mixup --out-dir out/esc",
    ),
    (
        "Write Python code that loads the model 'cnn14-small' on the device 'cuda'",
        "from soundlab.api import load_model\nload_model(name='cnn14-small', device='cuda')",
    ),
    ("Train on speech commands for 5 epochs", "python train.py --dataset speechcommands --epochs 5"),
]

VISION_FILES = {
    "README.md": (
        "# visionkit\n\n`python tools/train.py`, `make bench`, `bash scripts/launch.sh`, `python manage.py`.\n"
    ),
    "options/__init__.py": "",
    "options/train_options.py": (
        "import argparse\n\n"
        "def get_args():\n"
        "    parser = argparse.ArgumentParser()\n"
        "    parser.add_argument('--img-size', type=int, default=224, help='input image size')\n"
        "    parser.add_argument('--optimizer', choices=['adamw', 'sgd'], default='adamw')\n"
        "    parser.add_argument('--warmup-steps', type=int, default=0, help='linear warmup steps')\n"
        "    return parser.parse_args()\n"
    ),
    "tools/train.py": (
        "import sys\nsys.path.insert(0, '.')\nfrom options.train_options import get_args\n\n"
        "if __name__ == '__main__':\n    args = get_args()\n"
    ),
    "finetune.py": (
        "from dataclasses import dataclass, field\n"
        "from transformers import HfArgumentParser\n\n"
        "@dataclass\nclass ModelArguments:\n"
        "    model_name_or_path: str = field(metadata={'help': 'pretrained model name or path'})\n\n"
        "@dataclass\nclass DataArguments:\n"
        "    train_file: str = field(default=None, metadata={'help': 'training data file'})\n"
        "    max_seq_length: int = field(default=128, metadata={'help': 'maximum sequence length'})\n\n"
        "if __name__ == '__main__':\n"
        "    HfArgumentParser((ModelArguments, DataArguments)).parse_args_into_dataclasses()\n"
    ),
    "manage.py": (
        "import click\n\n@click.group()\ndef cli():\n    '''Manage trained models.'''\n\n"
        "@cli.command()\n@click.option('--format', type=click.Choice(['onnx', 'torchscript']), default='onnx')\n"
        "@click.option('--opset', type=int, default=13)\ndef export(format, opset):\n    '''Export a model.'''\n\n"
        "@cli.command()\n@click.option('--port', type=int, default=8000)\n"
        "def serve(port):\n    '''Serve a model.'''\n\n"
        "if __name__ == '__main__':\n    cli()\n"
    ),
    "Makefile": (
        "BATCH ?= 32\nDEVICE ?= cpu\n\nbench:\n\tpython -c \"print('bench', $(BATCH), '$(DEVICE)')\"\n\n.PHONY: bench\n"
    ),
    "scripts/launch.sh": (
        "#!/bin/bash\nNGPUS=${NGPUS:-1}\nCONFIG=${CONFIG:-configs/base.yaml}\n"
        "echo launching on $NGPUS gpus with $CONFIG\npython tools/train.py\n"
    ),
    "visionkit/__init__.py": "",
    "visionkit/registry.py": (
        "BACKBONES = {}\n\n"
        "def register_backbone(name):\n    def wrap(fn):\n        BACKBONES[name] = fn\n        return fn\n"
        "    return wrap\n\n"
        "@register_backbone('convnext-tiny')\ndef convnext_tiny():\n    return 'convnext-tiny'\n\n"
        "@register_backbone('vit-small')\ndef vit_small():\n    return 'vit-small'\n\n"
        "def create_backbone(name, pretrained=False):\n    '''Build a registered backbone by name.'''\n"
        "    return BACKBONES[name]()\n"
    ),
}

VISION_TASKS = [
    (
        "Train with an image size of 384 using the SGD optimizer and 500 warmup steps",
        "python tools/train.py --img-size 384 --optimizer sgd --warmup-steps 500",
    ),
    (
        "Fine-tune bert-base-uncased on data/train.json with a maximum sequence length of 256",
        "python finetune.py --model_name_or_path bert-base-uncased --train_file data/train.json --max_seq_length 256",
    ),
    ("Export the model to ONNX with opset 17", "python manage.py export --format onnx --opset 17"),
    ("Serve the model on port 8080", "python manage.py serve --port 8080"),
    ("Run the benchmark with a batch of 64 on the device cuda", "make bench BATCH=64 DEVICE=cuda"),
    (
        "Launch training on 4 GPUs with the config configs/large.yaml",
        "NGPUS=4 CONFIG=configs/large.yaml bash scripts/launch.sh",
    ),
    (
        "Write Python code that creates the 'vit-small' backbone",
        "from visionkit.registry import create_backbone\ncreate_backbone(name='vit-small')",
    ),
    ("Train with the AdamW optimizer at image size 224", "python tools/train.py --optimizer adamw --img-size 224"),
]

FIXTURES = {"sound": (SOUND_FILES, SOUND_TASKS), "vision": (VISION_FILES, VISION_TASKS)}


def write_repo(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def _python_call(code: str) -> tuple[str, tuple[str, ...], frozenset[tuple[str, str]]] | None:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and ast.unparse(n.func) not in ("print",)]
    if not calls:
        return None
    c = calls[0]
    kwargs = frozenset((k.arg or "**", ast.unparse(k.value).strip("'\"")) for k in c.keywords)
    return ast.unparse(c.func).rsplit(".", 1)[-1], tuple(ast.unparse(a).strip("'\"") for a in c.args), kwargs


def _bash(code: str) -> tuple[frozenset[str], tuple[str, ...], frozenset[tuple[str, str]]] | None:
    line = code.strip().split("&&")[-1].strip()
    try:
        toks = shlex.split(line)
    except ValueError:
        return None
    env = frozenset(t for t in toks if "=" in t and not t.startswith("-") and t.split("=")[0].isupper())
    rest = [t for t in toks if t not in env]
    words: list[str] = []
    opts: set[tuple[str, str]] = set()
    i = 0
    while i < len(rest):
        t = rest[i]
        if t.startswith("-"):
            name, eq, value = t.partition("=")
            if not eq and i + 1 < len(rest) and not rest[i + 1].startswith("-"):
                value = rest[i + 1]
                i += 1
            opts.add((name, value))
        else:
            words.append(t)
        i += 1
    if words and words[0] in ("python", "python3"):
        words[0] = "python"
    return env, tuple(words), frozenset(opts)


def same_command(got: str, want: str) -> bool:
    """Whether ``got`` does what ``want`` does (see the module docstring)."""
    if "import " in want or "(" in want:
        return _python_call(want) is not None and _python_call(got) == _python_call(want)
    return _bash(got) is not None and _bash(got) == _bash(want)
