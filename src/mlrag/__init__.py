"""mlrag: let a language model use an existing machine-learning repository.

Index a repository's READMEs, docs and source; retrieve what matters for a task; have a local or API model write
the bash command or Python code that does it, checked against the repository's real scripts and flags.

Example:
    >>> import mlrag
    >>> gen = mlrag.generate("train ARMA on citeseer with 5 stacks", "examples/graphlab")  # doctest: +SKIP
    >>> print(gen.code)  # doctest: +SKIP

Importing mlrag is cheap: the public names below load their modules on first use, and torch, transformers,
faiss and the other heavy libraries are imported only by the components that need them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Chunk": "mlrag.types",
    "Hit": "mlrag.types",
    "Check": "mlrag.types",
    "Generation": "mlrag.types",
    "Config": "mlrag.config",
    "load_config": "mlrag.config",
    "MlragError": "mlrag.errors",
    "Index": "mlrag.index",
    "chunk_repo": "mlrag.api",
    "build_index": "mlrag.api",
    "retrieve": "mlrag.api",
    "generate": "mlrag.api",
    "affordances": "mlrag.api",
    "check": "mlrag.agent",
    "CheckResult": "mlrag.agent",
}

__all__ = sorted(_EXPORTS) + ["__version__"]

if TYPE_CHECKING:
    from .agent.check import check
    from .agent.result import CheckResult
    from .api import affordances, build_index, chunk_repo, generate, retrieve
    from .config import Config, load_config
    from .errors import MlragError
    from .index import Index
    from .types import Check, Chunk, Generation, Hit


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mlrag' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
