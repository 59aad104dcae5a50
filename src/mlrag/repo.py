"""Repositories: resolve a spec (local folder or git URL[@commit]) to a folder, and walk it into text files.

The walk honours ``.gitignore`` files (via ``pathspec``, the library git-style matching is best kept in), skips
``.git``, vendored folders, symlinks that leave the repository, binaries, non-UTF-8 files and files over the size
limit; every skip is logged at debug level and counted, never raised. Chunkers never see the file system: they get
``(path, text)`` pairs from here.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .config import WalkConfig
from .errors import RepoError

log = logging.getLogger(__name__)

_URL_RE = re.compile(r"^(https?://|git@|ssh://|git://|file://)")
_CONFIG_SUFFIXES = {".yaml", ".yml", ".json", ".toml", ".cfg", ".ini"}
_DATA_SUFFIXES = {".txt", ".csv", ".tsv", ".lst", ".list", ".dat"}
_DATA_KEEP = re.compile(
    r"(?i)^(readme|license|licence|copying|notice|authors|contributing|changelog|requirements.*)(\.txt)?$"
)
_PROSE_WORD = re.compile(r"^[(\"']?[A-Za-z][a-z'-]*[.,;:!?)\"']*$")
#: Suffixes never worth reading as text (checked before opening the file).
_BINARY_SUFFIXES = {
    ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".ico", ".pdf", ".zip", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".tar",
    ".pt", ".pth", ".ckpt", ".bin", ".safetensors", ".onnx", ".h5", ".hdf5", ".npy", ".npz", ".pkl", ".pickle",
    ".so", ".dylib", ".dll", ".o", ".a", ".exe", ".class", ".jar", ".whl", ".mp3", ".mp4", ".wav", ".avi", ".mov",
    ".ttf", ".woff", ".woff2", ".eot", ".parquet", ".arrow", ".tfrecord", ".db", ".sqlite", ".gguf", ".mat",
}


@dataclass(frozen=True)
class SourceFile:
    """A text file of a repository: POSIX path relative to the root, its decoded text, sha1 of its bytes."""

    path: str
    text: str
    sha: str


@dataclass(frozen=True)
class ResolvedRepo:
    """A repository spec resolved to a local folder."""

    root: Path
    name: str
    source: str
    commit: str | None = None


@dataclass
class WalkReport:
    """What a walk read and skipped (path -> reason)."""

    read: int = 0
    skipped: dict[str, str] = field(default_factory=dict)


def is_git_url(spec: str) -> bool:
    return bool(_URL_RE.match(spec))


def _split_commit(spec: str) -> tuple[str, str | None]:
    # "https://host/owner/name@<commit>": the last "@" after the scheme's host part names a commit.
    head, sep, tail = spec.rpartition("@")
    if sep and "/" not in tail and ":" not in tail and head and not head.endswith(("git", "ssh:/")):
        return head, tail
    return spec, None


def resolve_repo(spec: str | os.PathLike[str], cache_dir: Path) -> ResolvedRepo:
    """Turn a local folder or a git URL (optionally ``URL@commit``) into a ``ResolvedRepo``.

    A URL is cloned once into ``cache_dir/repos/<name>-<hash>`` (shallow where possible) and reused.

    Raises:
        RepoError: the path is missing, is a file, or the URL cannot be cloned.
    """
    text = os.fspath(spec)
    if is_git_url(text):
        return _clone(text, cache_dir)
    root = Path(text).expanduser()
    if not root.exists():
        raise RepoError(f"repository path does not exist: {text}")
    if not root.is_dir():
        raise RepoError(f"repository path is a file, not a folder: {text}")
    root = root.resolve()
    return ResolvedRepo(root=root, name=root.name or "repo", source=str(root))


def _clone(spec: str, cache_dir: Path) -> ResolvedRepo:
    url, commit = _split_commit(spec)
    name = url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git") or "repo"
    key = hashlib.sha1(spec.encode()).hexdigest()[:8]
    dest = cache_dir / "repos" / f"{name}-{key}"
    if (dest / ".git").exists():
        return ResolvedRepo(root=dest, name=name, source=url, commit=commit)
    if shutil.which("git") is None:
        raise RepoError(f"cannot clone {url}: git is not installed")
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    cmds = [["git", "clone", "--quiet", "--depth", "1", url, str(tmp)]]
    if commit:
        cmds = [
            ["git", "clone", "--quiet", "--filter=blob:none", "--no-checkout", url, str(tmp)],
            ["git", "-C", str(tmp), "checkout", "--quiet", commit],
        ]
    for cmd in cmds:
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
        except subprocess.TimeoutExpired:
            shutil.rmtree(tmp, ignore_errors=True)
            raise RepoError(f"cannot clone {url}: git timed out") from None
        if proc.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            last = (proc.stderr.strip().splitlines() or ["unknown error"])[-1]
            raise RepoError(f"cannot clone {url}{'@' + commit if commit else ''}: {last}")
    tmp.rename(dest)
    return ResolvedRepo(root=dest, name=name, source=url, commit=commit)


def _ignore_spec(root: Path, config: WalkConfig):  # type: ignore[no-untyped-def]
    import pathspec

    lines = list(config.exclude)
    return pathspec.GitIgnoreSpec.from_lines(lines), (
        pathspec.GitIgnoreSpec.from_lines(config.include) if config.include else None
    )


def _gitignore_for(dirpath: Path, rel_dir: str):  # type: ignore[no-untyped-def]
    import pathspec

    gi = dirpath / ".gitignore"
    if not gi.is_file():
        return None
    try:
        lines = gi.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return rel_dir, pathspec.GitIgnoreSpec.from_lines(lines)


def walk_repo(root: Path, config: WalkConfig | None = None, report: WalkReport | None = None) -> list[SourceFile]:
    """Read every text file of the repository at ``root`` that the walk config admits, in sorted path order.

    Example:
        >>> files = walk_repo(Path("examples/gnn-lab"))  # doctest: +SKIP
        >>> files[0].path
        'README.md'
    """
    config = config or WalkConfig()
    report = report if report is not None else WalkReport()
    root = root.resolve()
    exclude, include = _ignore_spec(root, config)
    gitignores: list[tuple[str, object]] = []
    out: list[SourceFile] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        rel_dir = here.relative_to(root).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir
        if config.respect_gitignore:
            found = _gitignore_for(here, rel_dir)
            if found:
                gitignores.append(found)
        keep_dirs = []
        for d in sorted(dirnames):
            rel = f"{rel_dir}/{d}" if rel_dir else d
            if d == ".git" or exclude.match_file(rel + "/") or _gitignored(gitignores, rel + "/"):
                report.skipped[rel + "/"] = "excluded folder"
                continue
            if (here / d).is_symlink():
                report.skipped[rel + "/"] = "symlinked folder"
                continue
            keep_dirs.append(d)
        dirnames[:] = keep_dirs
        for f in sorted(filenames):
            rel = f"{rel_dir}/{f}" if rel_dir else f
            reason = _skip_reason(root, here / f, rel, config, exclude, include, gitignores)
            if reason:
                report.skipped[rel] = reason
                log.debug("skip %s: %s", rel, reason)
                continue
            data = (here / f).read_bytes()
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                report.skipped[rel] = "not UTF-8"
                log.info("skip %s: not UTF-8 text", rel)
                continue
            if config.skip_data_files and looks_like_data(rel, text):
                report.skipped[rel] = "data file (few prose lines)"
                log.debug("skip %s: data file", rel)
                continue
            out.append(SourceFile(rel, text, hashlib.sha1(data).hexdigest()))
            report.read += 1
    out.sort(key=lambda s: s.path)
    return out


def _gitignored(gitignores: list[tuple[str, object]], rel: str) -> bool:
    for base, spec in gitignores:
        if base and not rel.startswith(base + "/"):
            continue
        sub = rel[len(base) + 1 :] if base else rel
        if spec.match_file(sub):  # type: ignore[attr-defined]
            return True
    return False


def _skip_reason(root, path, rel, config, exclude, include, gitignores) -> str | None:  # type: ignore[no-untyped-def]
    if path.is_symlink():
        try:
            path.resolve().relative_to(root)
        except ValueError:
            return "symlink leaving the repository"
    if exclude.match_file(rel):
        return "excluded"
    if include is not None and not include.match_file(rel):
        return "not included"
    if _gitignored(gitignores, rel):
        return "gitignored"
    if path.suffix.lower() in _BINARY_SUFFIXES:
        return "binary suffix"
    try:
        size = path.stat().st_size
    except OSError as e:
        return f"unreadable ({e.strerror})"
    if size > config.max_file_bytes:
        return f"over {config.max_file_bytes} bytes"
    if path.suffix.lower() in _CONFIG_SUFFIXES and size > config.max_config_bytes:
        return f"config file over {config.max_config_bytes} bytes"
    try:
        with open(path, "rb") as fh:
            head = fh.read(8192)
    except OSError as e:
        return f"unreadable ({e.strerror})"
    if b"\0" in head:
        return "binary"
    return None


def looks_like_data(path: str, text: str, min_bytes: int = 4096) -> bool:
    """True for a data list saved as text (ids, URLs, synsets, numbers) rather than documentation.

    Only ``.txt``/``.csv``/``.tsv``-like files over ``min_bytes`` are judged (READMEs, licences and requirements
    never are). ``.csv``/``.tsv`` are always data; otherwise a file is data when under 20% of its first 400
    non-blank lines read as prose (six or more space-separated alphabetic words; a URL is one non-word).
    ML-Bench's repositories carry megabytes of such lists (imagenet synsets, sequence ids), which would
    otherwise dominate the index and its build time.
    """
    name = path.rsplit("/", 1)[-1]
    suffix = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    if suffix not in _DATA_SUFFIXES or _DATA_KEEP.match(name) or len(text) < min_bytes:
        return False
    if suffix in (".csv", ".tsv"):
        return True
    lines = [ln for ln in text.splitlines()[:2000] if ln.strip()][:400]
    if not lines:
        return False
    prose = sum(1 for ln in lines if sum(1 for w in ln.split() if _PROSE_WORD.match(w)) >= 6)
    return prose / len(lines) < 0.2


def corpus_hash(files: list[SourceFile]) -> str:
    """One hash over every (path, sha) pair: equal iff the walked content is equal."""
    h = hashlib.sha1()
    for f in files:
        h.update(f"{f.path}\0{f.sha}\n".encode())
    return h.hexdigest()
