"""From a task and its retrieved context to one grounded code answer (``run_generation``), in batches too.

Flow per task: choose the output type (``config.output_type``, or ``guess_output_type`` on ``auto``), fill the
prompt template with the task and the packed context, complete, extract one code block, ground it (when
``config.grounding``), and — when some check failed and ``config.repair`` — run one repair round: the
conversation continues with what is wrong and what the relevant argument cards allow; the repaired answer is
kept when it has fewer violations (ties keep the first answer, so repair never makes things worse by the
checks' measure).

Batches (``run_generation_batch``) do each round for all tasks with one ``complete_batch`` call, so a cached or
batching backend pays once per round. The ``draft`` query strategy is ``draft_query``: the api layer calls it
before retrieval and retrieves with its result.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from ..config import GenerationConfig
from ..types import Check, Chunk, Generation, Hit
from .base import DecodeParams, Generator, Messages, complete_batch
from .extract import extract_code
from .grounding import cards_for, ground
from .prompts import build_messages, flatten, guess_output_type, load_template, render, render_card

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GenerationRequest:
    """One task for ``run_generation_batch``: the task, its context, and the repository facts to ground against."""

    task: str
    hits: tuple[Hit, ...] = ()
    cards: tuple[Chunk, ...] = ()
    files: frozenset[str] = field(default_factory=frozenset)
    workdir: str = ""
    output_type: str | None = None  # overrides config.output_type (e.g. ML-Bench's labelled type)


def _count_tokens(generator: Generator):  # type: ignore[no-untyped-def]
    fn = getattr(generator, "count_tokens", None)
    return fn if callable(fn) else None


def _output_type(req: GenerationRequest, config: GenerationConfig) -> str:
    if req.output_type in ("bash", "python"):
        return req.output_type
    if config.output_type != "auto":
        return config.output_type
    return guess_output_type(req.task, req.hits)


def _repair_messages(
    messages: Messages, reply: str, checks: Sequence[Check], req: GenerationRequest, output_type: str
) -> Messages:
    problems = "\n".join(f"- {c.message}" for c in checks if not c.ok)
    relevant = cards_for(checks, req.cards)
    if not relevant:  # the script itself is wrong: show every card we have (those are the runnable scripts)
        relevant = [c for c in req.cards if c.kind == "card"][:8]
    if relevant:
        allowed = "\n\n".join(render_card(c) for c in relevant)
    else:
        scripts = sorted(
            f
            for f in req.files
            if f.endswith((".py", ".sh")) and (not req.workdir or f.startswith(req.workdir.strip("./") + "/"))
        )[:30]
        allowed = "Scripts: " + (", ".join(scripts) if scripts else "(none known)")
    follow = render(load_template("repair"), problems=problems, allowed=allowed, output_type=output_type)
    return [*messages, {"role": "assistant", "content": reply}, *follow]


def run_generation_batch(
    requests: Sequence[GenerationRequest], generator: Generator, config: GenerationConfig
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
    count = _count_tokens(generator)
    types = [_output_type(r, config) for r in requests]
    messages = [
        build_messages(
            template, r.task, r.hits, t, workdir=r.workdir, budget_tokens=config.context_tokens, count_tokens=count
        )
        for r, t in zip(requests, types)
    ]
    replies = complete_batch(generator, messages, params)
    codes = [extract_code(text, t) for text, t in zip(replies, types)]
    checks: list[tuple[Check, ...]] = [
        ground(code, t, r.cards, r.files, r.workdir) if config.grounding else ()
        for code, t, r in zip(codes, types, requests)
    ]
    results = [
        Generation(code=c, text=x, hits=tuple(r.hits), prompt=flatten(m), checks=k, model=generator.id)
        for c, x, r, m, k in zip(codes, replies, requests, messages, checks)
    ]
    todo = [i for i, k in enumerate(checks) if config.repair and any(not c.ok for c in k)]
    if not todo:
        return results
    follow = [_repair_messages(messages[i], replies[i], checks[i], requests[i], types[i]) for i in todo]
    second = complete_batch(generator, follow, params)
    for i, reply, msgs in zip(todo, second, follow):
        code = extract_code(reply, types[i])
        new_checks = ground(code, types[i], requests[i].cards, requests[i].files, requests[i].workdir)
        first = results[i]
        better = sum(not c.ok for c in new_checks) < len(first.violations)
        if better:
            log.info(
                "repair fixed %d of %d violations",
                len(first.violations) - sum(not c.ok for c in new_checks),
                len(first.violations),
            )
            results[i] = Generation(
                code=code,
                text=reply,
                hits=first.hits,
                prompt=flatten(msgs),
                checks=new_checks,
                repaired=True,
                first_code=first.code,
                model=generator.id,
            )
        else:
            results[i] = Generation(
                code=first.code,
                text=first.text,
                hits=first.hits,
                prompt=first.prompt,
                checks=first.checks,
                repaired=False,
                first_code=first.code,
                model=generator.id,
            )
    return results


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

    Returns:
        The ``Generation`` (code, raw text, prompt, checks, whether a repair replaced the first answer).

    Example:
        >>> from mlrag.generation.base import get_generator
        >>> cfg = GenerationConfig(llm="echo", cache=False)
        >>> g = run_generation("train", [], get_generator("echo", cfg), cfg, cards=[], files=[])
        >>> g.violations[0].name
        'code-found'
    """
    req = GenerationRequest(task, tuple(hits), tuple(cards), frozenset(files), workdir, output_type)
    return run_generation_batch([req], generator, config)[0]


def draft_query(task: str, generator: Generator, config: GenerationConfig, output_type: str | None = None) -> str:
    """The ``draft`` strategy's first answer, written without context, to add to the retrieval query.

    A first draft names likely scripts and flags (right or wrong), which retrieves the README sections and cards
    that hold the real ones (RepoCoder / HyDE). The api layer retrieves with ``f"{task}\\n{draft}"``, then calls
    ``run_generation`` with the hits. Returns the draft's code ("" when the model wrote none).
    """
    kind = output_type or (config.output_type if config.output_type != "auto" else guess_output_type(task))
    messages = build_messages(load_template(config.prompt), task, [], kind)
    reply = generator.complete(messages, DecodeParams.from_config(config))
    return extract_code(reply, kind)
