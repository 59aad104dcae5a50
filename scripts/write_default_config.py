"""Write configs/default.yaml from the Config dataclasses (the single source of every default).

Run after adding a config field: ``python scripts/write_default_config.py``. A test checks the file is current.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from mlrag.config import DEFAULT_CONFIG, Config

HEADER = """\
# Every default of mlrag, one section per pipeline stage. Generated from src/mlrag/config.py by
# scripts/write_default_config.py; a user config only needs the keys it changes, and the command line takes
# key.sub=value overrides (e.g. retrieval.mode=bm25). See the field comments in src/mlrag/config.py.
"""


def render() -> str:
    return HEADER + yaml.safe_dump(Config().to_dict(), sort_keys=False, default_flow_style=False)


def main() -> None:
    Path(DEFAULT_CONFIG).write_text(render(), encoding="utf-8")
    print(f"wrote {DEFAULT_CONFIG}")


if __name__ == "__main__":
    main()
