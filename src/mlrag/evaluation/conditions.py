"""Evaluation conditions and ablation files (experiments as data, in the style of pyserini's 2CR matrices).

A ``Condition`` says what context a row gets: nothing (``none``, k = 0), the top-k retrieved hits
(``retrieval``), the oracle segment (``oracle``) or the repository's root README cut to the context budget
(``readme``), under config overrides (``retrieval.mode=bm25``...). Conditions are named ``<variant>@k<k>`` for
retrieval depths, or by their own ``name``.

An ablation file (``configs/ablations/*.yaml``) lists task sets, conditions, and the figures each condition is
expected to reach on each task set::

    description: retrieval depth on ML-Bench dev
    tolerance: 0.005                     # absolute, for OK/FAIL
    task_sets:
      mlbench-dev: {data: ../shared/mlbench/dev.jsonl, repos: ../shared/mlbench/repos}
    conditions:
      - {name: oracle, context: oracle}
      - variant: bm25                    # expands to bm25@k1, bm25@k5
        k: [1, 5]
        set: {retrieval.mode: bm25}
        expected:
          mlbench-dev:
            bm25@k5: {oracle_recall: 0.61}

Relative task-set paths are resolved against the current directory (run from the repository root).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Config, read_yaml
from ..errors import ConfigError

#: What a condition puts in the prompt.
CONTEXTS = ("none", "retrieval", "oracle", "readme")
#: Conditions available without an ablation file.
BUILTIN = ("none", "oracle", "readme")
_FILE_KEYS = {"description", "tolerance", "task_sets", "conditions"}
_COND_KEYS = {"name", "variant", "context", "k", "set", "description", "expected"}


@dataclass(frozen=True)
class Condition:
    """One way of building a row's context.

    Attributes:
        name: unique name, used in result files and expectations (``default@k5``, ``oracle``).
        context: one of ``CONTEXTS``.
        k: retrieval depth (0 unless ``context == "retrieval"``).
        variant: the family the condition belongs to; plots draw one line per variant.
        overrides: ``(dotted key, value)`` pairs applied to the run's config.
        description: free text.
    """

    name: str
    context: str
    k: int = 0
    variant: str = ""
    overrides: tuple[tuple[str, Any], ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        if self.context not in CONTEXTS:
            raise ConfigError(f"condition {self.name!r}: context {self.context!r} is not one of {', '.join(CONTEXTS)}")
        if self.context == "retrieval" and self.k < 1:
            raise ConfigError(f"condition {self.name!r}: retrieval needs k >= 1, got {self.k}")
        if self.k < 0:
            raise ConfigError(f"condition {self.name!r}: k must be >= 0, got {self.k}")

    def apply(self, config: Config) -> Config:
        """``config`` with this condition's overrides applied (validated by ``Config``)."""
        if not self.overrides:
            return config
        nested: dict[str, Any] = {}
        for key, value in self.overrides:
            node = nested
            *parents, leaf = key.split(".")
            for p in parents:
                node = node.setdefault(p, {})
            node[leaf] = value
        try:
            return config.replace(nested)
        except ConfigError as e:
            raise ConfigError(f"condition {self.name!r}: {e}") from None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "context": self.context,
            "k": self.k,
            "variant": self.variant,
            "overrides": {k: v for k, v in self.overrides},
        }


def builtin_condition(name: str) -> Condition:
    """``none`` (no context), ``oracle`` (the oracle segment) or ``readme`` (root README cut to the budget)."""
    if name not in BUILTIN:
        raise ConfigError(f"unknown condition {name!r}; built-in conditions: {', '.join(BUILTIN)}")
    return Condition(name=name, context=name, k=0, variant=name)


