"""The index of one namespace: where each stored key is, as a few numpy arrays.

It is derived from the shards (every record carries its own keys), so it can
always be rebuilt: a deleted, damaged or stale index only costs a scan of the
records it does not cover. Keys are looked up by a 64-bit prefix (the XOR of
the digest's four words) in one sorted array, through a table of buckets on
its top bits; the full 32 bytes are compared with the record's own key table
when the row is read, so a stale index or a prefix collision yields a miss,
never a wrong vector.

File layout (little-endian)::

    magic "SKTIDX01" | JSON length (u64) | CRC-32 of the rest (u32) | 0 (u32)
    JSON: {"files": [[name, bytes indexed], ...], "records": R, "rows": N}, padded to 8
    rec_offset u64[R] | rec_file u32[R] | rec_n u32[R] | rec_dim u32[R] | pad to 8
    prefix u64[N] | row_rec u32[N] | row_idx u32[N]

Records are numbered oldest first (by file name, which starts with the time
the file was created, then by offset); rows are sorted by prefix, the newest
copy of a key first.
"""

from __future__ import annotations

import json
import os
import struct
import uuid
import zlib

import numpy as np

from ._shard import HEADER_BYTES, KEY_BYTES, MAX_DIM

MAGIC = b"SKTIDX01"
_HEAD = struct.Struct("<8sQII")
NAME = "shards.idx"
BAD = np.uint32(0xFFFFFFFF)  # row_rec of a row found damaged in this process


def prefix_of(raw: np.ndarray) -> np.ndarray:
    """The 64-bit lookup prefix of (n, 32) raw keys: all four words mixed, so
    that keys that are not digests (sharing leading bytes) stay apart."""
    words = np.ascontiguousarray(raw).view("<u8")
    return words[:, 0] ^ words[:, 1] ^ words[:, 2] ^ words[:, 3]


def _empty(dtype):
    return np.zeros(0, dtype)


