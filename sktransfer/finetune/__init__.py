"""Estimators that train: a head on a pretrained backbone, optionally its last blocks too."""

from typing import TYPE_CHECKING

from .._lazy import lazy_names

_WHERE = {
    "ImageClassifier": "._presets",
    "ImageRegressor": "._presets",
    "SetFitClassifier": "._presets",
    "TextClassifier": "._presets",
    "TextRegressor": "._presets",
}
if TYPE_CHECKING:  # what the names are, for type checkers and the API docs
    from ._presets import (
        ImageClassifier,
        ImageRegressor,
        SetFitClassifier,
        TextClassifier,
        TextRegressor,
    )

__getattr__, __dir__ = lazy_names(__name__, _WHERE)

__all__ = [
    "ImageClassifier",
    "ImageRegressor",
    "SetFitClassifier",
    "TextClassifier",
    "TextRegressor",
]
