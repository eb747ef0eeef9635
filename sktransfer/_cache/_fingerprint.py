"""Models named by their content: the identity of a weight file or a model folder.

Every model read from disk (a sentence-transformers or static model folder, a
word-vector file, an image state dict) is named by the SHA-256 of the files
that determine its output, never by where they lie: two installs of one model
(two environments, two workers, a moved folder) share their cache namespace.

Hashing 90 MB at every ``fit`` would cost more than the fit, so each file's
digest is remembered by (real path, size, modification time in ns): in memory
for the process, and on disk in :data:`MEMO_NAME` in the default cache folder
(:func:`sktransfer._location.default_cache_dir`) for the next ones. A file
rewritten in place changes its size or time and is hashed again; one edited
without changing either (a tool that restores the time) is not seen.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from pathlib import Path

from .._location import default_cache_dir
from ._keys import digest

MEMO_NAME = "file-digests.json"
_MEMO_FORMAT = 1
_MEMO_ENTRIES = 4096  # the newest kept: a memo never grows without bound
# In a model folder, what documents a model rather than computes it.
_NOT_OUTPUT_PREFIXES = ("readme", "license", "licence", "notice")
_NOT_OUTPUT_SUFFIXES = (".md", ".pyc")

_lock = threading.Lock()
_memory: dict[tuple[str, int, int], str] = {}


def model_fingerprint(path, files=None) -> str:
    """``"sha256:<hex>"`` naming the model at ``path`` by content.

    A file: the SHA-256 of its bytes. A folder: a digest of the relative name
    and SHA-256 of each of ``files`` (the files its loader reads, where the
    loader names them) or, by default, of every file in it (subfolders
    included) except what only documents the model: hidden entries
    (``.gitattributes``, ``.git``, a download tool's ``.cache``), ``README*``,
    ``LICENSE*``, ``NOTICE*``, ``*.md`` and compiled Python (``__pycache__``,
    ``*.pyc``).
    """
    path = os.fspath(path)
    if not os.path.isdir(path):
        return "sha256:" + file_digest(path)
    if files is None:
        chosen = _output_files(path)
    else:
        chosen = sorted((Path(os.path.relpath(f, path)).as_posix(), os.fspath(f)) for f in files)
    parts = []
    for name, full in chosen:
        parts += [name.encode("utf-8", "surrogatepass"), bytes.fromhex(file_digest(full))]
    return "sha256:" + digest(*parts)


def _output_files(folder: str) -> list[tuple[str, str]]:
    """``(relative POSIX name, path)`` of the files that determine a model's output."""
    found = []
    for root, dirs, files in os.walk(folder, followlinks=True):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d != "__pycache__"]
        for name in files:
            low = name.lower()
            if low.startswith(".") or low.startswith(_NOT_OUTPUT_PREFIXES):
                continue
            if low.endswith(_NOT_OUTPUT_SUFFIXES):
                continue
            full = os.path.join(root, name)
            found.append((Path(os.path.relpath(full, folder)).as_posix(), full))
    return sorted(found)


def file_digest(path, *, remembered: bool = True) -> str:
    """SHA-256 (hex) of a file's bytes, remembered by real path, size and time.

    ``remembered=False`` reads the bytes whatever is remembered (to verify a
    download, where a digest from the memo would prove nothing).
    """
    real = os.path.realpath(os.fspath(path))
    st = os.stat(real)
    key = (real, st.st_size, st.st_mtime_ns)
    with _lock:
        known = _memory.get(key) if remembered else None
    if known is None:
        known = _read_memo().get(key) if remembered else None  # another process's
        if known is None:
            known = _hash_file(real)
            _remember_on_disk(key, known)
        with _lock:
            _memory[key] = known
    return known


def _hash_file(path: str, chunk: int = 1 << 20) -> str:
    """The one place model bytes are read and hashed."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def memo_path() -> Path:
    """Where digests are remembered across processes."""
    return default_cache_dir() / MEMO_NAME


def _read_entries(path: Path) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            memo = json.load(f)
    except (OSError, ValueError):  # absent, unreadable or damaged: hash again
        return {}
    if not isinstance(memo, dict) or memo.get("format") != _MEMO_FORMAT:
        return {}
    files = memo.get("files")
    return files if isinstance(files, dict) else {}


def _read_memo() -> dict[tuple[str, int, int], str]:
    out = {}
    for real, entry in _read_entries(memo_path()).items():
        try:
            size, mtime_ns, hexdigest = entry
            out[(real, int(size), int(mtime_ns))] = str(hexdigest)
        except (TypeError, ValueError):
            continue
    return out


def _remember_on_disk(key: tuple[str, int, int], hexdigest: str) -> None:
    """Add one digest to the memo (read, merge, atomic replace). A memo that
    cannot be written costs only a hash in the next process, so failing to
    write it is not an error."""
    path = memo_path()
    real, size, mtime_ns = key
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        files = _read_entries(path)
        files.pop(real, None)  # one entry per file: the newest, appended last
        files[real] = [size, mtime_ns, hexdigest]
        files = dict(list(files.items())[-_MEMO_ENTRIES:])
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".digests-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"format": _MEMO_FORMAT, "files": files}, f)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass
