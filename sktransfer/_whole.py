"""Whole-number parameters (sizes, counts, folds): the one rule for what is one."""

from __future__ import annotations

from numbers import Integral


def is_whole(value, least: int) -> bool:
    """Whether ``value`` is an int (NumPy's too) of at least ``least``; ``True``
    and ``False`` are not numbers here, and neither is ``2.0``."""
    return isinstance(value, Integral) and not isinstance(value, bool) and value >= least
