"""How often ``mlrag.check`` is wrong on real repositories: false alarms on the ML-Bench DEV gold answers, and
invented options it catches when one option of a gold answer is misspelt.

For each DEV row (full checkout under ``--checkouts``, the row's ``path`` as the working folder):

* gold: ``check_code(row.output)``; a problem on a gold answer is a false alarm unless the gold answer itself
  is wrong (ML-Bench has such rows: every flagged row is printed so a reader can judge);
* mutated: for gold bash answers with no problem, each ``--option`` in turn gets two inner letters swapped
  (``--num-stacks`` -> ``--nmu-stacks``); it should be flagged, with the real option suggested.

Usage:
    python benchmarks/bench_check.py --checkouts ../bench/checkouts [--data ../shared/mlbench/dev.jsonl]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

from mlrag.agent import check_code
from mlrag.agent.check import file_reader
from mlrag.catalog import build_catalog, read_sources
from mlrag.config import Config
from mlrag.repo import walk_repo

_OPT = re.compile(r"(?<![\w-])(--[A-Za-z][\w-]{3,})")


def _swap(opt: str) -> str:
    body = opt[2:]
    i = 1
    while i + 1 < len(body) and body[i] == body[i + 1]:
        i += 1
    return "--" + body[:i] + body[i + 1] + body[i] + body[i + 2 :]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkouts", required=True, type=Path)
    ap.add_argument("--data", default=Path(__file__).resolve().parents[2] / "shared/mlbench/dev.jsonl", type=Path)
    ap.add_argument("--json", type=Path, help="write per-row results here")
    args = ap.parse_args()
    rows = [json.loads(line) for line in args.data.read_text().splitlines() if line.strip()]
    cfg = Config()
    repos: dict[str, tuple] = {}
    t_catalog = 0.0
    out = []
    for row in rows:
        name = row["repo_dir"]
        root = args.checkouts / name
        if name not in repos:
            t0 = time.perf_counter()
            files = walk_repo(root, cfg.walk)
            catalog = build_catalog(read_sources(root, files))
            t_catalog += time.perf_counter() - t0
            repos[name] = (catalog, {f.path for f in files}, file_reader(root))
        catalog, paths, read = repos[name]
        workdir = row["path"].strip().removeprefix("./").strip("/")
        lang = "python" if row["type"].startswith("Python") else "bash"
        t0 = time.perf_counter()
        gold = check_code(row["output"], catalog, paths, workdir=workdir, read=read, language=lang)
        dt = time.perf_counter() - t0
        rec = {"id": row["id"], "repo": name, "lang": lang, "workdir": workdir, "output": row["output"],
               "gold": gold.to_dict(), "seconds": dt, "mutations": []}  # fmt: skip
        if lang == "bash" and gold.valid:
            for opt in dict.fromkeys(_OPT.findall(row["output"])):
                bad = _swap(opt)
                if bad == opt:
                    continue
                code = re.sub(rf"(?<![\w-]){re.escape(opt)}(?![\w-])", bad, row["output"], count=1)
                r = check_code(code, catalog, paths, workdir=workdir, read=read, language="bash")
                rec["mutations"].append({"option": opt, "mutated": bad, "flagged": not r.valid,
                                         "suggested": any(opt in p for p in r.problems)})  # fmt: skip
        out.append(rec)
    n = Counter(r["lang"] for r in out)
    flagged = [r for r in out if not r["gold"]["valid"]]
    muts = [m for r in out for m in r["mutations"]]
    print(f"rows: {len(out)} ({n['bash']} bash, {n['python']} python); catalogs built in {t_catalog:.1f} s")
    for lang in ("bash", "python"):
        k = sum(1 for r in flagged if r["lang"] == lang)
        print(f"gold {lang} answers flagged: {k}/{n[lang]}")
    if muts:
        caught = sum(m["flagged"] for m in muts)
        named = sum(m["suggested"] for m in muts)
        gold = sum(1 for r in out if r["mutations"])
        print(f"misspelt options: {len(muts)} in {gold} gold commands; flagged {caught} ({caught / len(muts):.1%}), "
              f"real option named {named} ({named / len(muts):.1%})")  # fmt: skip
    secs = sorted(r["seconds"] for r in out)
    print(f"check time per row: median {secs[len(secs) // 2] * 1000:.1f} ms, max {secs[-1] * 1000:.1f} ms")
    print("\nflagged gold answers:")
    for r in flagged:
        print(f"- [{r['repo']} #{r['id']} {r['lang']} in {r['workdir'] or '.'}] {r['output'][:160]!r}")
        for p in r["gold"]["problems"]:
            print(f"    {p[:220]}")
    missed = [(r["id"], m) for r in out for m in r["mutations"] if not m["flagged"]]
    if missed:
        print("\nmisspelt options not flagged:")
        for rid, m in missed:
            print(f"- #{rid}: {m['mutated']} (for {m['option']})")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
