"""L2 normalisation of rows: one expression for numpy arrays and torch tensors."""

from __future__ import annotations


def l2_normalize(x):
    """Each row of ``x`` (the last axis) scaled to unit length; an all-zero row
    stays zero. ``x`` is a numpy array or a torch tensor: only operators both
    share are used, so embedders and trained bodies normalise the same way."""
    return x / ((x * x).sum(-1)[..., None] ** 0.5).clip(min=1e-12)
