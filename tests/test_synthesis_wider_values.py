"""Value shapes that repositories outside the dev set showed: URLs, seed lists and ranges, True/False options,
help texts that list values with bars or parentheses, path defaults, glued option names, "saved in X"."""

from __future__ import annotations

from mlrag.catalog import build_catalog
from mlrag.generation.synthesis import render, synthesize

REPO = {
    "sample.py": (
        "import click\n"
        "@click.command()\n"
        "@click.option('--net', 'net_pkl', help='Network pickle filename', required=True)\n"
        "@click.option('--seeds', type=num_range, help='List of random seeds')\n"
        "@click.option('--psi', type=float, default=1.0, help='Truncation psi')\n"
        "@click.option('--save-grid', type=bool, default=True, help='Save a grid of all samples')\n"
        "@click.option('--flip', type=bool, default=False, help='Enable x-flips')\n"
        "@click.option('--outdir', help='Where to save the output images', required=True)\n"
        "def main(net_pkl, seeds, psi, save_grid, flip, outdir):\n"
        "    pass\n"
        "if __name__ == '__main__':\n"
        "    main()\n"
    ),
    "upscale.py": (
        "import argparse\n"
        "p = argparse.ArgumentParser()\n"
        "p.add_argument('--input', type=str, default='data/raw/frames', help='Input folder')\n"
        "p.add_argument('--output', type=str, default='data/raw/frames_out', help='Output folder')\n"
        "p.add_argument('--arch', type=str, default='srnet', help='Network: srnet | srgan | edsr_small')\n"
        "p.add_argument('--cell', type=str, default='LSTM', help='recurrent cell (RNN_TANH, LSTM, GRU)')\n"
        "p.add_argument('--outscale', type=float, default=4, help='The final upsampling scale')\n"
        "p.add_argument('--gpu-id', type=int, default=None, help='gpu device to use')\n"
        "args = p.parse_args()\n"
    ),
}


def _run(task: str, path: str) -> tuple[dict[str, str], str]:
    cat = build_catalog(REPO.items())
    b = synthesize(task, cat, output_type="bash")
    assert b is not None and b.affordance.path == path, b and b.affordance.path
    return {p.name: v for p, v in b.values}, render(b)[0]


def test_urls_seed_lists_ranges_and_names_after_into() -> None:
    url = "https://cdn.example.org/models/v2/cats.pkl"
    got, cmd = _run(f"With sample.py and the network {url}, sample seeds 3 through 9 with psi 0.5 into the "
                    "folder cat_runs", "sample.py")  # fmt: skip
    assert got == {"--net": url, "--seeds": "3-9", "--psi": "0.5", "--outdir": "cat_runs"}
    assert url in cmd  # whole, scheme included
    got, _ = _run(f"sample.py: seeds 1,2,5 from {url}, written to out_2", "sample.py")
    assert got["--seeds"] == "1,2,5" and got["--outdir"] == "out_2"


def test_true_false_options_take_the_tasks_words_not_a_literal() -> None:
    got, cmd = _run("Run sample.py on net.pkl into outs: do not save the grid, and enable flips", "sample.py")
    assert got["--save-grid"] == "False" and got["--flip"] == "True"
    assert "--save-grid False" in cmd
    got, _ = _run("Run sample.py on net.pkl into outs, and save the grid", "sample.py")
    assert got["--save-grid"] == "True" and "--flip" not in got  # said, so written; not said, not written


def test_help_lists_paths_by_default_and_glued_names() -> None:
    got, _ = _run("Upscale the frames in clips/day1/frames with upscale.py using the EDSR-small network and a GRU "
                  "cell, to a final scale of 2; results saved in clips/day1/big", "upscale.py")  # fmt: skip
    assert got["--arch"] == "edsr_small"  # as the help spells it
    assert got["--cell"] == "GRU"
    assert got["--input"] == "clips/day1/frames" and got["--output"] == "clips/day1/big"
    assert got["--outscale"] == "2" and "--gpu-id" not in got


