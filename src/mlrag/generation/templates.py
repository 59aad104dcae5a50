"""Documented commands as templates: a task's command is written from the repository's own example that fits it.

A repository's README (or shell recipe) often runs a script once per model, scale or dataset
(``python main_test_swinir.py --task gray_dn --noise 50 --model_path .../SwinIR-M_noise50.pth --folder_gt
testsets/Set12``). A user's task restates a few of those values and leaves the rest to "the way the README does
it". So after binding the task's own values, the options the task left open take the values of the documented
command that agrees best with the task:

* **candidates**: the commands of the catalog entry (``Affordance.usage``: every documentation line that runs
  it, inline code included) and those of the retrieved context;
* **fit**: an option the line sets to the value the task gives it counts most ("Set5" also says
  ``testsets/Set5/HR``); then each of the line's value words the task says (``Set12``, ``classical``, ``x3``); a
  line the retrieved context shows wins a tie;
* **inherit**: the open options of the best line that say *which* documented use the task is (files, names,
  modes, flags), and its numbers too when the line is a recipe (it sets ``RECIPE_OPTIONS`` options or more: a
  short example's ``--epochs 10`` is no setting the task asked for); never placeholders (``$DATA``,
  ``<path>``, ``/path/to``); a value the task replaced is replaced inside the inherited values too
  (``noise15.pth`` becomes ``noise50.pth`` when the task says noise 50 and no line has it); a task value that
  only names the line's value becomes it ("Set5" -> ``testsets/Set5/HR``); the task's files that no option took go
  where the line has a file of the same kind (``zidane.jpg`` where it shows ``bus.jpg``).

Only options the entry really has are ever taken, so a template never adds an invented option.

Why by hand: no library edits a shell command by a task; parsing uses ``shlex`` and ``commands.split_commands``.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from ..catalog.base import Affordance, Param
from ..commands import invocation, runs_file, split_commands, strip_prefixes
from ..types import Hit

#: Values that stand for the user's own (never copied into a command).
PLACEHOLDER = re.compile(
    r"[$<>{}]|^\[[^\],]*\]$|^\[[^\]]*$|^[^\[]*\]$|/path/to|\bpath[/_]to\b|\byour[_-]|\.\.\.|^x+$", re.I
)  # $DATA, <name>, {x}, [weightfile] (and its pieces; [q_proj,v_proj] is a list), /path/to/x, path_to_x, ...
_PARTS = re.compile(r"[A-Za-z0-9]+")


@dataclass(frozen=True)
class Usage:
    """One documented command that runs an entry: what stands before the script (launcher), its arguments, and
    whether the retrieved context shows it."""

    head: tuple[str, ...]
    args: tuple[str, ...]
    retrieved: bool = False


def _running(text: str, path: str) -> list[tuple[list[str], list[str]]]:
    """(head, args) of the simple commands of ``text`` that run the file ``path`` (by its name, or as a module:
    ``commands.runs_file``); prefixes dropped."""
    try:
        commands = split_commands(text)
    except ValueError:
        return []
    out = []
    for cmd in commands:
        inv = invocation(cmd)
        if inv is not None and runs_file(inv, path):
            _, toks = strip_prefixes(cmd)
            out.append((toks[: len(toks) - len(inv.args) - 1], list(inv.args)))
    return out


def documented_commands(a: Affordance, hits: Sequence[Hit] = (), catalog: bool = True) -> list[Usage]:
    """The commands that run ``a``: the retrieved context's first (in hit order), then (with ``catalog``) the
    catalog's (in file order), each once."""
    base = posixpath.basename(a.path)
    seen: dict[tuple[tuple[str, ...], tuple[str, ...]], bool] = {}
    for h in hits[:8]:
        if base in h.text or "-m " in h.text:
            for head, args in _running(h.text, a.path):
                seen.setdefault((tuple(head), tuple(args)), True)
    for line in a.usage if catalog else ():
        if a.kind == "console-script":  # "stylegan2_pytorch --data x": the command itself, no file
            try:
                toks = [c for c in split_commands(line) if c and c[0] == a.run.split()[0]]
            except ValueError:
                toks = []
            for cmd in toks:
                seen.setdefault(((), tuple(cmd[1:])), False)
            continue
        for head, args in _running(line, a.path):
            seen.setdefault((tuple(head), tuple(args)), False)
    return [Usage(head, args, retrieved) for (head, args), retrieved in seen.items()]


