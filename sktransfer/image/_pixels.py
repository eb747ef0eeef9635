"""PixelFeatures: raw pixels as features, the no-transfer baseline for images."""

from __future__ import annotations

import numpy as np
from PIL import Image
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..io import image_rows, load_rgb


class PixelFeatures(TransformerMixin, BaseEstimator):
    """Shrink each image to ``size``×``size`` RGB and flatten it to values in 0..1.

    What a model sees without any pretrained backbone: comparing it with an
    :class:`sktransfer.ImageEmbedder` shows what transfer adds. Accepts the same
    rows as the embedder (paths, bytes, PIL images, arrays).

    Parameters
    ----------
    size : int, default=16
        Side length images are resized to; the output has ``3 * size**2`` columns.

    Attributes
    ----------
    n_features_out_ : int
        ``3 * size**2``.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.image import PixelFeatures
    >>> PixelFeatures(size=8).fit_transform(np.zeros((2, 28, 28), dtype=np.uint8)).shape
    (2, 192)
    """

    def __init__(self, *, size=16):
        self.size = size

    def fit(self, X, y=None):
        """Validate ``X``; nothing is learned."""
        image_rows(X)
        self.n_features_out_ = 3 * int(self.size) ** 2
        return self

    def transform(self, X):
        """Resized, flattened pixels, float32 of shape (n_rows, 3 * size**2)."""
        check_is_fitted(self)
        rows = image_rows(X)
        out = np.empty((len(rows), self.n_features_out_), dtype=np.float32)
        for i, value in enumerate(rows.values):
            img = load_rgb(value, rows.name(i)).resize((self.size, self.size), Image.BILINEAR)
            out[i] = np.asarray(img, dtype=np.float32).ravel() / 255.0
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.target_tags.required = False
        return tags
