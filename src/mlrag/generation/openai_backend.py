"""``openai:<model>``: any OpenAI-compatible chat endpoint (OpenAI, vLLM, llama.cpp's server, Ollama).

Design choices:
    * One ``POST {base_url}/chat/completions`` through ``httpx`` with an explicit retry policy, rather than the
      ``openai`` SDK: the request is small, and owning the loop makes the time bound and the error messages
      exact and testable (the SDK's retry and timeout defaults vary between releases).
    * Retries (``config.max_retries``) with exponential backoff (0.5 s, 1 s, 2 s …, capped at 8 s; a
      ``Retry-After`` header up to 30 s is honoured) on 429, 5xx, timeouts and refused connections; any other
      4xx fails at once. ``timeout_s`` bounds each whole attempt (connect, send and the full body, read as a
      stream against a deadline: a server that trickles bytes cannot stretch it), and a body over
      ``MAX_BODY_BYTES`` is refused, so the worst case is ``(retries + 1) * timeout_s`` plus the backoff.
      Retries log at debug level: a dead endpoint is one error line, not one per attempt.
    * Base URL: the ``base_url=`` option, else ``config.base_url``, else ``$OPENAI_BASE_URL``, else OpenAI's.
      Key: the ``api_key=`` option, else the variable named by ``config.api_key_env``, else ``$OPENAI_API_KEY``;
      a local server needs none. The key lives only in the request header: never in ``id`` (which keys caches
      and goes into results), ``repr``, logs or error messages (it is registered with ``mlrag.redact``, so a
      server error body that echoes it is redacted too). User info in a base URL (``https://u:p@host``) is
      dropped with a warning, never sent as Basic auth nor recorded.
    * ``call_tool`` (structured answers, see ``structured.py``) walks a ladder of request shapes, richest first:
      ``tools`` with ``tool_choice: "required"`` (then ``"auto"``), ``response_format`` json_schema,
      ``json_object`` with the schema (llama-cpp-python turns that into a grammar; others ignore or refuse the
      extra key), plain ``json_object``, free text. A rung is *refused* when the server answers 4xx (not 401/403
      nor the retried ones) or a 500/501 that names the feature: the next rung is tried at once, without the
      retries. A rung is *ignored* when a 200 answer has no ``tool_calls`` or no JSON content: the other
      variants of that feature are skipped too. The rung that answered is kept per instance (logged once at
      INFO), so only the first call pays for the probing. Timeouts and unreachable servers are not refusals:
      they raise ``BackendError`` as ``complete`` does.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..config import GenerationConfig
from ..errors import BackendError, require
from ..redact import redact, register_secret
from .base import BaseGenerator, DecodeParams, Messages, Spec
from .structured import Tool, ToolCall, describe, parse_call, tools_schema, validate

log = logging.getLogger(__name__)
OPENAI_URL = "https://api.openai.com/v1"
_RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
MAX_BODY_BYTES = 16 * 1024 * 1024
_NOT_REFUSALS = {401, 403} | _RETRY_STATUS  # a bad key or a busy server says nothing about the request shape

# call_tool's ladder: (rung, via). A refused rung steps to the next; an ignored one skips the rest of its via.
_RUNGS: tuple[tuple[str, str], ...] = (
    ("tools", "tools"),
    ("tools_auto", "tools"),
    ("json_schema", "json_schema"),
    ("json_object_schema", "json"),
    ("json_object", "json"),
    ("free", "free"),
)
# Words by which a 500/501 body names the feature it cannot serve ("Unsupported param: tools").
_FEATURE_WORDS = {
    "tools": ("tool", "function"),
    "json_schema": ("response_format", "json_schema", "schema"),
    "json": ("response_format", "json_object", "schema"),
}
_ANSWER_FORMAT = 'Answer with one JSON object: {"tool": <name>, "arguments": {<argument>: <value>}}.'


class _Slow(Exception):
    """The whole-request deadline passed while the body was still arriving."""


class _Refused(Exception):
    """The server will not take this request shape (its message is already redacted)."""


class _Ignored(Exception):
    """A 200 answer that ignored what was asked (no ``tool_calls``, no JSON content)."""


def _refuses(status: int, text: str, words: Sequence[str]) -> bool:
    """Whether an HTTP ``status`` answer with body ``text`` refuses a request that uses a feature named by
    ``words``: any 4xx but auth and the retried ones, or a 500/501 that names the feature."""
    if 400 <= status < 500:
        return status not in _NOT_REFUSALS
    low = text.lower()
    return status in (500, 501) and any(w in low for w in words)


def _public_url(url: str) -> str:
    """``url`` without user info, query or fragment (safe to record)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


