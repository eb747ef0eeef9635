"""One shard file: a batch of embeddings that describes and checks itself.

Layout (little-endian)::

    header  32 bytes   magic "SKTSHD02", rows n (u64), width d (u64),
                       CRC-32 of (n, d, keys, row CRCs) (u32),
                       CRC-32 of the whole matrix (u32: one check for a full read)
    keys    n x 32     the raw SHA-256 row keys
    crcs    n x 4      CRC-32 of each row's vector bytes
    matrix  n x d x 4  float32 vectors

A shard is written whole to a temporary name and renamed into place, so a
reader sees it complete or not at all; it is never modified afterwards. What
can still go wrong (a disk error, a truncated copy, a stray write) is caught by
the checksums: a bad table makes the whole shard unreadable, a bad row only
that row.
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass

import numpy as np

MAGIC = b"SKTSHD02"
_HEADER = struct.Struct("<8sQQII")
KEY_BYTES = 32
SUFFIX = ".shard"


class ShardError(ValueError):
    """A shard whose header or key table is unreadable or fails its checksum."""


@dataclass(frozen=True)
class ShardTable:
    """What a shard holds, read from its head: enough to index it."""

    n: int
    dim: int
    keys: np.ndarray  # (n, 32) uint8
    crcs: np.ndarray  # (n,) uint32
    size: int  # bytes the file should have
    matrix_crc: int = -1

    @property
    def matrix_offset(self) -> int:
        return _HEADER.size + self.n * (KEY_BYTES + 4)


def row_crcs(vectors: np.ndarray) -> np.ndarray:
    """CRC-32 of each row's bytes."""
    return np.fromiter((zlib.crc32(row) for row in vectors), np.uint32, len(vectors))


def _table_crc(n: int, dim: int, keys: bytes, crcs: bytes) -> int:
    return zlib.crc32(crcs, zlib.crc32(keys, zlib.crc32(struct.pack("<QQ", n, dim))))


def write(path: str, keys: list[str], vectors: np.ndarray) -> ShardTable:
    """Write a shard for hex ``keys`` and float32 ``vectors`` (n, d) atomically
    (temporary name, then rename); returns its table."""
    vectors = np.ascontiguousarray(vectors, dtype="<f4")
    n, dim = vectors.shape
    raw_keys = bytes.fromhex("".join(keys))
    if len(raw_keys) != n * KEY_BYTES:
        raise ValueError("every key must be a 64-character SHA-256 hex digest")
    crcs = row_crcs(vectors)
    crc_bytes = crcs.astype("<u4").tobytes()
    matrix_crc = zlib.crc32(vectors)
    header = _HEADER.pack(MAGIC, n, dim, _table_crc(n, dim, raw_keys, crc_bytes), matrix_crc)
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as f:
            for part in (header, raw_keys, crc_bytes, memoryview(vectors).cast("B")):
                f.write(part)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    keys_array = np.frombuffer(raw_keys, np.uint8).reshape(n, KEY_BYTES)
    size = _HEADER.size + n * (KEY_BYTES + 4 + dim * 4)
    return ShardTable(n, dim, keys_array, crcs, size, matrix_crc)


def read_table(f) -> ShardTable:
    """Read and check the header and key table of an open shard file."""
    head = f.read(_HEADER.size)
    if len(head) < _HEADER.size:
        raise ShardError("truncated header")
    magic, n, dim, crc, matrix_crc = _HEADER.unpack(head)
    if magic != MAGIC:
        raise ShardError("not a shard file")
    if n > 1 << 32 or dim > 1 << 24:
        raise ShardError(f"implausible size {n} x {dim}")
    raw_keys = f.read(n * KEY_BYTES)
    crcs = f.read(n * 4)
    if len(raw_keys) + len(crcs) < n * (KEY_BYTES + 4):
        raise ShardError("truncated key table")
    if _table_crc(n, dim, raw_keys, crcs) != crc:
        raise ShardError("key table checksum mismatch")
    keys = np.frombuffer(raw_keys, np.uint8).reshape(n, KEY_BYTES)
    size = _HEADER.size + n * (KEY_BYTES + 4) + n * dim * 4
    return ShardTable(n, dim, keys, np.frombuffer(crcs, "<u4"), size, matrix_crc)


def read_rows(f, table: ShardTable, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The vectors at ``rows`` (sorted) and a mask of those that pass their checksum.

    Rows past the end of a truncated file come back as failing.
    """
    dim = table.dim
    row_bytes = dim * 4
    out = np.zeros((len(rows), dim), np.float32)
    if len(rows) == 0:
        return out, np.zeros(0, bool)
    lo, hi = int(rows[0]), int(rows[-1]) + 1
    f.seek(table.matrix_offset + lo * row_bytes)
    span = bytearray((hi - lo) * row_bytes)  # read straight into a writable buffer
    whole = f.readinto(span) // row_bytes
    block = np.frombuffer(span, "<f4", count=whole * dim).reshape(whole, dim)
    local = rows - lo
    present = local < whole
    if present.all() and len(rows) == hi - lo:
        out = block  # every row of the span: no gather, no copy
        if len(rows) == table.n and zlib.crc32(span) == table.matrix_crc:
            return out, np.ones(len(rows), bool)  # the whole shard, intact: one check
    else:
        out[present] = block[local[present]]
    ok = (row_crcs(out) == table.crcs[rows]) & present
    return out, ok
