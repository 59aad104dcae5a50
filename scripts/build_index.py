"""Build (or update) the indexes of one or many repositories.

Usage:
    python scripts/build_index.py examples/graphlab
    python scripts/build_index.py --list repos.txt [--config configs/my.yaml] [key.sub=value ...]
    python scripts/build_index.py --list repos.txt --ray      # on a Ray cluster (ray.address) or a local one

``repos.txt`` holds one repository per line (a local folder or a git URL[@commit]); blank lines and lines
starting with ``#`` are ignored. A repository that fails is reported and the others still build; the exit
status is 1 when any failed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from mlrag.api import build_index
from mlrag.config import load_config
from mlrag.errors import MlragError


def read_list(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise SystemExit(f"build_index: cannot read {path}: {e.strerror}") from None
    return [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("repos", nargs="*", help="repositories (folders or git URLs), or key.sub=value overrides")
    parser.add_argument("--list", type=Path, help="a file listing repositories, one per line")
    parser.add_argument("--config", help="YAML config")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--ray", action="store_true", help="build on Ray (ray.address in the config, or a local one)")
    args = parser.parse_args(argv)
    overrides = [r for r in args.repos if "=" in r and not Path(r).exists()]
    repos = [r for r in args.repos if r not in overrides]
    if args.list:
        repos += read_list(args.list)
    if not repos:
        parser.error("name at least one repository, or --list FILE")
    cfg = load_config(args.config, overrides + (["progress=false"] if args.quiet else []))
    if args.ray:
        from mlrag.distributed.ray_index import build_indexes_ray

        results = build_indexes_ray(repos, cfg, progress=cfg.progress)
        for r in results:
            print(r.line())
        return 0 if all(r.ok for r in results) else 1
    failed = 0
    for repo in repos:
        t = time.perf_counter()
        try:
            index = build_index(repo, config=cfg)
        except MlragError as e:
            failed += 1
            print(f"FAIL {repo}: {e}", file=sys.stderr)
            continue
        print(f"ok   {repo} -> {index.path} ({index.stats.summary()}; {time.perf_counter() - t:.1f}s total)")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
