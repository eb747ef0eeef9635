"""Image encoders, and the raw-pixel baseline they are compared with."""

from .._lazy import lazy_names

_WHERE = {
    "ImageBackbone": "._backbone",
    "ImageEmbedder": "._embedder",
    "PixelFeatures": "._pixels",
}
__getattr__, __dir__ = lazy_names(__name__, _WHERE)

__all__ = list(_WHERE)
