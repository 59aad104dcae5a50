"""The command line and the config under hostile input: overrides anywhere, bounded numbers, registries that a
plugin extends, extras that exist, and one line (never a traceback) for every failure."""

from __future__ import annotations

import ast
import configparser
import json
from pathlib import Path
from typing import Any

import pytest

from mlrag.cli import main
from mlrag.config import Config, StoreConfig, load_config
from mlrag.errors import EXTRAS, ConfigError, MissingDependencyError, require

ROOT = Path(__file__).resolve().parents[1]
FAKE = ["--set", "embedding.model=fake", "-q"]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_overrides_after_options_are_accepted(capsys: pytest.CaptureFixture[str], example_repo: Path) -> None:
    code, out, err = _run(capsys, "search", str(example_repo), "train arma", "-k", "3", "retrieval.mode=bm25",
                          "--json", *FAKE)
    assert code == 0, err
    assert 1 <= len(json.loads(out)) <= 3
    # the override really is applied: a bad value after an option is reported as that key
    code, _, err = _run(capsys, "search", str(example_repo), "q", "-k", "3", "retrieval.mode=nope", *FAKE)
    assert code == 2 and "retrieval.mode" in err and len(err.strip().splitlines()) == 1


def test_unknown_words_after_options_are_still_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["search", "repo", "q", "-k", "3", "stray"])
    assert e.value.code == 2 and "stray" in capsys.readouterr().err


@pytest.mark.parametrize("k", ["-1", "1001", "99999999999999999999", "1e3", "x"])
def test_bad_k_is_an_argument_error(capsys: pytest.CaptureFixture[str], k: str) -> None:
    with pytest.raises(SystemExit) as e:
        main(["search", "repo", "q", "-k", k])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "-k" in err and "Traceback" not in err


@pytest.mark.parametrize("override,key", [
    ("retrieval.budget_chars=-1", "retrieval.budget_chars"),
    ("generation.context_tokens=-5", "generation.context_tokens"),
    ("generation.timeout_s=.inf", "generation.timeout_s"),
    ("generation.temperature=.nan", "generation.temperature"),
    ("retrieval.dense_weight=-.inf", "retrieval.dense_weight"),
    ("generation.max_retries=-1", "generation.max_retries"),
    ("store.backend=nope", "store.backend"),
    ("generation.llm=nope:model", "generation.llm"),
    ("generation.api_key_env=has space", "generation.api_key_env"),
])
def test_bad_numbers_and_names_are_config_errors(override: str, key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config(overrides=[override])


def test_negative_seed_is_allowed() -> None:
    assert load_config(overrides=["generation.seed=-1"]).generation.seed == -1


def test_a_registered_store_is_a_valid_backend() -> None:
    from mlrag.stores import make_store, register_store, store_names
    from mlrag.stores.numpy_store import NumpyStore

    made: list[int] = []

    def factory(cfg: StoreConfig, dim: int, folder: Path | None) -> Any:
        made.append(dim)
        return NumpyStore(dim)

    with pytest.raises(ConfigError):
        load_config(overrides=["store.backend=hostile-test-store"])
    register_store("hostile-test-store", factory)
    try:
        cfg = load_config(overrides=["store.backend=hostile-test-store"])
        assert "hostile-test-store" in store_names()
        assert isinstance(make_store(cfg.store, 4), NumpyStore) and made == [4]
    finally:
        from mlrag.stores import base

        base.STORES.unregister("hostile-test-store")


def test_store_entry_points_are_registered_and_a_broken_plugin_is_one_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    from mlrag.stores import base

    ep = importlib.metadata.EntryPoint("hostile-ep-store", "no_such_module_xyz:factory", base.ENTRY_POINTS)
    real = importlib.metadata.entry_points
    monkeypatch.setattr(importlib.metadata, "entry_points",
                        lambda **kw: [ep] if kw.get("group") == base.ENTRY_POINTS else real(**kw))
    cfg = load_config(overrides=["store.backend=hostile-ep-store"])
    with pytest.raises(ConfigError, match="cannot be loaded"):
        base.make_store(cfg.store, 4)


def test_a_registered_generator_is_a_valid_llm() -> None:
    from mlrag.generation import base

    with pytest.raises(ConfigError):
        Config().replace(["generation.llm=hostile-gen:x"])
    base.register("hostile-gen", lambda spec, cfg: base.get_generator("echo", cfg))
    try:
        assert Config().replace(["generation.llm=hostile-gen:x"]).generation.llm == "hostile-gen:x"
    finally:
        base.GENERATORS.unregister("hostile-gen")


def test_extras_named_by_require_exist_in_setup_cfg() -> None:
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")
    assert set(EXTRAS) == set(parser["options.extras_require"])
    used = set()
    for path in (ROOT / "src" / "mlrag").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "require" and len(node.args) >= 2:
                if isinstance(node.args[1], ast.Constant):
                    used.add((path.name, node.args[1].value))
    assert used and all(extra in (*EXTRAS, "core") for _, extra in used), sorted(used)


def test_require_names_the_extra_to_install() -> None:
    with pytest.raises(MissingDependencyError, match=r"mlrag\[openai\]"):
        require("no_such_module_for_mlrag_tests", "openai")
    with pytest.raises(MissingDependencyError, match="pip install mlrag$"):
        require("no_such_module_for_mlrag_tests", "core")


def test_os_errors_are_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path, example_repo: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    code, _, err = _run(capsys, "index", str(example_repo), "--set", f"index_dir={blocker}/sub",
                        "--out", str(blocker / "sub" / "idx"), *FAKE)
    assert code in (2, 3) and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_unexpected_errors_are_one_line_unless_debugging(capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import mlrag.cli as cli

    def boom(args: Any) -> int:
        raise RuntimeError("kaput with sk-abcdefghijklmnopqrst in it")

    monkeypatch.setattr(cli, "_cmd_search", boom)
    code, _, err = _run(capsys, "search", "r", "q")
    assert code == 3 and "RuntimeError: kaput" in err and "sk-abcdefghij" not in err
    assert len(err.strip().splitlines()) == 1
    monkeypatch.setenv("MLRAG_DEBUG", "1")
    with pytest.raises(RuntimeError):
        main(["search", "r", "q"])


@pytest.mark.parametrize("backend", ["numpy", "faiss"])
def test_store_search_with_a_huge_k_is_a_config_error_not_an_allocation(backend: str) -> None:
    import numpy as np

    from mlrag.stores import make_store

    if backend == "faiss":
        pytest.importorskip("faiss")
    store = make_store(StoreConfig(backend=backend), 2)
    store.add([1, 2], np.eye(2, dtype=np.float32))
    with pytest.raises(ConfigError, match="k must be"):
        store.search(np.ones((1, 2), np.float32), 10**12)
    scores, ids = store.search(np.ones((1, 2), np.float32), 4)
    assert ids.shape == (1, 4) and sorted(ids[0].tolist()) == [-1, -1, 1, 2]
