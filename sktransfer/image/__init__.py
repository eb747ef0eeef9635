"""Image encoders, and the raw-pixel baseline they are compared with."""

from typing import TYPE_CHECKING

from .._lazy import lazy_names

_WHERE = {
    "ImageBackbone": "._backbone",
    "ImageEmbedder": "._embedder",
    "PixelFeatures": "._pixels",
}
if TYPE_CHECKING:  # what the names are, for type checkers and the API docs
    from ._backbone import ImageBackbone
    from ._embedder import ImageEmbedder
    from ._pixels import PixelFeatures

__getattr__, __dir__ = lazy_names(__name__, _WHERE)

__all__ = [
    "ImageBackbone",
    "ImageEmbedder",
    "PixelFeatures",
]