class OpenAIGenerator(BaseGenerator):
    """A model behind an OpenAI-compatible ``/chat/completions`` endpoint."""

    def __init__(
        self,
        model: str,
        base_url: str,
        api_key: str | None = None,
        timeout_s: float = 60.0,
        max_retries: int = 3,
    ) -> None:
        self.model = model
        self.base_url = _without_userinfo(base_url).rstrip("/")
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.__key = api_key
        register_secret(api_key)
        self.id = f"openai:{model}@{_public_url(self.base_url)}"
        self._rung = 0  # the first rung of _RUNGS worth trying (the one that last answered)
        self._logged_rung = -1

    def __repr__(self) -> str:
        return f"OpenAIGenerator(id={self.id!r}, timeout_s={self.timeout_s}, max_retries={self.max_retries})"

    def _attempt(self, httpx: Any, url: str, payload: dict[str, Any], headers: dict[str, str]) -> Any:
        """One request, bounded to ``timeout_s`` in all: ``(status, headers, body)``.

        httpx's timeouts bound each read, not the request, so the request runs in a daemon thread that the
        caller waits for at most ``timeout_s``; the thread itself stops reading the body at the same deadline.
        """
        deadline = time.monotonic() + self.timeout_s
        box: dict[str, Any] = {}

        def run() -> None:
            try:
                with httpx.Client(timeout=self.timeout_s, follow_redirects=False) as client:
                    with client.stream("POST", url, json=payload, headers=headers) as r:
                        body = bytearray()
                        for part in r.iter_bytes():
                            body += part
                            if len(body) > MAX_BODY_BYTES:
                                raise BackendError(f"openai: {_public_url(url)} sent over {MAX_BODY_BYTES} bytes")
                            if time.monotonic() > deadline:
                                raise _Slow()
                        box["result"] = (r.status_code, r.headers, bytes(body))
            except BaseException as e:  # handed to the caller
                box["error"] = e

        worker = threading.Thread(target=run, name="mlrag-openai", daemon=True)
        worker.start()
        worker.join(max(0.0, deadline - time.monotonic()) + 0.05)
        if worker.is_alive():
            raise _Slow()
        if "error" in box:
            raise box["error"]
        return box["result"]

    def _post(self, payload: dict[str, Any], feature: Sequence[str] = ()) -> dict[str, Any]:
        """The JSON object of a 200 answer to ``payload``, with retries; ``BackendError`` otherwise.

        With ``feature`` (words naming what the request asks for), an answer that refuses it (``_refuses``)
        raises ``_Refused`` at once instead.
        """
        httpx = require("httpx", "openai", "the openai backend")
        headers = {"Content-Type": "application/json", "Accept-Encoding": "identity"}
        if self.__key:
            headers["Authorization"] = f"Bearer {self.__key}"
        url = f"{self.base_url}/chat/completions"
        shown = _public_url(url)
        problem = ""
        for attempt in range(self.max_retries + 1):
            if attempt:
                wait = min(0.5 * 2 ** (attempt - 1), 8.0)
                log.debug("openai: %s; retry %d/%d in %.1f s", problem, attempt, self.max_retries, wait)
                time.sleep(wait)
            try:
                status, r_headers, body = self._attempt(httpx, url, payload, headers)
            except (httpx.TimeoutException, _Slow):
                problem = f"no complete answer from {shown} within {self.timeout_s:g} s"
                continue
            except httpx.TransportError as e:
                problem = f"cannot reach {shown} ({type(e).__name__})"
                continue
            except httpx.HTTPError as e:  # an invalid URL, a protocol error
                raise BackendError(f"openai: request to {shown} failed: {type(e).__name__}") from None
            text = body.decode("utf-8", errors="replace")
            if status == 200:
                try:
                    data = json.loads(text)
                except ValueError:
                    raise BackendError(f"openai: {shown} answered with something that is not JSON") from None
                if not isinstance(data, dict):
                    raise BackendError(f"openai: {shown} answered JSON {type(data).__name__}, not an object")
                return data
            problem = f"{shown} answered HTTP {status}: {redact(' '.join(text.split())[:200])}"
            if feature and _refuses(status, text, feature):
                raise _Refused(problem)
            if status not in _RETRY_STATUS:
                raise BackendError(f"openai: {problem}")
            after = r_headers.get("retry-after", "")
            if after.replace(".", "", 1).isdigit() and attempt < self.max_retries:
                time.sleep(min(float(after), 30.0))
        raise BackendError(f"openai: {problem} (after {self.max_retries + 1} attempts); is the server running?")

    def _payload(self, messages: Messages, params: DecodeParams) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": params.max_new_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "seed": params.seed,
        }
        if params.stop:
            payload["stop"] = list(params.stop)
        return payload

    def _message(self, data: dict[str, Any]) -> dict[str, Any]:
        """``choices[0]`` of an answer (``message`` and ``finish_reason``), its content checked to be text."""
        try:
            choice = data["choices"][0]
            content = choice["message"]["content"]
        except (KeyError, IndexError, TypeError):
            keys = ", ".join(sorted(map(str, data))[:10])
            raise BackendError(f"openai: unexpected response shape from {self.id}: keys {keys}") from None
        if content is not None and not isinstance(content, str):
            raise BackendError(f"openai: {self.id} answered content of type {type(content).__name__}, not text")
        return dict(choice)

    def complete(self, messages: Messages, params: DecodeParams) -> str:
        return str(self._message(self._post(self._payload(messages, params)))["message"]["content"] or "")

    def call_tool(self, messages: Messages, tools: Sequence[Tool], params: DecodeParams) -> ToolCall | None:
        """One call of one of ``tools``, validated (``structured.validate``), through the richest request shape
        the server takes (see the module docstring); None when the model's answer names no tool.

        Example:
            >>> gen.call_tool(msgs, [Tool("train", "train a model")], DecodeParams())  # doctest: +SKIP
            ToolCall(name='train', arguments={}, via='tools')
        """
        if not tools:
            return None
        rung = self._rung
        while True:
            name, via = _RUNGS[rung]
            try:
                call = self._ask(name, messages, tools, params)
            except _Refused as e:
                log.debug("openai: %s refused %s (%s)", self.id, name, e)
                rung += 1
                continue
            except _Ignored:  # the feature is not served at all: skip its other variants too
                log.debug("openai: %s ignored %s", self.id, name)
                rung = next(i for i, (_, v) in enumerate(_RUNGS) if i > rung and v != via)
                continue
            self._rung = rung
            if rung != self._logged_rung:
                self._logged_rung = rung
                log.info("openai: %s: structured answers through %s (via=%s)", self.id, name, via)
            return validate(call, tools)

    def _ask(self, rung: str, messages: Messages, tools: Sequence[Tool], params: DecodeParams) -> ToolCall | None:
        """One request on ``rung``: the call, or None for an answer that names no tool. ``_Refused`` when the
        server refused the request shape, ``_Ignored`` when a 200 answer ignored it."""
        if rung == "free":
            return parse_call(self.complete(_with_tools(messages, tools), params), tools, "free")
        if rung in ("tools", "tools_auto"):
            payload = self._payload(messages, params)
            payload["tools"] = [t.to_openai() for t in tools]
            payload["tool_choice"] = "required" if rung == "tools" else "auto"
            choice = self._message(self._post(payload, _FEATURE_WORDS["tools"]))
            calls = choice["message"].get("tool_calls")
            if not isinstance(calls, list) or not calls:
                raise _Ignored()
            return _read_tool_call(calls[0])
        payload = self._payload(_with_tools(messages, tools), params)
        if rung == "json_schema":
            via, words = "json_schema", _FEATURE_WORDS["json_schema"]
            schema = {"name": "answer", "schema": tools_schema(tools), "strict": False}
            payload["response_format"] = {"type": "json_schema", "json_schema": schema}
        else:
            via, words = "json", _FEATURE_WORDS["json"]
            payload["response_format"] = {"type": "json_object"}
            if rung == "json_object_schema":
                payload["response_format"]["schema"] = tools_schema(tools)
        choice = self._message(self._post(payload, words))
        text = str(choice["message"]["content"] or "")
        cut_off = choice.get("finish_reason") == "length" and text.lstrip().startswith("{")
        if not (cut_off or _is_json_object(text)):  # JSON cut off at max_tokens is the model's, not the server's
            raise _Ignored()
        return parse_call(text, tools, via)


