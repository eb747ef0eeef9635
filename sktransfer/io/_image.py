"""Image rows: validation up front, decoding lazily, one batch at a time.

A row is a file path (``str`` / ``os.PathLike``), the encoded bytes of a file,
a ``PIL.Image``, or one image as an array (``H×W``, ``H×W×1``, ``H×W×3`` or
``H×W×4``). A numeric array ``X`` is a batch: ``N×H×W×C`` colour (C of 1, 3 or
4), or ``N×H×W`` grayscale. Every image becomes 8-bit RGB.

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

import hashlib
import io
import os
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..exceptions import DataError, ParameterError, RowError
from ._rows import Rows, is_missing, to_rows

_CHANNELS = (1, 3, 4)
MAX_PIXELS = 89_478_485  # Pillow's default Image.MAX_IMAGE_PIXELS
MAX_ASPECT = 1000
_SLACK = 0.5 / 255  # half an 8-bit step: float values this close to 0..1 round into it
_SIXTEEN_BIT = ("I;16", "I;16L", "I;16B", "I;16N", "I")
_ALPHA = ("RGBA", "RGBa", "LA", "La", "PA")
_ORIENTATION = 0x0112  # the EXIF tag


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


def check_image_row(value, name: str, max_pixels: int | None = MAX_PIXELS) -> None:
    """Raise ``ValueError`` / ``TypeError`` naming the row unless ``value`` decodes
    to an image by the module's rules (it is decoded once to find out)."""
    _check_row(value, name)
    load_rgb(value, name, max_pixels).close()


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


class ImageDataset:
    """Map-style dataset: row ``i`` decoded and preprocessed on demand.

    Used with a ``torch.utils.data.DataLoader`` so that decoding runs in worker
    processes while the model computes the previous batch. A bad row raises a
    ``ValueError`` naming it, in a worker process as in the main one.
    """

    def __init__(self, rows: Rows, preprocess, positions=None, max_pixels=MAX_PIXELS):
        self.rows = rows
        self.preprocess = preprocess
        self.positions = list(range(len(rows))) if positions is None else list(positions)
        self.max_pixels = max_pixels

    @property
    def decodes(self) -> bool:
        """Whether some row is a file or encoded bytes, which loader workers
        could decode while the model runs; arrays and PIL images are decoded
        already."""
        values = self.rows.values
        if isinstance(values, np.ndarray) and values.dtype != object:
            return False
        return not all(isinstance(values[i], (np.ndarray, Image.Image)) for i in self.positions)

    def __len__(self) -> int:
        return len(self.positions)

    def __getitem__(self, k: int):
        i = self.positions[k]
        name = self.rows.name(i)
        try:
            img = load_rgb(self.rows.values[i], name, self.max_pixels)
            try:
                return self.preprocess(img)
            except Exception as exc:
                raise RowError(
                    f"{name}: the model's preprocessing failed on this "
                    f"{img.width}×{img.height} image ({type(exc).__name__}: {exc})."
                ) from exc
        except ValueError as exc:
            if _in_worker():
                raise RowError(str(exc)) from None
            raise


def _in_worker() -> bool:
    from torch.utils.data import get_worker_info

    return get_worker_info() is not None


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
        h = hashlib.sha256()
        for part in (
            palette.mode.encode() if palette is not None else b"",
            _palette_bytes(value),
            repr(value.info.get("transparency")).encode(),
            b"orientation:%d" % _orientation(value),
            value.tobytes(),
        ):
            h.update(len(part).to_bytes(8, "little"))
            h.update(part)
        return f"pil:{value.mode}:{value.size}:".encode() + h.digest()
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
