"""The teacher: a fitted classifier with ``predict_proba``, asked once per fit."""

from __future__ import annotations

import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import _num_samples, check_is_fitted

NOT_FITTED = (
    "teacher={name} is not fitted: fit it first (teacher.fit(X, y)); DistilledClassifier "
    "trains only the student. Where DistilledClassifier is cloned (GridSearchCV, "
    "cross_val_score), wrap the fitted teacher in sklearn.frozen.FrozenEstimator(teacher) "
    "so that the clones keep it fitted."
)


def check_teacher(teacher) -> np.ndarray:
    """The teacher's classes, after checking it is a fitted probabilistic classifier."""
    name = type(teacher).__name__
    if not hasattr(teacher, "predict_proba"):
        raise TypeError(
            f"teacher={name} has no predict_proba: the student learns the teacher's class "
            "probabilities, so the teacher must be a classifier that gives them "
            "(for SVC, pass probability=True)."
        )
    try:
        check_is_fitted(teacher)
    except NotFittedError:
        raise NotFittedError(NOT_FITTED.format(name=name)) from None
    classes = getattr(teacher, "classes_", None)
    if classes is None or np.ndim(classes) != 1 or getattr(teacher, "multilabel_", False):
        raise ValueError(
            f"teacher={name} has no 1-D classes_: distillation needs a single-label "
            "classifier (one probability per class, rows summing to 1)."
        )
    return np.asarray(classes)


def teacher_proba(teacher, X, classes: np.ndarray, order: np.ndarray) -> np.ndarray:
    """The teacher's probabilities for the rows of ``X``, one call for all rows,
    columns in ``classes[order]`` order."""
    proba = np.asarray(teacher.predict_proba(X), dtype=np.float64)
    if proba.shape != (_num_samples(X), len(classes)):
        raise ValueError(
            f"teacher.predict_proba returned shape {proba.shape}; expected one row per "
            f"row of X and one column per class ({len(classes)})."
        )
    bad = np.flatnonzero(~np.isfinite(proba).all(axis=1))
    if len(bad):
        raise ValueError(
            f"teacher.predict_proba gave non-finite probabilities for row {bad[0]} "
            f"({len(bad)} rows); check the teacher on those rows."
        )
    return proba[:, order]
