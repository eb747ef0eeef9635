"""Shard files: a sequence of records, each a batch of embeddings that describes
and checks itself.

Record layout (little-endian)::

    header  32 bytes   magic "SKTSHD02", rows n (u64), width d (u64),
                       CRC-32 of (n, d, keys, row CRCs) (u32),
                       CRC-32 of the whole matrix (u32: one check for a full read)
    keys    n x 32     the raw SHA-256 row keys
    crcs    n x 4      CRC-32 of each row's vector bytes
    matrix  n x d x 4  float32 vectors

A writer appends one record per batch to a file only it writes (see
:mod:`._store`), in one ``write`` call, so a killed writer leaves at most one
incomplete record at the end of its file; every earlier record is intact and
found by the next reader. Bytes are never modified in place. What can still go
wrong (a disk error, a truncated copy, a stray write) is caught by the
checksums: a bad table makes its record unreadable (readers resynchronise on
the next magic), a bad row costs only that row. A file of one record is what
the first version of this format wrote: such stores are read as they are.
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass

import numpy as np

MAGIC = b"SKTSHD02"
_HEADER = struct.Struct("<8sQQII")
HEADER_BYTES = _HEADER.size
# The same header as a numpy record, to check many records' headers at once.
HEADER_DTYPE = np.dtype(
    [("magic", "S8"), ("n", "<u8"), ("dim", "<u8"), ("table_crc", "<u4"), ("matrix_crc", "<u4")]
)
KEY_BYTES = 32
MAX_ROWS = 1 << 32  # a record's rows (u32 in the index) and width: beyond these
MAX_DIM = 1 << 24  # a header is damage, whatever its checksum says
SUFFIX = ".shard"


class ShardError(ValueError):
    """A record whose header or key table is unreadable or fails its checksum."""


@dataclass(frozen=True)
class ShardTable:
    """What a record holds, read from its head: enough to index it."""

    n: int
    dim: int
    keys: np.ndarray  # (n, 32) uint8
    crcs: np.ndarray  # (n,) uint32
    size: int  # bytes of the whole record
    matrix_crc: int = -1
    offset: int = 0  # where the record starts in its file


def record_size(n: int, dim: int) -> int:
    return HEADER_BYTES + n * (KEY_BYTES + 4 + 4 * dim)


def row_crcs(vectors: np.ndarray) -> np.ndarray:
    """CRC-32 of each row's bytes."""
    return np.fromiter((zlib.crc32(row) for row in vectors), np.uint32, len(vectors))


def _table_crc(n: int, dim: int, keys, crcs) -> int:
    return zlib.crc32(crcs, zlib.crc32(keys, zlib.crc32(struct.pack("<QQ", n, dim))))


def encode(raw_keys: bytes, vectors: np.ndarray) -> bytes:
    """One record for raw 32-byte ``keys`` and float32 ``vectors`` (n, d)."""
    return b"".join(encode_parts(raw_keys, vectors))


def encode_parts(raw_keys: bytes, vectors: np.ndarray) -> list:
    """The record of :func:`encode` as buffers for one ``writev`` (no copy)."""
    vectors = np.ascontiguousarray(vectors, dtype="<f4")
    n, dim = vectors.shape
    if len(raw_keys) != n * KEY_BYTES:
        raise ValueError("every key must be a 64-character SHA-256 hex digest")
    crc_bytes = row_crcs(vectors).astype("<u4").tobytes()
    header = _HEADER.pack(
        MAGIC, n, dim, _table_crc(n, dim, raw_keys, crc_bytes), zlib.crc32(vectors)
    )
    return [header, raw_keys, crc_bytes, memoryview(vectors).cast("B")]


def parse_header(head) -> tuple[int, int, int, int]:
    """(n, dim, table CRC, matrix CRC) of a record header."""
    if len(head) < HEADER_BYTES:
        raise _Incomplete("truncated header")
    magic, n, dim, crc, matrix_crc = _HEADER.unpack_from(head)
    if magic != MAGIC:
        raise ShardError("not a shard record")
    if n > MAX_ROWS or dim > MAX_DIM or n == 0:
        raise ShardError(f"implausible size {n} x {dim}")
    return n, dim, crc, matrix_crc


