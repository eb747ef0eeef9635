"""An ONNX Runtime session for a file the library exported."""

from __future__ import annotations

from pathlib import Path

from ..exceptions import MissingDependencyError

INSTALL = "pip install 'sktransfer[onnx]'"


def onnxruntime():
    """The ``onnxruntime`` module, or an error saying how to install it."""
    try:
        import onnxruntime
    except ImportError as exc:
        raise MissingDependencyError(
            f"runtime='onnx' needs ONNX Runtime: {INSTALL}, or pass runtime='torch' "
            "(set_params(runtime='torch') on a loaded model) to run on torch instead."
        ) from exc
    return onnxruntime


def inference_session(path: Path, device):
    """A session over ``path`` on ``device``: CUDA where ONNX Runtime has it for a
    CUDA device, else the CPU, with as many threads as torch uses."""
    import torch

    ort = onnxruntime()
    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, torch.get_num_threads())
    options.log_severity_level = 3  # errors only: no notes on stderr
    providers = ["CPUExecutionProvider"]
    if getattr(device, "type", str(device)) == "cuda":
        if "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
    return ort.InferenceSession(str(path), options, providers=providers)
