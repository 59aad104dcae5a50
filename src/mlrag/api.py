"""The public functions: thin glue over the pipeline stages.

``repo`` is always one of: a local folder, a git URL (optionally ``URL@commit``), or an already opened
``Index``. Indexes are built on first use and reused while the repository's content (file hashes) and the
config are unchanged; see ``mlrag.index``.

Example:
    >>> import mlrag
    >>> gen = mlrag.generate("train ARMA on citeseer with 5 stacks", "examples/graphlab")  # doctest: +SKIP
    >>> print(gen.code)  # doctest: +SKIP
    python train.py --dataset citeseer --model arma --num-stacks 5
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from .config import Config, as_config
from .errors import BackendError, ConfigError, RepoError
from .repo import ResolvedRepo, resolve_repo, walk_repo
from .types import Chunk, Generation, Hit

if TYPE_CHECKING:
    from .catalog import Catalog
    from .generation.base import Generator
    from .index import Index

RepoLike = Union[str, "os.PathLike[str]", "Index"]
ConfigLike = Union[Config, str, Path, Mapping[str, Any], None]

_SEARCH_OPTIONS = ("mode", "budget_chars", "context_unit", "paths", "kinds")


def _config(config: ConfigLike, options: dict[str, Any]) -> Config:
    cfg = as_config(config)
    overrides = options.pop("overrides", None)
    if overrides:
        cfg = cfg.replace(overrides)
    if "progress" in options:
        cfg = cfg.replace({"progress": bool(options.pop("progress"))})
    return cfg


def _resolve(repo: RepoLike, cfg: Config) -> ResolvedRepo:
    if isinstance(repo, (str, os.PathLike)):
        return resolve_repo(repo, cfg.resolved_index_dir / ".cache")
    raise RepoError(f"repo must be a folder, a git URL or an Index, got {type(repo).__name__}")


def _token_counter(cfg: Config):  # type: ignore[no-untyped-def]
    """The chunker's token counter, the same one index builds use (so chunk_repo equals an index's chunks)."""
    from .index import token_counter_for

    return token_counter_for(cfg)


def _check_task(task: object, k: object) -> None:
    if not isinstance(task, str) or not task.strip():
        raise ConfigError("task must be a non-empty string")
    if not isinstance(k, int) or isinstance(k, bool) or k < 0:
        raise ConfigError(f"k must be a non-negative integer, got {k!r}")


def chunk_repo(repo: RepoLike, *, config: ConfigLike = None) -> list[Chunk]:
    """Split a repository into search units (sections, functions, argument cards), in path and file order.

    Example:
        >>> chunks = mlrag.chunk_repo("examples/graphlab")  # doctest: +SKIP
        >>> chunks[0].location
        'README.md:1-6'
    """
    from .chunking import chunk_files

    cfg = as_config(config)
    if _is_index(repo):
        return list(repo.chunks)  # type: ignore[union-attr]
    resolved = _resolve(repo, cfg)
    files = walk_repo(resolved.root, cfg.walk)
    if not files:
        raise RepoError(f"repository has no readable text files: {resolved.source}")
    chunked = chunk_files(((f.path, f.text) for f in files), cfg.chunking, _token_counter(cfg))
    return list(chunked.units)


def build_index(repo: RepoLike, *, config: ConfigLike = None, out: str | os.PathLike[str] | None = None) -> "Index":
    """Build (or incrementally update) the full index of a repository (every unit embedded) and return it.

    The index lives in ``out`` or under the index folder (``indexes/`` by default, ``index_dir`` in the config,
    or the ``MLRAG_INDEX_DIR`` environment variable). ``out`` must be a new or empty folder or an mlrag index.
    """
    from .index import Index

    cfg = as_config(config)
    if _is_index(repo):
        return repo  # type: ignore[return-value]
    resolved = _resolve(repo, cfg)
    return Index.open(
        resolved.root,
        cfg,
        name=resolved.name,
        out=Path(out) if out is not None else None,
        progress=cfg.progress,
        dense="full",
    )


def _is_index(obj: object) -> bool:
    from .index import Index

    return isinstance(obj, Index)


def _open(repo: RepoLike, cfg: Config) -> "Index":
    """The index a search uses: built as ``retrieval.dense`` says (lazy: lexical first) when not current."""
    from .index import Index

    if _is_index(repo):
        return repo  # type: ignore[return-value]
    resolved = _resolve(repo, cfg)
    return Index.open(resolved.root, cfg, name=resolved.name, progress=cfg.progress)


def affordances(repo: RepoLike, *, config: ConfigLike = None) -> "Catalog":
    """Every way to run ``repo``: scripts with their options, shell scripts, make targets, entry points,
    ``python -m`` packages, the Python API and its name registries (see ``mlrag.catalog``).

    An index's stored catalog when ``repo`` is an ``Index``; otherwise the catalog is read straight from the
    repository's files (static reading only, seconds even on a large repository; no embedding).

    Example:
        >>> cat = mlrag.affordances("examples/graphlab")  # doctest: +SKIP
        >>> [a.run for a in cat.of_kind("python-script")][:1]  # doctest: +SKIP
        ['python train.py']
    """
    from .catalog import build_catalog, read_sources

    cfg = as_config(config)
    if _is_index(repo):
        return repo.affordances  # type: ignore[union-attr,no-any-return]
    resolved = _resolve(repo, cfg)
    files = walk_repo(resolved.root, cfg.walk)
    return build_catalog(read_sources(resolved.root, files))


def retrieve(task: str, repo: RepoLike, k: int = 5, **options: Any) -> list[Hit]:
    """The top-``k`` context units of ``repo`` for ``task`` (hybrid dense + BM25 by default).

    Options: ``config`` (a Config, YAML path or mapping), ``overrides`` (``["retrieval.mode=bm25"]``),
    ``mode``, ``budget_chars``, ``context_unit``, ``paths`` (globs), ``kinds``, ``progress``.

    Example:
        >>> for hit in mlrag.retrieve("train ARMA on citeseer", "examples/graphlab", k=3):  # doctest: +SKIP
        ...     print(hit.location, round(hit.score, 3))
    """
    _check_task(task, k)
    cfg = _config(options.pop("config", None), options)
    search = {key: options.pop(key) for key in _SEARCH_OPTIONS if key in options}
    if options:
        raise ConfigError(f"unknown option(s) for retrieve: {', '.join(sorted(options))}")
    if k == 0:
        return []
    return _open(repo, cfg).search(task, k, **search)


def generate(task: str, repo: RepoLike, k: int = 5, llm: "str | Generator | None" = None, **options: Any) -> Generation:
    """Write the bash command or Python code that does ``task`` with ``repo``.

    ``llm`` is a spec (``"default"``, ``"echo"``, ``"transformers:<name or dir>"``, ``"llama-cpp:<file.gguf>"``,
    ``"openai:<model>"``) or a generator object; by default the packaged SmolLM2 runs locally. Options: ``config``,
    ``overrides``, ``workdir`` (repo-relative folder the command runs in), ``hits`` (precomputed context; skips
    retrieval), ``strategy`` (``task`` | ``draft`` | ``none``), ``base_url``, ``api_key``, and the search options
    of ``retrieve``. Nothing generated is executed.

    Example:
        >>> gen = mlrag.generate("train ARMA on citeseer with 5 stacks", "examples/graphlab")  # doctest: +SKIP
        >>> gen.code, [h.location for h in gen.hits]  # doctest: +SKIP
    """
    from .generation import draft_query, get_generator, run_generation

    _check_task(task, k)
    cfg = _config(options.pop("config", None), options)
    strategy = options.pop("strategy", None)
    if strategy is not None:
        cfg = cfg.replace({"generation": {"strategy": strategy}})
    backend_options = {key: options.pop(key) for key in ("base_url", "api_key") if key in options}
    workdir = options.pop("workdir", "") or ""
    hits = options.pop("hits", None)
    search = {key: options.pop(key) for key in _SEARCH_OPTIONS if key in options}
    if options:
        raise ConfigError(f"unknown option(s) for generate: {', '.join(sorted(options))}")
    generator = get_generator(llm if llm is not None else cfg.generation.llm, cfg.generation, **backend_options)
    index = _open(repo, cfg)
    if hits is None:
        if k == 0 or cfg.generation.strategy == "none":
            hits = []
        else:
            query = task
            if cfg.generation.strategy == "draft":
                query = f"{task}\n{draft_query(task, generator, cfg.generation)}"
            hits = index.search(query, k, **search)
    if cfg.generation.mode != "free":
        structured = _structured(task, list(hits), index, generator, cfg, workdir)
        if structured is not None:
            return structured
        if cfg.generation.mode == "structured":
            raise BackendError(
                f"no entry point of {index.name} fits the task (generation.mode=structured); "
                "see `mlrag entry-points`, or use generation.mode=auto"
            )
    from .agent.check import file_reader

    return run_generation(
        task, list(hits), generator, cfg.generation, cards=index.cards, files=index.files, workdir=workdir,
        catalog=index.affordances, read=file_reader(index.root),
    )  # fmt: skip


def _structured(task: str, hits: list[Hit], index: "Index", generator: "Generator", cfg: Config, workdir: str):  # type: ignore[no-untyped-def]
    """The structured path: choose a catalog entry, bind the task's values, render (``generation.synthesis``)."""
    from .generation.synthesis import render, synthesize

    out_type = cfg.generation.output_type if cfg.generation.output_type != "auto" else None
    binding = synthesize(task, index.affordances, hits, generator=generator, workdir=workdir, output_type=out_type,
                         model_binding=cfg.generation.model_binding,
                         usage=cfg.generation.usage_values)  # fmt: skip
    if binding is None:
        return None
    code, _ = render(binding, workdir)
    return Generation(
        code=code,
        text=code,
        hits=tuple(hits),
        prompt=f"Task: {task}\nCandidates (best first): {', '.join(binding.candidates)}",
        model=getattr(generator, "id", ""),
        mode="structured",
        affordance=binding.affordance.id,
        warnings=binding.warnings,
    )
