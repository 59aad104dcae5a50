"""The openai backend: retries and errors against small local HTTP servers, and end to end against a real
OpenAI-compatible server (``python -m llama_cpp.server`` with the packaged SmolLM2 GGUF)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from llama_servers import free_port, llama_servers
from mlrag.config import GenerationConfig
from mlrag.errors import BackendError
from mlrag.generation import DecodeParams, get_generator, run_generation

pytest.importorskip("httpx")
MSGS = [{"role": "user", "content": "Write a bash command that prints hello."}]


def cfg(**kw: object) -> GenerationConfig:
    return GenerationConfig(**{"cache": False, "timeout_s": 5.0, "max_retries": 2, **kw})  # type: ignore[arg-type]


class FakeAPI(BaseHTTPRequestHandler):
    """Answers /v1/chat/completions with the statuses in ``script`` (then 200), recording headers and bodies."""

    script: list[int] = []
    seen: list[tuple[dict[str, str], dict]] = []

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append((dict(self.headers), body))
        status = type(self).script.pop(0) if type(self).script else 200
        payload = {"choices": [{"message": {"role": "assistant", "content": "```bash\necho hello\n```"}}]}
        data = json.dumps(payload if status == 200 else {"error": "busy"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake_api() -> Iterator[str]:
    FakeAPI.script, FakeAPI.seen = [], []
    server = HTTPServer(("127.0.0.1", 0), FakeAPI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()


def test_retries_on_503_then_succeeds(fake_api: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_KEY", "sk-test-123")
    FakeAPI.script = [503, 429]
    gen = get_generator("openai:tiny", cfg(base_url=fake_api, api_key_env="MY_KEY"))
    assert gen.complete(MSGS, DecodeParams(max_new_tokens=7)) == "```bash\necho hello\n```"
    assert len(FakeAPI.seen) == 3
    headers, body = FakeAPI.seen[-1]
    assert headers["Authorization"] == "Bearer sk-test-123"
    assert body["model"] == "tiny" and body["max_tokens"] == 7 and body["messages"] == MSGS


def test_client_error_fails_at_once_without_the_key(fake_api: str) -> None:
    FakeAPI.script = [400]
    gen = get_generator(f"openai:tiny?base_url={fake_api}&api_key=sk-hidden", cfg())
    with pytest.raises(BackendError, match="HTTP 400") as err:
        gen.complete(MSGS, DecodeParams())
    assert len(FakeAPI.seen) == 1 and "sk-hidden" not in str(err.value)


def test_gives_up_after_the_retries(fake_api: str) -> None:
    FakeAPI.script = [500, 500, 500, 500]
    gen = get_generator(f"openai:tiny?base_url={fake_api}", cfg(max_retries=1))
    with pytest.raises(BackendError, match="after 2 attempts"):
        gen.complete(MSGS, DecodeParams())


def test_server_not_running_is_a_clear_error_and_bounded() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    gen = get_generator("openai:tiny", cfg(base_url=url, max_retries=2, timeout_s=2.0))
    start = time.monotonic()
    with pytest.raises(BackendError, match=r"cannot reach .*127\.0\.0\.1.*is the server running"):
        gen.complete(MSGS, DecodeParams())
    assert time.monotonic() - start < 10  # 3 refused connections and 0.5 s + 1 s of backoff


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real OpenAI-compatible server: llama_cpp.server with the packaged GGUF on a free local port."""
    with llama_servers(1, tmp_path_factory.mktemp("llama-server"), timeout_s=120) as servers:
        yield servers[0][0]


def test_real_server_end_to_end(llama_server: str) -> None:
    config = cfg(base_url=llama_server, timeout_s=120.0, max_new_tokens=24, output_type="bash")
    gen = get_generator("openai:smollm2", config)
    params = DecodeParams(max_new_tokens=24)
    text = gen.complete(MSGS, params)
    assert text.strip()
    assert gen.complete(MSGS, params) == text  # greedy decoding on the server is deterministic
    out = run_generation("print hello with a bash command", [], gen, config, cards=[], files=[])
    assert out.model == f"openai:smollm2@{llama_server}" and out.text.strip()
