"""Fit every prompt of the free path, repair rounds included, into the backend's context window.

``fit_prompt`` is a pure function of the prompt's parts (``PromptParts``), the window, ``max_new_tokens`` and a
token counter over chat messages. It guarantees ``count(messages) + max_new_tokens <= window`` by giving up, in
this order, what matters least for the answer:

1. the retrieved context: lowest-ranked parts first, then the last kept part is cut at a line boundary (what is
   kept is always a prefix of the ranking, as ``prompts.pack_context`` packs it);
2. older repair rounds (oldest first; the round being asked now is always kept);
3. the extra text of the round being asked now: what the repository provides (cards), then the problem list,
   each cut to a prefix of whole lines;
4. ``max_new_tokens``, down to ``min_new_tokens``.

Only when the bare task (no context, no history, no extras) plus ``min_new_tokens`` does not fit is a
``BackendError`` raised, and it says how many tokens the task needs and what to raise. When the budget dropped
older rounds it first tries to give context back to the room they left, since context ranks below history.

Counting: ``message_counter`` counts the chat template's own tokens too. llama-cpp models are formatted with
the GGUF's chat template and tokenized the way ``create_chat_completion`` does (a few tokens of slack cover a
guessed built-in format that differs slightly); a backend with ``format(messages)`` (transformers) is counted on
its formatted prompt; anything else gets its ``count_tokens`` (or ``len(text) / 3``, conservative for English
and code) plus a fixed overhead per message. ``context_window`` reads the window from the backend
(``context_window()``, llama's ``n_ctx()``, a transformers model's ``max_position_embeddings``) with
``config.n_ctx`` as the fallback (e.g. OpenAI-compatible servers).

Every search below is a binary search over a monotone choice (a context budget, a number of characters), so a
fit costs ~log2(size) renders and counts, and the first render is the whole prompt (usually it fits).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..config import GenerationConfig
from ..errors import BackendError
from ..types import Hit
from .base import Messages
from .prompts import build_messages, pack_context, render

log = logging.getLogger(__name__)

#: Tokens of a chat message around its content when the backend's template cannot be applied (role markers,
#: separators), and of the generation prompt that opens the reply.
MESSAGE_OVERHEAD = 8
REPLY_OVERHEAD = 8
#: Slack added to a llama-cpp count made with the GGUF template (the built-in format it guesses may differ).
TEMPLATE_SLACK = 4
CUT_NOTE = "(cut to fit the model's context window)"

MessageCounter = Callable[[Messages], int]
TextCounter = Callable[[str], int]


def approx_tokens_conservative(text: str) -> int:
    """A tokenizer-free estimate that rather overcounts: one token per 3 characters."""
    return math.ceil(len(text) / 3)


@dataclass(frozen=True)
class RepairTurn:
    """One repair round of a conversation: the model's answer, and what was wrong with it.

    Attributes:
        reply: the model's raw reply.
        problems: the failed checks, one ``- message`` line each.
        allowed: what the repository provides (rendered cards, a script list, Python signatures).
    """

    reply: str
    problems: str
    allowed: str


@dataclass(frozen=True)
class PromptParts:
    """A free-path prompt in the parts the budget may shrink.

    Attributes:
        template: the first prompt's template text (``prompts.load_template``).
        task: the user's request.
        output_type: ``"bash"`` or ``"python"``.
        hits: retrieved context, best first.
        workdir: the folder the answer runs in.
        context_tokens: the configured cap on the context section (0 = no cap).
        turns: repair rounds, oldest first; the last one is the round being asked now.
        repair_template: the repair template's text (needed when ``turns`` is not empty).
    """

    template: str
    task: str
    output_type: str
    hits: tuple[Hit, ...] = ()
    workdir: str = ""
    context_tokens: int = 0
    turns: tuple[RepairTurn, ...] = ()
    repair_template: str = ""


@dataclass(frozen=True)
class Fitted:
    """A prompt that fits: the messages, the tokens they take, and what was given up to get there.

    Attributes:
        messages: the chat messages to send.
        prompt_tokens: ``count(messages)``.
        max_new_tokens: the reply budget (lower than asked only when the bare task needed it).
        hits_kept: how many hits reached the context, counted from the top of the ranking (a cut hit counts).
        context_cut: True when the context is smaller than the configured cap would allow.
        turns_dropped: older repair rounds left out.
        extras_cut: True when the current round's problems or cards were cut.
    """

    messages: Messages
    prompt_tokens: int
    max_new_tokens: int
    hits_kept: int
    context_cut: bool = False
    turns_dropped: int = 0
    extras_cut: bool = False


@dataclass(frozen=True)
class _Shape:
    """One candidate prompt: how much context, how many older rounds, how many characters of extras."""

    context: int | None  # pack_context budget; None = no context at all
    older: int  # older rounds kept (the newest ones)
    allowed_chars: int | None = None  # None = all
    problems_chars: int | None = None


def _cut(text: str, chars: int | None) -> str:
    """``text`` cut to at most ``chars`` characters, at a line boundary when there is one (None = all)."""
    if chars is None or chars >= len(text):
        return text
    if chars <= 0:
        return CUT_NOTE
    head = text[:chars]
    if "\n" in head:
        head = head[: head.rindex("\n")]
    return f"{head.rstrip()}\n{CUT_NOTE}"


def _largest(lo: int, hi: int, ok: Callable[[int], bool]) -> int | None:
    """The largest ``n`` in ``[lo, hi]`` with ``ok(n)`` (``ok`` monotone: true up to some point), else None."""
    if hi < lo or not ok(lo):
        return None
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if ok(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


class _Renderer:
    """Renders ``PromptParts`` in a given ``_Shape`` (messages, and how many hits the context held)."""

    def __init__(self, parts: PromptParts, count_text: TextCounter) -> None:
        self.parts = parts
        self.count_text = count_text
        # the context at its configured cap, and the budget that packs exactly that (the sum of part costs)
        _, packed = pack_context(parts.hits, parts.context_tokens, count_text)
        self.full_context = sum(count_text(f"{p.header}\n{p.text.rstrip()}\n") + 1 for p in packed)
        self.full_parts = len(packed)

    def render(self, shape: _Shape) -> tuple[Messages, int]:
        p = self.parts
        if shape.context is None or not p.hits:
            first, kept = build_messages(p.template, p.task, (), p.output_type, workdir=p.workdir), 0
        else:
            _, packed = pack_context(p.hits, shape.context, self.count_text)
            first = build_messages(
                p.template,
                p.task,
                p.hits,
                p.output_type,
                workdir=p.workdir,
                budget_tokens=shape.context,
                count_tokens=self.count_text,
            )
            kept = len(packed)
        if not p.turns:
            return first, kept
        turns = [*p.turns[:-1][len(p.turns) - 1 - shape.older :], p.turns[-1]]
        messages = list(first)
        for i, turn in enumerate(turns):
            last = i == len(turns) - 1
            problems = _cut(turn.problems, shape.problems_chars if last else None)
            allowed = _cut(turn.allowed, shape.allowed_chars if last else None)
            follow = render(p.repair_template, problems=problems, allowed=allowed, output_type=p.output_type)
            messages += [{"role": "assistant", "content": turn.reply}, *follow]
        return messages, kept


def fit_prompt(
    parts: PromptParts,
    window: int,
    max_new_tokens: int,
    count: MessageCounter,
    count_text: TextCounter | None = None,
    *,
    min_new_tokens: int = 16,
) -> Fitted:
    """The largest version of ``parts`` whose prompt and reply fit ``window`` tokens (see the module docstring).

    Args:
        parts: the prompt's parts.
        window: the backend's context window, in tokens.
        max_new_tokens: the reply budget asked for.
        count: tokens of a list of messages as the backend will see them (chat template included).
        count_text: tokens of a plain text, for packing the context (default: ``count`` of one message).
        min_new_tokens: the smallest reply budget worth asking for.

    Returns:
        A ``Fitted`` prompt with ``prompt_tokens + max_new_tokens <= window``.

    Raises:
        BackendError: not even the bare task fits with ``min_new_tokens`` of reply.

    Example:
        >>> words = lambda ms: sum(len(m["content"].split()) + 2 for m in ms)
        >>> parts = PromptParts("[user]\\nTask: $task\\n$context", "train it", "bash")
        >>> fit_prompt(parts, 64, 16, words).max_new_tokens
        16
    """
    if window <= 0:
        raise BackendError(f"the model's context window must be a positive number of tokens, got {window}")
    text_counter: TextCounter = count_text or (lambda t: count([{"role": "user", "content": t}]))
    r = _Renderer(parts, text_counter)
    limit = window - max_new_tokens
    older = max(0, len(parts.turns) - 1)
    tried: dict[_Shape, tuple[Messages, int, int]] = {}

    def attempt(shape: _Shape) -> tuple[Messages, int, int]:
        if shape not in tried:
            messages, kept = r.render(shape)
            tried[shape] = (messages, count(messages), kept)
        return tried[shape]

    def fits(shape: _Shape, room: int = limit) -> bool:
        return attempt(shape)[1] <= room

    def done(shape: _Shape, new_tokens: int = max_new_tokens) -> Fitted:
        messages, tokens, kept = attempt(shape)
        cut = (shape.context or 0) < r.full_context
        extras = shape.allowed_chars is not None or shape.problems_chars is not None
        fitted = Fitted(messages, tokens, new_tokens, kept, cut, older - shape.older, extras)
        if cut or fitted.turns_dropped or extras or new_tokens < max_new_tokens:
            log.info(
                "prompt fitted to %d tokens (window %d, reply %d): %d of %d context parts, %d older rounds dropped%s",
                tokens, window, new_tokens, kept, r.full_parts, fitted.turns_dropped,
                ", extras cut" if extras else "",
            )  # fmt: skip
        return fitted

    def with_context(keep: int) -> _Shape:
        """Shape with ``keep`` older rounds and as much context as fits beside them."""
        if r.full_parts and fits(_Shape(r.full_context, keep)):
            return _Shape(r.full_context, keep)
        best = _largest(1, r.full_context - 1, lambda b: fits(_Shape(b, keep))) if r.full_parts else None
        return _Shape(best, keep) if best is not None and attempt(_Shape(best, keep))[2] else _Shape(None, keep)

    # 1-2. context first, then older rounds (dropping the oldest), context given back to what they left
    keep = _largest(0, older, lambda kept: fits(_Shape(None, kept)))
    if keep is not None:
        return done(with_context(keep))
    # 3. the current round's extras: cards, then problems (to whole lines)
    if parts.turns:
        turn = parts.turns[-1]
        a = _largest(0, len(turn.allowed), lambda n: fits(_Shape(None, 0, n)))
        if a is not None:
            return done(_Shape(None, 0, a))
        n = _largest(0, len(turn.problems), lambda n: fits(_Shape(None, 0, 0, n)))
        if n is not None:
            return done(_Shape(None, 0, 0, n))
    # 4. the bare task: a shorter reply, or nothing fits
    bare = _Shape(None, 0, 0, 0) if parts.turns else _Shape(None, 0)
    tokens = attempt(bare)[1]
    room = window - tokens
    if room >= min_new_tokens:
        log.warning("the bare prompt takes %d of %d tokens: max_new_tokens lowered to %d", tokens, window, room)
        return done(bare, room)
    what = "the task alone" if not parts.turns else "the task and the answer to repair alone"
    raise BackendError(
        f"{what} takes {tokens} tokens with the prompt template, and the model's context window is "
        f"{window} tokens ({min_new_tokens} are needed for the answer); shorten the task or use a model with a "
        "larger window (generation.n_ctx for llama-cpp and OpenAI-compatible servers)"
    )


def context_window(generator: object, config: GenerationConfig) -> int:
    """The backend's context window in tokens.

    Looked up in order: a ``context_window()`` method, llama-cpp's ``llama.n_ctx()``, a transformers model's
    ``config.max_position_embeddings`` (or ``n_positions``), an ``n_ctx`` attribute, then ``config.n_ctx``.
    """
    fn = getattr(generator, "context_window", None)
    if callable(fn):
        return int(fn())
    llama = getattr(generator, "llama", None)
    n_ctx = getattr(llama, "n_ctx", None)
    if callable(n_ctx):
        return int(n_ctx())
    model_config = getattr(getattr(generator, "model", None), "config", None)
    for name in ("max_position_embeddings", "n_positions", "max_sequence_length"):
        value = getattr(model_config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    value = getattr(generator, "n_ctx", None)
    if isinstance(value, int) and value > 0:
        return value
    return int(config.n_ctx)


def text_counter(generator: object) -> TextCounter:
    """The backend's ``count_tokens``, else ``approx_tokens_conservative``."""
    fn = getattr(generator, "count_tokens", None)
    return fn if callable(fn) else approx_tokens_conservative


