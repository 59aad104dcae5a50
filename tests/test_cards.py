"""Argument cards: static extraction from argparse, click, typer and fire scripts, and card/README links.

Every script here is a string parsed with ``ast``; none is imported or run.
"""

from __future__ import annotations

from mlrag.chunking import chunk_files, extract_cli
from mlrag.chunking.linking import find_invocations
from mlrag.config import ChunkingConfig

ARGPARSE = """
import argparse

DATASETS = ["Cora", "Citeseer", "Pubmed"]


def add_model_args(parser):
    group = parser.add_argument_group("model")
    group.add_argument("--num-stacks", type=int, default=2, help="Number of stacks.")
    group.add_argument("--dropout", type=float, default=0.75)


def main():
    parser = argparse.ArgumentParser(description="ARMA")
    parser.add_argument("--dataset", type=str, default="Cora", choices=DATASETS, help="Name of dataset.")
    parser.add_argument("inputs", nargs="+", help="Input files.")
    parser.add_argument("--gpu", type=int, default=-1)
    parser.add_argument("--self-loop", action="store_true", help="Add self loops.")
    parser.add_argument("--layers", nargs=2, type=int, required=True)
    add_model_args(parser)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--train", action="store_true")
    mode.add_argument("--eval", dest="evaluate", action="store_true")
    sub = parser.add_subparsers(dest="cmd")
    fit = sub.add_parser("fit", help="Fit a model.")
    fit.add_argument("--epochs", type=int, default=100, choices=range(1, 4))
    export = sub.add_parser("export")
    export.add_argument("path")
    args = parser.parse_args()


if __name__ == "__main__":
    main()
"""


def opts_by_flag(options):
    return {o["flags"][0]: o for o in options}


def test_argparse_options_types_defaults_choices() -> None:
    spec = extract_cli(ARGPARSE)
    assert spec is not None and spec.framework == "argparse"
    o = opts_by_flag(spec.options)
    assert o["--dataset"]["choices"] == ["Cora", "Citeseer", "Pubmed"]  # resolved through a module constant
    assert o["--dataset"]["default"] == "Cora" and o["--dataset"]["type"] == "str"
    assert o["--dataset"]["help"] == "Name of dataset." and o["--dataset"]["dest"] == "dataset"
    assert o["inputs"]["positional"] and o["inputs"]["nargs"] == "+" and o["inputs"]["required"]
    assert o["--self-loop"]["action"] == "store_true" and o["--self-loop"]["type"] == "bool"
    assert o["--self-loop"]["default"] == "False" and o["--self-loop"]["dest"] == "self_loop"
    assert o["--layers"]["nargs"] == "2" and o["--layers"]["required"] is True
    assert o["--gpu"]["default"] == "-1" and o["--gpu"]["type"] == "int"


def test_argparse_helper_function_groups_and_order() -> None:
    spec = extract_cli(ARGPARSE)
    assert spec is not None
    flags = [o["flags"][0] for o in spec.options]
    # options a helper adds appear where the helper is called
    assert flags.index("--layers") < flags.index("--num-stacks") < flags.index("--train")
    o = opts_by_flag(spec.options)
    assert o["--num-stacks"]["type"] == "int" and o["--num-stacks"]["default"] == "2"
    assert o["--train"]["mutex_group"] == o["--eval"]["mutex_group"] == 1
    assert o["--eval"]["dest"] == "evaluate"


def test_argparse_subparsers() -> None:
    spec = extract_cli(ARGPARSE)
    assert spec is not None
    assert set(spec.subcommands) == {"fit", "export"}
    (epochs,) = spec.subcommands["fit"]
    assert epochs["flags"] == ["--epochs"] and epochs["choices"] == ["1", "2", "3"]
    (path,) = spec.subcommands["export"]
    assert path["positional"] and path["required"]
    assert all(o["flags"][0] not in ("--epochs", "path") for o in spec.options)


CLICK = """
import click


@click.group()
@click.option("--verbose", is_flag=True, help="Talk more.")
def cli(verbose):
    pass


@cli.command()
@click.option("--lr", type=float, default=0.01, show_default=True, help="Learning rate.")
@click.option("--dataset", "-d", type=click.Choice(["mnist", "cifar10"]), required=True)
@click.option("--tag", multiple=True)
@click.argument("config")
def train_model(lr, dataset, tag, config):
    pass


@cli.command("eval")
@click.option("--shuffle/--no-shuffle", default=False)
def evaluate(shuffle):
    pass


if __name__ == "__main__":
    cli()
"""


def test_click_group_commands_options() -> None:
    spec = extract_cli(CLICK)
    assert spec is not None and spec.framework == "click"
    assert opts_by_flag(spec.options)["--verbose"]["type"] == "bool"
    assert set(spec.subcommands) == {"train-model", "eval"}
    train = opts_by_flag(spec.subcommands["train-model"])
    assert train["--lr"]["type"] == "float" and train["--lr"]["default"] == "0.01"
    assert train["--dataset"]["flags"] == ["--dataset", "-d"]
    assert train["--dataset"]["choices"] == ["mnist", "cifar10"] and train["--dataset"]["required"]
    assert train["--tag"]["action"] == "append"
    assert train["config"]["positional"] and train["config"]["required"]
    shuffle = spec.subcommands["eval"][0]
    assert shuffle["flags"] == ["--shuffle", "--no-shuffle"] and shuffle["type"] == "bool"


