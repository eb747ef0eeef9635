"""Heads: plain ``nn.Module`` s put on top of a backbone's pooled features."""

from ._mlp import MLPHead, head_layers

__all__ = ["MLPHead", "head_layers"]
