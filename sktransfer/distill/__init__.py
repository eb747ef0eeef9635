"""Knowledge distillation: a small, fast student trained on a fitted teacher's soft predictions."""

from typing import TYPE_CHECKING

from .._lazy import lazy_names

_WHERE = {"DistilledClassifier": "._distilled"}
if TYPE_CHECKING:  # what the names are, for type checkers and the API docs
    from ._distilled import DistilledClassifier

__getattr__, __dir__ = lazy_names(__name__, _WHERE)

__all__ = ["DistilledClassifier"]
