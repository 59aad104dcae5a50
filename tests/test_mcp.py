"""`mlrag mcp` as a subprocess, driven by the MCP SDK's own stdio client (offline: fake embedder, echo model)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from agent_repo import write_repo

mcp = pytest.importorskip("mcp")
anyio = pytest.importorskip("anyio")

from mcp import ClientSession, StdioServerParameters  # noqa: E402
from mcp.client.stdio import stdio_client  # noqa: E402

TOOLS = {"search_repo", "list_entry_points", "check_command", "generate_command"}


def _error(result: Any) -> bool:
    return bool(getattr(result, "is_error", getattr(result, "isError", False)))


def _payload(result: Any) -> Any:
    text = "".join(getattr(c, "text", "") for c in result.content)
    return text if _error(result) else json.loads(text)


async def _session(repo: str, index_dir: str) -> dict[str, Any]:
    """One server process, every call the tests look at (a session costs a Python start-up)."""
    env = dict(os.environ, MLRAG_INDEX_DIR=index_dir, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mlrag", "mcp", "embedding.model=fake", "generation.llm=echo", "-q"],
        env=env,
    )
    out: dict[str, Any] = {}
    calls = {
        "entry_points": ("list_entry_points", {"repo": repo}),
        "scripts": ("list_entry_points", {"repo": repo, "kind": "python-script", "query": "tag.py"}),
        "search": ("search_repo", {"repo": repo, "query": "tag a file with the large tagger", "k": 3}),
        "invented": ("check_command", {"repo": repo,
                                       "command": "cd tools && python tag.py --input a --modle tagger-l"}),  # fmt: skip
        "bad_choice": ("check_command", {"repo": repo, "command": "python tag.py --input a --model tagger-xl",
                                         "workdir": "tools"}),  # fmt: skip
        "valid": ("check_command", {"repo": repo, "command": "cd tools && python tag.py --model tagger-l --input a"}),
        "python": ("check_command", {"repo": repo, "command": "from tinytag.models import build\nbuild('tagger-m')"}),
        "generate": ("generate_command", {"repo": repo, "task": "tag data/sample.txt with the large tagger", "k": 2}),
        "missing_repo": ("check_command", {"repo": repo + "-nope", "command": "ls"}),
        "empty_command": ("check_command", {"repo": repo, "command": "  "}),
        "bad_k": ("search_repo", {"repo": repo, "query": "x", "k": 0}),
        "bad_kind": ("list_entry_points", {"repo": repo, "kind": "notakind"}),
        "escaping_workdir": ("check_command", {"repo": repo, "command": "ls", "workdir": "../../etc"}),
        "after_errors": ("check_command", {"repo": repo, "command": "make train EPOCHS=2"}),
    }
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            out["tools"] = (await session.list_tools()).tools
            for key, (tool, args) in calls.items():
                out[key] = await session.call_tool(tool, args)
    return out


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    repo = write_repo(tmp_path_factory.mktemp("unseen") / "tinytag")
    index_dir = tmp_path_factory.mktemp("mcp-indexes")
    return anyio.run(_session, str(repo), str(index_dir))


def test_tools_are_listed_with_descriptions_and_schemas(session: dict[str, Any]) -> None:
    tools = {t.name: t for t in session["tools"]}
    assert set(tools) == TOOLS
    for t in tools.values():
        schema = getattr(t, "input_schema", None) or getattr(t, "inputSchema", None)
        assert len(t.description or "") > 100
        assert "repo" in schema["required"]
        assert all(p.get("description") for p in schema["properties"].values()), (t.name, schema)
    assert {"repo", "command"} <= set((getattr(tools["check_command"], "input_schema", None)
                                       or tools["check_command"].inputSchema)["required"])  # fmt: skip


def test_entry_points_carry_the_real_options(session: dict[str, Any]) -> None:
    data = _payload(session["entry_points"])
    by_id = {e["id"]: e for e in data["entry_points"]}
    tag = by_id["python-script:tools/tag.py"]
    assert tag["command"] == "cd tools && python tag.py" and tag["path"] == "tools/tag.py"
    params = {p["name"]: p for p in tag["params"]}
    assert params["--model"]["choices"] == ["tagger-s", "tagger-l"] and params["--model"]["default"] == "tagger-s"
    assert params["--input"]["required"] is True and params["--batch-size"]["type"] == "int"
    assert {"shell-script", "make-target", "python-api", "registry"} <= {e["kind"] for e in data["entry_points"]}
    only = _payload(session["scripts"])["entry_points"]
    assert [e["id"] for e in only] == ["python-script:tools/tag.py"]


def test_search_finds_the_script(session: dict[str, Any]) -> None:
    hits = _payload(session["search"])["hits"]
    assert 1 <= len(hits) <= 3
    assert all({"path", "start_line", "end_line", "heading", "text"} <= set(h) for h in hits)
    assert any(h["path"] == "tools/tag.py" and "--model" in h["text"] for h in hits)


def test_an_invented_option_is_flagged_with_the_real_one(session: dict[str, Any]) -> None:
    r = _payload(session["invented"])
    assert r["valid"] is False and "did you mean --model" in r["problems"][0]
    r = _payload(session["bad_choice"])
    assert r["valid"] is False and "choose from tagger-s, tagger-l" in r["problems"][0]
    r = _payload(session["python"])
    assert r["valid"] is False and "'tagger-m' is not registered" in r["problems"][0]


def test_a_valid_command_passes(session: dict[str, Any]) -> None:
    assert _payload(session["valid"]) == {"valid": True, "problems": [], "suggestions": []}
    assert _payload(session["after_errors"])["valid"] is True  # the server survived every bad call before


def test_generate_returns_code_context_and_warnings(session: dict[str, Any]) -> None:
    gen = _payload(session["generate"])
    assert isinstance(gen["code"], str) and gen["code"]
    assert gen["context"] and all(":" in loc for loc in gen["context"])
    assert isinstance(gen["warnings"], list) and gen["model"] == "echo"


@pytest.mark.parametrize(
    "key, fragment",
    [
        ("missing_repo", "does not exist"),
        ("empty_command", "non-empty string"),
        ("bad_k", "k must be an integer from 1 to 20"),
        ("bad_kind", "unknown entry-point kind 'notakind'"),
        ("escaping_workdir", "workdir must be a folder inside the repository"),
    ],
)
def test_bad_input_is_a_one_line_tool_error(session: dict[str, Any], key: str, fragment: str) -> None:
    result = session[key]
    assert _error(result)
    text = _payload(result)
    assert fragment in text and len(text.strip().splitlines()) == 1 and "Traceback" not in text


def test_toolbox_caches_indexes(tmp_path: Path) -> None:
    from mlrag.agent.mcp_server import ToolBox
    from mlrag.config import Config

    repo = str(write_repo(tmp_path / "tinytag"))
    box = ToolBox(Config().replace({"embedding": {"model": "fake"}}))
    first = box.index(repo)
    assert box.index(repo) is first and box.index(repo + "/") is first
    box.ttl = 0.0  # expired: reopened (the index on disk is current, so it is loaded, not rebuilt)
    again = box.index(repo)
    assert again is not first and again.path == first.path
