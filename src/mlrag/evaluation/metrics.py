"""Evaluation metrics: pure functions over strings, paths and checks (no I/O, no model).

Retrieval metrics answer "did the context hold what the answer needs?":

* ``oracle_recall``: share of the oracle segment's 8-word sequences found in the context. Words are ``\\w+``
  runs, lower-cased, after decoding ML-Bench's literal ``\\n`` and removing code-fence markers (`````bash``),
  so a README section and an oracle flattened from rendered HTML compare equal. An oracle shorter than 8 words
  counts as one sequence of its own length.
* ``answer_recall``: share of the gold answer's *answer terms* found in the context. Terms are ``--flags``, file
  names (``train.py``, ``configs/a.yaml``) and identifiers (``load_model``) of the gold output, minus those
  already in the instruction, those inside an argument value (the user supplies those), Python keywords and a
  few launcher words (``python``, ``bash``...) that every context would "contain". A term matches where it stands
  alone: not inside a longer identifier or flag (``lr`` does not match ``lr_decay``).
* ``path_hit`` / ``reciprocal_rank``: whether (and how early) a hit lies under the row's ``path``; undefined
  (``None``) for rows that run at the repository root, where every hit would count.

Generation metrics follow ML-Bench's scorer (``utils/exec.py`` in gersteinlab/ML-Bench):

* ``argument_check``: every argument value, ``str(v).lower()``, is a substring of the lower-cased code.
* ``type_check``: a bash answer runs a ``.sh``/``.py`` file, a Python answer does not. ML-Bench tests for the
  substrings ``".sh "``/``".py "`` (trailing space), so ``python train.py`` at the very end of an answer fails
  there; ``strict=True`` reproduces that, the default also accepts the file name at a line end.
* ``pass_at_k``: the unbiased estimator of Chen et al. (2021), ``1 - C(n-c, k) / C(n, k)``.

``None`` means "not applicable" throughout; means over rows skip it (see ``mean``).
"""

from __future__ import annotations

import builtins
import keyword
import math
import re
from collections.abc import Iterable, Mapping, Sequence

from ..commands import GENERIC_WORDS, RUNS_MODULE
from ..types import Check

NGRAM = 8

_FENCE = re.compile(r"(?:```|~~~)[\w.+-]*")
_WORD = re.compile(r"\w+")
# one answer term: a --flag, a path/file name with an extension, or an identifier (dotted names split later)
_TERM = re.compile(
    r"(?<![\w-])(--?[A-Za-z][\w-]*)"  # flags: -m, --num-stacks
    r"|((?:[\w.-]+/)*[\w-]+\.[A-Za-z]\w*)(?![\w(]|\.\w)"  # file names: train.py, a/b.yaml; not a.b( or a.b.c
    r"|(?<!\w)([A-Za-z_]\w+)"  # identifiers of 2+ characters
)
#: words of any command line (``commands.GENERIC_WORDS``: ``python``, ``bash``, ``cd``, ``pip``...), python's own
#: ``-m``/``-c``, Python keywords and built-ins: any context "holds" them, so they say nothing about retrieval.
STOP_TERMS = frozenset(
    GENERIC_WORDS
    | {"-m", "-c"}
    | {k.lower() for k in keyword.kwlist}
    | {b.lower() for b in dir(builtins) if not b.startswith("_")}
)


def normalize_text(text: str) -> str:
    """Decode ML-Bench's literal ``\\n`` and remove code-fence markers (with their language tags)."""
    return _FENCE.sub(" ", text.replace("\\n", "\n"))


def words(text: str) -> list[str]:
    """Lower-cased ``\\w+`` words of ``normalize_text(text)``.

    Example:
        >>> words("```bash\\\\npython Train.py --lr 0\\n```")
        ['python', 'train', 'py', 'lr', '0']
    """
    return _WORD.findall(normalize_text(text).lower())


def ngrams(seq: Sequence[str], n: int) -> set[tuple[str, ...]]:
    """All contiguous ``n``-word sequences of ``seq`` (empty when ``len(seq) < n``)."""
    return {tuple(seq[i : i + n]) for i in range(len(seq) - n + 1)}


def oracle_recall(oracle: str, context: str, n: int = NGRAM) -> float | None:
    """Share of the oracle's distinct ``n``-word sequences that occur in the context.

    Args:
        oracle: the oracle segment (literal ``\\n`` allowed).
        context: the text given to the model.
        n: sequence length; an oracle of fewer words counts as one sequence of its own length.

    Returns:
        A value in [0, 1], or None for an oracle with no words.

    Example:
        >>> oracle_recall("a b c", "x a b c y")
        1.0
    """
    ow = words(oracle)
    if not ow:
        return None
    m = min(n, len(ow))
    grams = ngrams(ow, m)
    found = grams & ngrams(words(context), m)
    return len(found) / len(grams)


def contains_term(text: str, term: str) -> bool:
    """True when ``term`` occurs in ``text`` (case-insensitively) not as part of a longer word, flag or path."""
    pat = r"(?<![\w-])" + re.escape(term) + r"(?![\w-])"
    return re.search(pat, text, re.IGNORECASE) is not None


def answer_terms(output: str, instruction: str = "", arguments: Mapping[str, str] | None = None) -> list[str]:
    """The gold answer's flags, file names and identifiers that the context has to supply.

    Args:
        output: the gold answer.
        instruction: the user request; terms it already holds are dropped.
        arguments: the row's arguments; terms inside an argument value are dropped.

    Returns:
        Distinct terms, lower-cased, in order of first appearance.

    Example:
        >>> answer_terms("python citation.py --dataset Citeseer --num-stacks 5", "use Citeseer", {"d": "Citeseer"})
        ['citation.py', '--dataset', '--num-stacks']
    """
    values = [str(v) for v in (arguments or {}).values() if str(v).strip()]
    out: list[str] = []
    for m in _TERM.finditer(normalize_text(output)):
        term = m.group(0).lower()
        if term in STOP_TERMS or term in out:
            continue
        if contains_term(instruction, term) or any(contains_term(v, term) for v in values):
            continue
        out.append(term)
    return out


