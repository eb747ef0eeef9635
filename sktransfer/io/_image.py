"""Image rows: validation up front, decoding lazily, one batch at a time.

A row is a file path (``str`` / ``os.PathLike``), the encoded bytes of a file,
a ``PIL.Image``, or one image as an array (``H×W``, ``H×W×1``, ``H×W×3`` or
``H×W×4``; uint8 in 0..255, float in 0..1, or bool). A numeric array ``X`` is a
batch: ``N×H×W`` grayscale or ``N×H×W×C`` colour. Every image becomes RGB.
"""

from __future__ import annotations

import hashlib
import io
import os

import numpy as np
from PIL import Image, UnidentifiedImageError

from ._rows import Rows, is_missing, to_rows

_CHANNELS = (1, 3, 4)


def image_rows(X) -> Rows:
    """Rows of ``X`` checked cheaply (types, shapes, files exist); not decoded."""
    if isinstance(X, np.ndarray) and X.dtype.kind in "uifb":
        if X.ndim == 2:
            raise ValueError(
                f"X is a 2-D numeric array of shape {X.shape}: that reads as flattened "
                "pixels, not images. Reshape it to (N, H, W) or (N, H, W, C) first, "
                f"e.g. X.reshape(-1, {_square_side(X.shape[1])}, "
                f"{_square_side(X.shape[1])})."
                if _square_side(X.shape[1])
                else f"X is a 2-D numeric array of shape {X.shape}; pass images as "
                "(N, H, W) or (N, H, W, C)."
            )
        if X.ndim not in (3, 4):
            raise ValueError(
                f"X is a {X.ndim}-D numeric array of shape {X.shape}; a batch of images "
                "is (N, H, W) or (N, H, W, C)."
            )
    rows = to_rows(X, what="images", single_types=(str, bytes, os.PathLike, Image.Image))
    if len(rows) == 0:
        raise ValueError("X holds no images: at least one row is needed.")
    for i, value in enumerate(rows.values):
        _check_row(value, rows.name(i))
    return rows


def _square_side(n: int) -> int | None:
    side = round(n**0.5)
    return side if side * side == n else None


def _check_row(value, name: str) -> None:
    if isinstance(value, (str, os.PathLike)):
        if not os.path.isfile(value):
            why = "it is a directory" if os.path.isdir(value) else "file not found"
            raise ValueError(
                f"{name}: cannot open {os.fspath(value)!r} ({why}). Check the path; "
                "relative paths are taken from the current directory "
                f"{os.getcwd()!r}."
            )
    elif isinstance(value, (bytes, bytearray, memoryview, Image.Image)):
        return
    elif isinstance(value, np.ndarray):
        if value.dtype.kind not in "uifb":
            raise TypeError(f"{name}: an image array must be numeric, got dtype {value.dtype}.")
        if value.ndim == 3 and value.shape[-1] not in _CHANNELS:
            raise ValueError(
                f"{name}: array of shape {value.shape} is not H×W×C with C in 1, 3 or 4. "
                "If it is channels-first (C×H×W), pass np.moveaxis(img, 0, -1)."
            )
        if value.ndim not in (2, 3):
            raise ValueError(
                f"{name}: got a {value.ndim}-D array of shape {value.shape} where one "
                "image (H×W or H×W×C) was expected. Pass a batch as X itself, not as "
                "a row, or split it into one image per row."
            )
    elif is_missing(value):
        raise ValueError(
            f"{name}: image is missing ({value!r}). Drop the row or fill in a path first."
        )
    else:
        raise TypeError(
            f"{name}: cannot read an image from a {type(value).__name__}; pass a file "
            "path, bytes, a PIL.Image or a numpy array."
        )


def load_rgb(value, name: str) -> Image.Image:
    """Decode one (already checked) row into an RGB ``PIL.Image``."""
    if isinstance(value, Image.Image):
        img = value
    elif isinstance(value, np.ndarray):
        img = Image.fromarray(_to_uint8(value))
    else:
        source = (
            io.BytesIO(bytes(value)) if isinstance(value, (bytes, bytearray, memoryview)) else value
        )
        what = "these bytes" if isinstance(source, io.BytesIO) else repr(os.fspath(value))
        try:
            img = Image.open(source)
            img.load()
        except FileNotFoundError as exc:
            raise ValueError(f"{name}: cannot open {what} (file not found).") from exc
        except (UnidentifiedImageError, OSError, SyntaxError) as exc:
            raise ValueError(
                f"{name}: cannot decode {what} as an image ({exc}). Check that the "
                "file is a JPEG, PNG or another format Pillow reads."
            ) from exc
    if img.mode == "RGB":
        return img
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        # Transparent pixels become white rather than whatever colour they hide.
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        peak = arr.max() or 1.0
        return Image.fromarray((arr / peak * 255).astype(np.uint8)).convert("RGB")
    return img.convert("RGB")


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype.kind == "b":
        return arr.astype(np.uint8) * 255
    if arr.dtype.kind == "f":
        finite = arr[np.isfinite(arr)]
        scale = 255.0 if finite.size and finite.max() <= 1.0 else 1.0
        return np.clip(np.nan_to_num(arr) * scale, 0, 255).round().astype(np.uint8)
    return np.clip(arr, 0, 255).astype(np.uint8)


class ImageDataset:
    """Map-style dataset: row ``i`` decoded and preprocessed on demand.

    Used with a ``torch.utils.data.DataLoader`` so that decoding runs in worker
    processes while the model computes the previous batch.
    """

    def __init__(self, rows: Rows, preprocess, positions=None):
        self.rows = rows
        self.preprocess = preprocess
        self.positions = list(range(len(rows))) if positions is None else list(positions)

    def __len__(self) -> int:
        return len(self.positions)

    def __getitem__(self, k: int):
        i = self.positions[k]
        return self.preprocess(load_rgb(self.rows.values[i], self.rows.name(i)))


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
        # The decoded picture: a palette image's colours live in its palette,
        # and a transparent index turns to white when decoded.
        palette = value.palette
        h = hashlib.sha256()
        for part in (
            palette.mode.encode() if palette is not None else b"",
            bytes(value.getpalette() or []),
            repr(value.info.get("transparency")).encode(),
            value.tobytes(),
        ):
            h.update(len(part).to_bytes(8, "little"))
            h.update(part)
        return f"pil:{value.mode}:{value.size}:".encode() + h.digest()
    arr = np.ascontiguousarray(value)
    head = f"array:{arr.dtype.str}:{arr.shape}:".encode()
    return head + hashlib.sha256(arr.tobytes()).digest()
