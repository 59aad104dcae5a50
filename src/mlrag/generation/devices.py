"""Where a command runs: the distributed launcher a task names ("with torchrun on 4 GPUs"), the GPU ids it gives
("on GPU 1", "GPUs 0 and 1", "the first GPU", "cuda:0") and how an entry takes them (its device option, in its
form), or that it runs on the CPU. Pure: task text and catalog parameters in, values out."""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..catalog.base import Affordance, Param
from ..commands import LAUNCHER_REQUESTS
from .task_text import _split

#: Distributed launchers a task asks for by name (the command then starts with them, not with ``python``).
_LAUNCHERS: tuple[tuple[re.Pattern[str], str, str, tuple[str, ...]], ...] = tuple(
    (re.compile(pattern, re.I), command, nproc, one) for pattern, command, nproc, one in LAUNCHER_REQUESTS
)


NPROC = re.compile(r"(?<![\w.])(\d+)\s+(?:gpus?|processes|procs)\b|\bnproc_per_node\s*(?:=|of|to)?\s*(\d+)", re.I)


_NNODES = re.compile(r"(?<![\w.])(\d+)\s+(?:nodes|machines)\b", re.I)


PORT = re.compile(r"\bmaster[\s_-]port\s*(?:of|=|:|is|to)?\s*(\d{2,5})\b", re.I)


def launcher_of(task: str) -> tuple[str, str]:
    """The launcher the task asks for, with the process count, node count and master port it states
    ("on one node with 4 GPUs using torchrun" -> ``torchrun --standalone --nproc_per_node=4``), and the task
    without those words; ``("", task)`` when it names no launcher."""
    for pattern, command, nproc_option, one_machine in _LAUNCHERS:
        m = pattern.search(task)
        if m is None:
            continue
        rest = task[: m.start()] + " " + task[m.end() :]
        opts: list[str] = []
        nodes = _NNODES.search(rest)
        if nodes is not None and int(nodes.group(1)) > 1:
            opts.append(f"--nnodes={nodes.group(1)}")
            rest = rest[: nodes.start()] + " " + rest[nodes.end() :]
        else:
            opts += one_machine  # torchrun's own rendezvous on one machine
        if (n := NPROC.search(rest)) is not None:
            opts.append(f"{nproc_option}={n.group(1) or n.group(2)}")
            rest = rest[: n.start()] + " " + rest[n.end() :]
        if (port := PORT.search(rest)) is not None:
            opts.append(f"--master_port={port.group(1)}")
            rest = rest[: port.start()] + " " + rest[port.end() :]
        return " ".join([command, *opts]), rest
    return "", task


ONE_GPU = re.compile(r"\b(?:one|a single|single|1)\s+gpu\b", re.I)


#: The devices a task runs on: "on GPU 1", "GPUs 0,1,2,3", "two GPUs (ids 0 and 1)", "device 2", "cuda:0". A count
#: before the word ("4 GPUs") is the launcher's (``NPROC``), and an amount after it ("a GPU with 12 GB") no id.
_DEVICE_IDS = re.compile(
    r"\b(?:gpus?|devices?|cuda)(?:\s+ids?)?\s*(?:[:#]|\(\s*(?:ids?\s*)?)?\s*"
    r"(\d{1,2}(?:\s*(?:,|and|&)\s*\d{1,2})*)(?!\w|\.\d)", re.I)


_DEVICE_WORDS = frozenset({"gpu", "gpus", "device", "devices", "cuda"})


_COUNT_WORDS = frozenset({"n", "num", "number", "count", "ngpu", "ngpus", "world", "size", "per", "memory", "mem"})


_ORDINAL_GPU = re.compile(r"\b(?:on\s+)?the\s+(first|second|third|fourth)\s+(?:gpu|cuda device)\b", re.I)


_ORDINALS = {"first": "0", "second": "1", "third": "2", "fourth": "3"}


def device_ids(task: str) -> tuple[list[str], str]:
    """The GPU ids the task names ("on GPU 1" -> ``["1"]``, "GPUs 0,1" -> ``["0", "1"]``, "the first GPU" ->
    ``["0"]``) and the task without the words that name them (no other option takes them); ``([], task)`` when it
    names none."""
    m = _DEVICE_IDS.search(task)
    if m is None:
        if (o := _ORDINAL_GPU.search(task)) is not None and not _DEVICE_IDS.search(task[o.end() :]):
            return [_ORDINALS[o.group(1).lower()]], task[: o.start()] + task[o.end() :]
        return [], task
    ids = re.findall(r"\d+", m.group(1))
    return ids, task[: m.start()] + task[m.end(1) :]  # "on GPUs 0,1 for 10 epochs": 10 is no GPU's


#: A task that runs on the CPU, and a device option whose help says how to ask for it ("-1 for CPU").
ON_CPU = re.compile(r"\b(?:on|to)\s+(?:the\s+)?cpu\b|\bno gpu\b|\bcpu[\s-]only\b|\bwithout (?:a )?gpu\b", re.I)


CPU_ID = re.compile(r"-1\s*(?:for|=|means|:|to use|uses?)?\s*(?:the\s+)?cpu\b|\bcpu\W{1,4}-1\b", re.I)


def takes_device_ids(p: Param) -> bool:
    """Whether ``p`` takes GPU ids (``--gpu``, ``--gpu_ids``, ``--device``), not a count of them (``--n_gpu``)
    nor an on/off switch (``--cuda``)."""
    words = {w.lower() for w in _split(p.dest or p.name)}
    count = re.match(r"\s*(?:the\s+)?(?:number|count|amount|#)\s+of\b", p.help or "", re.I) is not None
    return not (p.is_flag or p.takes_bool or p.kind not in ("option", "positional", "env", "make-var")
                or not words & _DEVICE_WORDS or words & _COUNT_WORDS or (p.type or "") == "float" or p.choices
                or count)  # (--gpus "number of gpus to use" is a count)


def device_option(a: Affordance) -> Param | None:
    """The parameter of ``a`` that takes GPU ids (``takes_device_ids``); None when it has none."""
    return next((p for p in a.params if takes_device_ids(p)), None)


def device_value(p: Param, ids: Sequence[str]) -> str | None:
    """How ``p`` takes ``ids``: a list for ``nargs``, ``0,1`` in one word, ``cuda:1`` where the default names a
    device (``--device cuda``); None when it cannot hold them (one ``int`` for two ids)."""
    if p.nargs in ("+", "*"):
        return " ".join(ids)
    if p.default and re.fullmatch(r"cuda(?::\d+)?", p.default.strip("'\"")) \
            or "device" in _split(p.dest or p.name) and p.type in (None, "str") and "cuda:" in p.help.lower():
        return f"cuda:{ids[0]}" if len(ids) == 1 else None  # --device cuda:1 ("torch device, e.g. cuda:0")
    if len(ids) > 1 and p.type == "int":
        return None
    return ",".join(ids)