def answer_recall(terms: Sequence[str], context: str) -> float | None:
    """Share of ``terms`` found in ``context`` (see ``contains_term``); None when there are no terms."""
    if not terms:
        return None
    text = normalize_text(context)
    return sum(contains_term(text, t) for t in terms) / len(terms)


def _norm_dir(path: str) -> str:
    p = path.strip().replace("\\", "/")
    while p.startswith("./"):
        p = p[2:]
    p = p.strip("/")
    return "" if p == "." else p


def under(path: str, folder: str) -> bool:
    """True when the repo-relative ``path`` lies in ``folder`` (or is it)."""
    p, d = _norm_dir(path), _norm_dir(folder)
    return not d or p == d or p.startswith(d + "/")


def reciprocal_rank(hit_paths: Sequence[str], folder: str) -> float | None:
    """``1 / rank`` of the first hit under ``folder`` (0.0 when none); None when ``folder`` is the root."""
    if not _norm_dir(folder):
        return None
    for rank, p in enumerate(hit_paths, 1):
        if under(p, folder):
            return 1.0 / rank
    return 0.0


def path_hit(hit_paths: Sequence[str], folder: str) -> bool | None:
    """Whether some hit lies under ``folder``; None when ``folder`` is the repository root."""
    rr = reciprocal_rank(hit_paths, folder)
    return None if rr is None else rr > 0


def argument_check(code: str, arguments: Mapping[str, str]) -> bool:
    """ML-Bench's check: every argument value, lower-cased, is a substring of the lower-cased code.

    Example:
        >>> argument_check("python citation.py --dataset citeseer", {"dataset": "Citeseer"})
        True
    """
    low = code.lower()
    return all(str(v).lower() in low for v in arguments.values())


_RUNS_FILE = re.compile(r"\.(?:sh|py)(?:[ \t]|$)", re.MULTILINE)


def runs_file(code: str, strict: bool = False) -> bool:
    """Whether the code runs a ``.sh``/``.py`` file or a Python module (``strict``: ML-Bench's ``".sh "``/
    ``".py "`` test, which a module never passes)."""
    if strict:
        return ".sh " in code or ".py " in code
    # a module run is one too (``python -m baselines.run``): gold commands that run modules pass their own check
    return _RUNS_FILE.search(code) is not None or RUNS_MODULE.search(code) is not None


def type_check(code: str, output_type: str, strict: bool = False) -> bool:
    """ML-Bench's type check: bash answers run a ``.sh``/``.py`` file, Python answers do not.

    Args:
        code: the answer.
        output_type: ``bash`` / ``python`` or ML-Bench's ``Bash Script`` / ``Python Code``.
        strict: reproduce ML-Bench's substring test exactly.
    """
    bash = output_type.lower() in ("bash", "bash script")
    return runs_file(code, strict) == bash


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k estimate from ``n`` samples of which ``c`` pass (Chen et al., 2021).

    Computed as ``1 - prod_{i=n-c+1}^{n} (1 - k / i)``, which equals ``1 - C(n-c, k) / C(n, k)`` without big
    binomials.

    Example:
        >>> round(pass_at_k(5, 1, 1), 12), pass_at_k(5, 1, 5)
        (0.2, 1.0)
    """
    if not 0 <= c <= n or k < 1:
        raise ValueError(f"pass_at_k needs 0 <= c <= n and k >= 1, got n={n}, c={c}, k={k}")
    if k > n:
        raise ValueError(f"pass_at_k needs k <= n (samples), got k={k}, n={n}")
    if n - c < k:
        return 1.0
    prod = 1.0
    for i in range(n - c + 1, n + 1):
        prod *= 1.0 - k / i
    return 1.0 - prod


def invented_flags(checks: Iterable[Check]) -> int:
    """Number of failed ``flag-exists`` grounding checks (flags the script does not define)."""
    return sum(1 for c in checks if c.name == "flag-exists" and not c.ok)


def mean(values: Iterable[float | bool | None]) -> float | None:
    """Mean of the values that are not None (bools count as 0/1); None when there are none."""
    vals = [float(v) for v in values if v is not None]
    if not vals:
        return None
    return math.fsum(vals) / len(vals)


def salient_terms(output: str) -> list[str]:
    """The gold answer's ``--flags`` and file names (lower-cased, in order): what a correct answer must also
    say, beyond the row's argument values. Launcher words (``python``, ``-m``...) are left out."""
    out: list[str] = []
    for m in _TERM.finditer(normalize_text(output)):
        term = (m.group(1) or m.group(2) or "").lower()
        if term and term not in STOP_TERMS and term not in out:
            out.append(term)
    return out


def strict_check(code: str, output: str, output_type: str, arguments: Mapping[str, str]) -> bool:
    """Both ML-Bench checks, and every salient gold term (``salient_terms``) stands in ``code``.

    Example:
        >>> gold = "python citation.py --dataset Citeseer --num-stacks 5"
        >>> strict_check("python citation.py --dataset citeseer --num-stacks 5", gold, "bash", {"d": "Citeseer"})
        True
        >>> strict_check("python train.py --dataset citeseer --stacks 5", gold, "bash", {"d": "Citeseer"})
        False
    """
    return (
        argument_check(code, arguments)
        and type_check(code, output_type)
        and all(contains_term(code, t) for t in salient_terms(output))
    )
