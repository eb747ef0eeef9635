"""The content-addressed embedding cache.

A frozen backbone does not depend on labels, so the embedding of a row is a
pure function of (what determines the backbone's output, the row's content).
Caching it by that key is leak-free across cross-validation folds and makes a
grid search over the head embed every distinct row once.

Keys are SHA-256 digests: never Python object ids, never pickled modules. The
disk layer (:mod:`._store`, read by :mod:`._read`, kept by :mod:`._upkeep`)
appends checksummed shard files, so several processes can share one directory,
a damaged entry is detected and recomputed, and no lock is held while a model
runs.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from .._warn import warn_once
from ..exceptions import ParameterError
from ._store import ShardStore
from ._upkeep import compact, evict, verify

_FORMAT = "v2"
_OLD_FORMATS = ("v1",)  # one .npy per row: ignored, removed by clear() and prune()


class EmbeddingCache:
    """A store of embeddings, in memory (bounded, LRU) and optionally on disk.

    Pass one as an embedder's ``cache`` parameter, or pass ``True`` /
    ``"memory"`` (the process-wide memory cache) or a directory path (the
    process-wide handle for that directory). Cloning an embedder shares its
    cache: a cache is a handle to a store, not part of the model.

    On disk, every batch of new embeddings is appended as one checksummed record
    to this handle's shard file as soon as it is computed. A row that fails its checksum is reported
    once, recomputed and stored again; a directory that cannot be written is
    reported once, and embeddings are then computed and returned unstored.

    Parameters
    ----------
    directory : str, path or None
        Where embeddings persist across processes; ``None`` keeps them in memory.
    max_memory_bytes : int, default=1 GiB
        Bound on the in-memory layer; least recently used rows are dropped. A
        directory cache keeps in memory only rows its directory would not take.
    max_bytes : int or None, default=None
        Bound on the directory's size; after a write that crosses it, the least
        recently used shard files are removed (a handle starts a new file
        every ``max_bytes / 8`` bytes, so that eviction has a choice). ``None``: unbounded (see
        ``sktransfer cache prune``).

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

    def __init__(self, directory=None, *, max_memory_bytes: int = 1 << 30, max_bytes=None):
        self.directory = None if directory is None else Path(directory).expanduser().resolve()
        self.max_memory_bytes = int(max_memory_bytes)
        self.max_bytes = None if max_bytes is None else int(max_bytes)
        # namespace + key -> vector (strings, not tuples: no garbage-collector work)
        self._memory: OrderedDict[str, np.ndarray] = OrderedDict()
        self._memory_bytes = 0
        self._lock = threading.RLock()
        self._disk = (
            None if self.directory is None else ShardStore(self.directory / _FORMAT, max_bytes)
        )
        self.stats = {"hits": 0, "misses": 0, "rows_embedded": 0}
        self._warned: set[str] = set()

    def __repr__(self) -> str:
        where = "memory" if self.directory is None else repr(str(self.directory))
        return f"EmbeddingCache({where})"

    # A cache is a handle: clones of an estimator share it, pickles reopen it.
    def __deepcopy__(self, memo):
        return self

    def __reduce__(self):
        return (
            _reopen,
            (
                None if self.directory is None else str(self.directory),
                self.max_memory_bytes,
                self.max_bytes,
            ),
        )

    # ------------------------------------------------------------ lookups
    def get_many(self, namespace: str, keys: list[str]) -> dict[str, np.ndarray]:
        """The stored embeddings among ``keys`` (absent or damaged keys are left out)."""
        found = {}
        with self._lock:
            memory = self._memory
            for key in keys:
                vec = memory.get(namespace + key)
                if vec is not None:
                    memory.move_to_end(namespace + key)
                    found[key] = vec
            if self._disk is not None and len(found) < len(keys):
                found.update(self._disk.get(namespace, [k for k in keys if k not in found]))
            self.stats["hits"] += len(found)
            self.stats["misses"] += len(keys) - len(found)
        return found

    def get_rows(self, namespace: str, keys: list[str], dim: int):
        """The stored embeddings of ``keys`` as one (n, dim) matrix and a mask of
        the rows found: the bulk form of :meth:`get_many`, without a Python
        object per row. A stored vector of another width is reported and left
        out (it is recomputed and replaced)."""
        n = len(keys)
        out = np.zeros((n, dim), np.float32)
        have = np.zeros(n, bool)
        with self._lock:
            memory = self._memory
            rest = [] if memory else range(n)  # nothing in memory: straight to disk
            for i, key in enumerate(keys if memory else ()):
                vec = memory.get(namespace + key)
                if vec is None:
                    rest.append(i)
                    continue
                memory.move_to_end(namespace + key)
                if vec.shape == (dim,):
                    out[i] = vec
                    have[i] = True
                else:
                    self._wrong_width(namespace, vec.shape, dim)
            if self._disk is not None and rest:
                rest_keys = keys if len(rest) == n else [keys[i] for i in rest]
                rest = np.asarray(rest, np.int64)
                # Read straight into ``out``; not copied into the memory layer:
                # reading the page-cached shards again costs about what a copy does.
                blocks = self._disk.get_blocks(namespace, rest_keys, out, rest)
                for idx, vectors in blocks:
                    if vectors is None:
                        have[rest[idx]] = True
                    elif vectors.shape[1] != dim:
                        self._wrong_width(namespace, vectors.shape[1:], dim)
            found = int(have.sum())
            self.stats["hits"] += found
            self.stats["misses"] += n - found
        return out, have

    def _wrong_width(self, namespace, shape, dim) -> None:
        if self._disk is not None:
            self._disk.damaged(namespace)
        self.warn_once(
            f"embedding cache {self!r}: stored vectors of shape {tuple(shape)} under "
            f"namespace {namespace} (expected ({dim},)); recomputed and replaced."
        )

    def put_many(self, namespace: str, keys: list[str], vectors: np.ndarray, meta=None) -> None:
        """Store one embedding per key (on disk as one record, appended at once).

        A directory cache keeps no copy in memory (reading its page-cached
        shards back costs about what a copy does); only rows its directory
        would not take are kept in the memory layer, so that a read-only store
        still serves this process.
        """
        vectors = np.asarray(vectors, dtype=np.float32)
        if len(keys) != len(vectors):
            raise ValueError(f"{len(keys)} keys for {len(vectors)} vectors")
        with self._lock:
            self.stats["rows_embedded"] += len(keys)
            if self._disk is not None and keys:
                try:
                    self._disk.put(namespace, list(keys), vectors, meta)
                    if self.max_bytes is not None and self._disk.size() > self.max_bytes:
                        evict(self._disk, self.max_bytes)
                    return
                except OSError as exc:
                    self.warn_once(
                        f"embedding cache {str(self.directory)!r} cannot be written "
                        f"({exc.strerror or exc}); embeddings are computed and returned but "
                        "not stored on disk. Pass a writable directory as cache=, or "
                        "cache=None."
                    )
            vectors = np.array(vectors, dtype=np.float32)  # owns its memory
            self._memory_put_many(namespace, dict(zip(keys, vectors, strict=True)))

    def flush(self, namespace: str) -> None:
        """Index what this handle wrote under ``namespace`` (a transform calls it
        when it ends), so that the next reader loads it instead of scanning."""
        if self._disk is None:
            return
        with self._lock:
            try:
                self._disk.flush(namespace)
            except OSError:
                pass  # the shards are the truth: the next reader indexes them

    def clear(self) -> None:
        """Drop every stored embedding (memory, and the directory's contents)."""
        with self._lock:
            self._memory.clear()
            self._memory_bytes = 0
            if self._disk is not None:
                self._disk.clear()
                for old in _OLD_FORMATS:
                    shutil.rmtree(self.directory / old, ignore_errors=True)

    def __len__(self) -> int:
        if self._disk is None:
            return len(self._memory)
        with self._lock:
            return self._disk.count()

    def warn_once(self, message: str) -> None:
        """Warn about a problem with this store once per process, not per row."""
        if self._disk is not None:
            self._disk.warn_once(message)
        else:
            warn_once(self._warned, message)

    # ------------------------------------------------------------ upkeep
    def check_location(self) -> None:
        """Raise if the directory cannot hold a cache; warn once if it is read-only."""
        if self.directory is None:
            return
        label = f"cache={str(self.directory)!r}"
        shown = str(self.directory)
        path = self.directory
        while not path.exists() and path != path.parent:
            path = path.parent
        if not path.is_dir():
            raise ParameterError(
                "cache", shown, f"a regular file is in the way ({path}); pass a directory."
            )
        root = self.directory / _FORMAT
        if root.exists() and not root.is_dir():
            raise ParameterError(
                "cache", shown, f"a regular file is in the way ({root}); pass a directory."
            )
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ParameterError(
                "cache",
                shown,
                f"cannot create it ({exc.strerror or exc}); pass a writable directory.",
            ) from None
        if not os.access(root, os.W_OK | os.X_OK):
            self.warn_once(
                f"{label} is read-only: embeddings found there are used, new ones are "
                "computed and returned but not stored."
            )

    def info(self) -> dict:
        """Namespaces, rows, shards and bytes of a directory cache, the model
        behind each namespace (``model``, from the ``identity.json`` written
        with its first rows) and the damage found while counting (``damage``:
        damaged shard regions or index, listed, not warned about)."""
        disk = self._disk
        out = {"directory": str(self.directory), "format": _FORMAT, "namespaces": {}}
        for ns in disk.namespaces():
            names = disk.shard_names(ns)
            sizes = [_size(disk.root / ns / n) for n in names]
            meta = disk.root / ns / "identity.json"
            identity = _read_text(meta)
            damage: list[str] = []
            out["namespaces"][ns] = {
                "rows": disk.rows(ns, damage),
                "shards": len(names),
                "bytes": sum(sizes),
                "identity": identity,
                "model": model_label(identity),
                "damage": damage,
            }
        out["bytes"] = sum(v["bytes"] for v in out["namespaces"].values())
        out["rows"] = sum(v["rows"] for v in out["namespaces"].values())
        out["old_formats"] = {
            old: sum(1 for _ in (self.directory / old).rglob("*.npy"))
            for old in _OLD_FORMATS
            if (self.directory / old).exists()
        }
        return out

    def verify(self) -> dict:
        """Check every stored checksum; a report per namespace."""
        return verify(self._disk)

    def prune(self, max_bytes=None) -> dict:
        """Compact (one copy per row, bad rows and unreadable shards dropped, old
        formats removed), then evict least recently used shards to ``max_bytes``
        (default: this cache's ``max_bytes``; ``None``: no eviction)."""
        with self._lock:
            report = compact(self._disk)
            for old in _OLD_FORMATS:
                shutil.rmtree(self.directory / old, ignore_errors=True)
            bound = self.max_bytes if max_bytes is None else int(max_bytes)
            report["evicted_shards"] = 0 if bound is None else evict(self._disk, bound)
            report["bytes"] = self._disk.size()
            return report

    # ------------------------------------------------------------ memory layer
    def _memory_put_many(self, namespace, items: dict) -> None:
        memory = self._memory
        for key, vec in items.items():
            old = memory.pop(namespace + key, None)  # a newer vector replaces it
            if old is not None:
                self._memory_bytes -= old.nbytes
            memory[namespace + key] = vec
            self._memory_bytes += vec.nbytes
        while self._memory_bytes > self.max_memory_bytes and memory:
            _, old = memory.popitem(last=False)
            self._memory_bytes -= old.nbytes


