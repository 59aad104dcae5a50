"""Explicit configuration: frozen dataclasses, loaded from YAML, with ``key.sub=value`` overrides.

``configs/default.yaml`` holds every default and equals ``Config()`` (a test checks it). A user config only
needs the keys it changes. Every value is validated on construction: an unknown key lists the valid ones, a bad
value names the field, the value received and what is allowed.

Example:
    >>> cfg = load_config(overrides=["retrieval.mode=bm25", "generation.max_new_tokens=64"])
    >>> cfg.retrieval.mode
    'bm25'
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError

CONFIG_DIR = Path(__file__).parent / "configs"
DEFAULT_CONFIG = CONFIG_DIR / "default.yaml"


@dataclass(frozen=True)
class WalkConfig:
    """Which files of a repository are read."""

    include: tuple[str, ...] = ()  # gitignore-style globs; empty = everything not excluded
    exclude: tuple[str, ...] = (
        ".git/",
        "node_modules/",
        "__pycache__/",
        ".venv/",
        "venv/",
        "site-packages/",
        "third_party/",
        "3rdparty/",
        "vendor/",
        "*.min.js",
        "*.lock",
    )
    max_file_bytes: int = 1_000_000
    max_config_bytes: int = 20_000  # .yaml/.json/.toml/.cfg files larger than this are skipped
    respect_gitignore: bool = True
    skip_data_files: bool = True  # skip .txt/.csv/.tsv files that hold data lists (ids, URLs, synsets), not prose


@dataclass(frozen=True)
class ChunkingConfig:
    """How files become chunks. Sizes are in tokens of the embedder's tokenizer."""

    max_tokens: int = 256  # search unit: fits all-MiniLM-L6-v2's window
    context_max_tokens: int = 1024  # context unit (parent section) handed to prompts
    section_max_tokens: int = 3072  # outer context (enclosing section) around the contexts; 0 = off
    merge_tokens: int = 96  # tiny neighbouring sections are merged up to this size
    embed_header: bool = True  # prefix "path > heading" to the text given to the embedder
    cards: bool = True  # derive argument cards from argparse/click/typer/fire scripts
    data_like: bool = True  # flag units whose content reads as data (numbers, logs, dumps): meta["data_like"]

    def __post_init__(self) -> None:
        if self.section_max_tokens < 0:
            raise ConfigError(f"chunking.section_max_tokens: must be >= 0, got {self.section_max_tokens!r}")
        if self.section_max_tokens and self.section_max_tokens < self.context_max_tokens:
            raise ConfigError(
                f"chunking.section_max_tokens: must be 0 (off) or >= chunking.context_max_tokens "
                f"({self.context_max_tokens}), got {self.section_max_tokens!r}"
            )


@dataclass(frozen=True)
class EmbeddingConfig:
    """The dense embedder: ``minilm`` is the packaged all-MiniLM-L6-v2; any sentence-transformers name or path."""

    model: str = "minilm"
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    batch_size: int = 64
    fp16: bool = True  # on CUDA only
    cache: bool = True  # reuse embeddings across builds, keyed by (model id, text hash)
    threads: int = 0  # CPU threads for torch; 0 = torch's default
    # torch | onnx (ONNX Runtime, same vectors) | onnx-int8 (int8 weights, other vectors) | a plugin's runtime
    backend: str = "torch"

    def __post_init__(self) -> None:
        _registered("embedding.backend", self.backend)


DENSE_MODES = ("lazy", "full", "off")


@dataclass(frozen=True)
class StoreConfig:
    """The vector store holding the embeddings."""

    backend: str = "faiss"  # faiss | numpy | chroma
    approx_threshold: int = 200_000  # faiss: exact inner product below this many vectors, HNSW above
    chroma_path: str | None = None  # chroma: persistent local folder (default: inside the index)
    chroma_host: str | None = None  # chroma: a server's host (uses the HTTP client)
    chroma_port: int = 8000


