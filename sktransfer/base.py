"""The shared encoder base: ``fit`` loads a backbone, ``transform`` embeds rows.

Subclasses describe only what differs between text and images:

* ``_rows(X)``            validate ``X`` and return :class:`sktransfer.io.Rows`;
* ``_load(device)``       return the loaded backbone (shared via the registry);
* ``_embed(rows, idx)``   embed the rows at positions ``idx``, float32 (n, d).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._device import device_after_unpickle, resolve_device


class BaseEmbedder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Common machinery of :class:`TextEmbedder` and :class:`ImageEmbedder`.

    Nothing is loaded in ``__init__``: the backbone is resolved in ``fit``, so
    ``clone`` is cheap and ``set_params(model=...)`` followed by ``fit`` really
    changes the model. Loaded backbones are shared process-wide between clones
    (see :func:`sktransfer.clear_models`).
    """

    # Fitted attributes that hold torch objects; they are rebuilt on unpickling
    # from the parameters instead of being pickled.
    _unpicklable = ("model_",)

    def fit(self, X, y=None):
        """Load the backbone. ``X`` is validated; its content does not matter.

        Parameters
        ----------
        X : list, array, pandas Series or one-column DataFrame
            Input rows, validated so that bad data fails early.
        y : ignored

        Returns
        -------
        self
        """
        self._rows(X)
        self._fit_backbone(resolve_device(self.device))
        return self

    def _fit_backbone(self, device) -> None:
        self.device_ = device
        self.model_ = self._load(device)
        self.n_features_out_ = int(self._output_dim())

    def transform(self, X):
        """Embed each row of ``X``.

        Returns
        -------
        ndarray of shape (n_rows, n_features_out_), dtype float32
        """
        check_is_fitted(self)
        return self._transform_rows(self._rows(X))

    def _transform_rows(self, rows):
        out = self._embed(rows, list(range(len(rows))))
        out = np.ascontiguousarray(out, dtype=np.float32)
        if self.normalize:
            out = out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out

    def fit_transform(self, X, y=None, **fit_params):
        """Fit, then embed ``X`` (validated once)."""
        rows = self._rows(X)
        self._fit_backbone(resolve_device(self.device))
        return self._transform_rows(rows)

    @property
    def _n_features_out(self):
        return self.n_features_out_

    def get_feature_names_out(self, input_features=None):
        """Output names: the lower-cased class name and a number, e.g.
        ``textembedder0 … textembedder383``."""
        check_is_fitted(self)
        return super().get_feature_names_out()

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "n_features_out_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.target_tags.required = False
        tags.requires_fit = True
        tags.transformer_tags.preserves_dtype = []
        return tags

    # Pickling stores a reference to the weights (the parameters), not the weights:
    # small pickles, and an encoder fitted on a GPU unpickles on a CPU-only machine.
    def __getstate__(self):
        # A copy: on Python >= 3.11 the parent returns the live __dict__ itself.
        state = dict(super().__getstate__())
        for name in self._unpicklable:
            state.pop(name, None)
        if "device_" in state:
            state["device_"] = str(state["device_"])
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if "device_" in state:
            import torch

            device = device_after_unpickle(self.device, torch.device(state["device_"]))
            self.device_ = device
            self.model_ = self._load(device)