def model_label(identity: str | None) -> str:
    """Which model a namespace's vectors come from, from its ``identity.json``:
    the estimator and ``model=`` that wrote it first, or, for namespaces
    written before that was recorded, the backbone the identity names."""
    if identity is None:
        return "unknown model (no identity.json)"
    try:
        meta = json.loads(identity)
    except ValueError:
        return "unknown model (identity.json unreadable)"
    if not isinstance(meta, dict):
        return "unknown model (identity.json unreadable)"
    if isinstance(meta.get("written_by"), str):
        return meta["written_by"]
    named = meta.get("arch") or meta.get("source") or meta.get("name")
    kind = meta.get("kind")
    return " ".join(str(p) for p in (kind, named) if p) or "unknown model"


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError):
        return None


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


_HANDLES: dict[str | None, EmbeddingCache] = {}
_HANDLES_LOCK = threading.Lock()


def _reopen(directory, max_memory_bytes=1 << 30, max_bytes=None) -> EmbeddingCache:
    """The process-wide cache for a directory (or for memory, ``None``)."""
    key = None if directory is None else str(Path(directory).expanduser().resolve())
    with _HANDLES_LOCK:
        if key not in _HANDLES:
            _HANDLES[key] = EmbeddingCache(
                key, max_memory_bytes=max_memory_bytes, max_bytes=max_bytes
            )
        return _HANDLES[key]


def resolve_cache(cache) -> EmbeddingCache | None:
    """Turn an embedder's ``cache`` parameter into a store, or ``None`` (off)."""
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