def depth_conditions(
    ks: Iterable[int], *, variant: str = "default", overrides: Sequence[tuple[str, Any]] = ()
) -> list[Condition]:
    """One condition per depth: k = 0 gives ``none``, k > 0 gives ``<variant>@k<k>``.

    Example:
        >>> [c.name for c in depth_conditions([0, 1, 5])]
        ['none', 'default@k1', 'default@k5']
    """
    out: list[Condition] = []
    for k in ks:
        if k < 0:
            raise ConfigError(f"k must be >= 0, got {k}")
        if k == 0:
            out.append(builtin_condition("none"))
        else:
            out.append(Condition(f"{variant}@k{k}", "retrieval", k, variant, tuple(overrides)))
    return out


def parse_ks(text: str) -> list[int]:
    """``"0,1,3,5"`` -> ``[0, 1, 3, 5]`` (order kept, duplicates dropped)."""
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            k = int(part)
        except ValueError:
            raise ConfigError(f"--k: {part!r} is not an integer (expected a list such as 0,1,3,5,10)") from None
        if k < 0:
            raise ConfigError(f"--k: depths must be >= 0, got {k}")
        if k not in out:
            out.append(k)
    if not out:
        raise ConfigError(f"--k: no depth given in {text!r}")
    return out


@dataclass(frozen=True)
class TaskSetSpec:
    """A task set named in an ablation file: rows and the repositories directory."""

    name: str
    data: str
    repos: str


@dataclass(frozen=True)
class Expectation:
    """The figure ``metric`` of ``condition`` should reach (overall) on ``task_set``."""

    task_set: str
    condition: str
    metric: str
    value: float


@dataclass(frozen=True)
class Ablation:
    """A parsed ablation file."""

    path: str
    description: str
    conditions: tuple[Condition, ...]
    task_sets: tuple[TaskSetSpec, ...]
    expectations: tuple[Expectation, ...]
    tolerance: float = 0.005

    def select(self, names: Sequence[str] | None) -> list[Condition]:
        """The conditions named in ``names`` (all when None), in file order; an unknown name lists the valid ones."""
        if not names:
            return list(self.conditions)
        known = {c.name: c for c in self.conditions}
        for n in names:
            if n not in known and n not in BUILTIN:
                raise ConfigError(f"unknown condition {n!r} in {self.path}; known: {', '.join(known)}")
        picked = [c for c in self.conditions if c.name in names]
        picked += [builtin_condition(n) for n in names if n not in known]
        return picked

    def task_set(self, name: str) -> TaskSetSpec:
        for t in self.task_sets:
            if t.name == name:
                return t
        known = ", ".join(t.name for t in self.task_sets)
        raise ConfigError(f"unknown task set {name!r} in {self.path}; known: {known}")


