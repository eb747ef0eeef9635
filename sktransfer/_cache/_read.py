"""The hit path of the disk store: rows read from one shard file.

One read per span of consecutive records, one checksum per record, rows
gathered by fancy indexing; records bound for consecutive rows of the caller's
matrix are read straight into it. The store (:mod:`._store`) finds the records
in its index and hands each file to a :class:`FileReader`.
"""

from __future__ import annotations

import os
import zlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import _shard

_SPAN_BYTES = 4 << 20  # largest single read on the hit path (checked while the next is read)


class FileReader:
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
            ok[starts[k] : ends[k]] = check_record(
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


def check_record(buf, base, n, dim, rows) -> np.ndarray:
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
