"""Name -> factory registries for the plug points: generators, embedders, embedding runtimes, vector stores.

Built-ins register with the same ``register`` call a plugin uses. A package adds a name without touching mlrag
through an entry point of the plug point's group, e.g. in its ``pyproject.toml``::

    [project.entry-points."mlrag.stores"]
    mystore = "mypackage.store:make"

Design choices:
    * Entry points are read (``importlib.metadata``, package metadata only) when a name is not registered, and a
      plugin's module is imported when its name is first used, so the built-in path costs nothing and a broken
      plugin only breaks the configurations that name it.
    * Config validation asks ``name in registry`` (no import); an unknown name is a one-line error that lists
      the valid names (``unknown``).
    * A broken plugin is one error naming the entry point, never a traceback from inside its import.

Example:
    >>> reg = Registry("greeter", "mlrag.example-greeters")
    >>> reg.register("hello", lambda: "hi")
    >>> "hello" in reg, reg.names(), reg.get("hello")()
    (True, ['hello'], 'hi')
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from .errors import ConfigError, MlragError

T = TypeVar("T")


class Registry(Generic[T]):
    """The names of one plug point (see the module docstring).

    Args:
        kind: what a name names, for messages (``"store backend"``).
        group: the entry-point group plugins use (``"mlrag.stores"``).
        builtins: registers the built-ins, called once before the first lookup (None: they register at import).
        adapt: turns the object an entry point loads into a registry value (default: the object itself).
        error: the error a plugin that cannot be loaded raises.
    """

    def __init__(
        self,
        kind: str,
        group: str,
        builtins: Callable[[], None] | None = None,
        adapt: Callable[[Any], T] | None = None,
        error: type[MlragError] = ConfigError,
    ) -> None:
        self.kind = kind
        self.group = group
        self._builtins = builtins
        self._adapt = adapt
        self._error = error
        self._table: dict[str, T] = {}

    def register(self, name: str, value: T) -> None:
        """Register ``value`` under ``name``; a later call replaces the entry."""
        self._table[name] = value

    def unregister(self, name: str) -> None:
        """Forget ``name`` (an entry point of that name is found again on the next lookup)."""
        self._table.pop(name, None)

    def _ready(self) -> dict[str, T]:
        if self._builtins is not None:
            builtins, self._builtins = self._builtins, None
            builtins()
        return self._table

    def entry_points(self) -> dict[str, Any]:
        """The group's entry points by name (metadata only; nothing is imported)."""
        return {ep.name: ep for ep in importlib.metadata.entry_points(group=self.group)}

    def get(self, name: str) -> T | None:
        """The value registered under ``name``, loading its plugin when it is an entry point; None if unknown.

        Raises:
            MlragError: (the registry's ``error``) the entry point names a module or object that cannot be loaded.
        """
        table = self._ready()
        if name in table:
            return table[name]
        ep = self.entry_points().get(name)
        if ep is None:
            return None
        try:
            loaded = ep.load()
        except Exception as e:  # a broken plugin is one clear error, not a traceback from its import
            raise self._error(f"{self.kind} {name!r}: its plugin {ep.value} cannot be loaded ({e})") from None
        value: T = self._adapt(loaded) if self._adapt is not None else loaded
        table[name] = value
        return value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name in self._ready() or name in self.entry_points())

    def names(self) -> list[str]:
        """Every valid name: built-ins, names registered in code and the group's entry points."""
        return sorted(set(self._ready()) | set(self.entry_points()))

    def unknown(self, key: str, value: str) -> str:
        """The one-line message for a name that is not registered."""
        return f"{key}: {value!r} is not a registered {self.kind}; valid: {', '.join(self.names())}"
