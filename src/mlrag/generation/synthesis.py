"""Structured synthesis: the repository's affordances are the vocabulary, mlrag writes the command.

Flow (one way, no repair loop): candidates -> choose -> bind -> render.

* **Candidates**: the catalog's runnable entries (bash) or its Python API (python), scored by the words the
  task shares with each entry's name, path, summary and options, by the retrieved context that runs the
  entry (README lines, cards) and by the task's literals that fit its options.
* **Choose**: the best-scored entry when it leads clearly; otherwise the model picks among the top few, by
  constrained decoding where the backend has it (``choose``): the answer can only be one of the candidates.
* **Bind** (deterministic first): the task's literals — numbers, quoted strings, paths, names — go to options by
  name (also the help text's words and common ML abbreviations: ``lr`` = learning rate), type and choices (fuzzy:
  "large tagger" -> ``tagger-l``, "Citeseer" -> ``citeseer``); flags whose words the task states are set.
  Defaults are never added; a literal that fits no option is a warning, never an invented option.
* **Render**: ``cd <workdir> && <run> --opt value ...`` with shell quoting, ``nargs`` lists, positionals in order,
  ``VAR=value`` inputs before a shell script, ``make target VAR=value``, ``key=value`` hydra overrides, and for
  Python an import plus a call with keyword arguments.

Why by hand: no library binds free-text literals to a static CLI description; the pieces that are standard
(shell quoting, fuzzy string matching) come from ``shlex`` and ``difflib``.
"""

from __future__ import annotations

import ast
import difflib
import functools
import json
import logging
import os
import posixpath
import re
import shlex
from collections.abc import Collection, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace

from ..catalog.base import REMAINDER_NARGS, Affordance, Catalog, Param
from ..catalog.examples import fill_slots
from ..commands import LAUNCHER_SUBCOMMANDS, PYTHON
from ..types import Hit
from .devices import (
    CPU_ID,
    NPROC,
    ON_CPU,
    ONE_GPU,
    PORT,
    device_ids,
    device_option,
    device_value,
    launcher_of,
    takes_device_ids,
)
from .structured import Tool, call_tool, tool_name
from .task_text import (
    _FILE,
    _FILLER,
    _NUMBER,
    _STOP,
    _WORD,
    Literal,
    _norm,
    _offset,
    _sentence_start,
    _split,
    _stem,
    plain_numbers,
    task_literals,
    words_of,
)
from .templates import (
    PLACEHOLDER,
    Usage,
    best_template,
    documented_commands,
    documented_shapes,
    documented_values,
    file_suffix,
    line_options,
    template_values,
    value_shape,
)

log = logging.getLogger(__name__)

RUNNABLE = ("python-script", "shell-script", "make-target", "console-script", "python-module")
EXAMPLE = "python-example"

#: General ML vocabulary for option names (not about any repository): abbreviation -> words a task uses.
ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "lr": ("learning", "rate"),
    "bs": ("batch", "size"),
    "wd": ("weight", "decay"),
    "epoch": ("epochs",),
    "epochs": ("epoch",),
    "iters": ("iterations", "steps"),
    "iter": ("iterations", "steps"),
    "itrs": ("iterations", "steps"),
    "itr": ("iterations", "repetitions", "runs"),
    "num": ("number",),
    "n": ("number",),
    "hid": ("hidden",),
    "dim": ("dimension", "size"),
    "res": ("resolution",),
    "resume": ("continue",),  # "continue the training from the latest checkpoint": -resume
    "eval": ("evaluation", "evaluate"),
    "exp": ("experiment",),
    "aug": ("augmentation", "augment"),
    "float16": ("half", "fp16"),
    "fp16": ("half", "float16"),
    "prob": ("probability",),
    "attn": ("attention",),
    "expt": ("experiment",),
    "lamb": ("lambda",),
    "ckpt": ("checkpoint",),
    "img": ("image", "px", "pixel", "resolution"),
    "seq": ("sequence",),
    "len": ("length",),
    "out": ("output",),
    "dir": ("directory", "folder"),
    "gpu": ("gpu", "cuda", "device"),
    "device": ("gpu",),
    "aux": ("auxiliary",),
    "gpus": ("gpu", "gpus", "devices"),  # ("gpus" is too short for the plural stem)
    "ngpu": ("gpus",),
    "cfg": ("config",),
    "data": ("dataset",),
    "dataset": ("data",),
    "tok": ("token", "tokenizer"),
    "max": ("maximum",),
    "min": ("minimum",),
    "temp": ("temperature",),
    "fn": ("file",),
    "fname": ("file",),
    "seed": ("seed", "random"),
    "emb": ("embedding",),
    "embd": ("embedding",),
    "embed": ("embedding",),
    "vocab": ("vocabulary",),
    "gt": ("ground", "truth"),
    "src": ("source",),
    "tgt": ("target",),
    "val": ("validation",),
    "thres": ("threshold",),
    "thresh": ("threshold",),
    "conf": ("confidence",),
    "fps": ("frame", "second"),
}


@dataclass(frozen=True)
class Binding:
    """What synthesis decided: the entry, the values given to its parameters, and what did not fit."""

    affordance: Affordance
    values: tuple[tuple[Param, str], ...] = ()
    warnings: tuple[str, ...] = ()
    score: float = 0.0
    candidates: tuple[str, ...] = field(default=(), compare=False)
    launcher: str = ""  # what runs a Python script instead of python (a distributed launcher and its options)
    env: tuple[tuple[str, str], ...] = ()  # variables set before the command (CUDA_VISIBLE_DEVICES=1)


@functools.lru_cache(maxsize=8192)  # the same options are read for every task and every literal
def param_words(p: Param) -> frozenset[str]:
    """Stemmed words that name ``p`` in a task: its spellings' parts, their expansions, the help's first words."""
    out: set[str] = set()
    # a config key is named by its last part (TRAIN.num_epoch: num, epoch; "TRAIN." is every key's section)
    spellings = (p.name.rsplit(".", 1)[-1],) if p.kind == "config-key" else (*p.spellings, p.dest)
    for s in spellings:
        for w in _split(s):
            out.add(_stem(w))
            # pdbfile: a pdb file; outpath: an out path; dataroot: the data root; imgsize: the image size
            for suffix in ("file", "path", "dir", "root", "name", "size", "rate", "type", "mode"):
                if w.endswith(suffix) and len(w) > len(suffix) + (1 if suffix in ("file", "path", "dir") else 2):
                    out.update({_stem(w[: -len(suffix)]), suffix})
                    for piece in (w[: -len(suffix)], suffix):  # outdir: an output folder
                        out.update(_stem(x) for x in ABBREVIATIONS.get(piece, ()))
            out.update(_stem(x) for x in ABBREVIATIONS.get(w, ()) + ABBREVIATIONS.get(_stem(w), ()))
            for prefix in _PREFIXES:  # outscale: the output scale; maxlen: the maximum length
                if w.startswith(prefix) and len(w) >= len(prefix) + 3 and w[len(prefix)].isalpha():
                    rest = w[len(prefix) :]
                    out.update({_stem(rest), *(_stem(x) for x in ABBREVIATIONS.get(prefix, ()))})
            if len(w) > 4 and w[0] == "n" and w[1] not in "aeiou":  # ngpus, nepochs: the count of gpus, epochs
                out.add(_stem(w[1:]))
    if set(_split(p.name)) <= {"size", "resolution", "res"} or {"image", "size"} <= set(_split(p.name)):
        out |= {"px", "pixel"}  # a bare --size of an image model, --image-size: "256px" (not --batch-size)
    for short in _PHRASE_ABBREVIATIONS:  # --learning_rate is the task's "lr 0.5" too
        if {_stem(x) for x in ABBREVIATIONS[short]} <= out:
            out.add(short)
    out -= {"no", "use", "enable", "num", "n", "number", "is", "do", "s"}
    # (init_from: "from X"; a_fold: "a" is an article)
    out -= {"to", "of", "the", "for", "with", "and", "or", "by", "as", "at", "in", "on", "a", "an", "i"}
    return frozenset(out)


#: Abbreviations of two-word names, which a task writes for an option spelled out ("lr" for --learning_rate).
_PHRASE_ABBREVIATIONS = ("lr", "bs", "wd", "gt")
#: Prefixes that option names glue to a word ("outscale", "maxlen", "numlayers", "imgsize", "testbatch").
_PREFIXES = ("out", "in", "num", "max", "min", "img", "init", "total", "train", "test", "val", "eval")
_GENERIC = {"num": "number", "n": "number", "nb": "number", "number": "number"}


@functools.lru_cache(maxsize=8192)  # the same options are read for every task and every literal
def help_words(p: Param) -> frozenset[str]:
    """Words that count half: the help's first words and the generic parts of the name (``n_epochs``: number)."""
    words = [_stem(w) for w in _split(p.help)[:8]]
    out = {w for w in words if w not in _STOP and len(w) > 2}
    if re.search(r"\b(?:the )?name of\b|\bnamed\b", p.help, re.I):
        out.add("name")  # "A string for documentation purpose. Will be the name of the log folder": it takes a name
    for s in (*p.spellings, p.dest):
        out.update(_GENERIC[w] for w in _split(s) if w in _GENERIC)
    return frozenset(out)


#: Language names a task says for the ISO 639-1 codes choices use ("in French" -> ``fr``, ``fr-fr``).
LANGUAGES = {
    "english": "en", "german": "de", "french": "fr", "spanish": "es", "italian": "it", "portuguese": "pt",
    "dutch": "nl", "russian": "ru", "chinese": "zh", "japanese": "ja", "korean": "ko", "arabic": "ar",
    "hindi": "hi", "turkish": "tr", "polish": "pl", "swedish": "sv", "finnish": "fi", "greek": "el",
}  # fmt: skip


def _language_choice(word: str, choices: Sequence[str]) -> str | None:
    code = LANGUAGES.get(word.lower())
    if code is None:
        return None
    return next((c for c in choices if c.lower() == code or re.match(rf"{code}[-_]", c.lower())), None)


#: Choices spelled like English pronouns and quantifiers ("one", "all"), which a task writes as such.
_PRONOUN_CHOICES = frozenset({"one", "all", "none", "both", "any", "each", "some", "other", "same"})


def _subsequence(short: str, word: str) -> bool:
    """Whether the letters of ``short`` appear in ``word`` in order (``avg`` in ``averaging``)."""
    it = iter(word)
    return all(ch in it for ch in short)


def match_choice(task_words: Sequence[str], choices: Sequence[str]) -> tuple[str, int, float] | None:
    """The choice the task names, with the word position and a score (1 exact, <1 fuzzy), or None.

    Tries n-grams of 1..3 task words: exact after normalisation ("Citeseer" ~ ``citeseer``, "resnet 50" ~
    ``resnet50``), then word-set matches where a task word abbreviates a choice part ("large tagger" ~
    ``tagger-l``; above a one-word exact match it contains), then close spellings (difflib ratio >= 0.85), then
    language names for their codes ("German" ~ ``de-de``).
    """
    best: tuple[str, int, float] | None = None
    normed = {_norm(c): c for c in choices if _norm(c)}
    lower = [w.lower() for w in task_words]
    for n in (3, 2, 1):
        for i in range(len(lower) - n + 1):
            gram = lower[i : i + n]
            key = _norm("".join(gram))
            if key in normed:
                # ("the piecewise one": a pronoun is a weak witness of a choice spelled like it)
                # (a choice written as the repository writes it, "svc-rbf", beats a prose match: "logistic regression")
                verbatim = n == 1 and re.search(r"[-_]", task_words[i]) and task_words[i].lower() == normed[key].lower()
                cand = (normed[key], i, 0.6 if n == 1 and key in _PRONOUN_CHOICES else 1.05 if verbatim
                        else 1.0 + 0.01 * n)  # fmt: skip
            else:
                cand = None
                for c in choices:
                    parts = _split(c)
                    if len(parts) == n and n > 1 and not any(_norm(g) in normed and normed[_norm(g)] != c
                                                             for g in gram):
                        # (a word that is another choice itself is that choice: "Wiki20m distantly" is wiki20m,
                        # not wiki_distant)
                        used = set()
                        ok = True
                        for part in parts:
                            hit = next(
                                (j for j, g in enumerate(gram) if j not in used and (g == part or g.startswith(part))),
                                None,
                            )
                            if hit is None:
                                ok = False
                                break
                            used.add(hit)
                        if ok:
                            # every part said: "L2-normalised euclidean" is euclidean_l2, not euclidean
                            cand = (c, i, 0.995 + 0.01 * n)
                            break
                if cand is None and n == 1 and len(key) >= 4:
                    close = difflib.get_close_matches(key, list(normed), n=1, cutoff=0.85)
                    short = next((c for k, c in normed.items() if 3 <= len(k) <= 4 and len(key) >= len(k) + 3
                                  and key[0] == k[0] and _subsequence(k, key)), None)
                    head = _split(task_words[i])  # "FactorVAE": factor, vae
                    lead = next((normed[k] for k in ("".join(head[:m]) for m in range(len(head) - 1, 0, -1))
                                 if len(k) >= 4 and k in normed), None)  # fmt: skip
                    if close:
                        cand = (normed[close[0]], i, 0.7)
                    elif lead is not None:
                        cand = (lead, i, 0.75)  # "a FactorVAE" for the loss choice factor: the name's own head
                    elif short is not None:
                        cand = (short, i, 0.65)  # "averaging" for avg, "maximum" for max: an abbreviation
                    elif (lang := _language_choice(gram[0], choices)) is not None:
                        cand = (lang, i, 0.8)  # "in German" -> de-de
            if cand is not None and (best is None or cand[2] > best[2]):
                best = cand
    return best


#: What an option's name says about the files it takes (general ML vocabulary, not about any repository):
#: name words -> the extensions such a file has. ``--cfg-path`` takes no ``.jpg``, ``--checkpoint`` no ``.json``.
_IMAGES = frozenset({"jpg", "jpeg", "png", "bmp", "gif", "webp", "tif", "tiff"})
_AUDIO = frozenset({"wav", "mp3", "flac", "ogg", "m4a"})
_VIDEO = frozenset({"mp4", "avi", "mov", "mkv", "webm"})
_WEIGHTS = frozenset({"pt", "pth", "ckpt", "bin", "safetensors", "h5", "pkl", "t7"})
#: Name or help words of an option that loads weights ("path to model that need to be loaded", --resume).
_LOADS_WEIGHTS = frozenset({"load", "model", "checkpoint", "ckpt", "pretrained", "pretrain", "weight", "resume"})
_TABLES = frozenset({"txt", "json", "jsonl", "csv", "tsv"})
_SEQUENCES = frozenset({"fasta", "fa", "a3m"})
#: File kinds whose extensions stand in for each other when a task's file replaces an example's.
_FAMILIES = (_IMAGES, _AUDIO, _VIDEO, _WEIGHTS, _TABLES, _SEQUENCES)


def same_kind(ext: str, other: str) -> bool:
    """Whether files of extensions ``ext`` and ``other`` stand in for each other (``png`` for ``jpg``)."""
    return ext == other or any(ext in f and other in f for f in _FAMILIES)


_FILE_KINDS: tuple[tuple[frozenset[str], frozenset[str]], ...] = (
    (frozenset({"config", "cfg", "conf", "yaml", "yml", "hparam"}),
     frozenset({"yaml", "yml", "json", "py", "cfg", "conf", "ini", "toml", "txt"})),
    (frozenset({"image", "img", "picture", "photo", "pic"}), _IMAGES | _VIDEO),
    (frozenset({"audio", "sound", "speech", "wav", "waveform"}), _AUDIO | _VIDEO),
    (frozenset({"video", "vid"}), _VIDEO),
    (frozenset({"checkpoint", "ckpt", "weight", "pretrained", "resume"}),
     _WEIGHTS | {"npz", "index", "meta", "onnx", "tar", "data", "model"}),
)  # fmt: skip
#: Name words of options that take a file of one kind of media, and its extensions.
_MEDIA = ((frozenset({"image", "img", "picture", "photo", "pic"}), _IMAGES),
          (frozenset({"audio", "sound", "speech", "wav", "waveform", "track", "song", "music", "mix"}), _AUDIO),
          (frozenset({"video", "vid"}), _VIDEO))
#: Name words of options that take free text (a prompt, a question), not a file.
_TEXT_OPTION = frozenset({"text", "prompt", "caption", "question", "sentence", "query"})
_PATH_WORDS = frozenset({"path", "file", "dir", "directory", "folder", "root"})
_SAVE_WORDS = frozenset({"save", "saved", "write", "written", "store", "stored", "output", "put", "dump"})
_OUTPUT_WORDS = frozenset({"out", "output", "save", "dest", "destination", "target", "result"})


@functools.lru_cache(maxsize=8192)
def hub_id(text: str) -> bool:
    """Whether ``text`` reads as a model hub name (``owner/name``: ``EleutherAI/pythia-6.9b``,
    ``facebook/opt-125m``), not a path: one ``/`` between two names, no file suffix, not a folder word first."""
    m = _HUB_ID.fullmatch(text)
    return m is not None and not file_suffix(text) and m.group(1).lower() not in _FOLDER_WORDS


_HUB_ID = re.compile(r"([A-Za-z][\w.-]*)/[A-Za-z0-9][\w.-]*[A-Za-z0-9]")
#: First folders of paths that are no hub owners ("data/cifar", "checkpoints/last").
_FOLDER_WORDS = frozenset({"data", "dataset", "datasets", "checkpoints", "checkpoint", "ckpt", "ckpts", "output",
                           "outputs", "out", "results", "result", "runs", "logs", "models", "weights", "images",
                           "imgs", "samples", "assets", "configs", "config", "experiments", "exp", "tmp", "input",
                           "inputs", "pretrained", "examples", "src", "scripts", "test", "train", "val"})  # fmt: skip


