"""Indexing many repositories on Ray: walk and chunk in parallel tasks, embed in a Ray Data stage, write shards.

Pipeline (one call of ``build_indexes_ray``):

1. ``_scan`` task per repository: resolve the spec, walk it, and when its index is current (same files, config
   and embedder name, the test ``Index.open`` applies) stop there: an unchanged repository costs a walk.
   Otherwise chunk it with the embedder's tokenizer (the same counter ``build_into`` uses) and return the units.
2. One ``_identity`` task loads the embedder once to learn its id and dimension (only when something changed).
3. ``_plan`` task per changed repository: vectors reused from its previous index (by text hash) and from the
   embedding cache; what is left goes to
4. a Ray Data ``map_batches`` stage over every repository's missing texts, run by an actor pool of
   ``ray.workers`` actors, one per device (``ray.num_gpus_per_worker``), each holding the model once;
5. ``_write`` task per changed repository: the index folder written by ``shards.write_shard``, byte-compatible
   with ``Index.open``'s, and the new vectors put into the embedding cache.

A repository that fails (a bad spec, an exception while chunking or writing, a worker that dies) is reported in
its ``RepoResult.error``; the others complete. Paths are resolved on the driver, so every node must see the
index folder at the same path (a shared filesystem).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Config
from ..index import BuildStats
from ..types import Chunk
from .runtime import connect

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RepoResult:
    """The outcome for one repository: its index folder and stats, or the error that stopped it."""

    repo: str
    name: str = ""
    path: Path | None = None
    stats: BuildStats | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def line(self) -> str:
        """One line for a person: ``ok   REPO -> PATH (stats)`` or ``FAIL REPO: error``."""
        if self.stats is None or self.error is not None:
            return f"FAIL {self.repo}: {self.error}"
        return f"ok   {self.repo} -> {self.path} ({self.stats.summary()})"


@dataclass
class _Scan:
    """What a scan task found (``units`` empty when the index was current)."""

    repo: str
    name: str
    root: Path
    out: Path
    files: list[Any]  # shards.FileSha
    current: bool
    chunks: int = 0
    units: tuple[Chunk, ...] = ()
    contexts: tuple[Chunk, ...] = ()
    texts: list[str] = field(default_factory=list)
    t0: float = 0.0


def _scan(spec: str, config: Config, index_dir: str, on_repo: Callable[[str], None] | None) -> _Scan:
    from ..chunking import chunk_files, embed_text
    from ..index import hash8, is_current, read_manifest, token_counter_for
    from ..index.folders import check_output, drop_excluded, walk_excluding
    from ..repo import resolve_repo, walk_repo
    from .shards import FileSha

    t0 = time.perf_counter()
    if on_repo is not None:
        on_repo(spec)
    resolved = resolve_repo(spec, Path(index_dir) / ".cache")
    root = resolved.root.resolve()
    out = Path(index_dir) / f"{resolved.name}-{hash8(str(root))}"
    check_output(out, root, Path(index_dir))
    walk, excluded = walk_excluding(config.walk, root, config, out)
    files = drop_excluded(walk_repo(root, walk), excluded)
    shas = [FileSha(f.path, f.sha) for f in files]
    manifest = read_manifest(out)
    if manifest is not None and is_current(manifest, files, config, root, dense="full"):
        n = int(manifest.get("counts", {}).get("units", 0))
        return _Scan(spec, resolved.name, root, out, shas, True, chunks=n, t0=t0)
    chunked = chunk_files(((f.path, f.text) for f in files), config.chunking, token_counter_for(config))
    texts = [embed_text(u, config.chunking) for u in chunked.units]
    return _Scan(spec, resolved.name, root, out, shas, False, len(chunked.units), chunked.units, chunked.contexts,
                 texts, t0)


def _identity(config: Config) -> tuple[str, int]:
    """The embedder's id and dimension (loaded on CPU: only its identity is wanted)."""
    from ..embedding import get_embedder

    cpu = config.embedding.__class__(**{**config.embedding.__dict__, "device": "cpu"})
    emb = get_embedder(cpu)
    return emb.id, emb.dim


def _plan(scan: _Scan, config: Config, ident: tuple[str, int]) -> tuple[np.ndarray, list[int]]:
    from ..index.writer import never_embedded
    from .shards import reuse_vectors

    skip = sorted(never_embedded(scan.units, config))
    return reuse_vectors(scan.out, config, ident[0], ident[1], scan.texts, skip)


def _write(scan: _Scan, config: Config, ident: tuple[str, int], vectors: np.ndarray, new_rows: list[int]) -> BuildStats:
    from .shards import write_shard

    return write_shard(scan.out, scan.root, scan.name, scan.files, config, scan.units, scan.contexts, vectors,
                       embedder_id=ident[0], dim=ident[1], new_rows=new_rows, texts=scan.texts, t0=scan.t0)


