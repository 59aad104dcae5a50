"""``openai:<model>``: any OpenAI-compatible chat endpoint (OpenAI, vLLM, llama.cpp's server, Ollama).

Design choices:
    * One ``POST {base_url}/chat/completions`` through ``httpx`` with an explicit retry policy, rather than the
      ``openai`` SDK: the request is small, and owning the loop makes the time bound and the error messages
      exact and testable (the SDK's retry and timeout defaults vary between releases).
    * Retries (``config.max_retries``) with exponential backoff (0.5 s, 1 s, 2 s …, capped at 8 s; a
      ``Retry-After`` header up to 30 s is honoured) on 429, 5xx, timeouts and refused connections; any other
      4xx fails at once. The worst case is bounded: ``(retries + 1) * timeout_s`` plus the backoff.
    * Base URL: the ``base_url=`` option, else ``config.base_url``, else ``$OPENAI_BASE_URL``, else OpenAI's.
      Key: the ``api_key=`` option, else the variable named by ``config.api_key_env``, else ``$OPENAI_API_KEY``;
      a local server needs none. The key lives only in the request header: never in ``id`` (which keys caches
      and goes into results), ``repr``, logs or error messages.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..config import GenerationConfig
from ..errors import BackendError, require
from .base import BaseGenerator, DecodeParams, Messages, Spec

log = logging.getLogger(__name__)
OPENAI_URL = "https://api.openai.com/v1"
_RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


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
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.__key = api_key
        self.id = f"openai:{model}@{_public_url(self.base_url)}"

    def __repr__(self) -> str:
        return f"OpenAIGenerator(id={self.id!r}, timeout_s={self.timeout_s}, max_retries={self.max_retries})"

    def _post(self, payload: dict[str, Any]) -> dict[str, Any]:
        httpx = require("httpx", "openai", "the openai backend")
        headers = {"Content-Type": "application/json"}
        if self.__key:
            headers["Authorization"] = f"Bearer {self.__key}"
        url = f"{self.base_url}/chat/completions"
        shown = _public_url(url)
        problem = ""
        for attempt in range(self.max_retries + 1):
            if attempt:
                wait = min(0.5 * 2 ** (attempt - 1), 8.0)
                log.info("openai: %s; retry %d/%d in %.1f s", problem, attempt, self.max_retries, wait)
                time.sleep(wait)
            try:
                r = httpx.post(url, json=payload, headers=headers, timeout=self.timeout_s)
            except httpx.TimeoutException:
                problem = f"no answer from {shown} within {self.timeout_s:g} s"
                continue
            except httpx.TransportError as e:
                problem = f"cannot reach {shown} ({type(e).__name__})"
                continue
            if r.status_code == 200:
                try:
                    return dict(r.json())
                except ValueError:
                    raise BackendError(f"openai: {shown} answered with something that is not JSON") from None
            problem = f"{shown} answered HTTP {r.status_code}: {r.text.strip()[:200]}"
            if r.status_code not in _RETRY_STATUS:
                raise BackendError(f"openai: {problem}")
            after = r.headers.get("retry-after", "")
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
            return str(data["choices"][0]["message"]["content"] or "")
        except (KeyError, IndexError, TypeError):
            raise BackendError(f"openai: unexpected response shape from {self.id}: keys {sorted(data)}") from None


def make_openai(spec: Spec, config: GenerationConfig) -> OpenAIGenerator:
    if not spec.target:
        raise BackendError("openai: give a model name, e.g. openai:gpt-4o-mini")
    base_url = spec.option("base_url") or config.base_url or os.environ.get("OPENAI_BASE_URL") or OPENAI_URL
    key = spec.option("api_key") or os.environ.get(config.api_key_env) or os.environ.get("OPENAI_API_KEY")
    if not key and urlsplit(base_url).hostname == "api.openai.com":
        raise BackendError(f"openai: no API key; set the environment variable {config.api_key_env}")
    return OpenAIGenerator(
        spec.target,
        base_url,
        key,
        timeout_s=float(spec.option("timeout_s") or config.timeout_s),
        max_retries=int(spec.option("max_retries") or config.max_retries),
    )
