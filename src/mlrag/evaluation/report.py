"""Reports of an evaluation run: ``summary.csv``, ``summary.md`` and one PNG plot per metric.

A summary cell is the mean of a metric over the rows where it applies (``None`` values are skipped, so path hit
covers only rows whose ``path`` is not the repository root); ``n`` counts the rows of the condition. Rows are
grouped per repository and overall ("all").

Plots use matplotlib's Agg backend (no display needed), set on a private figure rather than through
``matplotlib.use`` so that the caller's backend is not changed. Each plot draws a metric against k: one line per
retrieval variant (conditions named ``<variant>@k<k>``), and horizontal reference lines for the others: ``oracle``,
``readme``, ``none`` (k = 0) and single named conditions such as a budget-cut context (``hybrid@6000c``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..redact import redact
from .conditions import Condition
from .metrics import mean
from .results import write_text_atomic

#: Metrics in report order; others found in the records follow, sorted.
METRICS = (
    "oracle_recall",
    "answer_recall",
    "path_hit",
    "mrr",
    "context_chars",
    "arg_check",
    "type_check",
    "both_checks",
    "pass@1",
    "invented_flags",
    "exec_ok",
    "exec_error",
    "exec_timeout",
)
#: Metrics that get a plot (context size and counts are in the tables only).
PLOTTED = ("oracle_recall", "answer_recall", "path_hit", "mrr", "arg_check", "type_check", "both_checks", "pass@1")
ALL = "all"
_REFERENCE_STYLE = {"oracle": ("tab:green", "--"), "readme": ("tab:purple", ":"), "none": ("tab:gray", "-.")}


@dataclass(frozen=True)
class SummaryRow:
    """Means of every metric for one condition over one repository (or ``all``)."""

    condition: str
    variant: str
    context: str
    k: int
    repo: str
    n: int
    values: Mapping[str, float | None]


def ordered(names: Iterable[str]) -> list[str]:
    """Metric names in report order: those of ``METRICS`` first, then the others sorted."""
    seen = set(names)
    return [m for m in METRICS if m in seen] + sorted(seen - set(METRICS))


def metric_names(records: Iterable[Mapping[str, Any]]) -> list[str]:
    """Metrics present in the records, in report order."""
    return ordered({m for r in records for m in r.get("metrics", {})} - {"hits"})


def summarize(records: Sequence[Mapping[str, Any]], conditions: Sequence[Condition]) -> list[SummaryRow]:
    """Per-condition means, overall first then per repository (sorted), conditions in the given order."""
    names = metric_names(records)
    out: list[SummaryRow] = []
    for c in conditions:
        recs = [r for r in records if r["condition"] == c.name]
        if not recs:
            continue
        groups = [(ALL, recs)] + [(repo, [r for r in recs if r["repo"] == repo])
                                  for repo in sorted({r["repo"] for r in recs})]
        for repo, group in groups:
            values = {m: mean(r["metrics"].get(m) for r in group) for m in names}
            out.append(SummaryRow(c.name, c.variant, c.context, c.k, repo, len(group), values))
    return out


def overall(summary: Sequence[SummaryRow]) -> dict[str, dict[str, float | None]]:
    """``{condition: {metric: value}}`` over all repositories (what expectations are checked against)."""
    return {s.condition: dict(s.values) for s in summary if s.repo == ALL}


def _fmt(v: float | None, metric: str) -> str:
    if v is None:
        return "–"
    if metric in ("context_chars", "invented_flags"):
        return f"{v:.1f}" if metric == "invented_flags" else f"{v:.0f}"
    return f"{v:.3f}"


def write_csv(summary: Sequence[SummaryRow], path: str | Path) -> None:
    """One line per (condition, repository); empty cells where a metric does not apply."""
    names = ordered(m for s in summary for m in s.values)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["condition", "variant", "context", "k", "repo", "n", *names])
    for s in summary:
        vals = ["" if s.values.get(m) is None else f"{s.values[m]:.6g}" for m in names]
        w.writerow([s.condition, s.variant, s.context, s.k, s.repo, s.n, *vals])
    write_text_atomic(path, redact(buf.getvalue()))


def markdown_table(summary: Sequence[SummaryRow], repo: str = ALL) -> str:
    """A condition x metric table for one repository (or ``all``)."""
    rows = [s for s in summary if s.repo == repo]
    if not rows:
        return ""
    names = ordered(m for s in rows for m in s.values if s.values.get(m) is not None)
    lines = ["| condition | n | " + " | ".join(names) + " |", "|---|---:|" + "---:|" * len(names)]
    for s in rows:
        lines.append(f"| {s.condition} | {s.n} | " + " | ".join(_fmt(s.values.get(m), m) for m in names) + " |")
    return "\n".join(lines)


def write_markdown(summary: Sequence[SummaryRow], path: str | Path, title: str = "Evaluation",
                   notes: Sequence[str] = ()) -> None:
    """``summary.md``: the overall table, then one table per repository."""
    parts = [f"# {title}", ""]
    parts += [f"- {n}" for n in notes]
    parts += ["", "## Overall", "", markdown_table(summary, ALL), ""]
    for repo in sorted({s.repo for s in summary} - {ALL}):
        parts += [f"## {repo}", "", markdown_table(summary, repo), ""]
    write_text_atomic(path, redact("\n".join(parts)))  # notes quote --llm, which may carry a key


def plot_metric(summary: Sequence[SummaryRow], metric: str, path: str | Path, title: str = "") -> bool:
    """Draw ``metric`` against k (overall values) to a PNG; False (nothing written) when no value exists."""
    rows = [s for s in summary if s.repo == ALL and s.values.get(metric) is not None]
    lines: dict[str, list[tuple[int, float]]] = {}
    refs: dict[str, float] = {}
    for s in rows:
        value = float(s.values[metric])  # type: ignore[arg-type]
        if s.context == "retrieval" and s.condition == f"{s.variant}@k{s.k}":
            lines.setdefault(s.variant, []).append((s.k, value))
        else:
            refs[s.condition] = value
    if not lines and not refs:
        return False
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for variant, pts in lines.items():
        pts.sort()
        ax.plot([k for k, _ in pts], [v for _, v in pts], marker="o", label=variant)
    others = iter(("tab:red", "tab:brown", "tab:olive", "tab:cyan", "tab:pink", "black"))
    for name, value in refs.items():
        color, style = _REFERENCE_STYLE.get(name) or (next(others, "black"), (0, (5, 2, 1, 2)))
        ax.axhline(value, color=color, linestyle=style, linewidth=1, label=name)
    ks = sorted({k for pts in lines.values() for k, _ in pts})
    if ks:
        ax.set_xticks(ks)
    if metric not in ("context_chars", "invented_flags"):
        ax.set_ylim(-0.02, 1.02)  # shares: a fixed scale makes plots comparable
    ax.set_xlabel("k (retrieved hits)")
    ax.set_ylabel(metric)
    ax.set_title(title or metric)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(str(path), format="png", metadata={"Software": "mlrag (matplotlib Agg)"})
    return True


def write_reports(out: str | Path, records: Sequence[Mapping[str, Any]], conditions: Sequence[Condition],
                  title: str = "Evaluation", notes: Sequence[str] = ()) -> list[SummaryRow]:
    """``summary.csv``, ``summary.md`` and ``plots/<metric>.png`` in ``out``; returns the summary."""
    out_dir = Path(out)
    summary = summarize(records, conditions)
    write_csv(summary, out_dir / "summary.csv")
    write_markdown(summary, out_dir / "summary.md", title, notes)
    plots = out_dir / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    extra = sorted({m for s in summary for m in s.values if m.startswith("pass@") and m not in PLOTTED})
    for metric in (*PLOTTED, *extra):
        plot_metric(summary, metric, plots / f"{metric.replace('@', '_at_')}.png", f"{title}: {metric}")
    return summary
