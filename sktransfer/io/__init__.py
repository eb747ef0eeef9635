"""Input handling: turn user collections into validated rows, decode lazily."""

from ..exceptions import RowError
from ._image import MAX_PIXELS, check_max_pixels, image_rows
from ._image_dataset import ImageDataset
from ._image_decode import check_image_row, load_rgb
from ._image_key import image_row_key
from ._rows import Rows, failure, split_usable, to_rows
from ._text import check_text_row, count_truncated, text_row_key, text_rows, truncation_message

__all__ = [
    "MAX_PIXELS",
    "ImageDataset",
    "RowError",
    "Rows",
    "check_image_row",
    "check_max_pixels",
    "check_text_row",
    "count_truncated",
    "failure",
    "image_row_key",
    "image_rows",
    "load_rgb",
    "split_usable",
    "text_row_key",
    "text_rows",
    "to_rows",
    "truncation_message",
]
