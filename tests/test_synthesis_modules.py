"""Scripts the documentation runs as modules (``python -m pkg.run``): their README lines are their usage, they run
the same way, a package's ``__main__.py`` runs as ``python -m pkg``, and a documented entry is preferred over an
undocumented look-alike (a repository written here, shaped like ones unseen repositories showed)."""

from __future__ import annotations

import pytest

from mlrag.catalog import build_catalog
from mlrag.generation import synthesis
from mlrag.generation.synthesis import render, synthesize

README = """# rlkit

Train an agent:

```bash
python -m rlkit.run --alg=ppo2 --env=Hopper-v2 --num_timesteps=1e6
```
"""
CMD_UTIL = (
    "import argparse\n"
    "def common_arg_parser():\n"
    "    parser = argparse.ArgumentParser()\n"
    "    parser.add_argument('--env', type=str, default='Reacher-v2', help='environment ID')\n"
    "    parser.add_argument('--alg', type=str, default='ppo2', help='Algorithm')\n"
    "    parser.add_argument('--seed', type=int, default=None, help='RNG seed')\n"
    "    parser.add_argument('--num_timesteps', type=float, default=1e6)\n"
    "    return parser\n"
)
RUN = (
    "import sys\n"
    "from rlkit.cmd_util import common_arg_parser\n"
    "def main(args):\n"
    "    args, unknown = common_arg_parser().parse_known_args(args)\n"
    "if __name__ == '__main__':\n"
    "    main(sys.argv)\n"
)
MUJOCO = (
    "import argparse\n"
    "p = argparse.ArgumentParser()\n"
    "p.add_argument('--env_id', type=str, default='Hopper-v2', help='environment ID')\n"
    "p.add_argument('--seed', type=int, default=0, help='RNG seed')\n"
    "args = p.parse_args()\n"
)
MAIN = (
    "import argparse\np = argparse.ArgumentParser()\np.add_argument('--verbose', action='store_true')\n"
    "p.parse_args()\n"
)
REPO = {
    "README.md": README,
    "rlkit/__init__.py": "",
    "rlkit/cmd_util.py": CMD_UTIL,
    "rlkit/run.py": RUN,
    "rlkit/__main__.py": MAIN,
    "rlkit/gail/__init__.py": "",
    "rlkit/gail/run_mujoco.py": MUJOCO,
}


def test_a_module_run_in_the_readme_is_the_scripts_usage_and_its_way_to_run() -> None:
    by_path = {a.path: a for a in build_catalog(REPO.items()) if a.kind == "python-script"}
    run = by_path["rlkit/run.py"]
    assert run.run == "python -m rlkit.run"
    assert any("--alg=ppo2" in u for u in run.usage)
    assert by_path["rlkit/__main__.py"].run == "python -m rlkit"
    assert by_path["rlkit/gail/run_mujoco.py"].run.startswith("python ")


def test_the_documented_entry_wins_over_an_undocumented_look_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    task = "Train PPO2 on the MuJoCo environment Walker-v2 with seed 3."
    b = synthesize(task, build_catalog(REPO.items()), output_type="bash")
    assert b is not None and b.affordance.path == "rlkit/run.py"
    line = render(b)[0]
    assert line.startswith("python -m rlkit.run ")
    assert "--env Walker-v2" in line and "--seed 3" in line
    monkeypatch.setattr(synthesis, "DOCUMENTED", 0.0)  # the rule is what decides it
    b = synthesize(task, build_catalog(REPO.items()), output_type="bash")
    assert b is not None and b.affordance.path == "rlkit/gail/run_mujoco.py"


DEFAULTS = (
    "from yacs.config import CfgNode as CN\n"
    "_C = CN()\n"
    "_C.OUTPUT_DIR = 'output'\n"
    "_C.MODEL = CN()\n"
    "_C.MODEL.arch_encoder = 'resnet50'\n"
    "_C.TRAIN = CN()\n"
    "_C.TRAIN.num_epoch = 20\n"
    "_C.TRAIN.lr_encoder = 0.02\n"
    "_C.TEST = CN()\n"
    "_C.TEST.MODEL_FILE = ''\n"
)
SEG_TRAIN = (
    "import argparse\n"
    "from config import cfg\n"
    "p = argparse.ArgumentParser()\n"
    "p.add_argument('--cfg', default='config/ade20k.yaml', help='config file')\n"
    "p.add_argument('--gpus', default='0', help='gpus to use, e.g. 0-3 or 0,1,2,3')\n"
    "p.add_argument('opts', default=None, nargs=argparse.REMAINDER,\n"
    "               help='Modify config options using the command-line')\n"
    "args = p.parse_args()\n"
)
SEG_DEMO = (
    "import argparse\n"
    "p = argparse.ArgumentParser()\n"
    "p.add_argument('--input', help='an image')\n"
    "p.add_argument('--opts', default=[], nargs=argparse.REMAINDER, help='Modify config options')\n"
    "args = p.parse_args()\n"
)
YACS = {"config/__init__.py": "from .defaults import _C as cfg\n", "config/defaults.py": DEFAULTS,
        "train.py": SEG_TRAIN, "demo.py": SEG_DEMO}


def test_yacs_config_keys_are_parameters_of_the_scripts_that_take_opts() -> None:
    by_path = {a.path: a for a in build_catalog(YACS.items()) if a.kind == "python-script"}
    keys = {p.name: p for p in by_path["train.py"].params if p.kind == "config-key"}
    assert set(keys) == {"OUTPUT_DIR", "MODEL.arch_encoder", "TRAIN.num_epoch", "TRAIN.lr_encoder",
                         "TEST.MODEL_FILE"}
    assert (keys["TRAIN.num_epoch"].type, keys["TRAIN.num_epoch"].default, keys["TRAIN.num_epoch"].dest) == \
        ("int", "20", "")
    assert {p.dest for p in by_path["demo.py"].params if p.kind == "config-key"} == {"--opts"}


