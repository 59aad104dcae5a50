"""mlrag's exceptions: one base class, so callers (and the CLI) can catch every library error at once.

Messages say what was wrong, what was received, and how to fix it, in one line.
"""

from __future__ import annotations


class MlragError(Exception):
    """Base class of every error mlrag raises on purpose. Its text is redacted (``mlrag.redact``): a message
    that quotes a spec, URL or server reply never shows a key, whoever prints it."""

    def __str__(self) -> str:
        from .redact import redact

        return redact(super().__str__())


class ConfigError(MlragError, ValueError):
    """A config file, field or override is malformed or has a bad value."""


class RepoError(MlragError):
    """A repository cannot be used: missing path, a file, empty, or a URL that cannot be cloned."""


class IndexMismatchError(MlragError):
    """An index on disk is corrupt, of another format version, or built with another embedder."""


class IndexWriteError(MlragError):
    """An index folder cannot be written: the location is not an mlrag index (refused, never emptied), or it
    is not writable."""


class BackendError(MlragError):
    """A model backend is unknown, cannot load its model, or its server cannot be reached."""


class MissingDependencyError(MlragError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


#: The extras of ``setup.cfg`` (a test checks they agree); ``require(..., "core")`` means mlrag's own requirements.
EXTRAS = ("faiss", "chroma", "llamaindex", "onnx", "bench", "llamacpp", "openai", "eval", "ray", "mcp", "dev", "all")


def require(module: str, extra: str, feature: str | None = None):  # type: ignore[no-untyped-def]
    """Import ``module`` or raise ``MissingDependencyError`` naming the ``mlrag[extra]`` that provides it
    (``extra="core"`` for mlrag's own requirements)."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:
        what = feature or module
        how = f"pip install 'mlrag[{extra}]'" if extra in EXTRAS else "pip install mlrag"
        raise MissingDependencyError(
            f"{what} needs the Python package {module!r} ({e}); install it with: {how}"
        ) from None
