"""Structured answers: the model picks one of a few tools and fills its arguments; nothing else can come out.

A *tool* is one candidate entry point: a name and a JSON schema of its parameters (property names are
identifiers; values are enums where the caller knows the allowed values). ``call_tool`` asks a generator for
one call and returns it validated against the tools, or None:

* a backend with its own ``call_tool(messages, tools, params)`` answers natively (OpenAI-compatible servers:
  ``tools`` function calling, then ``response_format`` json_schema, then plain JSON, then free text;
  transformers: constrained decoding);
* llama-cpp-python (``generator.llama``): the tools become one JSON schema (``tools_schema``) that
  llama-cpp-python turns into a grammar, so the reply can only be one of the tools with valid values;
* any other generator: the same schema is described in the prompt, the first JSON object of the reply is
  parsed.

Whatever the route, ``validate`` keeps only a known tool name and the arguments its schema allows (enum values
in the enum, numbers that parse), so an option that does not exist never reaches the renderer.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .base import DecodeParams, Messages

log = logging.getLogger(__name__)

_NAME = re.compile(r"[^A-Za-z0-9_]")


def tool_name(text: str) -> str:
    """A function name every API accepts (``^[A-Za-z0-9_]{1,64}$``) for ``text``."""
    name = _NAME.sub("_", text).strip("_") or "tool"
    return ("t_" + name if name[0].isdigit() else name)[:64]


@dataclass(frozen=True)
class Tool:
    """One candidate: ``name`` (an identifier), a one-line ``description`` and ``parameters`` (a JSON schema
    object whose properties are identifiers)."""

    name: str
    description: str
    parameters: Mapping[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})

    def to_openai(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": dict(self.parameters)},
        }


@dataclass(frozen=True)
class ToolCall:
    """The model's answer: which tool, with which arguments, and how it was obtained (``via``: tools |
    json_schema | json | grammar | free)."""

    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    via: str = ""


def tools_schema(tools: Sequence[Tool]) -> dict[str, Any]:
    """One JSON schema for "one of ``tools``": ``{"tool": <name>, "arguments": {...}}``.

    With a single tool the ``anyOf`` is dropped. Property names are identifiers (llama-cpp-python builds no
    grammar for names like ``--epochs``).
    """
    branches = [
        {
            "type": "object",
            "properties": {"tool": {"type": "string", "enum": [t.name]}, "arguments": dict(t.parameters)},
            "required": ["tool", "arguments"],
        }
        for t in tools
    ]
    return branches[0] if len(branches) == 1 else {"anyOf": branches}


def describe(tools: Sequence[Tool]) -> str:
    """The tools as text for a prompt (backends without native structured output)."""
    lines = []
    for i, t in enumerate(tools, 1):
        props = t.parameters.get("properties", {})
        args = ", ".join(
            k + (f" (one of {', '.join(map(str, v['enum'][:8]))})" if "enum" in v else "") for k, v in props.items()
        )
        lines.append(f"{i}. {t.name}: {t.description}" + (f"\n   arguments: {args}" if args else ""))
    return "\n".join(lines)


def _coerce(value: Any, schema: Mapping[str, Any]) -> Any:
    """``value`` when ``schema`` allows it (after the obvious coercions), else None."""
    if "enum" in schema:
        allowed = list(schema["enum"])
        if value in allowed:
            return value
        text = str(value)
        return next((a for a in allowed if str(a) == text), None)
    kind = schema.get("type")
    if kind == "array":
        if not isinstance(value, list):
            value = [value]
        items = [_coerce(v, schema.get("items", {})) for v in value]
        return [v for v in items if v is not None] or None
    if kind == "integer":
        try:
            return int(str(value))
        except ValueError:
            return None
    if kind == "number":
        try:
            float(str(value))
            return value if isinstance(value, (int, float)) else str(value)
        except ValueError:
            return None
    if kind == "boolean":
        return value if isinstance(value, bool) else None
    if isinstance(value, (dict, list)) or value is None:
        return None
    return str(value)


def validate(call: ToolCall | None, tools: Sequence[Tool]) -> ToolCall | None:
    """``call`` restricted to what ``tools`` allow: a known name, known arguments, allowed values; else None."""
    if call is None:
        return None
    tool = next((t for t in tools if t.name == call.name), None)
    if tool is None:
        return None
    props = tool.parameters.get("properties", {})
    args: dict[str, Any] = {}
    for key, value in (call.arguments or {}).items():
        if key in props:
            got = _coerce(value, props[key])
            if got is not None:
                args[key] = got
    return ToolCall(tool.name, args, call.via)


def parse_call(text: str, tools: Sequence[Tool], via: str) -> ToolCall | None:
    """The first JSON object in ``text`` read as ``{"tool": name, "arguments": {...}}`` (also OpenAI's
    ``{"name": ..., "arguments": ...}``), or a bare tool name or number when the reply has no JSON."""
    for m in re.finditer(r"\{", text):
        try:
            obj, _ = json.JSONDecoder().raw_decode(text[m.start() :])
        except ValueError:
            continue
        if isinstance(obj, dict):
            name = obj.get("tool", obj.get("name"))
            args = obj.get("arguments", obj.get("parameters", {}))
            if isinstance(args, str):
                try:
                    args = json.loads(args)
                except ValueError:
                    args = {}
            if isinstance(name, str) and isinstance(args, dict):
                return ToolCall(name, args, via)
        break
    names = [t.name for t in tools]
    for word in re.findall(r"[A-Za-z0-9_]+", text):
        if word in names:
            return ToolCall(word, {}, via)
        if word.isdigit() and 1 <= int(word) <= len(tools):
            return ToolCall(names[int(word) - 1], {}, via)
    return None


def call_tool(generator: object, messages: Messages, tools: Sequence[Tool], params: DecodeParams) -> ToolCall | None:
    """One validated call of one of ``tools`` (see the module docstring for the routes); None when the model
    gives no usable answer. Backend errors propagate (``BackendError``)."""
    if not tools:
        return None
    inner = getattr(generator, "inner", generator)  # the output cache wraps backends as ``inner``
    native = getattr(generator, "call_tool", None) or getattr(inner, "call_tool", None)
    if callable(native):
        return validate(native(messages, tools, params), tools)
    llama = getattr(inner, "llama", None)
    if llama is not None:
        out = llama.create_chat_completion(
            messages=messages,
            max_tokens=params.max_new_tokens,
            temperature=0.0,
            response_format={"type": "json_object", "schema": tools_schema(tools)},
        )
        return validate(parse_call(str(out["choices"][0]["message"]["content"] or ""), tools, "grammar"), tools)
    complete = getattr(generator, "complete", None)
    if not callable(complete):
        return None
    prompt = list(messages)
    prompt[-1] = {
        "role": prompt[-1]["role"],
        "content": f"{prompt[-1]['content']}\n\nAnswer with one JSON object: "
        '{"tool": <name>, "arguments": {<argument>: <value>}}.',
    }
    return validate(parse_call(str(complete(prompt, params)), tools, "free"), tools)
