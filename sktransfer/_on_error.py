"""``on_error``: what an unusable row does, in the two meanings the word has.

An encoder owes one output row per input row, so it can only raise or fill the
row (:data:`ON_ERROR_FILL` maps each choice to the value the row is filled
with). An evaluation chooses its rows, so it can leave an unusable one out
(:data:`ON_ERROR_SKIP`). One check, :func:`check_on_error`, serves both.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import NamedTuple

import numpy as np

from .exceptions import ParameterError


class OnErrorChoices(NamedTuple):
    """The values ``on_error`` takes in one place, and the fix its error names."""

    choices: Collection[str]
    fix: str


# Encoders: "raise", or the value an unusable row's output is filled with.
ON_ERROR_FILL = OnErrorChoices(
    {"raise": None, "nan": np.nan, "zero": 0.0},
    "use 'raise' (an error naming the first unusable row), 'nan' or 'zero' (that row's "
    "vector, with a warning; transform_report() lists them).",
)
# Evaluations: "raise", or leave the unusable rows out (and list them).
ON_ERROR_SKIP = OnErrorChoices(("raise", "skip"), "use 'raise' or 'skip'.")


def check_on_error(on_error, allowed: OnErrorChoices) -> None:
    """Raise a :class:`ParameterError` naming ``on_error`` and the fix unless it is
    one of ``allowed``."""
    if not isinstance(on_error, str) or on_error not in allowed.choices:
        raise ParameterError("on_error", on_error, allowed.fix)
