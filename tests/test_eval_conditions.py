"""Conditions and ablation files: expansion, validation, expectations, and the packaged ablation files."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlrag.config import CONFIG_DIR, Config
from mlrag.errors import ConfigError
from mlrag.evaluation.conditions import (
    Expectation,
    builtin_condition,
    check_expectations,
    depth_conditions,
    load_ablation,
    parse_ks,
)

ABLATION = """
description: test
tolerance: 0.01
task_sets:
  tiny: {data: rows.jsonl, repos: repos}
conditions:
  - {name: oracle, context: oracle}
  - variant: bm25
    k: [1, 3]
    set: {retrieval.mode: bm25, retrieval: {budget_chars: 0}}
    expected:
      tiny:
        bm25@k3: {oracle_recall: 0.5}
"""


def test_depth_conditions_and_parse_ks() -> None:
    assert parse_ks("0, 1,3,3,10") == [0, 1, 3, 10]
    assert [c.name for c in depth_conditions([0, 1, 5])] == ["none", "default@k1", "default@k5"]
    with pytest.raises(ConfigError):
        parse_ks("1,x")
    with pytest.raises(ConfigError):
        builtin_condition("bogus")


def test_load_ablation_expands_and_applies(tmp_path: Path) -> None:
    p = tmp_path / "a.yaml"
    p.write_text(ABLATION, encoding="utf-8")
    ab = load_ablation(p)
    assert [c.name for c in ab.conditions] == ["oracle", "bm25@k1", "bm25@k3"]
    cfg = ab.conditions[2].apply(Config())
    assert cfg.retrieval.mode == "bm25" and cfg.retrieval.budget_chars == 0
    assert ab.expectations == (Expectation("tiny", "bm25@k3", "oracle_recall", 0.5),)
    assert [c.name for c in ab.select(["bm25@k3", "none"])] == ["bm25@k3", "none"]
    with pytest.raises(ConfigError, match="unknown condition"):
        ab.select(["bm25@k9"])
    verdicts = check_expectations(ab.expectations, {"bm25@k3": {"oracle_recall": 0.505}}, "tiny", ab.tolerance)
    assert [v.ok for v in verdicts] == [True]
    assert verdicts[0].line().startswith("OK")
    verdicts = check_expectations(ab.expectations, {}, "tiny", ab.tolerance)
    assert not verdicts[0].ok and "missing" in verdicts[0].line()


@pytest.mark.parametrize(
    "text, message",
    [
        ("conditions: [{name: x, context: magic}]", "not one of"),
        ("conditions: [{variant: v, k: [1], bogus: 1}]", "unknown key"),
        ("conditions: [{variant: v}]", "needs 'k'"),
        ("conditions: [{variant: v, k: [1, 1]}]", "duplicate condition"),
        ("conditions: [{variant: v, k: 1, set: {retrieval.mode: nope}}]", None),
        ("task_sets: {t: {data: a}}\nconditions: [{name: none, context: none}]", "needs 'data' and 'repos'"),
        ("conditions: [{variant: v, k: 1, expected: {t: {v@k1: {x: 1}}}}]", "unknown task set"),
    ],
)
def test_bad_ablation_files(tmp_path: Path, text: str, message: str | None) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text(text, encoding="utf-8")
    if message is None:  # a bad override value is caught when the condition is applied
        ab = load_ablation(p)
        with pytest.raises(ConfigError, match="retrieval.mode"):
            ab.conditions[0].apply(Config())
        return
    with pytest.raises(ConfigError, match=message):
        load_ablation(p)


def test_packaged_ablation_files_load_and_apply() -> None:
    files = sorted((CONFIG_DIR / "ablations").glob("*.yaml"))
    assert files, "no packaged ablation files"
    checked = 0
    for f in files:
        ab = load_ablation(f)
        names = [c.name for c in ab.conditions]
        assert len(names) == len(set(names)) and ab.conditions, f
        for c in ab.conditions:
            flat = c.apply(Config()).to_dict()
            for key, value in c.overrides:  # each override lands where it says, as the value it gives
                section, _, field = key.partition(".")
                assert flat[section][field] == value, (f.name, c.name, key)
                checked += 1
    assert checked > 0
