"""Evaluation on ML-Bench-format task sets: task rows, metrics, the runner over conditions, and reports.

Importing this package is cheap: tqdm, matplotlib and yaml are imported where they are used.

Example:
    >>> from mlrag.evaluation import load_tasks, depth_conditions, run_eval  # doctest: +SKIP
    >>> rows = load_tasks("dev.jsonl", limit=10)  # doctest: +SKIP
    >>> run = run_eval(rows, depth_conditions([0, 1, 5]), repos="repos", out="results")  # doctest: +SKIP
"""

from __future__ import annotations

from .conditions import Ablation, Condition, builtin_condition, depth_conditions, load_ablation, parse_ks
from .runner import EvalOptions, EvalRun, run_eval
from .tasks import TaskRow, TaskSetError, load_tasks, parse_arguments

__all__ = [
    "Ablation",
    "Condition",
    "EvalOptions",
    "EvalRun",
    "TaskRow",
    "TaskSetError",
    "builtin_condition",
    "depth_conditions",
    "load_ablation",
    "load_tasks",
    "parse_arguments",
    "parse_ks",
    "run_eval",
]
