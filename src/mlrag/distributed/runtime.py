"""Connecting to Ray: an existing cluster (``ray.address``) or a local runtime started on demand.

Design choices:
- Ray is imported only here and only when a ``--ray`` path asks for it (``require("ray", "ray")``), so
  ``import mlrag`` and every single-process path stay free of it.
- An already initialised runtime (a notebook, a test fixture, ``ray.init`` by the caller) is used as it is.
- Workers must see the same index and cache folders as the driver, whatever their own environment says: the
  variables mlrag reads (``MLRAG_INDEX_DIR``, ``MLRAG_CACHE_DIR``, the Hugging Face offline switches) are copied
  from the driver into every task's and actor's ``runtime_env`` (``worker_env``). API keys are not copied (they
  would be stored in the cluster's metadata): set them in the cluster's own environment.
- A local runtime gets the driver's ``PYTHONPATH`` plus the folder holding ``mlrag``, so workers import the same
  source tree even when mlrag is not installed (a checkout on ``PYTHONPATH``). A remote cluster needs mlrag
  installed on its nodes (or a ``py_modules`` runtime env given by the caller to ``ray.init``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from ..config import Config, RayConfig
from ..errors import require

log = logging.getLogger(__name__)

_FORWARDED = ("MLRAG_INDEX_DIR", "MLRAG_CACHE_DIR", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HOME")


def connect(config: RayConfig) -> Any:
    """The ``ray`` module, initialised: reuse a running runtime, else connect to or start one.

    Example:
        >>> ray = connect(RayConfig(num_cpus=2))  # doctest: +SKIP
        >>> ray.cluster_resources()["CPU"]  # doctest: +SKIP
        2.0
    """
    ray = require("ray", "ray", "distributed indexing and evaluation")
    if ray.is_initialized():
        return ray
    if config.address:
        log.info("connecting to the Ray cluster at %s", config.address)
        ray.init(address=config.address, log_to_driver=False)
        return ray
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # a runtime mlrag starts reports nothing home
    log.info("starting a local Ray runtime (%s CPUs)", config.num_cpus or "all")
    ray.init(
        num_cpus=config.num_cpus or None,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": _pythonpath()}},
    )
    return ray


def worker_env(config: Config) -> dict[str, Any]:
    """A ``runtime_env`` that gives workers the driver's index folder and offline switches."""
    env = {k: os.environ[k] for k in _FORWARDED if k in os.environ}
    env["MLRAG_INDEX_DIR"] = str(config.resolved_index_dir.resolve())
    env["PYTHONPATH"] = _pythonpath()
    return {"env_vars": env}


def _pythonpath() -> str:
    """The driver's ``PYTHONPATH`` with the folder holding this ``mlrag`` first."""
    src = str(Path(__file__).resolve().parents[2])
    rest = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != src]
    return os.pathsep.join([src, *rest])
