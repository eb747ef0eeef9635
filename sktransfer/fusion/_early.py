"""FusedEmbedder: early fusion, several embedders' outputs as balanced blocks."""

from __future__ import annotations

import numpy as np
from sklearn.base import TransformerMixin, clone
from sklearn.utils import Bunch
from sklearn.utils.metaestimators import _BaseComposition
from sklearn.utils.validation import check_is_fitted

from ._embedders import check_pairs, is_drop


class FusedEmbedder(TransformerMixin, _BaseComposition):
    """Concatenate several embedders' embeddings, each block given equal weight.

    Each embedder (a :class:`~sktransfer.TextEmbedder`, an
    :class:`~sktransfer.ImageEmbedder`, a pipeline, any transformer) embeds
    the same rows; its block is standardised column by column on the rows
    ``fit`` sees, then divided by the square root of its width. Every block
    then has a mean squared row norm of 1 on the training rows, whatever its
    embedder's scale (EfficientNet features are ~10× MiniLM's) or width (1280
    against 384 columns): distances are the sum of per-block mean squared
    distances, and a linear head with an L2 penalty sees each block with the
    same total variance. A plain concatenation, or a ``StandardScaler`` after
    it, lets the widest block dominate; do not put a ``StandardScaler`` after
    this transformer, it would undo the balance.

    Blocks come from their own embedders, so each is served from that
    embedder's ``cache``: fusing backbones whose rows are already cached
    costs no backbone pass. Like ``FeatureUnion``, a block is switched off
    with ``set_params(name="drop")`` (a grid can search over it) and its
    embedder's parameters are ``name__param``.

    Parameters
    ----------
    embedders : list of (str, transformer or "drop")
        The named embedders, in the order of their blocks. Names must be
        unique and free of ``"__"``.

    Attributes
    ----------
    embedders_ : list of (str, transformer)
        The fitted clones of the embedders that are not dropped.
    named_embedders_ : Bunch
        The same, by name.
    blocks_ : dict of str -> slice
        The columns of each block in the output.
    mean_, scale_ : ndarray of shape (n_features_out_,)
        The per-column shift and factor: ``(z - mean_) * scale_``, with
        ``scale_ = 1 / (std * sqrt(block width))`` (a constant column gets
        ``std = 1``).
    n_features_out_ : int
        Total width of the blocks.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> from sktransfer.fusion import FusedEmbedder
    >>> X = np.random.default_rng(0).normal(size=(20, 3))
    >>> fused = FusedEmbedder(embedders=[
    ...     ("raw", FunctionTransformer(feature_names_out="one-to-one")),
    ...     ("squares", FunctionTransformer(np.square, feature_names_out="one-to-one")),
    ... ])
    >>> Z = fused.fit_transform(X)
    >>> Z.shape, round(float((Z[:, fused.blocks_["raw"]] ** 2).sum(1).mean()), 3)
    ((20, 6), 1.0)
    >>> fused.get_feature_names_out()[:2].tolist()
    ['raw__x0', 'raw__x1']
    """

    def __init__(self, *, embedders):
        self.embedders = embedders

    def get_params(self, deep=True):
        """Parameters, with each embedder and its parameters (``name__param``)."""
        return self._get_params("embedders", deep=deep)

    def set_params(self, **params):
        """Set parameters; ``name="drop"`` switches a block off."""
        self._set_params("embedders", **params)
        return self

    def _active(self) -> list[tuple[str, object]]:
        embedders = self.embedders
        check_pairs(embedders)
        names = [name for name, _ in embedders]
        self._validate_names(names)
        for name, enc in embedders:
            if not (is_drop(enc) or hasattr(enc, "transform")):
                raise TypeError(
                    f"embedder {name!r} is {enc!r}, which has no transform method; "
                    "give a transformer, or 'drop' to leave the block out."
                )
        active = [(name, enc) for name, enc in embedders if not is_drop(enc)]
        if not active:
            raise ValueError(f"every embedder of {names!r} is dropped; keep at least one block.")
        return active

    def fit(self, X, y=None):
        """Fit each embedder and learn each block's scaling on ``X``."""
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X, y=None, **fit_params):
        """Fit, then return the fused blocks of ``X`` (each embedder runs once)."""
        fitted, outputs = [], []
        for name, enc in self._active():
            enc = clone(enc)
            fitted.append((name, enc))
            outputs.append(_as_block(enc.fit_transform(X, y), name))
        self.embedders_ = fitted
        means, scales, self.blocks_, start = [], [], {}, 0
        for (name, _), Z in zip(fitted, outputs, strict=True):
            width = Z.shape[1]
            std = np.nanstd(Z, axis=0)
            std[~(std > 1e-12)] = 1.0  # a constant column stays constant
            means.append(np.nanmean(Z, axis=0))
            scales.append(1.0 / (std * np.sqrt(width)))
            self.blocks_[name] = slice(start, start + width)
            start += width
        self.mean_ = np.concatenate(means).astype(np.float32)
        self.scale_ = np.concatenate(scales).astype(np.float32)
        self.n_features_out_ = start
        return self._scaled(outputs)

    def transform(self, X):
        """The fused blocks of ``X``: float32 of shape (n_rows, n_features_out_)."""
        check_is_fitted(self)
        return self._scaled([_as_block(enc.transform(X), name) for name, enc in self.embedders_])

    def _scaled(self, outputs):
        for (name, _), Z in zip(self.embedders_, outputs, strict=True):
            if Z.shape[1] != self.blocks_[name].stop - self.blocks_[name].start:
                raise ValueError(
                    f"embedder {name!r} gave {Z.shape[1]} columns, but "
                    f"{self.blocks_[name].stop - self.blocks_[name].start} when fitted."
                )
        out = np.concatenate(outputs, axis=1).astype(np.float32, copy=False)
        return (out - self.mean_) * self.scale_

    @property
    def named_embedders_(self) -> Bunch:
        """The fitted embedders by name."""
        check_is_fitted(self)
        return Bunch(**dict(self.embedders_))

    @property
    def _n_features_out(self):
        return self.n_features_out_

    def get_feature_names_out(self, input_features=None):
        """Each embedder's output names, prefixed with its name: ``text__textembedder0``."""
        check_is_fitted(self)
        names = []
        for name, enc in self.embedders_:
            width = self.blocks_[name].stop - self.blocks_[name].start
            try:
                inner = list(enc.get_feature_names_out())
            except (AttributeError, TypeError, ValueError):
                inner = [str(i) for i in range(width)]
            names += [f"{name}__{feature}" for feature in inner]
        return np.asarray(names, dtype=object)

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "embedders_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        tags.transformer_tags.preserves_dtype = []
        try:
            first = self._active()[0][1]
            inputs = first.__sklearn_tags__().input_tags
        except (TypeError, ValueError, AttributeError):
            return tags
        tags.input_tags.two_d_array = inputs.two_d_array
        tags.input_tags.string = inputs.string
        return tags


def _as_block(Z, name: str) -> np.ndarray:
    if hasattr(Z, "toarray"):  # a sparse block (TF-IDF) is scaled densely
        Z = Z.toarray()
    Z = np.asarray(Z, dtype=np.float32)
    if Z.ndim != 2:
        raise ValueError(f"embedder {name!r} gave an array of shape {Z.shape}, expected 2-D.")
    return Z
