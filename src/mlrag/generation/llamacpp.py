"""``llama-cpp:<path.gguf>``: a local GGUF model through llama-cpp-python (fast on CPU).

The model is loaded once per process (a module-level cache keyed by path, context size and threads); the chat
template stored in the GGUF formats the messages (``create_chat_completion``). Greedy when
``temperature == 0``; the seed is passed per call, so sampled runs are reproducible.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..config import GenerationConfig
from ..errors import BackendError, require
from .base import BaseGenerator, DecodeParams, Messages, Spec

log = logging.getLogger(__name__)
_LOADED: dict[tuple[str, int, int], Any] = {}
_LOCK = threading.Lock()


@atexit.register
def _close_all() -> None:
    """Free the models before interpreter teardown (``Llama.__del__`` fails once its modules are gone)."""
    with _LOCK:
        for llama in _LOADED.values():
            try:
                llama.close()
            except Exception:  # noqa: BLE001 - best effort at exit
                pass
        _LOADED.clear()


def load_llama(path: str, n_ctx: int, threads: int) -> Any:
    """A ``llama_cpp.Llama`` for ``path``, loaded once per process."""
    key = (path, n_ctx, threads)
    with _LOCK:
        if key not in _LOADED:
            llama_cpp = require("llama_cpp", "llamacpp", "the llama-cpp backend")
            kwargs: dict[str, Any] = {"n_threads": threads} if threads else {}
            probe(path)
            try:
                with _no_extra_bufts(llama_cpp):
                    _LOADED[key] = llama_cpp.Llama(model_path=path, n_ctx=n_ctx, verbose=False, **kwargs)
            except (ValueError, RuntimeError) as e:
                raise BackendError(f"llama-cpp cannot load {path}: {e}") from None
        return _LOADED[key]


_PROBE = """
import sys
from mlrag.generation.llamacpp import _no_extra_bufts
import llama_cpp
with _no_extra_bufts(llama_cpp):
    m = llama_cpp.Llama(model_path=sys.argv[1], n_ctx=512, verbose=False)
m.create_chat_completion(messages=[{"role": "user", "content": "List three colours. " * 12}], max_tokens=4)
"""


def probe(path: str) -> None:
    """Run the model once in a child process before loading it here, so that a native crash of llama.cpp
    (a segfault on some CPUs) is a clear ``BackendError`` instead of the death of the caller's process.

    A passing probe is remembered per (model file, size, mtime, llama-cpp-python version) under the mlrag cache
    folder, so it costs one child process per machine and model. ``MLRAG_LLAMACPP_PROBE=0`` skips it.
    """
    import hashlib
    import os
    import subprocess
    import sys

    if os.environ.get("MLRAG_LLAMACPP_PROBE", "1") == "0":
        return
    from importlib.metadata import PackageNotFoundError, version

    try:
        lib = version("llama-cpp-python")
    except PackageNotFoundError:
        lib = "?"
    st = Path(path).stat()
    key = hashlib.sha1(f"{path}|{st.st_size}|{st.st_mtime_ns}|{lib}".encode()).hexdigest()[:16]
    root = Path(
        os.environ.get("MLRAG_CACHE_DIR") or Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser() / "mlrag"
    )
    mark = root / "llamacpp-probe" / key
    if mark.exists():
        return
    try:
        done = subprocess.run(
            [sys.executable, "-c", _PROBE, path],
            capture_output=True,
            timeout=300,
            env={**os.environ, "MLRAG_LLAMACPP_PROBE": "0"},
        )
    except subprocess.TimeoutExpired:
        raise BackendError(f"llama-cpp: a test prompt on {Path(path).name} did not finish within 300 s") from None
    if done.returncode < 0:
        raise BackendError(
            f"llama-cpp crashed (signal {-done.returncode}) on a test prompt with {Path(path).name}; this build of "
            "llama-cpp-python fails on this CPU: reinstall it (e.g. CMAKE_ARGS='-DGGML_AMX_INT8=OFF') or use "
            "--llm transformers:<model>"
        )
    if done.returncode == 0:
        with contextlib.suppress(OSError):
            mark.parent.mkdir(parents=True, exist_ok=True)
            mark.write_text(lib, encoding="utf-8")
    # any other failure (a Python error) is left to the real load below, which reports it


@contextlib.contextmanager
def _no_extra_bufts(llama_cpp: Any) -> Iterator[None]:
    """Load models with the model parameter ``use_extra_bufts = false``.

    On CPUs with AMX (Sapphire Rapids and later) llama.cpp's extra buffer types (weight repacking for AMX)
    segfault on the first prompt of more than a few tokens (upstream llama.cpp issue 20824). ``Llama()`` does
    not expose the field, so the default-params function it calls is wrapped while the model loads (under
    ``_LOCK``). (Its speed effect on CPUs without AMX was not measured.)
    """
    low: Any = getattr(llama_cpp, "llama_cpp", None)
    original = getattr(low, "llama_model_default_params", None)
    if original is None:
        yield
        return

    def params() -> Any:
        p = original()
        if hasattr(p, "use_extra_bufts"):
            p.use_extra_bufts = False
        return p

    low.llama_model_default_params = params
    try:
        yield
    finally:
        low.llama_model_default_params = original


class LlamaCppGenerator(BaseGenerator):
    """A GGUF chat model run in-process by llama.cpp."""

    def __init__(self, path: str, n_ctx: int = 4096, threads: int = 0) -> None:
        file = Path(path).expanduser()
        if not file.is_file():
            raise BackendError(f"llama-cpp: no GGUF file at {path}")
        self.path = str(file.resolve())
        self.llama = load_llama(self.path, n_ctx, threads)  # 0: llama.cpp's default (half the cores)
        self.id = f"llama-cpp:{file.name}"

    def count_tokens(self, text: str) -> int:
        return len(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def complete(self, messages: Messages, params: DecodeParams) -> str:
        try:
            out = self.llama.create_chat_completion(
                messages=messages,
                max_tokens=params.max_new_tokens,
                temperature=params.temperature,
                top_p=params.top_p if not params.greedy else 1.0,
                top_k=1 if params.greedy else 40,
                seed=params.seed,
                stop=list(params.stop) or None,
            )
        except ValueError as e:  # e.g. "Requested tokens (5000) exceed context window of 4096"
            raise BackendError(f"llama-cpp: {e}; lower generation.context_tokens or raise generation.n_ctx") from None
        return str(out["choices"][0]["message"]["content"] or "")


def make_llamacpp(spec: Spec, config: GenerationConfig) -> LlamaCppGenerator:
    if not spec.target:
        raise BackendError("llama-cpp: give a GGUF path, e.g. llama-cpp:./SmolLM2-135M-Instruct.Q4_1.gguf")
    return LlamaCppGenerator(
        spec.target,
        n_ctx=int(spec.option("n_ctx") or config.n_ctx),
        threads=int(spec.option("threads") or config.threads),
    )
