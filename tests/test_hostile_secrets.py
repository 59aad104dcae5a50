"""Secrets never reach errors, logs or clones: one redaction helper, checked against every place a key can hide."""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

import pytest

from mlrag.config import GenerationConfig, load_config
from mlrag.errors import BackendError, ConfigError, MlragError, RepoError
from mlrag.redact import MASK, RedactingFilter, redact, redact_obj, register_secret

KEY = "sk-proj-AbCdEfGhIjKlMnOpQrStUv123456"


@pytest.mark.parametrize("text,secret", [
    (f"openai:gpt-4o?api_key={KEY}", KEY),
    ("openai:gpt-4o?timeout_s=3&api_key=plainvalue99", "plainvalue99"),
    ("Authorization: Bearer abc.def.ghi-123", "abc.def.ghi-123"),
    ("authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
    ('{"error": {"message": "Incorrect API key provided: ' + KEY + '"}}', KEY),
    ('{"api_key": "not-shaped-like-a-key"}', "not-shaped-like-a-key"),
    ("https://oauth2:glpat-AAAAAAAAAAAAAAAAAAAA@gitlab.com/a/b.git", "glpat-AAAAAAAAAAAAAAAAAAAA"),
    ("https://user:hunter2hunter2@example.com/v1", "hunter2hunter2"),
    ("https://ghp_0123456789abcdefghijKLMN@github.com/o/r", "ghp_0123456789abcdefghijKLMN"),
    ("token=abcdef123456 rest", "abcdef123456"),
    ("HF token hf_abcdefghijklmnopqrstuvwx in a message", "hf_abcdefghijklmnopqrstuvwx"),
    ("aws AKIAABCDEFGHIJKLMNOP", "AKIAABCDEFGHIJKLMNOP"),
    ("password: correct-horse-battery", "correct-horse-battery"),
])
def test_redact_hides_each_shape(text: str, secret: str) -> None:
    out = redact(text)
    assert secret not in out and MASK in out


@pytest.mark.parametrize("text", [
    "python train.py --max_new_tokens 64 --lr 0.01",
    "generation.max_new_tokens=64 chunking.context_max_tokens=1024",
    "the token budget of a basic example",
    "https://github.com/dmlc/dgl@abc123",
    "git@github.com:owner/repo.git",
])
def test_redact_keeps_ordinary_text(text: str) -> None:
    assert redact(text) == text


def test_registered_and_environment_values_are_hidden_whatever_their_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    register_secret("q9-weird-shape-value")
    monkeypatch.setenv("MY_SERVICE_TOKEN", "zz-env-token-value")
    out = redact("server said: q9-weird-shape-value / zz-env-token-value")
    assert "q9-weird" not in out and "zz-env" not in out


def test_redact_obj_blanks_secret_keys_but_not_env_names() -> None:
    data = {"generation": {"api_key_env": "OPENAI_API_KEY", "base_url": "http://u:pw123456@h/v1"},
            "api_key": "anything", "argv": ["--llm", f"openai:m?api_key={KEY}"], "n": 3}
    out = redact_obj(data)
    assert out["generation"]["api_key_env"] == "OPENAI_API_KEY" and out["api_key"] == MASK and out["n"] == 3
    assert "pw123456" not in str(out) and KEY not in str(out)


def test_error_text_is_redacted_wherever_it_is_printed() -> None:
    e = BackendError(f"unknown generator backend 'x' in 'x:m?api_key={KEY}'")
    assert KEY not in str(e) and KEY not in f"{e}" and issubclass(BackendError, MlragError)


def test_unknown_backend_spec_with_a_key_is_redacted() -> None:
    with pytest.raises(ConfigError) as e:
        load_config(overrides=[f"generation.llm=bogus:model?api_key={KEY}"])
    assert KEY not in str(e.value) and "bogus" in str(e.value)


def test_api_key_env_holding_a_key_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as e:
        load_config(overrides=[f"generation.api_key_env={KEY}"])
    assert KEY not in str(e.value) and "environment variable" in str(e.value)


def test_logging_filter_redacts_messages_args_and_tracebacks() -> None:
    record = logging.LogRecord("mlrag", logging.WARNING, __file__, 1, "calling %s", (f"openai:m?api_key={KEY}",),
                               None)
    try:
        raise RuntimeError(f"boom {KEY}")
    except RuntimeError:
        import sys

        record.exc_info = sys.exc_info()
    assert RedactingFilter().filter(record)
    assert KEY not in record.getMessage() and KEY not in (record.exc_text or "")


def test_cli_log_lines_are_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    from mlrag.cli import setup_logging

    setup_logging()
    logging.getLogger("mlrag.test").warning("key is %s", KEY)
    assert KEY not in capsys.readouterr().err


# --- openai backend: keys and base URLs --------------------------------------------------------------------------


def test_base_url_credentials_are_dropped_and_never_recorded(caplog: pytest.LogCaptureFixture,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from mlrag.generation.base import get_generator

    monkeypatch.setattr(logging.getLogger("mlrag"), "propagate", True)  # the CLI's setup_logging may have run

    gen = get_generator("openai:m", GenerationConfig(cache=False, base_url="http://alice:s3cr3tpass@127.0.0.1:9/v1"))
    assert "s3cr3tpass" not in gen.id and "s3cr3tpass" not in repr(gen) and "alice" not in gen.id
    assert gen.base_url == "http://127.0.0.1:9/v1"  # type: ignore[attr-defined]
    assert "ignored" in caplog.text and "s3cr3tpass" not in caplog.text


def test_key_from_api_key_env_is_not_in_id_or_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlrag.generation.base import get_generator

    monkeypatch.setenv("MLRAG_HOSTILE_KEY", "odd-key-value-123")
    gen = get_generator("openai:m?base_url=http://127.0.0.1:9/v1", GenerationConfig(cache=False,
                                                                                     api_key_env="MLRAG_HOSTILE_KEY"))
    assert "odd-key-value-123" not in gen.id + repr(gen)
    assert "odd-key-value-123" not in redact("echo odd-key-value-123")  # registered on use


def test_generator_spec_options_that_are_not_numbers_are_one_line_errors() -> None:
    from mlrag.generation.base import get_generator

    for spec in ("openai:m?base_url=http://127.0.0.1:9/v1&timeout_s=soon",
                 "openai:m?base_url=http://127.0.0.1:9/v1&max_retries=1e99",
                 "openai:m?base_url=ftp://127.0.0.1/x", "openai:m?base_url=http://127.0.0.1:9/v1&timeout_s=0"):
        with pytest.raises(BackendError):
            get_generator(spec, GenerationConfig(cache=False))


# --- git clones --------------------------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_clone_error_with_a_token_in_the_url_shows_no_token(tmp_path: Path) -> None:
    from mlrag.repo import resolve_repo

    with pytest.raises(RepoError) as e:
        resolve_repo("https://user:tok-0123456789abcdef@127.0.0.1:1/o/r.git", tmp_path)
    assert "tok-0123456789abcdef" not in str(e.value) and "127.0.0.1" in str(e.value)
    leftovers = [p for p in (tmp_path / "repos").glob("*")] if (tmp_path / "repos").exists() else []
    assert leftovers == []


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_cached_clone_keeps_no_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A local upstream reached through a URL with user info: git's `insteadOf` maps the credentialed http URL
    to the local folder, so the clone really runs with the token in its URL, offline."""
    from mlrag.repo import resolve_repo

    upstream = tmp_path / "upstream"
    upstream.mkdir()
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    (upstream / "README.md").write_text("# up\n", encoding="utf-8")
    for cmd in (["git", "init", "-q"], ["git", "add", "."], ["git", "commit", "-q", "-m", "x"]):
        subprocess.run(cmd, cwd=upstream, check=True, env={**env, "PATH": "/usr/bin:/bin"})
    token_url = "https://user:tok-abcdefabcdef1234@git.invalid/o/r.git"
    gitconfig = tmp_path / "gitconfig"
    gitconfig.write_text(f'[url "{upstream.as_uri()}"]\n\tinsteadOf = {token_url}\n', encoding="utf-8")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    monkeypatch.setenv("GIT_ALLOW_PROTOCOL", "file:https")
    resolved = resolve_repo(token_url, tmp_path / "cache")
    assert (resolved.root / "README.md").is_file()
    assert "tok-abcdef" not in resolved.source and "tok-abcdef" not in str(resolved.root)
    for p in (resolved.root / ".git").rglob("*"):
        if p.is_file():
            assert b"tok-abcdefabcdef1234" not in p.read_bytes(), p
