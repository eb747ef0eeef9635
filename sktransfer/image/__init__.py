"""Image encoders."""

from ._backbones import ImageBackbone
from ._embedder import ImageEmbedder

__all__ = ["ImageBackbone", "ImageEmbedder"]