def names_a_model(p: Param) -> bool:
    """Whether ``p`` takes a model by name (``--model``, ``--base_model``, ``--model_name_or_path``; not
    ``--wandb_log_model``)."""
    names = set(_split(p.name))
    return "model" in names and (names <= {"model", "name", "or", "path", "id", "base", "pretrained"})


@functools.lru_cache(maxsize=8192)
def takes_path(p: Param) -> bool:
    """Whether ``p`` takes a path (``type`` path, or a name that says path/file/dir and not also a name or a
    count: ``--model_name_or_path`` takes hub names too)."""
    names = param_words(p)
    said = any(w.endswith(tuple(_PATH_WORDS)) and w != "profile" for w in names)  # pdbfile, outpath, logdir
    said = said or bool(names & {"source", "src", "input"})  # --source, --input: a file or folder to read
    # help: "Path to the ...", "Input folder", "txt path for meta info"
    # (not when the name is no path's and the default is a bare name: --project "project file that ...", "coco")
    bare = bool(p.default) and re.fullmatch(r"[A-Za-z][\w-]*", (p.default or "").strip("'\"")) is not None
    said = said or not bare and any(_stem(w).endswith(tuple(_PATH_WORDS)) for w in _split(p.help)[:4])
    # a default that is a path ("datasets/DF2K/DF2K_HR", "./data", "model.pt"; not a hub or registry name with
    # one "/": "facebook/opt-125m", "Net-S/2"): the option takes one
    d = p.default or ""
    said = said or bool(d) and " " not in d and (d.count("/") >= 2 or d.startswith(("./", "../", "/", "~"))
                                                 or bool(_FILE.search(d)))  # fmt: skip
    # --config takes a file (--config_name is a name, below; --cfg-scale a number)
    said = said or bool(names & {"config", "cfg"}) and (p.type or "str") in ("str", "path") and "scale" not in names
    return p.type == "path" or said and not (names | help_words(p)) & {"name", "num", "number", "size", "count",
                                                                        "max", "dim", "channel", "len", "length"}


_HELP_OPTIONS = re.compile(r"\b(?:options?|choices?|one of|in)\s*:?\s*[\[{(]([^\]})]{1,400})[\]})]", re.I)
#: Two or more quoted values joined by "or", commas or bars: ``either 'music' or 'text'``, ``"a", "b" or "c"``.
_QUOTED_CHOICES = re.compile(
    r"""(['"])[^'"\s]{1,60}\1(?:\s*(?:,\s*or|,|or|\||/)\s*(['"])[^'"\s]{1,60}\2)+""", re.I
)


#: Three or more names joined by bars ("cifar10 | lsun | mnist"), or in parentheses with commas ("type of network
#: (RNN_TANH, LSTM, GRU)"): the way many help texts list what an untyped option takes.
_BAR_LIST = re.compile(
    r"(?<![\w./-])\w[\w./-]*(?:[ \t]*\|[ \t]*\w[\w./-]*){2,}"
    r"|(?<=[(\[])\s*\w[\w./-]*(?:[ \t]*\|[ \t]*\w[\w./-]*)+(?=\s*[)\]])"  # two are a list in brackets: (a | b)
)
_PAREN_LIST = re.compile(r"\(\s*(\w[\w./-]*(?:\s*,\s*\w[\w./-]*){2,})\s*(?:[;,]?\s*default\b[^()]*)?\)", re.I)
#: Names after "Options:" joined by commas, "and" or "or", up to a bracket or the sentence's end ("Options:
#: VGG-Face, Facenet, ArcFace and SFace (default is VGG-Face).").
_NAMED_LIST = re.compile(
    r"\b(?:options?|choices?|one of|supported|available)\s*(?:are|is|include)?\s*:\s*"
    r"((?:[\w./+-]+\s*(?:,\s*(?:and\s+|or\s+)?|\s+(?:and|or)\s+)){1,40}[\w./+-]*\w)", re.I)
#: Quoted names anywhere in a help that says it lists them ("which method", "one of", "options").
_WHICH = re.compile(r"\b(?:which|one of|options?|choices?|either|supported|available)\b", re.I)
_QUOTED_NAME = re.compile(r"""(?:``|[`'"])["']?([\w.+-]+)["']?(?:``|[`'"])""")
#: Names that end the help, joined by "or" ("random or pre_trained", "split type, user or sample") or after a colon
#: ("choose a model: TextCNN, TextRNN, DPCNN").
_OR_LIST = re.compile(r"(?:^|[,:;]\s*)(\w[\w./-]*(?:\s*,\s*\w[\w./-]*)*,?\s+or\s+\w[\w./-]*)\s*\.?\s*$", re.I)
_COLON_LIST = re.compile(r":\s*(\w[\w./-]*(?:\s*,\s*\w[\w./-]*){2,})\s*\.?\s*$")


#: The values a script compares an option with, as the catalog writes them into its help: names it acts on,
#: not all it takes (``elif os.path.exists(args.dataset)`` may follow).
_CHECKED = re.compile(r"\s*\(checked: [^)]*\)$")


@functools.lru_cache(maxsize=8192)
def help_choices(p: Param) -> tuple[str, ...]:
    """The values an option's help lists, as the help spells them ("task name, options:[long_term_forecast,
    classification]", "either 'music' or 'text'", "cifar10 | lsun | mnist", "(RNN_TANH, LSTM, GRU)", "random or
    pre_trained"), then the values its script compares it with (``(checked: dev | test)``, from the catalog): a
    hint, not a rule (such lists are often incomplete)."""
    checked = _CHECKED.search(p.help)
    own = _listed(p.help[: checked.start()] if checked else p.help)
    more = checked.group(0).strip()[len("(checked: ") : -1].split(" | ") if checked else []
    return tuple(dict.fromkeys([*own, *(v for v in more if _norm(v))]))


def _listed(help_: str) -> tuple[str, ...]:
    m = _HELP_OPTIONS.search(help_)
    if m is not None:
        got = [x.split(":")[0] for x in re.split(r"[,;|]", m.group(1))]
    elif (q := _QUOTED_CHOICES.search(help_)) is not None:
        got = re.findall(r"""['"]([^'"\s]{1,60})['"]""", q.group(0))
    elif (b := _BAR_LIST.search(help_)) is not None:
        got = b.group(0).split("|")
    elif (c := _PAREN_LIST.search(help_)) is not None:
        got = c.group(1).split(",")
    elif (o := _NAMED_LIST.search(help_) or _OR_LIST.search(help_) or _COLON_LIST.search(help_)) is not None:
        got = re.split(r"\s*,\s*(?:or|and)\s+|\s+(?:or|and)\s+|\s*,\s*", o.group(1))
        if any(x.lower() in _FILLER for x in got):
            return ()  # "whether to resume or not": words, not names
    elif _WHICH.search(help_) and len(set(got := _QUOTED_NAME.findall(help_))) >= 2:
        pass  # a docstring's "using which method: ``"llm.int8"``: LLM.int8() mode, ``"gptq.int4"``: GPTQ 4-bit mode"
    else:
        return ()
    # a pattern ("'gpt2*'") is no value
    return tuple(dict.fromkeys(v for v in (x.strip(" \t'\"`") for x in got) if _norm(v) and not re.search(r"[*?]", v)))


_GLOSS = re.compile(r"(?:^|[\[,;(]\s*)([A-Za-z0-9][\w-]{0,11})\s*:\s*([A-Za-z][^,;:\[\]()]{2,60})")


@functools.lru_cache(maxsize=8192)
def help_glossary(help_: str) -> tuple[tuple[str, frozenset[str]], ...]:
    """The values a help text defines, each with the stems of its meaning (``h:hourly, d:daily``;
    ``S:univariate predict univariate``), when it defines two or more; else ()."""
    out = []
    for m in _GLOSS.finditer(help_):
        words = frozenset(_stem(w) for w in _split(m.group(2)) if w not in _FILLER and len(w) > 1)
        if words and m.group(1).lower() not in ("options", "default", "choices", "e", "eg", "ie"):
            out.append((m.group(1), words))
    return tuple(out) if len(out) >= 2 else ()


def glossary_choice(p: Param, words: Sequence[str]) -> tuple[str, int, float] | None:
    """The value whose meaning the task says ("hourly" for ``h`` of "options:[h:hourly, d:daily]"), with the
    position of the word that says it and a score; None when no value's meaning is said more than another's.
    A meaning's words the task does not say count against it ("univariate" says ``S:univariate predict
    univariate`` before ``MS:multivariate predict univariate``)."""
    gloss = help_glossary(p.help)
    if not gloss:
        return None
    at: dict[str, int] = {}
    for i, w in enumerate(words):
        at.setdefault(_stem(w), i)
    scored = []
    for value, meaning in gloss:
        said = [at[w] for w in meaning if w in at]
        if said:
            scored.append((len(said) - 0.5 * (len(meaning) - len(said)), value, min(said)))
    scored.sort(key=lambda x: -x[0])
    if not scored or scored[0][0] <= 0 or len(scored) > 1 and scored[1][0] == scored[0][0]:
        return None
    return scored[0][1], scored[0][2], scored[0][0]


@functools.lru_cache(maxsize=8192)
def help_options(p: Param) -> frozenset[str]:
    """``help_choices``, normalised."""
    return frozenset(_norm(v) for v in help_choices(p))


def stated_options(p: Param) -> frozenset[str]:
    """``help_options`` of the help's own words: the list a value outside of is no value of ``p``."""
    return help_options(replace(p, help=_CHECKED.sub("", p.help))) if "(checked: " in p.help else help_options(p)


def _fits(p: Param, lit: Literal) -> bool:
    """Whether the literal can be ``p``'s value at all: its type, and for files and paths what the option's name
    says it takes (no number, sentence or English word for a path; no ``.jpg`` for a config file)."""
    t = (p.type or "str").lower()
    if p.is_flag or p.choices and lit.text not in p.choices or bool_valued(p):
        return False  # a True/False option is set from the task's words (``bool_said``), never from a literal
    if param_words(p) & {"memory", "mem"} and not re.fullmatch(r"\d+(?:\.\d+)?(?:[GMKT]i?B|[GMT])", lit.text):
        return False  # --max-gpu-memory takes "12GiB", not "7B" (a model's size)
    if lit.kind == "number":
        if t in ("int",) and not re.fullmatch(r"-?\d+", lit.text):
            return False
        if p.default and re.fullmatch(r"\[?\d+(?:,\s*\d+)+\]?", p.default.strip("'\"")) and "." in lit.text:
            return False  # epochs written 700,800,900 take no 0.5
        if takes_path(p):
            return False
        if takes_device_ids(p) and not (re.fullmatch(r"\d+", lit.text) and int(lit.text) < 64):
            return False  # a GPU id is small: "the 768-dimensional features" give --device nothing
        return t in ("int", "float", "str", "none") or "int" in t or "float" in t or "num" in t
    if lit.kind != "number" and not re.fullmatch(r"\d+(?:[x×,]\d+)+", lit.text) and p.default and re.fullmatch(
            r"\[[\d.,\s]+\]|\([\d.,\s]+\)|\d+(?:\.\d+)?(?:,\d+(?:\.\d+)?)+", p.default.strip("'\"")):
        return False  # a size written [1280, 960], epochs written 700,800,900: numbers, not "schedule"
    if t in ("int", "float") or "int" in t and "str" not in t \
            or re.fullmatch(r"(?:(?:typing\.)?optional\[)?float\]?(?:\s*\|\s*none)?|\w*_float", t):
        return False  # (``Optional[float]``, whisper's ``optional_float``: no file either)
    # a path is no English word ("Additionally", "image") and no sentence
    word = lit.kind == "word" and not re.search(r"[0-9_\-./]", lit.text)  # "LLFF", "ImageNet": names, not folders
    word = word or lit.kind == "word" and re.fullmatch(r"[a-z]+(?:-[a-z]+)+", lit.text) is not None  # "bag-level"
    if takes_path(p) and (word or lit.kind == "quoted" and " " in lit.text):
        return False
    if lit.kind == "path" and not takes_path(p) and not names_a_model(p) and not param_words(p) & _PATH_WORDS \
            and not re.search(r"\b(?:files?|path|folder|dir|directory)\b", p.help, re.I) \
            and (re.fullmatch(r"[A-Za-z][\w-]*", (p.default or "").strip("'\""))
                 or param_words(p) & {"mode", "type", "kind", "method", "format"}):
        return False  # mode (default "clean", or none) takes a name, not ./outputs/generated_photos
    if lit.kind == "word" and (p.default or "").replace(" ", "") in ("[]", "()") and not _namelike(lit.text):
        return False  # --attn-layers (default []) takes a list, not "adds" of "adds self-attention"
    if lit.kind == "word" and p.kind in ("override", "config-key") and p.default \
            and _NUMBER.fullmatch(p.default.strip("'\"")):
        return False  # a config value that is a number (adam_eps: 1e-8, which YAML reads as text) takes no word
    if lit.kind == "word" and _FILE.search((p.default or "").strip("'\"")) and not re.search(r"[./]", lit.text):
        return False  # --label_names_file (default label_names.txt) takes a file, not "classifier"
    if lit.kind == "word" and param_words(p) & {"device", "gpu"} and not re.search(r"\d", lit.text) \
            and lit.text.lower() not in ("cpu", "cuda", "mps", "gpu", "tpu", "xpu", "auto"):
        return False  # "on a single GPU" gives --device no value
    if lit.kind == "word" and param_words(p) & {"config", "cfg"} and takes_path(p):
        return False  # a config file is a file ("124M" is not); the repository's own configs come from config_value
    if lit.kind == "path" and not file_suffix(lit.text.rstrip("/")) and param_words(p) & {"config", "cfg"} \
            and param_words(p) <= {"config", "cfg", "conf", "configuration", "file", "path"}:
        return False  # --cfg takes no folder ("./my_photos" is the images'); --bert_config_file a model's may be
    if lit.kind == "path" and stated_options(p) and _norm(lit.text) not in stated_options(p):
        return False  # "the type of model to load, in ['default', 'vit_l']" takes no file
    ext = _ext(lit.text) if lit.kind in ("path", "quoted") else ""
    if ext:
        names = param_words(p)
        if names & {"key", "name", "type", "mode", "format", "tag", "arch"} and not names & _PATH_WORDS:
            return False  # --checkpoint_key takes a key of the checkpoint, not the checkpoint file
        if names & _TEXT_OPTION and not names & _PATH_WORDS:
            return False
        named = {w for w in names if _FILE.search("." + w)}  # pdbfile takes a .pdb, json_file a .json
        if ext in _WEIGHTS and names & _LOADS_WEIGHTS:
            named -= {"model"}  # MODEL_FILE takes a .pth (a .model file is a tokenizer's, named by its words)
        kin = any(ext in f and named & f for f in _FAMILIES)  # --ckpt takes a .pt, --wav an .mp3
        if named and ext not in named and not kin and not (named & {"yaml", "yml"} and ext in ("yaml", "yml")):
            return False
        if names & {"dir", "directory", "folder"} and not names & {"path", "file"} and any(ext in f for f in _FAMILIES):
            return False  # --model_dir takes a folder, not interview.mp3
        said = names | help_words(p)  # "--input: Path to an input image or a folder of images"
        for words, exts in _FILE_KINDS:
            if said & words and ext not in exts:
                return False
    return True


def _clauses(task: str, words: Sequence[str]) -> list[int]:
    """The clause number of each word: punctuation (``, ; : . ! ? )``) and the word "and" end a clause, so
    "gpu 1, seed 0" keeps ``1`` with gpu and ``0`` with seed."""
    ids = []
    clause = 0
    last = 0
    for m in _WORD.finditer(task):
        between = task[last : m.start()]
        # "(" does not: "the FFHQ network (https://...)" gives the network's value
        if re.search(r"[,;:.!?)]", between) or m.group(0).lower() == "and":
            clause += 1
        ids.append(clause)
        last = m.end()
    return ids[: len(words)]


def _parts(word: str) -> set[str]:
    """A task word and, for compounds (``batch-size``, ``pool_ratio``, ``logInterval``), its parts, stemmed."""
    out = {_stem(word)}
    pieces = _split(word)
    if len(pieces) > 1:
        out.update(_stem(w) for w in pieces)
    return out


def _called(words: Sequence[str], pos: int) -> bool:
    """Whether the word at ``pos`` is given as a name: "called X", "named X", "model name X", "call it X"."""
    return any(w.lower() in ("called", "named", "name", "call") for w in words[max(0, pos - 3) : pos])


#: Words that name where any path option points, not which one.
_GENERIC_PLACES = frozenset({"folder", "dir", "directory", "path", "file", "root"})


