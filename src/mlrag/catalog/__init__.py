"""The affordance catalog: every way to run a repository (scripts and their options, shell scripts, make
targets, entry points, ``python -m`` packages, the Python API and its name registries), read statically at
index time and stored in the index folder. See ``base.py`` for the data types and ``catalog.py`` for how it is
built."""

from __future__ import annotations

from .base import (
    AFFORDANCE_KINDS,
    CATALOG_VERSION,
    PARAM_KINDS,
    Affordance,
    Catalog,
    Param,
    read_catalog,
    write_catalog,
)
from .catalog import build_catalog, load_catalog_or_build, read_sources

__all__ = [
    "AFFORDANCE_KINDS",
    "CATALOG_VERSION",
    "PARAM_KINDS",
    "Affordance",
    "Catalog",
    "Param",
    "build_catalog",
    "load_catalog_or_build",
    "read_catalog",
    "read_sources",
    "write_catalog",
]
