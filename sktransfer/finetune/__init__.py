"""Estimators that train: a head on a pretrained backbone, optionally its last blocks too."""

from ._image import ImageClassifier, ImageRegressor
from ._setfit import SetFitClassifier
from ._text import TextClassifier, TextRegressor

__all__ = [
    "ImageClassifier",
    "ImageRegressor",
    "SetFitClassifier",
    "TextClassifier",
    "TextRegressor",
]
