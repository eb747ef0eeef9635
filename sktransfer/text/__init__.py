"""Text encoders."""

from .._lazy import lazy_names

_WHERE = {"TextEmbedder": "._sentence"}
__getattr__, __dir__ = lazy_names(__name__, _WHERE)

__all__ = list(_WHERE)
