"""An index of one repository: a folder of inspectable files, built once and updated incrementally.

Layout (``format_version`` 1)::

    manifest.json     format and mlrag versions, embedder id/dim, chunking config, store backend, corpus hash,
                      per-file sha1 map, counts
    chunks.jsonl      search units (``Chunk.to_dict``), row i <-> vectors.npy row i
    contexts.jsonl    parent context units
    vectors.npy       float32 (units, dim), L2-normalised; loaded memory-mapped
    store/            the vector store's files (faiss.index; numpy; Chroma keeps its own folder beside the index)
    bm25/             the bm25s index and its tokenizer parameters

Design choices:
- ``Index.open`` walks the repository, and when the manifest matches (same files, config and embedder) it only
  loads. Otherwise it builds into ``.<name>.tmp-<pid>`` beside the target and renames it into place, under an
  ``fcntl`` lock file; a second builder waits on the lock, then finds the winner's manifest matching and loads it.
- Incremental: vectors of units whose embedder text is unchanged are copied from the previous index (matched by
  text hash), then the on-disk embedding cache (``<index_dir>/embeddings.sqlite``, keyed by model id and text
  hash) is asked, and only the rest is embedded. An unchanged repository re-indexes with zero embeddings.
  Chunking, being pure and cheap next to embedding, is redone for the whole corpus whenever anything changed,
  because argument cards link README chunks and scripts across files; files' units are otherwise unchanged.
- Vectors stream into a memory-mapped ``vectors.npy`` in groups, so build memory is bounded by the batch group,
  not by the corpus size.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .config import Config
from .errors import IndexMismatchError, RepoError
from .types import Chunk, Hit

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
REBUILD_HINT = "rebuild it with `mlrag index <repo>` (or delete the folder)"


@dataclass(frozen=True)
class BuildStats:
    """What an ``Index.open`` did: files walked, units, units embedded vs. reused, seconds."""

    files: int
    chunks: int
    embedded: int
    reused: int
    seconds: float

    def summary(self) -> str:
        return (
            f"{self.files} files, {self.chunks} chunks, {self.embedded} embedded, {self.reused} reused, "
            f"{self.seconds:.1f} s"
        )


def hash8(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def _mlrag_version() -> str:
    from . import __version__

    return __version__


class Index:
    """A loaded index: units, contexts, vectors, store and BM25 of one repository.

    Example:
        >>> idx = Index.open(Path("examples/gnn-lab"), Config(), name="gnn-lab")  # doctest: +SKIP
        >>> idx.search("train ARMA on citeseer", k=3)[0].path  # doctest: +SKIP
        'examples/arma/README.md'
    """

    def __init__(
        self,
        path: Path,
        manifest: dict[str, Any],
        config: Config,
        units: Sequence[Chunk],
        contexts: Sequence[Chunk],
        vectors: np.ndarray,
        store: Any,
        lexical: Any,
        stats: BuildStats | None = None,
    ) -> None:
        from .retrieval.search import Searcher

        self.path = path
        self.manifest = manifest
        self.config = config
        self.chunks: tuple[Chunk, ...] = tuple(units)
        self.contexts: tuple[Chunk, ...] = tuple(contexts)
        self.vectors = vectors
        self.store = store
        self.lexical = lexical
        self.name: str = manifest.get("name", path.name)
        self.root = Path(manifest.get("root", "."))
        self.files: list[str] = sorted(manifest.get("files", {}))
        self.stats = stats or BuildStats(len(self.files), len(self.chunks), 0, len(self.chunks), 0.0)
        self._embedder: Any = None
        self.searcher = Searcher(
            self.chunks,
            {c.id: c for c in self.contexts},
            lexical,
            store,
            vectors,
            self.embedder,
            config.retrieval,
            repo=self.name,
        )

    # --- public --------------------------------------------------------------------------------------------

    @property
    def cards(self) -> tuple[Chunk, ...]:
        """The argument cards, one whole card per script (a card too long for one search unit is split into
        pieces for search, whose parent context is the whole card; this returns that whole card)."""
        whole = [u for u in self.chunks if u.kind == "card" and u.parent_id is None]
        whole += [c for c in self.contexts if c.kind == "card"]
        return tuple(sorted(whole, key=lambda c: (c.path, c.start_line)))

    def embedder(self) -> Any:
        """The query embedder, loaded on first use and checked against the manifest."""
        if self._embedder is None:
            from .embedding import get_embedder

            emb = get_embedder(self.config.embedding)
            want = self.manifest["embedder"]
            if emb.id != want["id"] or emb.dim != want["dim"]:
                raise IndexMismatchError(
                    f"index {self.path} was built with embedder {want['id']} (dim {want['dim']}), the config gives "
                    f"{emb.id} (dim {emb.dim}); {REBUILD_HINT}"
                )
            self._embedder = emb
        return self._embedder

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        mode: str | None = None,
        budget_chars: int | None = None,
        context_unit: str | None = None,
        paths: list[str] | None = None,
        kinds: list[str] | None = None,
    ) -> list[Hit]:
        """The top-``k`` hits for ``query`` (see ``Searcher.search``); config defaults for unset options."""
        return self.searcher.search(
            query, k, mode=mode, budget_chars=budget_chars, context_unit=context_unit, paths=paths, kinds=kinds
        )

    @classmethod
    def open(cls, root: Path, config: Config, *, name: str, out: Path | None = None, progress: bool = True) -> "Index":
        """Load the index of the repository at ``root`` when it is current, else build or update it."""
        from .repo import walk_repo

        t0 = time.perf_counter()
        root = Path(root).resolve()
        out = Path(out) if out is not None else config.resolved_index_dir / f"{name}-{hash8(str(root))}"
        files = walk_repo(root, config.walk)
        if not files:
            raise RepoError(f"repository has no readable text files: {root} (check walk.include / walk.exclude)")
        current = _read_manifest(out)
        if current is not None and _is_current(current, files, config, root):
            with contextlib.suppress(IndexMismatchError):
                return cls._reuse(out, config, len(files), t0)
        out.parent.mkdir(parents=True, exist_ok=True)
        with _lock(out):
            current = _read_manifest(out)  # another process may have built it while we waited
            if current is not None and _is_current(current, files, config, root):
                with contextlib.suppress(IndexMismatchError):
                    return cls._reuse(out, config, len(files), t0)
            stats = build_into(out, root, name, files, config, progress=progress, t0=t0)
        log.info("index %s: %s", name, stats.summary())
        idx = cls.load(out, config)
        idx.stats = stats
        return idx

    @classmethod
    def load(cls, path: Path, config: Config | None = None) -> "Index":
        """Load the index folder at ``path``; refuse a corrupt one, another format version or another embedder."""
        from .retrieval.lexical import LexicalIndex
        from .stores.base import make_store

        path = Path(path)
        manifest = _read_manifest(path)
        if manifest is None:
            raise IndexMismatchError(f"{path} is not an mlrag index (no readable {MANIFEST}); {REBUILD_HINT}")
        if manifest.get("format_version") != FORMAT_VERSION:
            raise IndexMismatchError(
                f"index {path} has format version {manifest.get('format_version')!r}, this mlrag reads "
                f"{FORMAT_VERSION}; {REBUILD_HINT}"
            )
        if config is None:
            config = Config().replace(
                {
                    "embedding": {
                        "model": manifest["embedding_model"],
                        "backend": manifest.get("embedding_backend", "torch"),
                    },
                    "chunking": manifest["chunking"],
                    "store": manifest["store"],
                }
            )
        elif config.embedding.model != manifest["embedding_model"]:
            raise IndexMismatchError(
                f"index {path} was built with embedding.model={manifest['embedding_model']!r}, the config gives "
                f"{config.embedding.model!r}; {REBUILD_HINT}"
            )
        try:
            units = _read_jsonl(path / "chunks.jsonl")
            contexts = _read_jsonl(path / "contexts.jsonl")
            vectors = np.load(path / "vectors.npy", mmap_mode="r")
        except (OSError, ValueError, KeyError) as e:
            raise IndexMismatchError(f"index {path} is corrupt ({e}); {REBUILD_HINT}") from None
        dim = manifest["embedder"]["dim"]
        if vectors.shape != (len(units), dim):
            raise IndexMismatchError(
                f"index {path} is corrupt: vectors {vectors.shape} for {len(units)} units of dim {dim}; {REBUILD_HINT}"
            )
        store_cfg = (
            config.store
            if config.store.backend == manifest["store"]["backend"]
            else config.store.__class__(**manifest["store"])
        )
        store = make_store(store_cfg, dim, _store_folder(path, manifest), load=True)
        lexical = LexicalIndex.load(path / "bm25")
        return cls(path, manifest, config, units, contexts, vectors, store, lexical)

    # --- internals ---------------------------------------------------------------------------------------------

    @classmethod
    def _reuse(cls, out: Path, config: Config, n_files: int, t0: float) -> "Index":
        idx = cls.load(out, config)
        idx.embedder()  # an index built by another model is refused here, before any search
        idx.stats = BuildStats(n_files, len(idx.chunks), 0, len(idx.chunks), time.perf_counter() - t0)
        log.info("index %s: up to date (%s)", idx.name, idx.stats.summary())
        return idx


def _store_folder(path: Path, manifest: dict[str, Any]) -> Path:
    if manifest["store"]["backend"] == "chroma":
        return Path(manifest["store"].get("chroma_path") or str(path.parent / f"{path.name}.chroma"))
    return path / "store"


def expected_manifest(config: Config, root: Path) -> dict[str, Any]:
    """The manifest fields an index must have to serve ``config`` for ``root`` (files aside)."""
    return {
        "format_version": FORMAT_VERSION,
        "root": str(root),
        "embedding_model": config.embedding.model,
        "embedding_backend": config.embedding.backend,
        "chunking": asdict(config.chunking),
        "store": {"backend": config.store.backend},
    }


def _is_current(manifest: dict[str, Any], files: Sequence[Any], config: Config, root: Path) -> bool:
    want = expected_manifest(config, root)
    if any(manifest.get(k) != v for k, v in want.items() if k != "store"):
        return False
    if manifest.get("store", {}).get("backend") != config.store.backend:
        return False
    return manifest.get("files") == {f.path: f.sha for f in files}


def _read_manifest(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _read_jsonl(path: Path) -> list[Chunk]:
    with path.open(encoding="utf-8") as fh:
        return [Chunk.from_dict(json.loads(line)) for line in fh if line.strip()]


@contextlib.contextmanager
def _lock(out: Path) -> Iterator[None]:
    """An exclusive ``fcntl`` lock on ``.<name>.lock`` beside ``out`` (blocks until the other builder is done)."""
    lock_path = out.parent / f".{out.name}.lock"
    with open(lock_path, "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def replace_folder(tmp: Path, out: Path) -> None:
    """Move the finished ``tmp`` folder to ``out`` (renames only; the old one is deleted afterwards)."""
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    if out.exists():
        os.rename(out, old)
    os.rename(tmp, out)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


# --- building ------------------------------------------------------------------------------------------------


def build_into(
    out: Path, root: Path, name: str, files: Sequence[Any], config: Config, *, progress: bool, t0: float
) -> BuildStats:
    """Chunk, embed (reusing what it can), index and atomically write the index of ``files`` to ``out``."""
    from .chunking import chunk_files, embed_text
    from .embedding import EmbeddingCache, embed_many, get_embedder

    embedder = get_embedder(config.embedding)
    chunked = chunk_files(((f.path, f.text) for f in files), config.chunking, token_counter(embedder))
    units, contexts = chunked.units, chunked.contexts
    texts = [embed_text(u, config.chunking) for u in units]
    _remove_stale(out)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        vectors = np.lib.format.open_memmap(
            tmp / "vectors.npy", mode="w+", dtype=np.float32, shape=(len(units), embedder.dim)
        )
        filled = _copy_previous(out, config, embedder, texts, vectors)
        todo = [i for i in range(len(units)) if i not in filled]
        cache = EmbeddingCache(out.parent / "embeddings.sqlite") if config.embedding.cache else None
        try:
            _, embedded = embed_many(
                embedder, [texts[i] for i in todo], cache=cache, progress=progress, out=vectors, rows=todo
            )
        finally:
            if cache is not None:
                cache.close()
        vectors.flush()
        stats = write_index_files(
            tmp,
            out,
            root,
            name,
            files,
            config,
            units,
            contexts,
            vectors,
            embedder_id=embedder.id,
            dim=embedder.dim,
            embedded=embedded,
            t0=t0,
        )
        del vectors
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return stats


def write_index_files(
    tmp: Path,
    out: Path,
    root: Path,
    name: str,
    files: Sequence[Any],
    config: Config,
    units: Sequence[Chunk],
    contexts: Sequence[Chunk],
    vectors: np.ndarray,
    *,
    embedder_id: str,
    dim: int,
    embedded: int,
    t0: float,
) -> BuildStats:
    """Write the store, BM25, chunk files and manifest of a finished build into ``tmp``, then rename it to ``out``.

    The one writer of index folders: ``build_into`` and the distributed shard writer both end here, so a
    shard is byte-compatible with a single-process build. ``vectors`` must already be in ``tmp/vectors.npy``.
    """
    from .retrieval.lexical import LexicalIndex

    manifest: dict[str, Any] = {
        **expected_manifest(config, root),
        "name": name,
        "mlrag_version": _mlrag_version(),
        "embedder": {"id": embedder_id, "dim": dim},
        "store": {
            "backend": config.store.backend,
            "approx_threshold": config.store.approx_threshold,
            "chroma_path": config.store.chroma_path,
            "chroma_host": config.store.chroma_host,
            "chroma_port": config.store.chroma_port,
        },
        "corpus_hash": _corpus_hash(files),
        "files": {f.path: f.sha for f in files},
        "counts": {"files": len(files), "units": len(units), "contexts": len(contexts)},
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    _write_store(tmp, out, manifest, config, units, vectors, dim)
    LexicalIndex.build(units).save(tmp / "bm25")
    _write_jsonl(tmp / "chunks.jsonl", units)
    _write_jsonl(tmp / "contexts.jsonl", contexts)
    stats = BuildStats(len(files), len(units), embedded, len(units) - embedded, time.perf_counter() - t0)
    manifest["stats"] = asdict(stats)
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
    replace_folder(tmp, out)
    return stats


def _remove_stale(out: Path) -> None:
    """Delete temporary folders left beside ``out`` by builders that died (their process no longer exists)."""
    for p in out.parent.glob(f".{out.name}.*-*"):
        kind, _, pid = p.name.rpartition("-")
        if not (kind.endswith(".tmp") or kind.endswith(".old")) or not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            log.info("removing %s, left by a builder that stopped", p)
            shutil.rmtree(p, ignore_errors=True)
        except PermissionError:
            pass


def token_counter_for(config: Config) -> Any:
    """The chunker's token counter for ``config``'s embedder, the one ``build_into`` uses, loading no model
    when a ``tokenizer.json`` gives the same counts (``minilm``, local folders) or the embedder is cheap."""
    from .chunking import TokenCounter
    from .embedding import get_embedder

    model = config.embedding.model
    if model == "minilm":
        return TokenCounter.minilm()
    if (Path(model) / "tokenizer.json").is_file():
        return TokenCounter(Path(model) / "tokenizer.json")
    if model.split(":", 1)[0] == "fake":
        return token_counter(get_embedder(config.embedding))
    cpu = config.embedding.__class__(**{**config.embedding.__dict__, "device": "cpu"})
    return token_counter(get_embedder(cpu))


def token_counter(embedder: Any) -> Any:
    """The chunker's token counter: the embedder's ``tokenizer.json`` (batched counts) or its ``count_tokens``."""
    tj = getattr(embedder, "tokenizer_json", None)
    if tj is not None:
        from .chunking import TokenCounter

        return TokenCounter(tj)
    return embedder.count_tokens


def _copy_previous(out: Path, config: Config, embedder: Any, texts: Sequence[str], vectors: np.ndarray) -> set[int]:
    """Fill rows of ``vectors`` whose text the previous index at ``out`` already embedded; return those rows."""
    from .chunking import embed_text
    from .embedding import text_hash

    old = _read_manifest(out)
    if old is None or old.get("format_version") != FORMAT_VERSION:
        return set()
    if old.get("embedder") != {"id": embedder.id, "dim": embedder.dim}:
        return set()
    try:
        old_units = _read_jsonl(out / "chunks.jsonl")
        old_vecs = np.load(out / "vectors.npy", mmap_mode="r")
    except (OSError, ValueError, KeyError):
        log.warning("previous index at %s is unreadable; embedding everything again", out)
        return set()
    if old_vecs.shape[0] != len(old_units):
        return set()
    by_hash = {text_hash(embed_text(u, config.chunking)): i for i, u in enumerate(old_units)}
    rows, src = [], []
    for i, t in enumerate(texts):
        j = by_hash.get(text_hash(t))
        if j is not None:
            rows.append(i)
            src.append(j)
    for s in range(0, len(rows), 4096):
        vectors[rows[s : s + 4096]] = old_vecs[src[s : s + 4096]]
    return set(rows)


def _write_store(
    tmp: Path,
    out: Path,
    manifest: dict[str, Any],
    config: Config,
    units: Sequence[Chunk],
    vectors: np.ndarray,
    dim: int,
) -> None:
    """Fill the configured vector store with every unit's vector and save it (Chroma: sync its collection)."""
    from .stores.base import chunk_key, make_store

    keys = np.array([chunk_key(u.id) for u in units], dtype=np.int64)
    _, first = np.unique(keys, return_index=True)
    if len(first) < len(keys):
        log.warning(
            "%d units share a chunk key with another unit; only the first is searchable densely", len(keys) - len(first)
        )
    rows = np.sort(first)
    if config.store.backend == "chroma":
        folder = _store_folder(out, manifest)
        store = make_store(config.store, dim, folder)
        have = set(store.ids())  # type: ignore[attr-defined]
        want = set(keys[rows].tolist())
        store.remove(sorted(have - want))
        rows = np.array([r for r in rows if int(keys[r]) not in have], dtype=np.int64)
    else:
        store = make_store(config.store, dim)
    for s in range(0, len(rows), 8192):
        part = rows[s : s + 8192]
        store.add(keys[part], np.asarray(vectors[part]))
    store.save(tmp / "store")


def _write_jsonl(path: Path, chunks: Sequence[Chunk]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for c in chunks:
            fh.write(json.dumps(c.to_dict(), ensure_ascii=False) + "\n")


def _corpus_hash(files: Sequence[Any]) -> str:
    h = hashlib.sha1()
    for f in files:
        h.update(f"{f.path}\0{f.sha}\n".encode())
    return h.hexdigest()


from .retrieval.multi import MultiIndex  # noqa: E402  (re-exported: several repositories as namespaces)

__all__ = ["BuildStats", "Index", "MultiIndex", "build_into"]
