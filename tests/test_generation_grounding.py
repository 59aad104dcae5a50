"""Grounding of generated commands against hand-made argument cards of the example repository."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlrag.generation.extract import extract_code
from mlrag.generation.grounding import ground, split_commands
from mlrag.types import Chunk


def opt(
    flag: str,
    *,
    type: str | None = None,
    choices: list[str] | None = None,
    action: str | None = None,
    required: bool = False,
    nargs: str | None = None,
    extra: tuple[str, ...] = (),
) -> dict:
    return {
        "flags": [*extra, flag],
        "dest": flag.lstrip("-").replace("-", "_"),
        "type": type,
        "default": None,
        "choices": choices,
        "required": required,
        "help": "",
        "action": action,
        "nargs": nargs,
        "positional": False,
    }


def card(
    script: str, workdir: str, options: list[dict], framework: str = "argparse", subcommands: dict | None = None
) -> Chunk:
    meta = {
        "script": script,
        "workdir": workdir,
        "run": f"python {Path(script).name}",
        "framework": framework,
        "options": options,
        "subcommands": subcommands or {},
        "invoked_by": [],
    }
    return Chunk.make(f"card of {script}", script, 1, 30, "card", derived=True, meta=meta)


CARDS = [
    card(
        "citation/train.py",
        "citation",
        [
            opt("--dataset", choices=["cora", "citeseer", "pubmed"]),
            opt("--model", choices=["gcn", "gat", "arma"]),
            opt("--num-stacks", type="int"),
            opt("--num-layers", type="int"),
            opt("--lr", type="float"),
            opt("--gpu", type="int"),
            opt("--no-self-loop", action="store_true"),
            opt("--hidden", type="int"),
        ],
    ),
    card(
        "link_prediction/train_link.py",
        "link_prediction",
        [
            opt("--dataset", choices=["cora", "citeseer", "pubmed"]),
            opt("--neg-sampler", choices=["uniform", "degree"]),
            opt("--hidden", type="int"),
        ],
    ),
]


@pytest.fixture
def files(example_repo: Path) -> set[str]:
    return {p.relative_to(example_repo).as_posix() for p in example_repo.rglob("*") if p.is_file()}


def failed(checks) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(c.name, c.subject) for c in checks if not c.ok]


def test_real_flags_pass(files: set[str]) -> None:
    checks = ground(
        "python train.py --dataset citeseer --model arma --num-stacks 5 --lr 0.005", "bash", CARDS, files, "citation"
    )
    assert failed(checks) == []
    assert [c.subject for c in checks if c.name == "flag-exists"] == ["--dataset", "--model", "--num-stacks", "--lr"]
    assert {c.name for c in checks} == {"script-exists", "flag-exists", "choice-valid"}


def test_misspelled_flag_is_caught_with_a_suggestion(files: set[str]) -> None:
    checks = ground("python train.py --dataset cora --num_stacks 5", "bash", CARDS, files, "citation")
    assert failed(checks) == [("flag-exists", "--num_stacks")]
    assert "--num-stacks" in next(c.message for c in checks if not c.ok)


def test_missing_script(files: set[str]) -> None:
    checks = ground("python citation.py --dataset cora", "bash", CARDS, files, "citation")
    assert failed(checks) == [("script-exists", "citation/citation.py")]


def test_bad_choice_value(files: set[str]) -> None:
    checks = ground("python train.py --dataset Citeseer", "bash", CARDS, files, "citation")
    assert failed(checks) == [("choice-valid", "--dataset=Citeseer")]
    assert "cora, citeseer, pubmed" in next(c.message for c in checks if not c.ok)


def test_paths_follow_cd_and_root(files: set[str]) -> None:
    code = "cd citation && python train.py --model gat\npython ../link_prediction/train_link.py --neg-sampler random"
    assert failed(ground(code, "bash", CARDS, files)) == [("choice-valid", "--neg-sampler=random")]
    code = "python link_prediction/train_link.py --neg-sampler=degree --hidden 64"
    assert failed(ground(code, "bash", CARDS, files)) == []


def test_flag_forms(files: set[str]) -> None:
    ok = [
        "python train.py --no-self-loop --gpu -1",  # store_true takes no value; -1 is a value, not a flag
        "CUDA_VISIBLE_DEVICES=0 python -u train.py --lr=0.1",  # env prefix, interpreter flag, --flag=value
        "python train.py --num-s 3",  # argparse accepts a unique prefix
        "torchrun --nproc_per_node=2 train.py --hidden 8",
        "python train.py --dataset cora > log.txt 2>&1",
    ]
    for code in ok:
        assert failed(ground(code, "bash", CARDS, files, "citation")) == [], code
    assert failed(ground("python train.py --num 3", "bash", CARDS, files, "citation")) == [
        ("flag-exists", "--num")  # ambiguous prefix: --num-stacks or --num-layers
    ]


def test_no_script_and_no_code(files: set[str]) -> None:
    assert failed(ground("pip install -r requirements.txt", "bash", CARDS, files)) == [("runs-script", "")]
    assert failed(ground("", "bash", CARDS, files)) == [("code-found", "")]


def test_unknown_workdir_uses_the_card_of_a_unique_script(files: set[str]) -> None:
    checks = ground("python train_link.py --neg-sampler degree", "bash", CARDS, files, "")
    assert failed(checks) == []
    assert checks[0].subject == "link_prediction/train_link.py"


def test_script_without_card_only_checks_existence(files: set[str]) -> None:
    checks = ground("bash scripts/reproduce.sh --whatever 1", "bash", CARDS, files)
    assert [(c.name, c.ok) for c in checks] == [("script-exists", True)]


def test_required_option_and_config_files(files: set[str]) -> None:
    cards = [card("graphlab/evaluate.py", "", [opt("--checkpoint", required=True), opt("--config")])]
    checks = ground("python graphlab/evaluate.py --config citation/missing.yaml", "bash", cards, files)
    assert sorted(failed(checks)) == [("file-exists", "citation/missing.yaml"), ("required-given", "--checkpoint")]
    checks = ground("python graphlab/evaluate.py --checkpoint a.npz --config requirements.txt", "bash", cards, files)
    assert failed(checks) == []


def test_subcommands_and_fire_spelling(files: set[str]) -> None:
    cards = [
        card(
            "graphlab/evaluate.py",
            "",
            [],
            framework="fire",
            subcommands={"run": [opt("--split", choices=["val", "test"])]},
        )
    ]
    assert failed(ground("python graphlab/evaluate.py run --split test", "bash", cards, files)) == []
    assert failed(ground("python graphlab/evaluate.py run --split=train", "bash", cards, files)) == [
        ("choice-valid", "--split=train")
    ]


def test_python_code_checks(files: set[str]) -> None:
    checks = ground("from graphlab.data import load\nimport torch\nx = load('cora')", "python", CARDS, files)
    assert failed(checks) == [] and [c.name for c in checks] == ["python-syntax", "module-exists"]
    checks = ground("from graphlab.models import GCN\n", "python", CARDS, files)
    assert failed(checks) == [("module-exists", "graphlab.models")]
    assert failed(ground("def f(:\n", "python", CARDS, files)) == [("python-syntax", "")]


def test_split_commands() -> None:
    code = "cd a && python x.py --a 1 | tee log # comment\npython y.py \\\n  --b 'two words'; echo done"
    assert split_commands(code) == [
        ["cd", "a"],
        ["python", "x.py", "--a", "1"],
        ["tee", "log"],
        ["python", "y.py", "--b", "two words"],
        ["echo", "done"],
    ]


def test_with_cards_from_the_chunker(example_repo: Path, files: set[str]) -> None:
    """The same checks on the cards the chunking stage derives from the example repository's scripts."""
    chunking = pytest.importorskip("mlrag.chunking")
    from mlrag.config import ChunkingConfig

    pairs = [(p, (example_repo / p).read_text()) for p in sorted(files)]
    cards = [c for c in chunking.chunk_files(pairs, ChunkingConfig(), None).units if c.kind == "card"]
    assert {c.meta["script"] for c in cards} >= {"citation/train.py", "link_prediction/train_link.py"}
    good = "cd citation && python train.py --dataset citeseer --model arma --num-stacks 5 --no-self-loop"
    assert failed(ground(good, "bash", cards, files)) == []
    bad = "python link_prediction/train_link.py --dataset Cora --negative-sampler degree"
    assert failed(ground(bad, "bash", cards, files)) == [
        ("choice-valid", "--dataset=Cora"),
        ("flag-exists", "--negative-sampler"),
    ]