TYPER = """
from enum import Enum
from typing import Annotated, Optional

import typer

app = typer.Typer()


class Model(str, Enum):
    gcn = "gcn"
    gat = "gat"


@app.command()
def train(
    dataset: str,
    epochs: int = 10,
    model: Model = Model.gcn,
    lr: Annotated[float, typer.Option("--learning-rate", help="Step size.")] = 0.1,
    cuda: bool = False,
    out: Optional[str] = typer.Option(None, help="Output folder."),
):
    pass


@app.command()
def predict(checkpoint: str = typer.Argument(..., help="Checkpoint file.")):
    pass


if __name__ == "__main__":
    app()
"""


def test_typer_commands_annotations_and_options() -> None:
    spec = extract_cli(TYPER)
    assert spec is not None and spec.framework == "typer"
    assert set(spec.subcommands) == {"train", "predict"}
    t = {o["dest"]: o for o in spec.subcommands["train"]}
    assert t["dataset"]["positional"] and t["dataset"]["required"]
    assert t["epochs"]["flags"] == ["--epochs"] and t["epochs"]["type"] == "int" and t["epochs"]["default"] == "10"
    assert t["model"]["choices"] == ["gcn", "gat"]
    assert t["lr"]["flags"] == ["--learning-rate"] and t["lr"]["help"] == "Step size." and t["lr"]["default"] == "0.1"
    assert t["cuda"]["flags"] == ["--cuda", "--no-cuda"]
    assert t["out"]["type"] == "str" and t["out"]["help"] == "Output folder." and not t["out"]["required"]
    (ck,) = spec.subcommands["predict"]
    assert ck["positional"] and ck["required"] and ck["help"] == "Checkpoint file."


def test_typer_run_single_function() -> None:
    spec = extract_cli("import typer\n\ndef main(name: str, count: int = 1):\n    pass\n\ntyper.run(main)\n")
    assert spec is not None and spec.subcommands == {}
    assert [o["flags"] for o in spec.options] == [["name"], ["--count"]]


def test_fire_function_and_class() -> None:
    spec = extract_cli("import fire\n\ndef train(lr=0.1, epochs: int = 3):\n    pass\n\nfire.Fire(train)\n")
    assert spec is not None and spec.framework == "fire"
    assert [(o["flags"], o["type"], o["default"]) for o in spec.options] == [
        (["--lr"], "float", "0.1"),
        (["--epochs"], "int", "3"),
    ]
    src = (
        "import fire\n\nclass Tool:\n    def __init__(self, seed=0):\n        pass\n\n"
        "    def run(self, n=1):\n        pass\n\nif __name__ == '__main__':\n    fire.Fire(Tool)\n"
    )
    spec = extract_cli(src)
    assert spec is not None and [o["dest"] for o in spec.options] == ["seed"] and set(spec.subcommands) == {"run"}


def test_not_a_cli() -> None:
    assert extract_cli("def f():\n    return 1\n") is None
    assert extract_cli("import argparse\n") is None
    assert extract_cli("import argparse\ndef broken(:\n") is None


def test_find_invocations() -> None:
    text = (
        "# Cora\npython citation.py --gpu 0\nCUDA_VISIBLE_DEVICES=0 python3 -u tools/train.py\n"
        "python -m pkg.cli run\nsee model.py"
    )
    assert find_invocations(text) == [("citation.py", False), ("tools/train.py", False), ("pkg.cli", True)]


def test_cards_link_readme_and_shell_chunks() -> None:
    files = [
        (
            "README.md",
            "# Project\n## Train\nFrom the root:\n```bash\npython examples/arma/citation.py --dataset Cora\n```\n",
        ),
        (
            "examples/arma/README.md",
            "# ARMA\n## Citeseer\n```bash\npython citation.py --dataset Citeseer --num-stacks 3\n```\n",
        ),
        ("examples/arma/run.sh", "#!/bin/bash\npython citation.py --dataset Pubmed\n"),
        ("examples/arma/citation.py", ARGPARSE),
        ("examples/arma/helper.py", "def f():\n    return 1\n"),
    ]
    cs = chunk_files(files, ChunkingConfig(max_tokens=512))  # the card fits one unit (see test_long_card_...)
    cards = [c for c in cs.units if c.kind == "card"]
    assert len(cards) == 1 and cs.units[-1] is cards[0]
    card = cards[0]
    assert card.derived and card.path == "examples/arma/citation.py"
    meta = card.meta
    assert meta["script"] == "examples/arma/citation.py" and meta["framework"] == "argparse"
    assert meta["workdir"] == "examples/arma" and meta["run"] == "python citation.py"  # 2 of 3 invocations
    by_id = {c.id: c for c in cs.units}
    users = [by_id[i] for i in card.links]
    assert {u.path for u in users} == {"README.md", "examples/arma/README.md", "examples/arma/run.sh"}
    assert list(card.links) == meta["invoked_by"]
    assert all(card.id in u.links for u in users)
    assert all(not c.links for c in cs.units if c.kind == "python")
    assert "Run: cd examples/arma && python citation.py [options]" in card.text
    assert "--dataset STR  default: Cora  choices: Cora, Citeseer, Pubmed  Name of dataset." in card.text
    assert "Invoked in: README.md (Project > Train), examples/arma/README.md (ARMA > Citeseer)" in card.text
    assert (card.start_line, card.end_line) == (9, 28)  # first add_argument (in the helper) to the last
    # without cards nothing is linked
    plain = chunk_files(files, ChunkingConfig(cards=False))
    assert all(c.kind != "card" and not c.links for c in plain.units)


