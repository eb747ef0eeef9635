"""The disk layer: append-only shard files per namespace, indexed in memory.

``DIR/v2/<namespace>/<time>-<host>-<pid>-<random>.shard`` holds one written
batch (see :mod:`._shard`). A shard's head is its own index segment (its keys
and row checksums), so there is no separate index file that could fall out of
step with the data: a handle reads the key tables of the shards it has not
seen yet, and a lost or damaged shard only turns its rows into misses, which
are recomputed and stored again. Writers never modify a file and never take a
lock, so processes on one machine or on several machines sharing a file
system can write the same and different rows at once (a row stored twice is
merged by :meth:`ShardStore.compact`).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
import uuid
import warnings
from pathlib import Path

import numpy as np

from . import _shard

_TOUCH_EVERY_S = 60.0  # recency for eviction, recorded at most this often per shard
_COMPACT_BYTES = 64 << 20  # compaction writes shards of about this size
_STALE_TMP_S = 3600.0


class ShardStore:
    """Shards under ``root`` (the ``v2`` folder of a cache directory)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        # key -> shard number << 32 | row: plain ints keep a million-row index
        # out of the garbage collector's way.
        self._index: dict[str, dict[str, int]] = {}
        self._shard_ids: dict[str, dict[str, int]] = {}  # name -> number
        self._shard_names_by_id: dict[str, list[str]] = {}
        self._tables: dict[str, dict[str, _shard.ShardTable | None]] = {}
        self._bad: set[tuple[str, str, int]] = set()
        self._touched: dict[str, float] = {}
        self._warned: set[str] = set()
        self._meta_written: set[str] = set()

    # ------------------------------------------------------------ warnings
    def warn_once(self, message: str) -> None:
        if message not in self._warned:
            self._warned.add(message)
            warnings.warn(message, RuntimeWarning, stacklevel=4)

    # ------------------------------------------------------------ index
    def _shard_names(self, namespace: str) -> list[str]:
        try:
            with os.scandir(self.root / namespace) as entries:
                return sorted(e.name for e in entries if e.name.endswith(_shard.SUFFIX))
        except (FileNotFoundError, NotADirectoryError):
            return []

    def _refresh(self, namespace: str) -> dict[str, tuple[str, int]]:
        """Index the shards of ``namespace`` that this handle has not read yet."""
        index = self._index.setdefault(namespace, {})
        tables = self._tables.setdefault(namespace, {})
        for name in self._shard_names(namespace):
            if name in tables:
                continue
            path = self.root / namespace / name
            try:
                with open(path, "rb") as f:
                    table = _shard.read_table(f)
            except FileNotFoundError:
                continue  # removed by a compaction since the listing
            except _shard.ShardError as exc:
                tables[name] = None
                self.warn_once(
                    f"embedding cache: shard {str(path)!r} is unreadable ({exc}); its rows "
                    "are recomputed. `sktransfer cache prune` removes it."
                )
                continue
            tables[name] = table
            self._add(namespace, name, table)
        return index

    def _shard_id(self, namespace, name) -> int:
        ids = self._shard_ids.setdefault(namespace, {})
        if name not in ids:
            names = self._shard_names_by_id.setdefault(namespace, [])
            ids[name] = len(names)
            names.append(name)
        return ids[name]

    def _add(self, namespace, name, table) -> None:
        index = self._index.setdefault(namespace, {})
        base = self._shard_id(namespace, name) << 32
        index.update(zip(hex_keys(table.keys), range(base, base + table.n), strict=True))
        for ns, shard, row in self._bad:
            if ns == namespace and shard == name:
                index.pop(hex_keys(table.keys[row : row + 1])[0], None)

    def _forget_shard(self, namespace, name) -> None:
        self._tables.get(namespace, {}).pop(name, None)
        index = self._index.get(namespace, {})
        number = self._shard_ids.get(namespace, {}).get(name)
        if number is not None:
            for key in [k for k, v in index.items() if v >> 32 == number]:
                del index[key]

    # ------------------------------------------------------------ reads
    def get(self, namespace: str, keys: list[str]) -> dict[str, np.ndarray]:
        """Stored vectors among ``keys``; bad rows are reported once and left out."""
        found: dict[str, np.ndarray] = {}
        for idx, vectors in self.get_blocks(namespace, keys):
            found.update(zip([keys[i] for i in idx.tolist()], vectors, strict=True))
        return found

    def get_blocks(self, namespace: str, keys: list[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Stored vectors among ``keys`` as (positions in ``keys``, matrix) per shard
        read: no per-row objects, for bulk reads."""
        index = self._index.get(namespace) or {}
        found = list(map(index.get, keys))  # one lookup per key: bulk reads are long
        if None in found:
            found = list(map(self._refresh(namespace).get, keys))
        blocks, retry = self._read(namespace, keys, found)
        if retry:  # a shard vanished (compaction): read what replaced it
            index, again = self._refresh(namespace), set(retry)
            found = [index.get(k) if i in again else None for i, k in enumerate(keys)]
            more, _ = self._read(namespace, keys, found)
            blocks += more
        return blocks

    def _read(self, namespace, keys, found) -> tuple[list, list[int]]:
        """Read the rows of ``keys`` at their index locations ``found`` (None: not
        stored)."""
        positions = np.flatnonzero(np.fromiter((f is not None for f in found), bool, len(found)))
        if not len(positions):
            return [], []
        index = self._index[namespace]
        names = self._shard_names_by_id[namespace]
        where = np.fromiter((found[i] for i in positions.tolist()), np.int64, len(positions))
        order = np.argsort(where, kind="stable")  # by shard, then row: sequential reads
        where, positions = where[order], positions[order]
        shards = where >> 32
        bounds = np.flatnonzero(np.diff(shards)) + 1
        blocks, retry = [], []
        now = time.time()
        folder = os.path.join(self.root, namespace)  # str: pathlib is slow per shard
        for sel in np.split(np.arange(len(where)), bounds):
            name = names[int(shards[sel[0]])]
            rows = where[sel] & 0xFFFFFFFF
            pos = positions[sel]
            path = os.path.join(folder, name)
            try:
                with open(path, "rb") as f:
                    vectors, ok = _shard.read_rows(f, self._tables[namespace][name], rows)
            except FileNotFoundError:
                self._forget_shard(namespace, name)
                retry.extend(pos.tolist())
                continue
            if ok.all():
                blocks.append((pos, vectors))
            else:
                blocks.append((pos[ok], vectors[ok]))
                for j in np.flatnonzero(~ok).tolist():
                    self._bad.add((namespace, name, int(rows[j])))
                    index.pop(keys[pos[j]], None)
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

    # ------------------------------------------------------------ writes
    def put(self, namespace: str, keys: list[str], vectors: np.ndarray, meta=None) -> Path:
        """Write one shard and return its path; raises ``OSError`` when the
        directory cannot be written."""
        name = f"{time.time_ns():016x}-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        name += _shard.SUFFIX
        folder = self.root / namespace
        for attempt in (0, 1):
            try:
                folder.mkdir(parents=True, exist_ok=True)
                table = _shard.write(str(folder / name), keys, vectors)
                break
            except FileNotFoundError:
                if attempt:  # the folder was removed again (a concurrent clear)
                    raise
        if meta is not None and namespace not in self._meta_written:
            self._meta_written.add(namespace)
            path = folder / "identity.json"
            if not path.exists():
                text = json.dumps(meta, indent=2, sort_keys=True, default=str)
                tmp = folder / f".identity.{os.getpid()}.{uuid.uuid4().hex}.tmp"
                tmp.write_text(text)
                os.replace(tmp, path)
        self._tables.setdefault(namespace, {})[name] = table
        self._add(namespace, name, table)
        return folder / name

    # ------------------------------------------------------------ upkeep
    def namespaces(self) -> list[str]:
        try:
            return sorted(p.name for p in self.root.iterdir() if p.is_dir())
        except (FileNotFoundError, NotADirectoryError):
            return []

    def count(self) -> int:
        return sum(len(self._refresh(ns)) for ns in self.namespaces())

    def clear(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
        self._index.clear()
        self._shard_ids.clear()
        self._shard_names_by_id.clear()
        self._tables.clear()
        self._bad.clear()
        self._meta_written.clear()

    def _shard_files(self) -> list[tuple[float, int, Path]]:
        files = []
        for ns in self.namespaces():
            for name in self._shard_names(ns):
                path = self.root / ns / name
                try:
                    st = path.stat()
                except FileNotFoundError:
                    continue
                files.append((st.st_mtime, st.st_size, path))
        return files

    def size(self) -> int:
        return sum(size for _, size, _ in self._shard_files())

    def scan(self, namespace: str, name: str):
        """(table, vectors, ok) for a whole shard; ``table`` is None if unreadable."""
        path = self.root / namespace / name
        with open(path, "rb") as f:
            try:
                table = _shard.read_table(f)
            except _shard.ShardError as exc:
                return None, str(exc), None
            vectors, ok = _shard.read_rows(f, table, np.arange(table.n))
        return table, vectors, ok

    def verify(self) -> dict:
        """Check every checksum; a report per namespace."""
        report = {}
        for ns in self.namespaces():
            entry = {"shards": 0, "rows": 0, "bad_rows": 0, "bad_shards": []}
            for name in self._shard_names(ns):
                try:
                    table, vectors, ok = self.scan(ns, name)
                except FileNotFoundError:
                    continue
                entry["shards"] += 1
                if table is None:
                    entry["bad_shards"].append(f"{name}: {vectors}")
                    continue
                entry["rows"] += table.n
                entry["bad_rows"] += int((~ok).sum())
            report[ns] = entry
        return report

    def compact(self) -> dict:
        """Merge each namespace's shards: one copy per key (the most recent), bad
        rows and unreadable shards dropped, stale temporary files removed.

        Shards are merged only with others used within the same hour, up to about
        64 MiB, so that eviction keeps choosing among rows by recency. Returns
        counts of rows kept and dropped.
        """
        kept = dropped = 0
        for ns in self.namespaces():
            folder = self.root / ns
            for tmp in folder.glob("*.tmp"):
                if time.time() - _mtime(tmp) > _STALE_TMP_S:
                    _unlink(tmp)
            shards = []
            for name in self._shard_names(ns):
                try:
                    with open(folder / name, "rb") as f:
                        table = _shard.read_table(f)
                except FileNotFoundError:
                    continue  # merged by another compaction meanwhile
                except _shard.ShardError:
                    table = None
                shards.append((_mtime(folder / name), name, table))
            shards.sort(key=lambda s: (s[0], s[1]))  # least recently used first
            best = {}  # key -> the most recent shard holding it
            for _, name, table in shards:
                if table is not None:
                    best.update(dict.fromkeys(hex_keys(table.keys), name))
            for run in _runs(shards):  # one run in memory at a time
                rows, used, clean = {}, 0.0, len(run) == 1
                for when, name, table in run:
                    try:
                        table, vectors, ok = self.scan(ns, name)
                    except FileNotFoundError:
                        table = None
                    if table is None:
                        clean = False
                        continue
                    for i, key in enumerate(hex_keys(table.keys)):
                        if ok[i] and best[key] == name and key not in rows:
                            rows[key] = vectors[i]
                            used = max(used, when)
                        else:
                            dropped += not ok[i]
                            clean = False
                kept += len(rows)
                if clean:
                    continue  # a lone intact shard: nothing to rewrite
                keys = list(rows)
                if keys:
                    path = self.put(ns, keys, np.stack([rows[k] for k in keys]))
                    os.utime(path, (used, used))  # merged rows keep their recency
                for _, name, *_ in run:
                    _unlink(folder / name)
                    self._forget_shard(ns, name)
        return {"kept": kept, "dropped": dropped}

    def evict(self, max_bytes: int) -> int:
        """Remove least recently used shards until the store fits ``max_bytes``."""
        files = sorted(self._shard_files())
        total = sum(size for _, size, _ in files)
        removed = 0
        for _, size, path in files:
            if total <= max_bytes:
                break
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            self._forget_shard(path.parent.name, path.name)
            total -= size
            removed += 1
        return removed


def hex_keys(raw: np.ndarray) -> list[str]:
    """Hex strings of the rows of an (n, 32) uint8 key array."""
    hexed = raw.tobytes().hex()
    step = 2 * _shard.KEY_BYTES
    return [hexed[i : i + step] for i in range(0, len(hexed), step)]


def _runs(shards, span_s: float = 3600.0, max_bytes: int = _COMPACT_BYTES):
    """Consecutive shards (by recency) used within ``span_s`` of each other."""
    run, first, size = [], None, 0
    for shard in shards:
        when, table = shard[0], shard[2]
        nbytes = table.size if table is not None else 0
        if run and (when - first > span_s or size + nbytes > max_bytes):
            yield run
            run, size = [], 0
        if not run:
            first = when
        run.append(shard)
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
