"""Fusion of several backbones: early (concatenated, balanced blocks) and late
(stacked per-backbone heads)."""

from typing import TYPE_CHECKING

from .._lazy import lazy_names

_WHERE = {
    "FusedEmbedder": "._early",
    "LateFusionClassifier": "._late",
    "make_late_fusion": "._late",
}
if TYPE_CHECKING:  # what the names are, for type checkers and the API docs
    from ._early import FusedEmbedder
    from ._late import LateFusionClassifier, make_late_fusion

__getattr__, __dir__ = lazy_names(__name__, _WHERE)

__all__ = ["FusedEmbedder", "LateFusionClassifier", "make_late_fusion"]
