"""An index of one repository: a folder of inspectable files, built once and updated incrementally.

Layout (``format_version`` 1)::

    .mlrag-index      marker: this folder is mlrag's (and may be replaced by a rebuild)
    manifest.json     format and mlrag versions, embedder id/dim, chunking config, store backend, corpus hash,
                      per-file sha1 map of the repository, counts, ``dense`` (full | none) and the sha256
                      ``checksums`` of every file below, checked on load
    chunks.jsonl      search units (``Chunk.to_dict``), row i <-> vectors.npy row i
    contexts.jsonl    parent context units
    vectors.npy       float32 (units, dim), L2-normalised, zero rows for data-like units; loaded memory-mapped
                      (full indexes only)
    store/            the vector store's files (faiss.index; numpy; Chroma keeps its own folder beside the index)
    bm25/             the bm25s index and its tokenizer parameters
    affordances.json  the affordance catalog: every way to run the repository (``mlrag.catalog``),
                      with its own ``version``; the manifest records that version and the entry count

Beside the index folders, ``embeddings.sqlite`` caches vectors by (model id, text hash) for every build and
every lazy search; it outlives the folders, which are replaced atomically.

Modules, by responsibility: ``manifest`` (what a folder records and the checks on it), ``folders`` (where an
index may be written, locks, atomic replacement, keeping index folders out of the walk), ``writer`` (the one
writer of index folders), ``update`` (build and incremental update), ``lazy`` (vectors computed per query),
``loader`` (``Index``: open and load).
"""

from __future__ import annotations

from ..retrieval.multi import MultiIndex  # noqa: E402,I001  (re-exported: several repositories as namespaces)
from .loader import Index, hash8, read_jsonl
from .manifest import FORMAT_VERSION, MANIFEST, REBUILD_HINT, expected_manifest, is_current, read_manifest
from .update import build_into, copy_previous, token_counter, token_counter_for
from .writer import BuildStats, Corpus, DenseVectors, write_catalog_for, write_index_files

__all__ = [
    "FORMAT_VERSION",
    "MANIFEST",
    "REBUILD_HINT",
    "BuildStats",
    "Corpus",
    "DenseVectors",
    "Index",
    "MultiIndex",
    "build_into",
    "copy_previous",
    "expected_manifest",
    "hash8",
    "is_current",
    "read_jsonl",
    "read_manifest",
    "token_counter",
    "token_counter_for",
    "write_catalog_for",
    "write_index_files",
]
