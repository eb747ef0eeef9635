"""Estimators that train: a head on a pretrained backbone, optionally its last blocks too."""

from typing import TYPE_CHECKING

from .._lazy import lazy_names

_WHERE = {
    "ImageClassifier": "._presets",
    "ImageRegressor": "._presets",
    "SetFitClassifier": "._presets",
    "TextClassifier": "._presets",
    "TextRegressor": "._presets",
    "TransferClassifier": "._core",
    "TransferRegressor": "._core",
    # what sktransfer.distill trains a student with: soft targets from a teacher
    "fit_soft": "._soft",
    # what sktransfer.save and sktransfer.load call: a fitted net as arrays, and back
    "nets_as_data": "._saving",
    "nets_from_data": "._saving",
}
if TYPE_CHECKING:  # what the names are, for type checkers and the API docs
    from ._core import TransferClassifier, TransferRegressor
    from ._presets import (
        ImageClassifier,
        ImageRegressor,
        SetFitClassifier,
        TextClassifier,
        TextRegressor,
    )
    from ._saving import nets_as_data, nets_from_data
    from ._soft import fit_soft

__getattr__, __dir__ = lazy_names(__name__, _WHERE)

__all__ = [
    "ImageClassifier",
    "ImageRegressor",
    "SetFitClassifier",
    "TextClassifier",
    "TextRegressor",
    "TransferClassifier",
    "TransferRegressor",
    "fit_soft",
    "nets_as_data",
    "nets_from_data",
]
