"""Plug-point registries (``mlrag.registry``): built-ins and plugins register the same way, entry points are
found lazily, config validation asks the registry, and an unknown name is one line listing the valid ones."""

from __future__ import annotations

import importlib.metadata
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlrag.config import Config, EmbeddingConfig, GenerationConfig, StoreConfig, load_config
from mlrag.embedding import base as embedding
from mlrag.errors import BackendError, ConfigError
from mlrag.generation import base as generation
from mlrag.registry import Registry
from mlrag.stores import base as stores

PLUGIN = "mlrag_test_plugin_xyz"


class _EchoLike(generation.BaseGenerator):
    id = "plugin-gen"

    def complete(self, messages: Any, params: Any) -> str:
        return "```bash\npython plugin.py\n```"


def _make_store(cfg: StoreConfig, dim: int, folder: Path | None) -> Any:
    from mlrag.stores.numpy_store import NumpyStore

    return NumpyStore(dim)


def _make_embedder(cfg: EmbeddingConfig) -> Any:
    from mlrag.embedding.fake import FakeEmbedder

    return FakeEmbedder(dim=8)


def _runtime(model: str, cfg: EmbeddingConfig, name: str | None) -> Any:
    from mlrag.embedding.fake import FakeEmbedder

    return FakeEmbedder(dim=12)


@pytest.fixture
def plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """A fake installed package with one entry point per group (and one broken one); yields the loaded names."""
    module = types.ModuleType(PLUGIN)
    loaded: list[str] = []
    module.generator = lambda spec, cfg: _EchoLike()  # type: ignore[attr-defined]
    module.store = _make_store  # type: ignore[attr-defined]
    module.embedder = _make_embedder  # type: ignore[attr-defined]
    module.runtime = _runtime  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, PLUGIN, module)
    eps = {
        "mlrag.generators": [("plugin-gen", "generator"), ("broken-gen", "nothing_here")],
        "mlrag.stores": [("plugin-store", "store")],
        "mlrag.embedders": [("plugin-emb", "embedder")],
        "mlrag.embedding_backends": [("plugin-rt", "runtime")],
    }
    real = importlib.metadata.entry_points

    class _EP(importlib.metadata.EntryPoint):
        def load(self) -> Any:
            loaded.append(self.name)
            return super().load()

    def entry_points(**kw: Any) -> Any:
        group = kw.get("group")
        if group in eps:
            return [_EP(name, f"{PLUGIN}:{attr}", group) for name, attr in eps[group]]
        return real(**kw)

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    yield loaded
    for reg, names in (
        (generation.GENERATORS, ("plugin-gen", "broken-gen")),
        (stores.STORES, ("plugin-store",)),
        (embedding.EMBEDDERS, ("plugin-emb",)),
        (embedding.EMBEDDING_BACKENDS, ("plugin-rt",)),
    ):
        for name in names:
            reg.unregister(name)
    embedding._LOADED.clear()


def test_builtins_need_no_entry_point_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_scan(**kw: Any) -> Any:
        raise AssertionError(f"entry points read for a built-in name ({kw})")

    monkeypatch.setattr(importlib.metadata, "entry_points", no_scan)
    cfg = load_config(overrides=["store.backend=faiss", "generation.llm=echo", "embedding.backend=onnx"])
    assert generation.get_generator("echo", cfg.generation).id == "echo"
    assert type(stores.make_store(StoreConfig(backend="numpy"), 3)).__name__ == "NumpyStore"


def test_plugins_are_valid_names_and_load_only_when_used(plugins: list[str]) -> None:
    cfg = load_config(
        overrides=["store.backend=plugin-store", "generation.llm=plugin-gen:any", "embedding.backend=plugin-rt"]
    )
    assert plugins == []  # validation reads metadata only
    for names, name in (
        (generation.available(), "plugin-gen"),
        (stores.store_names(), "plugin-store"),
        (embedding.embedder_names(), "plugin-emb"),
        (embedding.EMBEDDING_BACKENDS.names(), "plugin-rt"),
    ):
        assert name in names
    gen = generation.get_generator(cfg.generation.llm, GenerationConfig(cache=False))
    assert gen.id == "plugin-gen" and plugins == ["plugin-gen"]
    store = stores.make_store(cfg.store, 5)
    assert store.dim == 5 and plugins == ["plugin-gen", "plugin-store"]
    assert embedding.get_embedder(EmbeddingConfig(model="plugin-emb")).dim == 8
    assert embedding.get_embedder(EmbeddingConfig(model="some/st-model", backend="plugin-rt")).dim == 12
    assert plugins == ["plugin-gen", "plugin-store", "plugin-emb", "plugin-rt"]
    generation.get_generator("plugin-gen:other", GenerationConfig(cache=False))
    assert plugins.count("plugin-gen") == 1  # loaded once, then registered


def test_code_registration_wins_over_an_entry_point(plugins: list[str]) -> None:
    generation.register("plugin-gen", lambda spec, cfg: generation.get_generator("echo", cfg))
    assert generation.get_generator("plugin-gen", GenerationConfig()).id == "echo"
    assert plugins == []


def test_a_broken_plugin_is_one_error_naming_it(plugins: list[str]) -> None:
    assert Config().replace(["generation.llm=broken-gen:m"]).generation.llm == "broken-gen:m"
    with pytest.raises(BackendError, match=rf"broken-gen.*{PLUGIN}:nothing_here cannot be loaded") as info:
        generation.get_generator("broken-gen:m", GenerationConfig())
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "override, valid",
    [
        ("store.backend=nope", "chroma, faiss, numpy, plugin-store"),
        ("generation.llm=nope:m", "broken-gen, default, echo, llama-cpp, openai, plugin-gen, transformers"),
        ("embedding.backend=nope", "onnx, onnx-int8, plugin-rt, torch"),
    ],
)
def test_unknown_names_list_every_valid_one(plugins: list[str], override: str, valid: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(overrides=[override])
    message = str(info.value)
    assert message.startswith(override.split("=")[0] + ": 'nope") and message.endswith("valid: " + valid)
    assert "\n" not in message and plugins == []


def test_unknown_names_at_the_factories() -> None:
    with pytest.raises(ConfigError, match=r"store\.backend: 'nope' is not a registered store backend; valid: "):
        stores.make_store(_bad_store(), 2)
    with pytest.raises(BackendError, match="unknown generator backend 'nope'.*valid: default, echo"):
        generation.get_generator("nope:x", GenerationConfig())


def _bad_store() -> StoreConfig:
    cfg = StoreConfig()
    object.__setattr__(cfg, "backend", "nope")  # past validation, as a stale object would be
    return cfg


def test_registry_alone() -> None:
    calls: list[int] = []
    reg: Registry[int] = Registry("number", "mlrag.test-numbers-none", builtins=lambda: calls.append(1))
    assert reg.get("one") is None and calls == [1]
    reg.register("one", 1)
    assert reg.get("one") == 1 and "one" in reg and 2 not in reg and reg.names() == ["one"]
    assert calls == [1]  # built-ins register once
    reg.unregister("one")
    assert reg.unknown("k", "one") == "k: 'one' is not a registered number; valid: "