def line_options(a: Affordance, args: Sequence[str]) -> list[tuple[Param, str]]:
    """The options of ``a`` that ``args`` sets, with their values (``""`` for a flag; a ``nargs`` list joined by
    spaces), in the line's order; spellings ``a`` lacks are skipped, placeholders are kept (``PLACEHOLDER``)."""
    by_spelling = {sp: p for p in a.params if p.kind == "option" for sp in p.spellings if sp.startswith("-")}
    got: list[tuple[Param, str]] = []
    toks = list(args)
    i = 0
    while i < len(toks):
        name, eq, value = toks[i].partition("=")
        i += 1
        p = by_spelling.get(name)
        if p is None or any(q is p for q, _ in got):
            continue
        if not p.is_flag and not eq:
            if i >= len(toks) or toks[i].startswith("-"):
                continue
            value = toks[i]
            i += 1
            while p.nargs in ("+", "*") and i < len(toks) and not toks[i].startswith(("-", "[-")):
                value += " " + toks[i]  # --include mean per_tok (not "[--other-options]", the usage's rest)
                i += 1
        got.append((p, "" if p.is_flag else value))
    return got


def _key(value: str) -> str:
    return value.strip().strip("'\"").lower()


def names_value(given: str, documented: str) -> bool:
    """Whether a task's value for an option says the documented value: the same value, or a name of three
    characters or more that is a whole part of it ("Set5" for ``testsets/Set5/HR``)."""
    g, d = _key(given), _key(documented)
    if g == d:
        return True
    return len(g) >= 3 and "/" not in g and g in {x.lower() for x in re.split(r"[/\\]", d)} | set(_PARTS.findall(d))


def fit(task_words: AbstractSet[str], bound: dict[str, str], line: Sequence[tuple[Param, str]],
        retrieved: bool) -> float:  # fmt: skip
    """How well a documented command agrees with a task (``task_words``: its lower-cased words; ``bound``: option
    name -> the value the task gave it)."""
    score = 0.0
    said: set[str] = set()
    for p, v in line:
        if p.name in bound:
            score += 2.0 if names_value(bound[p.name], v) else 0.0
        for part in _PARTS.findall(v.lower()):
            if part in task_words and part not in said and (len(part) >= 3 or not part.isalpha()):
                said.add(part)  # "Set12", "classic5", "gray" of gray_dn: the line is about what the task says
                score += 1.0
    return score + (0.5 if retrieved else 0.0)


def _replaced(value: str, swaps: Sequence[tuple[str, str]]) -> str:
    for old, new in swaps:
        edge = r"(?<!\d){}(?!\d)" if old.isdigit() else r"(?<![A-Za-z0-9]){}(?![A-Za-z0-9])"
        value = re.sub(edge.format(re.escape(old)), new.replace("\\", "\\\\"), value, flags=re.I)
    return value


def _swappable(old: str, new: str) -> bool:
    """Whether a value the task replaced is also replaced inside the template's other values: a number of two
    digits or more (``noise15``), or a name of three characters or more with a letter (``facades_pix2pix``)."""
    if old.lower() == new.lower() or not new or any(c in new for c in " '\"$"):
        return False
    if old.isdigit():
        return len(old) >= 2 and new.replace(".", "", 1).isdigit()
    return len(old) >= 3 and bool(re.search(r"[A-Za-z]", old)) and bool(re.fullmatch(r"[\w.-]+", old))


def best_template(task: str, a: Affordance, pairs: Sequence[tuple[Param, str]], hits: Sequence[Hit] = ()
                  ) -> "Template | None":  # fmt: skip
    """The documented command of ``a`` that agrees best with the task and its bound ``pairs``: (command, the
    options it sets, fit); None when no documentation line runs ``a``."""
    commands = documented_commands(a, hits)
    if not commands:
        return None
    words = {w.lower() for w in _PARTS.findall(task)}
    bound = {p.name: v for p, v in pairs}
    best = None
    for u in commands:
        line = line_options(a, u.args)
        s = fit(words, bound, line, u.retrieved)
        if best is None or s > best[2]:
            best = (u, line, s)
    return best


