"""``OpenAIGenerator.call_tool``: the ladder tools -> json_schema -> json_object -> free text against small local
servers that each support a different part of the API, and once against a real ``llama_cpp.server``."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from llama_servers import free_port, llama_servers
from mlrag.config import GenerationConfig
from mlrag.errors import BackendError
from mlrag.generation import DecodeParams, get_generator
from mlrag.generation.structured import Tool, ToolCall, call_tool, describe, tools_schema

pytest.importorskip("httpx")
KEY = "sk-structured-echo-0123456789"
MSGS = [{"role": "user", "content": "Train the vision transformer for 3 epochs."}]
TOOLS = [
    Tool(
        "train",
        "train a model",
        {
            "type": "object",
            "properties": {"epochs": {"type": "integer"}, "model": {"type": "string", "enum": ["resnet", "vit"]}},
        },
    ),
    Tool("evaluate", "evaluate a checkpoint", {"type": "object", "properties": {"split": {"enum": ["dev", "test"]}}}),
]


class FakeAPI(BaseHTTPRequestHandler):
    """An OpenAI-compatible server whose ``mode`` says what it supports; it answers with ``answer``.

    modes: tools (function calling), no_required (tools, but tool_choice "required" is refused), tools_500
    (llama.cpp without --jinja: 500 "Unsupported param: tools", json_schema works), json_schema (tools refused
    with 400), json_object (only plain json_object; an extra "schema" key is refused as OpenAI does), plain (every
    structured feature refused), ignore (200 with prose whatever was asked), broken (500 to everything), auth (401).
    Refusal bodies echo the API key, as careless servers do.
    """

    mode = "tools"
    answer: dict[str, Any] = {}
    seen: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        cls = type(self)
        cls.seen.append(body)
        status, payload = self.reply(cls.mode, body, cls.answer)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    @staticmethod
    def reply(mode: str, body: dict[str, Any], answer: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        def refuse(status: int, what: str) -> tuple[int, dict[str, Any]]:
            return status, {"error": {"message": f"{what} (key {KEY}; Authorization: Bearer {KEY})"}}

        def content(text: str) -> tuple[int, dict[str, Any]]:
            return 200, {"choices": [{"message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]}

        fmt = body.get("response_format") or {}
        if mode == "broken":
            return refuse(500, "internal error")
        if mode == "auth":
            return refuse(401, "Incorrect API key provided")
        if mode == "ignore":
            return content(f"Sure. {json.dumps(answer)} is my answer.")
        if "tools" in body:
            if mode == "no_required" and body.get("tool_choice") == "required":
                return refuse(400, "tool_choice 'required' is not supported")
            if mode in ("tools", "no_required"):
                call = {
                    "type": "function",
                    "function": {"name": answer["tool"], "arguments": json.dumps(answer["arguments"])},
                }
                message = {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", **call}]}
                return 200, {"choices": [{"message": message, "finish_reason": "tool_calls"}]}
            if mode == "tools_500":
                return refuse(500, "Unsupported param: tools")
            return refuse(400, "tools are not supported by this model")
        if fmt.get("type") == "json_schema":
            if mode in ("json_schema", "tools_500"):
                return content(json.dumps(answer))
            return refuse(422, "response_format.type: input should be 'text' or 'json_object'")
        if fmt.get("type") == "json_object":
            if mode == "json_object" and "schema" in fmt:
                return refuse(400, "Unknown parameter: 'response_format.schema'")
            if mode in ("json_object", "json_schema", "tools_500"):
                return content(json.dumps(answer))
            return refuse(400, "response_format is not supported")
        return content(f"Sure. {json.dumps(answer)} is my answer.")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake_api() -> Iterator[str]:
    FakeAPI.mode, FakeAPI.seen = "tools", []
    FakeAPI.answer = {"tool": "train", "arguments": {"epochs": "3", "model": "vit"}}
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeAPI)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()
    server.server_close()


@pytest.fixture
def mlrag_logs(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> pytest.LogCaptureFixture:
    monkeypatch.setattr(logging.getLogger("mlrag"), "propagate", True)  # the CLI's setup_logging may turn it off
    caplog.set_level(logging.DEBUG, logger="mlrag")
    return caplog


def gen_for(url: str, **kw: object) -> Any:
    config = GenerationConfig(**{"cache": False, "timeout_s": 5.0, "max_retries": 2, **kw})  # type: ignore[arg-type]
    return get_generator(f"openai:tiny?base_url={url}&api_key={KEY}", config)


# mode -> (via, requests on the first call, what the request that answered asks for)
ROUTES = {
    "tools": ("tools", 1, "tools/required"),
    "no_required": ("tools", 2, "tools/auto"),
    "tools_500": ("json_schema", 3, "json_schema"),
    "json_schema": ("json_schema", 3, "json_schema"),
    "json_object": ("json", 5, "json_object"),
    "plain": ("free", 6, "text"),
    "ignore": ("free", 4, "text"),
}


def shape(body: dict[str, Any]) -> str:
    if "tools" in body:
        return f"tools/{body['tool_choice']}"
    fmt = body.get("response_format")
    if fmt is None:
        return "text"
    return fmt["type"] + ("+schema" if "schema" in fmt else "")


@pytest.mark.parametrize("mode", sorted(ROUTES))
def test_each_server_is_answered_through_its_richest_feature(fake_api: str, mode: str) -> None:
    FakeAPI.mode = mode
    via, requests, used = ROUTES[mode]
    gen = gen_for(fake_api)
    got = call_tool(gen, MSGS, TOOLS, DecodeParams(max_new_tokens=64))
    assert got == ToolCall("train", {"epochs": 3, "model": "vit"}, via)  # "3" became the integer the schema asks
    assert len(FakeAPI.seen) == requests
    assert shape(FakeAPI.seen[-1]) == used
    # the level that worked is remembered: the second call is one request of the same shape
    again = call_tool(gen, MSGS, TOOLS, DecodeParams(max_new_tokens=64))
    assert again == got
    assert len(FakeAPI.seen) == requests + 1 and shape(FakeAPI.seen[-1]) == used


def test_the_requests_have_the_documented_shapes(fake_api: str) -> None:
    FakeAPI.mode = "plain"
    call_tool(gen_for(fake_api), MSGS, TOOLS, DecodeParams(max_new_tokens=64))
    tools, auto, schema, obj_schema, obj, text = FakeAPI.seen
    assert tools["tools"] == [t.to_openai() for t in TOOLS] and tools["tool_choice"] == "required"
    assert tools["messages"] == MSGS and tools["max_tokens"] == 64 and tools["model"] == "tiny"
    assert auto["tool_choice"] == "auto"
    assert schema["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": tools_schema(TOOLS), "strict": False},
    }
    assert obj_schema["response_format"] == {"type": "json_object", "schema": tools_schema(TOOLS)}
    assert obj["response_format"] == {"type": "json_object"}
    assert "tools" not in text and "response_format" not in text
    for body in (schema, obj_schema, obj, text):  # every rung but tools describes the tools in the prompt
        assert describe(TOOLS) in body["messages"][-1]["content"]
        assert body["messages"][-1]["content"].startswith(MSGS[0]["content"])
    assert MSGS == [{"role": "user", "content": "Train the vision transformer for 3 epochs."}]  # not mutated


@pytest.mark.parametrize("mode", sorted(ROUTES))
@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"tool": "deploy", "arguments": {"epochs": 3}}, None),  # a tool that was not offered
        ({"tool": "train", "arguments": {"lr": 0.1, "epochs": 2}}, {"epochs": 2}),  # an unknown argument
        ({"tool": "train", "arguments": {"model": "bert", "epochs": "many"}}, {}),  # not in the enum, not an int
        ({"tool": "evaluate", "arguments": {"split": "test"}}, {"split": "test"}),
    ],
)
def test_only_what_the_tools_allow_comes_back(
    fake_api: str, mode: str, answer: dict[str, Any], expected: dict[str, Any] | None
) -> None:
    FakeAPI.mode, FakeAPI.answer = mode, answer
    gen = gen_for(fake_api)
    for got in (gen.call_tool(MSGS, TOOLS, DecodeParams()), call_tool(gen, MSGS, TOOLS, DecodeParams())):
        if expected is None:
            assert got is None
        else:
            assert got == ToolCall(answer["tool"], expected, ROUTES[mode][0])


def test_a_500_that_names_the_feature_is_a_refusal_not_retried(fake_api: str) -> None:
    FakeAPI.mode = "tools_500"
    gen = gen_for(fake_api, max_retries=3)
    start = time.monotonic()
    assert gen.call_tool(MSGS, TOOLS, DecodeParams()).via == "json_schema"
    assert [shape(b) for b in FakeAPI.seen] == ["tools/required", "tools/auto", "json_schema"]
    assert time.monotonic() - start < 0.5 * 3  # no backoff was slept


def test_a_500_that_names_no_feature_is_retried_and_raised(fake_api: str) -> None:
    FakeAPI.mode = "broken"
    with pytest.raises(BackendError, match="HTTP 500.*after 2 attempts") as err:
        gen_for(fake_api, max_retries=1).call_tool(MSGS, TOOLS, DecodeParams())
    assert len(FakeAPI.seen) == 2 and all("tools" in b for b in FakeAPI.seen)  # the ladder was not walked
    assert KEY not in str(err.value)


def test_a_bad_key_is_an_error_not_a_refusal(fake_api: str) -> None:
    FakeAPI.mode = "auth"
    with pytest.raises(BackendError, match="HTTP 401") as err:
        gen_for(fake_api).call_tool(MSGS, TOOLS, DecodeParams())
    assert len(FakeAPI.seen) == 1 and KEY not in str(err.value)


def test_a_json_answer_cut_off_at_max_tokens_is_not_taken_for_a_refusal(
    fake_api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    FakeAPI.mode = "json_schema"
    cut = (200, {"choices": [{"message": {"content": '{"tool": "evaluate", "argu'}, "finish_reason": "length"}]})
    real = FakeAPI.reply
    monkeypatch.setattr(
        FakeAPI, "reply", staticmethod(lambda m, b, a: cut if "response_format" in b else real(m, b, a))
    )
    gen = gen_for(fake_api)
    assert gen.call_tool(MSGS, TOOLS, DecodeParams()) == ToolCall("evaluate", {}, "json_schema")
    assert shape(FakeAPI.seen[-1]) == "json_schema"
    gen.call_tool(MSGS, TOOLS, DecodeParams())
    assert shape(FakeAPI.seen[-1]) == "json_schema"  # still the json_schema rung, not downgraded


def test_the_level_is_logged_once_and_secrets_never(fake_api: str, mlrag_logs: pytest.LogCaptureFixture) -> None:
    FakeAPI.mode = "json_object"
    gen = gen_for(fake_api)
    for _ in range(3):
        assert gen.call_tool(MSGS, TOOLS, DecodeParams()).via == "json"
    infos = [r.getMessage() for r in mlrag_logs.records if r.levelno == logging.INFO]
    assert len(infos) == 1 and "json_object" in infos[0] and "via=json" in infos[0]
    refused = [r.getMessage() for r in mlrag_logs.records if "refused" in r.getMessage()]
    assert len(refused) == 4 and any("tools are not supported" in m for m in refused)  # the bodies were logged
    assert KEY not in mlrag_logs.text and all(KEY not in r.getMessage() for r in mlrag_logs.records)
    assert KEY not in repr(gen) and KEY not in gen.id


def test_an_unreachable_server_is_a_backend_error_in_bounded_time(mlrag_logs: pytest.LogCaptureFixture) -> None:
    gen = gen_for(f"http://127.0.0.1:{free_port()}/v1", max_retries=1, timeout_s=2.0)
    start = time.monotonic()
    with pytest.raises(BackendError, match=r"cannot reach .*127\.0\.0\.1.*after 2 attempts"):
        gen.call_tool(MSGS, TOOLS, DecodeParams())
    assert time.monotonic() - start < 5  # 2 refused connections and 0.5 s of backoff, no walk down the ladder
    assert [r for r in mlrag_logs.records if r.levelno >= logging.INFO] == []


def test_no_tools_means_no_request(fake_api: str) -> None:
    assert gen_for(fake_api).call_tool(MSGS, [], DecodeParams()) is None
    assert FakeAPI.seen == []


@pytest.mark.slow
def test_real_llama_cpp_server_answers_with_one_of_the_tools(tmp_path: Any) -> None:
    """llama-cpp-python's server takes ``tools`` but ignores them without a function-calling chat format and
    refuses json_schema (a 500 naming response_format), so the answer comes through json_object with the schema,
    which it turns into a grammar."""
    with llama_servers(1, tmp_path, timeout_s=120) as servers:
        gen = gen_for(servers[0][0], timeout_s=120.0)
        params = DecodeParams(max_new_tokens=48)
        got = call_tool(gen, MSGS, TOOLS, params)
        assert got is not None and got.name in {"train", "evaluate"}
        assert got.via in {"tools", "json_schema", "json"}
        assert set(got.arguments) <= set(next(t for t in TOOLS if t.name == got.name).parameters["properties"])
        assert call_tool(gen, MSGS, TOOLS, params) == got  # greedy, and the same rung the second time
