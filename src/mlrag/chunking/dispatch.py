"""Choosing a chunker by file name, and chunking many files with argument cards and links.

Kinds by name: ``README`` without an extension, ``.md`` and ``.markdown`` are Markdown; ``.rst``
reStructuredText; ``.py`` Python; ``.ipynb`` notebooks; ``.sh``/``.bash`` shell; ``.yaml``/``.yml``/``.json``/
``.toml``/``.cfg``/``.ini`` config; anything else is text in line windows. Reading files, skipping binaries and
size limits are the caller's job (``repo.py``); these functions only see ``(path, text)`` pairs.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from .base import ChunkSet, CountTokens, windows_chunkset
from .cards import CliSpec, extract_cli
from .datalike import flag_data_like
from .linking import link_cards
from .markdown import chunk_markdown
from .notebook import chunk_notebook
from .plain import chunk_plain
from .python_code import chunk_python, parse_python
from .rst import chunk_rst
from .tokens import approx_tokens

if TYPE_CHECKING:
    from ..config import ChunkingConfig

_BY_EXT = {
    ".md": "markdown", ".markdown": "markdown", ".rst": "rst", ".py": "python", ".ipynb": "notebook",
    ".sh": "shell", ".bash": "shell", ".yaml": "config", ".yml": "config", ".json": "config",
    ".toml": "config", ".cfg": "config", ".ini": "config",
}  # fmt: skip


def file_kind(path: str) -> str:
    """The chunk kind a file is read as, from its name.

    Example:
        >>> file_kind("docs/README"), file_kind("run.sh"), file_kind("data/list.txt")
        ('markdown', 'shell', 'text')
    """
    name = posixpath.basename(path)
    stem, ext = posixpath.splitext(name)
    if not ext and stem.upper() == "README":
        return "markdown"
    return _BY_EXT.get(ext.lower(), "text")


def chunk_text(
    path: str, text: str, config: "ChunkingConfig", count_tokens: Callable[[str], int] | None = None
) -> ChunkSet:
    """Chunk one file (no argument cards: those need every file, see ``chunk_files``).

    Args:
        path: repository-relative POSIX path; it picks the chunker (``file_kind``).
        text: the file's text.
        config: sizes and options.
        count_tokens: token counter (``TokenCounter``); ``approx_tokens`` when None.

    Example:
        >>> from mlrag.config import ChunkingConfig
        >>> cs = chunk_text("README.md", "# Usage\\nRun:\\n```bash\\npython main.py\\n```\\n", ChunkingConfig())
        >>> [c.title for c in cs.units]
        ['Usage']
    """
    count: CountTokens = count_tokens or approx_tokens
    kind = file_kind(path)
    if kind == "markdown":
        return chunk_markdown(path, text, config, count)
    if kind == "rst":
        return chunk_rst(path, text, config, count)
    if kind == "python":
        return chunk_python(path, text, config, count)
    if kind == "notebook":
        return chunk_notebook(path, text, config, count)
    return chunk_plain(path, text, kind, config, count)


def chunk_files(
    files: Iterable[tuple[str, str]], config: "ChunkingConfig", count_tokens: Callable[[str], int] | None = None
) -> ChunkSet:
    """Chunk many files: units in input order, then one argument card per script with a command-line interface.

    Cards and the README/shell chunks that run their scripts link to each other (``Chunk.links``). With
    ``config.data_like`` (the default), units whose content reads as data carry ``meta["data_like"] = True``
    (``chunking.datalike``).

    Example:
        >>> from mlrag.config import ChunkingConfig
        >>> files = [("README.md", "# Train\\n```\\npython train.py --lr 0.1\\n```\\n"),
        ...          ("train.py", "import argparse\\np = argparse.ArgumentParser()\\np.add_argument('--lr')\\n")]
        >>> cs = chunk_files(files, ChunkingConfig())
        >>> cs.units[-1].kind, cs.units[-1].meta["run"], cs.units[0].links == (cs.units[-1].id,)
        ('card', 'python train.py', True)
    """
    specs: dict[str, CliSpec] = {}
    parts: list[ChunkSet] = []
    for path, text in files:
        try:  # hostile content (deep nesting, odd notebook JSON) is a logged skip, never a failed build
            if file_kind(path) != "python":
                parts.append(chunk_text(path, text, config, count_tokens))
                continue
            tree = parse_python(path, text)  # parsed once for both the units and the card
            count = count_tokens or approx_tokens
            if tree is None:  # parse_python logged why
                parts.append(windows_chunkset(path, text, "python", config, count))
            else:
                parts.append(chunk_python(path, text, config, count, tree))
            if config.cards and tree is not None:
                spec = extract_cli(text, tree)
                if spec is not None:
                    specs[path] = spec
        except (RecursionError, MemoryError, TypeError, ValueError) as e:
            logging.getLogger(__name__).warning("%s: cannot be chunked (%s); skipped", path, type(e).__name__)
    units = tuple(c for p in parts for c in p.units)
    contexts = tuple(c for p in parts for c in p.contexts)
    if config.data_like:
        units = flag_data_like(units)
    out = ChunkSet(units, contexts)
    return link_cards(out, specs, config, count_tokens or approx_tokens) if config.cards else out
