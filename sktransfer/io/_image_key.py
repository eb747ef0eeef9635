"""The bytes that name an image row's content: the key of its cached embedding."""

from __future__ import annotations

import hashlib
import os

import numpy as np
from PIL import Image

from .._cache._keys import digest
from ._image_decode import _orientation


def image_row_key(value) -> bytes:
    """Bytes that identify an (already checked) image row's content.

    A file is identified by its bytes, not its path: editing the file at the
    same path changes the key. Reading a file to hash it is far cheaper than
    decoding and embedding it.
    """
    if isinstance(value, (str, os.PathLike)):
        with open(value, "rb") as f:
            return b"file:" + hashlib.sha256(f.read()).digest()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return b"file:" + hashlib.sha256(bytes(value)).digest()
    if isinstance(value, Image.Image):
        # Everything the decoded picture depends on: a palette image's colours
        # live in its palette, a transparent index turns to white, and the
        # EXIF orientation turns the pixels upright (the same pixels under
        # another orientation are another picture).
        palette = value.palette
        parts = digest(
            palette.mode.encode() if palette is not None else b"",
            _palette_bytes(value),
            repr(value.info.get("transparency")).encode(),
            b"orientation:%d" % _orientation(value),
            value.tobytes(),
        )
        return f"pil:{value.mode}:{value.size}:".encode() + bytes.fromhex(parts)
    arr = np.ascontiguousarray(value)
    head = f"array:{arr.dtype.str}:{arr.shape}:".encode()
    return head + hashlib.sha256(arr.tobytes()).digest()


def _palette_bytes(img: Image.Image) -> bytes:
    """The palette of ``img`` in its own mode: with the alpha of an RGBA palette,
    which decides what a transparent index composites to."""
    palette = img.palette
    if palette is None:
        return b""
    try:
        return bytes(img.getpalette(palette.mode) or [])
    except ValueError:  # a palette mode Pillow cannot give back as is
        return bytes(img.getpalette() or [])