def _overrides(raw: Any, where: str) -> tuple[tuple[str, Any], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: 'set' must map dotted config keys to values, got {raw!r}")
    out = []
    for k, v in raw.items():
        if isinstance(v, Mapping):
            out += [(f"{k}.{kk}", vv) for kk, vv in _overrides(v, where)]
        else:
            out.append((str(k), v))
    return tuple(out)


def _check_keys(d: Mapping[str, Any], valid: set[str], where: str) -> None:
    unknown = sorted(set(d) - valid)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; valid keys: {', '.join(sorted(valid))}")


def _entry_conditions(entry: Mapping[str, Any], where: str) -> list[Condition]:
    _check_keys(entry, _COND_KEYS, where)
    context = str(entry.get("context", "retrieval"))
    overrides = _overrides(entry.get("set"), where)
    desc = str(entry.get("description", ""))
    ks_raw = entry.get("k", 0 if context != "retrieval" else None)
    if ks_raw is None:
        raise ConfigError(f"{where}: a retrieval condition needs 'k' (an integer or a list)")
    ks = list(ks_raw) if isinstance(ks_raw, (list, tuple)) else [ks_raw]
    try:
        ks = [int(k) for k in ks]
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: k must be integers, got {ks_raw!r}") from None
    name = entry.get("name")
    variant = str(entry.get("variant") or name or context)
    if name is not None and len(ks) > 1:
        raise ConfigError(f"{where}: 'name' needs a single k; use 'variant' to expand a list of depths")
    if context != "retrieval":
        if any(ks):
            raise ConfigError(f"{where}: k applies only to context 'retrieval', got context {context!r}")
        return [Condition(str(name or context), context, 0, variant, overrides, desc)]
    return [
        Condition(str(name) if name is not None else f"{variant}@k{k}", context, k, variant, overrides, desc)
        for k in ks
    ]


def load_ablation(path: str | Path) -> Ablation:
    """Read and validate an ablation file.

    Raises:
        ConfigError: unknown keys, bad contexts or depths, duplicate condition names, expectations that name an
            unknown condition or task set.

    Example:
        >>> ab = load_ablation("configs/ablations/retrieval-depth.yaml")  # doctest: +SKIP
        >>> [c.name for c in ab.conditions][:3]  # doctest: +SKIP
        ['none', 'oracle', 'readme']
    """
    data = read_yaml(path)
    where = str(path)
    _check_keys(data, _FILE_KEYS, where)
    task_sets = []
    for name, spec in (data.get("task_sets") or {}).items():
        if not isinstance(spec, Mapping) or "data" not in spec or "repos" not in spec:
            raise ConfigError(f"{where}: task set {name!r} needs 'data' and 'repos'")
        task_sets.append(TaskSetSpec(str(name), str(spec["data"]), str(spec["repos"])))
    conds: list[Condition] = []
    expectations: list[Expectation] = []
    entries = data.get("conditions") or []
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{where}: 'conditions' must be a non-empty list")
    for i, entry in enumerate(entries):
        ew = f"{where}: conditions[{i}]"
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{ew}: expected a mapping, got {entry!r}")
        made = _entry_conditions(entry, ew)
        conds += made
        names = {c.name for c in made}
        for ts, figures in (entry.get("expected") or {}).items():
            if ts not in {t.name for t in task_sets}:
                raise ConfigError(f"{ew}: expected figures for unknown task set {ts!r}")
            for cname, metrics in (figures or {}).items():
                if cname not in names:
                    raise ConfigError(f"{ew}: expected figures for {cname!r}, not one of {', '.join(sorted(names))}")
                for metric, value in (metrics or {}).items():
                    expectations.append(Expectation(str(ts), str(cname), str(metric), float(value)))
    seen: set[str] = set()
    for c in conds:
        if c.name in seen:
            raise ConfigError(f"{where}: duplicate condition name {c.name!r}")
        seen.add(c.name)
    try:
        tolerance = float(data.get("tolerance", 0.005))
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: tolerance must be a number, got {data.get('tolerance')!r}") from None
    return Ablation(
        path=where,
        description=str(data.get("description", "")),
        conditions=tuple(conds),
        task_sets=tuple(task_sets),
        expectations=tuple(expectations),
        tolerance=tolerance,
    )


@dataclass(frozen=True)
class Verdict:
    """An expectation checked against a run."""

    expectation: Expectation
    actual: float | None
    ok: bool

    def line(self) -> str:
        e = self.expectation
        got = "missing" if self.actual is None else f"{self.actual:.4f}"
        status = "OK  " if self.ok else "FAIL"
        return f"{status} {e.task_set} {e.condition} {e.metric}: expected {e.value:.4f}, got {got}"


def check_expectations(
    expectations: Iterable[Expectation], overall: Mapping[str, Mapping[str, float | None]], task_set: str,
    tolerance: float,
) -> list[Verdict]:
    """Compare a run's overall figures (``{condition: {metric: value}}``) with the expected ones for ``task_set``."""
    out = []
    for e in expectations:
        if e.task_set != task_set:
            continue
        actual = overall.get(e.condition, {}).get(e.metric)
        ok = actual is not None and abs(actual - e.value) <= tolerance
        out.append(Verdict(e, actual, ok))
    return out
