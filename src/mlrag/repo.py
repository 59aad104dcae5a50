"""Repositories: resolve a spec (local folder or git URL[@commit]) to a folder, and walk it into text files.

The walk honours ``.gitignore`` files (via ``pathspec``, the library git-style matching is best kept in), skips
``.git``, vendored folders, symlinks that leave the repository, binaries, non-UTF-8 files and files over the size
limit; every skip is logged at debug level and counted, never raised. Chunkers never see the file system: they get
``(path, text)`` pairs from here.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import re
import shutil
import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .config import WalkConfig
from .errors import RepoError
from .redact import register_secret

log = logging.getLogger(__name__)

_URL_RE = re.compile(r"^(https?://|git@|ssh://|git://|file://)")
_CONFIG_SUFFIXES = {".yaml", ".yml", ".json", ".toml", ".cfg", ".ini"}
_DATA_SUFFIXES = {".txt", ".csv", ".tsv", ".lst", ".list", ".dat", ".jsonl", ".ndjson"}
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


def _clean_url(url: str) -> str:
    """``url`` without user info (``https://user:token@host/x`` -> ``https://host/x``)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, parts.query, parts.fragment))


def _clone(spec: str, cache_dir: Path) -> ResolvedRepo:
    """Clone ``URL[@commit]`` once into the cache. A token in the URL is used for the clone only: the remote
    is reset to the URL without it before the clone is moved into place, and no message or path shows it."""
    url, commit = _split_commit(spec)
    clean = _clean_url(url)
    if clean != url:
        register_secret(urlsplit(url).netloc.rpartition("@")[0])
        for piece in urlsplit(url).netloc.rpartition("@")[0].split(":", 1):
            register_secret(piece)
    name = clean.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git") or "repo"
    name = re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".") or "repo"
    key = hashlib.sha1(f"{clean}@{commit or ''}".encode()).hexdigest()[:8]
    dest = cache_dir / "repos" / f"{name}-{key}"
    shown = f"{clean}{'@' + commit if commit else ''}"
    if (dest / ".git").exists():
        return ResolvedRepo(root=dest, name=name, source=clean, commit=commit)
    if shutil.which("git") is None:
        raise RepoError(f"cannot clone {clean}: git is not installed")
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
    cmds.append(["git", "-C", str(tmp), "remote", "set-url", "origin", clean])
    for cmd in cmds:
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, errors="replace")
        except subprocess.TimeoutExpired:
            shutil.rmtree(tmp, ignore_errors=True)
            raise RepoError(f"cannot clone {shown}: git timed out") from None
        if proc.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            last = (proc.stderr.strip().splitlines() or ["unknown error"])[-1].replace(url, clean)
            raise RepoError(f"cannot clone {shown}: {last}")
    tmp.rename(dest)
    return ResolvedRepo(root=dest, name=name, source=clean, commit=commit)


#: Limits on ignore patterns: a pattern with more ``*`` wildcards in one path segment than this makes the
#: regex matcher backtrack (4 stars: ~0.2 s per 255-character name, 7 stars: minutes), so it is skipped.
MAX_STARS_PER_SEGMENT = 3
MAX_PATTERN_CHARS = 512
MAX_GITIGNORE_LINES = 5000
_STARS = re.compile(r"(?<!\\)\*+")


def _pattern_problem(line: str) -> str | None:
    if len(line) > MAX_PATTERN_CHARS:
        return f"longer than {MAX_PATTERN_CHARS} characters"
    for seg in line.split("/"):
        if seg != "**" and len(_STARS.findall(seg)) > MAX_STARS_PER_SEGMENT:
            return f"more than {MAX_STARS_PER_SEGMENT} '*' in one segment (too slow to match)"
    return None


def compile_patterns(lines: list[str] | tuple[str, ...], where: str):  # type: ignore[no-untyped-def]
    """A ``pathspec.GitIgnoreSpec`` of the usable ``lines``; invalid (a trailing ``\\``) or pathologically
    slow patterns are skipped with a log line naming ``where``, never raised."""
    import pathspec

    kept = []
    for n, line in enumerate(lines, 1):
        if n > MAX_GITIGNORE_LINES:
            log.warning("%s: only the first %d patterns are used", where, MAX_GITIGNORE_LINES)
            break
        problem = _pattern_problem(line)
        if problem is None:
            try:
                pathspec.GitIgnoreSpec.from_lines([line])
            except (ValueError, TypeError, re.error) as e:  # GitIgnorePatternError is a ValueError
                problem = f"invalid ({str(e).splitlines()[0][:80]})"
        if problem is not None:
            log.info("%s: ignored pattern %d %r: %s", where, n, line[:60], problem)
            continue
        kept.append(line)
    return pathspec.GitIgnoreSpec.from_lines(kept)


def _ignore_spec(root: Path, config: WalkConfig):  # type: ignore[no-untyped-def]
    return compile_patterns(config.exclude, "walk.exclude"), (
        compile_patterns(config.include, "walk.include") if config.include else None
    )