CONFIGURED = {
    "fit.py": (
        '"""Fit a small language model."""\n'
        "out_dir = 'runs'\n"
        "eval_iters = 100  # batches per evaluation\n"
        "max_iters = 5000  # total number of training iterations\n"
        "lr_decay_iters = 5000  # ~= max_iters\n"
        "learning_rate = 6e-4\n"
        "n_embd = 384\n"
        "use_amp = True  # mixed precision\n"
        "log_to_wandb = False  # off by default\n"
        "device = 'cuda'  # 'cpu', 'cuda', 'cuda:1'\n"
        "_private = 3\n"
        "exec(open('overrides.py').read())\n"
        "late = 1\n"
    ),
    "overrides.py": "import sys\nfor arg in sys.argv[1:]:\n    pass\n",
    "config/fit_poems_char.py": "max_iters = 2000\n",
    "config/finetune_poems.py": "learning_rate = 3e-5\n",
    "config/fit_wiki.py": "max_iters = 600000\n",
}


def test_a_script_configured_by_an_exec_d_file_has_its_globals_as_options() -> None:
    cat = build_catalog(CONFIGURED.items())
    fit = cat.get("python-script:fit.py")
    assert fit is not None and fit.framework == "configurator"
    names = [p.name for p in fit.params]
    assert names[0] == "config" and "--max_iters" in names and "--use_amp" in names
    assert "--_private" not in names and "--late" not in names  # private, or assigned after the exec
    by = {p.name: p for p in fit.params}
    assert by["--max_iters"].type == "int" and by["--max_iters"].help == "total number of training iterations"
    assert by["--use_amp"].type == "bool" and by["--learning_rate"].default == "0.0006"


def test_configured_script_commands_use_name_equals_value_and_the_named_config_file() -> None:
    cat = build_catalog(CONFIGURED.items())
    b = synthesize("Fit the character-level poems model with its config on the cpu: 1500 iterations, "
                   "128-dim embeddings, no mixed precision", cat, output_type="bash")  # fmt: skip
    assert b is not None and b.affordance.path == "fit.py"
    cmd = render(b)[0]
    assert cmd.startswith("python fit.py config/fit_poems_char.py ")
    for part in ("--max_iters=1500", "--n_embd=128", "--device=cpu", "--use_amp=False"):
        assert part in cmd
    assert "--eval_iters" not in cmd
    # no config named: none taken; "logging disabled" said: written although it is the default
    b = synthesize("Run fit.py with wandb logging disabled", cat, output_type="bash")
    assert b is not None and render(b)[0] == "python fit.py --log_to_wandb=False"


def test_a_launcher_the_task_names_runs_the_script_and_takes_its_own_words() -> None:
    from mlrag.generation.synthesis import launcher_of

    cat = build_catalog(CONFIGURED.items())
    b = synthesize("Fit with the wiki config on a single node with 8 GPUs using torchrun, learning rate 1e-4",
                   cat, output_type="bash")  # fmt: skip
    assert b is not None
    assert render(b)[0] == "torchrun --standalone --nproc_per_node=8 fit.py config/fit_wiki.py --learning_rate=1e-4"
    prefix, rest = launcher_of("train on 2 nodes of 4 GPUs each with torch.distributed.launch, master port 29501")
    assert prefix == "python -m torch.distributed.launch --nnodes=2 --nproc_per_node=4 --master_port=29501"
    assert "29501" not in rest and "4 GPUs" not in rest
    assert launcher_of("train on 4 GPUs") == ("", "train on 4 GPUs")  # no launcher named, none added


TWINS = {
    "infer.py": (
        "import argparse\np = argparse.ArgumentParser()\n"
        "p.add_argument('-i', '--input', default='inputs', help='Input image or folder')\n"
        "p.add_argument('-o', '--output', default='results', help='Output folder')\n"
        "p.add_argument('--tile', type=int, default=0, help='Tile size, 0 for no tile')\n"
        "args = p.parse_args()\n"
    ),
    "infer_video.py": (
        "import argparse\np = argparse.ArgumentParser()\n"
        "p.add_argument('-i', '--input', default='inputs', help='Input video, image or folder')\n"
        "p.add_argument('-o', '--output', default='results', help='Output folder')\n"
        "p.add_argument('--tile', type=int, default=0, help='Tile size, 0 for no tile')\n"
        "p.add_argument('--fps', type=float, default=None, help='FPS of the output video')\n"
        "args = p.parse_args()\n"
    ),
}


def test_twin_scripts_need_the_longer_names_own_word_and_folders_are_named_before_folder() -> None:
    cat = build_catalog(TWINS.items())
    b = synthesize("Upscale the pictures in the frames folder in tiles of 128, results to big_out", cat,
                   output_type="bash")  # fmt: skip
    assert b is not None and b.affordance.path == "infer.py"
    assert {p.name: v for p, v in b.values} == {"--input": "frames", "--tile": "128", "--output": "big_out"}
    b = synthesize("Upscale the video clip.mp4 at 24 fps", cat, output_type="bash")
    assert b is not None and b.affordance.path == "infer_video.py"
    # "my ground-truth folder data/gt": the folder is the path, "ground-truth" only says what it holds
    b = synthesize("Upscale the pictures of my ground-truth folder data/gt in tiles of 64", cat, output_type="bash")
    assert b is not None and {p.name: v for p, v in b.values} == {"--input": "data/gt", "--tile": "64"}


