"""Estimators that train: a head on a pretrained backbone, optionally its last blocks too."""

from ._presets import (
    ImageClassifier,
    ImageRegressor,
    SetFitClassifier,
    TextClassifier,
    TextRegressor,
)

__all__ = [
    "ImageClassifier",
    "ImageRegressor",
    "SetFitClassifier",
    "TextClassifier",
    "TextRegressor",
]