class Index:
    """Record and row tables of one namespace."""

    def __init__(self):
        self.files: list[str] = []  # file number -> name
        self.covered: dict[str, int] = {}  # name -> bytes indexed
        self.rec_offset = _empty(np.uint64)
        self.rec_file = _empty(np.uint32)
        self.rec_n = _empty(np.uint32)
        self.rec_dim = _empty(np.uint32)
        self.prefix = _empty(np.uint64)
        self.row_rec = _empty(np.uint32)
        self.row_idx = _empty(np.uint32)
        self._pending: list[tuple[str, list]] = []
        self._bucket_of = None  # the prefix array _bucket_starts was built for

    # ------------------------------------------------------------ building
    def add(self, name: str, tables, covered: int) -> None:
        """Index the record ``tables`` of file ``name``, read up to ``covered``."""
        self.covered[name] = covered
        if tables:
            self._pending.append((name, tables))

    def drop(self, names) -> None:
        """Forget files (removed, or to be indexed again from their start)."""
        names = set(names) & set(self.covered)
        if not names:
            return
        for name in names:
            del self.covered[name]
        self._pending = [(n, t) for n, t in self._pending if n not in names]
        gone = np.array([f in names for f in self.files], bool)
        if gone.any() and len(self.rec_file):
            keep_rec = ~gone[self.rec_file]
            self._keep(keep_rec)

    def _keep(self, keep_rec) -> None:
        new_id = np.cumsum(keep_rec, dtype=np.int64) - 1
        for attr in ("rec_offset", "rec_file", "rec_n", "rec_dim"):
            setattr(self, attr, getattr(self, attr)[keep_rec])
        valid = self.row_rec != BAD
        keep_row = np.zeros(len(self.row_rec), bool)
        keep_row[valid] = keep_rec[self.row_rec[valid]]
        self.prefix = self.prefix[keep_row]
        self.row_idx = self.row_idx[keep_row]
        self.row_rec = new_id[self.row_rec[keep_row]].astype(np.uint32)

    def finish(self) -> None:
        """Merge what was added and sort: records oldest first, rows by prefix
        with the newest copy first."""
        if not self._pending:
            return
        offsets, files, ns, dims, prefixes, rec_of_row, idx = [], [], [], [], [], [], []
        file_ids = {name: i for i, name in enumerate(self.files)}
        r = len(self.rec_file)
        for name, tables in self._pending:
            if name not in file_ids:
                file_ids[name] = len(self.files)
                self.files.append(name)
            fid = file_ids[name]
            for t in tables:
                offsets.append(t.offset)
                files.append(fid)
                ns.append(t.n)
                dims.append(t.dim)
                prefixes.append(prefix_of(t.keys))
                rec_of_row.append(np.full(t.n, r, np.uint32))
                idx.append(np.arange(t.n, dtype=np.uint32))
                r += 1
        self._pending = []
        self.rec_offset = np.concatenate([self.rec_offset, np.array(offsets, np.uint64)])
        self.rec_file = np.concatenate([self.rec_file, np.array(files, np.uint32)])
        self.rec_n = np.concatenate([self.rec_n, np.array(ns, np.uint32)])
        self.rec_dim = np.concatenate([self.rec_dim, np.array(dims, np.uint32)])
        self.prefix = np.concatenate([self.prefix, *prefixes])
        self.row_rec = np.concatenate([self.row_rec, *rec_of_row])
        self.row_idx = np.concatenate([self.row_idx, *idx])
        self._sort()

    def _sort(self) -> None:
        # Records oldest first: file names start with their creation time.
        name_rank = np.argsort(np.argsort(np.array(self.files, dtype=object)))
        order = np.lexsort((self.rec_offset, name_rank[self.rec_file]))
        if (order != np.arange(len(order))).any():
            new_id = np.empty(len(order), np.uint32)
            new_id[order] = np.arange(len(order), dtype=np.uint32)
            for attr in ("rec_offset", "rec_file", "rec_n", "rec_dim"):
                setattr(self, attr, getattr(self, attr)[order])
            bad = self.row_rec == BAD
            self.row_rec = np.where(bad, BAD, new_id[np.where(bad, 0, self.row_rec)])
        rows = np.argsort(self.prefix, kind="stable")
        prefix = self.prefix[rows]
        if len(prefix) > 1 and (prefix[1:] == prefix[:-1]).any():  # a key stored twice
            age = np.where(self.row_rec == BAD, -1, self.row_rec.astype(np.int64))  # bad: last
            rows = np.lexsort((-age, self.prefix))
            prefix = self.prefix[rows]
        self.prefix, self.row_rec, self.row_idx = prefix, self.row_rec[rows], self.row_idx[rows]

    # ------------------------------------------------------------ lookups
    def lookup(self, prefixes: np.ndarray):
        """(found mask, record, row) of the newest copy of each prefix."""
        if not len(self.prefix):
            zeros = np.zeros(len(prefixes), np.uint32)
            return np.zeros(len(prefixes), bool), zeros, zeros
        at = np.minimum(self._first_at_least(prefixes), len(self.prefix) - 1)
        rec = self.row_rec[at]
        found = (self.prefix[at] == prefixes) & (rec != BAD)
        return found, rec, self.row_idx[at]

    def _first_at_least(self, prefixes: np.ndarray) -> np.ndarray:
        """``np.searchsorted(self.prefix, prefixes)`` in a constant number of
        memory accesses per key, whatever the number of rows: prefixes are
        uniform (they mix a digest's words), so their top bits say where a
        prefix is, to within a bucket of about one row. A binary search would
        cost a cache miss per halving once the index outgrows the CPU caches,
        which makes a lookup at a million rows several times slower per row
        than at ten thousand."""
        starts, shift = self._buckets()
        bucket = (prefixes >> shift).astype(np.intp)
        at = starts[bucket].astype(np.intp)
        end = starts[bucket + 1]
        todo = np.flatnonzero(at < end)
        while len(todo):  # step through the bucket: about one row on average
            behind = self.prefix[at[todo]] < prefixes[todo]
            todo = todo[behind]
            at[todo] += 1
            todo = todo[at[todo] < end[todo]]
        return at

    def _buckets(self):
        """Where each bucket of the top bits of the sorted prefixes starts
        (about one bucket per row), built once per state of the index."""
        if self._bucket_of is not self.prefix:
            bits = max(1, len(self.prefix).bit_length())
            shift = np.uint64(64 - bits)
            counts = np.bincount((self.prefix >> shift).astype(np.intp), minlength=1 << bits)
            self._bucket_starts = np.r_[0, np.cumsum(counts)].astype(np.int64)
            self._bucket_shift, self._bucket_of = shift, self.prefix
        return self._bucket_starts, self._bucket_shift

    def mark_bad(self, recs: np.ndarray, rows: np.ndarray) -> None:
        """Rows found damaged: misses from now on in this process."""
        for rec, row in zip(recs.tolist(), rows.tolist(), strict=True):
            hit = (self.row_rec == rec) & (self.row_idx == row)
            self.row_rec[hit] = BAD

    def distinct(self) -> int:
        """Number of distinct keys."""
        p = self.prefix[self.row_rec != BAD]
        return int(len(p) and 1 + np.count_nonzero(np.diff(p)))

    # ------------------------------------------------------------ file
    def save(self, folder: str) -> None:
        """Write atomically (temporary name, then rename); readers that find it
        stale or damaged index the rest from the shards."""
        self.finish()
        meta = json.dumps(
            {
                "files": sorted(self.covered.items()),
                "names": self.files,
                "records": len(self.rec_file),
                "rows": int((self.row_rec != BAD).sum()),
            }
        ).encode()
        meta += b" " * (-len(meta) % 8)
        arrays = [
            self.rec_offset.astype("<u8"),
            self.rec_file.astype("<u4"),
            self.rec_n.astype("<u4"),
            self.rec_dim.astype("<u4"),
        ]
        pad = b"\0" * (-(4 * 3 * len(self.rec_file)) % 8)
        ok = self.row_rec != BAD  # damage seen in this process is not saved: it is seen again
        rows = [
            a[ok].astype(d)
            for a, d in ((self.prefix, "<u8"), (self.row_rec, "<u4"), (self.row_idx, "<u4"))
        ]
        body = [meta, *(a.tobytes() for a in arrays), pad, *(a.tobytes() for a in rows)]
        crc = 0
        for part in body:
            crc = zlib.crc32(part, crc)
        tmp = os.path.join(folder, f".{NAME}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            with open(tmp, "wb") as f:
                f.write(_HEAD.pack(MAGIC, len(meta), crc, 0))
                for part in body:
                    f.write(part)
            os.replace(tmp, os.path.join(folder, NAME))
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    @classmethod
    def load(cls, folder: str) -> Index | None:
        """The saved index of ``folder``, or None if absent or damaged."""
        return cls.read(folder)[0]

    @classmethod
    def read(cls, folder: str) -> tuple[Index | None, str | None]:
        """``(index, None)``, ``(None, None)`` if there is none (or one of another
        format), or ``(None, what is wrong)`` if it is damaged.

        A checksum only says that the file is the one a writer wrote; every
        number in it is also checked against the others and against the bytes
        each shard had when indexed (the reader checks those against the
        shard's real size), so that no entry can make a reader seek or read
        outside a record: one damaged entry discards the index, which is then
        rebuilt from the shards' own records.
        """
        try:
            with open(os.path.join(folder, NAME), "rb") as f:
                data = f.read()
        except OSError:
            return None, None
        try:
            magic, meta_len, crc, _ = _HEAD.unpack_from(data)
        except struct.error:
            return None, "shorter than its header"
        if magic != MAGIC:
            return None, None
        if zlib.crc32(memoryview(data)[_HEAD.size :]) != crc:
            return None, "checksum mismatch"
        try:
            return cls._parse(data, meta_len), None
        except _Damaged as exc:
            return None, str(exc)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return None, f"unreadable table ({type(exc).__name__})"

    @classmethod
    def _parse(cls, data: bytes, meta_len: int) -> Index:
        pos = _HEAD.size
        meta = json.loads(data[pos : pos + meta_len])
        pos += meta_len
        r, n = meta["records"], meta["rows"]
        if not all(type(v) is int and 0 <= v < 1 << 32 for v in (r, n)):
            raise _Damaged(f"implausible counts ({r!r} records, {n!r} rows)")
        index = cls()
        index.files = list(meta["names"])
        index.covered = {}
        for name, size in meta["files"]:
            if type(size) is not int or not 0 <= size < 1 << 63:
                raise _Damaged(f"implausible size {size!r} for {name!r}")
            index.covered[name] = size
        for name in index.files:
            if (
                not isinstance(name, str)
                or name not in index.covered
                or os.path.basename(name) != name
                or not name.endswith((".shard", ".merging"))
            ):
                raise _Damaged(f"file name {name!r} is not one of its shards")
        for attr, dtype, count in (
            ("rec_offset", "<u8", r),
            ("rec_file", "<u4", r),
            ("rec_n", "<u4", r),
            ("rec_dim", "<u4", r),
            (None, "u1", -(4 * 3 * r) % 8),
            ("prefix", "<u8", n),
            ("row_rec", "<u4", n),
            ("row_idx", "<u4", n),
        ):
            array = np.frombuffer(data, dtype, count, pos)
            pos += array.nbytes
            if attr:  # row_rec writable: rows may be marked bad
                setattr(index, attr, array.copy() if attr == "row_rec" else array)
        if pos != len(data):
            raise _Damaged(f"{len(data) - pos} bytes past its tables")
        index._check()
        return index

    def _check(self) -> None:
        """Raise :class:`_Damaged` unless every record lies inside the bytes
        indexed of its file and every row inside its record (vectorised: a
        few passes over the arrays, once per load)."""
        r = len(self.rec_file)
        if r:
            if int(self.rec_file.max()) >= len(self.files):
                raise _Damaged("a record names a file it does not list")
            covered = np.array([self.covered[f] for f in self.files], np.uint64)
            limit = covered[self.rec_file]
            n, dim = self.rec_n.astype(np.uint64), self.rec_dim.astype(np.uint64)
            shape_ok = (n >= 1) & (dim <= MAX_DIM)
            size = HEADER_BYTES + n * (KEY_BYTES + 4 + 4 * np.minimum(dim, MAX_DIM))
            inside = shape_ok & (self.rec_offset <= limit)
            inside &= self.rec_offset + np.where(inside, size, 0) <= limit
            if not inside.all():
                k = int(np.argmin(inside))
                raise _Damaged(
                    f"record {k} ({int(n[k])} x {int(dim[k])} at byte "
                    f"{int(self.rec_offset[k])}) lies outside the "
                    f"{int(limit[k])} bytes indexed of {self.files[int(self.rec_file[k])]}"
                )
        if len(self.row_rec):
            if int(self.row_rec.max()) >= r:
                raise _Damaged("a row names a record it does not hold")
            if (self.row_idx >= self.rec_n[self.row_rec]).any():
                raise _Damaged("a row lies outside its record")
            if (self.prefix[1:] < self.prefix[:-1]).any():
                raise _Damaged("rows out of order")


class _Damaged(ValueError):
    """An index whose numbers do not describe its shards."""
