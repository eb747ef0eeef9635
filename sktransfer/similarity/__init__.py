"""Classification by similarity: zero-shot and few-shot from label names (text),
nearest class prototype (any embedder)."""

from typing import TYPE_CHECKING

from .._lazy import lazy_names

_WHERE = {"PrototypeClassifier": "._prototype", "ZeroShotClassifier": "._zero_shot"}
if TYPE_CHECKING:  # what the names are, for type checkers and the API docs
    from ._prototype import PrototypeClassifier
    from ._zero_shot import ZeroShotClassifier

__getattr__, __dir__ = lazy_names(__name__, _WHERE)

__all__ = ["PrototypeClassifier", "ZeroShotClassifier"]