def _near_score(
    words: Sequence[str], pos: int, names: AbstractSet[str], extra: AbstractSet[str],
    exact: Collection[str] = frozenset(), clauses: Sequence[int] = (), anchored: bool = True, reach: int | None = None,
    values_at: Collection[int] = (), number: bool = True, compound: Mapping[int, str] | None = None,
) -> float:  # fmt: skip
    """How strongly the words around position ``pos`` name a parameter: for each of its name words said
    nearby, 1 / distance (a word after the value binds a bit tighter: "5 stacks"), summed, so "image size 128"
    binds ``--img_size`` before ``--latent_dim`` (whose help only says "size"); help words count half. A word
    that spells the option itself (``pool_ratio``, ``batch-size``: ``exact``) counts double; a word in another
    clause ("gpu 1, seed 0") counts a third when the value's own clause names an option (``anchored``), in full
    when it does not ("as for the epochs, I will go with 100")."""
    best: dict[str, float] = {}
    lo, hi = (pos - 8, pos + 4) if reach is None else (pos - 2 * reach, pos + 2 * reach)
    for j in range(max(0, lo), min(len(words), hi)):
        if j == pos or j in values_at:  # a value is no option's name: "seqs.fasta" does not name fasta_file
            continue
        # distance in content words: "the learning rate for this model to 0.0001" puts rate 2 from the value
        a, b = sorted((j, pos))
        dist = 1 + sum(1 for w in words[a + 1 : b] if w.lower() not in _FILLER)
        if reach is not None and (dist > reach or clauses and clauses[j] != clauses[pos]):
            continue
        weight = 1.0 / dist if j < pos else (1.2 if number else 0.8) / dist
        if j < pos and not number and any(w.lower() == "with" for w in words[j + 1 : pos]):
            weight /= 2.0  # "the KITTI dataset with the memory-efficient ...": "with" brings another thing
        if clauses and clauses[j] != clauses[pos]:
            if anchored and any(clauses[q] == clauses[j] for q in values_at if q < len(clauses)):
                continue  # that clause's words name its own value: "a learning rate of 1e-5, 40 iterations"
            weight /= 3.0 if anchored else 1.0
        if any(a < q < b for q in values_at):
            weight /= 3.0  # another value stands between: "batch 16 and size 128" keeps 16 from size
        elif j > pos and j + 1 < len(words) and j + 1 != pos and words[j + 1].lower() not in _FILLER \
                and (not clauses or clauses[j + 1] == clauses[j]):
            weight /= 3.0  # the name after the value has its own value right behind it: "64 on the device cuda"
        whole = compound.get(j) if compound else None  # "batch size": one name, --batch_size's, not --size's
        if (whole or _norm(words[j])) in exact:
            best["\0exact"] = max(best.get("\0exact", 0.0), 2.0 * weight)
            continue
        for w in _parts(words[j]):
            if w in names:
                # a generic word ("folder") says less than the option's own ("experiment folder": --exp, not
                # --image_folder)
                generic = w in _GENERIC_PLACES and bool(names - _GENERIC_PLACES)
                best[w] = max(best.get(w, 0.0), 0.6 * weight if generic else weight)
            elif w in extra:
                best[w] = max(best.get(w, 0.0), 0.5 * weight)
            elif (n := _inflected(w, names)) is not None:
                best[n] = max(best.get(n, 0.0), 0.8 * weight)  # "quantized" for quantize, "upscale" for scale
    return sum(best.values())


_ENDINGS = ("d", "ed", "ing", "er", "ion")


def _inflected(word: str, names: AbstractSet[str]) -> str | None:
    """The name word ``word`` inflects ("quantized": quantize, "mirroring": mirror) or ends a compound with
    ("upscale": scale), or None; name words of 4 letters or more only."""
    for n in names:
        if len(n) < 4 or n == word:
            continue
        if word.startswith(n) and word[len(n) :] in _ENDINGS or word.startswith(n[:-1]) and n.endswith("e") \
                and word[len(n) - 1 :] in ("ing", "ion") or n.endswith("ion") and word[len(n) :] in ("al", "ality"):
            return n  # ("768-dimensional": dimension)
        if len(word) >= len(n) + 2 and word.endswith(n) and len(n) >= 5:
            return n
    return None


def exact_names(p: Param) -> set[str]:
    """The option's own spellings, normalised (``--pool_ratio`` -> ``poolratio``), as a task may write them; a
    two-letter one too ("lr 0.001" for ``--lr``), unless it is an English word ("do", "go", "up")."""
    last = (p.name.rsplit(".", 1)[-1],) if p.kind in ("override", "config-key") and "." in p.name else ()
    out = {n for s in (*p.spellings, p.dest, *last) if len(n := _norm(s)) >= 3
           or len(n) == 2 and n.isalpha() and n not in _FILLER and n not in ("no", "ok", "oh", "hi", "id")}
    return out  # (a key's last part too: train.batch_size is spelled "batch size")


_KEY_VALUE = re.compile(r"\bkey[\s-]*value\b|\bkey=value\b", re.I)


def registered_names(registries: Sequence[Affordance]) -> dict[str, frozenset[str]]:
    """Each name the catalog's name tables hold, normalised, with the tables' name words (``DiT_models``:
    dit, model), for ``bind``."""
    out: dict[str, set[str]] = {}
    for r in registries:
        for v in r.values:
            out.setdefault(_norm(v), set()).update(_stem(w) for w in _split(r.name.rsplit(".", 1)[-1]))
    return {k: frozenset(v) for k, v in out.items()}


#: How closely a task must name a config key (``_near_score``) before it takes a value: one of its words beside
#: the value. A yacs config holds hundreds of keys; any looser and they take the task's stray numbers.
CONFIG_KEY_NEAR = 1.0


def family_names(catalog: Catalog) -> dict[str, frozenset[str]]:
    """The repository's classes, normalised, with the words of the package path they live in below the package
    (``recbole/model/general_recommender/lightgcn.py``: model, general, recommender), so that a class
    named in a task ("train LightGCN") goes to the option those words name (``--model``), as a registry's name
    does; the classes of a module the catalog calls ``_private`` are left out."""
    out: dict[str, frozenset[str]] = {}
    for a in catalog.of_kind("python-api"):
        *mods, name = a.name.split(".")
        words = frozenset(_stem(w) for m in mods[1:-1] for w in _split(m))  # not the package's own name
        if words and name[:1].isupper() and not name.startswith("_") and len(name) >= 3:
            out.setdefault(_norm(name), words)
    return out


def known_names(catalog: Catalog) -> dict[str, frozenset[str]]:
    """Every name ``bind`` can place by the words of its home: the repository's classes (``family_names``) and the
    names its tables hold (``registered_names``, which win)."""
    return {**family_names(catalog), **registered_names(catalog.registries)}


def _joined(task: str, names: AbstractSet[str]) -> str:
    """``task`` with two words joined where together they spell one of ``names`` ("warm up" for
    ``--warmup_proportion``, "data root" for ``--dataroot``), so that they name it as one word does."""
    toks = re.findall(r"[A-Za-z]+", task)
    pairs = {(a, b) for a, b in zip(toks, toks[1:]) if len(a) >= 2 and len(b) >= 2 and len(a + b) >= 5
             and (a + b).lower() in names and a.lower() not in names and b.lower() not in names}  # fmt: skip
    for a, b in pairs:
        task = re.sub(rf"\b{a}[ -]{b}\b", a + b, task)
    return task


_NEGATING = frozenset({"without", "no", "not", "never", "skip", "skipping", "instead"})


def _negated(words: Sequence[str], at: Iterable[int]) -> bool:
    """Whether a negation stands right before any of the positions ``at`` ("Without training again": no
    --do_train; "no need to train")."""
    return any(w.lower() in _NEGATING for i in at for w in words[max(0, i - 2) : i])


def negated_flag(p: Param, task: str) -> bool:
    """Whether the task says not to do what flag ``p`` does (a negation right before its name words)."""
    words = words_of(plain_numbers(task))
    if {_stem(w) for w in _split(p.name)} & {"no", "disable", "skip", "without"}:
        return False  # "no alignments" asks for --no_alignments
    name = {_stem(w) for w in _split(p.name)} - {"no", "use", "enable", "do"}
    at = [i for i, w in enumerate(words) if any((t := _stem(w)) == n or len(n) >= 4 and t.startswith(n) for n in name)]
    return _negated(words, at)


def _flags_said(
    words: Sequence[str], params: Sequence[Param], said_bools: Sequence[tuple[Param, str]], bit_flags: Sequence[Param]
) -> list[tuple[Param, str]]:
    """The flags and True/False options the task's words set, for ``bind`` (``""`` as a flag's value)."""
    flags: list[tuple[Param, str]] = []
    stems = {_stem(w) for w in words}
    pairs_said = {_norm(a + b) for a, b in zip(words, words[1:])}
    for p in params:
        if bool_valued(p):
            flags += [(q, v) for q, v in said_bools if q is p]
            continue
        if p in bit_flags:
            flags.append((p, ""))
            continue
        if p.is_flag:
            flag_words = {_stem(w) for w in _split(p.name)} - {"no", "use", "enable", "do"}
            # "tie the weights" says --tied, "mirroring" says --mirror
            # ("auxiliary losses" for --no_aux_loss), all said close together: "images" and "weights" far apart
            # in the task do not say --image-weights
            def hits(n: str) -> list[int]:
                return [i for i, w in enumerate(words) if (t := _stem(w)) == n or len(n) >= 4 and t.startswith(n)
                        or len(t) >= 3 and n in (t + "d", t + "ed") or t in ABBREVIATIONS.get(n, ())]  # fmt: skip

            at = [hits(n) for n in flag_words]
            negative = bool({_stem(w) for w in _split(p.name)} & {"no", "disable", "skip", "without"})
            said = all(at) and _close(at, 4) and (negative or not _negated(words, [i for xs in at for i in xs]))
            # one spelling written as two words: "fast mode" for --fastmode, "render only" for --renderonly
            joined = _norm("".join(w for w in _split(p.name) if w not in ("no", "use", "enable", "do")))
            said = said or len(joined) >= 6 and joined in pairs_said
            off_gpu = bool({_stem(w) for w in _split(p.name)} & {"no", "disable"} and flag_words & {"gpu", "cuda"})
            if flag_words and said and not flag_words <= {"gpu", "cuda"}:
                flags.append((p, ""))
            elif off_gpu and "cpu" in stems:
                flags.append((p, ""))  # "on the CPU only": --no-cuda, --disable_gpu
            elif flag_words and flag_words <= {"gpu", "cuda"} and not off_gpu and stems & {"gpu", "cuda"} \
                    and "cpu" not in stems and not {"no", "without"} & {w.lower() for w in words}:
                flags.append((p, ""))  # "train it with my GPU": -gpu, --cuda
            elif _help_said(p.help, words):
                flags.append((p, ""))  # --fp16 "half precision": the task says its help's words together
    return flags


def _value_literals(
    task: str, words: Sequence[str], lits: list[Literal], params: Sequence[Param], affordance: Affordance,
    spelled: AbstractSet[str],
) -> tuple[list[Literal], list[tuple[Param, str]], list[Param], set[int]]:
    """The task's literals that may be option values, for ``bind``: without the words that spell or name an
    option, the script's own file and folder, the words that set a True/False option, the numbers of an
    "8-bit"-style flag and what the task turns down. Also the True/False options said (with their values), the
    bit flags said and the word positions of their numbers."""
    # a literal that spells an option ("pool_ratio") or names it ("the model") is not a value
    lits = [lit for lit in lits if lit.kind != "word" or _norm(lit.text) not in spelled]
    # the task naming the script ("with run.py") or the folder it runs in ("I'm inside scripts/torch") gives it no
    # value
    own_file = posixpath.basename(affordance.path)
    home = posixpath.dirname(affordance.path)
    lits = [lit for lit in lits if lit.kind != "path" or posixpath.basename(lit.text) != own_file
            and (not home or posixpath.normpath(lit.text.strip("/")) != home)]  # fmt: skip
    # True/False options first: the words that name them ("wandb logging disabled") are no other option's value
    said_bools: list[tuple[Param, str]] = []
    naming: set[int] = set()
    for p in params:
        if bool_valued(p) and (got := bool_said(p, words)) is not None:
            said_bools.append((p, got[0]))  # written even when it is the default: the task says it
            naming.update(got[1])
    lits = [lit for lit in lits if not (lit.kind == "word" and lit.pos in naming)]
    # "load the model in 8-bit" says --load-8bit: its number is the flag's, no option's value (--gptq-wbits)
    bit_flags: list[Param] = []
    bit_pos: set[int] = set()
    task_stems = {_stem(w) for w in words}
    for p in params:
        bits = re.search(r"(\d+)[-_]?bits?\b", p.name) if p.is_flag else None
        others = {_stem(w) for w in _split(p.name[: bits.start()] + p.name[bits.end() :])} if bits else set()
        if bits is not None and re.search(rf"\b{bits.group(1)}[\s-]?bits?\b", task, re.I) \
                and others <= task_stems | {"load", "use", "enable", "in", "quant", "quantize", "model", "mode"}:
            bit_flags.append(p)
            bit_pos |= {lit.pos for lit in lits if lit.kind == "number" and lit.text == bits.group(1)
                        and words[lit.pos + 1 : lit.pos + 2] in (["bit"], ["bits"])}  # fmt: skip
    lits = [lit for lit in lits if lit.pos not in bit_pos]
    # a name the task turns down ("SWAGAN instead of StyleGAN2", "rather than LSTM") and a word that with its
    # neighbour spells an option ("Batch size": --batch_size) are no values
    # "rather than 25", "instead of the default folder"
    lits = [lit for lit in lits if not (lit.kind in ("number", "path") and _declined(words, lit.pos))]
    lits = [lit for lit in lits if not (lit.kind == "word" and (_declined(words, lit.pos) or any(
        _norm(a + b) in spelled for a, b in ((words[lit.pos - 1] if lit.pos else "", lit.text),
                                             (lit.text, words[lit.pos + 1] if lit.pos + 1 < len(words) else ""))
        if a and b)))]
    return lits, said_bools, bit_flags, bit_pos


