"""Reading a task's text: its words, the values it states (numbers, quoted strings, paths, names) and the
normalisations binding relies on (thousands separators, contractions, counts in words, sizes). Pure functions,
no catalog: what ``synthesis`` reads of a task before it looks at any entry."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_STOP = set(
    "a an the of to in on for with and or by as at is be use using set setting that this it its into from "
    "train training run running model models please can you me help i want would like write code script "
    "command python bash dataset value values known was were will should must my our your we be been "
    "exactly equal equals approximately about around called named labeled labelled titled".split()
)

#: English words that are never a value and do not count in distances (ranking keeps them: "make", "test").
_FILLER = _STOP | set(
    "have has had do does did am are not yes so then than too very just also only some any all each every other "
    "such what which who whom whose when where why how there here these those they them their he she his her him "
    "us let lets get got make made need needs needed wish could might may shall kindly assist provide give "
    "specific specifically particular certain following given new mine own up down out over under again further "
    "once more most less few many much same both either neither while during before after above below between "
    "through because if else until since per via within without across onto upon toward towards against among "
    "done doing going go goes take takes taking put see say tell think know try trying "
    "task project goal aim plan job able sure way ensure ready".split()
)

_NUMBER = re.compile(r"(?<![\w.-])-?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w.])")


# quotes that open and close outside words: "I'm ... I'd" is not a quoted string
# and a single-quoted span does not run across a sentence end ("gather 'round! ... labeled 'model/x'")
_QUOTED = re.compile(r"""(?<!\w)'((?:[^'\n.!?]|[.!?](?!\s))+)'(?!\w)|"([^"\n]+)"|`([^`\n]+)`""")

#: Extensions that make a word a file name ("seqs.fasta"): common data, model, media and code files.
_FILE = re.compile(
    r"\.(pt|pth|ckpt|bin|safetensors|onnx|h5|pkl|npy|npz|json|jsonl|ya?ml|csv|tsv|txt|parquet|xml|png|jpe?g|gif"
    r"|bmp|tiff?|webp|wav|mp3|flac|mp4|avi|mov|mkv|fasta|fa|a3m|pdb|cif|emb|py|sh|zip|tar|gz)$",
    re.I,
)


# a folder may end in "/" ("street/"); a path may start with "/", "./", "../" or "~/" ("/datasets/imagenet")
# a URL is one word ("https://host/a.pkl"), and so is a list of numbers written without spaces ("10,20,30")
_WORD = re.compile(
    r"(?<![\w/])(?:https?|s3|gs|ftp|tcp|file)://[\w.~:/?#@!$&*+=%,;-]*[\w/]"
    r"|(?<![\w.,])\d+(?:\.\d+)?(?:,\d+(?:\.\d+)?)+(?![\w.,]*\w)"
    r"|(?:(?<![\w/.~])(?:~|\.{1,2})?/)?[A-Za-z0-9_][\w.+-]*/[\w.+/=-]*[\w/]"  # ckpts/lego/epoch=15.ckpt
    r"|(?:(?<![\w/.~])(?:~|\.{1,2})?/)?[A-Za-z0-9_][\w.+/-]*[\w/]|[A-Za-z0-9]"
)


@dataclass(frozen=True)
class Literal:
    """A value stated in the task: its text, kind (number | quoted | path | word) and word position."""

    text: str
    kind: str
    pos: int  # index in the task's word list


def _split(name: str) -> list[str]:
    name = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)
    return [w for w in re.split(r"[^A-Za-z0-9]+", name.lower()) if w]


def _stem(w: str) -> str:
    """A crude plural stem: ``entries`` -> ``entry``, ``classes`` -> ``class``, ``tiles`` -> ``tile``."""
    w = w.lower()
    if w in ("gpus", "cpus", "tpus"):
        return w[:-1]  # ("n_cpus": "8 CPU processes")
    if len(w) <= 4 or not w.endswith("s") or w.endswith("ss"):
        return w
    if w.endswith("ies"):
        return w[:-3] + "y"
    if w.endswith(("sses", "xes", "zes", "ches", "shes")):
        return w[:-2]
    return w[:-1]


def words_of(text: str) -> list[str]:
    return [m.group(0) for m in _WORD.finditer(text)]


_THOUSANDS = re.compile(r"(?<![\d,.])\d{1,3}(?:,\d{3})+(?![\d,])")