def test_mlbench_gold_answers_are_grounded(mlbench_dir: Path) -> None:
    """False alarms: the gold answers of ML-Bench DEV run real scripts, so (without cards) they must pass.

    One gold answer (a LAVIS Python row) ends in prose and does not parse; that is the only allowed failure.
    """
    import json

    files: dict[str, set[str]] = {}
    failures = []
    rows = [json.loads(line) for line in (mlbench_dir / "dev.jsonl").read_text().splitlines() if line.strip()]
    for row in rows:
        repo = row["repo_dir"]
        if repo not in files:
            listing = (mlbench_dir / "repos" / repo / "FILES.txt").read_text().splitlines()
            files[repo] = {line.split("\t")[0] for line in listing}
        kind = "python" if row["type"] == "Python Code" else "bash"
        bad = failed(ground(row["output"], kind, [], files[repo], row["path"]))
        if bad:
            failures.append((repo, bad))
    assert len(rows) > 150
    assert failures == [("salesforce__LAVIS", [("python-syntax", "")])]


@given(
    st.lists(
        st.sampled_from(
            [
                *"ab-_=./'\"\\ \n;&|<>()$`#0",
                "python ",
                "train.py",
                "--dataset",
                "cd ",
                "bash ",
                " -m ",
                "torchrun ",
                "--nproc=2 ",
                "x.sh",
                "```",
                "import ",
                "from a import b\n",
                "--num",
            ]
        ),
        max_size=30,
    ).map("".join),
    st.sampled_from(["bash", "python"]),
    st.sampled_from(["", "citation", "./"]),
)
@settings(max_examples=200, deadline=None)
def test_ground_never_raises_on_arbitrary_text(code: str, kind: str, workdir: str) -> None:
    files = {"citation/train.py", "train.py", "a/x.sh"}
    for text in (code, extract_code(code, kind)):
        for check in ground(text, kind, CARDS, files, workdir):
            assert check.name and isinstance(check.ok, bool)