_FILE_EXT = re.compile(r"\.([A-Za-z][\w]{0,5})$")


def file_suffix(value: str) -> str:
    """The file extension ``value`` ends with, lower-cased (``"x/y.PTH"`` -> ``pth``); ``""`` when none."""
    m = _FILE_EXT.search(value)
    return m.group(1).lower() if m else ""


_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def _inherited(value: str) -> bool:
    """Whether a documented value of a short example is taken over when the task leaves its option open: files,
    names, modes and flags say *which* documented use the task is; its numbers (epochs, rates) are the task's to
    state, else the script's defaults stand (a README's ``--epochs 10`` is no part of "train on ESC-50 with
    mixup"). A recipe's numbers are taken too (``RECIPE_OPTIONS``)."""
    return not value or not all(_NUMBER.fullmatch(x) for x in value.split())


def _same_shape(value: str, documented: str, same_kind: Callable[[str, str], bool]) -> bool:
    """Whether a task's value is of the kind the documented value shows: a file of the same kind, a folder for a
    folder (a path with no file suffix)."""
    a, b = file_suffix(value), file_suffix(documented)
    if a or b:
        return bool(a and b and same_kind(a, b))
    return "/" in value and "/" in documented


def value_shape(value: str) -> str:
    """The coarse kind of a value: ``number``, ``path`` (a folder, file or hub id: ``a/b``, ``x.pth``) or
    ``text``; ``""`` for a placeholder that hides its kind (``$DATA``, ``<name>``)."""
    v = value.strip("'\"")
    if not v or PLACEHOLDER.search(v) and not ("/" in v or file_suffix(v.rstrip("]>}"))):
        return ""  # [weightfile], <name>, $DATA hide their kind; /path/to/data and [model.pth] do not
    if all(_NUMBER.fullmatch(x) for x in v.replace(",", " ").split()):
        return "number"
    if "/" in v or file_suffix(v.strip("[]<>{}")) or v.startswith(("~", ".")):
        return "path"
    return "text"


def documented_values(a: Affordance) -> dict[str, tuple[str, ...]]:
    """For each option of ``a`` that its documented commands give a value: those values, in file order, once
    each (placeholders included: ``documented_shapes`` reads their kind)."""
    values: dict[str, dict[str, None]] = {}
    for line in a.usage:
        for _, args in _running(line, a.path):
            for p, v in line_options(a, args):
                if v:
                    values.setdefault(p.name, {})[v] = None
    return {k: tuple(v) for k, v in values.items()}


def documented_shapes(a: Affordance, values: dict[str, tuple[str, ...]] | None = None) -> dict[str, frozenset[str]]:
    """For each option of ``a`` that its documented commands give a value: the kinds of those values
    (``value_shape``; ``/path/to/x`` placeholders count as paths). ``values``: ``documented_values(a)`` when the
    caller has it."""
    values = documented_values(a) if values is None else values
    shapes = {k: frozenset(s for v in vs if (s := value_shape(v))) for k, vs in values.items()}
    return {k: v for k, v in shapes.items() if v}


#: The fit (without the retrieval bonus) that one of several documented commands needs before it writes what the
#: task left open: one of its values the task says (2 for an option set to the task's value). A task that points
#: at none of them is written as it says; a script documented by one command is always run the way it shows.
MIN_FIT = 1.0


#: Options a documented command sets from which it is a *recipe* (the settings of a documented run), whose numbers
#: a task that follows it takes too (the README's ``--lr 1e-4 --batch_size 128 --num_channels 128``); a shorter
#: example's numbers (``python train.py --dataset esc50 --epochs 10``) only demonstrate. Chosen on rows: 1 to 4 tie
#: on DEV (leave-one-repository-out) and on four unseen sets, 5 loses arg-hit rows on DEV and 6 strict rows on an
#: unseen set; of the tied values, 3 keeps the short examples' numbers out (BENCHMARKS.md, "Recipes, ...").
RECIPE_OPTIONS = 3

