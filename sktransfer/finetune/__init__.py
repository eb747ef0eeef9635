"""Estimators that train: a head on a pretrained backbone, optionally its last blocks too."""

from .._lazy import lazy_names

_WHERE = {
    "ImageClassifier": "._image",
    "ImageRegressor": "._image",
    "SetFitClassifier": "._setfit",
    "TextClassifier": "._text",
    "TextRegressor": "._text",
}
__getattr__, __dir__ = lazy_names(__name__, _WHERE)

__all__ = list(_WHERE)
