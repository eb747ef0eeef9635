"""Heads: plain ``nn.Module`` s put on top of a backbone's pooled features."""

from typing import TYPE_CHECKING

from .._lazy import lazy_names

_WHERE = {"MLPHead": "._mlp", "head_layers": "._mlp"}
if TYPE_CHECKING:  # what the names are, for type checkers and the API docs
    from ._mlp import MLPHead, head_layers

__getattr__, __dir__ = lazy_names(__name__, _WHERE)

__all__ = [
    "MLPHead",
    "head_layers",
]
