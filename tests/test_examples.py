"""Python examples of a repository's documentation as catalog entries (``python-example``) and synthesis from
them, on a small repository written here: which blocks count, their slots, and the invariant that adapting an
example to a task changes only its slots."""

from __future__ import annotations

import ast
import json

import pytest

from mlrag.catalog import build_catalog
from mlrag.catalog.examples import example_affordances, example_slots, fill_slots
from mlrag.generation.synthesis import render, synthesize

README = """# pixkit

## Install

```bash
pip install -e .
```

## Load an image

```python
from PIL import Image
raw_image = Image.open("docs/cat.jpg").convert("RGB")
```

## Image Captioning

Caption an image with the small captioner.

```python
from pixkit.models import load_captioner
model = load_captioner(name="cap-small")
print(model.caption(raw_image))
```

## Visual question answering

```python
from pixkit.models import load_vqa
model = load_vqa(name="vqa-base")
print(model.answer(raw_image, question="What is in the picture?"))
```

## Pseudo code, not Python

```python
for each image: caption it
```

## Train from the command line

```python
# no call, no import
x = 1
```
"""

RST = """Feature extraction
==================

.. code-block:: python

    from pixkit.models import load_extractor
    feats = load_extractor(name="feat-base").extract("a.png", shape=(1, 3))

Doctest style
-------------

>>> from pixkit.models import load_vqa
>>> load_vqa(name="vqa-base")
<Vqa vqa-base>
"""

NOTEBOOK = {
    "cells": [
        {"cell_type": "markdown", "source": ["## Embeddings\n"]},
        {"cell_type": "code", "source": ["import torch\n", "from pixkit.models import embed\n",
                                         "e = embed(torch.zeros(4, 8))\n"]},
        {"cell_type": "code", "source": ["!pip install pixkit\n"]},
    ],
    "metadata": {},
}

MODELS = (
    "def load_captioner(name='cap-small'):\n    '''A captioner.'''\n\n"
    "def load_vqa(name='vqa-base'):\n    '''A VQA model.'''\n\n"
    "def load_extractor(name='feat-base'):\n    '''A feature extractor.'''\n\n"
    "def load_detector(name='det-base'):\n    '''A detector.'''\n\n"
    "def embed(x):\n    '''Embeddings.'''\n"
)
TRAIN = (
    "import argparse\n"
    "p = argparse.ArgumentParser()\n"
    "p.add_argument('--epochs', type=int, default=10, help='training epochs')\n"
    "p.add_argument('--lr', type=float, default=0.1, help='learning rate')\n"
    "args = p.parse_args()\n"
)


@pytest.fixture(scope="module")
def catalog():  # type: ignore[no-untyped-def]
    return build_catalog(
        [
            ("README.md", README),
            ("docs/features.rst", RST),
            ("notebooks/embed.ipynb", json.dumps(NOTEBOOK)),
            ("notebooks/broken.ipynb", '{"cells": [ not json'),
            ("notebooks/odd.ipynb", json.dumps({"cells": [{"cell_type": "code", "source": [1]}]})),
            ("pixkit/__init__.py", ""),
            ("pixkit/models.py", MODELS),
            ("train.py", TRAIN),
        ]
    )


def test_only_python_blocks_that_import_and_call_are_examples(catalog) -> None:  # type: ignore[no-untyped-def]
    ex = catalog.of_kind("python-example")
    names = sorted(a.name for a in ex)
    assert names == ["Doctest style", "Embeddings", "Feature extraction", "Image Captioning", "Load an image",
                     "Visual question answering"]  # fmt: skip
    for a in ex:
        ast.parse(a.run)  # every example is valid Python on its own
        assert "pip install" not in a.run and "<Vqa" not in a.run  # shell lines and doctest output are dropped
        assert a.path in ("README.md", "docs/features.rst", "notebooks/embed.ipynb")
        assert 1 <= a.start_line <= a.end_line
    assert all("broken" not in s for s in catalog.skipped)  # not JSON: not a notebook, nothing to report
    assert any(s.startswith("notebooks/odd.ipynb: ") for s in catalog.skipped)  # malformed cells: a logged skip


def test_a_block_using_an_earlier_blocks_names_gets_that_block(catalog) -> None:  # type: ignore[no-untyped-def]
    cap = next(a for a in catalog.of_kind("python-example") if a.name == "Image Captioning")
    assert cap.run.index("raw_image = Image.open") < cap.run.index("load_captioner(")
    assert "Caption an image with the small captioner." in cap.summary


