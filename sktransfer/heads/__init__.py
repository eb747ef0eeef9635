"""Heads: plain ``nn.Module`` s put on top of a backbone's pooled features."""

from .._lazy import lazy_names

_WHERE = {"MLPHead": "._mlp", "head_layers": "._mlp"}
__getattr__, __dir__ = lazy_names(__name__, _WHERE)

__all__ = list(_WHERE)
