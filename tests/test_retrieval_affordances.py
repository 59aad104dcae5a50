"""Affordance units (``mlrag.chunking.affordances``) and ``retrieval.affordances``: a README usage hit or a task
that names a script brings that script's options into the context, exactly as the catalog has them."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlrag.catalog import build_catalog
from mlrag.chunking.affordances import affordance_unit, affordance_units, compact_text, unit_text
from mlrag.config import Config
from mlrag.index import Index
from mlrag.retrieval.affordances import AffordanceIndex, with_affordances
from mlrag.types import Chunk, Hit

README = """# Tiny graph lab

Small experiments on citation graphs.

## Training

Train the model on a citation dataset:

```bash
python train.py --dataset cora --lr 0.1
```

## Evaluation

Evaluate a saved checkpoint from the tools folder:

```bash
cd tools
python evaluate.py --checkpoint model.pt
```
"""

TRAIN = '''"""Train a graph model on a citation dataset."""
import argparse

parser = argparse.ArgumentParser(description="Train a graph model on a citation dataset.")
parser.add_argument("--dataset", type=str, default="cora", choices=["cora", "citeseer", "pubmed"],
                    help="which citation graph to train on")
parser.add_argument("--lr", type=float, default=0.01, help="learning rate")
parser.add_argument("--num-layers", type=int, default=2, help="number of graph convolution layers")
parser.add_argument("--dropout-rate", type=float, default=0.5, help="dropout probability")
parser.add_argument("--self-loop", action="store_true", help="add self loops to every node")
args = parser.parse_args()
print(args)
'''

# the parser lives in another module: the catalog reads it, an argument card of evaluate.py alone would not
OPTS = """import argparse


def get_parser():
    parser = argparse.ArgumentParser(description="Evaluate a checkpoint.")
    parser.add_argument("--checkpoint", type=str, required=True, help="path of the saved model")
    parser.add_argument("--split", type=str, default="test", choices=["val", "test"], help="which split")
    parser.add_argument("--batch-size", type=int, default=64, help="evaluation batch size")
    return parser
"""

EVALUATE = """from opts import get_parser

if __name__ == "__main__":
    args = get_parser().parse_args()
    print(args.checkpoint)
