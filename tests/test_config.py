from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlrag.config import DEFAULT_CONFIG, Config, as_config, load_config
from mlrag.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_default_yaml_holds_every_default() -> None:
    assert yaml.safe_load(DEFAULT_CONFIG.read_text()) == Config().to_dict()
    # the top-level configs/ folder is the packaged one
    assert (ROOT / "configs" / "default.yaml").resolve() == DEFAULT_CONFIG.resolve()


def test_overrides_are_parsed_and_validated() -> None:
    cfg = load_config(overrides=["retrieval.mode=bm25", "generation.max_new_tokens=64", "progress=false"])
    assert cfg.retrieval.mode == "bm25"
    assert cfg.generation.max_new_tokens == 64
    assert cfg.progress is False


@pytest.mark.parametrize(
    "override, fragment",
    [
        ("retrieval.mode=magic", "retrieval.mode"),
        ("retrieval.nope=1", "unknown key"),
        ("chunking.max_tokens=-3", "chunking.max_tokens"),
        ("chunking.max_tokens=abc", "expected an integer"),
        ("generation.temperature=-1", "generation.temperature"),
        ("embedding.device=tpu", "embedding.device"),
        ("retrieval.dense_weight=2", "dense_weight"),
        ("noequals", "key.sub=value"),
    ],
)
def test_bad_values_name_the_field(override: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment.replace(".", r"\.")):
        load_config(overrides=[override])


def test_yaml_file_and_mapping(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("retrieval:\n  budget_chars: 1234\n")
    assert load_config(f).retrieval.budget_chars == 1234
    assert as_config({"retrieval": {"budget_chars": 99}}).retrieval.budget_chars == 99
    f.write_text("retrieval: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(f)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")
    f.write_text("bogus: 1\n")
    with pytest.raises(ConfigError, match="unknown config key 'bogus'"):
        load_config(f)


def test_index_dir_env_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MLRAG_INDEX_DIR", str(tmp_path))
    assert Config().resolved_index_dir == tmp_path
    monkeypatch.delenv("MLRAG_INDEX_DIR")
    assert Config().resolved_index_dir == Path("indexes")
