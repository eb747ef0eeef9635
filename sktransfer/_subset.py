"""A reproducible stratified subset of rows, shared by the demo data sets and
``evaluate(n_rows=...)``."""

from __future__ import annotations

import numpy as np

from .exceptions import ParameterError


def stratified_subset(y, n_rows, random_state, *, param: str = "n_rows") -> np.ndarray:
    """Sorted positions of a stratified random subset of ``n_rows`` rows of
    ``y`` (all rows if ``n_rows`` is None or at least ``len(y)``); errors
    name the caller's parameter ``param``."""
    y = np.asarray(y)
    if n_rows is None or n_rows >= len(y):
        return np.arange(len(y))
    if n_rows < 1:
        raise ParameterError(param, n_rows, "ask for a positive number of rows.")
    from sklearn.model_selection import train_test_split

    classes = np.unique(y)
    if n_rows < len(classes):
        raise ParameterError(
            param,
            n_rows,
            f"that is fewer than the {len(classes)} classes; ask for at least {len(classes)} rows.",
        )
    keep, _ = train_test_split(
        np.arange(len(y)), train_size=n_rows, stratify=y, random_state=random_state
    )
    return np.sort(keep)
