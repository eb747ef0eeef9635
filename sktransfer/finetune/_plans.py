"""Training plans: what the net trains on and which part of it trains.

The plan follows from the embedder and the freeze settings:

* :class:`FeaturePlan` (the fast path): nothing in the backbone trains and no
  augmentation is on, so the embedder embeds each row once (its cache, when it
  has one, makes that free the second time) and only the head trains; any
  sklearn transformer with a numeric output works here;
* an :class:`~sktransfer.ImageEmbedder` with ``unfreeze`` or ``augment``:
  ``_image.ImageBackbonePlan``, a copy of the backbone trains;
* a :class:`~sktransfer.TextEmbedder` with ``unfreeze``:
  ``_text.TextBackbonePlan``, a copy of the sentence model trains;
* a :class:`~sktransfer.StaticEmbedder` with ``unfreeze``:
  ``_static.StaticBackbonePlan``, a copy of its token vectors trains.

Every plan has ``fit(X, targets) -> (source, body, width)`` and
``inputs(X, training) -> source``; ``source[i]`` is what ``body`` takes for
row ``i``, ``width`` the size of ``body``'s output; ``targets`` is a NumPy array.
"""

from __future__ import annotations

import numpy as np
import torch

from .._onnx import needs_torch
from ..image import ImageEmbedder
from ..text import StaticEmbedder, TextEmbedder
from ._blocks import check_unfreeze


def as_features(values) -> torch.Tensor:
    """An embedder's output (array, sparse matrix, DataFrame) as a float32 tensor."""
    if hasattr(values, "toarray"):
        values = values.toarray()
    values = np.asarray(values, dtype=np.float32)
    if values.ndim != 2:
        raise ValueError(f"the embedder returned an array of shape {values.shape}; expected 2-D.")
    return torch.from_numpy(np.ascontiguousarray(values))


class FeaturePlan:
    """Head only: embed the rows once, train the head on the embeddings."""

    num_workers = 0
    head_only = True  # an epoch is a pass over embeddings: max_epochs="auto" counts steps

    def __init__(self, embedder):
        self.embedder = embedder

    def fit(self, X, targets=None):
        source = as_features(self.embedder.fit_transform(X))
        return source, None, source.shape[1]

    def inputs(self, X, training=False):
        return as_features(self.embedder.transform(X))


def make_plan(embedder, unfreeze, augment, expected: str | None):
    """The plan for ``embedder`` with these freeze settings; ``expected`` names
    the embedder class an error should suggest (the estimator's default)."""
    unfreeze = check_unfreeze(unfreeze)
    if unfreeze == 0 and augment is None:
        return FeaturePlan(embedder)
    what = f"unfreeze={unfreeze!r}" if unfreeze else f"augment={augment!r}"
    needs_torch(embedder, what)
    if isinstance(embedder, ImageEmbedder):
        from ._image import ImageBackbonePlan

        return ImageBackbonePlan(embedder, unfreeze, augment)
    if isinstance(embedder, TextEmbedder) and augment is None:
        from ._text import TextBackbonePlan

        return TextBackbonePlan(embedder, unfreeze)
    if isinstance(embedder, StaticEmbedder) and augment is None:
        from ._static import StaticBackbonePlan

        return StaticBackbonePlan(embedder)
    if augment is not None:
        expected = "ImageEmbedder"
    raise ValueError(
        f"{what} runs the backbone on every batch, so the embedder must be a "
        f"{expected or 'ImageEmbedder or a TextEmbedder'} (or a model name), or a "
        f"StaticEmbedder (its token vectors train); with "
        f"{type(embedder).__name__} only the head trains (unfreeze=0, augment=None)."
    )
