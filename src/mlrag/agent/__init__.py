"""Agent tools: what an agent (or a user) calls to stay inside what a repository really offers.

``check`` tells whether a bash command or Python snippet uses real scripts, options, choices, modules, names and
registered values (``check.py``, with ``bash_check.py`` and ``python_check.py``); ``entry_points.py`` prints the
affordance catalog as a table; ``mcp_server.py`` serves search, the catalog, the check and generation as MCP
tools over stdio (``mlrag mcp``). Cheap to import: the MCP SDK is imported only by ``mcp_server``.
"""

from __future__ import annotations

from .check import check, check_code, check_with_index, detect_language
from .result import CheckResult

__all__ = ["CheckResult", "check", "check_code", "check_with_index", "detect_language"]
