"""Upkeep of the disk store: checking every checksum, compaction and eviction.

Compaction first renames the files it merges (``.shard`` to ``.merging``,
still read) and deletes them once the merged file is in place; a writer whose
file was merged away appends its batch again to a new file (see
:mod:`._store`), so no row it reported stored is lost. Eviction removes whole
files, least recently used first.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from . import _shard
from ._index import NAME
from ._read import check_record
from ._store import MERGING, ShardStore, new_shard_name

_COMPACT_BYTES = 64 << 20  # compaction writes files of about this size
_MERGED_RECORD_ROWS = 4096
_STALE_TMP_S = 3600.0


def verify(store: ShardStore) -> dict:
    """Check every checksum; a report per namespace."""
    report = {}
    for ns in store.namespaces():
        entry = {"shards": 0, "rows": 0, "bad_rows": 0, "bad_shards": []}
        for name in store.shard_names(ns):
            found = _records(store, ns, name, final=False)
            if found is None:
                continue
            tables, problems = found
            entry["shards"] += 1
            entry["bad_shards"] += [f"{name}: byte {p}" for p in problems]
            for table in tables:
                _, ok = _vectors(store, ns, name, table)
                entry["rows"] += table.n
                entry["bad_rows"] += int((~ok).sum())
        report[ns] = entry
    return report


def compact(store: ShardStore) -> dict:
    """Merge each namespace's files: one copy per key (the newest), bad rows
    and damaged records dropped, stale temporary files removed.

    Files are merged only with others used within the same hour, up to about
    64 MiB, so that eviction keeps choosing among rows by recency. Returns
    counts of rows kept and dropped.
    """
    kept = dropped = 0
    for ns in store.namespaces():
        folder = store.root / ns
        for tmp in folder.glob(".*.tmp"):
            if time.time() - _mtime(tmp) > _STALE_TMP_S:
                _unlink(tmp)
        files = []
        for name, (size, mtime) in store.listing(ns).items():
            if not name.endswith(MERGING):  # claim it: its writer moves on
                try:
                    os.replace(folder / name, folder / (name + MERGING))
                except FileNotFoundError:
                    continue  # claimed by another compaction
                name += MERGING
            found = _records(store, ns, name)
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
                    vectors, ok = _vectors(store, ns, name, table)
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
                os.replace(folder / name, folder / name[: -len(MERGING)])
                continue
            if rows:
                path = _write_merged(folder, list(rows), list(rows.values()))
                os.utime(path, (used, used))  # merged rows keep their recency
            for _, name, *_ in run:
                _unlink(folder / name)
        store.forget_index(ns)
        _unlink(folder / NAME)
        if files:
            index = store.refresh(ns)
            try:
                index.save(str(folder))
            except OSError:
                pass
    return {"kept": kept, "dropped": dropped}


def evict(store: ShardStore, max_bytes: int) -> int:
    """Remove least recently used files until the store fits ``max_bytes``."""
    files = sorted(store.shard_files())
    total = sum(size for _, size, _ in files)
    removed = 0
    for _, size, path in files:
        if total <= max_bytes:
            break
        _unlink(path)
        total -= size
        removed += 1
    return removed


def _records(store: ShardStore, namespace: str, name: str, final: bool = True):
    """(tables, problems) of one file, or None if it is gone."""
    path = os.path.join(store.root, namespace, name)
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        st = os.fstat(fd)
        if not final:
            final = not store.may_be_writing(path, name, st.st_mtime)
        tables, _, problems = _shard.scan(fd, 0, st.st_size, final)
        return tables, problems
    finally:
        os.close(fd)


def _vectors(store: ShardStore, namespace: str, name: str, table) -> tuple[np.ndarray, np.ndarray]:
    """(matrix, intact rows) of one record."""
    with open(os.path.join(store.root, namespace, name), "rb") as f:
        f.seek(table.offset)
        buf = f.read(table.size)
    ok = check_record(buf, 0, table.n, table.dim, np.arange(table.n))
    if len(buf) < table.size:
        return np.zeros((table.n, table.dim), np.float32), ok
    return _shard.matrix(buf, table, 0), ok


def _write_merged(folder: Path, keys: list[bytes], vectors: list) -> Path:
    name = new_shard_name()
    path = folder / (name + _shard.SUFFIX)
    tmp = folder / f".{name}.tmp"
    with open(tmp, "wb") as f:
        for start in range(0, len(keys), _MERGED_RECORD_ROWS):
            part = slice(start, start + _MERGED_RECORD_ROWS)
            f.write(_shard.encode(b"".join(keys[part]), np.stack(vectors[part])))
    os.replace(tmp, path)
    return path


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