def test_slots_round_trip_and_filling_changes_only_the_slot() -> None:
    code = 'from m import f\nx = f("a.jpg", name="big", size=(2, 3))\nprint(x.run("What?"))\n'
    slots = example_slots(code)
    assert [(s.kind, s.text) for s in slots if s.kind == "string"] == [("string", "a.jpg"), ("string", "big"),
                                                                      ("string", "What?")]  # fmt: skip
    for s in slots:
        assert code[s.start : s.end] in (repr(s.text), f'"{s.text}"', s.text, f"{s.text[0]}, {s.text[2:]}")
    i = next(k for k, s in enumerate(slots) if s.text == "a.jpg")
    out = fill_slots(code, [(i, "photos/o'brien.png")])
    assert ast.literal_eval(ast.parse(out).body[1].value.args[0]) == "photos/o'brien.png"  # type: ignore[attr-defined]
    assert out.replace(repr("photos/o'brien.png"), '"a.jpg"') == code
    assert example_slots("def broken(:\n") == []
    assert fill_slots(code, [(99, "x")]) == code


def test_non_python_and_broken_documents_give_no_examples() -> None:
    assert example_affordances("notes.md", "```python\nfor each x: do\n```\n") == []
    assert example_affordances("nb.ipynb", "[1, 2]") == []
    assert example_affordances("nb.ipynb", "{not json") == []
    assert example_affordances("a.md", "```bash\npython train.py --epochs 3\n```\n") == []


def test_python_task_is_answered_from_the_example_with_the_tasks_values(catalog) -> None:  # type: ignore[no-untyped-def]
    task = "Write Python code for image captioning of the picture 'photos/dog.png' with pixkit."
    b = synthesize(task, catalog)
    assert b is not None and b.affordance.kind == "python-example" and b.affordance.name == "Image Captioning"
    code, kind = render(b)
    assert kind == "python" and "'photos/dog.png'" in code and "docs/cat.jpg" not in code
    ast.parse(code)
    # only the example's slots changed: with the task's value put back, it is the example again
    assert code.replace("'photos/dog.png'", '"docs/cat.jpg"') == b.affordance.run


def test_question_and_sibling_call_come_from_the_task(catalog) -> None:  # type: ignore[no-untyped-def]
    task = 'In Python, answer "How many dogs?" about the image with the visual question answering model.'
    b = synthesize(task, catalog)
    assert b is not None and b.affordance.name == "Visual question answering"
    code = render(b)[0]
    assert "'How many dogs?'" in code and "What is in the picture?" not in code
    task = "Python code: extract features with load_detector() as the feature extraction example does"
    b = synthesize(task, catalog)
    assert b is not None and b.affordance.name == "Feature extraction"
    code = render(b)[0]  # the task's call, a sibling in pixkit.models, replaces load_extractor
    assert "load_detector(" in code and "load_extractor(" not in code and "load_extractor" in code  # the import stays
    assert synthesize("Python code: extract features with nowhere_defined() please", catalog) is not None


def test_a_command_task_with_values_stays_a_command(catalog) -> None:  # type: ignore[no-untyped-def]
    b = synthesize("Train for 3 epochs with a learning rate of 0.01, captioning images", catalog)
    assert b is not None and b.affordance.kind == "python-script"
    assert render(b)[0] == "python train.py --epochs 3 --lr 0.01"


def test_entry_points_table_shows_the_example_briefly(catalog) -> None:  # type: ignore[no-untyped-def]
    from mlrag.agent.entry_points import format_catalog

    cap = next(a for a in catalog.of_kind("python-example") if a.name == "Image Captioning")
    text = format_catalog([cap])
    assert text.splitlines()[0] == "[python-example] Image Captioning"
    assert f"defined at {cap.location}" in text and "| from PIL import Image" in text
    assert "values: " in text and "'docs/cat.jpg'" in text and "load_captioner()" in text
    assert len(text.splitlines()) <= 12  # the first lines of code, not the whole block


def test_code_written_inside_a_blockquote_is_an_example_and_doctests_keep_their_prompts() -> None:
    doc = (
        "# Kit\n\n## Classify\n\n> Load the classifier:\n> ```python\n> from kit.models import PointNet\n"
        "> model = PointNet(emb_dims=512)\n> ```\n\n```python\n>>> from kit import grid\n>>> grid(3)\n```\n"
    )
    got = example_affordances("README.md", doc)
    assert [a.start_line for a in got] == [6, 11]  # provenance: the lines of the original file
    assert got[0].run == "from kit.models import PointNet\nmodel = PointNet(emb_dims=512)\n"
    assert "Load the classifier" in got[0].summary
    assert got[1].run == "from kit import grid\ngrid(3)\n"


def test_a_name_with_a_slash_replaces_the_examples_name_of_the_same_make() -> None:
    readme = ("# Kit\n\n## Embed\n\n```python\nimport kit\nmodel = kit.load('Net-S/8', device='cpu')\n"
              "print(model.embed('a dog'))\n```\n")  # fmt: skip
    cat = build_catalog([("README.md", readme), ("kit/__init__.py", "def load(name, device='cpu'):\n    pass\n")])
    b = synthesize("Write Python code that loads the Net-L/14 model and embeds 'a cat'", cat)
    assert b is not None and b.affordance.kind == "python-example"
    code = render(b)[0]
    assert "kit.load('Net-L/14', device='cpu')" in code and "'a cat'" in code
