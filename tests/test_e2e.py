"""End to end with the real embedded defaults: packaged MiniLM, faiss, packaged SmolLM2, on the example repo.

The network is cut for the whole test (any non-loopback connect raises), so a hub download attempt fails it.
"""

from __future__ import annotations

import shlex
import socket
from pathlib import Path

import pytest

import mlrag


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else str(address)
        if isinstance(host, str) and not (host.startswith("127.") or host in ("localhost", "::1")):
            raise AssertionError(f"network access attempted: {address!r}")
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)


def test_generate_with_embedded_defaults(example_repo: Path, no_network: None) -> None:
    task = "Train an ARMA model on the citeseer dataset with 5 stacks and a learning rate of 0.005"
    gen = mlrag.generate(task, example_repo, k=5)
    assert gen.code.strip(), gen.text
    assert gen.hits and all(h.path for h in gen.hits)
    # the section that documents ARMA on citeseer is retrieved
    assert any("arma" in h.text.lower() for h in gen.hits)
    assert task in gen.prompt
    assert gen.model
    # the structured path renders the exact command from the script's real options
    assert gen.mode == "structured"
    assert shlex.split(gen.code) == shlex.split(
        "cd citation && python train.py --dataset citeseer --lr 0.005 --model arma --num-stacks 5"
    )


def test_free_mode_still_available(example_repo: Path, no_network: None) -> None:
    gen = mlrag.generate("Train ARMA on citeseer", example_repo, k=1, llm="echo", overrides=["generation.mode=free"])
    assert gen.mode == "free" and gen.prompt


def test_index_is_reused_while_content_is_unchanged(example_repo: Path, no_network: None) -> None:
    first = mlrag.build_index(example_repo)
    again = mlrag.build_index(example_repo)
    assert again.path == first.path
    assert again.stats.embedded == 0
    assert [c.id for c in again.chunks] == [c.id for c in first.chunks]