@dataclass(frozen=True)
class RetrievalConfig:
    """How a task becomes ranked context."""

    mode: str = "hybrid"  # dense | bm25 | hybrid
    fusion: str = "rrf"  # rrf | weighted
    rrf_k: int = 60
    dense_weight: float = 0.5  # weighted fusion: weight of the dense score (BM25 gets 1 - this)
    candidates: int = 50  # per retriever, before fusion
    reranker: str | None = None  # a cross-encoder name or path; None = no reranking
    context_unit: str = "parent"  # chunk | parent: a hit on a small unit returns its section
    budget_chars: int = 6000  # context budget for prompts (0 = unlimited)
    query_expansion: bool = True  # add likely script names and flags from the repository's vocabulary
    path_prior: float = 1.0  # RRF weight of a ranking of files whose folder/file names the task names (0 = off)
    readme_prior: float = 0.0  # RRF weight of an extra ranking restricted to the root README (0 = off)
    readme_slot: int = 1  # the best root-README unit that shows a command is moved up to this rank (0 = off)
    parent_max_chars: int = 0  # context_unit=parent: use a parent only up to this size, else the unit (0 = any)
    follow_links: bool = True  # a hit on an argument card brings the README/shell chunks that run the script
    data_like: str = "lexical"  # units flagged data-like: lexical (BM25 only, never dense) | skip (never) | all
    section_windows: bool = False  # a section longer than the budget left: its windows that match the task
    affordances: bool = False  # a README/shell hit that runs an entry point, or a task naming one: its options too
    # lazy: a first search builds the lexical index only and embeds per query what can reach the context
    # (cached); full: embed every unit before the first search; off: never embed (BM25 and the path prior)
    dense: str = "lazy"
    lazy_candidates: int = 50  # dense=lazy: BM25 and path-prior candidates embedded per query (+ README, cards)


@dataclass(frozen=True)
class GenerationConfig:
    """The model that writes the code, and what is done with its answer."""

    llm: str = "default"  # default | echo | transformers:<model> | llama-cpp:<gguf> | openai:<model>
    max_new_tokens: int = 256
    temperature: float = 0.0  # 0 = greedy
    top_p: float = 1.0
    seed: int = 0
    prompt: str = "mlrag"  # template name in configs/prompts/ (mlrag | mlbench) or a path
    output_type: str = "auto"  # auto | bash | python
    strategy: str = "task"  # task | draft | none
    mode: str = "auto"  # auto | structured | free: structured = the model chooses, mlrag renders the command
    model_binding: bool = True  # structured: the model may give the task's unbound values to unbound options
    usage_values: bool = True  # structured: the documented command that fits the task writes what it leaves open
    grounding: bool = True
    repair: bool = True
    cache: bool = True  # on-disk cache of model outputs keyed by (prompt, model, decoding parameters)
    base_url: str | None = None  # openai: endpoint (else OPENAI_BASE_URL)
    api_key_env: str = "OPENAI_API_KEY"  # openai: the environment variable holding the key (never the key itself)
    timeout_s: float = 60.0
    max_retries: int = 3
    cache_dir: str = ""  # output cache folder; "" = $MLRAG_CACHE_DIR or ~/.cache/mlrag, then /generations
    context_tokens: int = 1536  # prompt context budget (the generator's tokenizer when it has one, else ~4 chars)
    device: str = "auto"  # transformers: auto | cpu | cuda | cuda:N
    n_ctx: int = 4096  # llama-cpp: context window
    threads: int = 0  # llama-cpp / torch CPU threads; 0 = the library's default


@dataclass(frozen=True)
class RayConfig:
    """Distributed indexing and evaluation on Ray (``mlrag index --ray``, ``mlrag eval --ray``); unused otherwise."""

    address: str = ""  # "" = start a local Ray runtime; "auto" = the running local cluster; "ray://host:10001"
    num_cpus: int = 0  # CPUs of a local runtime started by mlrag (0 = all); ignored when connecting to a cluster
    workers: int = 2  # embedding actors (one per device) and evaluation workers
    num_cpus_per_worker: float = 1.0
    num_gpus_per_worker: float = 0.0  # e.g. 1 to give each embedding actor / local-model worker its own GPU
    embed_batch_size: int = 256  # texts per Ray Data ``map_batches`` batch
    eval_batch_size: int = 2  # (row, condition) pairs per evaluation task
    endpoints: tuple[str, ...] = ()  # OpenAI-compatible base URLs for ``openai:<model>``, load-balanced
    concurrency_per_endpoint: int = 4  # requests in flight per endpoint, across all workers

    def __post_init__(self) -> None:
        for name in ("workers", "embed_batch_size", "eval_batch_size", "concurrency_per_endpoint"):
            if getattr(self, name) < 1:
                raise ConfigError(f"ray.{name}: must be >= 1, got {getattr(self, name)!r}")
        for name in ("num_cpus", "num_cpus_per_worker", "num_gpus_per_worker"):
            if getattr(self, name) < 0:
                raise ConfigError(f"ray.{name}: must be >= 0, got {getattr(self, name)!r}")


