"""The content-addressed embedding cache.

A frozen backbone does not depend on labels, so the embedding of a row is a
pure function of (what determines the backbone's output, the row's content).
Caching it by that key is leak-free across cross-validation folds and makes a
grid search over the head embed every distinct row once.

Keys are SHA-256 digests: never Python object ids, never pickled modules. The
disk store writes one ``.npy`` file per row through a temporary file and an
atomic ``os.replace``, so several processes can share one directory: a reader
sees either no file or a whole one, and no lock is held while a model runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import uuid
from collections import OrderedDict
from pathlib import Path

import numpy as np

_FORMAT = "v1"


class EmbeddingCache:
    """A store of embeddings, in memory (bounded, LRU) and optionally on disk.

    Pass one as an encoder's ``cache`` parameter, or pass ``True`` /
    ``"memory"`` (the process-wide memory cache) or a directory path (the
    process-wide handle for that directory). Cloning an encoder shares its
    cache: a cache is a handle to a store, not part of the model.

    Parameters
    ----------
    directory : str, path or None
        Where embeddings persist across processes; ``None`` keeps them in memory.
    max_memory_bytes : int, default=1 GiB
        Bound on the in-memory layer; least recently used rows are dropped.

    Attributes
    ----------
    stats : dict
        ``hits`` (rows found), ``misses`` (rows not found) and ``rows_embedded``
        (rows that went through a backbone), counted in this process.

    Examples
    --------
    >>> from sktransfer import EmbeddingCache, TextEmbedder
    >>> cache = EmbeddingCache()
    >>> emb = TextEmbedder(cache=cache).fit(["a"])
    >>> _ = emb.transform(["a", "b", "a"]); _ = emb.transform(["b"])
    >>> cache.stats
    {'hits': 1, 'misses': 2, 'rows_embedded': 2}
    """

    def __init__(self, directory=None, *, max_memory_bytes: int = 1 << 30):
        self.directory = None if directory is None else Path(directory).expanduser().resolve()
        self.max_memory_bytes = int(max_memory_bytes)
        self._memory: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._memory_bytes = 0
        self._lock = threading.Lock()
        self.stats = {"hits": 0, "misses": 0, "rows_embedded": 0}

    def __repr__(self) -> str:
        where = "memory" if self.directory is None else repr(str(self.directory))
        return f"EmbeddingCache({where})"

    # A cache is a handle: clones of an estimator share it, pickles reopen it.
    def __deepcopy__(self, memo):
        return self

    def __reduce__(self):
        return (
            _reopen,
            (None if self.directory is None else str(self.directory), self.max_memory_bytes),
        )

    # ------------------------------------------------------------ lookups
    def get_many(self, namespace: str, keys: list[str]) -> dict[str, np.ndarray]:
        """The stored embeddings among ``keys`` (absent keys are left out)."""
        found = {}
        for key in keys:
            vec = self._memory_get(namespace, key)
            if vec is None and self.directory is not None:
                vec = self._disk_get(namespace, key)
                if vec is not None:
                    self._memory_put(namespace, key, vec)
            if vec is not None:
                found[key] = vec
        with self._lock:
            self.stats["hits"] += len(found)
            self.stats["misses"] += len(keys) - len(found)
        return found

    def put_many(self, namespace: str, keys: list[str], vectors: np.ndarray, meta=None) -> None:
        """Store one embedding per key."""
        vectors = np.asarray(vectors, dtype=np.float32)
        with self._lock:
            self.stats["rows_embedded"] += len(keys)
        if self.directory is not None:
            self._write_meta(namespace, meta)
        for key, vec in zip(keys, vectors, strict=True):
            vec = np.array(vec)  # own its memory, not a view of the batch
            self._memory_put(namespace, key, vec)
            if self.directory is not None:
                self._disk_put(namespace, key, vec)

    def clear(self) -> None:
        """Drop every stored embedding (memory, and the directory's contents)."""
        with self._lock:
            self._memory.clear()
            self._memory_bytes = 0
        if self.directory is not None:
            shutil.rmtree(self.directory / _FORMAT, ignore_errors=True)

    def __len__(self) -> int:
        if self.directory is None:
            return len(self._memory)
        return sum(1 for _ in (self.directory / _FORMAT).glob("*/*/*.npy"))

    # ------------------------------------------------------------ memory layer
    def _memory_get(self, namespace, key):
        with self._lock:
            vec = self._memory.get((namespace, key))
            if vec is not None:
                self._memory.move_to_end((namespace, key))
            return vec

    def _memory_put(self, namespace, key, vec):
        with self._lock:
            if (namespace, key) in self._memory:
                return
            self._memory[(namespace, key)] = vec
            self._memory_bytes += vec.nbytes
            while self._memory_bytes > self.max_memory_bytes and self._memory:
                _, old = self._memory.popitem(last=False)
                self._memory_bytes -= old.nbytes

    # ------------------------------------------------------------ disk layer
    def _path(self, namespace, key) -> Path:
        return self.directory / _FORMAT / namespace / key[:2] / f"{key}.npy"

    def _disk_get(self, namespace, key):
        path = self._path(namespace, key)
        try:
            return np.load(path, allow_pickle=False)
        except FileNotFoundError:
            return None
        except (ValueError, OSError, EOFError):
            return None  # unreadable: treated as a miss and rewritten

    def _disk_put(self, namespace, key, vec):
        path = self._path(namespace, key)
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(path, lambda f: np.save(f, vec, allow_pickle=False))

    def _write_meta(self, namespace, meta):
        path = self.directory / _FORMAT / namespace / "identity.json"
        if meta is None or path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(meta, indent=2, sort_keys=True, default=str).encode()
        _atomic_write(path, lambda f: f.write(text))


def _atomic_write(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


_HANDLES: dict[str | None, EmbeddingCache] = {}
_HANDLES_LOCK = threading.Lock()


def _reopen(directory, max_memory_bytes=1 << 30) -> EmbeddingCache:
    """The process-wide cache for a directory (or for memory, ``None``)."""
    key = None if directory is None else str(Path(directory).expanduser().resolve())
    with _HANDLES_LOCK:
        if key not in _HANDLES:
            _HANDLES[key] = EmbeddingCache(key, max_memory_bytes=max_memory_bytes)
        return _HANDLES[key]


def resolve_cache(cache) -> EmbeddingCache | None:
    """Turn an encoder's ``cache`` parameter into a store, or ``None`` (off)."""
    if cache is None or cache is False:
        return None
    if isinstance(cache, EmbeddingCache):
        return cache
    if cache is True or cache == "memory":
        return _reopen(None)
    location = getattr(cache, "location", None)  # a joblib.Memory
    if location is not None:
        return _reopen(Path(location) / "sktransfer")
    if isinstance(cache, (str, os.PathLike)):
        return _reopen(cache)
    raise TypeError(
        f"cache={cache!r}: use None (off), True or 'memory', a directory path, a "
        "joblib.Memory, or an sktransfer.EmbeddingCache."
    )


# ---------------------------------------------------------------- keys
def digest(*parts: bytes) -> str:
    """SHA-256 over length-prefixed parts (so no two part lists collide)."""
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()


def namespace_of(identity: dict) -> str:
    """Digest of what determines a backbone's output (model, weights, preprocessing…)."""
    return digest(json.dumps(identity, sort_keys=True, default=str).encode())[:32]
