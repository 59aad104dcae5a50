"""Code extraction on a table of messy model replies."""

from __future__ import annotations

import pytest

from mlrag.generation.extract import extract_code

FENCE = "```"

CASES = [
    # (reply, output type, expected code)
    (f"{FENCE}bash\npython train.py --lr 0.1\n{FENCE}", "bash", "python train.py --lr 0.1"),
    (
        f"Sure! Here you go:\n\n{FENCE}bash\n$ python train.py --lr 0.1\n{FENCE}\nHope it helps.",
        "bash",
        "python train.py --lr 0.1",
    ),
    # install block first, run block second: the run block wins for bash
    (
        f"First install:\n{FENCE}bash\npip install -r requirements.txt\n{FENCE}\nThen run:\n{FENCE}bash\n"
        f"python citation.py --dataset Citeseer\n{FENCE}",
        "bash",
        "python citation.py --dataset Citeseer",
    ),
    # unterminated fence
    (
        f"Run this:\n{FENCE}sh\ncd citation\npython train.py --model arma",
        "bash",
        "cd citation\npython train.py --model arma",
    ),
    # no fence at all, chatter around a command line
    (
        "To train, run the following command:\npython train.py --dataset cora\nThis trains a GCN.",
        "bash",
        "python train.py --dataset cora",
    ),
    # inline code span
    ("You can run `python main.py --dataset wiki_cs` to train it.", "bash", "python main.py --dataset wiki_cs"),
    # special tokens and a language-less fence
    (f"{FENCE}\nbash run.sh 4\n{FENCE}<|im_end|>", "bash", "bash run.sh 4"),
    # line continuations are kept
    (
        f"{FENCE}bash\npython run.py \\\n  --task_name imputation \\\n  --is_training 1\n{FENCE}",
        "bash",
        "python run.py \\\n  --task_name imputation \\\n  --is_training 1",
    ),
    # python wanted: the python block beats the bash block
    (
        f"{FENCE}bash\npip install fighting-cv\n{FENCE}\n{FENCE}python\nimport torch\nfrom model.a import A\n"
        f"x = A()\n{FENCE}",
        "python",
        "import torch\nfrom model.a import A\nx = A()",
    ),
    # python without fences, doctest prompts
    (
        "Here is the code:\n>>> import torch\n>>> print(torch.ones(2))\nThat prints a tensor.",
        "python",
        "import torch\nprint(torch.ones(2))",
    ),
    # tilde fences and indentation preserved inside
    ("~~~python\ndef f():\n    return 1\n~~~", "python", "def f():\n    return 1"),
    # an empty fenced block and then a real one
    (f"{FENCE}bash\n{FENCE}\n{FENCE}bash\nsh scripts/go.sh\n{FENCE}", "bash", "sh scripts/go.sh"),
    # empty reply, and an empty block in chatter
    ("", "bash", ""),
    ("Here you go:\n```bash\n\n```\nRun python train.py to train.", "bash", ""),
    # four-backtick fence holding a triple-backtick line
    ("````markdown\nuse ```python x.py```\n````", None, "use ```python x.py```"),
]


@pytest.mark.parametrize(("reply", "kind", "expected"), CASES)
def test_extract_table(reply: str, kind: str | None, expected: str) -> None:
    assert extract_code(reply, kind) == expected


def test_extract_is_idempotent_on_clean_code() -> None:
    for _, kind, expected in CASES:
        if expected and "```" not in expected:
            assert extract_code(f"{FENCE}\n{expected}\n{FENCE}", kind) == expected


def test_parse_python_is_quiet_about_odd_escapes_but_not_about_errors() -> None:
    import warnings

    import pytest

    from mlrag.generation.extract import parse_python

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert parse_python('pattern = "\\-d"\n').body  # an invalid escape a model wrote: no warning printed
    with pytest.raises(SyntaxError):
        parse_python("def broken(:\n")
