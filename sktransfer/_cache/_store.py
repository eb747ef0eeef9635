"""The disk layer: append-only shard files per namespace, one per writer, and a
derived index.

``DIR/v2/<namespace>/<time>-<host>-<pid>-<random>.shard`` is the file one
writer (a handle in one process) appends to, one checksummed record per stored
batch (see :mod:`._shard`), each in one ``write`` call, so a killed or
interrupted writer loses at most the batch in flight. No file is ever written
by two writers or modified in place, and writers take no lock: processes on one
machine or on several machines sharing a file system can write the same and
different rows at once (a row stored twice is merged by
:meth:`ShardStore.compact`).

``DIR/v2/<namespace>/shards.idx`` (see :mod:`._index`) says where each key is
and how far each file was indexed. It is derived from the shards and replaced
atomically by whichever reader indexed a large part of them; a reader indexes
what it does not cover (files appended to, new files) from the records' own
key tables, so a deleted or stale index costs a scan, never a row.

Compaction first renames the files it merges (``.shard`` to ``.merging``,
still read) and deletes them once the merged file is in place. A writer checks
after each append that its file still has its name; if not (merged, evicted or
cleared meanwhile) it appends that batch again to a new file, so no batch it
reported stored is lost.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
import uuid
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .._warn import warn
from ..exceptions import CacheError
from . import _shard
from ._index import NAME, Index, prefix_of

_TOUCH_EVERY_S = 60.0  # recency for eviction, recorded at most this often per file
_COMPACT_BYTES = 64 << 20  # compaction writes files of about this size
_ROTATE_BYTES = 256 << 20  # a writer starts a new file past this size
_SPAN_BYTES = 4 << 20  # largest single read on the hit path (checked while the next is read)
_MERGED_RECORD_ROWS = 4096
_INDEX_AFTER_RECORDS = 32  # a reader that indexed this many records saves the index
_QUIET_S = 600.0  # a file of another machine unchanged this long has no live writer
_STALE_TMP_S = 3600.0
_MERGING = ".merging"
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
        if message not in self._warned:
            self._warned.add(message)
            warn(message, RuntimeWarning)

    # ------------------------------------------------------------ index
    def _listing(self, namespace: str) -> dict[str, tuple[int, float]]:
        """name -> (size, mtime) of the shard files of ``namespace``."""
        out = {}
        try:
            with os.scandir(os.path.join(self.root, namespace)) as entries:
                for e in entries:
                    if e.name.endswith(_shard.SUFFIX) or e.name.endswith(_MERGING):
                        try:
                            st = e.stat()
                        except FileNotFoundError:
                            continue
                        out[e.name] = (st.st_size, st.st_mtime)
        except (FileNotFoundError, NotADirectoryError):
            pass
        return out

    @staticmethod
    def _may_be_writing(path: str, name: str, mtime: float) -> bool:
        """Whether a writer may still be appending to this file (an incomplete
        last record is then a batch in flight, not damage)."""
        if name.endswith(_MERGING):
            return False
        parts = name[: -len(_shard.SUFFIX)].split("-")
        if len(parts) >= 4 and parts[-2].isdigit():
            host, pid = "-".join(parts[1:-2]), int(parts[-2])
            if host == _HOST:
                return path in _APPENDING if pid == os.getpid() else _alive(pid)
        return time.time() - mtime < _QUIET_S

    def _refresh(self, namespace: str, problems: list | None = None) -> Index:
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
        listing = self._listing(namespace)
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
                final = not self._may_be_writing(path, name, mtime)
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
            index, refreshed = self._refresh(namespace), True
        prefixes = prefix_of(raw)
        found, rec, row = index.lookup(prefixes)
        if not refreshed and not found.all():
            index, refreshed = self._refresh(namespace), True
            found, rec, row = index.lookup(prefixes)
        pos = np.flatnonzero(found)
        blocks, retry = self._read(namespace, index, raw, pos, rec[pos], row[pos], out, targets)
        if retry:  # a file vanished (compaction, eviction): read what replaced it
            retry = np.sort(np.concatenate(retry))
            self._refresh(namespace)
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
                reader = _FileReader(fd, index, raw, out, targets)
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
            name = f"{time.time_ns():016x}-{_HOST}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            path = str(folder / (name + _shard.SUFFIX))
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
        self._refresh(namespace)  # what others wrote meanwhile
        self._indexes[namespace].save(folder)

    # ------------------------------------------------------------ upkeep
    def namespaces(self) -> list[str]:
        try:
            return sorted(p.name for p in self.root.iterdir() if p.is_dir())
        except (FileNotFoundError, NotADirectoryError):
            return []

    def shard_names(self, namespace: str) -> list[str]:
        return sorted(self._listing(namespace))

    def rows(self, namespace: str, problems: list | None = None) -> int:
        """Distinct keys stored under ``namespace`` (damage found: warned about,
        or listed in ``problems``)."""
        return self._refresh(namespace, problems).distinct()

    def count(self) -> int:
        return sum(self.rows(ns) for ns in self.namespaces())

    def clear(self) -> None:
        for namespace in list(self._writers):
            self._close(namespace)
        self._unindexed.clear()
        shutil.rmtree(self.root, ignore_errors=True)
        self._indexes.clear()
        self._meta_written.clear()

    def _shard_files(self) -> list[tuple[float, int, Path]]:
        return [
            (mtime, size, self.root / ns / name)
            for ns in self.namespaces()
            for name, (size, mtime) in self._listing(ns).items()
        ]

    def size(self) -> int:
        return sum(size for _, size, _ in self._shard_files())

    def _records(self, namespace: str, name: str, final: bool = True):
        """(tables, problems) of one file, or None if it is gone."""
        path = os.path.join(self.root, namespace, name)
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            st = os.fstat(fd)
            if not final:
                final = not self._may_be_writing(path, name, st.st_mtime)
            tables, _, problems = _shard.scan(fd, 0, st.st_size, final)
            return tables, problems
        finally:
            os.close(fd)

    def _vectors(self, namespace: str, name: str, table) -> tuple[np.ndarray, np.ndarray]:
        """(matrix, intact rows) of one record."""
        with open(os.path.join(self.root, namespace, name), "rb") as f:
            f.seek(table.offset)
            buf = f.read(table.size)
        ok = _check_record(buf, 0, table.n, table.dim, np.arange(table.n))
        if len(buf) < table.size:
            return np.zeros((table.n, table.dim), np.float32), ok
        return _shard.matrix(buf, table, 0), ok

    def verify(self) -> dict:
        """Check every checksum; a report per namespace."""
        report = {}
        for ns in self.namespaces():
            entry = {"shards": 0, "rows": 0, "bad_rows": 0, "bad_shards": []}
            for name in self.shard_names(ns):
                found = self._records(ns, name, final=False)
                if found is None:
                    continue
                tables, problems = found
                entry["shards"] += 1
                entry["bad_shards"] += [f"{name}: byte {p}" for p in problems]
                for table in tables:
                    _, ok = self._vectors(ns, name, table)
                    entry["rows"] += table.n
                    entry["bad_rows"] += int((~ok).sum())
            report[ns] = entry
        return report

    def compact(self) -> dict:
        """Merge each namespace's files: one copy per key (the newest), bad rows
        and damaged records dropped, stale temporary files removed.

        Files are merged only with others used within the same hour, up to about
        64 MiB, so that eviction keeps choosing among rows by recency. Returns
        counts of rows kept and dropped.
        """
        kept = dropped = 0
        for ns in self.namespaces():
            folder = self.root / ns
            for tmp in folder.glob(".*.tmp"):
                if time.time() - _mtime(tmp) > _STALE_TMP_S:
                    _unlink(tmp)
            files = []
            for name, (size, mtime) in self._listing(ns).items():
                if not name.endswith(_MERGING):  # claim it: its writer moves on
                    try:
                        os.replace(folder / name, folder / (name + _MERGING))
                    except FileNotFoundError:
                        continue  # claimed by another compaction
                    name += _MERGING
                found = self._records(ns, name)
                if found is not None:
                    files.append((mtime, name, size, *found))
            files.sort(key=lambda f: (f[0], f[1]))  # least recently used first
            best = {}  # key -> (name, offset) of its newest copy (names start with a time)
            for _, name, _, tables, _ in sorted(files, key=lambda f: f[1]):
                for table in tables:
                    best.update(dict.fromkeys(map(bytes, table.keys), (name, table.offset)))
            for run in _runs(files):  # one run in memory at a time
                rows, used, clean = {}, 0.0, len(run) == 1
                for when, name, _, tables, problems in run:
                    clean &= not problems
                    for table in tables:
                        vectors, ok = self._vectors(ns, name, table)
                        for i, key in enumerate(map(bytes, table.keys)):
                            if ok[i] and best[key] == (name, table.offset) and key not in rows:
                                rows[key] = vectors[i]
                                used = max(used, when)
                            else:
                                dropped += not ok[i]
                                clean = False
                kept += len(rows)
                if clean:  # a lone intact file: put back as it was
                    _, name, *_ = run[0]
                    os.replace(folder / name, folder / name[: -len(_MERGING)])
                    continue
                if rows:
                    path = self._write_merged(folder, list(rows), list(rows.values()))
                    os.utime(path, (used, used))  # merged rows keep their recency
                for _, name, *_ in run:
                    _unlink(folder / name)
            self._indexes.pop(ns, None)
            _unlink(folder / NAME)
            if files:
                self._refresh(ns)
                try:
                    self._indexes[ns].save(str(folder))
                except OSError:
                    pass
        return {"kept": kept, "dropped": dropped}

    def _write_merged(self, folder: Path, keys: list[bytes], vectors: list) -> Path:
        name = f"{time.time_ns():016x}-{_HOST}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        path = folder / (name + _shard.SUFFIX)
        tmp = folder / f".{name}.tmp"
        with open(tmp, "wb") as f:
            for start in range(0, len(keys), _MERGED_RECORD_ROWS):
                part = slice(start, start + _MERGED_RECORD_ROWS)
                f.write(_shard.encode(b"".join(keys[part]), np.stack(vectors[part])))
        os.replace(tmp, path)
        return path

    def evict(self, max_bytes: int) -> int:
        """Remove least recently used files until the store fits ``max_bytes``."""
        files = sorted(self._shard_files())
        total = sum(size for _, size, _ in files)
        removed = 0
        for _, size, path in files:
            if total <= max_bytes:
                break
            _unlink(path)
            total -= size
            removed += 1
        return removed


class _FileReader:
    """The hit path for one file: one read per span of consecutive records, one
    checksum per record, rows gathered by fancy indexing. A record whose rows
    all go, in order, to consecutive rows of ``out`` is read straight into
    ``out`` (no copy beyond the read itself)."""

    def __init__(self, fd, index, raw, out, targets):
        self.fd, self.index, self.raw, self.out, self.targets = fd, index, raw, out, targets
        self.blocks, self.bad = [], []

    def read(self, pos, rec, row) -> None:
        index = self.index
        starts = np.flatnonzero(np.r_[True, rec[1:] != rec[:-1]])
        ends = np.r_[starts[1:], len(rec)]
        recs = rec[starts].astype(np.int64)
        offsets = index.rec_offset[recs].astype(np.int64)
        ns = index.rec_n[recs].astype(np.int64)
        dims = index.rec_dim[recs].astype(np.int64)
        sizes = _shard.HEADER_BYTES + ns * (_shard.KEY_BYTES + 4 + 4 * dims)
        direct = np.zeros(len(recs), bool)
        if self.out is not None:
            target = self.targets[pos]
            whole = (ends - starts == ns) & (dims == self.out.shape[1])
            # every row of the record, in order, to consecutive rows of out
            steps = np.diff(target) == 1
            rows_in_order = np.r_[False, (np.diff(row.astype(np.int64)) == 1) & steps]
            run_ok = np.add.reduceat(rows_in_order, starts) == ends - starts - 1
            direct = whole & run_ok & (row[starts] == 0)
        i, checks = 0, []
        while i < len(recs):  # a span: consecutive records of one kind, up to _SPAN_BYTES
            j = i + 1
            while (
                j < len(recs)
                and direct[j] == direct[i]
                and offsets[j] == offsets[j - 1] + sizes[j - 1]
                and offsets[j] + sizes[j] - offsets[i] <= _SPAN_BYTES
                and j - i < 500  # two buffers per record in one call: under IOV_MAX
            ):
                j += 1
            span = slice(starts[i], ends[j - 1])
            if direct[i]:
                checks.append(self._direct(pos[span], rec[span], offsets[i:j], ns[i:j], dims[i:j]))
            else:
                self._gather(
                    pos[span],
                    rec[span],
                    row[span],
                    starts[i:j] - starts[i],
                    ends[i:j] - starts[i],
                    offsets[i:j],
                    ns[i:j],
                    dims[i:j],
                    sizes[i:j],
                )
            i = j
        for check in checks:
            check.result()  # raises what the check raised

    def _direct(self, pos, rec, offsets, ns, dims):
        """Records read into ``out``: tables into one buffer, matrices in place;
        headers checked together, one CRC per record (a future: see below)."""
        tables = _shard.HEADER_BYTES + ns * (_shard.KEY_BYTES + 4)
        table_at = np.r_[0, np.cumsum(tables)[:-1]]  # each table's place in head
        firsts = np.r_[0, np.cumsum(ns)[:-1]]  # each record's first position
        targets = self.targets[pos[firsts]]  # and its first row of out
        row_bytes = self.out.shape[1] * 4
        head = bytearray(int(tables.sum()))
        head_view = memoryview(head)
        out_view = memoryview(self.out.reshape(-1)).cast("B")
        matrices = [
            out_view[t * row_bytes : (t + n) * row_bytes]
            for t, n in zip(targets.tolist(), ns.tolist(), strict=True)
        ]
        buffers = []
        for at, size, m in zip(table_at.tolist(), tables.tolist(), matrices, strict=True):
            buffers += (head_view[at : at + size], m)
        total = os.preadv(self.fd, buffers, int(offsets[0]))
        # Checked on another thread while the next span is read: zlib and the
        # read both release the GIL, so the CRCs cost little wall time.
        return _checker().submit(
            self._check_direct,
            pos,
            rec,
            ns,
            dims,
            tables,
            table_at,
            firsts,
            targets,
            head,
            matrices,
            total,
        )

    def _check_direct(
        self, pos, rec, ns, dims, tables, table_at, firsts, targets, head, matrices, total
    ) -> None:
        row_bytes = self.out.shape[1] * 4
        complete = np.cumsum(tables + ns * row_bytes) <= total  # else the file was cut short
        raw = np.frombuffer(head, np.uint8)
        headers = raw[table_at[:, None] + np.arange(_shard.HEADER_BYTES)].view(_shard.HEADER_DTYPE)
        headers = headers.reshape(-1)
        sound = (
            complete
            & (headers["magic"] == _shard.MAGIC)
            & (headers["n"] == ns)
            & (headers["dim"] == dims)
        )
        crcs = np.zeros(len(ns), np.uint32)
        checked = np.flatnonzero(sound)
        crcs[checked] = [zlib.crc32(matrices[k]) for k in checked.tolist()]
        intact = sound & (crcs == headers["matrix_crc"])
        ok = np.repeat(intact, ns)
        for k in np.flatnonzero(sound & ~intact).tolist():  # damaged rows: which ones
            try:
                table = _shard.parse_table(head, int(table_at[k]))
            except _shard.ShardError:
                continue
            got = self.out[targets[k] : targets[k] + ns[k]]
            ok[firsts[k] : firsts[k] + ns[k]] = _shard.row_crcs(got) == table.crcs
        rows = np.arange(len(pos)) - np.repeat(firsts, ns)
        key_at = np.repeat(table_at + _shard.HEADER_BYTES, ns) + rows * _shard.KEY_BYTES
        same = self._keys_match(raw, key_at, pos)
        self._done(pos, rec, rows, ok, same, direct=True)

    def _gather(self, pos, rec, row, starts, ends, offsets, ns, dims, sizes) -> None:
        span_start = int(offsets[0])
        buf = os.pread(self.fd, int(offsets[-1] + sizes[-1]) - span_start, span_start)
        ok = np.zeros(len(pos), bool)
        for k in range(len(offsets)):
            ok[starts[k] : ends[k]] = _check_record(
                buf,
                int(offsets[k]) - span_start,
                int(ns[k]),
                int(dims[k]),
                row[starts[k] : ends[k]],
            )
        counts = ends - starts
        base = np.repeat(offsets - span_start, counts)
        rec_n, rec_dim = np.repeat(ns, counts), np.repeat(dims, counts)
        rows = row.astype(np.int64)
        key_at = base + _shard.HEADER_BYTES + rows * _shard.KEY_BYTES
        same = self._keys_match(np.frombuffer(buf, np.uint8), key_at, pos)
        self._done(pos, rec, row, ok, same)
        ok &= same
        vec_at = base + _shard.HEADER_BYTES + rec_n * (_shard.KEY_BYTES + 4) + rows * rec_dim * 4
        floats = np.frombuffer(buf, "<f4", count=len(buf) // 4)
        for dim in sorted(set(rec_dim[ok].tolist())):  # (np.unique imports numpy.ma: 10 ms)
            sel = ok & (rec_dim == dim)
            vectors = sliding_window_view(floats, dim)[vec_at[sel] // 4]
            if self.out is not None and dim == self.out.shape[1]:
                self.out[self.targets[pos[sel]]] = vectors
                self.blocks.append((pos[sel], None))
            else:
                self.blocks.append((pos[sel], vectors))

    def _keys_match(self, data, key_at, pos) -> np.ndarray:
        """Whether each stored key is the one asked for (if not: a stale index
        or two keys sharing a prefix; a miss, not damage)."""
        same = key_at + _shard.KEY_BYTES <= len(data)
        if same.any():  # compared as 32-bit words: every part of a record is 4-byte aligned
            words = np.frombuffer(data, "<u4", count=len(data) // 4)
            at = key_at[same] // 4
            stored = words[at[:, None] + np.arange(_shard.KEY_BYTES // 4)]
            asked = np.ascontiguousarray(self.raw[pos[same]]).view("<u4")
            same[np.flatnonzero(same)[~(stored == asked).all(axis=1)]] = False
        return same

    def _done(self, pos, rec, row, ok, same, direct=False) -> None:
        if direct and (ok & same).any():
            self.blocks.append((pos[ok & same], None))
        if not ok.all():
            self.bad.append((rec[~ok], row[~ok]))


_CHECKER: tuple[int, ThreadPoolExecutor] | None = None


def _checker() -> ThreadPoolExecutor:
    """This process's thread for checking what the hit path reads (a forked
    child starts its own)."""
    global _CHECKER
    if _CHECKER is None or _CHECKER[0] != os.getpid():
        _CHECKER = (os.getpid(), ThreadPoolExecutor(1, thread_name_prefix="sktransfer-check"))
    return _CHECKER[1]


def _check_record(buf, base, n, dim, rows) -> np.ndarray:
    """Which ``rows`` of the record at ``base`` of ``buf`` are intact."""
    size = _shard.record_size(n, dim)
    if base + size > len(buf):
        return np.zeros(len(rows), bool)  # the file was cut short
    try:
        rn, rdim, _, matrix_crc = _shard.parse_header(memoryview(buf)[base : base + 32])
    except _shard.ShardError:
        return np.zeros(len(rows), bool)
    if (rn, rdim) != (n, dim):
        return np.zeros(len(rows), bool)
    start = base + _shard.HEADER_BYTES + n * (_shard.KEY_BYTES + 4)
    if zlib.crc32(memoryview(buf)[start : start + n * dim * 4]) == matrix_crc:
        return np.ones(len(rows), bool)
    try:  # some rows are damaged: which ones, by their own checksums
        table = _shard.parse_table(buf, base)
    except _shard.ShardError:
        return np.zeros(len(rows), bool)
    return _shard.check_rows(buf, table, base, rows)


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


def _runs(files, span_s: float = 3600.0, max_bytes: int = _COMPACT_BYTES):
    """Consecutive files (by recency) used within ``span_s`` of each other."""
    run, first, size = [], None, 0
    for entry in files:
        when, nbytes = entry[0], entry[2]
        if run and (when - first > span_s or size + nbytes > max_bytes):
            yield run
            run, size = [], 0
        if not run:
            first = when
        run.append(entry)
        size += nbytes
    if run:
        yield run


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0
