"""What an unusable row (a file that does not decode, a text that is not
valid Unicode) does, as the two parameters that decide it.

An embedder owes one output row per input row, so it can only raise or fill the
row: ``on_error`` (:data:`ON_ERROR` maps each choice to the value the row is
filled with). An evaluation chooses its rows, so it can leave an unusable one
out: ``unusable_rows`` (:data:`UNUSABLE_ROWS`). One check,
:func:`check_row_policy`, serves both.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import NamedTuple

import numpy as np

from .exceptions import ParameterError


class RowPolicy(NamedTuple):
    """One parameter that decides what an unusable row does: its name, the
    values it takes, and the fix its error names."""

    param: str
    choices: Collection[str]
    fix: str


# Embedders: "raise", or the value an unusable row's output is filled with.
ON_ERROR = RowPolicy(
    "on_error",
    {"raise": None, "nan": np.nan, "zero": 0.0},
    "use 'raise' (an error naming the first unusable row), 'nan' or 'zero' (that row's "
    "vector, with a warning; transform_report() lists them).",
)
# Evaluations: "raise", or leave the unusable rows out (and list them).
UNUSABLE_ROWS = RowPolicy("unusable_rows", ("raise", "skip"), "use 'raise' or 'skip'.")


def check_row_policy(value, policy: RowPolicy) -> None:
    """Raise a :class:`ParameterError` naming the parameter, ``value`` and the fix
    unless ``value`` is one of ``policy.choices``."""
    if not isinstance(value, str) or value not in policy.choices:
        raise ParameterError(policy.param, value, policy.fix)