def test_a_value_goes_to_a_config_key_only_beside_its_words_and_is_written_key_value() -> None:
    cat = build_catalog(YACS.items())
    b = synthesize("Train the resnet101 encoder on GPUs 0,1 for 10 epochs.", cat, output_type="bash")
    assert b is not None and b.affordance.path == "train.py"
    line = render(b)[0]
    assert line.endswith(" TRAIN.num_epoch 10") and "--gpus 0,1" in line
    assert "arch_encoder" not in line  # a name goes to no key: hundreds of keys would take every word
    b = synthesize("Run the demo on street.jpg with the weights at ckpt/encoder.pth.", cat, output_type="bash")
    assert b is not None and b.affordance.path == "demo.py"
    assert render(b)[0] == "python demo.py --input street.jpg --opts TEST.MODEL_FILE ckpt/encoder.pth"


def test_a_unit_names_config_keys_compactly() -> None:
    from mlrag.chunking.affordances import unit_text

    train = next(a for a in build_catalog(YACS.items()) if a.path == "train.py" and a.kind == "python-script")
    text = unit_text(train)
    assert "Config keys (KEY VALUE ...): OUTPUT_DIR, MODEL.arch_encoder" in text
    assert "TRAIN.num_epoch INT" not in text  # one line for all of them, not one each


def test_a_launcher_written_before_a_module_runs_it_once() -> None:
    from mlrag.generation.synthesis import render_bash

    run = next(a for a in build_catalog(REPO.items()) if a.path == "rlkit/run.py" and a.kind == "python-script")
    env = next(p for p in run.params if p.name == "--env")
    assert render_bash(run, [(env, "Pong-v4")], launcher="mpirun -np 8 python -m") == \
        "mpirun -np 8 python -m rlkit.run --env Pong-v4"


ADAPTER = (
    "def add_model_args(parser):\n"
    "    parser.add_argument('--model-path', type=str, default='acme/chat-7b', help='weights folder or hub id')\n"
    "    parser.add_argument('--max-gpu-memory', type=str, help='the maximum memory per GPU, e.g. 13GiB')\n"
)
CLI = (
    "import argparse\n"
    "from chatkit.model.adapter import add_model_args\n"
    "if __name__ == '__main__':\n"
    "    parser = argparse.ArgumentParser()\n"
    "    add_model_args(parser)\n"
    "    parser.add_argument('--temperature', type=float, default=0.7)\n"
    "    args = parser.parse_args()\n"
)
CHAT = {"chatkit/__init__.py": "", "chatkit/model/__init__.py": "", "chatkit/model/adapter.py": ADAPTER,
        "chatkit/serve/__init__.py": "", "chatkit/serve/cli.py": CLI,
        "README.md": "```bash\npython3 -m chatkit.serve.cli --model-path acme/chat-7b\n```\n"}


def test_options_a_function_of_another_module_adds_to_the_scripts_parser_are_its_own() -> None:
    cli = next(a for a in build_catalog(CHAT.items()) if a.path == "chatkit/serve/cli.py" and a.kind == "python-script")
    assert [p.name for p in cli.params] == ["--temperature", "--model-path", "--max-gpu-memory"]
    task = "Chat with acme/chat-13b at temperature 0.2, capping the GPU memory at 12 GiB."
    b = synthesize(task, build_catalog(CHAT.items()), output_type="bash")
    assert b is not None and b.affordance.path == "chatkit/serve/cli.py"
    assert {p.name: v for p, v in b.values} == {"--temperature": "0.2", "--model-path": "acme/chat-13b",
                                                "--max-gpu-memory": "12GiB"}
    assert render(b)[0].startswith("python -m chatkit.serve.cli ")


RECS = {
    "reckit/__init__.py": "",
    "reckit/model/__init__.py": "",
    "reckit/model/general/__init__.py": "",
    "reckit/model/general/bpr.py": "class BPR:\n    \"\"\"Bayesian personalised ranking.\"\"\"\n",
    "reckit/model/general/lightgcn.py": "class LightGCN:\n    \"\"\"A light graph convolution.\"\"\"\n",
    "reckit/utils/__init__.py": "",
    "reckit/utils/logger.py": "class Logger:\n    \"\"\"Logs.\"\"\"\n",
    "run.py": (
        "import argparse\n"
        "p = argparse.ArgumentParser()\n"
        "p.add_argument('--model', '-m', type=str, default='BPR', help='name of models')\n"
        "p.add_argument('--dataset', '-d', type=str, default='ml-100k', help='name of datasets')\n"
        "p.add_argument('--log', type=str, default='info')\n"
        "args = p.parse_args()\n"
    ),
}


def test_a_class_of_the_repository_goes_to_the_option_its_package_path_names() -> None:
    b = synthesize("Train LightGCN on ml-1m.", build_catalog(RECS.items()), output_type="bash")
    assert b is not None and b.affordance.path == "run.py"
    assert {p.name: v for p, v in b.values} == {"--model": "LightGCN", "--dataset": "ml-1m"}
    b = synthesize("Train on ml-1m with the Logger.", build_catalog(RECS.items()), output_type="bash")
    assert b is not None and "--model" not in {p.name for p, _ in b.values}  # utils/ names no option