def _llama_counter(llama: Any) -> MessageCounter | None:
    """Count messages as llama-cpp's ``create_chat_completion`` would tokenize them (GGUF chat template)."""
    metadata = getattr(llama, "metadata", None)
    template = metadata.get("tokenizer.chat_template") if isinstance(metadata, dict) else None
    tokenize = getattr(llama, "tokenize", None)
    if not template or not callable(tokenize):
        return None
    try:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        def token_text(fn: str) -> str:
            model = llama._model
            tid = int(getattr(model, fn)())
            return str(model.token_get_text(tid)) if tid != -1 else ""

        formatter = Jinja2ChatFormatter(template, eos_token=token_text("token_eos"), bos_token=token_text("token_bos"))
    except Exception as e:  # noqa: BLE001 - any failure here only means the fallback counter is used
        log.debug("llama-cpp chat template not usable for counting (%s); per-message overhead used", e)
        return None

    def count(messages: Messages) -> int:
        result = formatter(messages=messages)  # type: ignore[arg-type]
        ids = tokenize(result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True)
        return len(ids) + TEMPLATE_SLACK

    try:
        count([{"role": "user", "content": "x"}])
    except Exception as e:  # noqa: BLE001 - a template that does not render here: fall back
        log.debug("llama-cpp chat template failed to render (%s); per-message overhead used", e)
        return None
    return count


def message_counter(generator: object) -> MessageCounter:
    """Tokens of chat messages as ``generator`` sees them, its chat template included (see the module docstring)."""
    llama = getattr(generator, "llama", None)
    if llama is not None:
        counter = _llama_counter(llama)
        if counter is not None:
            return counter
    count = text_counter(generator)
    fmt = getattr(generator, "format", None)
    if callable(fmt):
        return lambda messages: count(str(fmt(messages))) + 1  # + a BOS token the tokenizer may add
    return lambda messages: sum(count(m["content"]) + MESSAGE_OVERHEAD for m in messages) + REPLY_OVERHEAD
