"""Warnings that point at the user's own line.

sktransfer's code runs under scikit-learn's wrappers (``set_output`` wraps
every ``transform``, ``Pipeline`` and the model-selection tools call the
estimators), skorch, joblib and torch, so no fixed ``stacklevel`` finds the
caller. :func:`warn` walks the stack to the first frame outside those
libraries (and the standard library's ``warnings`` and ``contextlib``
machinery) and attributes the warning to it. sktransfer's command line is
a user of the library like any script: its warnings stop there.
"""

from __future__ import annotations

import sys
import warnings

LIBRARIES = ("sktransfer", "sklearn", "skorch", "joblib", "torch", "warnings", "contextlib")
USERS = ("sktransfer.cli", "sktransfer.__main__")  # the command line calls the library


class PartFailedWarning(UserWarning):
    """Part of an evaluation failed (a model that cannot be loaded, a candidate
    left out): the command line prints these even with ``--quiet``."""


def _inside(module: str) -> bool:
    if any(module == name or module.startswith(name + ".") for name in USERS):
        return False
    return any(module == name or module.startswith(name + ".") for name in LIBRARIES)


def user_stacklevel() -> int:
    """The ``stacklevel`` that, passed to ``warnings.warn`` by the function
    calling this one, names the first frame outside :data:`LIBRARIES` (2, the
    caller's caller, when every frame is inside them, as in a worker thread)."""
    frame = sys._getframe(2)  # the caller of the function that warns
    level = 2
    while frame is not None and _inside(frame.f_globals.get("__name__", "")):
        frame = frame.f_back
        level += 1
    return level if frame is not None else 2


def warn(message, category: type[Warning] = UserWarning) -> None:
    """``warnings.warn(message, category)`` at the user's line."""
    warnings.warn(message, category, stacklevel=user_stacklevel())


def warn_once(seen: set, message: str, category: type[Warning] = RuntimeWarning) -> None:
    """:func:`warn` unless ``message`` is in ``seen`` (then added): a problem
    with a store is reported once, not once per row."""
    if message not in seen:
        seen.add(message)
        warn(message, category)
