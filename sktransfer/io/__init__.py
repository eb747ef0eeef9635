"""Input handling: turn user collections into validated rows, decode lazily."""

from ._image import ImageDataset, image_row_key, image_rows, load_rgb
from ._rows import Rows, to_rows
from ._text import text_row_key, text_rows

__all__ = [
    "ImageDataset",
    "Rows",
    "image_row_key",
    "image_rows",
    "load_rgb",
    "text_row_key",
    "text_rows",
    "to_rows",
]
