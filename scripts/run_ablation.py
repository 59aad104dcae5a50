#!/usr/bin/env python3
"""Run an ablation file: a thin wrapper over ``mlrag eval --ablation FILE``.

Usage (from the repository root):
    python scripts/run_ablation.py configs/ablations/retrieval-depth.yaml --out results/retrieval-depth
    python scripts/run_ablation.py configs/ablations/retrieval-depth.yaml --list
    python scripts/run_ablation.py configs/ablations/generation-depth.yaml --llm default --out results/gen --dry-run

Every other option is passed on to ``mlrag eval`` (``--conditions``, ``--limit``, ``--samples``, overrides...).
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    if not argv or argv[0].startswith("-"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        from mlrag.evaluation.cli import main as eval_main
    except ImportError:  # running from a checkout that is not installed
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
        from mlrag.evaluation.cli import main as eval_main
    return eval_main(["eval", "--ablation", argv[0], *argv[1:]])


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
