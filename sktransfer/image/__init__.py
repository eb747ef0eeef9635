"""Image embedders, and the raw-pixel baseline they are compared with."""

from typing import TYPE_CHECKING

from .._lazy import lazy_names

_WHERE = {
    "ImageBackbone": "._backbone",
    "ImageEmbedder": "._embedder",
    "PixelFeatures": "._pixels",
    # what fine-tuning runs images through: a fitted embedder's decoding and loop
    "decoded_rows": "._embedder",
    "run_module": "._embedder",
}
if TYPE_CHECKING:  # what the names are, for type checkers and the API docs
    from ._backbone import ImageBackbone
    from ._embedder import ImageEmbedder, decoded_rows, run_module
    from ._pixels import PixelFeatures

__getattr__, __dir__ = lazy_names(__name__, _WHERE)

__all__ = [
    "ImageBackbone",
    "ImageEmbedder",
    "PixelFeatures",
    "decoded_rows",
    "run_module",
]