def plain_numbers(task: str, memory: bool = False) -> str:
    """``task`` with thousands separators dropped ("300,000 steps" -> "300000 steps"), numbers split from the
    word they prefix ("the 25-layer embedding" -> "the 25 layer embedding") and English contractions undone
    ("I'm" -> "I am", "model's" -> "model"), so that their letters are neither values (``m``) nor quotes.
    Amounts of memory are dropped, unless ``memory`` (an option takes one: ``--max-gpu-memory``): "12 GiB" is
    then the name-like ``12GiB``."""
    task = _THOUSANDS.sub(lambda m: m.group(0).replace(",", ""), task)
    task = re.sub(r"\b(ca|wo)n['’]t\b", lambda m: {"ca": "can", "wo": "will"}[m.group(1).lower()] + " not", task,
                  flags=re.I)  # fmt: skip
    task = re.sub(r"(?<=[A-Za-z])n['’]t\b", " not", task)
    task = re.sub(r"(?<=[A-Za-z])['’](m|re|ve|ll|d)\b", lambda m: " " + _CONTRACTED[m.group(1).lower()], task)
    task = re.sub(r"(?<=[A-Za-z])['’]s\b", "", task)
    # "a single repetition", "two GPUs", "three samples": counts written in words before the thing counted
    task = _NUMBER_WORD.sub(lambda m: _NUMBER_WORDS[m.group(1).lower().split()[-1]] + " ", task)
    # "seeds 10 through 20" is the range 10-20
    task = re.sub(r"(?<![\w.-])(\d+)\s+(?:through|thru)\s+(\d+)(?![\w.])", r"\1-\2", task)
    # "512x512 images" is an image size of 512 (a square size; inside a file name it stays as it is)
    # ("640x640" for an option of two numbers: "640 by 640", both kept for nargs, the second dropped otherwise)
    task = re.sub(r"(?<![\w./-])(\d{2,5})\s?[x×]\s?(\d{2,5})(?![\w.-])", r"\1 by \2", task)  # (504x378: two)
    # "the 7th eigenvector" is number 7; "256px images" are 256 pixels
    task = re.sub(r"(?<![\w./-])(\d+)(?:st|nd|rd|th)\b", r"\1", task)
    task = re.sub(r"(?<![\w./-])(\d+)(px|pixels?)\b", r"\1 \2", task)
    # "a GPU with 12 GB", "8 A100 80G GPUs": amounts of memory are no option's value
    task = re.sub(r"(?<![\w./-])(\d+(?:\.\d+)?)\s?([GMT]i?B|G)\b", r"\1\2" if memory else "", task)
    # "upsample it 4x" is a factor of 4
    task = re.sub(r"(?<![\w./-])(\d{1,3})[x×](?![\w.-])", r"\1", task)
    # a number that starts a path segment ("results/000-DiT-B-4/...") is part of the path
    return re.sub(r"(?<![\w./-])(\d+(?:\.\d+)?)-([A-Za-z]{3,})\b(?![\w.-]*/)", r"\1 \2", task)

_CONTRACTED = {"m": "am", "re": "are", "ve": "have", "ll": "will", "d": "would"}


_NUMBER_WORDS = {"single": "1", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
                 "seven": "7", "eight": "8", "nine": "9", "ten": "10"}


_NUMBER_WORD = re.compile(
    r"\b((?:just\s+)?a\s+single|one|two|three|four|five|six|seven|eight|nine|ten)\s+"
    r"(?!(?:of|by|or|and|to|at|in|on|another|more|million|thousand|hundred|billion|day|time)\b)(?=[a-z])",
    re.I)

#: A model named with its patch size or scale after a slash ("ViT-B/16", "DiT-XL/2", "R50+ViT-B/16").
_MODEL_SLASH = re.compile(r"[A-Za-z][\w+]*(?:-[\w+]+)*-[A-Za-z]+\d*/\d{1,3}")


def task_literals(task: str) -> tuple[list[str], list[Literal]]:
    """The task's words (for proximity) and the literals in it, in order (``task`` as ``plain_numbers`` gives it)."""
    words = words_of(task)
    lits: list[Literal] = []
    quoted_spans: list[tuple[int, int]] = []
    for m in _QUOTED.finditer(task):
        value = next(g for g in m.groups() if g is not None)
        pos = len(words_of(task[: m.start()]))
        lits.append(Literal(value, "path" if "/" in value or re.search(r"\.\w{1,5}$", value) else "quoted", pos))
        quoted_spans.append(m.span())
    for i, w in enumerate(words):
        if any(a <= _offset(task, words, i) < b for a, b in quoted_spans):
            continue
        if _NUMBER.fullmatch(w):
            lits.append(Literal(w, "number", i))
        elif _MODEL_SLASH.fullmatch(w):
            lits.append(Literal(w, "word", i))  # "ViT-B/16", "DiT-XL/2": a model's name, not a folder
        elif "/" in w or _FILE.search(w):
            lits.append(Literal(w, "path", i))  # URLs too: a hub or download address is given where a path is
        elif _folder_named(words, i):
            lits.append(Literal(w, "path", i))  # "the inputs folder": a folder called inputs
        elif w.lower() not in _FILLER or w == "A" and not _sentence_start(task, words, i):
            lits.append(Literal(w, "word", i))  # "chain A": a capital A inside a sentence is a name
    return words, sorted(lits, key=lambda lit: lit.pos)

_FOLDER_NOUNS = frozenset({"folder", "directory", "dir"})

#: Words that say which folder, not what it is called ("the output folder", "the same directory").
_NOT_FOLDER_NAMES = frozenset({"input", "output", "data", "same", "current", "working", "root", "home", "parent",
                               "target", "destination", "source", "save", "new", "whole", "entire", "following"})


def _folder_named(words: Sequence[str], i: int) -> bool:
    """Whether ``words[i]`` names a folder: "the inputs folder", "my frames directory"."""
    w = words[i]
    return (0 < i < len(words) - 1 and words[i + 1].lower() in _FOLDER_NOUNS
            and words[i - 1].lower() in ("the", "my", "our", "your", "a", "this")
            and w.lower() not in _FILLER and w.lower() not in _NOT_FOLDER_NAMES and w.isascii() and len(w) > 1
            and not (i + 2 < len(words) and "/" in words[i + 2]))  # "my ground-truth folder data/gt" says what it is


def _offset(task: str, words: list[str], i: int) -> int:
    pos = 0
    for k, m in enumerate(_WORD.finditer(task)):
        if k == i:
            return m.start()
        pos = m.end()
    return pos


def _norm(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", s.lower())


def _sentence_start(task: str, words: Sequence[str], pos: int) -> bool:
    start = _offset(task, list(words), pos)
    before = task[:start].rstrip()
    return not before or before[-1] in ".!?:\n\"'"
