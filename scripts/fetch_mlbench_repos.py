#!/usr/bin/env python3
"""Clone the ML-Bench repositories at their pinned commits, for evaluations over whole checkouts.

The pins come from the "DEV repositories" table of the ML-Bench data README (``../shared/mlbench/README.md``:
``| github_id | owner/name | commit | ...``). Each repository lands in ``DEST/<owner>__<name>`` (the ``repo_dir``
of the rows), so ``mlrag eval --repos DEST`` finds it. Needs network access to github.com; without it the script
stops at the first failure with a message that says so.

A shallow fetch of the pinned commit is tried first (GitHub serves any commit by id); servers that refuse it get
a full fetch. A folder that is already a checkout of the pin is left alone; any other existing folder is refused
(never overwritten).

Usage:
    python scripts/fetch_mlbench_repos.py --dest ../mlbench-repos [--only dmlc__dgl,google-research__bert]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

_ROW = re.compile(r"^\|\s*(\d+)\s*\|\s*([\w.-]+/[\w.-]+)\s*\|\s*([0-9a-f]{40})\s*\|", re.MULTILINE)


@dataclass(frozen=True)
class Pin:
    github_id: int
    repo: str  # owner/name
    commit: str

    @property
    def folder(self) -> str:
        return self.repo.replace("/", "__")


class FetchError(Exception):
    """A repository could not be fetched; the message says why."""


def parse_pins(readme_text: str) -> list[Pin]:
    """Rows of the README's pin table (``| id | owner/name | 40-hex commit | ...``), in order."""
    return [Pin(int(m.group(1)), m.group(2), m.group(3)) for m in _ROW.finditer(readme_text)]


def _git(args: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def head_commit(folder: Path) -> str | None:
    """The checked-out commit of ``folder``, or None when it is not a git checkout."""
    if not (folder / ".git").exists():
        return None
    r = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else None


def fetch_pin(pin: Pin, dest: Path, base_url: str = "https://github.com", timeout: float = 600.0) -> str:
    """Make ``dest/<owner>__<name>`` a checkout of ``pin``; returns ``"cloned"`` or ``"present"``."""
    folder = dest / pin.folder
    url = f"{base_url.rstrip('/')}/{pin.repo}"
    if folder.exists():
        if head_commit(folder) == pin.commit:
            return "present"
        raise FetchError(f"{folder} exists and is not a checkout of {pin.commit[:12]}; move it away or pick --dest")
    folder.mkdir(parents=True)
    try:
        for args in (["init", "-q"], ["remote", "add", "origin", url]):
            _git(args, folder, timeout).check_returncode()
        r = _git(["fetch", "-q", "--depth", "1", "origin", pin.commit], folder, timeout)
        if r.returncode != 0:
            r = _git(["fetch", "-q", "origin"], folder, timeout)  # servers that refuse fetching by commit id
        if r.returncode != 0:
            last = (r.stderr.strip().splitlines() or ["no message"])[-1]
            raise FetchError(
                f"cannot fetch {url} at {pin.commit[:12]}: {last} (this needs network access to github.com)"
            )
        r = _git(["-c", "advice.detachedHead=false", "checkout", "-q", pin.commit], folder, timeout)
        if r.returncode != 0:
            raise FetchError(f"{url}: commit {pin.commit[:12]} not found after fetching: {r.stderr.strip()}")
    except subprocess.TimeoutExpired:
        _remove(folder)
        raise FetchError(f"fetching {url} took longer than {timeout:.0f} s") from None
    except (FetchError, subprocess.CalledProcessError):
        _remove(folder)
        raise
    return "cloned"


def _remove(folder: Path) -> None:
    """Remove a folder this script created for a failed clone."""
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    default_readme = Path(__file__).resolve().parents[1].parent / "shared" / "mlbench" / "README.md"
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dest", required=True, help="folder that receives one checkout per repository")
    p.add_argument("--readme", default=str(default_readme), help="the data README holding the pin table")
    p.add_argument("--only", default=None, help="comma-separated folders (owner__name) to fetch")
    p.add_argument("--base-url", default="https://github.com", help="where owner/name repositories are served")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds per git command")
    p.add_argument("--keep-going", action="store_true", help="try every repository even after a failure")
    args = p.parse_args(argv)

    readme = Path(args.readme)
    if not readme.is_file():
        print(f"fetch_mlbench_repos: data README not found: {readme} (give --readme)", file=sys.stderr)
        return 2
    pins = parse_pins(readme.read_text(encoding="utf-8"))
    if args.only:
        wanted = {w.strip() for w in args.only.split(",") if w.strip()}
        unknown = wanted - {p.folder for p in pins}
        if unknown:
            print(f"fetch_mlbench_repos: unknown --only {', '.join(sorted(unknown))}; known: "
                  f"{', '.join(p.folder for p in pins)}", file=sys.stderr)
            return 2
        pins = [p for p in pins if p.folder in wanted]
    if not pins:
        print(f"fetch_mlbench_repos: no pin table (| id | owner/name | commit |) in {readme}", file=sys.stderr)
        return 2
    dest = Path(args.dest)
    dest.mkdir(parents=True, exist_ok=True)
    failed = 0
    for pin in pins:
        try:
            what = fetch_pin(pin, dest, args.base_url, args.timeout)
            print(f"{what:8} {pin.folder} @ {pin.commit[:12]}")
        except FetchError as e:
            failed += 1
            print(f"fetch_mlbench_repos: {e}", file=sys.stderr)
            if not args.keep_going:
                print(f"fetch_mlbench_repos: stopped after the first failure ({len(pins)} repositories listed)",
                      file=sys.stderr)
                return 1
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
