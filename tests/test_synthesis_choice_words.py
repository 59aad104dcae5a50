"""How tasks say choices, flags and counts that plain matching missed: choices imported from another module,
a choice that is another choice's first word, pronouns and abbreviations, a name's head ("a FactorVAE"), flags
the task negates or the CPU rules out, "N images per batch", counts of GPUs, and words a task splits ("warm up")
(each repository below is written here, not taken from any)."""

from __future__ import annotations

import pytest

from mlrag.catalog import build_catalog
from mlrag.generation.synthesis import match_choice, render, synthesize, words_of

DATA = "DATASETS_DICT = {'mnist': 'MNIST', 'chairs': 'Chairs', 'dsprites': 'DSprites'}\n" \
       "DATASETS = list(DATASETS_DICT.keys())\n"
LOSSES = "LOSSES = ['VAE', 'betaH', 'factor']\n"
MAIN = (
    "import argparse\n"
    "from utils.datasets import DATASETS\n"
    "from models.losses import LOSSES as KINDS\n"
    "p = argparse.ArgumentParser()\n"
    "p.add_argument('name', type=str, help='Name of the model for storing and loading purposes.')\n"
    "p.add_argument('-d', '--dataset', default='mnist', choices=DATASETS, help='Path to training data.')\n"
    "p.add_argument('-l', '--loss', default='VAE', choices=KINDS, help='Type of VAE loss function to use.')\n"
    "p.add_argument('--aggr', default='att', choices=['one', 'att', 'avg'])\n"
    "p.add_argument('--split', default='wiki_distant', choices=['wiki_distant', 'wiki20m', 'nyt10'])\n"
    "p.add_argument('--labels_file', default='label_names.txt', help='file containing label names')\n"
    "p.add_argument('--gpus', default=3, type=int, help='number of gpus to use')\n"
    "p.add_argument('--train_batch_size', default=32, type=int, help='batch size per GPU for training')\n"
    "p.add_argument('--warmup_proportion', default=0.1, type=float, help='Proportion of training to warm up for.')\n"
    "p.add_argument('--do_train', action='store_true', help='Whether to run training.')\n"
    "p.add_argument('--do_eval', action='store_true', help='Whether to run eval.')\n"
    "p.add_argument('-gpu', action='store_true', default=False, help='use gpu or not')\n"
    "p.add_argument('-resume', action='store_true', default=False, help='resume training')\n"
    "args = p.parse_args()\n"
)
README = "# vae\n\n```bash\npython main.py run1 -d mnist --do_train --do_eval -gpu\n```\n"
FILES = {
    "README.md": README,
    "main.py": MAIN,
    "utils/__init__.py": "",
    "utils/datasets.py": DATA,
    "models/__init__.py": "",
    "models/losses.py": LOSSES,
}


@pytest.fixture(scope="module")
def cat():  # noqa: ANN201
    return build_catalog(FILES.items())


def line(cat, task: str) -> str:  # noqa: ANN001
    b = synthesize(task, cat, usage=True)
    assert b is not None
    return render(b)[0]


def test_choices_imported_from_another_module_are_read(cat) -> None:  # noqa: ANN001
    main = next(a for a in cat if a.path == "main.py")
    by = {p.name: p for p in main.params}
    assert by["--dataset"].choices == ("mnist", "chairs", "dsprites")  # list(DICT.keys()) in the module it names
    assert by["--loss"].choices == ("VAE", "betaH", "factor")  # imported under another name


def test_choice_words() -> None:
    choices = ["wiki_distant", "wiki20m", "nyt10"]
    assert match_choice(words_of("the Wiki20m distantly supervised set"), choices)[0] == "wiki20m"
    assert match_choice(words_of("simple averaging, not the piecewise one"), ["one", "att", "avg"])[0] == "avg"
    assert match_choice(words_of("train a FactorVAE on chairs"), ["VAE", "betaH", "factor"])[0] == "factor"


def test_named_values_flags_and_counts(cat) -> None:  # noqa: ANN001
    code = line(cat, "Train a FactorVAE called run2 on dSprites with simple averaging, warm up for 20% of training, "
                     "with my GPU, I have just one GPU")
    # -l, not --loss: the README writes the options it sets short (-d mnist), so the rest are written so too
    assert "-d dsprites" in code and "-l factor" in code and "--aggr avg" in code
    assert "--warmup_proportion 0.2" in code and "--gpus 1" in code and "-gpu" in code.split()
    assert "--train_batch_size" not in code  # neither 20 (of 20%) nor 1 (one GPU) is a batch size


def test_negated_and_cpu_ruled_out_flags_are_dropped(cat) -> None:  # noqa: ANN001
    code = line(cat, "Without training again, score model run1 on mnist. No GPU on this laptop.")
    assert "--do_eval" in code and "--do_train" not in code and "-gpu" not in code.split()
    assert "-resume" in line(cat, "Continue the training of run1 from the latest checkpoint").split()


def test_a_file_option_takes_no_plain_word(cat) -> None:  # noqa: ANN001
    code = line(cat, "Train the label-names classifier run3 on chairs")
    assert "--labels_file classifier" not in code


DET = {
    "train.py": (
        "import argparse\np = argparse.ArgumentParser()\n"
        "p.add_argument('-c', '--compound_coef', type=int, default=0, help='coefficients of efficientdet')\n"
        "p.add_argument('--float16', type=boolean_string, default=False)\n"
        "p.add_argument('--lr', type=float, default=1e-3)\n"
        "args = p.parse_args()\n"
    ),
}


def test_a_number_in_a_model_name_and_half_precision() -> None:
    code = line(build_catalog(DET.items()), "Train an EfficientDet-D4 in half precision with a learning rate of 0.01")
    assert "-c 4" in code.replace("--compound_coef", "-c") and "--float16 True" in code and "--lr 0.01" in code


def test_a_choice_written_verbatim_beats_a_prose_match() -> None:
    choices = ["logistic_regression", "svc-rbf", "knn"]
    task = "swap the logistic regression head for an RBF-kernel SVM (svc-rbf)"
    assert match_choice(words_of(task), choices)[0] == "svc-rbf"