def bind(
    task: str, affordance: Affordance, registered: Mapping[str, AbstractSet[str]] | None = None
) -> tuple[list[tuple[Param, str]], list[str], float]:
    """Deterministic binding of the task's literals to ``affordance``'s parameters (``registered``: from
    ``registered_names``; a name a table holds goes to the option its own name matches: ``--model``).

    Returns (bound pairs in parameter order, warnings, total score). Each literal goes to at most one
    parameter and each parameter gets at most one value (a list for ``nargs``).
    """
    task = plain_numbers(task, memory=any({"memory", "mem"} & param_words(p) for p in affordance.params))
    task = _joined(task, set().union(*(param_words(p) for p in affordance.params)) if affordance.params else set())
    words, lits = task_literals(task)
    clauses = _clauses(task, words)
    # ``**kwargs`` and ``nargs=argparse.REMAINDER`` ("opts": config overrides as KEY VALUE pairs) take no literal
    # nor do options the launcher sets (--local_rank) or that take KEY VALUE pairs (yacs "--opts")
    params = [p for p in affordance.params
              if not (p.kind == "kwarg" and p.name.startswith("**")) and p.nargs not in REMAINDER_NARGS
              and _norm(p.name) != "localrank"
              and not _KEY_VALUE.search(p.help)]  # fmt: skip
    spelled = set().union(*(exact_names(p) for p in params)) if params else set()
    lits, said_bools, bit_flags, bit_pos = _value_literals(task, words, lits, params, affordance, spelled)
    task_stems = {_stem(w) for w in words}
    cands: list[tuple[float, int, int, str]] = []  # (score, literal index, param index, value)
    # two words that spell one option ("batch size": --batch_size): each names that option, not another (--size)
    compound = {k: _norm(words[j] + words[j + 1]) for j in range(len(words) - 1)
                if _norm(words[j] + words[j + 1]) in spelled for k in (j, j + 1)}  # fmt: skip
    counted = {li for li, lit in enumerate(lits) if lit.kind == "number" and lit.pos + 1 < len(words)
               and words[lit.pos + 1].lower() in ("gpu", "gpus", "devices", "cards")}  # fmt: skip
    percent = {li for li, lit in enumerate(lits) if lit.kind == "number" and re.match(
        r"\s*(?:%|percent\b)", task[_offset(task, words, lit.pos) + len(lit.text):])}  # fmt: skip
    every_name = set().union(*(param_words(p) for p in params)) if params else set()
    values_at = {lit.pos for lit in lits if lit.kind != "word"}
    named_clauses = {clauses[j] for j, w in enumerate(words) if _parts(w) & every_name or _norm(w) in spelled}
    # the names the documented commands give an option ("--noise_schedule cosine", "-a vit_small") count as the
    # values its help lists: the task's "cosine" goes there, and "ViT-Small" is written as the README does
    docvals = documented_values(affordance) if affordance.usage else {}
    doc_names = {p.name: {_norm(v): v for v in docvals.get(p.name, ()) if value_shape(v) == "text"
                      and re.fullmatch(r"[A-Za-z][\w.-]*", v) and _norm(v) not in ("true", "false")}
             for p in params}  # fmt: skip
    listed = [help_options(p) | frozenset(doc_names[p.name]) for p in params]
    # the second number of "640 by 640" goes only with the first, to an option of several numbers
    twins = {k for k, lit in enumerate(lits) if k and lit.kind == "number" and lits[k - 1].kind == "number"
             and lits[k - 1].pos == lit.pos - 2 and words[lit.pos - 1].lower() == "by"}  # fmt: skip
    boost: dict[tuple[int, int], float] = {}
    registered = registered or {}
    shapes = documented_shapes(affordance, docvals) if affordance.usage else {}
    for pi, p in enumerate(params):
        names = param_words(p)
        extra = help_words(p)
        exact = exact_names(p)
        if p.choices:
            m = match_choice(words, p.choices)
            if m is not None and m[1] not in bit_pos:
                value, pos, s = m
                li = next((k for k, lit in enumerate(lits) if lit.pos == pos), -1)
                near = _near_score(words, pos, names, extra, exact, clauses, clauses[pos] in named_clauses,
                                   compound=compound)
                cands.append((1.0 * s + near, li, pi, value))
            continue
        if p.kind == "option" and (g := glossary_choice(p, words)) is not None:
            value, pos, s = g  # "hourly" for --freq "options:[h:hourly, d:daily]": the help's own value
            li = next((k for k, lit in enumerate(lits) if lit.pos == pos), -1)
            cands.append((1.0 + 0.25 * s, li, pi, value))
        for li, lit in enumerate(lits):
            if li in twins or not _fits(p, lit) or (lit.kind == "word" and _stem(lit.text) in names):
                continue
            if li in counted and takes_device_ids(p):
                continue  # "across 2 GPUs" is a count (--num-gpus), not the ids --gpus takes
            if p.kind == "config-key" and (lit.kind == "word" or lit.kind == "path" and not (
                    takes_path(p) or names & _OUTPUT_WORDS)):  # fmt: skip
                continue  # hundreds of keys: a name goes to an option, a path to a key for one (MODEL_FILE)
            key = _norm(lit.text)
            if lit.kind == "word" and key not in listed[pi]:
                # "randomly initialized" for the help's "random or pre_trained"
                key = next((v for v in listed[pi] if len(v) >= 4 and key.startswith(v)
                            and key[len(v):] in ("ly", "s", "es", "d", "ed", "ally")), key)  # fmt: skip
            if key in registered and takes_path(p):
                continue  # a registered name ("DiT-B/4") is no folder, though it has a "/"
            if lit.kind == "word" and key not in listed[pi] and any(key in other for other in listed):
                continue  # another option's help lists it ("classification" is a task_name, not a model)
            plain = lit.kind == "word" and not _namelike(lit.text, _sentence_start(task, words, lit.pos))
            if plain and lit.text.lower() in _THING_NOUNS:
                continue  # "the fern scene (data in ...)": a noun for the thing, no name of it
            if plain and help_options(p) and key not in listed[pi]:
                continue  # --eval_on (checked: dev | test) takes no "batch" from "the evaluation batch size"
            # an English-looking word is a value only right next to the option's own name, in its clause
            near = _near_score(words, lit.pos, names, set() if plain else extra, exact, clauses,
                               clauses[lit.pos] in named_clauses,
                               reach=1 if plain else None, values_at=values_at,
                               number=lit.kind == "number", compound=compound)  # fmt: skip
            if lit.kind == "number" and [w.lower() for w in words[lit.pos + 2 : lit.pos + 4]] == ["per", "batch"]:
                near += 1.0 if "batch" in names | extra else -0.5  # "32 images per batch": the batch size (-b)
            if lit.kind == "path" and names & set().union(*(_parts(x) for x in lit.text.rsplit(".", 1)[0].split("/"))):
                near += 0.5  # the path names the option: data/train.json for --train_file, --data
            if lit.kind == "path" and _ext(lit.text) in names | extra:
                near += 0.5  # its extension names it: seqs.fasta for fasta_file, a .csv for "manifest (csv)"
            elif lit.kind == "path" and any(_ext(lit.text) in exts and names & kind for kind, exts in _MEDIA):
                near += 0.5  # its kind names it: traffic.mp4 for --video-input, face.png for --image
            if (p.default or "").strip("'\"").lower() in _SPLITS and lit.kind == "word" \
                    and names & {"split", "subset", "phase", "partition"}:
                # --split (default "test") takes a split's name: "the validation split", not "cord-v2"
                near += 1.0 if lit.text.lower() in _SPLITS else -1.0
            if lit.kind == "path" and lit.text in docvals.get(p.name, ()):
                near += 1.0  # the README passes this very value there ("naver-clova-ix/donut-base")
            if lit.kind == "path" and p.default and _extends(lit.text, p.default):
                near += 1.0  # ../predictions/r50 for --test_save_dir (default ../predictions): where it writes
            as_fraction = li in percent and fractional(p)
            if as_fraction and names & _FRACTION_WORDS:
                near += 0.5  # "20% of the target data": --holdout_fraction 0.2
            elif lit.kind == "number" and names & _FRACTION_WORDS and fractional(p) and float(lit.text) > 1:
                continue  # "the 4th environment" is no fraction
            if lit.kind in ("path", "quoted") and _ext(lit.text) in _WEIGHTS:
                # a weights file goes to the option that loads one (--ckpt, --load_path), not to any --file_path;
                # less to one that only says "model" (--model takes a name as often)
                near += 1.0 if names & _LOADS_WEIGHTS - {"model"} else 0.5 if (names | extra) & _LOADS_WEIGHTS else 0
            if key in registered and names & registered[key]:
                # a name a registry of the repository holds (DiT_models: "DiT-B/4") goes to --model; it decides
                # which option takes the value, not how well the entry fits the task (kept out of the total)
                boost[(li, pi)] = 1.5
                near += 1.5
            if lit.kind == "word" and lit.text.lower() in LANGUAGES and names & {"language", "lang"}:
                near += 1.0  # "the French recording" for --language (a list of names the catalog cannot read)
            value_as = ""
            shown = [v for v in doc_names[p.name].values() if _shape(v) == _shape(lit.text) and v == v.lower()]
            if lit.kind == "word" and not plain and shown and re.search(r"[^\w]", lit.text):
                near += 0.6  # "EfficientNet-B5" where the README runs -a 'efficientnet-b0': efficientnet-b5
                value_as = lit.text.lower()
            elif lit.kind == "word" and not plain and _shape(lit.text) in _example_shapes(p):
                near += 0.6  # a name shaped like the default: vgg16 for --arch (default resnet18), gpt2-xl for gpt2
            elif lit.kind == "word" and not plain and p.default and p.default == _norm(p.default) \
                    and "_" not in lit.text and re.search(r"[A-Z-]", lit.text) \
                    and _shape(_norm(lit.text)) == _shape(p.default) != "a":
                near += 0.6  # "ResNet-50" for --arch (default resnet18), written as the default is: resnet50
                value_as = _norm(lit.text)
            elif near > 0 and lit.kind == "word" and not plain and key not in listed[pi] and (written := written_as(
                    lit.text, (*doc_names[p.name].values(), *help_choices(p), p.default or ""))):  # fmt: skip
                # "ResNeSt-101" where the README runs --model resnest50: resnest101. A word is only re-cased ("KITTI"
                # for --dataset sintel) where the README or the help show the names, never for a folder or a name
                # the user gives ("DDIM" for --image_folder)
                if len(_pieces(written)[0]) > 1:
                    near += 0.6
                    value_as = written
                elif (doc_names[p.name] or help_choices(p)) and not takes_path(p) \
                        and not names & {"name", "folder", "dir", "file", "path", "prefix", "suffix"}:
                    value_as = written
            if lit.kind == "word" and not plain and words[lit.pos + 1 : lit.pos + 2] in (["model"], ["network"]) \
                    and re.search(r"\bmodel\b", f"{p.name} {p.help}", re.I) and not takes_path(p):
                near += 0.6  # "with the hdemucs_mmi model": --name, "Pretrained model name" ("model" is no stem)
            if lit.kind == "word" and not plain and _called(words, lit.pos) and "name" in names | extra:
                near += 1.0  # "an LMDB called ffhq_codes", "model name celeba64": the option that takes a name
            if lit.kind == "number" and p.type in (None, "str") and p.default and value_shape(p.default) == "text":
                near -= 1.0  # a name-valued option (--device cuda, --optim adamw_torch) takes no bare count
            # a hub name ("EleutherAI/pythia-6.9b") is given where a model is named (--model_name_or_path, whose
            # default may be one) as much as where a folder is (--cache_dir)
            names_model = lit.kind == "path" and names_a_model(p) and not takes_path(p) and hub_id(lit.text)
            if names_model:
                near += 1.0 if p.default and hub_id(p.default) else 0.5
            if lit.kind == "word" and key not in listed[pi] and stated_options(p):
                near -= 0.75  # its help lists what it takes ("random, bilinear, bicubic"), and this is none of them
            doc = shapes.get(p.name)
            if doc and (shape := value_shape(lit.text)) and shape not in doc and key not in listed[pi] \
                    and not names_model \
                    and not (shape == "path" and "text" in doc and takes_path(p)):  # (--outputDir output: a folder)
                near -= 1.0  # the documented commands give it another kind of value (a path, not "DIV2K+Flickr2K")
            if near <= 0 and key not in listed[pi]:  # a value its help lists is a candidate, as a choice is
                continue
            if p.kind == "config-key":
                weights = lit.kind == "path" and _ext(lit.text) in _WEIGHTS and bool(names & _LOADS_WEIGHTS)
                if near < CONFIG_KEY_NEAR and not weights:  # (a weights file goes to TEST.MODEL_FILE unasked)
                    continue  # a key takes a value only right beside its own words ("10 epochs": num_epoch)
                near *= 0.8  # and after the script's own options
            pathlike = takes_path(p)
            # a stated path or quoted string is a deliberate value; a path belongs to an option that takes one
            bonus = 0.5 if lit.kind == "quoted" else (1.0 if pathlike else 0.25) if lit.kind == "path" else 0.0
            if names_model:
                bonus = 1.0
            if plain:  # an English-looking word is a value only right next to the option's name
                near *= 0.6
            value = value_as or (_percent_as_fraction(lit.text) if as_fraction else lit.text)
            if key in listed[pi]:
                near += 1.0  # the help lists it, and as the help spells it the script takes it ("CIFAR-10": cifar10)
                if lit.kind == "word":  # not a pattern the help writes ("'gpt2*'"): the task's own name then
                    value = next((v for v in help_choices(p) if _norm(v) == key and re.fullmatch(r"[\w.-]+", v)),
                                 doc_names[p.name].get(key, value))  # fmt: skip
                    value = _longer_choice(words, lit.pos, help_choices(p)) or value

            if lit.kind == "number" and (p.nargs in ("+", "*") or (p.nargs or "").isdigit()):
                run = _number_run(lits, li, p.nargs, task, words)
                value = " ".join(run)
                if len(run) > 1 and p.nargs in ("+", "*"):
                    near += 0.5  # "decayed at epochs 30 and 60": a list of numbers for the option that takes one
            elif lit.kind == "path" and p.nargs in ("+", "*") and not any(c in lit.text for c in " '\""):
                value = " ".join(_path_run(lits, li))  # "face1.png and face2.png" for files given as a list
            elif lit.kind == "path" and _exactly(p) > 1:
                # a positional of exactly n paths (pytorch-fid's two folders) takes the task's first n paths,
                # wherever the task writes them
                first = [x.text for x in lits if x.kind == "path"][: _exactly(p)]
                value = " ".join(first) if lit.text in first else value
            cands.append((near + bonus, li, pi, value))
    flags = _flags_said(words, params, said_bools, bit_flags)
    # a tie goes to a value the option's help lists ("GRU" for "type of network (LSTM, GRU)", not "Wikitext-2"),
    # then to the option a bare count means: "Run 1500 iterations" is --max_iters, not --eval_iters
    # and then to the option whose name the task says more fully ("a learning rate of 0.05": --lr, not --lr_rampup)
    cands.sort(key=lambda c: (-round(c[0], 6), _norm(c[3]) not in listed[c[2]],
                              not set(_split(params[c[2]].name)) & _COUNTS,
                              _unsaid(params[c[2]], task_stems), c[1], c[2]))  # fmt: skip
    used_lit: set[int] = set()
    used_param: set[int] = set()
    bound: dict[int, str] = {}
    total = 0.0
    for score, li, pi, value in cands:
        floor = 0.3 if li < 0 or lits[li].kind == "word" else 0.15  # a stray number is still some option's value
        if score < floor or pi in used_param or (li >= 0 and li in used_lit):
            continue
        used_param.add(pi)
        if li >= 0:
            many = lits[li].kind == "number" or lits[li].kind == "path" and " " in value
            used_lit.update(range(li, li + len(value.split())) if many else (li,))
            said, k = _norm(lits[li].text), li + 1  # a choice said in words ("micro F1": micro_f1) takes them all
            while lits[li].kind == "word" and k < len(lits) and lits[k].pos == lits[li].pos + (k - li) \
                    and _norm(value).startswith(said + _norm(lits[k].text)) and said != _norm(value):
                said += _norm(lits[k].text)
                used_lit.add(k)
                k += 1
        bound[pi] = value
        total += score - boost.get((li, pi), 0.0)
    # a path written after "into"/"to" that no option's name claimed goes to the one open output option
    outs = [pi for pi, p in enumerate(params) if pi not in bound and not p.is_flag and not p.choices
            and not bool_valued(p) and param_words(p) & _OUTPUT_WORDS]  # fmt: skip
    # paths first: "crop datasets/x into sub-images saved in datasets/x_sub" writes to datasets/x_sub
    for k, lit in sorted(enumerate(lits), key=lambda kl: (kl[1].kind != "path", kl[0])):
        before = words[lit.pos - 1].lower() if lit.pos > 0 else ""
        if before in ("in", "at", "under", "as") and lit.pos > 1 and any(
                _stem(w) in _SAVE_WORDS for w in words[max(0, lit.pos - 4) : lit.pos - 1]):  # fmt: skip
            before = "into"  # "sub-images saved in datasets/x_sub", "written as out.png", "put the results in x"
        # "proj_out", "run2" (not "to pre-train": hyphens join English words as often)
        named = lit.kind == "word" and bool(re.search(r"[0-9_]", lit.text[1:]) or lit.text.count("-") >= 2)
        if k not in used_lit and (lit.kind == "path" or named) and before in ("into", "to") and len(outs) == 1 \
                and _fits(params[outs[0]], lit):
            bound[outs.pop()] = lit.text
            used_lit.add(k)
            total += 0.3
    # a path the task gives that no option's name claimed (not after "into"/"to") goes to the one open option
    # that reads a file: --file_path when --load_path took the weights and --output is an output
    ins = [pi for pi, p in enumerate(params) if pi not in bound and not p.is_flag and not p.choices
           and p.kind != "positional" and takes_path(p) and not param_words(p) & _OUTPUT_WORDS]  # fmt: skip
    free = [k for k, lit in enumerate(lits) if k not in used_lit and lit.kind == "path"
            and (lit.pos == 0 or words[lit.pos - 1].lower() not in ("into", "to"))]  # fmt: skip
    if len(ins) == 1 and len(free) == 1 and _fits(params[ins[0]], lits[free[0]]):
        bound[ins[0]] = lits[free[0]].text
        used_lit.add(free[0])
        total += 0.2
    # a quoted sentence that no option's name claimed goes to the one option that takes free text (a prompt)
    texts = [pi for pi, p in enumerate(params) if pi not in bound and not p.is_flag and not p.choices
             and param_words(p) & _TEXT_OPTION and not takes_path(p)]  # fmt: skip
    for k, lit in enumerate(lits):
        if k not in used_lit and lit.kind == "quoted" and " " in lit.text.strip() and len(texts) == 1 \
                and _fits(params[texts[0]], lit):
            bound[texts.pop()] = lit.text
            used_lit.add(k)
            total += 0.3
    # positionals of shell scripts with generic names take the remaining number/path/quoted literals in order
    rest = [lit for k, lit in enumerate(lits) if k not in used_lit and lit.kind != "word"]
    own = {_norm(w) for w in entry_words(affordance)}  # "Fine-tune" names finetune.py, it is not a value
    rest += [
        lit for k, lit in enumerate(lits)
        if k not in used_lit and lit.kind == "word" and _namelike(lit.text) and _norm(lit.text) not in own
        and not _sentence_start(task, words, lit.pos)
    ]  # fmt: skip
    rest = [lit for lit in rest if lit.text not in bound.values()]
    for pi, p in enumerate(params):
        if not p.is_flag and pi not in bound and p.required and p.default is None and rest:
            pw = param_words(p)  # model_name_or_path takes a name too
            pathlike = p.type == "path" or (bool(pw & {"path", "file", "dir", "directory", "folder"})
                                            and "name" not in pw)  # fmt: skip
            spare = next((x for x in rest if _fits(p, x) and (not pathlike or x.kind in ("path", "quoted"))), None)
            if spare is not None:
                rest.remove(spare)
                bound[pi] = spare.text
                if spare.kind == "path" and p.nargs in ("+", "*"):  # the files the task lists together
                    k = lits.index(spare)
                    more = [x for x in _path_run(lits, k)[1:] if any(r.text == x for r in rest)]
                    rest = [r for r in rest if r.text not in more]
                    bound[pi] = " ".join([spare.text, *more])
                elif spare.kind == "path" and _exactly(p) > 1:
                    more = [r.text for r in rest if r.kind == "path"][: _exactly(p) - 1]  # exactly n paths
                    rest = [r for r in rest if r.text not in more]
                    bound[pi] = " ".join([spare.text, *more])
                total += 0.2
    # a number in a model's name goes to the int option whose help names that model: "EfficientDet-D4" gives
    # -c ("coefficients of efficientdet") 4
    for lit in lits:
        digits = re.fullmatch(r"([A-Za-z][A-Za-z]{3,})-?[A-Za-z]?(\d{1,2})", lit.text) if lit.kind == "word" else None
        if digits is None:
            continue
        for pi, p in enumerate(params):
            if pi not in bound and (p.type or "") == "int" and digits.group(1).lower() in {
                    _norm(w) for w in _split(p.help)}:  # fmt: skip
                bound[pi] = str(int(digits.group(2)))
                total += 0.3
                break
    # an option that needs a value (no default) and lists its values ("format_to_lines or format_to_bert") takes
    # the one whose own word the task says ("binaries for BERT"), when only one has such a word
    for pi, p in enumerate(params):
        listed_values = list(p.choices or help_choices(p))
        if pi in bound or p.is_flag or len(listed_values) < 2 or (p.default or "").strip("'\"") not in ("", "None"):
            continue
        pieces = {c: set(_split(c)) for c in listed_values}
        distinct = {c: {w for w in pieces[c] - set().union(*(pieces[o] for o in listed_values if o != c))
                        if len(w) >= 3} for c in listed_values}  # fmt: skip
        by_word = [c for c in listed_values if distinct[c] & task_stems]
        if len(by_word) == 1:
            bound[pi] = by_word[0]
            total += 0.3
    # a positional is given only with every one before it ($2 needs $1): the gaps take the task's leftover values
    # in order, else their defaults
    ordered = sorted((i for i, p in enumerate(params) if p.kind == "positional"), key=lambda i: params[i].position or 0)
    last = max((k for k, pi in enumerate(ordered) if pi in bound), default=-1)
    for pi in ordered[:last]:
        if pi in bound:
            continue
        spare = next((x for x in rest if x.kind != "word" and _fits(params[pi], x)), None)
        if spare is not None:
            rest.remove(spare)
            bound[pi] = spare.text
            total += 0.2
        elif params[pi].default:
            bound[pi] = params[pi].default or ""
    warnings = [
        f"'{lit.text}' fits no option of {affordance.name}"
        for k, lit in enumerate(lits)
        if k not in used_lit
        and lit.kind in ("number", "quoted", "path")
        and lit.text not in {v for v in bound.values()}
        and not (lit.kind == "path" and any(lit.text in v.split(" ") for v in bound.values()))  # in a list of paths
    ]
    for pi, p in enumerate(params):
        if p.required and pi not in bound and p.default is None:
            warnings.append(f"{p.name} is required by {affordance.name} and the task gives no value for it")
    pairs = [(params[pi], bound[pi]) for pi in sorted(bound)] + [
        f for f in flags if f[0] not in [params[i] for i in bound]
    ]
    return pairs, warnings, total + 0.5 * len(flags)