@dataclass(frozen=True)
class Config:
    """Every setting of mlrag, one section per pipeline stage."""

    index_dir: str = "indexes"  # where indexes go; the MLRAG_INDEX_DIR environment variable overrides it
    progress: bool = True
    walk: WalkConfig = field(default_factory=WalkConfig)
    chunking: ChunkingConfig = field(default_factory=ChunkingConfig)
    embedding: EmbeddingConfig = field(default_factory=EmbeddingConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    ray: RayConfig = field(default_factory=RayConfig)

    def __post_init__(self) -> None:
        _validate(self)

    def to_dict(self) -> dict[str, Any]:
        return _to_plain(self)

    def replace(self, overrides: Sequence[str] | Mapping[str, Any]) -> "Config":
        """A copy with ``key.sub=value`` overrides (strings) or a nested mapping applied."""
        data = self.to_dict()
        if isinstance(overrides, Mapping):
            _deep_merge(data, dict(overrides), "")
        else:
            for item in overrides:
                _apply_override(data, item)
        return from_dict(data)

    @property
    def resolved_index_dir(self) -> Path:
        return Path(os.environ.get("MLRAG_INDEX_DIR") or self.index_dir).expanduser()


_CHOICES: dict[str, tuple[str, ...]] = {
    "embedding.device": (),  # free-form but checked below
    "retrieval.mode": ("dense", "bm25", "hybrid"),
    "retrieval.data_like": ("lexical", "skip", "all"),
    "retrieval.fusion": ("rrf", "weighted"),
    "retrieval.context_unit": ("chunk", "parent"),
    "retrieval.dense": DENSE_MODES,
    "generation.output_type": ("auto", "bash", "python"),
    "generation.strategy": ("task", "draft", "none"),
    "generation.mode": ("auto", "structured", "free"),
}
#: Plug points whose valid names are their registry's (``mlrag.registry``), so a plugin (``register_store``,
#: ``register``, ``register_embedding_backend`` or an entry point) extends them: config key -> (module, its
#: ``Registry``, how a value names an entry).
_REGISTRIES: dict[str, tuple[str, str, Any]] = {
    "store.backend": ("mlrag.stores.base", "STORES", lambda v: v),
    "generation.llm": ("mlrag.generation.base", "GENERATORS", lambda v: str(v).partition(":")[0].strip().lower()),
    "embedding.backend": ("mlrag.embedding.base", "EMBEDDING_BACKENDS", lambda v: v),
}
#: Numbers that may be negative; every other number must be >= 0 (a negative budget is an error, not "nothing").
_MAY_BE_NEGATIVE = {"generation.seed"}
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_POSITIVE = {
    "walk.max_file_bytes",
    "walk.max_config_bytes",
    "chunking.max_tokens",
    "chunking.context_max_tokens",
    "embedding.batch_size",
    "retrieval.rrf_k",
    "retrieval.candidates",
    "retrieval.lazy_candidates",
    "generation.max_new_tokens",
    "generation.timeout_s",
}


def _registered(key: str, value: Any) -> None:
    """Check ``value`` against the registry of its plug point (skipped while that registry is being imported)."""
    import importlib

    module, attribute, name_of = _REGISTRIES[key]
    try:
        registry = getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError):  # a circular import during start-up: the factory checks again later
        return
    if name_of(value) not in registry:
        from .redact import redact

        raise ConfigError(registry.unknown(key, redact(value)))


def _validate(cfg: Config) -> None:
    flat = _flatten(cfg.to_dict())
    for key, allowed in _CHOICES.items():
        if allowed and flat[key] not in allowed:
            raise ConfigError(f"{key}: {flat[key]!r} is not one of {', '.join(allowed)}")
    for key, value in flat.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{key}: must be a finite number, got {value!r}")
        if value < 0 and key not in _MAY_BE_NEGATIVE:
            raise ConfigError(f"{key}: must be >= 0, got {value!r}")
    if not _ENV_NAME.fullmatch(flat["generation.api_key_env"]):
        raise ConfigError("generation.api_key_env: must be the name of an environment variable (letters, digits, _), "
                          "not the key itself")
    for key in _REGISTRIES:
        _registered(key, flat[key])
    for key in _POSITIVE:
        if flat[key] <= 0:
            raise ConfigError(f"{key}: must be > 0, got {flat[key]!r}")
    dev = flat["embedding.device"]
    if not (dev in ("auto", "cpu", "cuda", "mps") or str(dev).startswith("cuda:")):
        raise ConfigError(f"embedding.device: {dev!r} is not auto, cpu, cuda, cuda:N or mps")
    if not 0.0 <= flat["retrieval.dense_weight"] <= 1.0:
        raise ConfigError(f"retrieval.dense_weight: must be in [0, 1], got {flat['retrieval.dense_weight']!r}")
    if flat["retrieval.dense"] == "off" and flat["retrieval.mode"] == "dense":
        raise ConfigError("retrieval.mode: 'dense' needs dense vectors, but retrieval.dense is 'off'; use hybrid/bm25")
    if flat["generation.temperature"] < 0:
        raise ConfigError(f"generation.temperature: must be >= 0, got {flat['generation.temperature']!r}")
    if flat["chunking.context_max_tokens"] < flat["chunking.max_tokens"]:
        raise ConfigError("chunking.context_max_tokens must be >= chunking.max_tokens")
    for key in ("generation.max_retries", "retrieval.path_prior", "retrieval.readme_prior", "retrieval.readme_slot"):
        if flat[key] < 0:
            raise ConfigError(f"{key}: must be >= 0, got {flat[key]!r}")


