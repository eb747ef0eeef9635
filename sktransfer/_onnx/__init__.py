"""The ONNX Runtime path (``runtime="onnx"``): a backbone exported once to an
ONNX file kept beside the embedding cache, checked by hash on every load, run
by ONNX Runtime, and quantized to int8 where that keeps the accuracy.

ONNX Runtime is an extra (``pip install 'sktransfer[onnx]'``); nothing here
imports it until a model runs on it.
"""

from ._runtime import RUNTIMES, check_loaded, check_runtime, needs_torch
from ._session import inference_session
from ._store import exported_model

__all__ = [
    "RUNTIMES",
    "check_loaded",
    "check_runtime",
    "exported_model",
    "inference_session",
    "needs_torch",
]
