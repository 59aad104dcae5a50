"""Chunking: pure functions from ``(path, text)`` to search units, context units and argument cards.

``chunk_files`` chunks a repository's files (walking and reading them is ``repo.py``'s job) and derives one
argument card per command-line script; ``chunk_text`` chunks one file. ``embed_text`` is the text an embedder
sees for a chunk; ``TokenCounter`` counts tokens with the embedder's tokenizer. See ARCHITECTURE.md ("Chunks").
"""

from __future__ import annotations

from .base import ChunkSet, embed_text, file_lines
from .cards import CliSpec, extract_cli
from .dispatch import chunk_files, chunk_text, file_kind
from .tokens import TokenCounter, approx_tokens

__all__ = [
    "ChunkSet",
    "CliSpec",
    "TokenCounter",
    "approx_tokens",
    "chunk_files",
    "chunk_text",
    "embed_text",
    "extract_cli",
    "file_kind",
    "file_lines",
]