def test_inflected_and_compound_task_words_name_options() -> None:
    got, _ = _run("With upscale.py, take the frames in clips/a and upscale them by 3 with srgan", "upscale.py")
    assert got["--outscale"] == "3" and got["--arch"] == "srgan"  # "upscale" ends with scale


def test_the_launcher_the_documentation_runs_the_script_with_is_kept_with_the_tasks_counts() -> None:
    from mlrag.generation.synthesis import documented_launcher
    from mlrag.types import Hit

    cat = build_catalog(CONFIGURED.items())
    fit = cat.get("python-script:fit.py")
    assert fit is not None
    doc = ("To train on 8 GPUs:\n```bash\npython -m torch.distributed.launch --nproc_per_node 8 --master_port 12345 "
           "fit.py config/fit_wiki.py\n```\n")  # fmt: skip
    hit = Hit(text=doc, path="README.md", start_line=1, end_line=4, score=1.0, chunk=None)  # type: ignore[arg-type]
    got = documented_launcher("fit on 4 GPUs with master port 29501", fit, [hit])
    assert got == ("python -m torch.distributed.launch --nproc_per_node 4 --master_port 29501", {"4", "29501"})
    assert documented_launcher("fit it", fit, [hit])[0].endswith("--nproc_per_node 8 --master_port 12345")
    other = Hit(text="python fit.py --max_iters=10", path="README.md", start_line=1, end_line=1, score=1.0,
                chunk=None)  # type: ignore[arg-type]
    assert documented_launcher("fit on 4 GPUs", fit, [other]) == ("", set())  # no launcher shown: python
    b = synthesize("Fit with the wiki config on 4 GPUs, master port 29501, learning rate 1e-4", cat, [hit],
                   output_type="bash")  # fmt: skip
    assert b is not None and render(b)[0] == (
        "python -m torch.distributed.launch --nproc_per_node 4 --master_port 29501 fit.py config/fit_wiki.py "
        "--learning_rate=1e-4"
    )


GAN = {
    "train.py": (
        "import argparse\np = argparse.ArgumentParser()\n"
        "p.add_argument('path', type=str, help='path of the lmdb dataset')\n"
        "p.add_argument('--arch', type=str, default='stylegan2', help='model architectures (stylegan2 | swagan)')\n"
        "p.add_argument('--batch', type=int, default=16, help='batch sizes for each gpus')\n"
        "p.add_argument('--size', type=int, default=256, help='image sizes for the model')\n"
        "p.add_argument('--mode', type=str, default='batch', help='mixing per \"batch\", \"pair\" or \"elem\"')\n"
        "p.add_argument('--index', type=int, default=0, help='index of eigenvector')\n"
        "args = p.parse_args()\n"
    ),
}


def test_declined_names_ordinals_pixels_and_words_that_spell_another_option() -> None:
    cat = build_catalog(GAN.items())
    b = synthesize("Train the SWAGAN architecture instead of plain StyleGAN2 on ./lmdb/cats with 512px images, "
                   "a batch of 8 and the 3rd eigenvector", cat, output_type="bash")  # fmt: skip
    assert b is not None
    assert {p.name: v for p, v in b.values} == {"path": "./lmdb/cats", "--arch": "swagan", "--batch": "8",
                                                 "--size": "512", "--index": "3"}  # fmt: skip
    # "Batch" of "Batch size 4" names --batch; it is not the value "batch" of --mode
    b = synthesize("train.py on ./lmdb/cats: Batch size 4, pre-trained look", cat, output_type="bash")
    assert b is not None and "--mode" not in {p.name for p, _ in b.values}


SAMPLER = {
    "sample.py": (
        "import argparse\np = argparse.ArgumentParser()\n"
        "p.add_argument('files', nargs='+', help='image files to project')\n"
        "p.add_argument('-r', '--resume', type=str, help='load from logdir or checkpoint in logdir')\n"
        "p.add_argument('-k', '--top_k', type=int, default=250, help='top-k sampling')\n"
        "p.add_argument('--lr', type=float, default=0.1, help='learning rate')\n"
        "p.add_argument('--lr_rampup', type=float, default=0.05, help='learning rate rampup duration')\n"
        "args = p.parse_args()\n"
    ),
}


