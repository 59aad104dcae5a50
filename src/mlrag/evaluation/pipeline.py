"""The default retriever and generator of an evaluation: ``mlrag.api`` with opened indexes and models kept.

``mlrag.api.retrieve(task, "path/to/repo")`` walks the repository and loads its index on every call, which is
right for one query and wasteful for thousands. ``Pipeline`` opens each repository's index once per config that
changes it (an LRU of ``max_indexes``; the runner visits pairs grouped by repository and condition, so the
cache rarely misses) and hands the ``Index`` object to the api functions, which accept it in place of a folder.
Generators are made once per spec and generation config (seeds aside), so a local model loads once.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from ..config import Config
from ..types import Generation, Hit


def _key(config: Config, drop: Sequence[str]) -> str:
    data = config.to_dict()
    for section in drop:
        data.pop(section, None)
    return json.dumps(data, sort_keys=True, default=str)


class Pipeline:
    """``retrieve`` / ``generate`` with the signatures of ``mlrag.api``'s, over cached indexes and generators."""

    def __init__(self, max_indexes: int = 8) -> None:
        self.max_indexes = max_indexes
        self._indexes: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self._generators: dict[tuple[str, str], Any] = {}

    def index(self, repo: str, config: Config) -> Any:
        """The opened index of ``repo`` for ``config``, built or updated on first use as ``retrieval.dense`` says
        (``lazy``, the default: lexical first, the units a search reaches embedded as it reaches them; ``full``:
        every unit), so an evaluation measures what a user's first searches get."""
        from .. import api

        key = (repo, _key(config, ("generation", "progress")))
        if key in self._indexes:
            self._indexes.move_to_end(key)
            return self._indexes[key]
        idx = api._open(repo, config)
        self._indexes[key] = idx
        while len(self._indexes) > self.max_indexes:
            self._indexes.popitem(last=False)
        return idx

    def generator(self, spec: Any, config: Config) -> Any:
        """The generator for ``spec``, made once per generation config (the seed does not count)."""
        if not isinstance(spec, str):
            return spec
        from ..generation import get_generator

        gen_cfg = config.generation
        key = (spec, _key(config.replace({"generation": {"seed": 0}}), ()))
        if key not in self._generators:
            self._generators[key] = get_generator(spec, gen_cfg)
        return self._generators[key]

    def retrieve(self, task: str, repo: str, k: int = 5, config: Config | None = None) -> list[Hit]:
        """``mlrag.api.retrieve`` over the cached index."""
        from .. import api

        cfg = config or Config()
        return api.retrieve(task, self.index(repo, cfg), k=k, config=cfg)

    def generate(self, task: str, repo: str, k: int = 5, llm: Any = None, config: Config | None = None,
                 workdir: str = "", hits: Sequence[Hit] | None = None) -> Generation:
        """``mlrag.api.generate`` over the cached index and generator."""
        from .. import api

        cfg = config or Config()
        gen = self.generator(llm if llm is not None else cfg.generation.llm, cfg)
        return api.generate(task, self.index(repo, cfg), k=k, llm=gen, config=cfg, workdir=workdir,
                            hits=None if hits is None else list(hits))

    def check(self, code: str, repo: str, config: Config | None = None, workdir: str = "") -> Any:
        """``mlrag.check`` of ``code`` against the cached index's catalog and files."""
        from ..agent.check import check_with_index

        return check_with_index(code, self.index(repo, config or Config()), workdir=workdir)