def _gitignore_for(dirpath: Path, rel_dir: str):  # type: ignore[no-untyped-def]
    gi = dirpath / ".gitignore"
    try:
        if not stat.S_ISREG(gi.stat().st_mode):  # a FIFO or device named .gitignore is not read
            return None
        with open(gi, "rb") as fh:
            data = fh.read(1_000_000)
    except (OSError, RuntimeError):  # missing, unreadable, a symlink loop
        return None
    lines = data.decode("utf-8", errors="replace").splitlines()
    where = f"{rel_dir + '/' if rel_dir else ''}.gitignore"
    # the patterns that name folders outright ("logs/", not "*" nor a negation): pathspec reads negated folder
    # patterns ("!*/") file by file, so a folder is judged by these and by what would lie in it (``_gitignored``)
    folders = [x for x in lines if x.strip().endswith("/") and not x.lstrip().startswith(("!", "#"))]
    return rel_dir, (compile_patterns(lines, where), compile_patterns(folders, where))


def _utf8_name(name: str) -> bool:
    """False for a file name that is not valid UTF-8 (os.walk gives it with surrogate escapes)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


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
    gitignores: list[tuple[str, Any]] = []
    out: list[SourceFile] = []
    def unreadable(e: OSError) -> None:
        where = Path(e.filename).relative_to(root).as_posix() if e.filename else "?"
        report.skipped[where + "/"] = f"unreadable folder ({e.strerror})"
        log.info("skip %s/: unreadable folder (%s)", where, e.strerror)

    for dirpath, dirnames, filenames in os.walk(root, followlinks=False, onerror=unreadable):
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
            if not _utf8_name(d):
                report.skipped[rel.encode("utf-8", "replace").decode() + "/"] = "folder name is not UTF-8"
                continue
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
            if not _utf8_name(f):
                rel = rel.encode("utf-8", "replace").decode()
                report.skipped[rel] = "file name is not UTF-8"
                log.info("skip %s: file name is not UTF-8", rel)
                continue
            reason = _skip_reason(root, here / f, rel, config, exclude, include, gitignores)
            if reason:
                report.skipped[rel] = reason
                log.debug("skip %s: %s", rel, reason)
                continue
            try:
                with open(here / f, "rb") as fh:
                    data = fh.read(config.max_file_bytes + 1)
            except OSError as e:  # removed or made unreadable since it was checked
                report.skipped[rel] = f"unreadable ({e.strerror})"
                continue
            if len(data) > config.max_file_bytes:
                report.skipped[rel] = f"over {config.max_file_bytes} bytes"
                continue
            try:
                text = data.decode("utf-8-sig")  # a leading byte-order mark is not text (Windows editors write one)
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


def _gitignored(gitignores: list[tuple[str, Any]], rel: str) -> bool:
    for base, (spec, folders) in gitignores:
        if base and not rel.startswith(base + "/"):
            continue
        sub = rel[len(base) + 1 :] if base else rel
        if not spec.match_file(sub):
            continue
        # a folder is ignored when a pattern names it outright, or when what would lie in it is ignored too:
        # pathspec matches "pytorch/" against ``*`` even after ``!*/`` re-includes folders (and ``!*.*`` the
        # files with a dot), which hid a whole repository
        if not sub.endswith("/") or folders.match_file(sub) or spec.match_file(sub + _PROBE):
            return True
    return False


#: A file name no pattern names on purpose: what a folder's own contents would look like to a ``.gitignore``.
_PROBE = "mlrag-probe.py"


def _skip_reason(root, path, rel, config, exclude, include, gitignores) -> str | None:  # type: ignore[no-untyped-def]
    if path.is_symlink():
        try:
            path.resolve(strict=True).relative_to(root)
        except ValueError:
            return "symlink leaving the repository"
        except RuntimeError:
            return "symlink loop"
        except OSError as e:
            return "symlink loop" if e.errno == errno.ELOOP else f"broken symlink ({e.strerror})"
    if exclude.match_file(rel):
        return "excluded"
    if include is not None and not include.match_file(rel):
        return "not included"
    if _gitignored(gitignores, rel):
        return "gitignored"
    if path.suffix.lower() in _BINARY_SUFFIXES:
        return "binary suffix"
    try:
        st = path.stat()
    except OSError as e:
        return f"unreadable ({e.strerror})"
    if not stat.S_ISREG(st.st_mode):  # a FIFO would block the walk for ever, a device never ends
        return "not a regular file"
    size = st.st_size
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

    Only ``.txt``/``.csv``/``.tsv``/``.jsonl``-like files over ``min_bytes`` are judged (READMEs, licences and
    requirements never are). ``.csv``/``.tsv`` and JSON Lines (records by format, even when they hold prose:
    saved model generations) are always data; otherwise a file is data when under 20% of its first 400
    non-blank lines read as prose (six or more space-separated alphabetic words; a URL is one non-word).
    ML-Bench's repositories carry megabytes of such lists (imagenet synsets, sequence ids), which would
    otherwise dominate the index and its build time.
    """
    name = path.rsplit("/", 1)[-1]
    suffix = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    if suffix not in _DATA_SUFFIXES or _DATA_KEEP.match(name) or len(text) < min_bytes:
        return False
    if suffix in (".csv", ".tsv", ".jsonl", ".ndjson"):
        return True  # records by format (JSON Lines: one record per line)
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