def bool_valued(p: Param) -> bool:
    """Whether ``p`` takes a True/False value (click ``type=bool``, argparse ``type=str2bool``), not a flag."""
    return p.takes_bool


_NEGATIONS = frozenset({"not", "no", "without", "disable", "disabled", "off", "false", "never", "turn"})


def bool_said(p: Param, words: Sequence[str]) -> tuple[str, list[int]] | None:
    """``"True"`` or ``"False"`` when the task speaks of the option ("enable x-flip mirroring" for ``--mirror``;
    "do not save the progress video" for ``--save-video``), with the positions of the words that name it; None
    when it does not."""
    name = [_stem(w) for w in _split(p.name)]
    inverted = any(w in ("no", "disable") for w in name)
    want = [w for w in name if w not in ("no", "use", "enable", "do", "disable") and w not in _FILLER]  # log_to_wandb
    stems = [_stem(w) for w in words]

    def at(n: str) -> int | None:
        # "mirroring" for mirror, "logging" for log; "half precision" for float16
        return next((i for i, t in enumerate(stems) if t == n or len(n) >= 3 and t.startswith(n)
                     and (len(n) >= 4 or len(t) - len(n) <= 4) or t in ABBREVIATIONS.get(n, ())), None)  # fmt: skip

    maybe = [at(n) for n in want]
    found = [i for i in maybe if i is not None]
    if len(found) < len(maybe) or not want:
        found = _help_at(p.help, words)  # --use_amp "mixed precision": "no mixed precision"
    if not found or want in (["gpu"], ["cuda"]):
        return None
    first, last = min(found), max(found)
    if last - first > 4:
        return None
    around = {w.lower() for w in words[max(0, first - 3) : first]} | {w.lower() for w in words[last + 1 : last + 3]}
    off = bool(around & _NEGATIONS) and not ("turn" in around and "on" in around)
    return ("False" if off != inverted else "True"), found


@functools.lru_cache(maxsize=8192)
def _example_shapes(p: Param) -> frozenset[str]:
    """The shapes of the names an option shows: its default, and the quoted names in its help ("a gpt2 variant
    (e.g. 'gpt2-xl')"); plain words (``a``) say nothing."""
    shown = [p.default or "", *re.findall(r"""['"]([\w./-]{2,40})['"]""", p.help)]
    return frozenset(_shape(x) for x in shown if x and " " not in x) - {"a", ""}


_COUNTS = frozenset({"max", "num", "n", "number", "total"})


def _shape(name: str) -> str:
    """A name's shape: letters runs as ``a``, digit runs as ``9`` (``resnet18`` and ``vgg16``: ``a9``)."""
    return re.sub(r"[a-z]+", "a", re.sub(r"\d+", "9", name.lower()))


#: Size letters of model names ("ConvNeXt-S", "ViT-L", "Swin-T") and the words names spell them with.
SIZES = {"t": "tiny", "s": "small", "m": "medium", "b": "base", "l": "large", "h": "huge", "g": "giant"}
_NAME_PIECE = re.compile(r"[A-Za-z]+|\d+(?:\.\d+)?")
_RUN_PIECE = re.compile(r"[A-Za-z]+|\d+")


def _pieces(name: str, decimals: bool = True) -> tuple[list[str], list[str]]:
    """A name's letter and digit runs and the separators between them (``vit_small``: vit, small; ``_``); a
    decimal (``1.5``) is one piece unless ``decimals`` is off."""
    runs = list((_NAME_PIECE if decimals else _RUN_PIECE).finditer(name))
    seps = [name[a.end() : b.start()] for a, b in zip(runs, runs[1:])]
    return [m.group(0) for m in runs], seps


def written_as(name: str, known: Iterable[str]) -> str | None:
    """``name`` written the way an option's known names are (its default, documented values, listed names), or
    None when no known name shares its first word and its run of pieces: "ResNeSt-101" -> ``resnest101`` beside
    ``resnest50``, "ViT-Base" -> ``vit_base`` beside ``vit_small``, "ConvNeXt-S" -> ``convnext_small`` beside
    ``convnext_tiny``, "KITTI" -> ``kitti`` beside ``sintel``. Hand-written: the rule is the repository's
    spelling, which no library knows."""
    pieces, _ = _pieces(name)
    if len(pieces) == 1 and name.isalpha() and name != name.lower():
        # one word where the option's names are lower-case words: "KITTI" beside ``sintel`` is ``kitti``
        return name.lower() if any(k.isalpha() and k == k.lower() for k in known) else None
    if len(pieces) < 2 or not pieces[0].isalpha():
        return None
    for k in known:
        kp, ksep = _pieces(k)
        if len(kp) != len(pieces) or kp[0].lower() != pieces[0].lower() or any(
                a.isdigit() != b.replace(".", "").isdigit() for a, b in zip(kp, pieces)):  # fmt: skip
            continue
        if len(pieces[0]) < 2 and [x.lower() for x in kp] != [x.lower() for x in pieces]:
            continue  # "R50+ViT-B/16" is ``R50-ViT-B_16``, piece for piece; one letter says too little otherwise
        out = []
        for a, b in zip(kp, pieces):
            if a.isalpha() and a.lower() in SIZES.values() and b.lower() in SIZES:
                b = SIZES[b.lower()]  # "S" beside "small"
            out.append(b.lower() if a == a.lower() else b.upper() if a == a.upper() else b)
        written = out[0] + "".join(sep + x for sep, x in zip(ksep, out[1:]))
        if not re.fullmatch(r"[\w.-]+", written) or written == name:
            return None
        return written
    return None


def _close(at: Sequence[Sequence[int]], span: int) -> bool:
    """Whether one position of each list lies within ``span`` words of one position of the first."""
    return any(all(any(abs(j - i) <= span for j in xs) for xs in at[1:]) for i in at[0])


def _help_at(help_: str, words: Sequence[str]) -> list[int]:
    """The positions of the words of a short help phrase (2-4 content words, ``_help_said``) the task says in
    order, or []."""
    want = [_stem(w) for w in _split(help_.split(".")[0]) if w not in _FILLER and len(w) > 1]
    if not 2 <= len(want) <= 4:
        return []
    # the task's words and the pieces of its hyphened ones ("memory-efficient"), each with its word's position
    have = [(k, _stem(x)) for k, w in enumerate(words) for x in ([w], _split(w))[("-" in w)]]

    def same(a: str, b: str) -> bool:  # a help's typo ("efficent") still says its word
        return a == b or len(a) >= 6 and len(b) >= 6 and difflib.SequenceMatcher(None, a, b).ratio() >= 0.85

    for i, (k, w) in enumerate(have):
        if same(w, want[0]):
            got = [k]
            for j in range(i + 1, min(len(have), i + len(want) + 2)):
                if len(got) < len(want) and same(have[j][1], want[len(got)]):
                    got.append(have[j][0])
            if len(got) == len(want):
                return got
    return []


def _unsaid(p: Param, stems: AbstractSet[str]) -> int:
    """How many words of ``p``'s name (counts like ``max``, ``num`` aside) the task does not say, by itself or by
    an expansion (``lr``: learning rate)."""
    return sum(1 for w in _split(p.name) if w not in _COUNTS and len(w) > 1 and _stem(w) not in stems
               and not set(ABBREVIATIONS.get(w, ())) & stems)  # fmt: skip


_DECLINED_FILLER = frozenset({"the", "a", "an", "plain", "default", "usual", "standard", "stock", "every", "its"})


def _declined(words: Sequence[str], pos: int) -> bool:
    """Whether the task turns down the word at ``pos``: "instead of X", "rather than X", "not X", "instead of the
    default X", "instead of every 5"."""
    before = [w.lower() for w in words[max(0, pos - 4) : pos]]
    if before[-1:] == ["not"]:
        return True
    k = len(before)
    while k and before[k - 1] in _DECLINED_FILLER:
        k -= 1
    return k >= 2 and before[k - 2 : k] in (["instead", "of"], ["rather", "than"])


def _help_said(help_: str, words: Sequence[str]) -> bool:
    """Whether the task says a short help phrase of 2-4 content words in order, close together ("half
    precision", "use mixed precision training"): ``_help_at`` found it."""
    return bool(_help_at(help_, words))


_COMPOUND_FIRST = frozenset(
    "pre post fine re non co multi self well long short high low full half real single double mixed semi sub "
    "over under anti cross end top user open one two zero few case ground hand state large small x".split()
)


def _namelike(word: str, sentence_start: bool = False) -> bool:
    """Whether a word looks like a name rather than English: a digit, ``_``/``-``/``.`` or a capital inside it,
    all capitals ("LA"), or a capital first letter where a sentence does not start. Two lower-case words joined
    by a hyphen after a common first word are English ("pre-trained", "fine-tune", "case-sensitive"); a hub name
    is not ("bert-base-uncased")."""
    m = re.fullmatch(r"([a-z]+)-[a-z]{2,}", word)
    if m is not None and m.group(1) in _COMPOUND_FIRST:
        return False
    if re.search(r"[A-Z0-9_\-.]", word[1:]):
        return True
    return word[:1].isupper() and not sentence_start


def _number_run(lits: Sequence[Literal], li: int, nargs: str | None, task: str = "",
                words: Sequence[str] = ()) -> list[str]:  # fmt: skip
    """The numbers from ``lits[li]`` on that stand together in the task ("0 0.5", "0 and 0.5", "640 by 640"),
    for ``nargs``: each within two words of the one before. After a comma, a number with its own unit is a
    value of its own ("decayed at 30 and 60, 80 epochs")."""
    limit = int(nargs) if nargs and nargs.isdigit() else 8
    out = [lits[li].text]
    prev = lits[li].pos
    for lit in lits[li + 1 :]:
        if lit.kind != "number" or lit.pos - prev > 2 or len(out) >= limit:
            break
        if words and lit.pos + 1 < len(words) and words[lit.pos + 1].lower() not in _FILLER \
                and not _NUMBER.fullmatch(words[lit.pos + 1]) \
                and "," in task[_offset(task, list(words), prev) : _offset(task, list(words), lit.pos)]:
            break
        out.append(lit.text)
        prev = lit.pos
    return out


def _exactly(p: Param) -> int:
    """How many values ``p`` takes when its ``nargs`` is a number (0 otherwise)."""
    return int(p.nargs) if p.nargs and p.nargs.isdigit() else 0


def _path_run(lits: Sequence[Literal], li: int) -> list[str]:
    """The paths from ``lits[li]`` on that the task lists together ("a.png, b.png and c.png")."""
    out = [lits[li].text]
    prev = lits[li].pos
    for lit in lits[li + 1 :]:
        if lit.kind != "path" or lit.pos - prev > 2 or " " in lit.text:
            break
        out.append(lit.text)
        prev = lit.pos
    return out


#: The names of a dataset's splits, as an option such as ``--split`` (default ``test``) takes them.
_SPLITS = frozenset({"train", "training", "test", "testing", "val", "valid", "validation", "dev", "eval", "trainval",
                     "minival", "holdout"})
#: Plain nouns that say what a thing is, never what it is called (a folder called "data" is a path literal).
_THING_NOUNS = frozenset({"data", "model", "models", "file", "files", "folder", "directory", "image", "images",
                          "scene", "video", "videos", "checkpoint", "weights"})
_FRACTION_WORDS = frozenset({"frac", "fraction", "ratio", "portion", "proportion", "percent", "percentage", "pct",
                             "prob", "probability", "share"})


def fractional(p: Param) -> bool:
    """Whether ``p`` takes a fraction (a float whose default lies in [0, 1], or one named ``--frac``): a
    task's "20%" is 0.2 there. An option named in percent (``--percent``) takes 20 as it is."""
    words = {w.lower() for w in _split(p.dest or p.name)}
    if words & {"percent", "percentage", "pct"} or p.type not in (None, "float"):
        return False
    try:
        return 0.0 <= float((p.default or "").strip("'\"")) <= 1.0 if p.default else bool(words & _FRACTION_WORDS)
    except ValueError:
        return False


def _percent_as_fraction(number: str) -> str:
    """``"20"`` -> ``"0.2"``, ``"12.5"`` -> ``"0.125"``: a percentage as the fraction an option takes."""
    return f"{float(number) / 100:.6g}"


def _longer_choice(words: Sequence[str], pos: int, choices: Sequence[str]) -> str | None:
    """A listed name of several parts that the words beside ``pos`` say in full ("L2-normalised euclidean" ->
    ``euclidean_l2`` beside ``euclidean``), or None."""
    here = words[pos].lower()
    near = [w.lower() for w in (*words[max(0, pos - 2) : pos], *words[pos + 1 : pos + 3])]
    for c in choices:
        parts = [x.lower() for x in _split(c)]
        if len(parts) < 2 or here not in parts:
            continue
        rest = list(parts)
        rest.remove(here)
        if all(any(w == x or len(x) >= 2 and w.startswith(x) for w in near) for x in rest):
            return c
    return None


def _extends(path: str, default: str) -> bool:
    """Whether ``path`` lies in or beside the option's default folder (``../predictions/r50`` for
    ``../predictions``, ``./output/run2`` for ``./output/run1``), a folder given, not a file name."""
    d = default.strip("'\" ").rstrip("/")
    p = path.rstrip("/")
    if len(d) < 3 or "/" not in p or d == ".." or not re.search(r"[A-Za-z]", d):
        return False
    parent = posixpath.dirname(d)
    # (or the default itself, as the task writes it: "../json_data" for -raw_path ../json_data/)
    return p == d and p.startswith((".", "/", "~")) or p.startswith(d + "/") \
        or bool(parent) and parent not in (".", "..", "/") and posixpath.dirname(p) == parent


def _file_words(path: str) -> frozenset[str]:
    """The stemmed words of a file's name (``inference_realesrgan_video.py``: inference, realesrgan, video)."""
    return frozenset(_stem(w) for w in _split(posixpath.splitext(posixpath.basename(path))[0]))


def entry_words(a: Affordance) -> set[str]:
    if a.kind == EXAMPLE:
        return set(example_words(a)[0])
    out = {_stem(w) for w in _split(a.path) + _split(a.name) + _split(a.summary)[:12] + _split(a.subcommand)}
    return out - _STOP - {"py", "sh", "main"}


_IMPORT = re.compile(r"^\s*(?:from\s+([\w.]+)\s+)?import\s+([\w., ]+)", re.M)


def _word_keys(text: str) -> set[str]:
    """Each word of ``text`` stemmed and whole (``HaloNet`` -> halonet, and its parts halo, net)."""
    out: set[str] = set()
    for w in words_of(text):
        out.update({_stem(w), _norm(w)})
        out.update(_stem(x) for x in _split(w))
    return out - _STOP


def example_words(a: Affordance) -> tuple[frozenset[str], frozenset[str]]:
    """(heading and lead words, code words) of a documentation example: its section says what it does, the
    names it imports (``from model.attention.HaloAttention import HaloAttention``) say what it uses."""
    return _example_words(a.summary or a.name, a.run)


@functools.lru_cache(maxsize=4096)  # every task ranks every example of the repository again
def _example_words(about: str, run: str) -> tuple[frozenset[str], frozenset[str]]:
    head = _word_keys(about) - {"py", "md", "readme", "usage", "example", "code"}
    code: set[str] = set()
    for m in _IMPORT.finditer(run):
        code |= _word_keys(" ".join(filter(None, m.groups())).replace(".", " "))
    return frozenset(head), frozenset(code - head)


@functools.lru_cache(maxsize=4096)
def _title_words(name: str) -> frozenset[str]:
    return frozenset(_word_keys(name))


@dataclass(frozen=True)
class _TaskSide:
    """What ``example_values`` reads of the task and the catalog, computed once per ranking, not per example."""

    lits: tuple[Literal, ...]
    api: frozenset[str]
    registries: tuple[frozenset[str], ...]
    words: tuple[str, ...] = ()
    clauses: tuple[int, ...] = ()
    python: bool = False  # the task asks for Python code (wants_python)
    known: Mapping[str, AbstractSet[str]] = field(default_factory=dict, compare=False)  # known_names(catalog)

    @classmethod
    def of(cls, task: str, catalog: Catalog, known: Mapping[str, AbstractSet[str]] | None = None) -> _TaskSide:
        plain = plain_numbers(task)
        words, lits = task_literals(plain)
        return cls(
            tuple(lits),
            frozenset(x.name for x in catalog.of_kind("python-api")),
            tuple(frozenset(r.values) for r in catalog.registries if r.values),
            tuple(w.lower() for w in words),
            tuple(_clauses(plain, words)),
            wants_python(task, catalog),
            known_names(catalog) if known is None else known,
        )


_SHAPE = re.compile(r"\(\s*\d+(?:\s*,\s*\d+)+\s*,?\s*\)")


