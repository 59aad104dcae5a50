"""The path prior (folder/file names the task names) and the README slot, on a tiny GAN-zoo repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlrag.config import Config
from mlrag.errors import ConfigError
from mlrag.index import Index
from mlrag.retrieval.paths import PathIndex, path_names, query_names

ZOO = {
    "README.md": (
        "# GAN zoo\n\nPyTorch implementations of generative adversarial networks.\n\n"
        "## Installation\n\nClone the repository and install the requirements.\n\n"
        "## Models\n\nEvery model lives in its own folder and trains on MNIST by default.\n\n"
        "## Usage\n\nRun a model from its folder:\n\n"
        "```bash\ncd implementations/gan/\npython3 gan.py --lr 0.0002\n```\n"
    ),
    "implementations/gan/gan.py": (
        "import argparse\n\nparser = argparse.ArgumentParser()\n"
        'parser.add_argument("--lr", type=float, default=0.0002, help="adam: learning rate")\n'
        'parser.add_argument("--n_epochs", type=int, default=200)\nopt = parser.parse_args()\n'
    ),
    "implementations/lsgan/lsgan.py": (
        "import argparse\n\nparser = argparse.ArgumentParser()\n"
        'parser.add_argument("--lr", type=float, default=0.0002, help="adam: learning rate")\n'
        'parser.add_argument("--b1", type=float, default=0.5)\nopt = parser.parse_args()\n'
    ),
    "implementations/ebgan/ebgan.py": (
        "import argparse\n\nparser = argparse.ArgumentParser()\n"
        'parser.add_argument("--lr", type=float, default=0.0002, help="adam: learning rate")\n'
        'parser.add_argument("--img_size", type=int, default=32)\nopt = parser.parse_args()\n'
    ),
    "implementations/cogan/cogan.py": "def train():\n    pass\n",
    "data/download.sh": "wget https://example.org/mnist.tar.gz\n",
    "docs/leaderboard.md": "# Leaderboard\n\nLeast squares GAN scores 7.1 and energy based GAN 6.8 on MNIST.\n",
}


@pytest.fixture()
def zoo(tmp_path: Path) -> Path:
    root = tmp_path / "zoo"
    for rel, text in ZOO.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def _index(repo: Path, tmp_path: Path, **retrieval: object) -> Index:
    cfg = Config().replace({"embedding": {"model": "fake"}, "retrieval": retrieval})
    return Index.open(repo, cfg, name="zoo", out=tmp_path / "indexes" / "zoo", progress=False)


def test_path_names_split_and_keep_compounds() -> None:
    assert path_names("implementations/wgan_gp/wgan_gp.py") == {"implementations", "wgan_gp", "wgan", "gp"}
    assert {"groundingdino", "grounding", "dino"} <= path_names("GroundingDINO/demo/run.py")
    assert "readme" not in path_names("docs/README.md") and "md" not in path_names("docs/README.md")


@pytest.mark.parametrize(
    "query, vocabulary, expected",
    [
        ("train a Least Squares GAN", {"lsgan", "sgan", "gan"}, {"lsgan"}),
        ("the Energy-Based GAN model", {"ebgan", "bgan", "gan"}, {"ebgan"}),
        ("a Boundary-Seeking GAN", {"bgan", "sgan"}, {"bgan"}),
        ("the grounding dino demo", {"groundingdino"}, {"groundingdino"}),
        ("train ARMA on Citeseer", {"arma"}, {"arma"}),  # written as a name: all capitals
        ("the code and the data", {"code", "data"}, set()),  # plain English words name nothing
        ("least squares gan", {"lsgan"}, set()),  # acronyms only of Title Case names
        ("segment ./data/image.jpg", {"image", "data"}, set()),  # the user's own files are not repo names
    ],
)
def test_query_names(query: str, vocabulary: set[str], expected: set[str]) -> None:
    assert query_names(query, vocabulary) & vocabulary == expected


def test_both_readings_of_an_ambiguous_acronym_are_kept() -> None:
    # "Coupled GAN" reads as cgan (initials) and cogan (prefix): the text decides between them
    assert query_names("a Coupled GAN", {"cgan", "cogan"}) == {"cgan", "cogan"}


def test_path_index_scores_named_files_and_ignores_common_names() -> None:
    models = ("gan", "lsgan", "ebgan", "wgan", "wgan_gp", "dcgan", "cgan", "acgan", "bgan", "sgan")
    paths = [f"implementations/{m}/{f}.py" for m in models for f in (m, "train_utils")] + ["README.md"]
    pi = PathIndex(paths)
    assert "train_utils" not in pi.idf  # a file in every model's folder: says nothing about which is meant
    assert "implementations" in pi.idf  # one folder, however many files it holds
    scores = pi.scores("Wasserstein GAN GP with a learning rate of 0.0001")
    assert scores["implementations/wgan_gp/wgan_gp.py"] == max(scores.values())  # its folder's files tie
    assert scores["implementations/wgan_gp/wgan_gp.py"] > scores["implementations/wgan/wgan.py"]
    assert pi.scores("train it") == {}
    assert PathIndex([]).scores("Least Squares GAN") == {}


def test_path_prior_brings_the_named_folder_into_the_hits(zoo: Path, tmp_path: Path) -> None:
    query = "Train the Least Squares GAN with a learning rate of 0.0001"
    on = _index(zoo, tmp_path, path_prior=1.0, readme_slot=0).search(query, k=3, budget_chars=0)
    assert on[0].path == "implementations/lsgan/lsgan.py"
    off = _index(zoo, tmp_path, path_prior=0.0, readme_slot=0).search(query, k=3, budget_chars=0)
    # the scripts are alike but for their names: without the prior the named one is not singled out
    assert off[0].path != "implementations/lsgan/lsgan.py"


def test_readme_slot_puts_a_readme_section_that_runs_something_first(zoo: Path, tmp_path: Path) -> None:
    query = "least squares gan energy based gan scores"  # matches docs/leaderboard.md best
    plain = _index(zoo, tmp_path, readme_slot=0, path_prior=0.0).search(query, k=4, budget_chars=0)
    assert plain[0].path == "docs/leaderboard.md"
    slotted = _index(zoo, tmp_path, readme_slot=1, path_prior=0.0).search(query, k=4, budget_chars=0)
    assert slotted[0].path == "README.md" and "python3 gan.py" in slotted[0].text
    assert {h.path for h in slotted} >= {h.path for h in plain[:2]}  # the others only move down


def test_readme_slot_leaves_filtered_searches_alone(zoo: Path, tmp_path: Path) -> None:
    idx = _index(zoo, tmp_path, readme_slot=1)
    hits = idx.search("learning rate", k=3, paths=["implementations/"], budget_chars=0)
    assert hits and all(h.path.startswith("implementations/") for h in hits)


@pytest.mark.parametrize("field, value", [("path_prior", -1.0), ("readme_slot", -2)])
def test_negative_prior_settings_are_refused(field: str, value: float) -> None:
    with pytest.raises(ConfigError, match=field):
        Config().replace({"retrieval": {field: value}})