"""

FILES = {"README.md": README, "train.py": TRAIN, "tools/opts.py": OPTS, "tools/evaluate.py": EVALUATE}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "tinylab"
    for path, text in FILES.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return root


def _open(root: Path, tmp_path: Path, **retrieval: object) -> Index:
    cfg = Config().replace({"embedding": {"model": "fake"}, "retrieval": {"dense": "off", **retrieval}})
    return Index.open(root, cfg, name="tinylab", out=tmp_path / "idx", progress=False)


def _catalog():  # type: ignore[no-untyped-def]
    return build_catalog(FILES.items())


# --- the units ----------------------------------------------------------------------------------------------------


def test_each_runnable_entry_is_one_unit_whose_options_are_exactly_the_catalogs() -> None:
    catalog = _catalog()
    units = affordance_units(catalog)
    runnable = [a for a in catalog if a.kind in ("python-script", "shell-script", "make-target")]
    assert {u.meta["affordance"] for u in units} >= {a.id for a in runnable}
    assert {"python-script:train.py", "python-script:tools/evaluate.py"} <= {u.meta["affordance"] for u in units}
    for u in units:
        a = catalog.get(u.meta["affordance"])
        assert a is not None
        assert u.meta["params"] == [p.name for p in a.params]  # same names, same order, nothing added
        for p in a.params:
            for spelling in p.spellings:
                assert spelling in u.text
        listed = [w.split()[0].rstrip(",") for w in u.text.splitlines() if w.startswith("  --")]
        assert listed == [p.name for p in a.params if p.kind == "option"]
        assert (u.kind, u.derived, u.location) == ("card", True, a.location)
        assert u.meta["invoked_by"] == list(a.invoked_by)


def test_provenance_lines_point_at_real_lines_that_run_the_script() -> None:
    units = affordance_units(_catalog())
    checked = 0
    for u in units:
        lines = FILES[u.path].splitlines()
        assert 1 <= u.start_line <= u.end_line <= len(lines)
        for where in u.meta["invoked_by"]:
            path, line = where.rsplit(":", 1)
            text = FILES[path].splitlines()[int(line) - 1]
            assert "python" in text and u.path.rsplit("/", 1)[-1] in text
            checked += 1
    assert checked >= 2  # train.py and tools/evaluate.py are both run in the README


def test_the_unit_of_an_imported_parser_lists_its_options() -> None:
    unit = next(u for u in affordance_units(_catalog()) if u.meta["affordance"] == "python-script:tools/evaluate.py")
    assert unit.meta["params"] == ["--checkpoint", "--split", "--batch-size"]
    assert "cd tools && python evaluate.py [options]" in unit.text
    assert "choices: val, test" in unit.text and "required" in unit.text


def test_compact_text_keeps_every_option_name_within_the_limit() -> None:
    a = _catalog().get("python-script:train.py")
    assert a is not None
    assert compact_text(a, 10_000) == unit_text(a)
    short = compact_text(a, 200, wanted={"--lr"})
    assert len(short) < len(unit_text(a))
    assert "  --lr FLOAT  default: 0.01  learning rate" in short  # the option the task names keeps its line
    for p in a.params:
        assert p.name in short
    assert "learning rate" in short and "dropout probability" not in short


def test_units_are_pure_and_stable() -> None:
    a = _catalog().get("python-script:train.py")
    assert a is not None
    assert affordance_unit(a) == affordance_unit(a)
    assert affordance_unit(a).id == affordance_unit(a.__class__.from_dict(a.to_dict())).id


# --- retrieval ------------------------------------------------------------------------------------------------------


def _affordance_hits(hits: list[Hit]) -> list[Hit]:
    return [h for h in hits if h.chunk.meta.get("affordance")]


def test_a_readme_usage_hit_brings_the_scripts_options(repo: Path, tmp_path: Path) -> None:
    idx = _open(repo, tmp_path, affordances=True)
    task = "Train the model on the pubmed citation dataset with 4 layers"
    hits = idx.search(task, k=1)  # the README section only: the script's source and card are not there
    units = _affordance_hits(hits)
    assert [h.chunk.meta["affordance"] for h in units] == ["python-script:train.py"]
    context = "\n".join(h.text for h in hits)
    assert "--num-layers" in context and "--dropout-rate" in context  # options the README never shows
    readme = next(i for i, h in enumerate(hits) if h.path == "README.md")
    assert hits.index(units[0]) == readme + 1  # right after the README lines that run it
    assert not _affordance_hits(idx.search(task, k=10))  # the source and card of train.py are there: no unit
    idx.searcher.config = idx.config.replace({"retrieval": {"affordances": False}}).retrieval
    assert not _affordance_hits(idx.search(task, k=1))


def test_a_task_naming_a_script_gets_its_options(repo: Path, tmp_path: Path) -> None:
    idx = _open(repo, tmp_path, affordances=True)
    hits = idx.search("Run evaluate.py on the val split", k=1)
    units = _affordance_hits(hits)
    assert "python-script:tools/evaluate.py" in [h.chunk.meta["affordance"] for h in units]
    text = next(h.text for h in units if h.chunk.meta["affordance"] == "python-script:tools/evaluate.py")
    for name in ("--checkpoint", "--split", "--batch-size"):
        assert name in text


def test_the_context_stays_within_the_budget(repo: Path, tmp_path: Path) -> None:
    idx = _open(repo, tmp_path, affordances=True)
    for budget in (300, 600, 1200):
        hits = idx.search("Train the model on pubmed with 4 layers", k=10, budget_chars=budget)
        assert sum(len(h.text) for h in hits) <= budget


def test_no_unit_when_the_scripts_card_or_its_options_are_already_there() -> None:
    catalog = _catalog()
    aff = AffordanceIndex(catalog)
    readme = Chunk.make(README, "README.md", 1, README.count("\n"), "markdown")
    usage = Hit(readme.text, readme.path, 1, readme.end_line, 1.0, readme)
    chosen = [a.id for _, a in aff.choose("train on pubmed", [usage])]
    assert chosen == ["python-script:train.py"]  # one unit per hit: the one that matches the task best
    card = Chunk.make("Command-line interface of train.py\n", "train.py", 4, 9, "card", derived=True)
    with_card = [usage, Hit(card.text, card.path, 4, 9, 0.9, card)]
    assert "python-script:train.py" not in [a.id for _, a in aff.choose("train on pubmed", with_card)]
    spelled = Chunk.make(TRAIN, "train.py", 1, TRAIN.count("\n"), "python")
    with_source = [usage, Hit(spelled.text, spelled.path, 1, spelled.end_line, 0.9, spelled)]
    assert "python-script:train.py" not in [a.id for _, a in aff.choose("train on pubmed", with_source)]


def test_with_affordances_places_units_after_their_hit() -> None:
    a, b, u = (Chunk.make(t, "x.md", i, i, "markdown") for i, t in enumerate(("a\n", "b\n", "u\n"), 1))
    hits = [Hit(c.text, c.path, c.start_line, c.end_line, 1.0, c) for c in (a, b)]
    out = with_affordances([(a, 0.9), (b, 0.5)], hits, [(1, u)])
    assert [(c.text, s) for c, s in out] == [("a\n", 0.9), ("b\n", 0.5), ("u\n", 0.5)]


def test_the_catalog_is_not_rewritten_into_a_loaded_index(repo: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    idx = _open(repo, tmp_path)
    stored = (idx.path / "affordances.json").read_bytes()
    import mlrag.catalog as catalog_pkg

    monkeypatch.setattr(catalog_pkg, "read_catalog", lambda path: None)  # as if it were of an older version
    assert len(Index.load(idx.path, idx.config).affordance_units) >= 2  # rebuilt in memory
    assert (idx.path / "affordances.json").read_bytes() == stored
    monkeypatch.undo()
    Index.load(idx.path, idx.config)  # checksums still match
