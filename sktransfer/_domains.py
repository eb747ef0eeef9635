"""Which rows are source rows and which target rows: skada's convention.

``sample_domain`` holds one domain label per row of ``X``: positive for a
labelled source row, negative for an unlabelled target row. Without it, a
masked label marks a target row, as skada's DA pipelines mask them: ``-1`` for
a classifier, NaN for a regressor; every other row is a source row.

Shared by the DA pipelines of :mod:`sktransfer.adapt` and the fine-tuners'
``domain_loss``; NumPy only.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import _num_samples

RULE = (
    "pass sample_domain (one label per row of X: positive for a source row, negative "
    "for a target row), or mark each target row with the label {mark} in y"
)


def _mark(regression: bool) -> str:
    return "NaN" if regression else "-1"


def target_rows(X, y, sample_domain, *, regression: bool) -> np.ndarray:
    """A boolean mask of the target rows of ``X``, from ``sample_domain`` or, when
    it is None, from the masked labels of ``y``; an error naming the parameter
    when ``sample_domain`` or ``y`` does not have one entry per row."""
    n = _num_samples(X)
    if y is not None and _num_samples(y) != n:
        raise ValueError(
            f"y has {_num_samples(y)} labels but X has {n} rows: pass one label per row "
            f"({_mark(regression)} for a target row)."
        )
    if sample_domain is not None:
        domains = np.asarray(sample_domain)
        if domains.shape != (n,):
            shown = f"{len(domains)} labels" if domains.ndim == 1 else f"shape {domains.shape}"
            raise ValueError(
                f"sample_domain has {shown} but X has {n} rows: pass one domain label per "
                "row (positive: source, negative: target)."
            )
        if domains.dtype.kind not in "iuf" or not np.isfinite(domains).all():
            raise ValueError(
                "sample_domain must hold numbers, one per row (positive: source, "
                f"negative: target); got values of type {domains.dtype}."
            )
        return domains < 0
    if y is None:
        return np.zeros(n, dtype=bool)
    return masked_labels(y, regression=regression)


def masked_labels(y, *, regression: bool) -> np.ndarray:
    """Rows whose label is the mask (-1, or NaN for a regressor); string labels
    are never masked."""
    values = np.asarray(y)
    if values.dtype.kind == "O":
        values = np.asarray(values.tolist())
    if values.dtype.kind not in "iuf":
        return np.zeros(len(values), dtype=bool)
    masked = np.isnan(values) if regression else values == -1
    return masked.reshape(len(values), -1).all(axis=1)


def check_counts(target: np.ndarray, *, min_target: int, why: str, regression: bool) -> None:
    """An error unless ``target`` leaves a source row and holds ``min_target``
    target rows; ``why`` says what needs the target rows."""
    n_target, n = int(target.sum()), len(target)
    rule = RULE.format(mark=_mark(regression))
    if n_target == n:
        raise ValueError(
            f"all {n} rows are target rows (a negative sample_domain, or the label "
            f"{_mark(regression)}): at least one labelled source row is needed to train; "
            "give the source rows a positive sample_domain and their labels."
        )
    if n_target < min_target:
        at = np.flatnonzero(target)
        where = f" (row {at[0]})" if n_target == 1 else ""
        alone = " (with no target rows at all, fit the estimator alone)" if not n_target else ""
        raise ValueError(
            f"{why}, which needs at least {min_target} target rows; got {n_target}{where} "
            f"of {n} rows. Add unlabelled target rows{alone}: {rule}."
        )