def test_workdir_is_root_for_repo_relative_invocations() -> None:
    files = [
        ("README.md", "# Use\n```\npython tools/train.py --lr 1\n```\n"),
        ("tools/train.py", "import argparse\np = argparse.ArgumentParser()\np.add_argument('--lr')\np.parse_args()\n"),
    ]
    card = chunk_files(files, ChunkingConfig()).units[-1]
    assert card.meta["workdir"] == "" and card.meta["run"] == "python tools/train.py"
    assert card.text.splitlines()[1] == "Run: python tools/train.py [options]"


def _many_options(n: int) -> str:
    adds = "".join(
        f"parser.add_argument('--opt-{i}', type=int, default={i}, help='Option {i} sets the number of things.')\n"
        for i in range(n)
    )
    sub = "".join(f"fit.add_argument('--fit-{i}', type=float, default=0.{i})\n" for i in range(8))
    return (
        "import argparse\nparser = argparse.ArgumentParser()\n" + adds
        + "subs = parser.add_subparsers()\nfit = subs.add_parser('fit')\n" + sub + "parser.parse_args()\n"
    )  # fmt: skip


def test_long_card_splits_into_pieces_under_its_full_card() -> None:
    from mlrag.chunking.invariants import check_invariants
    from mlrag.chunking.tokens import approx_tokens
    from mlrag.generation.grounding import ground

    files = [("README.md", "# Train\n```bash\npython train.py --opt-1 3\n```\n"), ("train.py", _many_options(60))]
    for cfg in (ChunkingConfig(), ChunkingConfig(max_tokens=100, context_max_tokens=200)):
        cs = chunk_files(files, cfg)
        assert check_invariants(dict(files), cs, cfg, approx_tokens) == []
        pieces = [c for c in cs.units if c.kind == "card"]
        (full,) = [c for c in cs.contexts if c.kind == "card"]
        assert full.derived and full.meta["level"] == 1 and len(pieces) >= 3
        readme = cs.units[0]
        assert readme.links == (full.id,) and full.links == (readme.id,)
        n = len(pieces)
        for i, p in enumerate(pieces, 1):
            assert p.derived and p.parent_id == full.id and p.links == full.links
            assert approx_tokens(p.text) <= cfg.max_tokens
            assert p.meta["part"] == [i, n] and p.meta["options"] == full.meta["options"]
            assert p.meta["script"] == "train.py" and p.meta["run"] == "python train.py"
            head = p.text.splitlines()[:2]
            assert head == [
                f"Command-line interface of train.py (argparse), part {i} of {n}",
                "Run: python train.py [options]",
            ]
        # every line of the full card below its header is in exactly one piece, in order
        body = full.text.splitlines()[2:]
        sub = "Subcommand fit: python train.py fit [options]"
        seen = [line for p in pieces for line in p.text.splitlines()[2:]]
        assert [x for x in seen if x != sub] == [x for x in body if x != sub]
        opt_lines = [x for x in seen if x.lstrip().startswith("--")]
        assert len(opt_lines) == len(set(opt_lines)) == 68
        # a piece that starts inside the subcommand repeats its line first
        for p in pieces:
            rest = p.text.splitlines()[2:]
            if rest[0].startswith("    --fit-"):
                raise AssertionError("subcommand options without their subcommand line")
        # grounding reads the options from any piece
        ok = ground("python train.py --opt-59 2", "bash", pieces, {"train.py", "README.md"})
        assert all(c.ok for c in ok)
        bad = ground("python train.py --opt-99 2", "bash", pieces, {"train.py", "README.md"})
        assert any(c.name == "flag-exists" and not c.ok for c in bad)
    # a card that fits stays one unit and adds no context
    small = chunk_files([("train.py", _many_options(2))], ChunkingConfig())
    assert [c.kind for c in small.units][-1] == "card" and small.units[-1].parent_id is None
    assert not [c for c in small.contexts if c.kind == "card"]
