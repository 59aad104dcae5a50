"""The llama-cpp backend survives a native crash: the probe child's death becomes a BackendError."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mlrag.errors import BackendError
from mlrag.generation import llamacpp


def test_probe_turns_a_crash_into_one_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")
    monkeypatch.setenv("MLRAG_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(llamacpp, "_PROBE", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)")
    with pytest.raises(BackendError, match=r"crashed \(signal 11\)"):
        llamacpp.probe(str(model))
    assert not (tmp_path / "cache" / "llamacpp-probe").exists()  # a crash is never remembered as a pass


def test_probe_pass_is_remembered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")
    monkeypatch.setenv("MLRAG_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(llamacpp, "_PROBE", "pass")
    llamacpp.probe(str(model))
    calls: list[object] = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append(a))
    llamacpp.probe(str(model))
    assert calls == []


@pytest.mark.slow
def test_packaged_model_loads_without_extra_buffer_types() -> None:
    pytest.importorskip("llama_cpp")
    from mlrag.generation.base import packaged_gguf

    llama = llamacpp.load_llama(str(packaged_gguf()), 512, 1)
    assert llama.model_params.use_extra_bufts is False