Template = tuple[Usage, list[tuple[Param, str]], float]


def template_values(task: str, a: Affordance, pairs: Sequence[tuple[Param, str]], hits: Sequence[Hit] = (),
                    leftovers: Sequence[str] = (), *, inherit: bool = True,
                    best: Template | None = None) -> list[tuple[Param, str]]:  # fmt: skip
    """``pairs`` written from the documented command that fits the task best (``best_template``).

    With ``inherit``: a value of the task that only names the command's value becomes that value ("Set5" ->
    ``testsets/Set5/HR``); the options the command sets and the task left open follow, with its values, the
    values the task replaced being replaced inside them too (``noise15.pth`` -> ``noise50.pth``), and the task's
    ``leftovers`` (values no option took) go where the command has a value of the same kind (``zidane.jpg``
    where it shows ``bus.jpg``). Without it, or when the best of several commands fits less than ``MIN_FIT`` (the
    task points at none), only the required options the task left open are added.
    Placeholders (``$DATA``, ``<path>``, ``/path/to``) are never taken; ``pairs`` unchanged when no line runs ``a``.
    ``best``: the template when the caller has it already.
    """
    if a.kind not in ("python-script", "shell-script"):
        return list(pairs)
    best = best or best_template(task, a, pairs, hits)
    if best is None:
        return list(pairs)
    u, line, score = best
    if inherit and len(a.usage) > 1 and score - (0.5 if u.retrieved else 0.0) < MIN_FIT:
        inherit = False  # of several documented commands the task points at none: it is written as it says
    bound = {p.name: v for p, v in pairs}
    if not inherit:
        return [*pairs, *((p, v) for p, v in line if p.name not in bound and p.required and p.default is None
                          and not (v and PLACEHOLDER.search(v)))]  # fmt: skip
    from .synthesis import same_kind, takes_path  # binding's vocabulary (a module-level import is circular)

    documented = {q.name: v for q, v in line if not PLACEHOLDER.search(v)}
    out: list[tuple[Param, str]] = []
    for p, v in pairs:
        doc = documented.get(p.name)
        if doc is not None and names_value(v, doc):
            out.append((p, doc))  # "Set5" -> testsets/Set5/HR
            continue
        if doc is not None and not _NUMBER.fullmatch(v):
            # the line shows this option takes another kind of value, and the value is one of another open
            # option of the line ("Kodak24" bound to --mode where the line has --input_dir data/Kodak24): it
            # goes there, and this option keeps the line's value
            q = next((q for q, w in line if q.name not in bound and q.name in documented and not any(
                r is q for r, _ in out) and (names_value(v, w) or _same_shape(v, w, same_kind))
                and not _same_shape(v, doc, same_kind)), None)  # fmt: skip
            if q is not None:
                out.append((q, documented[q.name] if names_value(v, documented[q.name]) else v))
                bound.pop(p.name)
                bound[q.name] = v
                continue
        out.append((p, v))
    swaps = [(old, new) for p, v in line if p.name in bound
             for old, new in [(v.strip("'\""), bound[p.name].strip("'\""))] if _swappable(old, new)]  # fmt: skip
    left = [x for x in leftovers if value_shape(x) == "path"]
    recipe = len(line) >= RECIPE_OPTIONS
    for p, v in line:
        if p.name in bound or any(q is p for q, _ in out):
            continue
        # the task's own file or folder of the kind the line shows (a /path/to/data placeholder shows one too;
        # a $BLENDER_DIR one for an option whose name says it takes a path)
        same = next((x for x in left if v and (_same_shape(x, v, same_kind) or not value_shape(v)
                                               and PLACEHOLDER.search(v) and takes_path(p))), None)  # fmt: skip
        if same is not None:
            left.remove(same)
            out.append((p, same))
        elif not (v and PLACEHOLDER.search(v)) and (recipe or _inherited(v)):
            # a number of its own stays (a task's "batch size 64" for 128 is no --num_channels 64)
            out.append((p, _replaced(v, swaps) if v and not _NUMBER.fullmatch(v) else v))
    return out