class EmbedActor:
    """A Ray Data ``map_batches`` callable: one model per actor, batches of texts -> vectors."""

    def __init__(self, embedding: dict[str, Any]) -> None:
        from ..config import EmbeddingConfig
        from ..embedding import get_embedder

        self.embedder = get_embedder(EmbeddingConfig(**embedding))

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        vecs = self.embedder.embed_batch([str(t) for t in batch["text"]])
        n = len(vecs)
        return {"shard": batch["shard"], "row": batch["row"], "vector": vecs,
                "model": np.array([self.embedder.id] * n)}


def _error(e: BaseException) -> str:
    """One line for a failed task: the innermost cause of a Ray task error, else the exception."""
    cause = getattr(e, "cause", None)
    err = cause if isinstance(cause, BaseException) else e
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[-1] if text else ''}".rstrip(": ")


def build_indexes_ray(
    repos: Sequence[str],
    config: Config,
    *,
    progress: bool = True,
    on_repo: Callable[[str], None] | None = None,
) -> list[RepoResult]:
    """Build or update the index of every repository in ``repos`` on Ray; one result per repository, in order.

    Args:
        repos: repository specs (folders or git URLs, as ``mlrag index`` takes them).
        config: the config; ``config.ray`` says where Ray runs and how many embedding actors to use.
        progress: show Ray Data's progress bars.
        on_repo: called in the worker with each spec before it is walked (a hook for logging or for tests
            that inject a failure).

    Returns:
        ``RepoResult`` per spec: the index folder (loadable with ``Index.load``/``Index.open``) and its
        ``BuildStats``, or the error that stopped that repository.

    Example:
        >>> results = build_indexes_ray(["repos/dgl", "repos/esm"], load_config(overrides=["ray.workers=2"]))
        ... # doctest: +SKIP
        >>> [(r.name, r.stats.embedded) for r in results]  # doctest: +SKIP
    """
    ray = connect(config.ray)
    env = _task_env(ray)
    index_dir = str(config.resolved_index_dir.resolve())
    scan_task = ray.remote(_scan).options(num_cpus=1, max_retries=0, runtime_env=env)
    refs = [scan_task.remote(str(spec), config, index_dir, on_repo) for spec in repos]
    results: dict[int, RepoResult] = {}
    todo: dict[int, _Scan] = {}
    ident_ref = None  # the embedder is loaded (once) only when some repository changed
    for i, ref in enumerate(refs):
        try:
            scan = ray.get(ref)
        except Exception as e:  # a RayTaskError wrapping the repository's own error, or a dead worker
            results[i] = RepoResult(str(repos[i]), error=_error(e))
            log.warning("index %s: %s", repos[i], results[i].error)
            continue
        if scan.current:
            secs = time.perf_counter() - scan.t0
            stats = BuildStats(len(scan.files), scan.chunks, 0, scan.chunks, secs)
            results[i] = RepoResult(scan.repo, scan.name, scan.out, stats)
        else:
            todo[i] = scan
            if ident_ref is None:
                ident_ref = ray.remote(_identity).options(num_cpus=1, max_retries=0, runtime_env=env).remote(config)
    if todo:
        try:
            _build_changed(ray, todo, config, env, ray.get(ident_ref), results, progress)
        except Exception as e:  # the embedder does not load, or the embedding stage failed: no shard is written
            for i, scan in todo.items():
                if i not in results:
                    results[i] = RepoResult(scan.repo, scan.name, error=_error(e))
            log.warning("index: %d repositories not built: %s", len(todo), _error(e))
    return [results[i] for i in range(len(repos))]


def _build_changed(ray: Any, todo: dict[int, _Scan], config: Config, env: dict[str, Any] | None,
                   ident: tuple[str, int], results: dict[int, RepoResult], progress: bool) -> None:
    """Steps 3-5 of the module docstring for the repositories whose index is not current."""
    plan_task = ray.remote(_plan).options(num_cpus=1, max_retries=0, runtime_env=env)
    plans = {i: plan_task.remote(todo[i], config, ident) for i in todo}
    vectors: dict[int, np.ndarray] = {}
    missing: dict[int, list[int]] = {}
    for i, ref in plans.items():
        try:
            got, missing[i] = ray.get(ref)
            vectors[i] = np.array(got)  # a writable copy (objects from the store are read-only views)
        except Exception as e:
            results[i] = RepoResult(todo[i].repo, todo[i].name, error=_error(e))
    items = [{"shard": i, "row": r, "text": todo[i].texts[r]} for i in missing for r in missing[i]]
    if items:
        _embed(ray, items, vectors, config, env, ident, progress)
    write_task = ray.remote(_write).options(num_cpus=1, max_retries=0, runtime_env=env)
    writes = {i: write_task.remote(todo[i], config, ident, vectors[i], missing[i]) for i in missing}
    for i, ref in writes.items():
        scan = todo[i]
        try:
            results[i] = RepoResult(scan.repo, scan.name, scan.out, ray.get(ref))
            log.info("index %s: %s", scan.name, results[i].stats.summary())  # type: ignore[union-attr]
        except Exception as e:
            results[i] = RepoResult(scan.repo, scan.name, error=_error(e))
            log.warning("index %s: %s", scan.repo, results[i].error)


