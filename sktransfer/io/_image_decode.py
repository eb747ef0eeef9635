"""Decoding one image row into an 8-bit RGB ``PIL.Image``, by the rules in
:mod:`._image` (pixel conventions, Pillow modes, EXIF orientation, sizes)."""

from __future__ import annotations

import io
import os
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..exceptions import RowError
from ._image import MAX_PIXELS, _check_array, _check_open, _check_row, _check_size, _check_values

_SIXTEEN_BIT = ("I;16", "I;16L", "I;16B", "I;16N", "I")
_ALPHA = ("RGBA", "RGBa", "LA", "La", "PA")
_ORIENTATION = 0x0112  # the EXIF tag


def load_rgb(value, name: str, max_pixels: int | None = MAX_PIXELS) -> Image.Image:
    """Decode one row into an 8-bit RGB ``PIL.Image`` by the module's rules.

    ``max_pixels`` limits files and bytes, read from their header before
    decoding; ``None`` is no limit.
    """
    if isinstance(value, Image.Image):
        _check_open(value, name)
        _check_size(value.size, name)
        return _to_rgb(_upright(value), name)
    if isinstance(value, np.ndarray):
        _check_array(value, name)
        return _array_to_rgb(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _decode(io.BytesIO(bytes(value)), name, "these bytes", max_pixels)
    what = repr(os.fspath(value))
    try:
        with open(value, "rb") as f:
            return _decode(f, name, what, max_pixels)
    except FileNotFoundError as exc:
        raise RowError(f"{name}: cannot open {what} (file not found).") from exc
    except IsADirectoryError as exc:
        raise RowError(f"{name}: cannot open {what} (it is a directory).") from exc
    except PermissionError as exc:
        raise RowError(f"{name}: cannot open {what} (permission denied).") from exc


def check_image_row(value, name: str, max_pixels: int | None = MAX_PIXELS) -> None:
    """Raise ``ValueError`` / ``TypeError`` naming the row unless ``value`` decodes
    to an image by the module's rules (it is decoded once to find out)."""
    _check_row(value, name)
    load_rgb(value, name, max_pixels).close()


def _decode(f, name: str, what: str, max_pixels) -> Image.Image:
    """Open ``f`` (the file stays the caller's to close), check the size from
    the header, decode the first frame, and convert."""
    try:
        with warnings.catch_warnings():
            # The size is checked against max_pixels below, with the row named.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(f)
    except Image.DecompressionBombError as exc:
        raise RowError(
            f"{name}: Pillow refuses to open {what}: {exc} This is Pillow's own "
            "guard, PIL.Image.MAX_IMAGE_PIXELS, which refuses images over twice its "
            "value before max_pixels is looked at; if you trust the file, raise it "
            "too, e.g. PIL.Image.MAX_IMAGE_PIXELS = None."
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise _cannot_decode(name, what, exc) from exc
    _check_size(img.size, name, max_pixels, "" if what == "these bytes" else f"{what}: ")
    try:
        img.load()  # the first frame of an animation
    except Exception as exc:  # any failure to decode is this row's fault
        raise _cannot_decode(name, what, exc) from exc
    return _to_rgb(_upright(img), name)


def _cannot_decode(name: str, what: str, exc: Exception) -> RowError:
    return RowError(
        f"{name}: cannot decode {what} as an image ({type(exc).__name__}: {exc}). "
        "Check that the file is a JPEG, PNG or another format Pillow reads, and "
        "that it is complete."
    )


def _orientation(img: Image.Image) -> int:
    """The EXIF orientation ``img`` is turned by when decoded: 2..8, or 1 (as
    stored) for no tag or a value outside 1..8. Pillow reads it from the EXIF
    block or, failing that, from the XMP packet."""
    value = img.getexif().get(_ORIENTATION, 1)
    return value if value in (2, 3, 4, 5, 6, 7, 8) else 1


def _upright(img: Image.Image) -> Image.Image:
    """``img`` turned by its EXIF orientation tag, if it has one."""
    if _orientation(img) != 1:
        return ImageOps.exif_transpose(img)
    return img


def _to_rgb(img: Image.Image, name: str) -> Image.Image:
    mode = img.mode
    if mode == "RGB":
        return img
    if mode in _SIXTEEN_BIT:
        arr = np.asarray(img)
        if mode == "I":
            lo, hi = int(arr.min()), int(arr.max())
            if lo < 0 or hi > 65535:
                raise RowError(
                    f"{name}: a 32-bit integer (mode I) image is read as 16-bit, "
                    f"0..65535, but its values range from {lo} to {hi}. Convert it "
                    "yourself, e.g. to mode L or to a uint8 array."
                )
        return _array_to_rgb(arr.astype(np.uint16))
    if mode == "F":
        arr = np.asarray(img)
        _check_values(arr, f"{name} (a mode F image)")
        return _array_to_rgb(arr)
    if mode in _ALPHA or (mode == "P" and "transparency" in img.info):
        return _on_white(img.convert("LA") if mode == "La" else img)
    try:
        return img.convert("RGB")
    except (ValueError, OSError) as exc:
        raise RowError(
            f"{name}: cannot convert a mode {mode} image to RGB ({exc}). Convert it "
            "yourself first, e.g. img.convert('RGB') on a supported mode."
        ) from exc


def _on_white(img: Image.Image) -> Image.Image:
    """Transparent pixels become white rather than whatever colour they hide."""
    rgba = img.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _array_to_rgb(arr: np.ndarray) -> Image.Image:
    """An already checked array as RGB, by the rule of its dtype."""
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    img = Image.fromarray(np.ascontiguousarray(_to_uint8(arr)))
    return _on_white(img) if img.mode == "RGBA" else img.convert("RGB")


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    kind, size = arr.dtype.kind, arr.dtype.itemsize
    if kind == "u" and size == 1:
        return arr
    if kind == "b":
        return arr.astype(np.uint8) * 255
    if kind == "u" and size == 2:
        return np.round(arr / 257.0).astype(np.uint8)  # 255/65535 == 1/257
    if kind == "f":
        scaled = np.clip(arr.astype(np.float32, copy=False), 0.0, 1.0) * 255.0
        return np.round(scaled).astype(np.uint8)
    return arr.astype(np.uint8)  # other integers, checked to lie in 0..255
