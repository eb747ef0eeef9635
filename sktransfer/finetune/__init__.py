"""Estimators that train: a head on a pretrained backbone, optionally its last blocks too."""

from typing import TYPE_CHECKING

from .._lazy import lazy_names

_WHERE = {
    "ImageClassifier": "._image",
    "ImageRegressor": "._image",
    "SetFitClassifier": "._setfit",
    "TextClassifier": "._text",
    "TextRegressor": "._text",
}
if TYPE_CHECKING:  # what the names are, for type checkers and the API docs
    from ._image import ImageClassifier, ImageRegressor
    from ._setfit import SetFitClassifier
    from ._text import TextClassifier, TextRegressor

__getattr__, __dir__ = lazy_names(__name__, _WHERE)

__all__ = [
    "ImageClassifier",
    "ImageRegressor",
    "SetFitClassifier",
    "TextClassifier",
    "TextRegressor",
]
