"""Text embedders."""

from typing import TYPE_CHECKING

from .._lazy import lazy_names

_WHERE = {
    "StaticClassifier": "._static_classifier",
    "StaticEmbedder": "._static",
    "TextEmbedder": "._sentence",
    "WordVectorEmbedder": "._words",
    "distill_static": "._distill",
}
if TYPE_CHECKING:  # what the names are, for type checkers and the API docs
    from ._distill import distill_static
    from ._sentence import TextEmbedder
    from ._static import StaticEmbedder
    from ._static_classifier import StaticClassifier
    from ._words import WordVectorEmbedder

__getattr__, __dir__ = lazy_names(__name__, _WHERE)

__all__ = [
    "StaticClassifier",
    "StaticEmbedder",
    "TextEmbedder",
    "WordVectorEmbedder",
    "distill_static",
]
