"""PrototypeClassifier: the nearest class mean, by cosine, on any embedder."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import validate_data

from .._normalize import l2_normalize
from ..finetune._targets import check_classes
from ._classes import (
    DEFAULT_TEMPERATURE,
    CosineClassifierMixin,
    check_temperature,
    class_vectors,
    fit_temperature,
    scores_with_own,
)


class PrototypeClassifier(CosineClassifierMixin, ClassifierMixin, BaseEstimator):
    """Classify by cosine similarity to class prototypes (nearest class mean).

    Each class's prototype is the mean of its rows' unit-length embeddings;
    a row gets the class of the closest prototype. Nothing is trained, so a
    handful of labelled images per class is enough, and adding a class is
    adding its rows. Works on any embedder (an
    :class:`~sktransfer.ImageEmbedder`, a :class:`~sktransfer.TextEmbedder`,
    a fused one) or, with ``embedder=None``, on embeddings computed already.

    Probabilities are ``softmax(cosine / temperature)``;
    ``temperature="auto"`` fits it by minimising the log loss of the training
    rows, each left out of its own prototype (classes with one row cannot be
    left out and do not count); when that leaves too few rows it is ``0.05``.

    Labels follow the fine-tuners' rule: all strings or all numbers, none
    missing, two classes at least; anything else is an error naming the rows.

    Parameters
    ----------
    embedder : transformer or None, default=None
        Embeds the rows (fitted on the training rows, then reused); ``None``:
        ``X`` is a 2-D array of embeddings already.
    temperature : "auto" or float, default="auto"
        The softmax temperature of :meth:`predict_proba` (see above).

    Attributes
    ----------
    classes_ : ndarray
        The classes, in the order of the probability columns.
    embedder_ : transformer or None
        The fitted embedder.
    prototypes_ : ndarray of shape (n_classes, n_dims)
        The unit class prototypes.
    temperature_ : float
        The temperature in use.
    n_features_in_ : int
        Width of ``X`` (``embedder=None`` only).

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.similarity import PrototypeClassifier
    >>> X = np.array([[1.0, 0.1], [0.9, 0.0], [0.0, 1.0], [0.2, 0.8]])
    >>> clf = PrototypeClassifier().fit(X, ["a", "a", "b", "b"])
    >>> clf.predict([[1.0, 0.2], [0.1, 0.9]]).tolist()
    ['a', 'b']
    """

    _vectors = "prototypes_"

    def __init__(self, *, embedder=None, temperature="auto"):
        self.embedder = embedder
        self.temperature = temperature

    def fit(self, X, y):
        """Embed ``X`` and average each class's rows into its prototype."""
        check_temperature(self.temperature)
        y, classes = check_classes(y)
        if self.embedder is None:
            X = validate_data(self, X, dtype=(np.float64, np.float32))
            self.embedder_ = None
            E = X
        else:
            self.embedder_ = clone(self.embedder)
            E = np.asarray(self.embedder_.fit_transform(X, y))
        if len(E) != len(y):
            raise ValueError(f"X has {len(E)} rows but y has {len(y)} labels.")
        self.classes_ = classes
        codes = np.searchsorted(classes, y)
        E = l2_normalize(np.asarray(E, dtype=np.float64))
        self.prototypes_, own = class_vectors(E, codes, len(self.classes_))
        self.temperature_ = (
            DEFAULT_TEMPERATURE if self.temperature == "auto" else float(self.temperature)
        )
        if self.temperature == "auto":
            S, known = scores_with_own(E @ self.prototypes_.T, codes, own)
            self.temperature_ = fit_temperature(S, known) or DEFAULT_TEMPERATURE
        return self

    def _embed(self, X):
        if self.embedder_ is None:
            X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        else:
            X = self.embedder_.transform(X)
        return l2_normalize(np.asarray(X, dtype=np.float64))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        if self.embedder is not None:
            try:
                inputs = self.embedder.__sklearn_tags__().input_tags
            except AttributeError:
                return tags
            tags.input_tags.two_d_array = inputs.two_d_array
            tags.input_tags.string = inputs.string
        return tags
