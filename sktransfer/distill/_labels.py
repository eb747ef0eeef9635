"""Which rows are labelled: scikit-learn's semi-supervised rule.

``-1`` marks an unlabelled row, as in :class:`~sklearn.semi_supervised.SelfTrainingClassifier`.
With integer labels that is the integer ``-1``; with string labels ``y`` is an
object array holding the strings and the integer ``-1`` (a string array cannot
hold it, and the string ``"-1"`` is refused rather than guessed at).
"""

from __future__ import annotations

import numbers

import numpy as np

from ..io._rows import Rows

UNLABELLED = -1
RULE = (
    "mark unlabelled rows with the integer -1 (scikit-learn's semi-supervised rule); "
    "with string labels use an object array, e.g. y = np.asarray(y, dtype=object); "
    "y[unlabelled] = -1"
)


def is_unlabelled(value) -> bool:
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, (bool, np.bool_))
        and value == UNLABELLED
    )


def label_codes(y, classes: np.ndarray) -> np.ndarray:
    """The position of each row's label in ``classes``, ``-1`` for unlabelled
    rows; an error naming the rows whose label is neither."""
    index = list(y.index) if hasattr(y, "index") and hasattr(y, "iloc") else None
    values = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y, dtype=None)
    if values.ndim != 1:
        raise ValueError(
            f"y has shape {values.shape}; distillation takes one label per row (1-D y)."
        )
    rows = Rows(list(values), index)
    if values.dtype.kind in "US" and (values == "-1").any():
        at = np.flatnonzero(values == "-1")
        raise ValueError(
            f"y holds the string '-1' at {rows.describe(list(at))}: strings are labels; to {RULE}."
        )
    known = classes.tolist()
    if any(is_unlabelled(c) for c in known):
        raise ValueError(
            f"the teacher has a class -1 among {known[:10]}, which the "
            f"semi-supervised rule reserves for unlabelled rows; relabel that class."
        )
    position = {c: i for i, c in enumerate(known)}
    codes = np.empty(len(values), dtype=np.int64)
    bad = []
    listed = values.tolist()
    for i, v in enumerate(listed):
        if is_unlabelled(v):
            codes[i] = UNLABELLED
            continue
        try:
            codes[i] = position[v]
        except (KeyError, TypeError):
            bad.append(i)
    if bad:
        shown = ", ".join(f"{rows.name(i)}: {listed[i]!r}" for i in bad[:3])
        raise ValueError(
            f"y holds labels the teacher does not know ({shown}; {len(bad)} rows); "
            f"its classes are {known[:10]}. Use those labels, or {RULE}."
        )
    return codes
