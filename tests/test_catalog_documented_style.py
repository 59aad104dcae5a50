"""Commands written as the documentation writes them: a fire console script's dashed options from the README's
``$ tool --image-size 256`` lines, short flags where the README's commands use short ones, the keys of a hydra
config group's default file, and an option's listed value named by its own word (each repository below is
written here, not taken from any)."""

from __future__ import annotations

from mlrag.catalog import build_catalog
from mlrag.generation.synthesis import render, synthesize

FIRE = {
    "setup.py": "from setuptools import setup\nsetup(name='ganlite', entry_points={'console_scripts': "
                "['ganlite = ganlite.cli:main']})\n",
    "ganlite/__init__.py": "",
    "ganlite/cli.py": (
        "import fire\n\n"
        "def train_from_folder(data='./data', name='default', image_size=128, batch_size=5, aug_prob=0.0):\n"
        "    pass\n\n"
        "def main():\n    fire.Fire(train_from_folder)\n"
    ),
    "README.md": "# ganlite\n\n```bash\n$ ganlite --data /path/to/images --image-size 512 --batch-size 4\n```\n",
}


def test_a_fire_console_script_is_written_with_the_readme_dashes() -> None:
    cat = build_catalog(FIRE.items())
    entry = next(a for a in cat if a.kind == "console-script")
    assert entry.usage and entry.usage[0].startswith("ganlite --data")
    code = render(synthesize("Train ganlite on ./data/cats with 256 pixel images, a batch size of 8 and an "
                             "augmentation probability of 0.3", cat))[0]  # type: ignore[arg-type]
    assert code.split()[0] == "ganlite"
    assert "--image-size 256" in code and "--batch-size 8" in code and "--aug-prob 0.3" in code


SHORT = {
    "main.py": (
        "import argparse\np = argparse.ArgumentParser()\n"
        "p.add_argument('name')\n"
        "p.add_argument('-d', '--dataset', default='mnist')\n"
        "p.add_argument('-b', '--batch-size', type=int, default=64)\n"
        "p.add_argument('-z', '--latent-dim', type=int, default=10, help='Dimension of the latent variable.')\n"
        "p.add_argument('-m', '--mode', default='', help='format_to_lines or format_to_bert')\n"
        "p.add_argument('--raw_path', default='../json_data/')\n"
        "args = p.parse_args()\n"
    ),
    "README.md": "```bash\npython main.py run1 -d celeba -b 256\n```\n",
}


def test_the_readme_short_style_and_a_listed_value_named_by_its_own_word() -> None:
    cat = build_catalog(SHORT.items())
    code = render(synthesize("Train run2 on chairs with a 12-dimensional latent space, converting "
                             "../json_data into binaries for BERT", cat))[0]  # type: ignore[arg-type]
    assert "-z 12" in code and "--latent-dim" not in code  # the README writes -d and -b, so -z too
    assert "-m format_to_bert" in code  # the only listed value with a word of its own the task says
    assert "--raw_path ../json_data" in code  # the default folder itself, as the task writes it


HYDRA = {
    "train.py": (
        "import hydra\n\n@hydra.main(config_path='conf', config_name='main')\n"
        "def main(cfg):\n    pass\n\nif __name__ == '__main__':\n    main()\n"
    ),
    "conf/main.yaml": "defaults:\n  - train: small\n\noutput_dir:\nseed: 1\n",
    "conf/train/small.yaml": "batch_size: 16\nnum_train_epochs: 40\nlearning_rate: 2e-5\n_target_: a.B\n",
    "conf/train/large.yaml": "batch_size: 128\nnum_train_epochs: 40\nlearning_rate: 1e-5\n",
}


def test_a_hydra_group_default_file_gives_overridable_keys() -> None:
    cat = build_catalog(HYDRA.items())
    entry = next(a for a in cat if a.path == "train.py")
    names = {p.name for p in entry.params}
    assert {"train", "train.batch_size", "train.num_train_epochs", "train.learning_rate"} <= names
    assert "train._target_" not in names  # a class to build, not a value
    code = render(synthesize("Train with the large preset, a training batch size of 8 and 25 epochs", cat))[0]  # type: ignore[arg-type]
    assert "train=large" in code and "train.batch_size=8" in code and "train.num_train_epochs=25" in code
    assert "train.learning_rate" not in code  # 2e-5 is a number: no word goes there


def test_prose_that_starts_with_a_console_command_is_no_usage() -> None:
    files = dict(FIRE)
    files["README.md"] += "\nganlite the images you have, then look at the results.\n"
    entry = next(a for a in build_catalog(files.items()) if a.kind == "console-script")
    assert all(u.startswith("ganlite --") for u in entry.usage)


TYRO = {
    "rl/ppo.py": (
        "import os\nfrom dataclasses import dataclass\nimport tyro\n\n"
        "@dataclass\nclass Args:\n"
        "    env_id: str = 'CartPole-v1'\n    \"\"\"the id of the environment\"\"\"\n"
        "    total_timesteps: int = 500000\n    \"\"\"total timesteps of the experiments\"\"\"\n"
        "    learning_rate: float = 2.5e-4\n    \"\"\"the learning rate of the optimizer\"\"\"\n"
        "    capture_video: bool = False\n    \"\"\"whether to capture videos of the agent\"\"\"\n\n"
        "if __name__ == '__main__':\n    args = tyro.cli(Args)\n"
    ),
}


def test_a_tyro_dataclass_gives_dashed_options_with_the_field_docstrings_as_help() -> None:
    cat = build_catalog(TYRO.items())
    entry = next(a for a in cat if a.path == "rl/ppo.py")
    by = {p.name: p for p in entry.params}
    assert entry.framework == "tyro" and set(by) == {"--env-id", "--total-timesteps", "--learning-rate",
                                                      "--capture-video"}
    assert by["--env-id"].aliases == ("--env_id",) and by["--env-id"].help == "the id of the environment"
    code = render(synthesize("Train PPO on Acrobot-v1 for 100000 total timesteps with a learning rate of 0.001 "
                             "and capture videos", cat))[0]  # type: ignore[arg-type]
    assert "--env-id Acrobot-v1" in code and "--total-timesteps 100000" in code
    assert "--learning-rate 0.001" in code and "--capture-video" in code
