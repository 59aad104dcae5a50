"""A tiny repository the project never saw, written by the agent-tool tests (test_check.py, test_mcp.py).

Shapes: an argparse script run from its folder (choices, a required option, an int, a flag, a positional-free
CLI), a script with subcommands, a shell script with positional and named inputs that forwards nothing, a
Makefile with a variable, and a package with a registry, a function and a class.
"""

from __future__ import annotations

from pathlib import Path

FILES = {
    "README.md": """# tinytag

Part-of-speech tagging, small and fast.

## Tagging a file

```bash
cd tools && python tag.py --model tagger-l --input data/sample.txt --batch-size 16
```

## Reproduce

```bash
LR=0.01 bash scripts/sweep.sh ptb 5
make train EPOCHS=2
```
""",
    "tools/tag.py": '''"""Tag a text file."""
import argparse


def main():
    p = argparse.ArgumentParser(description="Tag every line of a file.")
    p.add_argument("--model", choices=["tagger-s", "tagger-l"], default="tagger-s", help="model size")
    p.add_argument("--input", required=True, help="text file, one sentence per line")
    p.add_argument("--batch-size", type=int, default=8, help="sentences per batch")
    p.add_argument("--verbose", action="store_true", help="print progress")
    args = p.parse_args()
    print(args)


if __name__ == "__main__":
    main()
''',
    "tools/manage.py": '''"""Train or export a tagger."""
import argparse

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    sub = parser.add_subparsers(dest="cmd")
    train = sub.add_parser("train")
    train.add_argument("--epochs", type=int, default=3)
    export = sub.add_parser("export")
    export.add_argument("--format", choices=["onnx", "torchscript"], default="onnx")
    parser.parse_args()
''',
    "scripts/sweep.sh": """#!/usr/bin/env bash
# Usage: sweep.sh DATASET EPOCHS
DATASET=${1:-ptb}
EPOCHS=${2:-5}
LR=${LR:-0.01}
python ../tools/manage.py train --epochs "$EPOCHS"
""",
    "Makefile": """EPOCHS ?= 3

train:
\tpython tools/manage.py train --epochs $(EPOCHS)

test:
\tpython -m pytest -q
""",
    "tinytag/__init__.py": '"""tinytag: tiny taggers."""\nfrom .models import build\n',
    "tinytag/models.py": '''"""Tagger models and their registry."""

MODELS = {"tagger-s": 64, "tagger-l": 256}


def build(name, dropout=0.1):
    """Build the tagger registered as ``name``."""
    return Tagger(MODELS[name], dropout=dropout)


class Tagger:
    """A tagger of ``size`` hidden units."""

    def __init__(self, size, *, dropout=0.1, lowercase=False):
        self.size = size
''',
    "requirements.txt": "numpy\n",
}


def write_repo(root: Path) -> Path:
    """Write the repository under ``root`` (created) and return ``root``."""
    for rel, text in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root
