"""From a task and its retrieved context to one grounded code answer (``run_generation``), in batches too.

Flow per task: choose the output type (``config.output_type``, or ``guess_output_type`` on ``auto``), fill the
prompt template with the task and the packed context, complete, extract one code block, ground it (when
``config.grounding``), and — when some check failed and ``config.repair`` — run repair rounds (one by default):
the conversation continues with what is wrong and what the relevant argument cards (for Python: the import lines
and signatures) allow. The best answer is kept: a repaired one replaces it only with fewer violations (ties keep
the earlier answer, so repair never makes things worse by the checks' measure).

Python answers are checked like bash ones when the request carries the repository's affordance catalog or a file
reader: ``mlrag.agent.python_check`` (imports resolve, called names and keyword arguments exist, registry names
are registered) adds one ``python-api`` check per problem, and its suggestions go into the repair round.

Every prompt, the repair rounds' included, is fitted to the backend's context window with its own token counter
(``budget.fit_prompt``: context first, then older rounds, then the round's extra text), so no task fails on
length.

Batches (``run_generation_batch``) do each round for all tasks with one ``complete_batch`` call (per reply
budget), so a cached or batching backend pays once per round. The ``draft`` query strategy is ``draft_query``:
the api layer calls it before retrieval and retrieves with its result.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from ..config import GenerationConfig
from ..errors import BackendError
from ..types import Check, Chunk, Generation, Hit
from .base import DecodeParams, Generator, complete_batch
from .budget import Fitted, PromptParts, RepairTurn, context_window, fit_prompt, message_counter
from .extract import extract_code
from .grounding import cards_for, ground
from .prompts import approx_tokens, flatten, guess_output_type, load_template, render_card, render_python_api

if TYPE_CHECKING:
    from ..agent.result import Reader
    from ..catalog.base import Catalog

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GenerationRequest:
    """One task for ``run_generation_batch``: the task, its context, and the repository facts to ground against.

    ``catalog`` (the repository's affordances) and ``read`` (repository-relative path -> text or None) let
    Python answers be checked against the repository's API; without either, Python answers get the basic
    checks only (they parse, repository imports name repository files).
    """

    task: str
    hits: tuple[Hit, ...] = ()
    cards: tuple[Chunk, ...] = ()
    files: frozenset[str] = field(default_factory=frozenset)
    workdir: str = ""
    output_type: str | None = None  # overrides config.output_type (e.g. ML-Bench's labelled type)
    catalog: Catalog | None = None
    read: Reader | None = None


@dataclass(frozen=True)
class _Answer:
    """One reply, its code and its checks, and the suggestions of the Python check (for the repair round)."""

    text: str
    code: str
    checks: tuple[Check, ...]
    suggestions: tuple[str, ...] = ()

    @property
    def violations(self) -> int:
        return sum(not c.ok for c in self.checks)


def _output_type(req: GenerationRequest, config: GenerationConfig) -> str:
    if req.output_type in ("bash", "python"):
        return req.output_type
    if config.output_type != "auto":
        return config.output_type
    return guess_output_type(req.task, req.hits)


def _python_checks(code: str, req: GenerationRequest) -> tuple[list[Check], list[str]]:
    """``python-api`` checks of ``code`` (one per problem, or one that passed) and the checker's suggestions."""
    from ..agent.python_check import check_python
    from ..agent.result import Report
    from ..catalog.base import Catalog

    report = Report()
    try:
        check_python(code, req.catalog or Catalog(), req.files, report, workdir=req.workdir.strip("./"), read=req.read)
    except RecursionError:
        report.problem("the code is nested too deeply to check")
    if not report.problems:
        return [Check("python-api", True, "imports, called names and keyword arguments match the repository")], []
    return [Check("python-api", False, p) for p in report.problems], list(report.suggestions)


def _answer(text: str, output_type: str, req: GenerationRequest, config: GenerationConfig) -> _Answer:
    code = extract_code(text, output_type)
    if not config.grounding:
        return _Answer(text, code, ())
    checks = list(ground(code, output_type, req.cards, req.files, req.workdir))
    suggestions: list[str] = []
    python_ok = any(c.name == "python-syntax" and c.ok for c in checks)
    if output_type == "python" and python_ok and (req.catalog is not None or req.read is not None):
        more, suggestions = _python_checks(code, req)
        checks += more
    return _Answer(text, code, tuple(checks), tuple(suggestions))


def _allowed(answer: _Answer, req: GenerationRequest) -> str:
    """What the repository provides, for a repair round: cards, a script list, or Python signatures."""
    if any(c.name == "python-api" for c in answer.checks):
        return render_python_api(answer.code, req.catalog, answer.suggestions)
    relevant = cards_for(answer.checks, req.cards)
    if not relevant:  # the script itself is wrong: show every card we have (those are the runnable scripts)
        relevant = [c for c in req.cards if c.kind == "card"][:8]
    if relevant:
        return "\n\n".join(render_card(c) for c in relevant)
    scripts = sorted(
        f
        for f in req.files
        if f.endswith((".py", ".sh")) and (not req.workdir or f.startswith(req.workdir.strip("./") + "/"))
    )[:30]
    return "Scripts: " + (", ".join(scripts) if scripts else "(none known)")


def _turn(answer: _Answer, req: GenerationRequest) -> RepairTurn:
    problems = "\n".join(f"- {c.message}" for c in answer.checks if not c.ok)
    return RepairTurn(answer.text, problems, _allowed(answer, req))


class _Fitter:
    """Fits prompts to one generator's window (the window and counters are looked up once per batch)."""

    def __init__(self, generator: Generator, config: GenerationConfig) -> None:
        self.window = context_window(generator, config)
        self.count = message_counter(generator)
        fn = getattr(generator, "count_tokens", None)
        self.count_text = fn if callable(fn) else approx_tokens  # context packing, as config.context_tokens says
        self.max_new_tokens = config.max_new_tokens

    def __call__(self, parts: PromptParts) -> Fitted:
        return fit_prompt(parts, self.window, self.max_new_tokens, self.count, self.count_text)


def _complete(generator: Generator, fitted: Sequence[Fitted], params: DecodeParams) -> list[str]:
    """Complete each fitted prompt; one ``complete_batch`` call per reply budget (usually just one)."""
    out: list[str] = [""] * len(fitted)
    for budget in sorted({f.max_new_tokens for f in fitted}, reverse=True):
        idx = [i for i, f in enumerate(fitted) if f.max_new_tokens == budget]
        p = params if budget == params.max_new_tokens else replace(params, max_new_tokens=budget)
        for i, text in zip(idx, complete_batch(generator, [fitted[i].messages for i in idx], p)):
            out[i] = text
    return out


def run_generation_batch(
    requests: Sequence[GenerationRequest],
    generator: Generator,
    config: GenerationConfig,
    *,
    repair_rounds: int = 1,
) -> list[Generation]:
    """``run_generation`` for many tasks, one ``complete_batch`` call per round.

    Example:
        >>> from mlrag.generation.base import get_generator
        >>> cfg = GenerationConfig(llm="echo", cache=False)
        >>> out = run_generation_batch([GenerationRequest("run it")], get_generator("echo", cfg), cfg)
        >>> out[0].model
        'echo'
    """
    params = DecodeParams.from_config(config)
    template = load_template(config.prompt)
    fit = _Fitter(generator, config)
    types = [_output_type(r, config) for r in requests]
    parts = [
        PromptParts(template, r.task, t, tuple(r.hits), r.workdir, config.context_tokens)
        for r, t in zip(requests, types)
    ]
    fitted = [fit(p) for p in parts]
    replies = _complete(generator, fitted, params)
    first = [_answer(x, t, r, config) for x, t, r in zip(replies, types, requests)]
    best = list(first)
    best_prompt = [flatten(f.messages) for f in fitted]
    latest = list(first)
    turns: list[tuple[RepairTurn, ...]] = [()] * len(requests)
    repaired = [False] * len(requests)
    asked = [False] * len(requests)
    repair = load_template("repair") if config.repair and config.grounding else ""
    stopped = [False] * len(requests)  # a repair round that cannot fit even bare: the best answer so far stands
    for _ in range(repair_rounds if repair else 0):
        todo, round_fitted = [], []
        for i, a in enumerate(latest):
            if not a.violations or stopped[i]:
                continue
            turns[i] = (*turns[i], _turn(a, requests[i]))
            try:
                round_fitted.append(fit(replace(parts[i], turns=turns[i], repair_template=repair)))
            except BackendError as e:
                log.warning("no repair round for task %d: %s", i, e)
                stopped[i] = True
                continue
            todo.append(i)
            asked[i] = True
        if not todo:
            break
        for i, f, text in zip(todo, round_fitted, _complete(generator, round_fitted, params)):
            latest[i] = _answer(text, types[i], requests[i], config)
            if latest[i].violations < best[i].violations:
                log.info("repair fixed %d of %d violations", best[i].violations - latest[i].violations,
                         best[i].violations)  # fmt: skip
                best[i], best_prompt[i], repaired[i] = latest[i], flatten(f.messages), True
    return [
        Generation(
            code=b.code,
            text=b.text,
            hits=tuple(r.hits),
            prompt=p,
            checks=b.checks,
            repaired=rep,
            first_code=a.code if ask else None,
            model=generator.id,
        )
        for b, r, p, rep, a, ask in zip(best, requests, best_prompt, repaired, first, asked)
    ]


def run_generation(
    task: str,
    hits: Sequence[Hit],
    generator: Generator,
    config: GenerationConfig,
    *,
    cards: Sequence[Chunk],
    files: Collection[str],
    workdir: str = "",
    output_type: str | None = None,
    catalog: Catalog | None = None,
    read: Reader | None = None,
    repair_rounds: int = 1,
) -> Generation:
    """Write one code answer for ``task`` from ``hits``, grounded against ``cards`` and ``files``.

    Args:
        task: the user's request.
        hits: retrieved context, best first (empty for the ``none`` strategy).
        generator: from ``get_generator``.
        config: the generation settings.
        cards: argument-card chunks of the repository.
        files: every repository-relative file path.
        workdir: the repository-relative folder the answer runs in ("" = root / unknown).
        output_type: ``"bash"`` or ``"python"`` to override ``config.output_type``.
        catalog: the repository's affordance catalog (``Index.affordances``), to check Python answers' calls.
        read: reads a repository file (``mlrag.agent.check.file_reader(root)``), to check the names a module
            defines.
        repair_rounds: how many repair rounds may run (when ``config.repair``); each is fitted to the window.

    Returns:
        The ``Generation`` (code, raw text, prompt, checks, whether a repair replaced the first answer).

    Example:
        >>> from mlrag.generation.base import get_generator
        >>> cfg = GenerationConfig(llm="echo", cache=False)
        >>> g = run_generation("train", [], get_generator("echo", cfg), cfg, cards=[], files=[])
        >>> g.violations[0].name
        'code-found'
    """
    req = GenerationRequest(task, tuple(hits), tuple(cards), frozenset(files), workdir, output_type, catalog, read)
    return run_generation_batch([req], generator, config, repair_rounds=repair_rounds)[0]


def draft_query(task: str, generator: Generator, config: GenerationConfig, output_type: str | None = None) -> str:
    """The ``draft`` strategy's first answer, written without context, to add to the retrieval query.

    A first draft names likely scripts and flags (right or wrong), which retrieves the README sections and cards
    that hold the real ones (RepoCoder / HyDE). The api layer retrieves with ``f"{task}\\n{draft}"``, then calls
    ``run_generation`` with the hits. Returns the draft's code ("" when the model wrote none).
    """
    kind = output_type or (config.output_type if config.output_type != "auto" else guess_output_type(task))
    fitted = _Fitter(generator, config)(PromptParts(load_template(config.prompt), task, kind))
    params = replace(DecodeParams.from_config(config), max_new_tokens=fitted.max_new_tokens)
    reply = generator.complete(fitted.messages, params)
    return extract_code(reply, kind)
