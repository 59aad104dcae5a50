"""Path prior: files whose folder or file names the task names.

ML repositories are organised by model and task: ``implementations/lsgan/lsgan.py``,
``examples/pytorch/arma/citation.py``, ``GroundingDINO/demo/...``. A task that says "Least Squares GAN" or "the
grounding dino demo" names such a folder, often only as an acronym or a compound the text never spells out, and
neither BM25 over chunk text nor MiniLM bridges "Least Squares GAN" -> ``lsgan``. ``PathIndex`` scores each file
by the path names the query matches:

- a file's *names* are the code tokens of its folders and file stem (``wgan_gp`` -> ``wgan_gp wgan gp``,
  ``GroundingDINO`` -> ``groundingdino grounding dino``); the extension and stems such as ``README`` or
  ``__init__`` carry no meaning and are left out;
- the query's names are the words it writes as names (``ARMA``, ``ResNet50``, ``wgan_gp``: capitals inside or
  throughout, digits, underscores; plain English words such as "code" or "demo" name folders by accident) plus
  the compounds and acronyms of runs of two to four of its words
  (``Least Squares GAN`` -> ``lsgan``; ``grounding dino`` -> ``groundingdino``; acronyms only of runs whose
  words all start with a capital, as names do); a compound or acronym counts
  only when some path of the repository has it as a name, so the query never grows by words the repository does
  not use, and it replaces the words it was made of ("Least Squares GAN" names ``lsgan``, not also every folder
  called ``gan``);
- a file's score is the sum, over the names it shares with the query, of ``log(N / df)`` where ``df`` is the
  number of the tree's nodes (folders and files, each once) whose own name has it and ``N`` the number of
  nodes; names that more than ``MAX_DF_SHARE`` of the nodes have are ignored.

The searcher turns the scores into one more ranking for reciprocal-rank fusion: the units of the matching files,
best file first (see ``Searcher.rank``). Hand-written because no retrieval library scores paths against
acronyms; it is a few set operations per query.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Sequence

from .tokenize import code_tokens

MAX_DF_SHARE = 0.25  # a name on more of the tree's nodes than this share says nothing about which is meant
_QWORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_QWORD_HYPHEN = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*")
_NAMEISH = re.compile(r"[A-Za-z0-9][\w./-]*[A-Za-z0-9]")
_IGNORED_STEMS = frozenset({"readme", "index", "__init__", "main", "init"})


def path_names(path: str) -> set[str]:
    """The names a file's path gives it: folder and file-stem tokens, whole and split, unstemmed.

    Example:
        >>> sorted(path_names("implementations/wgan_gp/wgan_gp.py"))
        ['gp', 'implementations', 'wgan', 'wgan_gp']
    """
    parts = path.split("/")
    stem = parts[-1].rsplit(".", 1)[0] if "." in parts[-1] else parts[-1]
    names: set[str] = set()
    for part in [*parts[:-1], stem]:
        if not part or part.lower() in _IGNORED_STEMS:
            continue
        names.update(code_tokens(part, stem=False))
        names.add(part.lower())
    return {n.lstrip("-") for n in names if len(n) > 1 and not n.isdigit()}


def query_names(query: str, vocabulary: set[str]) -> set[str]:
    """The query's words plus the compounds and acronyms of its word runs that ``vocabulary`` has.

    Runs are read twice, with hyphenated words split (``Energy-Based GAN`` -> ``ebgan``) and whole
    (``Boundary-Seeking GAN`` -> ``bgan``). Matches are taken widest run first, and a match replaces the words of
    its run, so ``Least Squares GAN`` names ``lsgan`` and not also ``sgan`` or ``gan``.

    Example:
        >>> sorted(query_names("train a Least Squares GAN on MNIST", {"lsgan", "sgan", "gan", "train"}))
        ['lsgan', 'mnist']
    """
    found: list[tuple[int, int, int, str]] = []  # (start, end, preference, form); start/end in query chars
    for pattern in (_QWORD, _QWORD_HYPHEN):
        words = [(m.start(), m.end(), m.group().lower().replace("-", "")) for m in pattern.finditer(query)]
        for size in (2, 3, 4):
            for i in range(len(words) - size + 1):
                run = words[i : i + size]
                texts = [w for _, _, w in run]
                initials = "".join(w[0] for w in texts)
                # most telling first: acronym + last word (lsgan), compound (groundingdino), bare acronym, and
                # for two words a prefix of the first (cogan from "Coupled GAN")
                forms = ["".join(texts)]
                if all(query[a].isupper() for a, _, _ in run):  # acronyms only of a Title Case Name
                    forms = [initials[:-1] + texts[-1], *forms, initials]
                    if size == 2:
                        forms += [texts[0][:k] + texts[1] for k in (2, 3)]
                for rank, form in enumerate(forms):
                    if form in vocabulary and form not in texts:
                        found.append((run[0][0], run[-1][1], rank, form))
    names: set[str] = set()
    taken: list[tuple[int, int]] = []
    for a, b, _, form in sorted(found, key=lambda f: (f[0] - f[1], f[2])):
        if (a, b) in taken:  # another reading of the chosen run ("Coupled GAN": cgan and cogan): the text decides
            names.add(form)
        elif all(b <= x or a >= y for x, y in taken):
            names.add(form)
            taken.append((a, b))
    for m in _NAMEISH.finditer(query):
        word = m.group()
        if "/" in word or "." in word:  # a file of the user's (image.jpg, ./data/x) names nothing in the repo
            continue
        if _code_like(word) and all(m.end() <= x or m.start() >= y for x, y in taken):
            names.update(_parts(word))
    return names


def _parts(word: str) -> set[str]:
    """``word`` lower-cased, whole and split; split parts shorter than 3 letters (``ETTm1`` -> ``tm``) dropped."""
    whole = word.lower()
    return {whole} | {p for p in code_tokens(word, stem=False) if p == whole or len(p) >= 3}


def _code_like(word: str) -> bool:
    """A word written as a name (``ARMA``, ``ResNet50``, ``wgan_gp``, ``esm1b``), not as plain English: plain
    words ("code", "data", "demo") name folders by accident far more often than on purpose."""
    core = word.strip("-_")
    return (
        any(c.isdigit() for c in core)
        or "_" in core
        or (len(core) >= 2 and core.isupper())
        or any(a.islower() and b.isupper() for a, b in zip(core, core[1:]))
    )


class PathIndex:
    """File paths scored by the names a query shares with them."""

    def __init__(self, paths: Sequence[str]) -> None:
        self.paths = sorted(set(paths))
        self._names = [path_names(p) for p in self.paths]
        # document frequency over the tree's nodes (each folder and file once), not over files: a folder that
        # holds half the repository (GroundingDINO/ in Grounded-SAM) is still one name in one place
        nodes: set[str] = set()
        for p in self.paths:
            parts = p.split("/")
            nodes.update("/".join(parts[: i + 1]) for i in range(len(parts)))
        df: dict[str, int] = defaultdict(int)
        for node in nodes:
            for n in path_names(node.rpartition("/")[2]):
                df[n] += 1
        total = max(1, len(nodes))
        self.idf = {n: math.log(total / d) for n, d in df.items() if d <= MAX_DF_SHARE * total}
        self.vocabulary = set(df)
        self._cache: dict[str, dict[str, float]] = {}

    def scores(self, query: str) -> dict[str, float]:
        """``path -> score`` for the files whose names the query mentions (others are left out); the last 256
        queries' scores are kept (a task is often searched under several settings)."""
        if query in self._cache:
            return self._cache[query]
        if len(self._cache) >= 256:
            self._cache.pop(next(iter(self._cache)))
        self._cache[query] = out = self._score(query)
        return out

    def _score(self, query: str) -> dict[str, float]:
        if not self.idf:
            return {}
        wanted = query_names(query, self.vocabulary) & self.idf.keys()
        if not wanted:
            return {}
        out: dict[str, float] = {}
        for path, names in zip(self.paths, self._names):
            shared = names & wanted
            if shared:
                out[path] = sum(self.idf[n] for n in shared)
        return out
