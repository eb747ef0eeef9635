"""Text encoders."""

from typing import TYPE_CHECKING

from .._lazy import lazy_names

_WHERE = {"TextEmbedder": "._sentence"}
if TYPE_CHECKING:  # what the names are, for type checkers and the API docs
    from ._sentence import TextEmbedder

__getattr__, __dir__ = lazy_names(__name__, _WHERE)

__all__ = [
    "TextEmbedder",
]