def parse_table(buf, offset: int = 0) -> ShardTable:
    """Check and return the table of the record at ``offset`` of ``buf`` (which
    holds at least its header, keys and row checksums)."""
    n, dim, crc, matrix_crc = parse_header(memoryview(buf)[offset : offset + HEADER_BYTES])
    start = offset + HEADER_BYTES
    raw_keys = memoryview(buf)[start : start + n * KEY_BYTES]
    crcs = memoryview(buf)[start + n * KEY_BYTES : start + n * (KEY_BYTES + 4)]
    if len(raw_keys) + len(crcs) < n * (KEY_BYTES + 4):
        raise ShardError("truncated key table")
    if _table_crc(n, dim, raw_keys, crcs) != crc:
        raise ShardError("key table checksum mismatch")
    keys = np.frombuffer(raw_keys, np.uint8).reshape(n, KEY_BYTES)
    return ShardTable(
        n, dim, keys, np.frombuffer(crcs, "<u4"), record_size(n, dim), matrix_crc, offset
    )


def scan(fd: int, start: int, end: int, final: bool = True):
    """The tables of the records of an open file between ``start`` and ``end``.

    Returns ``(tables, stop, problems)``. A record running past ``end`` may
    still be being written: unless ``final`` (its writer is known to be gone),
    the scan stops there and ``stop`` is its offset. Damaged regions are listed
    in ``problems`` (``"offset: reason"``) and skipped by searching for the next
    record's magic.
    """
    tables, problems = [], []
    offset = start
    while offset < end:
        head = os.pread(fd, HEADER_BYTES, offset)
        try:
            n, dim, _, _ = parse_header(head)
            size = record_size(n, dim)
            if offset + size > end:
                raise _Incomplete("incomplete record")
            table = parse_table(os.pread(fd, HEADER_BYTES + n * (KEY_BYTES + 4), offset))
            tables.append(_at(table, offset))
            offset += size
        except ShardError as exc:
            if isinstance(exc, _Incomplete) and not final:
                return tables, offset, problems
            problems.append(f"{offset}: {exc}")
            offset = _next_magic(fd, offset + 1, end)
    return tables, end, problems


class _Incomplete(ShardError):
    pass


def _at(table: ShardTable, offset: int) -> ShardTable:
    return ShardTable(
        table.n, table.dim, table.keys, table.crcs, table.size, table.matrix_crc, offset
    )


def _next_magic(fd: int, start: int, end: int) -> int:
    """Where the next record magic starts at or after ``start`` (``end`` if none)."""
    step = 1 << 22
    while start < end:
        chunk = os.pread(fd, min(step, end - start) + len(MAGIC) - 1, start)
        found = chunk.find(MAGIC)
        if found >= 0:
            return start + found
        start += step
    return end


def check_rows(buf, table: ShardTable, base: int, rows: np.ndarray) -> np.ndarray:
    """Mask of ``rows`` of ``table`` (whose record starts at ``base`` in ``buf``)
    whose vectors pass their checksum: one CRC over the matrix when it is intact,
    row by row otherwise."""
    start = base + HEADER_BYTES + table.n * (KEY_BYTES + 4)
    matrix = memoryview(buf)[start : start + table.n * table.dim * 4]
    if zlib.crc32(matrix) == table.matrix_crc:
        return np.ones(len(rows), bool)
    vectors = np.frombuffer(matrix, "<f4").reshape(table.n, table.dim)
    return row_crcs(vectors[rows]) == table.crcs[rows]


def matrix(buf, table: ShardTable, base: int) -> np.ndarray:
    """The (n, d) float32 matrix of the record at ``base`` in ``buf`` (a view)."""
    start = base + HEADER_BYTES + table.n * (KEY_BYTES + 4)
    return np.frombuffer(buf, "<f4", count=table.n * table.dim, offset=start).reshape(
        table.n, table.dim
    )
