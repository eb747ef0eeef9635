"""PixelFeatures: raw pixels as features, the no-transfer baseline for images."""

from __future__ import annotations

import numpy as np
from PIL import Image
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..io import image_rows, load_rgb
from ._size import check_image_size


class PixelFeatures(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Shrink each image to ``image_size``×``image_size`` RGB and flatten it to values in 0..1.

    What a model sees without any pretrained backbone: comparing it with an
    :class:`sktransfer.ImageEmbedder` shows what transfer adds. Accepts the same
    rows as the embedder (paths, bytes, PIL images, arrays).

    Parameters
    ----------
    image_size : int, default=16
        Side length images are resized to; the output has ``3 * image_size**2``
        columns.

    Attributes
    ----------
    n_features_out_ : int
        ``3 * image_size**2``.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.image import PixelFeatures
    >>> PixelFeatures(image_size=8).fit_transform(np.zeros((2, 28, 28), dtype=np.uint8)).shape
    (2, 192)
    """

    def __init__(self, *, image_size=16):
        self.image_size = image_size

    def fit(self, X, y=None):
        """Validate ``X``; nothing is learned."""
        check_image_size(self.image_size, allow_none=False)
        image_rows(X)
        self.n_features_out_ = 3 * int(self.image_size) ** 2
        return self

    def transform(self, X):
        """Resized, flattened pixels, float32 of shape (n_rows, 3 * image_size**2)."""
        check_is_fitted(self)
        rows = image_rows(X)
        out = np.empty((len(rows), self.n_features_out_), dtype=np.float32)
        side = (int(self.image_size), int(self.image_size))
        for i, value in enumerate(rows.values):
            img = load_rgb(value, rows.name(i)).resize(side, Image.BILINEAR)
            out[i] = np.asarray(img, dtype=np.float32).ravel() / 255.0
        return out

    @property
    def _n_features_out(self):
        return self.n_features_out_

    def get_feature_names_out(self, input_features=None):
        """Output names: ``pixelfeatures0 … pixelfeatures{3 * image_size**2 - 1}``."""
        check_is_fitted(self)
        return super().get_feature_names_out()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.target_tags.required = False
        return tags
