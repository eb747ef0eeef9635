"""The disk layer: append-only shard files per namespace, one per writer, and a
derived index.

``DIR/v2/<namespace>/<time>-<host>-<pid>-<random>.shard`` is the file one
writer (a handle in one process) appends to, one checksummed record per stored
batch (see :mod:`._shard`), each in one ``write`` call, so a killed or
interrupted writer loses at most the batch in flight. No file is ever written
by two writers or modified in place, and writers take no lock: processes on one
machine or on several machines sharing a file system can write the same and
different rows at once (a row stored twice is merged by
compaction, :mod:`._upkeep`).

``DIR/v2/<namespace>/shards.idx`` (see :mod:`._index`) says where each key is
and how far each file was indexed. It is derived from the shards and replaced
atomically by whichever reader indexed a large part of them; a reader indexes
what it does not cover (files appended to, new files) from the records' own
key tables, so a deleted or stale index costs a scan, never a row. Rows are
read from the files by :mod:`._read`.

A writer checks after each append that its file still has its name; if not
(merged, evicted or cleared meanwhile) it appends that batch again to a new
file, so no batch it reported stored is lost.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
import uuid
from pathlib import Path

import numpy as np

from .._warn import warn_once
from ..exceptions import CacheError
from . import _shard
from ._index import NAME, Index, prefix_of
from ._read import FileReader

_TOUCH_EVERY_S = 60.0  # recency for eviction, recorded at most this often per file
_ROTATE_BYTES = 256 << 20  # a writer starts a new file past this size
_INDEX_AFTER_RECORDS = 32  # a reader that indexed this many records saves the index
_QUIET_S = 600.0  # a file of another machine unchanged this long has no live writer
MERGING = ".merging"  # the suffix of a file being merged by compaction
_HOST = socket.gethostname()
_APPENDING: set[str] = set()  # files this process is appending to right now


class _Writer:
    __slots__ = ("fd", "ino", "path", "pid", "size")

    def __init__(self, path, fd):
        self.path, self.fd, self.size, self.pid = path, fd, 0, os.getpid()
        self.ino = os.fstat(fd).st_ino


class ShardStore:
    """Shards under ``root`` (the ``v2`` folder of a cache directory)."""

    def __init__(self, root: Path, max_bytes=None):
        self.root = Path(root)
        self._indexes: dict[str, Index] = {}
        self._writers: dict[str, _Writer] = {}
        self._new_file: set[str] = set()  # namespaces whose next write starts a file
        self._unindexed: dict[str, list] = {}  # namespace -> [(file, record table)] written
        self._touched: dict[str, float] = {}
        self._warned: set[str] = set()
        self._meta_written: set[str] = set()
        self.rotate_bytes = _ROTATE_BYTES
        if max_bytes is not None:  # eviction works by file: keep files small enough
            self.rotate_bytes = max(1, min(_ROTATE_BYTES, int(max_bytes) // 8))

    def __del__(self):
        try:
            for namespace in list(self._writers):
                self._close(namespace)
        except Exception:  # at interpreter exit, modules may be gone already
            pass

    # ------------------------------------------------------------ warnings
    def warn_once(self, message: str) -> None:
        """Warn about a problem with this store once per process, not per row."""
        warn_once(self._warned, message)

    # ------------------------------------------------------------ index
    def listing(self, namespace: str) -> dict[str, tuple[int, float]]:
        """name -> (size, mtime) of the shard files of ``namespace``."""
        out = {}
        try:
            with os.scandir(os.path.join(self.root, namespace)) as entries:
                for e in entries:
                    if e.name.endswith(_shard.SUFFIX) or e.name.endswith(MERGING):
                        try:
                            st = e.stat()
                        except FileNotFoundError:
                            continue
                        out[e.name] = (st.st_size, st.st_mtime)
        except (FileNotFoundError, NotADirectoryError):
            pass
        return out

    @staticmethod
    def may_be_writing(path: str, name: str, mtime: float) -> bool:
        """Whether a writer may still be appending to this file (an incomplete
        last record is then a batch in flight, not damage)."""
        if name.endswith(MERGING):
            return False
        parts = name[: -len(_shard.SUFFIX)].split("-")
        if len(parts) >= 4 and parts[-2].isdigit():
            host, pid = "-".join(parts[1:-2]), int(parts[-2])
            if host == _HOST:
                return path in _APPENDING if pid == os.getpid() else _alive(pid)
        return time.time() - mtime < _QUIET_S

    def refresh(self, namespace: str, problems: list | None = None) -> Index:
        """Index what the saved (or in-memory) index does not cover.

        Damage found (a shard's damaged region, a damaged index) is warned
        about once, or, with ``problems``, listed there instead (for a report
        that reads the store without embedding anything)."""
        folder = os.path.join(self.root, namespace)
        index = self._indexes.get(namespace)
        damaged_index = None
        if index is None:
            index, damaged_index = Index.read(folder)
            index = index or Index()
        listing = self.listing(namespace)
        gone = [n for n, c in index.covered.items() if n not in listing or listing[n][0] < c]
        index.drop(gone)
        records = 0
        found = []
        if damaged_index:
            found.append(
                (
                    f"index {os.path.join(folder, NAME)!r} is damaged ({damaged_index})",
                    "it is rebuilt from the shards' own records; no row is lost.",
                )
            )
        for name, (size, mtime) in sorted(listing.items()):
            start = index.covered.get(name, 0)
            if size <= start:
                continue
            path = os.path.join(folder, name)
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue
            try:
                final = not self.may_be_writing(path, name, mtime)
                tables, stop, damage = _shard.scan(fd, start, size, final)
            finally:
                os.close(fd)
            index.add(name, tables, stop)
            records += len(tables)
            for problem in damage:
                found.append(
                    (
                        f"shard {path!r} is damaged at byte {problem}",
                        "its rows there are recomputed. `sktransfer cache prune` removes "
                        "the damage.",
                    )
                )
        for what, consequence in found:
            if problems is None:
                self.warn_once(f"embedding cache: {what}; {consequence}")
            else:
                problems.append(what)
        index.finish()
        self._indexes[namespace] = index
        if records >= _INDEX_AFTER_RECORDS or gone or damaged_index:
            try:
                index.save(folder)
            except OSError:
                pass  # a read-only store: the next reader indexes again
        return index

    # ------------------------------------------------------------ reads
    def get(self, namespace: str, keys: list[str]) -> dict[str, np.ndarray]:
        """Stored vectors among ``keys``; bad rows are reported once and left out."""
        found: dict[str, np.ndarray] = {}
        for idx, vectors in self.get_blocks(namespace, keys):
            found.update(zip([keys[i] for i in idx.tolist()], vectors, strict=True))
        return found

    def get_blocks(
        self, namespace: str, keys: list[str], out=None, targets=None
    ) -> list[tuple[np.ndarray, np.ndarray | None]]:
        """Stored vectors among hex ``keys`` as (positions in ``keys``, matrix)
        blocks: no per-row objects, for bulk reads.

        With ``out`` (a float32 matrix) and ``targets`` (the row of ``out`` for
        each key), vectors of ``out``'s width are written there instead and
        their blocks come back as (positions, None)."""
        if not keys:
            return []
        raw = np.frombuffer(bytes.fromhex("".join(keys)), np.uint8).reshape(len(keys), -1)
        if raw.shape[1] != _shard.KEY_BYTES:
            raise ValueError("every key must be a 64-character SHA-256 hex digest")
        if out is not None and targets is None:
            targets = np.arange(len(keys))
        return self._get_raw(namespace, raw, out, targets)

    def _get_raw(self, namespace, raw, out, targets, refreshed=False):
        index = self._indexes.get(namespace)
        if index is None:
            index, refreshed = self.refresh(namespace), True
        prefixes = prefix_of(raw)
        found, rec, row = index.lookup(prefixes)
        if not refreshed and not found.all():
            index, refreshed = self.refresh(namespace), True
            found, rec, row = index.lookup(prefixes)
        pos = np.flatnonzero(found)
        blocks, retry = self._read(namespace, index, raw, pos, rec[pos], row[pos], out, targets)
        if retry:  # a file vanished (compaction, eviction): read what replaced it
            retry = np.sort(np.concatenate(retry))
            self.refresh(namespace)
            sub = None if targets is None else targets[retry]
            more = self._get_raw(namespace, raw[retry], out, sub, refreshed=True)
            blocks += [(retry[p], v) for p, v in more]
        return blocks

    def _read(self, namespace, index, raw, pos, rec, row, out, targets):
        """Read rows ``row`` of records ``rec`` for the keys ``raw[pos]``."""
        if not len(pos):
            return [], []
        order = np.lexsort((row, rec))  # records are numbered in file order
        pos, rec, row = pos[order], rec[order], row[order]
        files = index.rec_file[rec]
        bounds = np.flatnonzero(np.diff(files)) + 1
        blocks, retry = [], []
        folder = os.path.join(self.root, namespace)
        now = time.time()
        for sel in np.split(np.arange(len(pos)), bounds):
            path = os.path.join(folder, index.files[int(files[sel[0]])])
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                retry.append(pos[sel])
                continue
            try:
                reader = FileReader(fd, index, raw, out, targets)
                reader.read(pos[sel], rec[sel], row[sel])
            finally:
                os.close(fd)
            blocks += reader.blocks
            if reader.bad:
                bad_rec = np.concatenate([b[0] for b in reader.bad])
                index.mark_bad(bad_rec, np.concatenate([b[1] for b in reader.bad]))
                self._new_file.add(namespace)  # replacements go to a newer file: they win
                self.warn_once(
                    f"embedding cache: rows of shard {path!r} fail their checksum; "
                    "they are recomputed and stored again."
                )
            if now - self._touched.get(path, 0.0) > _TOUCH_EVERY_S:
                self._touched[path] = now
                try:
                    os.utime(path)  # recency, for least-recently-used eviction
                except OSError:
                    pass
        return blocks, retry

    def forget_index(self, namespace: str) -> None:
        """Drop the index held in memory (its files were rewritten)."""
        self._indexes.pop(namespace, None)

    def damaged(self, namespace: str) -> None:
        """Rows of ``namespace`` were found unusable: their replacements go to a
        new file, which is newer than any holding the damage."""
        self._new_file.add(namespace)

    # ------------------------------------------------------------ writes
    def _writer(self, namespace: str) -> _Writer:
        writer = self._writers.get(namespace)
        if writer is not None and (
            writer.pid != os.getpid()  # inherited by a fork: that file is the parent's
            or writer.size >= self.rotate_bytes
            or namespace in self._new_file
        ):
            self._close(namespace)
            writer = None
        self._new_file.discard(namespace)
        if writer is None:
            folder = self.root / namespace
            path = str(folder / (new_shard_name() + _shard.SUFFIX))
            for attempt in (0, 1):
                try:
                    folder.mkdir(parents=True, exist_ok=True)
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
                    break
                except FileNotFoundError:
                    if attempt:  # the folder was removed again (a concurrent clear)
                        raise
            writer = self._writers[namespace] = _Writer(path, fd)
        return writer

    def _close(self, namespace: str) -> None:
        writer = self._writers.pop(namespace, None)
        if writer is not None and writer.pid == os.getpid():
            try:
                os.close(writer.fd)
            except OSError:
                pass

    def put(self, namespace: str, keys: list[str], vectors: np.ndarray, meta=None) -> str:
        """Append one record (one batch) to this handle's file of ``namespace`` and
        return the file's path; raises ``OSError`` when the directory cannot be
        written."""
        raw_keys = bytes.fromhex("".join(keys))
        record = _shard.encode_parts(raw_keys, vectors)
        record_bytes = sum(len(part) for part in record)
        for _ in range(3):
            writer = self._writer(namespace)
            if os.fstat(writer.fd).st_size != writer.size:  # someone else wrote to it
                self._close(namespace)
                continue
            _APPENDING.add(writer.path)
            try:
                _write_all(writer.fd, record)
            finally:
                _APPENDING.discard(writer.path)
            writer.size += record_bytes
            try:
                kept = os.stat(writer.path).st_ino == writer.ino
            except FileNotFoundError:
                kept = False
            if kept:
                break
            self._unindexed.pop(namespace, None)
            self._close(namespace)  # merged, evicted or cleared meanwhile: write it again
        else:
            raise CacheError(f"cannot append to the shards of {str(self.root / namespace)!r}")
        n, dim = np.shape(vectors)
        keys_raw = np.frombuffer(raw_keys, np.uint8).reshape(n, _shard.KEY_BYTES)
        table = _shard.ShardTable(
            n, dim, keys_raw, None, record_bytes, 0, writer.size - record_bytes
        )
        self._unindexed.setdefault(namespace, []).append((os.path.basename(writer.path), table))
        if meta is not None and namespace not in self._meta_written:
            self._meta_written.add(namespace)
            path = self.root / namespace / "identity.json"
            if not path.exists():
                text = json.dumps(meta, indent=2, sort_keys=True, default=str)
                tmp = path.parent / f".identity.{os.getpid()}.{uuid.uuid4().hex}.tmp"
                tmp.write_text(text)
                os.replace(tmp, path)
        return writer.path

    def flush(self, namespace: str) -> None:
        """Save the index with the records this handle wrote (known without
        reading them back), so that the next reader need not scan them."""
        written = self._unindexed.pop(namespace, [])
        if not written:
            return
        folder = os.path.join(self.root, namespace)
        index = self._indexes.get(namespace) or Index.load(folder) or Index()
        by_file: dict[str, list] = {}
        for name, table in written:
            by_file.setdefault(name, []).append(table)
        for name, tables in by_file.items():
            if index.covered.get(name, 0) == tables[0].offset:  # contiguous: no gap
                index.add(name, tables, tables[-1].offset + tables[-1].size)
        index.finish()
        self._indexes[namespace] = index
        self.refresh(namespace)  # what others wrote meanwhile
        self._indexes[namespace].save(folder)

    # ------------------------------------------------------------ contents
    def namespaces(self) -> list[str]:
        try:
            return sorted(p.name for p in self.root.iterdir() if p.is_dir())
        except (FileNotFoundError, NotADirectoryError):
            return []

    def shard_names(self, namespace: str) -> list[str]:
        return sorted(self.listing(namespace))

    def rows(self, namespace: str, problems: list | None = None) -> int:
        """Distinct keys stored under ``namespace`` (damage found: warned about,
        or listed in ``problems``)."""
        return self.refresh(namespace, problems).distinct()

    def count(self) -> int:
        return sum(self.rows(ns) for ns in self.namespaces())

    def clear(self) -> None:
        for namespace in list(self._writers):
            self._close(namespace)
        self._unindexed.clear()
        shutil.rmtree(self.root, ignore_errors=True)
        self._indexes.clear()
        self._meta_written.clear()

    def shard_files(self) -> list[tuple[float, int, Path]]:
        return [
            (mtime, size, self.root / ns / name)
            for ns in self.namespaces()
            for name, (size, mtime) in self.listing(ns).items()
        ]

    def size(self) -> int:
        return sum(size for _, size, _ in self.shard_files())


def new_shard_name() -> str:
    """A shard file's name (less its suffix): creation time first, so that names
    sort by age, then this host and process, then random."""
    return f"{time.time_ns():016x}-{_HOST}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _write_all(fd: int, data) -> None:
    """Write ``data`` (bytes, or a list of buffers) at the end of ``fd``, in one
    call when the system allows."""
    parts = [data] if isinstance(data, (bytes, bytearray, memoryview)) else data
    done = os.writev(fd, parts)
    total = sum(len(memoryview(p).cast("B")) for p in parts)
    if done < total:  # a partial write: the rest, in order
        view = memoryview(b"".join(bytes(p) for p in parts))[done:]
        while view:
            view = view[os.write(fd, view) :]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True
