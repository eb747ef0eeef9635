"""Class vectors from anchors and prototypes, cosine scores, and the softmax
temperature that calibrates them.

Shared by :class:`ZeroShotClassifier` (anchors: the embedded label names) and
:class:`PrototypeClassifier` (no anchors). A class vector is the unit vector of
``(1 - w) * anchor + w * prototype``, the prototype being the unit mean of the
class's unit-length rows.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.utils.validation import check_is_fitted

from .._normalize import l2_normalize

# Used when no labelled rows can fit it: cosine scores of sentence embeddings
# spread over about 0.1-0.3 between classes, and 1/20 turns such gaps into
# confident but not certain probabilities (see the fusion guide).
DEFAULT_TEMPERATURE = 0.05


def check_temperature(temperature) -> None:
    """Raise unless ``temperature`` is "auto" or a positive number."""
    if isinstance(temperature, str) and temperature == "auto":
        return
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
        raise TypeError(f"temperature={temperature!r}; give 'auto' or a positive number.")
    if not temperature > 0:
        raise ValueError(f"temperature={temperature!r}; give 'auto' or a positive number.")


def check_weight(weight) -> float:
    """``weight`` as a float in [0, 1], or an error naming it."""
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 <= weight <= 1:
        raise ValueError(
            f"prototype_weight={weight!r}; give a number in [0, 1] (0: label names only, "
            "1: class prototypes only)."
        )
    return float(weight)


def class_vectors(E, codes, n_classes, anchors=None, weight=1.0):
    """Unit class vectors, and each row's cosine with its own class vector
    computed without that row (leave one out), for calibration.

    ``E``: unit rows; ``codes``: class index of each row; ``anchors``: unit
    (n_classes, d) vectors or None. A class with no rows keeps its anchor.
    Rows whose own-class vector is undefined without them (the only row of a
    class with no anchor) get NaN.
    """
    d = E.shape[1]
    sums = np.zeros((n_classes, d), dtype=np.float64)
    np.add.at(sums, codes, E)
    counts = np.bincount(codes, minlength=n_classes)
    vectors = _blend(anchors, sums, counts, weight)
    # Leave one out: each row's own class without it.
    own_sums = sums[codes] - E
    own_counts = counts[codes] - 1
    own = _blend(None if anchors is None else anchors[codes], own_sums, own_counts, weight)
    loo = np.einsum("ij,ij->i", E, own)
    undefined = ~np.isfinite(own).all(axis=1) | (np.abs(own).sum(axis=1) == 0)
    loo[undefined] = np.nan
    return vectors.astype(np.float32), loo


def _blend(anchors, sums, counts, weight):
    """Unit vectors of ``(1 - w) anchor + w unit(sum)``; where ``counts`` is 0 the
    anchor alone (zeros when there is no anchor)."""
    has_rows = (counts > 0)[:, None]
    protos = np.where(has_rows, l2_normalize(sums), 0.0)
    if anchors is None:
        return protos
    w = np.where(has_rows, weight, 0.0)
    return l2_normalize((1 - w) * anchors + w * protos)


def scores_with_own(S, codes, own):
    """``S`` with each row's own-class score replaced by ``own`` (where finite);
    rows where ``own`` is NaN are dropped. Returns (scores, codes)."""
    keep = np.isfinite(own)
    S = np.array(S[keep], dtype=np.float64)
    S[np.arange(len(S)), codes[keep]] = own[keep]
    return S, codes[keep]


def fit_temperature(S, codes) -> float | None:
    """The temperature minimising the log loss of ``softmax(S / T)`` on rows of
    known class ``codes``; None when there are too few rows (fewer than two,
    or one class only) to fit one."""
    if len(S) < 2 or len(np.unique(codes)) < 2:
        return None
    rows = np.arange(len(S))

    def loss(log_t):
        return -log_softmax(S / np.exp(log_t), axis=1)[rows, codes].mean()

    best = minimize_scalar(loss, bounds=(np.log(1e-3), np.log(10.0)), method="bounded")
    return float(np.exp(best.x))


def probabilities(S, temperature) -> np.ndarray:
    """Softmax of cosine scores ``S`` at ``temperature``."""
    return softmax(np.asarray(S, dtype=np.float64) / temperature, axis=1)


def binary_decision(S):
    """scikit-learn's convention: with two classes, one score per row, positive
    for the second class."""
    return S[:, 1] - S[:, 0] if S.shape[1] == 2 else S


class CosineClassifierMixin:
    """Predictions from cosine similarity to unit class vectors.

    A subclass sets ``_vectors`` (the name of its fitted class-vector attribute)
    and defines ``_embed(X)``, the unit embeddings of the rows.
    """

    _vectors = "class_vectors_"

    def _scores(self, X):
        check_is_fitted(self)
        return self._embed(X) @ getattr(self, self._vectors).T.astype(np.float64)

    def decision_function(self, X):
        """Cosine similarity of each row with each class vector, (n_rows, n_classes);
        for two classes, the second's minus the first's, (n_rows,)."""
        return binary_decision(self._scores(X))

    def predict_proba(self, X):
        """``softmax(cosine / temperature_)``, shape (n_rows, n_classes)."""
        return probabilities(self._scores(X), self.temperature_)

    def predict(self, X):
        """The class of the most similar class vector for each row."""
        best = np.argmax(self._scores(X), axis=1)
        return self.classes_[best]

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, self._vectors)