def test_documented_spellings_file_lists_and_the_fuller_name_on_a_tie() -> None:
    from mlrag.types import Hit

    cat = build_catalog(SAMPLER.items())
    doc = "Sample with\n```\npython sample.py -r logs/run1/ -k 100 a.png\n```\n"
    hit = Hit(text=doc, path="README.md", start_line=1, end_line=4, score=1.0, chunk=None)  # type: ignore[arg-type]
    task = "Project b.png and a.png with top-k 50, resuming from logs/run2/, at a learning rate of 0.01"
    b = synthesize(task, cat, [hit], output_type="bash")
    assert b is not None
    assert render(b)[0] == "python sample.py b.png a.png -r logs/run2/ -k 50 --lr 0.01"
    b = synthesize(task, cat, output_type="bash")  # no usage line shown: the options' own names
    assert b is not None and render(b)[0] == "python sample.py b.png a.png --resume logs/run2/ --top_k 50 --lr 0.01"


def test_a_parser_whose_parents_are_built_in_another_module_has_their_options() -> None:
    files = {
        "main.py": (
            "import argparse\n"
            "def get_args_parser():\n"
            "    p = argparse.ArgumentParser('det', add_help=False)\n"
            "    p.add_argument('--lr', type=float, default=1e-4)\n"
            "    p.add_argument('--coco_path', type=str, help='path to COCO')\n"
            "    p.add_argument('--nodes', type=int, default=9, help='shadowed by the launcher script')\n"
            "    return p\n"
            "if __name__ == '__main__':\n"
            "    args = get_args_parser().parse_args()\n"
        ),
        "submit.py": (
            "import argparse\nimport main as detection\n"
            "def parse_args():\n"
            "    parent = detection.get_args_parser()\n"
            "    p = argparse.ArgumentParser('submit', parents=[parent])\n"
            "    p.add_argument('--nodes', type=int, default=4, help='Number of nodes to request')\n"
            "    return p.parse_args()\n"
            "if __name__ == '__main__':\n"
            "    parse_args()\n"
        ),
    }
    cat = build_catalog(files.items())
    sub = cat.get("python-script:submit.py")
    assert sub is not None
    by = {p.name: p for p in sub.params}
    assert set(by) == {"--nodes", "--lr", "--coco_path"} and by["--nodes"].default == "4"  # its own flag wins
    b = synthesize("launch submit.py on 2 nodes with COCO at /data/coco", cat, output_type="bash")
    assert b is not None and render(b)[0] == "python submit.py --nodes 2 --coco_path /data/coco"


def test_a_root_script_called_from_its_own_folder_is_run_by_its_path_from_there() -> None:
    files = {"config/make_cfg.sh": "#!/bin/bash\nNUM_CLASSES=$1\necho $NUM_CLASSES > out.cfg\n",
             "tools/count.py": "import sys\nn = int(sys.argv[1])\n"}  # fmt: skip
    cat = build_catalog(files.items())
    b = synthesize("Make the config for 7 classes with make_cfg.sh", cat, workdir="config", output_type="bash")
    assert b is not None and render(b, "config")[0] == "bash make_cfg.sh 7"
    assert render(b, "")[0] == "bash config/make_cfg.sh 7"


def test_tcp_addresses_rank_and_names_written_as_the_default_is() -> None:
    files = {"main.py": (
        "import argparse\np = argparse.ArgumentParser()\np.add_argument('data')\n"
        "p.add_argument('-a', '--arch', default='resnet18', help='model architecture')\n"
        "p.add_argument('--dist-url', default='tcp://10.0.0.1:23456', type=str, help='url used to set up training')\n"
        "p.add_argument('--rank', default=-1, type=int, help='node rank for distributed training')\n"
        "args = p.parse_args()\n"
    )}  # fmt: skip
    cat = build_catalog(files.items())
    b = synthesize("Train a ResNet-50 on /data/imagenet with main.py, dist url tcp://localhost:10005 and rank 0",
                   cat, output_type="bash")  # fmt: skip
    assert b is not None
    assert {p.name: v for p, v in b.values} == {"data": "/data/imagenet", "--arch": "resnet50",
                                                 "--dist-url": "tcp://localhost:10005", "--rank": "0"}  # fmt: skip