def _embed(ray: Any, items: list[dict[str, Any]], vectors: dict[int, np.ndarray], config: Config,
           env: dict[str, Any] | None, ident: tuple[str, int], progress: bool) -> None:
    """Embed ``items`` (shard, row, text) with a Ray Data actor pool and fill ``vectors[shard][row]``."""
    import ray.data

    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = progress
    rc = config.ray
    n = _actors(ray, rc)
    ds = ray.data.from_items(items, override_num_blocks=max(1, min(len(items) // rc.embed_batch_size + 1, 4 * n)))
    ds = ds.map_batches(
        EmbedActor,
        fn_constructor_kwargs={"embedding": dict(config.embedding.__dict__)},
        batch_size=rc.embed_batch_size,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=n),
        num_cpus=rc.num_cpus_per_worker,
        num_gpus=rc.num_gpus_per_worker,
        runtime_env=env,
    )
    for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
        if batch["model"].size and str(batch["model"][0]) != ident[0]:
            raise RuntimeError(f"embedding actor runs {batch['model'][0]}, expected {ident[0]}")
        for shard, row, vec in zip(batch["shard"], batch["row"], batch["vector"]):
            vectors[int(shard)][int(row)] = vec


def _task_env(ray: Any) -> dict[str, Any] | None:
    """No per-task ``runtime_env`` (workers start once and are reused) unless they could not import this mlrag.

    Paths reach the tasks as arguments, so the only thing a worker may lack is ``mlrag`` itself on a runtime
    started without our ``PYTHONPATH`` (by the caller, e.g. a notebook with mlrag from a checkout).
    """
    job_env = ray.get_runtime_context().runtime_env or {}
    src = str(Path(__file__).resolve().parents[2])
    if src in str(job_env.get("env_vars", {}).get("PYTHONPATH", "")) or _installed():
        return None
    from .runtime import _pythonpath

    return {"env_vars": {"PYTHONPATH": _pythonpath()}}


def _installed() -> bool:
    """True when ``mlrag`` is importable without the driver's ``sys.path`` tweaks (an installed package)."""
    import importlib.metadata

    try:
        importlib.metadata.distribution("mlrag")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def _actors(ray: Any, rc: Any) -> int:
    """``ray.workers`` actors, fewer when the cluster cannot hold that many (they would wait forever)."""
    res = ray.cluster_resources()
    fits = rc.workers
    if rc.num_gpus_per_worker > 0:
        fits = min(fits, int(res.get("GPU", 0) // rc.num_gpus_per_worker))
    if rc.num_cpus_per_worker > 0:
        fits = min(fits, int(res.get("CPU", 0) // rc.num_cpus_per_worker))
    if fits < rc.workers:
        log.warning("ray.workers=%d does not fit the cluster (%s); using %d", rc.workers, res, max(1, fits))
    return max(1, fits)


def load_multi(results: Sequence[RepoResult], config: Config) -> Any:
    """The repositories built by ``build_indexes_ray`` as one ``MultiIndex`` (failed ones left out, logged).

    Example:
        >>> both = load_multi(build_indexes_ray(["repos/dgl", "repos/esm"], cfg), cfg)  # doctest: +SKIP
        >>> both.search("train GCN on cora", k=5, repos=["dgl"])  # doctest: +SKIP
    """
    from ..index import Index, MultiIndex

    for r in results:
        if not r.ok:
            log.warning("leaving %s out of the MultiIndex: %s", r.repo, r.error)
    return MultiIndex([Index.load(r.path, config) for r in results if r.ok and r.path is not None])


def read_repo_list(path: str | Path) -> list[str]:
    """Repository specs from a text file: one folder or git URL per line; blank lines and ``#`` comments skipped.

    Raises:
        RepoError: the file is missing or lists nothing.
    """
    from ..errors import RepoError

    p = Path(path)
    if not p.is_file():
        raise RepoError(f"repository list not found: {p}")
    specs = [line.split("#", 1)[0].strip() for line in p.read_text(encoding="utf-8").splitlines()]
    specs = [s for s in specs if s]
    if not specs:
        raise RepoError(f"repository list {p} names no repositories (one folder or git URL per line)")
    return specs
