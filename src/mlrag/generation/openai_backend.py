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
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..config import GenerationConfig
from ..errors import BackendError, require
from ..redact import redact, register_secret
from .base import BaseGenerator, DecodeParams, Messages, Spec

log = logging.getLogger(__name__)
OPENAI_URL = "https://api.openai.com/v1"
_RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
MAX_BODY_BYTES = 16 * 1024 * 1024


class _Slow(Exception):
    """The whole-request deadline passed while the body was still arriving."""


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

    def _post(self, payload: dict[str, Any]) -> dict[str, Any]:
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
            if status not in _RETRY_STATUS:
                raise BackendError(f"openai: {problem}")
            after = r_headers.get("retry-after", "")
            if after.replace(".", "", 1).isdigit() and attempt < self.max_retries:
                time.sleep(min(float(after), 30.0))
        raise BackendError(f"openai: {problem} (after {self.max_retries + 1} attempts); is the server running?")

    def complete(self, messages: Messages, params: DecodeParams) -> str:
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
        data = self._post(payload)
        try:
            content = data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            keys = ", ".join(sorted(map(str, data))[:10])
            raise BackendError(f"openai: unexpected response shape from {self.id}: keys {keys}") from None
        if content is not None and not isinstance(content, str):
            raise BackendError(f"openai: {self.id} answered content of type {type(content).__name__}, not text")
        return content or ""


def _without_userinfo(url: str) -> str:
    """``url`` without ``user:password@`` (registered as secrets first, so no message can show them)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    for piece in (userinfo, *userinfo.split(":", 1)):
        register_secret(piece)
    log.warning("openai: the credentials in the base URL are ignored (never sent as Basic auth); "
                "give the key with api_key= or the variable named by generation.api_key_env")
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
