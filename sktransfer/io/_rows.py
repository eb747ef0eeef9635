"""Turn whatever a user passes as ``X`` into a plain list of rows.

Both embedders take a list, tuple, 1-D array, pandas Series, or a DataFrame with a
single column. Errors name the offending row by position and, for pandas input,
by its index label, so the row can be found in the user's own data.

Collections whose order or length is not defined are refused rather than
iterated: a mapping (iterating a dict yields its keys), a set (the output rows
could not be matched to the input), and a generator or other one-shot iterator
(it has no length, and consuming it in ``fit`` would leave nothing for
``transform``). Each error says how to pass the same data as a list or Series.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, MappingView, Set
from dataclasses import dataclass

import numpy as np

from .._plain import one_line
from ..exceptions import DataError


@dataclass
class Rows:
    """The rows of ``X`` and how to name row ``i`` in an error message."""

    values: list
    index: list | None = None
    # Positions in the user's X when these rows are a subset of it.
    positions: list | None = None

    def __len__(self) -> int:
        return len(self.values)

    def name(self, i: int) -> str:
        at = i if self.positions is None else self.positions[i]
        if self.index is None or self.index[i] == at:
            return f"row {at}"
        return f"row {at} (index {self.index[i]!r})"

    def describe(self, positions, shown: int = 5) -> str:
        """The names of the rows at ``positions``, the first ``shown`` of them,
        e.g. ``"row 3, row 17 (index 'a') and 4 more"``, for one-line messages."""
        names = ", ".join(self.name(i) for i in positions[:shown])
        more = f" and {len(positions) - shown} more" if len(positions) > shown else ""
        return names + more


def is_missing(value) -> bool:
    """True for None, float NaN, and pandas' NA / NaT."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    try:
        import pandas as pd

        return value is pd.NA or value is pd.NaT
    except ImportError:  # pragma: no cover - pandas is a dependency
        return False


def to_rows(X, *, what: str, single_types: tuple = (str, bytes)) -> Rows:
    """Split ``X`` into rows without looking inside them.

    ``single_types`` are values that are one row, not a collection (a lone
    string, say): passing one of them as ``X`` is an error with the fix.
    """
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover
        pd = None

    if pd is not None and isinstance(X, pd.DataFrame):
        if X.shape[1] != 1:
            raise DataError(
                f"expected one column of {what}, got a DataFrame with {X.shape[1]} "
                f"columns {list(X.columns)!r}; select the column, e.g. X['col'], or "
                "use a ColumnTransformer to route several columns."
            )
        X = X.iloc[:, 0]
    if pd is not None and isinstance(X, pd.Series):
        return Rows(X.tolist(), list(X.index))
    if isinstance(X, single_types):
        raise TypeError(
            f"expected a collection of {what}, got a single {type(X).__name__}; "
            "wrap it in a list, e.g. [x]."
        )
    if isinstance(X, Mapping):
        raise TypeError(
            f"expected a collection of {what}, got a {type(X).__name__}: iterating it "
            "would give its keys. Pass the values, e.g. list(X.values()), or a "
            "pandas Series, pd.Series(X), which keeps the keys as the index."
        )
    if isinstance(X, Set) and not isinstance(X, MappingView):
        raise TypeError(
            f"expected an ordered collection of {what}, got a {type(X).__name__}: a "
            "set has no order, so the output rows could not be matched to it. Pass "
            "a list, e.g. sorted(X)."
        )
    if isinstance(X, Iterator) or (hasattr(X, "__iter__") and not hasattr(X, "__len__")):
        raise TypeError(
            f"expected a collection of {what}, got a {type(X).__name__}, which has no "
            "length and can be read only once; pass a list, e.g. list(X)."
        )
    if isinstance(X, np.ndarray):
        if X.ndim == 0:
            raise TypeError(
                f"expected a collection of {what}, got a 0-d array; wrap the value "
                "in a list, e.g. [x.item()]."
            )
        if X.ndim == 2 and X.shape[1] == 1 and X.dtype.kind in "OUS":
            X = X[:, 0]
        return Rows(list(X))
    if isinstance(X, (list, tuple)):
        return Rows(list(X))
    if hasattr(X, "__iter__") and hasattr(X, "__len__"):
        return Rows(list(X))
    raise TypeError(
        f"expected a list, array, pandas Series or one-column DataFrame of {what}, "
        f"got {type(X).__name__}."
    )


def split_usable(rows: Rows, check) -> tuple[Rows, list[int], list[dict]]:
    """Check each row with ``check(value, name)`` (which raises ``ValueError`` or
    ``TypeError`` naming the row); return the usable rows (named as in ``rows``),
    their positions, and one record (position, name, cause) per unusable row."""
    good, failed = [], []
    for i, value in enumerate(rows.values):
        try:
            check(value, rows.name(i))
        except (ValueError, TypeError) as exc:
            failed.append(failure(i, rows.name(i), exc))
        else:
            good.append(i)
    index = None if rows.index is None else [rows.index[i] for i in good]
    usable = Rows([rows.values[i] for i in good], index, good)
    return usable, good, failed


def failure(row: int, name: str, exc: Exception) -> dict:
    """The record of an unusable row (a ``failed_rows`` entry of
    :func:`~sktransfer.transform_report`): its position, its name and the
    error's message on one line."""
    return {"row": row, "name": name, "cause": one_line(exc)}
