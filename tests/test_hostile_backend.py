"""Hostile OpenAI-compatible servers: each failure is one redacted ``BackendError`` within the time bound."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mlrag.config import GenerationConfig
from mlrag.errors import BackendError
from mlrag.generation import DecodeParams, get_generator

pytest.importorskip("httpx")
MSGS = [{"role": "user", "content": "hi"}]
KEY = "sk-test-echoedkey0123456789"

Behaviour = Callable[[BaseHTTPRequestHandler], None]


def _send(h: BaseHTTPRequestHandler, status: int, body: bytes, ctype: str = "application/json") -> None:
    h.send_response(status)
    h.send_header("Content-Type", ctype)
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


@pytest.fixture
def server() -> Iterator[Callable[[Behaviour], str]]:
    servers: list[ThreadingHTTPServer] = []

    def start(behaviour: Behaviour) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    behaviour(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: object) -> None:
                pass

        srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        srv.daemon_threads = True
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return f"http://127.0.0.1:{srv.server_port}/v1"

    yield start
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def _gen(url: str, **kw: object) -> object:
    cfg = GenerationConfig(**{"cache": False, "timeout_s": 1.0, "max_retries": 0, **kw})  # type: ignore[arg-type]
    return get_generator(f"openai:m?base_url={url}&api_key={KEY}", cfg)


def _fails(gen: object, match: str, bound_s: float) -> str:
    start = time.monotonic()
    with pytest.raises(BackendError, match=match) as e:
        gen.complete(MSGS, DecodeParams())  # type: ignore[attr-defined]
    assert time.monotonic() - start < bound_s
    text = str(e.value)
    assert "\n" not in text and KEY not in text
    return text


def test_a_server_that_trickles_bytes_is_bounded_by_the_whole_timeout(server: Callable[[Behaviour], str]) -> None:
    def trickle(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", "100000")
        h.end_headers()
        for _ in range(200):  # one byte every 0.1 s: each read is fast, the whole answer takes 20 s
            h.wfile.write(b" ")
            h.wfile.flush()
            time.sleep(0.1)

    _fails(_gen(server(trickle)), "within 1 s", bound_s=4.0)


def test_trickled_headers_are_bounded_too(server: Callable[[Behaviour], str]) -> None:
    def slow_headers(h: BaseHTTPRequestHandler) -> None:
        h.wfile.write(b"HTTP/1.1 200 OK\r\n")
        for i in range(100):
            h.wfile.write(f"X-{i}: {i}\r\n".encode())
            h.wfile.flush()
            time.sleep(0.1)

    _fails(_gen(server(slow_headers)), "within", bound_s=4.0)


@pytest.mark.parametrize("body", [b"null", b"[1, 2]", b'"text"', b"42"])
def test_json_that_is_not_an_object_is_an_error(server: Callable[[Behaviour], str], body: bytes) -> None:
    _fails(_gen(server(lambda h: _send(h, 200, body))), "not an object", bound_s=5.0)


@pytest.mark.parametrize("payload", [{"choices": []}, {"choices": None}, {"choices": [{"message": None}]},
                                     {"choices": [{"message": {"content": {"a": 1}}}]}, {}])
def test_odd_response_shapes_are_errors(server: Callable[[Behaviour], str], payload: object) -> None:
    _fails(_gen(server(lambda h: _send(h, 200, json.dumps(payload).encode()))), "openai", bound_s=5.0)


def test_null_content_is_an_empty_answer(server: Callable[[Behaviour], str]) -> None:
    payload = {"choices": [{"message": {"content": None}}]}
    gen = _gen(server(lambda h: _send(h, 200, json.dumps(payload).encode())))
    assert gen.complete(MSGS, DecodeParams()) == ""  # type: ignore[attr-defined]


def test_non_json_and_binary_bodies_are_errors(server: Callable[[Behaviour], str]) -> None:
    _fails(_gen(server(lambda h: _send(h, 200, b"\xff\xfe\x00garbage", "text/html"))), "not JSON", bound_s=5.0)


def test_a_401_body_that_echoes_the_key_is_redacted(server: Callable[[Behaviour], str]) -> None:
    body = json.dumps({"error": {"message": f"Incorrect API key provided: {KEY}. Bearer {KEY}"}}).encode()
    text = _fails(_gen(server(lambda h: _send(h, 401, body))), "HTTP 401", bound_s=5.0)
    assert "Incorrect API key" in text


def test_a_huge_body_is_refused(server: Callable[[Behaviour], str], monkeypatch: pytest.MonkeyPatch) -> None:
    from mlrag.generation import openai_backend

    monkeypatch.setattr(openai_backend, "MAX_BODY_BYTES", 10_000)
    _fails(_gen(server(lambda h: _send(h, 200, b"[" + b"0," * 50_000 + b"0]")), timeout_s=5.0), "bytes", 10.0)


def test_a_dead_endpoint_is_one_line_in_bounded_time(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    caplog.set_level(logging.INFO, logger="mlrag")
    logging.getLogger("mlrag").propagate = True  # the CLI's setup_logging may have turned it off
    gen = _gen(f"http://127.0.0.1:{port}/v1", max_retries=2)
    text = _fails(gen, "cannot reach", bound_s=10.0)
    assert "3 attempts" in text
    assert [r for r in caplog.records if r.levelno >= logging.INFO and r.name.startswith("mlrag")] == []


def test_a_server_that_accepts_and_never_answers_is_bounded() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    try:
        _fails(_gen(f"http://127.0.0.1:{listener.getsockname()[1]}/v1"), "within", bound_s=4.0)
    finally:
        listener.close()
