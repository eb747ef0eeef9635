"""Image rows: validation up front, decoding lazily, one batch at a time.

A row is a file path (``str`` / ``os.PathLike``), the encoded bytes of a file,
a ``PIL.Image``, or one image as an array (``H×W``, ``H×W×1``, ``H×W×3`` or
``H×W×4``). A numeric array ``X`` is a batch: ``N×H×W×C`` colour (C of 1, 3 or
4), or ``N×H×W`` grayscale. Every image becomes 8-bit RGB.

This module checks rows cheaply, without decoding them; :mod:`._image_decode`
decodes them, :mod:`._image_dataset` does so lazily for a ``DataLoader`` and
:mod:`._image_key` names a row by its content.

Shapes are never guessed. A 3-D ``X`` whose last axis is 1, 3 or 4 could be one
``H×W×C`` image or a stack of grey images that narrow, so it is an error that
says how to pass either: one image as a list, ``[img]``, or as a batch of one,
``img[None]``; grey images as ``X[..., None]`` (``N×H×W×1``) or a list of
``H×W`` arrays, ``list(X)``. Any other 3-D ``X`` is ``N×H×W`` grayscale.

Pixel conventions: one rule per type, applied to the whole input, never
guessed from an image's values.

Arrays, by dtype:

* ``uint8``: 0..255, as is.
* ``uint16``: 0..65535, scaled by 255/65535 (16-bit files follow the same rule).
* ``bool``: False/True become 0/255.
* other integers (``int8`` … ``int64``, ``uint32``, ``uint64``): must lie in
  0..255, else an error naming the row and the range found.
* floats: must lie in 0..1 (up to half an 8-bit step outside, which rounds to
  0 or 255) and are scaled by 255. Values outside are an error naming the row,
  the range found and the fix (divide by 255, undo a mean/std normalisation, or
  clip); NaN or infinity is an error naming the row.

A batch ``X`` is checked as a whole in :func:`image_rows` (one minimum and one
maximum per image), so the first bad row is named before anything is decoded.
One channel is grey, three are RGB, four are RGBA.

Pillow modes (files, bytes and ``PIL.Image`` rows):

* ``RGB`` as is; ``1``, ``L``, ``P``, ``CMYK``, ``YCbCr``, ``LAB``, ``HSV`` and
  ``RGBX`` through Pillow's own conversion to RGB.
* Transparency (``RGBA``, ``RGBa``, ``LA``, ``La``, ``PA``, ``P`` with a
  transparent colour, four-channel arrays): composited on white, so a
  transparent pixel is white whatever colour it hides.
* ``I;16``, ``I;16L``, ``I;16B``, ``I;16N`` and ``I`` (where Pillow keeps 16-bit
  greyscale; older Pillow opens 16-bit PNGs as ``I``): the ``uint16`` rule;
  ``I`` values outside 0..65535 are an error.
* ``F`` (32-bit float): the float rule, 0..1, else an error.
* Any other mode: Pillow's conversion to RGB, or an error naming the row.

Files, bytes and ``PIL.Image`` rows are turned upright by their EXIF
orientation tag, as a photo viewer shows them. An animated file (GIF, WebP,
APNG) or a multi-page TIFF gives its first frame. Files are closed once decoded.

Sizes: a file's size is read from its header before its pixels are decoded,
and more than ``max_pixels`` pixels (default 89,478,485, Pillow's own limit) is
an error naming the row, the size and the parameter to raise; Pillow's guard
``PIL.Image.MAX_IMAGE_PIXELS`` is left as it is (it refuses files over twice
its value). An image with a side of 0 pixels is an error, and so is one longer
than 1000 times its width (or the reverse): resizing its short side to the
model's input would make the long side hundreds of thousands of pixels. Any
other size, 1×1 included, is resized by the model's preprocessing.
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from ..exceptions import DataError, ParameterError, RowError
from ._rows import Rows, is_missing, to_rows

_CHANNELS = (1, 3, 4)
MAX_PIXELS = 89_478_485  # Pillow's default Image.MAX_IMAGE_PIXELS
MAX_ASPECT = 1000
_SLACK = 0.5 / 255  # half an 8-bit step: float values this close to 0..1 round into it


def image_rows(X, *, check_each: bool = True) -> Rows:
    """Rows of ``X`` checked cheaply (types, shapes, pixel ranges, files exist);
    not decoded. ``check_each=False``: only ``X`` as a whole is checked (see
    :func:`check_image_row` for each row)."""
    if type(X).__module__.split(".")[0] == "torch":
        raise TypeError(
            f"X is a {type(X).__name__}; pass images as a numpy array of pixels, e.g. "
            "X.permute(0, 2, 3, 1).cpu().numpy() for an N×C×H×W tensor (undo any "
            "normalisation first), or as a list of files."
        )
    batch = isinstance(X, np.ndarray) and X.dtype.kind in "uifb"
    if batch:
        _check_batch(X, values=check_each)
    rows = to_rows(X, what="images", single_types=(str, bytes, os.PathLike, Image.Image))
    if len(rows) == 0:
        raise DataError("X holds no images: at least one row is needed.")
    if batch or not check_each:  # a batch was checked as a whole above
        return rows
    for i, value in enumerate(rows.values):
        _check_row(value, rows.name(i))
    return rows


def _check_batch(X: np.ndarray, values: bool = True) -> None:
    if X.ndim == 2:
        side = _square_side(X.shape[1])
        raise DataError(
            f"X is a 2-D numeric array of shape {X.shape}: that reads as flattened "
            f"pixels, not images. Reshape it to (N, H, W) or (N, H, W, C) first, "
            f"e.g. X.reshape(-1, {side}, {side})."
            if side
            else f"X is a 2-D numeric array of shape {X.shape}; pass images as "
            "(N, H, W) or (N, H, W, C)."
        )
    if X.ndim not in (3, 4):
        raise DataError(
            f"X is a {X.ndim}-D numeric array of shape {X.shape}; a batch of images "
            "is (N, H, W) or (N, H, W, C)."
        )
    if X.ndim == 3 and X.shape[-1] in _CHANNELS:
        n, c = X.shape[0], X.shape[-1]
        s = "s" if c > 1 else ""
        raise DataError(
            f"X is a 3-D array of shape {X.shape}: one H×W×C image with {c} channel{s}, "
            f"or {n} grey images (N×H×W) {c} pixel{s} wide? Shapes are not guessed. "
            "Pass one image as a list, [img], or as a batch of one, img[None]; pass "
            "grey images as X[..., None] (N×H×W×1) or as a list, list(X)."
        )
    if X.ndim == 4 and X.shape[-1] not in _CHANNELS:
        raise DataError(
            f"X has shape {X.shape}: its last axis ({X.shape[-1]}) is not a channel "
            "count of 1, 3 or 4. If it is channels-first (N×C×H×W), pass "
            "np.moveaxis(X, 1, -1)."
        )
    if len(X) == 0 or not values:
        return
    _check_size((X.shape[2], X.shape[1]), "X", what="every ")
    bad = _bad_rows(X.reshape(len(X), -1))
    if bad.any():
        i = int(np.argmax(bad))
        _check_values(X[i], f"row {i}")


def _bad_rows(flat: np.ndarray) -> np.ndarray:
    """Per row of ``flat`` (one image per row): whether its values break the
    rule of its dtype: two reductions per image."""
    kind, size = flat.dtype.kind, flat.dtype.itemsize
    if kind == "b" or (kind == "u" and size <= 2):
        return np.zeros(len(flat), dtype=bool)
    lo, hi = flat.min(axis=1), flat.max(axis=1)
    if kind == "f":
        finite = np.isfinite(lo) & np.isfinite(hi)  # NaN reaches both; inf one
        return ~finite | (lo < -_SLACK) | (hi > 1 + _SLACK)
    return (lo < 0) | (hi > 255)


def _check_values(arr: np.ndarray, name: str) -> None:
    """Raise if the pixel values of one image break the rule of its dtype."""
    if not _bad_rows(arr.reshape(1, -1))[0]:
        return
    if arr.dtype.kind == "f":
        finite = np.isfinite(arr)
        if not finite.all():
            what = "NaN" if np.isnan(arr).any() else "infinite"
            raise RowError(
                f"{name}: the image holds {what} values ({int((~finite).sum())} of "
                f"{arr.size}). Fix or drop the image, e.g. np.nan_to_num(img, nan=0.0, "
                "posinf=1.0, neginf=0.0) if black and white are what they mean."
            )
        lo, hi = float(arr.min()), float(arr.max())
        if lo >= 0 and hi <= 255:
            fix = "they look like 0..255 values: divide by 255 (img / 255)"
        elif lo < 0:
            fix = (
                "negative values look like a normalised image: undo the "
                "normalisation (img * std + mean)"
            )
        else:
            fix = "rescale them to 0..1"
        raise RowError(
            f"{name}: float pixel values range from {lo:.4g} to {hi:.4g}, outside "
            f"0..1, the range for float images; {fix}, or clip small overshoots "
            "with np.clip(img, 0, 1)."
        )
    lo, hi = int(arr.min()), int(arr.max())
    raise RowError(
        f"{name}: {arr.dtype} pixel values range from {lo} to {hi}, outside 0..255, "
        "the range for integer images other than uint16. Convert them, e.g. "
        "np.clip(img, 0, 255).astype(np.uint8), or pass 16-bit data as uint16 "
        "(0..65535)."
    )


def _check_size(size: tuple[int, int], name: str, max_pixels=None, what="") -> None:
    """Raise for an image of ``size`` (width, height) that cannot be embedded."""
    w, h = size
    if w == 0 or h == 0:
        raise RowError(f"{name}: {what}image is empty ({w}×{h} pixels); drop it.")
    if max(w, h) > MAX_ASPECT * min(w, h):
        raise RowError(
            f"{name}: {what}image is {w}×{h} pixels, more than {MAX_ASPECT} times longer "
            "than wide; resizing its short side to the model's input would make "
            "the long side hundreds of thousands of pixels. Crop it or pad it "
            "closer to a square first, e.g. PIL.ImageOps.pad(img, (side, side))."
        )
    if max_pixels is not None and w * h > max_pixels:
        raise RowError(
            f"{name}: {what}image is {w}×{h} = {w * h:,} pixels, more than "
            f"max_pixels={max_pixels:,} (a guard against decompression bombs). If "
            "you trust the file, raise the limit, e.g. "
            f"ImageEmbedder(max_pixels={_round_up(w * h)}), or pass max_pixels=None."
        )


def _round_up(n: int) -> str:
    step = 10 ** (len(str(n)) - 1)
    return f"{-(-n // step) * step:_}"


def check_max_pixels(max_pixels) -> None:
    """Raise if ``max_pixels`` is neither a positive int nor None."""
    if max_pixels is None:
        return
    if isinstance(max_pixels, (bool, np.bool_)) or not isinstance(max_pixels, (int, np.integer)):
        raise ParameterError("max_pixels", max_pixels, "use a positive int or None.")
    if max_pixels < 1:
        raise ParameterError("max_pixels", max_pixels, "use a positive int or None.")


def _square_side(n: int) -> int | None:
    side = round(n**0.5)
    return side if side * side == n else None


def _check_row(value, name: str) -> None:
    if isinstance(value, (str, os.PathLike)):
        if not os.path.isfile(value):
            why = "it is a directory" if os.path.isdir(value) else "file not found"
            raise RowError(
                f"{name}: cannot open {os.fspath(value)!r} ({why}). Check the path; "
                "relative paths are taken from the current directory "
                f"{os.getcwd()!r}."
            )
    elif isinstance(value, (bytes, bytearray, memoryview)):
        if len(value) == 0:
            raise RowError(f"{name}: got empty bytes where an image file was expected.")
    elif isinstance(value, Image.Image):
        _check_open(value, name)
        _check_size(value.size, name)
    elif isinstance(value, np.ndarray):
        _check_array(value, name)
    elif is_missing(value):
        raise RowError(
            f"{name}: image is missing ({value!r}). Drop the row or fill in a path first."
        )
    elif type(value).__module__.split(".")[0] == "torch":
        raise RowError(
            f"{name}: cannot read an image from a {type(value).__name__}; pass a numpy "
            "array of pixels, e.g. img.permute(1, 2, 0).cpu().numpy() for a C×H×W "
            "tensor (undo any normalisation first)."
        )
    else:
        raise RowError(
            f"{name}: cannot read an image from a {type(value).__name__}; pass a file "
            "path, bytes, a PIL.Image or a numpy array."
        )


def _check_open(img: Image.Image, name: str) -> None:
    """Raise naming the row if ``img`` was closed (its pixels are gone)."""
    # Closing replaces the pixel store with a stand-in that raises on any use. An
    # image opened lazily has none yet: its file is decoded on first use, so the
    # file must still be open (a `with Image.open(...)` block closes only the file).
    state = vars(img)
    core = state.get("_im", state.get("im"))
    try:
        getattr(core, "mode", None)
        closed = core is None and bool(getattr(img, "tile", None)) and getattr(img, "fp", 1) is None
    except ValueError:
        closed = True
    if closed:
        raise RowError(
            f"{name}: this PIL.Image is closed (img.close() was called, or the `with "
            "Image.open(...)` block around it ended), so its pixels are gone. Pass it "
            "before closing it, a copy made while it is open (img.copy()), or its file "
            "path."
        )


def _check_array(value: np.ndarray, name: str) -> None:
    if value.dtype.kind not in "uifb":
        raise RowError(
            f"{name}: an image array must hold bool, integer or float pixels, got "
            f"dtype {value.dtype}."
        )
    if value.ndim == 3 and value.shape[-1] not in _CHANNELS:
        raise RowError(
            f"{name}: array of shape {value.shape} is not H×W×C with C in 1, 3 or 4. "
            "If it is channels-first (C×H×W), pass np.moveaxis(img, 0, -1)."
        )
    if value.ndim not in (2, 3):
        raise RowError(
            f"{name}: got a {value.ndim}-D array of shape {value.shape} where one "
            "image (H×W or H×W×C) was expected. Pass a batch as X itself, not as "
            "a row, or split it into one image per row."
        )
    _check_size((value.shape[1], value.shape[0]), name)
    _check_values(value, name)