def _make(text: str) -> str:
    """What a token is made of, runs collapsed: ``MKTVRQERLK`` -> ``A``, ``esm2_t36_3B`` -> ``a9_a9_9A``."""
    return re.sub(r"[A-Z]+", "A", re.sub(r"[a-z]+", "a", re.sub(r"[0-9]+", "9", text)))


def _ext(text: str) -> str:
    return file_suffix(text) if " " not in text else ""


#: Name words many keywords share: they name no keyword alone.
_SHARED_NAME_WORDS = frozenset({"size", "type", "rate", "mode", "dim", "dimension", "num", "number", "count", "max",
                                "min", "maximum", "minimum", "value", "total"})  # fmt: skip


#: Placeholder names that stand for a path (``fdir1``, ``img_path``, ``data_root``).
_PLACE_NAME = re.compile(r"(?:dir|path|file|folder|root|fname)(?:_?\d)?$|^(?:dir|path|file|folder)", re.I)


def example_values(
    task: str, a: Affordance, catalog: Catalog, side: _TaskSide | None = None
) -> tuple[list[tuple[Param, str]], list[str], float, set[str]]:
    """The task's values put in place of an example's own (``a.params``: its literal slots), the warnings for
    values that found no place, a fit score (0.5 per value placed) and the task's values the example holds
    (placed, or already written in it).

    * a file the task names replaces the example's first file of the same extension, else of the same kind
      (``self.jpg`` for ``"docs/_static/merlion.png"``);
    * a quoted sentence replaces the example's first sentence (a question, a caption);
    * ``name()`` in the task renames the example's call of a sibling of the same module (the task's
      ``esm.pretrained.esm1v_t33_650M_UR90S_5()`` for the example's ``esm.pretrained.esmfold_v1()``), only when the
      catalog has that name;
    * a shape such as ``(50,49,512)`` replaces the example's first all-integer call arguments;
    * a token of the same make as an example's string (``_make``: a protein sequence) replaces it;
    * a name of a registry (a model name) replaces the example's string that is a name of the same registry.
    """
    slots = [p for p in a.params if p.kind == "literal"]
    used: set[int] = set()
    pairs: list[tuple[Param, str]] = []
    warnings: list[str] = []
    fit = 0.0
    held: set[str] = set()

    def take(p: Param, value: str) -> None:
        used.add(p.position or 0)
        held.add(value)
        if p.name != value:
            pairs.append((p, value))

    def free(kind: str) -> list[Param]:
        return [p for p in slots if p.type == kind and (p.position or 0) not in used]

    side = side or _TaskSide.of(task, catalog)
    lits, api = side.lits, side.api
    for lit in lits:
        if lit.kind not in ("path", "quoted"):
            continue
        ext = _ext(lit.text)
        strings = free("string")
        if ext:
            pick = next((p for p in strings if _ext(p.name) == ext), None) or next(
                (p for p in strings if same_kind(ext, _ext(p.name))), None
            )
        elif " " in lit.text.strip():
            pick = next((p for p in strings if " " in p.name.strip() and not _ext(p.name)), None)
        else:
            continue
        if pick is None:
            warnings.append(f"'{lit.text}' has no place in the example {a.name}")
        else:
            take(pick, lit.text)
    for lit in lits:
        # a folder the task names fills the example's placeholder for one (root="<ROOT>", "/path/to/data"): the
        # one whose keyword the task says just before the folder or in it ("root is /data/x", "x-extra"), else
        # the first
        if lit.kind != "path" or _ext(lit.text) or lit.text in held:
            continue
        holes = [p for p in free("string") if PLACEHOLDER.search(p.name) and not _ext(p.name)]
        if holes:
            near = set(side.words[max(0, lit.pos - 6) : lit.pos]) | {w.lower() for w in _split(lit.text)}
            take(next((p for p in holes if p.dest and p.dest.lower() in near), holes[0]), lit.text)
    calls = [p for p in slots if p.type == "call"]
    for m in re.finditer(r"\b([A-Za-z_]\w*)\(\)", task):
        want = m.group(1)
        if any(p.name == want for p in calls):
            used.update(p.position or 0 for p in calls if p.name == want)
            fit += 2.0  # the example already calls what the task names
            held.add(want)
            continue
        modules = {n.rsplit(".", 1)[0] for n in api if n.rsplit(".", 1)[-1] == want and "." in n}
        pick = next((p for p in free("call") if any(f"{mod}.{p.name}" in api for mod in modules)), None)
        if pick is None:
            warnings.append(f"{want}() has no place in the example {a.name}")
        else:
            take(pick, want)
    for m in _SHAPE.finditer(task):
        shape = re.sub(r"[\s()]", "", m.group(0)).strip(",")
        pick = next(iter(free("shape")), None)
        if pick is not None:
            take(pick, shape)
    for lit in lits:  # a token of the same make as one of the example's strings: a protein sequence for another,
        # yolo-m for yolo-s (short ones only when they share a stem)
        # (a name with a "/" too: ViT-B/16 for ViT-B/32)
        if (lit.kind == "word" or lit.kind == "path" and not _ext(lit.text)) and len(lit.text) >= 4 \
                and _namelike(lit.text):
            # (in any case: "EfficientNet-B3" for 'efficientnet-b0', written as the example writes its names)
            # (only a name with digits or joiners: "Structure" is no sequence)
            low = lit.text.lower() if re.search(r"[\d_-]", lit.text) else lit.text
            pick = next((p for p in free("string")
                         if _make(p.name.lower() if low != lit.text else p.name) == _make(low) and (
                             len(p.name) >= 8 and len(lit.text) >= 8
                             or os.path.commonprefix([p.name.lower(), low])[3:])), None)  # fmt: skip
            if pick is not None:
                take(pick, low if pick.name == pick.name.lower() and lit.text != low and not lit.text.isupper()
                     else lit.text)
    # a registered name the task spells piece by piece replaces the example's name of the same table ("OpenNRE's
    # wiki80 model with the plain BERT encoder (softmax classifier)": wiki80_bert_softmax for 'wiki80_cnn_softmax')
    said = {w.lower() for w in side.words} | {_norm(w) for w in side.words}
    for p in free("string"):
        reg = next((r for r in side.registries if p.name in r), None)
        if reg is None:
            continue
        spelled = [n for n in reg if n != p.name and _spelled_by(n, said)]
        most = max((len(_name_parts(n)) for n in spelled), default=0)
        best = [n for n in spelled if len(_name_parts(n)) == most]
        if len(best) == 1 and most >= 2:
            take(p, best[0])
    for lit in lits:  # the paths left fill the placeholders for paths the example never defines, in order (fdir1)
        if lit.kind == "path" and lit.text not in held:
            hole = next((p for p in free("name") if _PLACE_NAME.search(p.name)), None)
            if hole is None:
                break
            take(hole, lit.text)
    # a name or quoted value the task gives goes to the example's string or placeholder whose keyword its words
    # name ("the lsun_church dataset" for dataset_name="FFHQ", "custom statistics named pixel_art" for custom_name)
    keyed = [p for p in slots if p.type in ("string", "name") and p.dest]
    if keyed and side.words:
        cands = []
        for li, lit in enumerate(lits):
            split = lit.text.lower() in _SPLITS  # "the train split" for dataset_split="trainval70k"
            if lit.kind not in ("word", "quoted") or lit.text in held or len(lit.text) < 3 \
                    or lit.text.lower() in _STOP and not split or _NUMBER.fullmatch(lit.text):
                continue
            namelike = lit.kind == "quoted" or split or _namelike(lit.text, _sentence_start(task, list(side.words),
                                                                                            lit.pos))
            for p in keyed:
                if not namelike and (p.type == "name" or p.name != p.name.lower() or not p.name.isidentifier()):
                    continue  # a plain word replaces only a plain name ("brecahad"), never a placeholder
                own = _split(p.name) if p.type == "name" else []
                named = param_words(Param(name="--" + p.dest, kind="option", dest=p.dest)) - _SHARED_NAME_WORDS
                named |= {_stem(w) for w in own} - _SHARED_NAME_WORDS - {"1", "2", "3"}
                closeness = _near_score(side.words, lit.pos, named, frozenset(), {_norm(p.dest)}, side.clauses)
                if closeness >= (0.9 if namelike else 1.4):
                    cands.append((closeness, li, p))
        named_at: set[int] = set()
        for _, li, p in sorted(cands, key=lambda c: (-c[0], c[1])):
            if li in named_at or (p.position or 0) in used or lits[li].text in held:
                continue
            named_at.add(li)
            take(p, lits[li].text)
    # a number the task gives goes to the example's number whose keyword or attribute its words name ("a
    # vocabulary of 10000 tokens" for config.vocab_size = 50257; "1000 inference steps" for num_inference_steps=50)
    numbers = [p for p in slots if p.type == "number" and p.dest]
    if numbers and side.words:
        cands = []
        for li, lit in enumerate(lits):
            if lit.kind != "number" or lit.text in held:
                continue
            for p in numbers:
                # by a word of its own: "size" alone does not say vocab_size from block_size
                named = param_words(Param(name="--" + p.dest, kind="option", dest=p.dest)) - _SHARED_NAME_WORDS
                closeness = (_near_score(side.words, lit.pos, named, frozenset(), {_norm(p.dest)}, side.clauses)
                             if named else 0.0)  # fmt: skip
                if closeness >= 0.5:
                    cands.append((closeness, li, p))
        taken: set[int] = set()
        for _, li, p in sorted(cands, key=lambda c: (-c[0], c[1])):
            if li in taken or (p.position or 0) in used:
                continue
            taken.add(li)
            used.add(p.position or 0)
            if side.python:  # numbers fill an example; they choose it only for a task that asks for Python code (a bash
                held.add(lits[li].text)  # task that states "stride 16" is no call for output_stride=16)
            if not (_NUMBER.fullmatch(p.name) and float(p.name) == float(lits[li].text)):
                pairs.append((p, lits[li].text))
    names = side.registries
    for lit in lits:
        if lit.kind not in ("word", "quoted") or not names:
            continue
        for reg in names:
            if lit.text in reg:
                pick = next((p for p in free("string") if p.name in reg), None)
                if pick is not None:
                    take(pick, lit.text)
                break
    # "the train split" for dataset_split="trainval70k" (a split's name is no literal: "train" is a common word)
    said_split = next((w.lower() for w, nxt in zip(side.words, side.words[1:])
                       if w.lower() in _SPLITS and nxt.lower() in ("split", "set", "subset", "partition")), None)
    hole = next((p for p in free("string") if "split" in _split(p.dest or "")), None)
    if said_split and hole is not None and hole.name.lower() != said_split:
        take(hole, said_split)
    if side.python:
        pairs += _call_keywords(task, a, catalog, held, side.known)
    placed = sum(1 for p, _ in pairs if p.type != "number")  # numbers add no fit (see above)
    return pairs, warnings, fit + 0.5 * placed, held


def _name_parts(name: str) -> list[str]:
    return [x for x in re.split(r"[_\-./]", name.lower()) if x]


def _spelled_by(name: str, said: AbstractSet[str]) -> bool:
    """Whether every part of ``name`` (``wiki80_bert_softmax``: wiki80, bert, softmax) is a word of the task."""
    parts = _name_parts(name)
    return len(parts) >= 2 and all(x in said for x in parts)


def _call_keywords(task: str, a: Affordance, catalog: Catalog, held: set[str],
                   known: Mapping[str, AbstractSet[str]]) -> list[tuple[Param, str]]:
    """Keyword arguments the task gives to the repository function an example calls, that the example does not
    pass (``mode="legacy_tensorflow"``, ``batch_size=64`` for ``fid.compute_fid(fdir1, fdir2)``): the function's
    own parameters, bound as a command's options are (``bind``), values the task writes that are no plain words.
    Each comes back as a ``kwarg`` parameter whose ``dest`` is the called name, for ``render``."""
    try:
        tree = ast.parse(a.run)
    except (SyntaxError, ValueError, RecursionError):
        return []
    api = catalog.of_kind("python-api")
    out: list[tuple[Param, str]] = []
    done: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        entry = next((e for e in api if e.name.rsplit(".", 1)[-1] == name and any(p.kind == "kwarg" for p in e.params)),
                     None) if name and name not in done else None  # fmt: skip
        if entry is None:
            continue
        done.add(name)
        given = {k.arg for k in node.keywords if k.arg}
        n_args = len(node.args)
        positional = [p.name for p in entry.params if p.kind == "kwarg"][:n_args]
        for p, v in bind(task, entry, known)[0]:  # (the names computed once per task)
            if p.kind != "kwarg" or p.name in given or p.name in positional or v in held or p.name.startswith("*"):
                continue
            if not (re.search(r"[\d_./-]", v) or v in ("True", "False")) or v.lower() not in task.lower():
                continue  # a value the task writes, not a plain word
            held.add(v)
            out.append((Param(name=p.name, kind="kwarg", dest=name, position=-1), v))
    return out


#: What an entry the documentation runs (one with ``usage``) is worth over one it never shows.
DOCUMENTED = 1.0
#: Score for a script whose file name says the task's purpose (train.py for "fine-tune ...", test.py for "run
#: inference ..."), taken off one that says the other purpose.
ROLE = 1.0
#: Purposes a task states by its verbs, and the file-name words of the scripts that serve each. "trained" and
#: "pretrained" describe a model, not the job.
_TASK_ROLES = {
    "train": frozenset({"train", "training", "finetune", "finetuning", "fine", "retrain", "pretraining"}),
    "apply": frozenset({"evaluate", "evaluation", "eval", "test", "testing", "inference", "infer", "predict",
                        "prediction", "predictions", "demo", "score", "benchmark"}),
}
_FILE_ROLES = {
    "train": frozenset({"train", "training", "finetune", "pretrain", "trainer"}),
    "apply": frozenset({"test", "eval", "evaluate", "evaluation", "inference", "infer", "predict", "demo",
                        "val", "validate", "valid", "detect", "sample", "generate", "enjoy", "render", "translate",
                        "synthesize", "transcribe", "caption", "segment"}),
}


def _documented_overlap(a: Affordance, pairs: Sequence[tuple[Param, str]]) -> int:
    """How many of the bound options one documented command of ``a`` sets, at most."""
    if not a.usage or not pairs:
        return 0
    bound = {p.name for p, _ in pairs}
    return max((len(bound & {p.name for p, _ in line_options(a, u.args)}) for u in documented_commands(a)), default=0)


def task_roles(task: str) -> set[str]:
    """The purposes the task's words state: ``{"train"}`` for "Fine-tune Donut on ...", ``{"apply"}`` for "Run
    inference ...", both or neither."""
    words = {w.lower() for w in words_of(task)} | {_norm(w) for w in re.findall(r"\w+-\w+", task)}
    if "fine" in words and "finetune" not in words and not re.search(r"\bfine[\s-]*tun", task, re.I):
        words.discard("fine")
    return {role for role, said in _TASK_ROLES.items() if words & said}


def file_roles(path: str) -> set[str]:
    """The purposes a script's file name says (``tools/train_net.py``: train; ``test_models.py``: apply)."""
    words = {w.lower() for w in _split(posixpath.splitext(posixpath.basename(path))[0])}
    return {role for role, named in _FILE_ROLES.items() if words & named}


