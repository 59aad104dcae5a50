"""Secrets out of everything mlrag writes or prints: one helper, used by errors, logs, run files and reports.

``redact(text)`` replaces what looks like a credential with ``***``:

* values of options named like secrets in specs, URLs and ``key=value`` text (``openai:m?api_key=...``,
  ``token=...``, ``password=...``) and in JSON (``"api_key": "..."``);
* ``Authorization: Bearer ...`` / ``Basic ...`` values;
* well-known key shapes (``sk-...``, ``hf_...``, ``ghp_...``, ``github_pat_...``, ``xox?-...``, ``AKIA...``);
* the user info of URLs (``https://user:token@host`` -> ``https://***@host``);
* the exact values of secret-looking environment variables (``*_API_KEY``, ``*_TOKEN``, ``*_SECRET``,
  ``*PASSWORD*``) and of values registered with ``register_secret`` (an API key given on the command line),
  so a server error body that echoes a key is caught whatever the key looks like.

``redact_obj`` does the same through nested dicts/lists (run files), and also blanks the values of keys named
like secrets. ``RedactingFilter`` is a ``logging.Filter`` that redacts each record.

Design choice: patterns over a whitelist. A redaction that hides a harmless string costs a log line's clarity;
one that misses a key leaks it for good. Short values (under 6 characters) are never matched by value, so
that ``token=1`` style flags in commands stay readable only where they cannot be keys.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Mapping
from typing import Any

MASK = "***"
_SECRET_NAME = re.compile(r"(?i)(api[_-]?key|apikey|token|secret|passw(or)?d|credential|auth)")
_KV = re.compile(
    r"(?i)\b((?:[a-z0-9_]*[_-])?(?:api[_-]?key|apikey|access[_-]?token|auth[_-]?token|token|secret|"
    r"passw(?:or)?d|client[_-]?secret))(\s*[=:]\s*)(?!\*\*\*)([^\s&'\",;)}\]]+)"
)
_JSON_KV = re.compile(
    r"(?i)(\"(?:[a-z0-9_]*[_-])?(?:api[_-]?key|apikey|token|secret|passw(?:or)?d)\"\s*:\s*\")([^\"]+)(\")"
)
_AUTH = re.compile(
    r"(?i)(\bbearer|authorization[\"']?\s*[:=]\s*[\"']?(?:basic|token|bearer)?)(\s*)(?!\*\*\*)([A-Za-z0-9._~+/=-]{6,})"
)
_SHAPES = re.compile(
    r"\b(sk-(?:proj-|ant-)?[A-Za-z0-9_-]{8,}|hf_[A-Za-z0-9]{16,}|gh[pousr]_[A-Za-z0-9]{16,}|"
    r"github_pat_[A-Za-z0-9_]{16,}|xox[abposr]-[A-Za-z0-9-]{8,}|AKIA[0-9A-Z]{16}|glpat-[A-Za-z0-9_-]{16,})"
)
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^/\s@?#]+)@")
_ENV_NAME = re.compile(r"(?i)(_API_KEY|_KEY$|_TOKEN|_SECRET|PASSWORD|PASSWD|^HF_TOKEN$)")
_MIN_VALUE = 6

_lock = threading.Lock()
_registered: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember ``value`` (an API key, a token) so that ``redact`` hides it wherever it appears."""
    if value and len(value) >= _MIN_VALUE:
        with _lock:
            _registered.add(value)


def is_secret_name(name: str) -> bool:
    """True for a field or option name that holds a credential (``api_key``, ``token``, ``password``...)."""
    return bool(_SECRET_NAME.search(name))


def _known_values() -> list[str]:
    env = [v for k, v in os.environ.items() if _ENV_NAME.search(k) and len(v) >= _MIN_VALUE]
    with _lock:
        values = set(env) | _registered
    return sorted(values, key=len, reverse=True)  # longest first, so a key containing another goes whole


def redact(text: Any) -> str:
    """``text`` (converted with ``str``) with credentials replaced by ``***``.

    Example:
        >>> redact("openai:gpt-4o?api_key=abcdef123456&timeout_s=5")
        'openai:gpt-4o?api_key=***&timeout_s=5'
        >>> redact("cannot clone https://user:hunter22@example.com/r.git")
        'cannot clone https://***@example.com/r.git'
    """
    s = text if isinstance(text, str) else str(text)
    if not s:
        return s
    for value in _known_values():
        if value in s:
            s = s.replace(value, MASK)
    s = _USERINFO.sub(lambda m: f"{m.group(1)}{MASK}@", s)
    s = _JSON_KV.sub(lambda m: f"{m.group(1)}{MASK}{m.group(3)}", s)
    s = _KV.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", s)
    s = _AUTH.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", s)
    return _SHAPES.sub(MASK, s)


def redact_obj(obj: Any) -> Any:
    """A copy of a JSON-like value (dicts, lists, strings) with every string redacted and the values of
    secret-named keys (``api_key``, ``token``...) replaced by ``***`` (``api_key_env``, a variable's name, stays)."""
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, Mapping):
        out = {}
        for k, v in obj.items():
            name = str(k)
            secret = is_secret_name(name) and not name.endswith("_env") and isinstance(v, str) and v != ""
            out[k] = MASK if secret else redact_obj(v)
        return out
    if isinstance(obj, (list, tuple)):
        return [redact_obj(v) for v in obj]
    return obj


class RedactingFilter(logging.Filter):
    """A logging filter that redacts each record's message (its arguments merged in) and exception text."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to logging's own error handling
            return True
        record.msg, record.args = redact(message), None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True
