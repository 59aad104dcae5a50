"""Metrics on hand-computed cases, including ML-Bench's quirks."""

from __future__ import annotations

import itertools
import math

import pytest

from mlrag.evaluation import metrics as M
from mlrag.types import Check


def test_words_decode_literal_newlines_and_drop_fences() -> None:
    assert M.words("```bash\\npython Train.py --lr 0\\n```") == ["python", "train", "py", "lr", "0"]
    assert M.words("~~~python\nx = 1\n~~~") == ["x", "1"]


def test_oracle_recall_hand_computed() -> None:
    oracle = "one two three four five six seven eight nine ten"  # 10 words -> 3 distinct 8-grams
    assert M.oracle_recall(oracle, oracle) == 1.0
    # the context holds words 1..9: grams starting at 1 and 2, not at 3
    assert M.oracle_recall(oracle, "one two three four five six seven eight nine") == pytest.approx(2 / 3)
    assert M.oracle_recall(oracle, "") == 0.0
    assert M.oracle_recall("", "anything") is None


def test_oracle_recall_short_oracle_is_one_sequence() -> None:
    assert M.oracle_recall("python a.py", "run: python a.py now") == 1.0
    assert M.oracle_recall("python a.py", "python b.py") == 0.0


def test_oracle_recall_literal_newline_and_case() -> None:
    # ML-Bench stores newlines as a literal backslash-n in 95 rows; they must not glue words together
    oracle = "Train it:\\n```bash\\npython citation.py --gpu 0 --dataset Citeseer\\n```"
    context = "# Usage\n\nTrain it:\n\n```\npython citation.py --gpu 0 --dataset citeseer\n```\n"
    assert M.oracle_recall(oracle, context) == 1.0


def test_answer_terms_drop_instruction_values_and_launchers() -> None:
    terms = M.answer_terms(
        "python citation.py --dataset Citeseer --lr 0 --num-stacks 5",
        "Train ARMA on the Citeseer dataset with 5 stacks",
        {"dataset": "Citeseer", "lr": "0", "num-stacks": "5"},
    )
    assert terms == ["citation.py", "--dataset", "--lr", "--num-stacks"]


def test_answer_terms_python_code() -> None:
    code = "import esm\nmodel = esm.pretrained.esm1b_t33()\nmodel.eval()\nopen('out.pdb')"
    terms = M.answer_terms(code, "use esm1b_t33 to fold", {"model": "esm1b_t33"})
    # esm1b_t33 is an argument value (and in the instruction); 'open'/'eval' are built-ins, 'import' a keyword
    assert terms == ["esm", "model", "pretrained", "out.pdb"]


def test_answer_terms_value_containing_term() -> None:
    # the value is a path; its file name is supplied by the user, not by the context
    assert M.answer_terms("python demo.py --input ./img/cat.jpg", "", {"input": "./img/cat.jpg"}) == [
        "demo.py",
        "--input",
    ]


def test_answer_recall_whole_terms_only() -> None:
    terms = ["--lr", "train.py"]
    assert M.answer_recall(terms, "python train.py --lr 0.1") == 1.0
    assert M.answer_recall(terms, "python train.py --lr-decay 0.1") == 0.5  # --lr inside --lr-decay: no
    assert M.answer_recall(terms, "mytrain.py") == 0.0
    assert M.answer_recall([], "x") is None


def test_path_metrics() -> None:
    hits = ["README.md", "examples/gcn2/README.md", "examples/gcn/train.py", "examples/gcn/README.md"]
    assert M.reciprocal_rank(hits, "./examples/gcn") == pytest.approx(1 / 3)
    assert M.path_hit(hits, "./examples/gcn/") is True
    assert M.path_hit(hits[:2], "./examples/gcn") is False  # gcn2 is not under gcn
    assert M.reciprocal_rank(hits[:2], "examples/gcn") == 0.0
    for root in ("./", "", ".", "/"):
        assert M.path_hit(hits, root) is None
        assert M.reciprocal_rank(hits, root) is None


def test_argument_check_is_mlbench_substring_rule() -> None:
    args = {"dataset": "Citeseer", "lr": "0", "num-stacks": "5"}
    assert M.argument_check("python citation.py --dataset citeseer --lr 0 --num-stacks 5", args)
    assert not M.argument_check("python citation.py --dataset cora --lr 0 --num-stacks 5", args)
    # substring semantics: '0' is found inside '10' (ML-Bench's rule, kept as is)
    assert M.argument_check("x --lr 10", {"lr": "0"})
    assert M.argument_check("anything", {})


def test_type_check() -> None:
    assert M.type_check("python train.py --a 1", "Bash Script")
    assert M.type_check("bash run.sh", "bash")  # name at the end of the code: accepted by default
    assert not M.type_check("bash run.sh", "bash", strict=True)  # ML-Bench tests for '.sh ' with a space
    assert M.type_check("bash run.sh ", "bash", strict=True)
    assert not M.type_check("import torch\nprint(1)", "Bash Script")
    assert M.type_check("import torch\nprint(1)", "Python Code")
    assert not M.type_check("python demo.py --x 1", "python")
    assert M.type_check("import json\nx = 'a.pyc'", "python")
    # a module run is a command: gold answers such as "python -m baselines.run --alg=ppo2" pass their own check
    assert M.type_check("python -m baselines.run --alg=ppo2", "Bash Script")
    assert M.type_check("CUDA_VISIBLE_DEVICES=2 python3 -u -m fastchat.serve.cli --x 1", "bash")
    assert not M.type_check("python -m baselines.run --alg=ppo2", "Python Code")
    assert not M.type_check("import subprocess\nx = '-m'", "Bash Script")


def _pass_at_k_reference(n: int, c: int, k: int) -> float:
    """Enumerate every k-subset of the samples: the share that holds at least one pass."""
    samples = [True] * c + [False] * (n - c)
    subsets = list(itertools.combinations(range(n), k))
    return sum(any(samples[i] for i in s) for s in subsets) / len(subsets)


def test_pass_at_k_matches_enumeration() -> None:
    for n in range(1, 7):
        for c in range(n + 1):
            for k in range(1, n + 1):
                assert M.pass_at_k(n, c, k) == pytest.approx(_pass_at_k_reference(n, c, k))
    assert M.pass_at_k(5, 1, 1) == pytest.approx(0.2)
    assert M.pass_at_k(10, 3, 2) == pytest.approx(1 - math.comb(7, 2) / math.comb(10, 2))
    with pytest.raises(ValueError):
        M.pass_at_k(3, 4, 1)
    with pytest.raises(ValueError):
        M.pass_at_k(3, 1, 4)


def test_invented_flags_and_mean() -> None:
    checks = [
        Check("flag-exists", False, "no --foo", "--foo"),
        Check("flag-exists", True, "ok", "--lr"),
        Check("script-exists", False, "no x.py", "x.py"),
        Check("flag-exists", False, "no --bar", "--bar"),
    ]
    assert M.invented_flags(checks) == 2
    assert M.mean([1.0, None, True, 0]) == pytest.approx(2 / 3)
    assert M.mean([None]) is None
