"""Catalog shapes of old and loosely written research code: Python 2 scripts with a parser imported from another
module, ``<placeholder>`` arguments, name tables an option indexes, scripts the README runs as ``./x.py``,
scripts that hand unknown options to a config, values a script compares an option with, and parameter help from
docstrings (each repository below is written here, not taken from any)."""

from __future__ import annotations

import ast

from mlrag.catalog import build_catalog
from mlrag.catalog.catalog import python2_as_3
from mlrag.commands import split_commands
from mlrag.generation.synthesis import render, synthesize

OPTS = (
    "import argparse\n"
    "parser = argparse.ArgumentParser()\n"
    "parser.add_argument('dataset', type=str, choices=['ucf', 'hmdb'])\n"
    "parser.add_argument('--arch', type=str, default='resnet18')\n"
    "parser.add_argument('--lr_steps', type=float, nargs='+', default=[20, 40])\n"
)
PY2_MAIN = (
    "from opts import parser\n\n"
    "def main():\n"
    "    args = parser.parse_args()\n"
    "    print 'training', args.arch\n"
    "    try:\n        x = 1\n    except IOError, e:\n        raise ValueError, 'bad'\n"
    "    y = target.cuda(async=True)\n\n"
    "if __name__ == '__main__':\n    main()\n"
)
PY2_README = "```bash\npython main.py ucf <train_list> --arch BNInception\n```\n"


def test_python2_statements_are_read_line_for_line() -> None:
    out = python2_as_3(PY2_MAIN)
    ast.parse(out)
    assert len(out.splitlines()) == len(PY2_MAIN.splitlines())


def test_a_python2_script_with_an_imported_parser_is_the_entry() -> None:
    cat = build_catalog({"opts.py": OPTS, "main.py": PY2_MAIN, "README.md": PY2_README}.items())
    main = next(a for a in cat if a.path == "main.py")
    assert {"dataset", "--arch", "--lr_steps"} <= {p.name for p in main.params}
    assert not any(a.path == "opts.py" and a.kind == "python-script" for a in cat)  # a parser module, no entry
    assert "--arch BNInception" in main.usage[0]  # the placeholder did not swallow the line


def test_angle_placeholders_are_arguments_and_redirections_are_not() -> None:
    assert split_commands("python a.py <in_list> --x 1") == [["python", "a.py", "<in_list>", "--x", "1"]]
    assert split_commands("python a.py < in.txt > out.txt") == [["python", "a.py"]]


TABLES = {
    "nets/configs.py": "CONFIGS = {'ViT-B_16': 1, 'R50-ViT-B_16': 2, 'ViT-L_16': 3}\n",
    "nets/__init__.py": "",
    "train.py": (
        "import argparse\nfrom nets.configs import CONFIGS as TABLE\n"
        "p = argparse.ArgumentParser()\n"
        "p.add_argument('--vit_name', type=str, default='R50-ViT-B_16', help='select one vit model')\n"
        "p.add_argument('--dataset', type=str, default='Synapse')\n"
        "args = p.parse_args()\nconfig = TABLE[args.vit_name]\n"
        "if args.dataset == 'Synapse':\n    pass\nelif args.dataset in ('ACDC', 'Prostate'):\n    pass\n"
    ),
}


def test_an_option_that_indexes_a_name_table_takes_its_names() -> None:
    cat = build_catalog(TABLES.items())
    train = next(a for a in cat if a.path == "train.py")
    vit = next(p for p in train.params if p.name == "--vit_name")
    assert vit.choices == ("ViT-B_16", "R50-ViT-B_16", "ViT-L_16")
    b = synthesize("Train the R50+ViT-B/16 hybrid on ACDC", cat, output_type="bash")
    assert b is not None and "--vit_name R50-ViT-B_16" in render(b)[0]
    data = next(p for p in train.params if p.name == "--dataset")
    assert "ACDC" in data.help and "Prostate" in data.help  # the values the script checks
    b = synthesize("Train ViT-B/16 on data/my_scans", cat, output_type="bash")
    assert b is not None and "--vit_name ViT-B_16" in render(b)[0]


EXEC = {
    "README.md": "Run `./main.py --icarl` or\n\n```\n./main.py --experiment=splitMNIST --si\n```\n"
                 "The demo is the `./app.py` file.\n",
    "main.py": "#!/usr/bin/env python3\nimport argparse\np = argparse.ArgumentParser()\n"
               "p.add_argument('--experiment', type=str)\np.add_argument('--si', action='store_true')\n"
               "p.add_argument('--icarl', action='store_true')\nargs = p.parse_args()\n",
    "app.py": "import argparse\np = argparse.ArgumentParser()\np.add_argument('--port', type=int)\n"
              "args = p.parse_args()\n",
}


def test_scripts_the_docs_run_as_programs_render_so() -> None:
    cat = build_catalog(EXEC.items())
    assert next(a for a in cat if a.path == "main.py").run == "./main.py"
    assert next(a for a in cat if a.path == "app.py").run == "python app.py"  # named in prose, not run


PASSED = {
    "README.md": "```bash\npython train.py --config config/train_cord.yaml \\\n"
                 "  --pretrained_model_name_or_path \"org/base\" --dataset_name_or_paths '[\"org/cord\"]'\n```\n",
    "config/train_cord.yaml": "result_path: ./result\nmax_epochs: 30\nverbose: true\n",
    "train.py": "import argparse\np = argparse.ArgumentParser()\np.add_argument('--config', type=str, required=True)\n"
                "p.add_argument('--exp_version', type=str)\nargs, left = p.parse_known_args()\n",
}


def test_a_script_that_reads_unknown_options_takes_the_documented_ones_and_its_config_keys() -> None:
    cat = build_catalog(PASSED.items())
    train = next(a for a in cat if a.path == "train.py")
    names = {p.name for p in train.params}
    assert {"--pretrained_model_name_or_path", "--dataset_name_or_paths", "--result_path", "--max_epochs"} <= names
    b = synthesize("Fine-tune from org/base on my dataset in ./data/receipts for 10 epochs, outputs under ./out", cat,
                   output_type="bash")
    assert b is not None
    code = render(b)[0]
    assert "--dataset_name_or_paths '[\"./data/receipts\"]'" in code  # a JSON list, as the README passes it
    assert "--max_epochs 10" in code and "--result_path ./out" in code


API = (
    "def verify(img1_path: str, model_name: str = 'VGG-Face', threshold: float = None):\n"
    '    """Verify a pair.\n\n    Args:\n        img1_path (str): Path to the first image.\n'
    "        model_name (str): Model for face recognition. Options: VGG-Face, Facenet, ArcFace.\n"
    '        threshold (float): decision threshold.\n    """\n'
)


def test_api_parameters_take_their_docstring_descriptions() -> None:
    cat = build_catalog({"faces/__init__.py": "", "faces/api.py": API}.items())
    verify = next(a for a in cat if a.name.endswith(".verify"))
    helps = {p.name: p.help for p in verify.params}
    assert helps["img1_path"] == "Path to the first image."
    assert "ArcFace" in helps["model_name"]
    b = synthesize("In Python, verify id.jpg with the ArcFace model", cat)
    assert b is not None and "model_name='ArcFace'" in render(b)[0] and "threshold=" not in render(b)[0]