def _with_tools(messages: Messages, tools: Sequence[Tool]) -> Messages:
    """``messages`` with the tools and the answer format appended to the last one."""
    note = f"Tools:\n{describe(tools)}\n\n{_ANSWER_FORMAT}"
    if not messages:
        return [{"role": "user", "content": note}]
    last = messages[-1]
    return [*messages[:-1], {**last, "content": f"{last.get('content') or ''}\n\n{note}"}]


def _is_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _read_tool_call(item: object) -> ToolCall | None:
    """A ``tool_calls`` entry (``{"function": {"name": ..., "arguments": "<JSON>"}}``) as a ToolCall."""
    function = item.get("function") if isinstance(item, dict) else None
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        return None
    args = function.get("arguments") or {}
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except ValueError:
            args = {}
    return ToolCall(function["name"], args if isinstance(args, dict) else {}, "tools")


def _without_userinfo(url: str) -> str:
    """``url`` without ``user:password@`` (registered as secrets first, so no message can show them)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    for piece in (userinfo, *userinfo.split(":", 1)):
        register_secret(piece)
    log.warning(
        "openai: the credentials in the base URL are ignored (never sent as Basic auth); "
        "give the key with api_key= or the variable named by generation.api_key_env"
    )
    return urlunsplit((parts.scheme, hostport, parts.path, parts.query, parts.fragment))


def _number(spec: Spec, key: str, default: float, cast: type) -> Any:
    raw = spec.option(key)
    if raw is None or raw == "":
        return cast(default)
    try:
        value = cast(raw)
    except ValueError:
        raise BackendError(f"openai: option {key}={raw[:20]!r} is not a number") from None
    if not (0 <= value < 1e6):
        raise BackendError(f"openai: option {key}={raw[:20]!r} is out of range")
    return value


def make_openai(spec: Spec, config: GenerationConfig) -> OpenAIGenerator:
    if not spec.target:
        raise BackendError("openai: give a model name, e.g. openai:gpt-4o-mini")
    base_url = spec.option("base_url") or config.base_url or os.environ.get("OPENAI_BASE_URL") or OPENAI_URL
    if urlsplit(base_url).scheme not in ("http", "https"):
        raise BackendError(f"openai: base URL {_public_url(base_url)!r} is not an http(s) URL")
    key = spec.option("api_key") or os.environ.get(config.api_key_env) or os.environ.get("OPENAI_API_KEY")
    register_secret(key)
    if not key and urlsplit(base_url).hostname == "api.openai.com":
        raise BackendError(f"openai: no API key; set the environment variable {config.api_key_env}")
    timeout_s = _number(spec, "timeout_s", config.timeout_s, float)
    if timeout_s <= 0:
        raise BackendError("openai: timeout_s must be > 0")
    return OpenAIGenerator(
        spec.target,
        base_url,
        key,
        timeout_s=timeout_s,
        max_retries=_number(spec, "max_retries", config.max_retries, int),
    )
