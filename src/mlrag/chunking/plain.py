"""Shell scripts, small config files and other text in line windows.

Training recipes in ``.sh`` files are often the only place a script's real flags appear, so shell scripts are
their own kind (``shell``) and are linked to the argument cards of the scripts they run. Config files
(``.yaml``/``.yml``/``.json``/``.toml``/``.cfg``/``.ini``) are kind ``config``; anything else is ``text``.
Windows follow paragraphs (runs of non-blank lines) packed up to ``max_tokens``; a paragraph over the limit is
cut by lines, preferring blank lines. The whole file is the parent context when it fits ``context_max_tokens``
(else runs of windows are), and the level-2 context when it fits ``section_max_tokens`` (``base.context_levels``).
Which config files are small enough to index is the repository walk's decision (``walk.max_config_bytes``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import ChunkSet, CountTokens, windows_chunkset

if TYPE_CHECKING:
    from ..config import ChunkingConfig

PLAIN_KINDS = ("shell", "config", "text")


def chunk_plain(path: str, text: str, kind: str, config: "ChunkingConfig", count_tokens: CountTokens) -> ChunkSet:
    """Line-window units of a shell, config or text file.

    Example:
        >>> from mlrag.config import ChunkingConfig
        >>> cs = chunk_plain("run.sh", "python train.py --lr 0.1\\n", "shell", ChunkingConfig(), len)
        >>> [(c.kind, c.start_line, c.end_line) for c in cs.units]
        [('shell', 1, 1)]
    """
    if kind not in PLAIN_KINDS:
        from ..errors import MlragError

        raise MlragError(f"chunk_plain: kind {kind!r} is not one of {', '.join(PLAIN_KINDS)}")
    return windows_chunkset(path, text, kind, config, count_tokens)