def rank_candidates(
    task: str,
    catalog: Catalog,
    hits: Sequence[Hit] = (),
    *,
    kinds: Sequence[str] = RUNNABLE,
    workdir: str = "",
    top: int = 5,
    known: Mapping[str, AbstractSet[str]] | None = None,
) -> list[tuple[float, Affordance, list[tuple[Param, str]], list[str]]]:
    """The best ``top`` entries of ``kinds`` for ``task``: (score, entry, bound values, warnings), best first
    (``known``: ``known_names(catalog)`` when the caller has it)."""
    tw = {x for w in words_of(task) for x in (_stem(w), _norm(w))} - _STOP  # "Fine-tune" also as "finetune"
    # "auxiliary-head": auxiliary, head (not the pieces of paths and addresses: "stylegan2" of a URL)
    pieces = {x for w in words_of(task) if not re.search(r"[/.]", w) for x in _split(w)} - _STOP
    hit_text = "\n".join(h.text for h in hits[:8])
    hit_paths = [h.path for h in hits[:8]]
    wd = workdir.strip("./")
    out = []
    entries = [
        a for a in catalog.of_kind(*kinds) if not (a.kind == "python-api" and a.name.rsplit(".", 1)[-1][:1] == "_")
    ]
    if wd:  # the caller runs the command there: its own entries first, the rest only when it has none
        here = [a for a in entries if a.path.startswith(wd + "/") or a.workdir == wd]
        entries = here or entries
    folder = wd.rsplit("/", 1)[-1].lower()
    side: _TaskSide | None = None  # the task side of the examples, computed at the first one
    registered = known_names(catalog) if known is None else known
    named = {a.path: _file_words(a.path) for a in entries if a.kind == "python-script"}
    roles = task_roles(task)
    cluster = bool(re.search(r"\b(?:slurm|submitit|cluster)\b", task, re.I))
    one_machine = bool(re.search(r"\b(?:one|a single|single|1|same)\s+(?:machine|node|server|box)\b", task, re.I))
    for a in entries:
        if a.kind == EXAMPLE:
            head, code = example_words(a)
            side = side or _TaskSide.of(task, catalog, registered)
            pairs, warns, fit, _ = example_values(task, a, catalog, side)
            # the section's own title words count a bit more than its parents' ("Feature extraction > Doctest")
            score = 2.0 * len(tw & head) + 0.5 * len(tw & _title_words(a.name)) + 1.0 * len(tw & code) + fit
            if any(h.path == a.path and h.start_line <= a.end_line and a.start_line <= h.end_line for h in hits[:8]):
                score += 2.0  # the retrieved context shows this very block
            out.append((score, a, pairs, warns))
            continue
        ew = entry_words(a)
        # "detection" says detect.py, "auxiliary-head" says train_aux.py
        score = 2.0 * len(tw & ew) + 1.0 * sum(
            1 for n in _file_words(a.path) - tw - _GENERIC_STEMS
            if len(n) >= 3 and any(t.startswith(n) and len(n) + 2 < len(t) <= len(n) + 6 for t in pieces)
        )
        base = a.path.rsplit("/", 1)[-1]
        if base and a.kind != "make-target" and re.search(rf"(?<![\w/]){re.escape(base)}\b", task):
            score += 4.0  # the task names the file
        if base and base in hit_text:
            score += 1.5
        if a.path in hit_paths:
            score += 1.0 + 0.5 * (hit_paths.index(a.path) == 0)
        if any(loc.split(":")[0] in hit_paths for loc in a.invoked_by):
            score += 1.0
        if a.usage:
            score += DOCUMENTED  # the README shows how to run it: gail/run_mujoco.py is an example, run.py the tool
        if a.kind == "python-script" and _file_words(a.path) & {"submitit", "slurm"}:
            score += 1.0 if cluster else -2.0 if one_machine else 0.0  # "on one machine with 8 GPUs": no SLURM job
        if len(roles) == 1 and a.kind in ("python-script", "shell-script", "python-module") \
                and (own := file_roles(a.path)):
            score += ROLE if roles <= own else -ROLE if not own & roles else 0.0  # "Fine-tune ...": train.py
        if wd and (a.path.startswith(wd + "/") or a.workdir == wd):
            score += 3.0
        if a.subcommand and _stem(a.subcommand) in tw:
            score += 2.0
        if folder and a.path.rsplit("/", 1)[-1].rsplit(".", 1)[0].lower() == folder:
            score += 1.0  # the script named after its folder (implementations/dragan/dragan.py) is its main one
        pairs, warns, bscore = bind(task, a, registered)
        score += bscore
        score -= 1.0 * sum(1 for w in warns if " is required by " in w)
        if not a.params and a.kind == "python-script":
            score -= 0.5
        if re.match(r"\W*deprecated\b", a.summary, re.I):
            score -= 2.0  # "Deprecated face detection function. Use extract_faces": the function it names instead
        if a.kind == "python-script":
            # twin scripts (inference.py, inference_video.py): the longer name's own words must be said
            mine = named.get(a.path, frozenset())
            folder_of = posixpath.dirname(a.path)
            twins = [w for path, w in named.items() if path != a.path and posixpath.dirname(path) == folder_of
                     and w and w < mine]  # fmt: skip
            if twins:
                extra = mine - max(twins, key=len)
                score -= 1.0 * sum(1 for w in extra if w not in tw and not any(t.startswith(w) for t in tw))
        out.append((score, a, pairs, warns))
    # a tie goes to the entry that takes more of the task, then to one whose documented command sets the options
    # bound (``./main.py --icarl`` for "Run iCaRL"), then to the one nearer the top (compare.py before
    # ICLRblogpost/compare_FI.py)
    out.sort(key=lambda x: (-x[0], -len(x[2]), -_documented_overlap(x[1], x[2]), x[1].path.count("/"), x[1].id))
    return out[:top]


def _usage_commands(a: Affordance, hits: Sequence[Hit]) -> list[tuple[list[str], list[str]]]:
    """The simple commands of the retrieved context that run ``a``'s script: (what stands before the script,
    the script's own arguments), prefixes such as ``VAR=x`` and ``nohup`` left out."""
    return [(list(u.head), list(u.args)) for u in documented_commands(a, hits, catalog=False)]


def documented_launcher(task: str, a: Affordance, hits: Sequence[Hit], template: Usage | None = None
                        ) -> tuple[str, set[str]]:  # fmt: skip
    """The launcher the documentation runs ``a`` with (``python -m torch.distributed.launch --nproc_per_node 8
    main.py ...``): the ``template`` command's when it has one, else the retrieved context's; with the process
    count and master port the task states put in place of the line's, and those stated values (no option of the
    script takes them); ``("", set())`` when no such line runs ``a`` through a launcher."""
    heads = [list(template.head)] if template is not None and template.head else []
    for head in heads or [h for h, _ in _usage_commands(a, hits)]:
        if not head:
            continue
        if PYTHON.fullmatch(posixpath.basename(head[0])):
            if 1 < len(head) <= 3 and all(re.fullmatch(r"-[uBOsSE]+|-[WX]|[\w:.=]+", x) for x in head[1:]) \
                    and head[1].startswith("-") and head[1] not in ("-m", "-c"):
                return " ".join(shlex.quote(x) for x in head), set()  # the README's "python -u": unbuffered
            if len(head) < 3 or head[1] != "-m":
                continue  # run by plain python: no launcher
            command, opts = head[:3], head[3:]
        elif len(head) > 1 and LAUNCHER_SUBCOMMANDS.get(head[0]) == head[1]:
            command, opts = head[:2], head[2:]  # accelerate launch
        else:
            command, opts = head[:1], head[1:]
        nproc = NPROC.search(task)
        n = (nproc.group(1) or nproc.group(2)) if nproc else "1" if ONE_GPU.search(task) else None
        port = PORT.search(task)
        out = []
        k = 0
        while k < len(opts):
            name, eq, val = opts[k].partition("=")
            sep = "=" if eq else " "
            if not eq and k + 1 < len(opts) and not opts[k + 1].startswith("-"):
                val = opts[k + 1]
                k += 1
            if name == "--nproc_per_node" and n:
                val = n
            elif name == "--master_port" and port:
                val = port.group(1)
            out.append(f"{name}{sep}{val}" if val else name)
            k += 1
        if port and not any(o.startswith("--master_port") for o in out):
            out.append(f"--master_port {port.group(1)}")
        taken = {x for x in (n if nproc else None, port.group(1) if port else None) if x}
        return " ".join([*command, *out]), taken
    return "", set()


_JSON_LIST = re.compile(r'\[\s*"[^"]*"(?:\s*,\s*"[^"]*")*\s*\]')


_SHORT_FLAG = re.compile(r"-[A-Za-z]")


def documented_spellings(
    a: Affordance, pairs: Sequence[tuple[Param, str]], hits: Sequence[Hit]
) -> list[tuple[Param, str]]:
    """``pairs`` with each option spelled as the documented commands of ``a`` spell it (``-r`` when the
    README writes ``-r logs/x``, not ``--resume``), and a value written as a JSON list where they pass one;
    options the lines do not use follow their style (short flags, dashes) where they have one, else keep their
    own name."""
    used = {t.split("=", 1)[0] for u in documented_commands(a, hits) for t in u.args if t.startswith("-")}
    if not used:
        return list(pairs)
    docvals = documented_values(a)
    # the documented commands' style: short flags (-d celeba -b 256) where an option has both spellings, and
    # they write more short than long ones; options they never set are then written short too
    both = [q for q in a.params if q.kind == "option" and q.name.startswith("--")
            and any(_SHORT_FLAG.fullmatch(x) for x in q.aliases)]  # fmt: skip
    short_n = sum(1 for q in both if any(x in used for x in q.aliases if _SHORT_FLAG.fullmatch(x)))
    short = short_n > sum(1 for q in both if q.name in used)
    # and dashes (fire's --image-size for image_size) where they write more dashed than underscored names
    twins = [q for q in a.params if q.kind == "option" and q.name.replace("_", "-") in q.aliases]
    dashed = sum(1 for q in twins if q.name.replace("_", "-") in used) > sum(1 for q in twins if q.name in used)
    out = []
    for p, v in pairs:
        shown = docvals.get(p.name, ())
        if shown and all(_JSON_LIST.fullmatch(x) for x in shown) and not v.startswith("["):
            v = json.dumps(v.split())  # the README passes '["naver-clova-ix/cord-v2"]': a JSON list, so do we
        alias = next((x for x in p.aliases if x in used), None)
        if alias is None and short and p.name not in used:
            alias = next((x for x in p.aliases if _SHORT_FLAG.fullmatch(x)), None)
        if alias is None and dashed and p.name not in used and p.name.replace("_", "-") in p.aliases:
            alias = p.name.replace("_", "-")
        if alias is not None and p.name not in used:
            p = replace(p, name=alias, aliases=tuple(x for x in p.spellings if x != alias))
        out.append((p, v))
    return out


def shell_word(value: str) -> str:
    """``value`` quoted for bash, a leading ``~/`` left bare so that bash still expands it (``~/data``, not
    ``'~/data'``, which names a folder called ``~``)."""
    if value.startswith("~/") and value[2:] and shlex.quote(value[2:]) == value[2:]:
        return value
    return shlex.quote(value)


def render_bash(a: Affordance, pairs: Sequence[tuple[Param, str]], workdir: str = "", launcher: str = "") -> str:
    """The command line for ``a`` with ``pairs`` bound, run from the caller's ``workdir`` (a Python script by
    ``launcher`` instead of ``python`` when one is given)."""
    env: list[str] = []
    opts: list[str] = []
    keys: dict[str, list[str]] = {}  # yacs KEY VALUE pairs, by the flag they follow ("" when bare)
    positionals: list[tuple[int, str]] = []
    for p, v in pairs:
        if p.kind == "env" or p.kind == "make-var":
            env.append(f"{p.name}={shell_word(v)}")
        elif p.kind == "config-key":
            keys.setdefault(p.dest, []).extend([p.name, shell_word(v)])
        elif p.kind == "override":
            opts.append(f"{p.name}={shell_word(v)}")
        elif p.kind == "positional":
            many = p.nargs in ("+", "*") or (p.nargs or "").isdigit()
            positionals += [(p.position or 0, x) for x in (v.split() if many else [v])]
        elif p.is_flag:
            opts.append(p.name)
        else:
            values = v.split() if p.nargs in ("+", "*") or (p.nargs or "").isdigit() else [v]
            if a.framework in ("absl", "configurator"):  # both read only --name=value
                opts.append(f"{p.name}={shell_word(v)}")
            else:
                opts += [p.name, *(shell_word(x) for x in values)]
    args = [shell_word(v) for _, v in sorted(positionals, key=lambda pv: pv[0])] + opts  # (a list keeps its order)
    for flag, words in keys.items():  # they take the rest of the line: last
        args += [flag, *words] if flag else words
    caller = workdir.strip("/").removeprefix("./")
    run = a.run
    if not a.workdir and caller and a.path.startswith(caller + "/") and a.kind in ("python-script", "shell-script"):
        # run from the repository root, called from the script's own folder (or one above it): the path from there
        run = re.sub(rf"(?<!\S){re.escape(a.path)}(?!\S)", posixpath.relpath(a.path, caller), run, count=1)
    if launcher and a.kind == "python-script" and run.startswith("python "):
        if run.startswith("python -m ") and launcher.split()[-1] == "-m":
            launcher = launcher.rsplit(" ", 1)[0]  # "mpirun -np 8 python -m" runs a module as the entry does
        run = launcher + run[len("python") :]
    if a.kind == "make-target":
        cmd = " ".join([a.run, *args, *env])
    else:
        cmd = " ".join([*env, run, *args]) if a.kind == "shell-script" else " ".join([run, *args])
    if a.workdir and a.workdir != caller:
        if run_dir(a, caller) == caller and not run.startswith("python -m "):
            # no README line says where it runs from: Python puts the script's own folder on sys.path, so from
            # an ancestor folder the caller is in, ``python scripts/x.py`` runs it as ``cd scripts`` would
            rel = posixpath.relpath(a.path, caller or ".")
            return " ".join([launcher or "python", shlex.quote(rel), *a.run.split()[2:], *args])
        # (the cd is from the caller's folder: "cd sem_seg" from tensorflow/, not "cd tensorflow/sem_seg")
        return f"cd {shlex.quote(posixpath.relpath(a.workdir, caller or '.'))} && {cmd}"
    return cmd


def with_keywords(code: str, pairs: Sequence[tuple[Param, str]]) -> str:
    """``code`` with ``name=value`` added to the first call of each pair's ``dest`` (a Python literal: numbers
    and True/False as written, other values quoted)."""
    for p, v in pairs:
        try:
            tree = ast.parse(code)
        except (SyntaxError, ValueError, RecursionError):
            return code
        call = next((n for n in ast.walk(tree) if isinstance(n, ast.Call) and p.dest == (
            n.func.attr if isinstance(n.func, ast.Attribute) else getattr(n.func, "id", ""))), None)
        if call is None or call.end_lineno is None or call.end_col_offset is None:
            continue
        lines = code.splitlines(keepends=True)
        end = sum(len(x) for x in lines[: call.end_lineno - 1]) + call.end_col_offset - 1  # the closing ")"
        lit = v if _NUMBER.fullmatch(v) or v in ("True", "False", "None") else repr(v)
        sep = ", " if call.args or call.keywords else ""
        code = f"{code[:end].rstrip()}{sep}{p.name}={lit}{code[end:]}"
    return code


def render_python(a: Affordance, pairs: Sequence[tuple[Param, str]]) -> str:
    """An import of ``a`` and a call with the bound keyword arguments (literals typed as the task wrote them)."""
    call = a.name.split(".")
    top = a.run.rsplit(" ", 1)[-1] if a.run.startswith("from ") else call[-1]
    expr = ".".join(call[call.index(top) :]) if top in call else call[-1]
    args = []
    for p, v in pairs:
        if p.kind != "kwarg":
            continue
        lit = v if _NUMBER.fullmatch(v) or v in ("True", "False", "None") else repr(v)
        args.append(f"{p.name}={lit}")
    return f"{a.run}\n\nresult = {expr}({', '.join(args)})\nprint(result)\n"


PYTHON_HINT = re.compile(
    r"\b(python (?:code|snippet|function|program|api|package)|in python|notebook"
    r"|write (?:me )?(?:an? )?(?:(?:short|small|simple|quick|tiny|minimal|little) )?python"
    r"|python script that|import |torch\.?\s?hub"
    # "Show me the Python.", "call pytorch-fid directly from Python", "inside my Python script"
    r"|(?:show|give|write|tell)\s+me\s+the\s+python\b|\bfrom\s+python\b(?!\s*\d)"
    r"|\bin(?:side)?\s+(?:a|my|the|your)\s+(?:own\s+)?python\s+(?:script|program|file|session|code)"
    r"|\b(?:instead of|rather than)\s+(?:using\s+)?the\s+(?:cli|command[\s-]line)"
    r"|show me how to (?:load|build|construct|create|instantiate|set up|insert|wrap|call)"
    # "then print whether they match", "Print each face's age": values a program prints ("print training stats
    # every 50 iterations" sets a script's option)
    r"|\bprint\s+(?:out\s+)?(?:the|each|its|their|all|whether|it|them|both|which|what|how|a|an)\b)",
    re.I,
)
#: "Using dalle_pytorch, ...", "With minGPT, ...", "Using the donut package, ...": a task that opens with a package
#: of the repository's API; or names it anywhere ("... in group_photo.jpg with deepface, and ...").
_USING_PACKAGE = re.compile(
    r"^\W*(?:using|with)\s+(?:the\s+)?([A-Za-z][\w.-]*)(?:\s+(?:package|library|module|api))?\s*,", re.I)
_WITH_PACKAGE = re.compile(r"\b(?:using|with|via|from)\s+(?:the\s+)?([A-Za-z][\w-]*)(?:\s+(?:package|library|api))?\b"
                           r"(?![\w./-])(?!\s+(?:command|cli|script|tool|binary|executable|server|demo|app|entry)\b)",
                           re.I)  # ("using the encodec command line" asks for the command)


#: Words that ask for code against an API rather than a command: "call esm_model()", "the fighting-cv library".
#: "class" only beside a code name ("the HaloAttention class"): "Top-k Class Ids" are labels.
_CODE_NAME = r"(?-i:[A-Z][a-z0-9]+[A-Z]\w*|[A-Za-z]\w*_\w+)"
API_HINT = re.compile(
    rf"\b[A-Za-z_]\w*\(\)|\b(?:function|module|library|framework|api)\b|\b{_CODE_NAME}\s+class\b|\bclass\s+{_CODE_NAME}",
    re.I,
)


#: "Run Demucs as a Python module (python3 -m)": a command, whatever "module" says otherwise.
_RUN_AS_MODULE = re.compile(r"\bpython3?\s+-m\b|\bas an?\s+(?:python\s+)?module\b", re.I)


def wants_python(task: str, catalog: Catalog) -> bool:
    """True when the task asks for Python code (says so, calls a name with ``()`` or asks for a function, class,
    module, library or framework of a repository that has a Python API), or the repository offers only an API."""
    if PYTHON_HINT.search(task):
        return True
    api = bool(catalog.of_kind("python-api"))
    if api:
        # a package that is also a command ("python -m pytorch_fid", the pytorch-fid console script) is named by
        # a task for either: "Using pytorch-fid, ..." asks for nothing more
        commands = {_norm(a.name) for a in catalog.of_kind("python-module", "console-script")} | {
            _norm(a.run.split()[-1]) for a in catalog.of_kind("python-script") if a.run.startswith("python -m ")}
        packages = {_norm(a.name.split(".", 1)[0]) for a in catalog.of_kind("python-api")} - commands
        if (m := _USING_PACKAGE.search(task)) is not None and _norm(m.group(1)) in packages:
            return True
        if any(_norm(m.group(1)) in packages and m.group(1) == m.group(1).lower()
               for m in _WITH_PACKAGE.finditer(task)):  # fmt: skip
            return True  # "with deepface": the package as its import is written
    if api and API_HINT.search(task) and not _RUN_AS_MODULE.search(task):
        return True
    return not catalog.of_kind(*RUNNABLE) and api