def _flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _to_plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, tuple):
        return [_to_plain(x) for x in obj]
    return obj


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Check (and gently convert) ``value`` to the annotated type ``tp``."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(value, inner[0], key)
    if origin is tuple:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        (inner,) = typing.get_args(tp)[:1]
        return tuple(_coerce(v, inner, key) for v in value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
            return value.lower() in ("true", "yes", "1")
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        try:
            return int(value)
        except ValueError:
            raise ConfigError(f"{key}: expected an integer, got {value!r}") from None
    if tp is float:
        if isinstance(value, bool):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key}: expected a number, got {value!r}") from None
    if tp is str:
        if isinstance(value, (dict, list, tuple)) or value is None:
            raise ConfigError(f"{key}: expected a string, got {value!r}")
        return str(value)
    return value


def _build(cls: type, data: Mapping[str, Any], prefix: str) -> Any:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'}: expected a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(
            f"unknown config key {prefix}{unknown[0]!r}; valid keys here: {', '.join(sorted(names))}"
        )
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        tp = hints[name]
        if dataclasses.is_dataclass(tp):
            kwargs[name] = _build(tp, value or {}, f"{prefix}{name}.")  # type: ignore[arg-type]
        else:
            kwargs[name] = _coerce(value, tp, f"{prefix}{name}")
    try:
        return cls(**kwargs)
    except TypeError as e:  # pragma: no cover - defensive
        raise ConfigError(f"{prefix or 'config'}: {e}") from None


def from_dict(data: Mapping[str, Any]) -> Config:
    """Build and validate a ``Config`` from a (possibly partial) nested mapping."""
    return _build(Config, data, "")


def _deep_merge(base: dict[str, Any], extra: Mapping[str, Any], prefix: str) -> None:
    for k, v in extra.items():
        if isinstance(v, Mapping) and isinstance(base.get(k), dict):
            _deep_merge(base[k], v, f"{prefix}{k}.")
        else:
            base[k] = v


def _apply_override(data: dict[str, Any], item: str) -> None:
    import yaml

    if "=" not in item:
        raise ConfigError(f"override {item!r} is not of the form key.sub=value")
    key, raw = item.split("=", 1)
    parts = key.strip().split(".")
    node = data
    for p in parts[:-1]:
        if not isinstance(node.get(p), dict):
            raise ConfigError(f"override {item!r}: {p!r} is not a config section")
        node = node[p]
    if parts[-1] not in node:
        raise ConfigError(f"override {item!r}: unknown key {key!r}; valid keys: {', '.join(sorted(node))}")
    try:
        node[parts[-1]] = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        node[parts[-1]] = raw


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping, raising ``ConfigError`` with the path on any problem."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file not found: {p}")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise ConfigError(f"config file {p} is not valid YAML: {str(e).splitlines()[0]}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {p} must hold a mapping, got {type(data).__name__}")
    return data


def load_config(
    path: str | Path | None = None, overrides: Sequence[str] | Mapping[str, Any] | None = None
) -> Config:
    """The default config, updated by the YAML file at ``path`` and then by ``overrides``."""
    data = Config().to_dict()
    if path is not None:
        _deep_merge(data, read_yaml(path), "")
    cfg = from_dict(data)
    return cfg.replace(overrides) if overrides else cfg


def as_config(config: Config | str | Path | Mapping[str, Any] | None) -> Config:
    """Accept a ``Config``, a YAML path, a nested mapping of overrides, or None (the defaults)."""
    if config is None:
        return Config()
    if isinstance(config, Config):
        return config
    if isinstance(config, (str, Path)):
        return load_config(config)
    if isinstance(config, Mapping):
        return Config().replace(config)
    raise ConfigError(f"config must be a Config, a YAML path or a mapping, got {type(config).__name__}")
