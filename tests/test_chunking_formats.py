"""Notebooks, shell/config/text windows, file kinds, token counting, embed_text and cheap imports."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlrag.chunking import ChunkSet, TokenCounter, approx_tokens, chunk_files, chunk_text, embed_text, file_kind
from mlrag.chunking.invariants import check_invariants
from mlrag.config import ChunkingConfig
from mlrag.types import Chunk


def words_count(text: str) -> int:
    return len(text.split())


def notebook(cells: list[tuple[str, str]]) -> str:
    nb = {
        "cells": [
            {"cell_type": t, "metadata": {}, "source": src.splitlines(keepends=True), "outputs": [{"text": "OUT"}]}
            for t, src in cells
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(nb, indent=1)


def test_notebook_cells_interleaved_outputs_dropped() -> None:
    raw = notebook(
        [("markdown", "# Train\nTrain the model:"), ("code", "!python train.py --lr 0.1"), ("markdown", "Done.")]
    )
    cs = chunk_text("demo.ipynb", raw, ChunkingConfig(), words_count)
    (unit,) = cs.units
    assert unit.kind == "notebook" and not unit.derived and unit.title == "Train"
    assert unit.text == "# Train\nTrain the model:\n\n```python\n!python train.py --lr 0.1\n```\n\nDone.\n"
    assert "OUT" not in unit.text and unit.meta["cells"] == [0, 1, 2]
    lines = raw.splitlines()
    assert '"cell_type"' in lines[unit.start_line - 1] and unit.end_line == len(lines)


def test_notebook_long_is_split_with_cells_meta() -> None:
    cells = [
        ("markdown", f"## Step {i}\nDo step {i} now.") if i % 2 == 0 else ("code", f"x = {i}\nprint(x)")
        for i in range(30)
    ]
    cs = chunk_text("nb.ipynb", notebook(cells), ChunkingConfig(max_tokens=20, context_max_tokens=60), words_count)
    assert len(cs.units) > 3
    seen = [i for u in cs.units for i in u.meta["cells"]]
    assert seen == sorted(seen) and set(seen) == set(range(30))


def test_broken_notebook_is_skipped(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="mlrag.chunking.notebook"):
        assert chunk_text("bad.ipynb", "{not json", ChunkingConfig()) == ChunkSet()
        assert chunk_text("bad2.ipynb", '{"cells": 3}', ChunkingConfig()) == ChunkSet()
    assert caplog.text.count("not a valid notebook") == 2


def test_notebook_links_to_card() -> None:
    files = [
        ("nb.ipynb", notebook([("markdown", "Run it"), ("code", "!python train.py --lr 1")])),
        ("train.py", "import argparse\np = argparse.ArgumentParser()\np.add_argument('--lr')\np.parse_args()\n"),
    ]
    cs = chunk_files(files, ChunkingConfig())
    card = cs.units[-1]
    assert card.kind == "card" and card.links == (cs.units[0].id,) and cs.units[0].links == (card.id,)


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("README", "markdown"),
        ("docs/readme", "markdown"),
        ("a/b.MD", "markdown"),
        ("x.markdown", "markdown"),
        ("doc.rst", "rst"),
        ("m.py", "python"),
        ("n.ipynb", "notebook"),
        ("run.sh", "shell"),
        ("run.bash", "shell"),
        ("c.yaml", "config"),
        ("c.yml", "config"),
        ("c.json", "config"),
        ("pyproject.toml", "config"),
        ("setup.cfg", "config"),
        ("t.ini", "config"),
        ("notes.txt", "text"),
        ("LICENSE", "text"),
        ("README.txt", "text"),
    ],
)
def test_file_kind(path: str, kind: str) -> None:
    assert file_kind(path) == kind


def test_shell_and_config_windows() -> None:
    script = "#!/bin/bash\nset -e\n\n" + "".join(f"python train.py --seed {i} --lr 0.{i}\n" for i in range(30))
    cfg = ChunkingConfig(max_tokens=30, context_max_tokens=300)
    cs = chunk_text("scripts/run.sh", script, cfg, words_count)
    assert len(cs.units) > 2 and {u.kind for u in cs.units} == {"shell"}
    assert check_invariants({"scripts/run.sh": script}, cs, cfg, words_count) == []
    (ctx,) = cs.contexts
    assert ctx.start_line == 1 and all(u.parent_id == ctx.id for u in cs.units)
    yaml = "model:\n  name: gcn\n  hidden: 16\n"
    (unit,) = chunk_text("conf/a.yaml", yaml, ChunkingConfig()).units
    assert unit.kind == "config" and unit.text == yaml and unit.parent_id is None


def test_text_over_long_single_line() -> None:
    text = "word " * 500 + "\nshort\n"
    for section in (0, 600):
        cfg = ChunkingConfig(max_tokens=20, context_max_tokens=40, section_max_tokens=section)
        cs = chunk_text("data.txt", text, cfg, words_count)
        assert [u.start_line for u in cs.units] == [1, 2]
        assert all(u.parent_id is None for u in cs.units)
        # no level-1 context fits; the whole file is the level-2 context once that level is on
        assert [(c.meta["level"], c.start_line, c.end_line) for c in cs.contexts] == ([(2, 1, 2)] if section else [])
        assert check_invariants({"data.txt": text}, cs, cfg, words_count) == []


def test_ids_are_stable_and_depend_on_content() -> None:
    text = "# A\nbody\n"
    a = chunk_text("R.md", text, ChunkingConfig())
    b = chunk_text("R.md", text, ChunkingConfig())
    c = chunk_text("R.md", text.replace("body", "other"), ChunkingConfig())
    assert [u.id for u in a.units] == [u.id for u in b.units] != [u.id for u in c.units]


def test_embed_text_header() -> None:
    c = Chunk.make("x = 1\n", "pkg/m.py", 3, 3, "python", title="Trainer.fit")
    assert embed_text(c) == "pkg/m.py > Trainer.fit\nx = 1\n"
    assert embed_text(c, ChunkingConfig(embed_header=False)) == "x = 1\n"
    assert embed_text(c.with_(title="")) == "pkg/m.py\nx = 1\n"


def test_token_counter_matches_the_tokenizer() -> None:
    try:
        count = TokenCounter.minilm()
    except Exception as e:  # noqa: BLE001 - the packaged model is optional
        pytest.skip(f"packaged MiniLM tokenizer unavailable: {e}")
    tok = count._tok
    texts = [
        "Train an ARMA model on Citeseer: python citation.py --dataset Citeseer --num-stacks 3\n",
        "def forward(self, x_in: torch.Tensor) -> torch.Tensor:  # fused_op\n",
        "Café naïve 東京 résumé\n",
        "",
    ]
    exact = [len(tok.encode(t, add_special_tokens=False).ids) for t in texts]
    assert [count(t) for t in texts] == exact
    assert count.count_many(texts) == exact
    assert not count.approximate and TokenCounter().approximate
    assert TokenCounter()("python train.py --lr 0.1") == approx_tokens("python train.py --lr 0.1") > 0


def test_token_counter_bad_path() -> None:
    from mlrag.errors import MlragError

    with pytest.raises(MlragError, match="tokenizer file not found"):
        TokenCounter("/nonexistent/tokenizer.json")


def test_import_is_cheap() -> None:
    code = (
        "import sys, mlrag.chunking\n"
        "heavy = [m for m in ('torch', 'transformers', 'tokenizers', 'llama_index') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@given(st.text(alphabet=st.sampled_from("abcXYZ_09 .é-\n東"), max_size=60))
def test_approx_tokens_matches_its_reference(text: str) -> None:
    """The two-regex fast path equals the per-match definition: 1 + (length - 1) // 4 per letter run."""
    ref = sum(1 + (len(m) - 1) // 4 for m in re.findall(r"[A-Za-z]+|\d|_|[^\x00-\x7f]|[^\w\s]", text))
    assert approx_tokens(text) == ref
