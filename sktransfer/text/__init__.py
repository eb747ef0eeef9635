"""Text encoders."""

from ._sentence import TextEmbedder

__all__ = ["TextEmbedder"]
