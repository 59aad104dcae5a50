"""One table from several ``mlrag eval`` runs of ``configs/ablations/synthesis-modes.yaml``: rows are (model,
condition), columns strict / arg-hit x type / invented / errors / seconds per row / rows.

    python benchmarks/modes_table.py qwen=results/s-qwen/dev qwen=results/f-qwen/dev smollm2=results/s-sm/dev \
        --repos $MLRAG_CHECKOUTS --recheck

``--recheck`` recounts ``invented_options`` on every answer with the current ``mlrag.check`` (the catalog of the
row's checkout), so that runs made before a change of that count read the same way. Reads only ``rows.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("runs", nargs="+", help="label=folder holding rows.jsonl")
    ap.add_argument("--repos", default=os.environ.get("MLRAG_CHECKOUTS", "../checkouts"))
    ap.add_argument("--recheck", action="store_true", help="recount invented names with the current mlrag.check")
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "mlbench" / "dev.jsonl"))
    a = ap.parse_args()
    workdirs: dict[tuple[int, int], str] = {}
    if a.recheck:
        for line in Path(a.data).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            folder = os.path.normpath(row.get("path") or ".")
            workdirs[(row["github_id"], row["id"])] = "" if folder == "." else folder
    catalogs: dict[str, object] = {}
    if a.recheck:
        import mlrag
        from mlrag.agent.check import check_code, file_reader
        from mlrag.evaluation.runner import _INVENTED
        from mlrag.repo import walk_repo
    table: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for spec in a.runs:
        label, _, folder = spec.partition("=")
        for line in (Path(folder) / "rows.jsonl").read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            if a.recheck and rec["codes"]:
                repo = Path(a.repos) / rec["repo"]
                if rec["repo"] not in catalogs:
                    files = {f.path for f in walk_repo(repo)}
                    catalogs[rec["repo"]] = (mlrag.affordances(str(repo), config={"progress": False}), files)
                cat, files = catalogs[rec["repo"]]
                counts = []
                for code in rec["codes"]:
                    if not code.strip():
                        counts.append(0)
                        continue
                    try:
                        wd = workdirs.get((rec["github_id"], rec["id"]), "")
                        res = check_code(code, cat, files, workdir=wd, read=file_reader(repo))
                    except Exception:  # noqa: BLE001 - an unreadable answer counts as nothing invented
                        counts.append(0)
                        continue
                    counts.append(sum(1 for p in res.problems if _INVENTED.search(p)))
                rec["metrics"]["invented_options"] = sum(counts) / len(counts)
            table[(label, rec["condition"])].append(rec)
    cols = ["strict", "both_checks", "invented_options", "errors", "gen_seconds"]
    print("| model | condition | rows | strict | arg-hit x type | invented per answer | errors | s/row |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for (label, cond), recs in table.items():
        vals = []
        for c in cols:
            xs = [r["metrics"].get(c) for r in recs if r["metrics"].get(c) is not None]
            vals.append(f"{sum(xs) / len(xs):.3f}" if xs else "–")
        print(f"| {label} | {cond} | {len(recs)} | " + " | ".join(vals) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
