"""Which rows are labelled: scikit-learn's semi-supervised rule.

``-1`` marks an unlabelled row, as in :class:`~sklearn.semi_supervised.SelfTrainingClassifier`.
With integer labels that is the integer ``-1``; with string labels ``y`` is an
object array holding the strings and the integer ``-1`` (a string array cannot
hold it, and the string ``"-1"`` is refused rather than guessed at).

The labelled rows follow the fine-tuners' label rule (one kind, none missing),
and an integer ``y`` for a teacher whose classes are names is scikit-learn's
encoding of them (``finetune._targets``).
"""

from __future__ import annotations

import numbers

import numpy as np

from ..finetune._targets import ENCODED_RULE, check_labels, is_encoded
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


def label_codes(y, classes: np.ndarray) -> tuple[np.ndarray, bool]:
    """The position of each row's label in ``classes``, ``-1`` for unlabelled
    rows, and whether ``y`` is scikit-learn's encoding of ``classes``; an error
    naming the rows whose label is neither."""
    index = list(y.index) if hasattr(y, "index") and hasattr(y, "iloc") else None
    values = y.to_numpy() if hasattr(y, "to_numpy") else y
    # A list keeps its values as given: np.asarray would turn 1 and "a" into strings.
    values = np.asarray(values, dtype=object if isinstance(values, (list, tuple)) else None)
    if values.ndim != 1:
        raise ValueError(
            f"y has shape {values.shape}; distillation takes one label per row (1-D y)."
        )
    listed = values.tolist()
    rows = Rows(listed, index)
    strings = [i for i, v in enumerate(listed) if isinstance(v, str) and v == "-1"]
    if strings:
        raise ValueError(
            f"y holds the string '-1' at {rows.describe(strings)}: strings are labels; to {RULE}."
        )
    known = classes.tolist()
    if any(is_unlabelled(c) for c in known):
        raise ValueError(
            f"the teacher has a class -1 among {known[:10]}, which the "
            f"semi-supervised rule reserves for unlabelled rows; relabel that class."
        )
    labelled = [i for i, v in enumerate(listed) if not is_unlabelled(v)]
    if labelled:
        part = np.empty(len(labelled), dtype=object)
        part[:] = [listed[i] for i in labelled]
        if index is not None:
            import pandas as pd

            part = pd.Series(part, index=[index[i] for i in labelled], dtype=object)
        checked = check_labels(part, positions=labelled)
        encoded = is_encoded(checked, known)
    else:
        encoded = False
    position = {c: i for i, c in enumerate(range(len(known)) if encoded else known)}
    codes = np.empty(len(values), dtype=np.int64)
    bad = []
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
        if encoded:
            raise ValueError(
                f"y holds codes that are not classes 0..{len(known) - 1} ({shown}; "
                f"{len(bad)} rows): {ENCODED_RULE}, here {known[:10]}. Use those labels, "
                f"or {RULE}."
            )
        raise ValueError(
            f"y holds labels the teacher does not know ({shown}; {len(bad)} rows); "
            f"its classes are {known[:10]}. Use those labels, or {RULE}."
        )
    return codes, encoded
