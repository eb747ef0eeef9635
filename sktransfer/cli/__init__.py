"""The ``sktransfer`` command: ``evaluate`` a leaderboard, ``predict`` with a saved model.

Thin by design: it parses arguments, calls :mod:`sktransfer.evaluate` and
:mod:`sktransfer.datasets`, and prints. Everything it does can be done from
Python with the same functions.
"""

from ._errors import (
    EXIT_BUG,
    EXIT_DATA_ERROR,
    EXIT_INTERRUPTED,
    FLAGS,
    as_flag,
    error_line,
    exit_code,
)
from ._main import main
from ._parser import build_parser

__all__ = [
    "EXIT_BUG",
    "EXIT_DATA_ERROR",
    "EXIT_INTERRUPTED",
    "FLAGS",
    "as_flag",
    "build_parser",
    "error_line",
    "exit_code",
    "main",
]