def _task_values_held(task: str, values: Collection[str]) -> int:
    """How many of the task's numbers, quoted strings, paths and names (``resnet50``) stand among ``values``."""
    taken = {w for v in values for w in v.split()} | set(values)
    taken |= {_norm(v) for v in taken}  # "Citeseer" is held by the choice citeseer it was bound as
    task = plain_numbers(task)
    words, lits = task_literals(task)
    return sum(
        1 for lit in lits
        if (lit.kind != "word" or _namelike(lit.text, _sentence_start(task, words, lit.pos)))
        and (lit.text in taken or lit.kind == "word" and _norm(lit.text) in taken)
    )  # fmt: skip


def _leftovers(task: str, pairs: Sequence[tuple[Param, str]]) -> list[str]:
    """The task's numbers, quoted strings and paths that no option took, in order."""
    taken = set(" ".join(v for _, v in pairs).split()) | {v for _, v in pairs}  # "right ear of cat" whole too
    out = []
    for lit in task_literals(plain_numbers(task))[1]:
        if lit.kind != "word" and lit.text not in taken and lit.text not in out:
            out.append(lit.text)
    return out


def _as_literal(value: str) -> Literal:
    """A value offered to the model, typed as the task's literal would be (number, path, sentence, name)."""
    if _NUMBER.fullmatch(value):
        return Literal(value, "number", 0)
    if "/" in value or _FILE.search(value):
        return Literal(value, "path", 0)
    return Literal(value, "quoted" if " " in value.strip() else "word", 0)


def tool_for(a: Affordance, pairs: Sequence[tuple[Param, str]], values: Sequence[str]) -> tuple[Tool, dict[str, Param]]:
    """``a`` as a tool for the model: its unbound valued options as optional arguments whose values can only be
    ``values`` (the task's unbound literals, or the option's choices among them); and the argument -> option map."""
    bound = {p.name for p, _ in pairs}
    props: dict[str, dict[str, object]] = {}
    names: dict[str, Param] = {}
    if values:
        for p in a.params:
            if p.name in bound or p.is_flag or p.kind in ("literal", "config-key") \
                    or p.kind == "kwarg" and p.name.startswith("**"):  # (hundreds of config keys: binding's only)
                continue
            allowed = [v for v in values if not p.choices or v in p.choices]
            allowed = [v for v in allowed if _fits(p, _as_literal(v))]
            key = tool_name(p.dest or p.name)
            if allowed and key not in props:
                props[key] = {"type": "string", "enum": allowed, "description": p.help[:80]}
                names[key] = p
    about = f"example: {a.summary or a.name}" if a.kind == EXAMPLE else f"{a.run}: {a.summary or a.path}"
    tool = Tool(tool_name(a.id)[:60], about[:200], {"type": "object", "properties": props})
    return tool, names


def ask_model(
    generator: object, task: str, ranked: Sequence[tuple[float, Affordance, list[tuple[Param, str]], list[str]]],
    *, fill: bool = True,
) -> tuple[int, list[tuple[Param, str]]] | None:  # fmt: skip
    """The model's pick among ``ranked`` (index) and the values it gives options the binder left open.

    The candidates are tools (``generation.structured``): with llama-cpp the answer is constrained by a grammar,
    on OpenAI-compatible servers it is a function call, elsewhere parsed JSON; every route is validated, so the
    tool is one of the candidates, the options are its own and every value is one of the task's unbound
    literals. None when the model gives no usable answer or fails.
    """
    from .base import DecodeParams

    tools, maps = [], []
    for _, a, pairs, _ in ranked:
        tool, names = tool_for(a, pairs, _leftovers(task, pairs) if fill else [])
        tools.append(tool)
        maps.append(names)
    listing = "\n".join(f"- {t.name}: {t.description}" for t in tools)
    messages = [
        {
            "role": "system",
            "content": "You pick which of a repository's commands does a task, and give the task's values to the "
            "command's options. Use only values the task states.",
        },
        {"role": "user", "content": f"Task: {task}\n\nCommands:\n{listing}"},
    ]
    try:
        call = call_tool(generator, messages, tools, DecodeParams(max_new_tokens=96))
    except Exception as e:  # noqa: BLE001 - the model is advisory: any failure falls back to the best score
        log.debug("structured choice failed: %s", e)
        return None
    if call is None:
        return None
    pick = next(i for i, t in enumerate(tools) if t.name == call.name)
    extra = [(maps[pick][k], str(v)) for k, v in call.arguments.items() if k in maps[pick]]
    seen: set[str] = set()
    unique = []
    for p, v in extra:  # one option per value: the first the model named
        if v not in seen:
            seen.add(v)
            unique.append((p, v))
    return pick, unique


def synthesize(
    task: str, catalog: Catalog, hits: Sequence[Hit] = (), *, generator: object = None, workdir: str = "",
    output_type: str | None = None, margin: float = 1.0, model_binding: bool = True, usage: bool = False,
) -> Binding | None:  # fmt: skip
    """Choose an entry of ``catalog`` for ``task`` and bind the task's values to it; None when nothing fits.

    The best-scored entry wins when it leads the next by ``margin`` or more; otherwise ``generator`` (when
    given and not the echo double) picks among the entries within the margin. With ``model_binding`` the model
    is also asked when the task has values no option took, and may give them to the entry's open options
    (``ask_model``: only the task's own values, only the entry's own options). With ``usage`` the options that
    the documented command that fits the task best sets and the task left open keep that command's values
    (``templates.template_values``); without it, only the required options that the task gives no value for
    take them.
    """
    python = output_type == "python" or (output_type is None and wants_python(task, catalog))
    launcher = ""
    ids: list[str] = []
    no_ids = task
    if not python:  # "with 4 GPUs using torchrun": the launcher's words are no script option's values
        launcher, task = launcher_of(task)
        ids, no_ids = device_ids(task)  # "on GPU 1": the entry's device option, else CUDA_VISIBLE_DEVICES
    kinds = (EXAMPLE, "python-api") if python else RUNNABLE
    known = known_names(catalog)  # once per task: each ranking below binds every candidate
    ranked = rank_candidates(task, catalog, hits, kinds=kinds, workdir=workdir, known=known)
    if output_type is None and not python and catalog.of_kind(EXAMPLE):
        # no word asks for Python, yet the documentation may answer the task with an example that beats every
        # command ("### Image Captioning" and its code block): the better-scored kind wins, unless the command
        # takes more of the task's own values (numbers, paths, quoted strings) than the example can hold — a
        # task that sets a temperature and a sample count is asking for the script that has those options
        shown = rank_candidates(task, catalog, hits, kinds=(EXAMPLE,), workdir=workdir, known=known)
        if shown and (not ranked or shown[0][0] > ranked[0][0] + margin):
            held = example_values(task, shown[0][1], catalog)[3]
            if not ranked or _task_values_held(task, held) >= _task_values_held(task, [v for _, v in ranked[0][2]]):
                ranked = shown
    if not ranked and python:
        ranked = rank_candidates(task, catalog, hits, kinds=RUNNABLE, workdir=workdir, known=known)
    if not ranked or ranked[0][0] <= 0:
        return None
    pick = 0
    close = [r for r in ranked if ranked[0][0] - r[0] < margin][:4]
    model = generator is not None and getattr(generator, "id", "") != "echo"
    extra: list[tuple[Param, str]] = []
    leftover = model_binding and close[0][1].kind != EXAMPLE and _leftovers(task, close[0][2])
    if model and (len(close) > 1 or leftover):
        got = ask_model(generator, task, close, fill=model_binding)
        if got is not None:
            pick, extra = got
    score, a, pairs, warns = ranked[pick]
    env: tuple[tuple[str, str], ...] = ()
    if ids and a.kind in RUNNABLE:
        # the entry is chosen on the whole task ("GPUs 0 and 1" says train.py --gpus); its values are bound without
        # the ids, which then go to its device option in its form, else to CUDA_VISIBLE_DEVICES
        task = no_ids
        pairs, warns, _ = bind(task, a, known)
        dev = device_option(a)
        value = device_value(dev, ids) if dev is not None else None
        if dev is not None and value is not None:
            pairs = [(p, v) for p, v in pairs if p.name != dev.name] + [(dev, value)]
        else:
            env = (("CUDA_VISIBLE_DEVICES", ",".join(ids)),)
    elif a.kind in RUNNABLE and ON_CPU.search(task) and (dev := device_option(a)) is not None \
            and (cpu := "-1" if CPU_ID.search(dev.help) else "cpu" if "device" in _split(dev.dest or dev.name)
                 and re.search(r"\bcpu\b|\bcuda\b", f"{dev.default} {dev.help}", re.I) else ""):  # fmt: skip
        # "GPU ID, -1 for CPU" takes -1; --device (default "cuda") takes cpu
        pairs = [(p, v) for p, v in pairs if p.name != dev.name and v.lower() != "cpu"] + [(dev, cpu)]
    if extra:
        given = {v for _, v in extra}
        warns = [w for w in warns if not any(w.startswith(f"'{v}' fits no option") for v in given)]
        pairs = [*pairs, *extra]
    # the documented command that fits the task best writes what the task leaves open (without ``usage``: only
    # the required options; a required option still needs a value)
    template = best_template(task, a, pairs, hits) if a.kind in ("python-script", "shell-script") else None
    written = template_values(task, a, pairs, hits, _leftovers(task, pairs), inherit=usage, best=template)
    if written != pairs:
        given = {v for _, v in written}
        filled = {p.name for p, _ in written}
        warns = [w for w in warns if not any(w.startswith(f"{n} is required by ") for n in filled)
                 and not any(w.startswith(f"'{v}' fits no option") for v in given)]  # fmt: skip
        pairs = written
    # "Without training again": the documented command's --do_train is not for this task
    pairs = [(p, v) for p, v in pairs if not (p.is_flag and negated_flag(p, task))]
    if ON_CPU.search(task):  # "no GPU on this laptop": the documented command's -gpu / --cuda is not for it
        pairs = [(p, v) for p, v in pairs if not ((p.is_flag or bool_valued(p)) and param_words(p) & {"gpu", "cuda"}
                                                  and not set(_split(p.name)) & {"no", "disable", "cpu"})]
    if a.kind in RUNNABLE and a.framework != "hydra":
        named = dict(config_value(task, a, pairs, catalog, workdir))  # may replace the option's value
        pairs = [(p, named.pop(p, v)) for p, v in pairs] + list(named.items())
    if not launcher and a.kind == "python-script":
        launcher, taken = documented_launcher(task, a, hits, template[0] if template and usage else None)
        pairs = [(p, v) for p, v in pairs if v not in taken]  # "on 8 GPUs, master port 12345" set the launcher
    pairs = documented_spellings(a, pairs, hits)
    return Binding(a, tuple(pairs), tuple(warns), score, tuple(r[1].id for r in ranked),
                   launcher if a.kind == "python-script" else "", env)  # fmt: skip


_CONFIG_WORDS = frozenset({"config", "cfg", "conf", "configuration"})
_CONFIG_SAID = _CONFIG_WORDS | {"preset", "recipe", "setup", "settings"}
_GENERIC_STEMS = frozenset({"config", "configs", "cfg", "default", "base", "train", "test", "file", "model", "run"})


def run_dir(a: Affordance, caller: str = "") -> str:
    """The folder ``render_bash`` runs ``a`` from, for the caller's ``workdir``."""
    caller = caller.strip("/").removeprefix("./")
    below = not caller or a.workdir.startswith(caller + "/")
    if not a.workdir or a.workdir == caller or a.kind == "python-script" and not a.invoked_by and below:
        return caller
    return a.workdir


def config_value(
    task: str, a: Affordance, pairs: Sequence[tuple[Param, str]], catalog: Catalog, caller: str = ""
) -> list[tuple[Param, str]]:
    """The repository's config file the task names ("the flower scene" -> ``configs/flower.txt``) for the open
    ``--config``-like option of ``a``, as a path from where the command runs; [] when the task names none or
    several equally. A file is named when its stem is a task word or two or three task words run together;
    files in the folder of the option's default, then files whose folders the task also names, come first. Else
    the pieces of its name may name it (``_config_by_pieces``), and then they may also replace the README
    example's config that the documented command wrote."""
    files = [f for c in catalog.of_kind("config-files") for f in c.values]
    # an option given one of the repository's own config files (the README example's) is still open to the config
    # the task names
    given = {p.name: v for p, v in pairs}
    open_ = [p for p in a.params if not p.is_flag and not p.choices and p.kind in ("option", "positional")
             and param_words(p) & _CONFIG_WORDS and takes_path(p)]  # fmt: skip
    opts = [p for p in open_ if p.name not in given]
    if not opts and len(open_) == 1 and files:
        v = given[open_[0].name]
        cur = posixpath.normpath(posixpath.join(run_dir(a, caller) or ".", v))
        if cur in files:  # the README example's: the task's own value stays
            named = _config_by_pieces(task, files, cur)
            if named and named != cur:
                rel = posixpath.relpath(named, run_dir(a, caller) or ".")
                return [(open_[0], rel)]
        return []
    if len(opts) != 1 or not files:
        return []
    words = words_of(plain_numbers(task))
    grams = {_norm("".join(words[i : i + n])) for n in (1, 2, 3) for i in range(len(words) - n + 1)}
    stems = {_stem(w) for w in words}
    home = posixpath.dirname(opts[0].default or "")
    lower = [w.lower() for w in words]
    scored = []
    for f in files:
        base = posixpath.splitext(posixpath.basename(f))[0]
        stem = _norm(base)
        if len(stem) < 3 or stem in _GENERIC_STEMS:
            continue
        if stem in grams:
            level = 2.0
        elif not stems & _CONFIG_SAID:
            continue  # a file named only by its parts needs a task that asks for a config
        else:
            # every telling part of the name said: "the character-level Shakespeare config" for
            # train_shakespeare_char.py, "the GPT-2 reproduction config" for train_gpt2.py
            parts = [w for w in re.split(r"[^A-Za-z0-9]+", base.lower()) if w]
            telling = [w for w in parts if w not in _GENERIC_STEMS and len(w) >= 2]
            if not telling or not all(w in grams or any(t.startswith(w) for t in lower if len(w) >= 3)
                                      for w in telling):  # fmt: skip
                continue
            level = 1.0 + len(telling) / 100  # more parts said, a closer name
        folder = sum(1 for w in _split(posixpath.dirname(f)) if _stem(w) in stems and w not in _CONFIG_WORDS)
        scored.append((level, home != "" and posixpath.dirname(f).endswith(home), folder, -f.count("/"), f))
    if not scored:
        named = _config_by_pieces(task, files)
        return [(opts[0], posixpath.relpath(named, run_dir(a, caller) or "."))] if named else []
    scored.sort(reverse=True)
    if len(scored) > 1 and scored[0][:4] == scored[1][:4]:
        return []  # configs/a/flower.yaml and configs/b/flower.yaml: the task does not say which
    return [(opts[0], posixpath.relpath(scored[0][4], run_dir(a, caller) or "."))]


def _name_pieces(text: str) -> list[str]:
    """Letter and digit runs, lower-cased: ``ade20k-resnet101-upernet`` -> ade, 20, k, resnet, 101, upernet."""
    return [x.lower() for x in _pieces(text, decimals=False)[0]]


#: How far a config file must lead the next before the task is taken to name it by the pieces of its name.
CONFIG_LEAD = 1.0


def _config_by_pieces(task: str, files: Sequence[str], current: str = "") -> str:
    """The config file whose name's pieces the task says most ("UPerNet-101 ADE20K" for
    ``config/ade20k-resnet101-upernet.yaml``, "RetinaNet R50-FPN 1x" for ``retinanet_R_50_FPN_1x.yaml``), when
    it says three telling pieces or more (two in a task that asks for a config) and leads every other file (and
    ``current``, the value the command has) by ``CONFIG_LEAD``; else "". Pieces of the file's folders count
    half; letters alone a third; a piece the task does not say costs a tenth (the closer name wins among
    siblings). Hand-written: a ranking over the repository's own file names, which no retrieval library gives
    at this grain."""
    said = set(_name_pieces(task))
    words = [w.lower() for w in re.findall(r"[A-Za-z]+", task)]
    joined = {a + b for a, b in zip(words, words[1:])}  # "deep supervision" says deepsup

    def says(piece: str) -> bool:
        return piece in said or len(piece) >= 4 and any(j.startswith(piece) for j in joined)

    def score(f: str) -> float:
        stem = posixpath.splitext(posixpath.basename(f))[0]
        got = 0.0
        telling = 0
        for piece in _name_pieces(stem):
            if says(piece):
                got += 1.0 if len(piece) > 1 else 0.34
                telling += len(piece) > 1
            else:
                got -= 0.1
        got += 0.5 * sum(1 for piece in set(_name_pieces(posixpath.dirname(f))) if len(piece) > 1 and says(piece))
        return got if telling >= need else 0.0

    need = 2 if {_stem(w) for w in words} & _CONFIG_SAID else 3  # "the vitl16 run" names no config

    ranked = sorted(((score(f), f) for f in files), reverse=True)
    if not ranked or ranked[0][0] <= 0:
        return ""
    rival = max(ranked[1][0] if len(ranked) > 1 else 0.0, score(current) if current else 0.0)
    return ranked[0][1] if ranked[0][0] - rival >= CONFIG_LEAD else ""


def render(binding: Binding, workdir: str = "") -> tuple[str, str]:
    """(code, output type) for a binding."""
    a = binding.affordance
    if a.kind == EXAMPLE:
        code = fill_slots(a.run, [(p.position or 0, v) for p, v in binding.values if p.kind == "literal"])
        return with_keywords(code, [(p, v) for p, v in binding.values if p.kind == "kwarg" and p.dest]), "python"
    if a.kind == "python-api":
        return render_python(a, binding.values), "python"
    code = render_bash(a, binding.values, workdir, binding.launcher)
    if binding.env:
        prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in binding.env)
        cd = re.match(r"cd \S+ && ", code)
        code = f"{cd.group(0)}{prefix} {code[cd.end():]}" if cd else f"{prefix} {code}"
    return code, "bash"
