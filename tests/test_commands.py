"""The command vocabulary (``mlrag.commands``): one definition that every stage reads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mlrag import commands
from mlrag.chunking.linking import find_invocations
from mlrag.commands import Invocation, invocation, split_commands, strip_prefixes
from mlrag.evaluation.metrics import STOP_TERMS
from mlrag.generation.echo import RUN_LINE
from mlrag.generation.extract import extract_code

INVOCATIONS = [
    ("python train.py --lr 1", Invocation("file", "train.py", ("--lr", "1"))),
    ("python3.10 -u -W ignore x.py a", Invocation("file", "x.py", ("a",))),
    ("/usr/bin/python3 x.py", Invocation("file", "x.py")),
    ("python -m pkg.cli run", Invocation("module", "pkg.cli", ("run",))),
    ("python -c 'print(1)'", None),
    ("python - < x.py", None),
    ("python -m torch.distributed.run --nproc_per_node 2 t.py -b 1", Invocation("file", "t.py", ("-b", "1"))),
    ("torchrun --nproc_per_node=2 train.py --x", Invocation("file", "train.py", ("--x",))),
    ("deepspeed --num_gpus 2 -m pkg.train", Invocation("module", "pkg.train")),
    ("accelerate launch --num_processes 2 run.py", Invocation("file", "run.py")),
    ("accelerate config", None),
    ("srun -N 1 --gres=gpu:1 python x.py --a", Invocation("file", "x.py", ("--a",))),
    ("mpirun -np 4 bash run.sh 8", Invocation("file", "run.sh", ("8",))),
    ("nohup env CUDA_VISIBLE_DEVICES=0 python x.py", Invocation("file", "x.py")),
    ("bash -x scripts/run.sh a b", Invocation("file", "scripts/run.sh", ("a", "b"))),
    ("bash -c 'python x.py'", None),
    ("./go.sh 1", Invocation("file", "./go.sh", ("1",))),
    ("pip install -r requirements.txt", None),
    ("VAR=1", None),
]


@pytest.mark.parametrize("line, expected", INVOCATIONS)
def test_invocation(line: str, expected: Invocation | None) -> None:
    (cmd,) = split_commands(line)
    assert invocation(cmd) == expected


def test_split_and_strip() -> None:
    code = "cd a && A=1 B=2 nohup python x.py > log 2>&1 &\nbash run.sh | tee out  # done\n"
    cmds = split_commands(code)
    assert cmds == [["cd", "a"], ["A=1", "B=2", "nohup", "python", "x.py"], ["bash", "run.sh"], ["tee", "out"]]
    assert strip_prefixes(cmds[1]) == ({"A": "1", "B": "2"}, ["python", "x.py"])


def test_every_launcher_is_read_by_every_stage() -> None:
    """A launcher of the vocabulary is a runner for linking, a command start for extraction, a run line for
    the echo generator and a parsed invocation for grounding and the agent."""
    for launcher in sorted(commands.LAUNCHERS | set(commands.LAUNCHER_SUBCOMMANDS)):
        line = f"{launcher} {commands.LAUNCHER_SUBCOMMANDS.get(launcher, '')} --opt 2 tools/train.py --lr 1"
        line = " ".join(line.split())
        assert find_invocations(line) == [("tools/train.py", False)], launcher
        assert commands.COMMAND_START.match(line), launcher
        assert RUN_LINE.search(f"Run:\n{line}\n").group(1) == line, launcher
        assert extract_code(f"Sure, run\n{line}\nand wait.", "bash") == line, launcher
        assert invocation(line.split()) == Invocation("file", "tools/train.py", ("--lr", "1")), launcher


def test_prose_is_not_a_command() -> None:
    for line in ("make sure the data is there", "time to train", "source code is in src/", "The model is big"):
        assert not commands.COMMAND_START.match(line), line
    assert commands.COMMAND_START.match("$ CUDA_VISIBLE_DEVICES=0 python3 x.py")
    assert commands.COMMAND_START.match("make train") is None  # ambiguous in prose; parsed code still reads it


def test_generic_words_are_stop_terms() -> None:
    assert commands.GENERIC_WORDS <= STOP_TERMS
    assert not (commands.LAUNCHERS & STOP_TERMS)  # torchrun in an answer is something the context must show


_VOCABULARY = re.compile(r"['\"|(]torchrun\b|\bhorovodrun['\"|)]|['\"]python3['\"]|python\[0-9\.\]\*|python\[\\d\.\]\*")


def test_no_second_vocabulary_in_src() -> None:
    """Launcher lists and interpreter patterns are written in ``commands.py`` only."""
    src = Path(commands.__file__).parent
    found = []
    for path in sorted(src.rglob("*.py")):
        rel = path.relative_to(src).as_posix()
        if rel == "commands.py":
            continue
        code = "\n".join(ln for ln in path.read_text().splitlines() if not ln.lstrip().startswith(("#", "``")))
        found += [rel for m in _VOCABULARY.finditer(code)]
    assert found == []
