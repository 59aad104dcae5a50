"""``Index``: open (load when current, else build or update) and load one repository's index folder.

``Index.open`` walks the repository (its index folders left out), and when the manifest matches (same files,
config and embedder, and the dense vectors the search needs) it only loads. Otherwise it builds into a marked
``.<name>.tmp-<pid>`` beside the target and renames it into place, under an ``fcntl`` lock; a second builder
waits on the lock, then finds the winner's manifest matching and loads it. ``retrieval.dense`` decides what a
first search builds: ``full`` embeds every unit first, ``lazy`` and ``off`` build the lexical index only (``lazy``
then embeds per query what can reach the context, ``off`` never embeds); ``Index.open(..., dense="full")``,
which ``mlrag index`` uses, always leaves a full index, and every later search uses it.

``Index.load`` refuses a folder that is not an mlrag index, of another format version, built by another
embedder, or whose files do not match the manifest's checksums, with a one-line reason and a rebuild hint.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..config import DENSE_MODES, Config
from ..errors import ConfigError, IndexMismatchError, IndexWriteError, RepoError
from ..types import Chunk, Hit
from .folders import check_output, drop_excluded, lock, walk_excluding, writable_parent
from .lazy import FixedRows, LazyVectors
from .manifest import (
    FORMAT_VERSION,
    MANIFEST,
    REBUILD_HINT,
    dense_state,
    expected_manifest,
    is_current,
    read_manifest,
    verify_checksums,
)
from .writer import BuildStats, is_data_like, never_embedded, store_folder

log = logging.getLogger(__name__)


def hash8(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]


class _NoStore:
    """The vector store of an index without stored vectors: lazy dense search always passes a row mask."""

    def search(self, vecs: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        n = vecs.shape[0]
        return np.zeros((n, 0), dtype=np.float32), np.zeros((n, 0), dtype=np.int64)

    def __len__(self) -> int:
        return 0


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
        vectors: np.ndarray | None,
        store: Any,
        lexical: Any,
        stats: BuildStats | None = None,
    ) -> None:
        from ..retrieval.search import Searcher

        self.path = path
        self.manifest = manifest
        self.config = config
        self.chunks: tuple[Chunk, ...] = tuple(units)
        self.contexts: tuple[Chunk, ...] = tuple(contexts)
        self.store = store
        self.lexical = lexical
        self.name: str = manifest.get("name", path.name)
        self.root = Path(manifest.get("root", "."))
        self.files: list[str] = sorted(manifest.get("files", {}))
        self.stats = stats or BuildStats(len(self.files), len(self.chunks), 0, len(self.chunks), 0.0)
        self._embedder: Any = None
        self._catalog: Any = None
        self._affordance_units: Any = None
        rows: FixedRows | LazyVectors | None = None
        if config.retrieval.dense == "off":
            self.dense = "off"
        elif vectors is None:
            self.dense = "lazy"
            cache_dir = path.parent if config.embedding.cache else None
            rows = LazyVectors(self.chunks, config.chunking, self.embedder, cache_dir, never_embedded(units, config))
        else:
            self.dense = "full"
            # the rows the build left without a vector (data-like units, unless it embedded them)
            skip = (
                frozenset()
                if manifest.get("embeds_data_like")
                else frozenset(i for i, u in enumerate(self.chunks) if is_data_like(u))
            )
            if skip:
                rows = FixedRows(vectors, skip)
        self.dense_rows = rows
        self.searcher = Searcher(
            self.chunks,
            {c.id: c for c in self.contexts},
            lexical,
            store if store is not None else _NoStore(),  # type: ignore[arg-type]
            vectors if vectors is not None else np.zeros((len(self.chunks), 0), dtype=np.float32),
            self.embedder,
            config.retrieval,
            repo=self.name,
            dense_rows=rows,
            affordances=self._affordance_index,
        )

    # --- public --------------------------------------------------------------------------------------------

    @property
    def vectors(self) -> np.ndarray:
        """The row-aligned vector matrix (a lazy index: the rows computed so far, zeros elsewhere)."""
        return self.searcher.vectors

    @property
    def cards(self) -> tuple[Chunk, ...]:
        """The argument cards, one whole card per script (a card too long for one search unit is split into
        pieces for search, whose parent context is the whole card; this returns that whole card)."""
        whole = [u for u in self.chunks if u.kind == "card" and u.parent_id is None]
        whole += [c for c in self.contexts if c.kind == "card"]
        return tuple(sorted(whole, key=lambda c: (c.path, c.start_line)))

    @property
    def affordances(self) -> Any:
        """The repository's affordance catalog (``mlrag.catalog.Catalog``), read from ``affordances.json``;
        rebuilt from the repository's files when the file is missing or of another catalog version.

        A rebuilt catalog is kept in memory, not written back: the index folder's files are checksummed in the
        manifest, so rewriting ``affordances.json`` would make the next load refuse the index as corrupt and
        rebuild it. ``mlrag index`` (a rebuild) stores the current catalog.
        """
        if self._catalog is None:
            from ..catalog import build_catalog, read_catalog, read_sources

            found = read_catalog(self.path / "affordances.json")
            if found is None:
                log.info("affordances: %s missing or of another version; rebuilding from %s", self.path, self.root)
                found = build_catalog(read_sources(self.root, self.files))
            self._catalog = found
        return self._catalog

    @property
    def affordance_units(self) -> tuple[Chunk, ...]:
        """One derived unit per runnable catalog entry (``mlrag.chunking.affordances``): how to run it and every
        option, linked to the README/shell lines that run it; ``retrieval.affordances`` adds them to a context."""
        index = self._affordance_index()
        return index.units if index is not None else ()

    def _affordance_index(self) -> Any:
        """The ``retrieval.affordances.AffordanceIndex`` of the catalog, built on first use (None: no catalog)."""
        if self._affordance_units is None:
            from ..retrieval.affordances import AffordanceIndex

            catalog = self.affordances
            self._affordance_units = AffordanceIndex(catalog if catalog is not None else ())
        return self._affordance_units

    def embedder(self) -> Any:
        """The query embedder, loaded on first use and checked against the manifest."""
        if self._embedder is None:
            from ..embedding import get_embedder

            emb = get_embedder(self.config.embedding)
            want = self.manifest.get("embedder")
            if want is not None and (emb.id != want["id"] or emb.dim != want["dim"]):
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
    def open(
        cls,
        root: Path,
        config: Config,
        *,
        name: str,
        out: Path | None = None,
        progress: bool = True,
        dense: str | None = None,
    ) -> "Index":
        """Load the index of the repository at ``root`` when it is current, else build or update it.

        ``dense`` (default ``config.retrieval.dense``): ``full`` leaves an index with every vector; ``lazy`` and
        ``off`` accept any current index and build a lexical-first one (a stale full index is updated as full).

        Raises:
            IndexWriteError: ``out`` is not an mlrag index folder (a file, a user's folder, the repository or a
                folder above it, the folder of all indexes), or cannot be written.
        """
        from ..repo import walk_repo
        from .update import build_into

        t0 = time.perf_counter()
        want = dense or config.retrieval.dense
        if want not in DENSE_MODES:
            raise ConfigError(f"dense: {want!r} is not one of {', '.join(DENSE_MODES)}")
        root = Path(root).resolve()
        out = Path(out) if out is not None else config.resolved_index_dir / f"{name}-{hash8(str(root))}"
        check_output(out, root, config.resolved_index_dir)
        walk, prefixes = walk_excluding(config.walk, root, config, out)
        files = drop_excluded(walk_repo(root, walk), prefixes)
        if not files:
            raise RepoError(f"repository has no readable text files: {root} (check walk.include / walk.exclude)")
        found = cls._reuse_if_current(out, files, config, root, want, t0)
        if found is not None:
            return found
        writable_parent(out)
        with lock(out):
            found = cls._reuse_if_current(out, files, config, root, want, t0)  # another builder may have won
            if found is not None:
                return found
            check_output(out, root, config.resolved_index_dir)
            build = "full" if want == "full" or (want == "lazy" and _was_full(out, config, root)) else "none"
            try:
                stats = build_into(out, root, name, files, config, dense=build, progress=progress, t0=t0)
            except OSError as e:
                raise IndexWriteError(
                    f"cannot write the index folder {out} ({e.strerror or e}); set index_dir (or --out) to a "
                    "writable folder with free space"
                ) from None
        log.info("index %s: %s", name, stats.summary())
        idx = cls.load(out, config)
        idx.stats = stats
        return idx

    @classmethod
    def load(cls, path: Path, config: Config | None = None) -> "Index":
        """Load the index folder at ``path``; refuse a corrupt one, another format version or another embedder."""
        from ..retrieval.lexical import LexicalIndex
        from ..stores.base import make_store

        path = Path(path)
        manifest = read_manifest(path)
        if manifest is None:
            raise IndexMismatchError(f"{path} is not an mlrag index (no readable {MANIFEST}); {REBUILD_HINT}")
        if manifest.get("format_version") != FORMAT_VERSION:
            raise IndexMismatchError(
                f"index {path} has format version {manifest.get('format_version')!r}, this mlrag reads "
                f"{FORMAT_VERSION}; {REBUILD_HINT}"
            )
        try:
            config = _config_for(path, manifest, config)
            verify_checksums(path, manifest)
            units = read_jsonl(path / "chunks.jsonl")
            contexts = read_jsonl(path / "contexts.jsonl")
            full = dense_state(manifest) == "full"
            vectors = np.load(path / "vectors.npy", mmap_mode="r") if full else None
            dim = manifest["embedder"]["dim"] if full else 0
            if vectors is not None and vectors.shape != (len(units), dim):
                raise IndexMismatchError(
                    f"index {path} is corrupt: vectors {vectors.shape} for {len(units)} units of dim {dim}; "
                    f"{REBUILD_HINT}"
                )
            store = None
            if full:
                store_cfg = (
                    config.store
                    if config.store.backend == manifest["store"]["backend"]
                    else config.store.__class__(**manifest["store"])
                )
                store = make_store(store_cfg, dim, store_folder(path, manifest), load=True)
            lexical = LexicalIndex.load(path / "bm25")
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise IndexMismatchError(f"index {path} is corrupt ({type(e).__name__}: {e}); {REBUILD_HINT}") from None
        return cls(path, manifest, config, units, contexts, vectors, store, lexical)

    # --- internals ---------------------------------------------------------------------------------------------

    @classmethod
    def _reuse_if_current(
        cls, out: Path, files: Sequence[Any], config: Config, root: Path, want: str, t0: float
    ) -> "Index | None":
        current = read_manifest(out)
        if current is None or not is_current(current, files, config, root, dense=want):
            return None
        try:
            idx = cls.load(out, config)
            if idx.dense == "full":
                idx.embedder()  # an index built by another model is refused here, before any search
        except IndexMismatchError as e:
            log.warning("%s; rebuilding it", e)
            return None
        idx.stats = BuildStats(len(files), len(idx.chunks), 0, len(idx.chunks), time.perf_counter() - t0)
        log.info("index %s: up to date (%s)", idx.name, idx.stats.summary())
        return idx


def _config_for(path: Path, manifest: dict[str, Any], config: Config | None) -> Config:
    """``config``, or the config the manifest records; refuse one that names another embedding model."""
    if config is None:
        return Config().replace(
            {
                "embedding": {
                    "model": manifest["embedding_model"],
                    "backend": manifest.get("embedding_backend", "torch"),
                },
                "chunking": manifest["chunking"],
                "store": manifest["store"],
            }
        )
    if config.embedding.model != manifest["embedding_model"]:
        raise IndexMismatchError(
            f"index {path} was built with embedding.model={manifest['embedding_model']!r}, the config gives "
            f"{config.embedding.model!r}; {REBUILD_HINT}"
        )
    return config


def _was_full(out: Path, config: Config, root: Path) -> bool:
    """True when ``out`` holds a full index built with the same settings (only files changed since): updating
    it as a full index embeds only the changed units."""
    m = read_manifest(out)
    if m is None or dense_state(m) != "full":
        return False
    return all(m.get(k) == v for k, v in expected_manifest(config, root).items() if k != "store")


def read_jsonl(path: Path) -> list[Chunk]:
    """The chunks of a ``chunks.jsonl``/``contexts.jsonl`` file."""
    with path.open(encoding="utf-8") as fh:
        return [Chunk.from_dict(json.loads(line)) for line in fh if line.strip()]
