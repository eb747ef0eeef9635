"""ONNX Runtime's quantization tools, silenced."""

from __future__ import annotations

import io
import logging
from contextlib import contextmanager, redirect_stdout


@contextmanager
def quiet_quantizer():
    """ONNX Runtime's quantizer and calibrator advise through the root logger
    and print their steps on stdout; not here."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with redirect_stdout(io.StringIO()):
            yield
    finally:
        root.setLevel(level)
