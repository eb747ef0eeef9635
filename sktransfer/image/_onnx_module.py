"""An image backbone run by ONNX Runtime, as a module the batching loop calls.

The backbone's module (network and pooling: a float batch ``(N, 3, H, W)`` in,
``(N, D)`` vectors out) is exported once with a free batch dimension;
:class:`OnnxImageModule` runs it on the batches the embedder's loader decodes
and preprocesses exactly as on torch, so workers, ``batch_size`` and progress
are the torch path's.
"""

from __future__ import annotations

import copy
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .._onnx import exported_model, inference_session
from .._onnx._store import OPSET
from ..exceptions import ModelLoadError

# ONNX Runtime's dynamic int8 runs convolutions as ConvInteger, no faster than
# float32 on a CPU; static quantization (calibrated on fit rows) is not built.
NO_INT8 = (
    "int8 is offered for text models; for image backbones ONNX Runtime's dynamic int8 "
    "convolutions are no faster than float32 (docs/guide/speed.md). Use runtime='onnx' "
    "with precision='float32', several times faster than torch on a CPU."
)


def _export(module: nn.Module, size: int, path: Path) -> None:
    """Export a CPU copy of ``module`` (the shared one stays where it runs)."""
    module = copy.deepcopy(module).to("cpu").eval()
    example = torch.zeros(2, 3, size, size)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on shapes it fixes
        torch.onnx.export(
            module,
            (example,),
            str(path),
            input_names=["pixels"],
            output_names=["embedding"],
            dynamic_axes={"pixels": {0: "rows"}, "embedding": {0: "rows"}},
            opset_version=OPSET,
            dynamo=False,
        )


class OnnxImageModule(nn.Module):
    """``module`` exported to ONNX (``identity`` names its content and
    preprocessing, ``size`` its input side) and run by ONNX Runtime on ``device``."""

    def __init__(self, module: nn.Module, identity: dict, size: int, device):
        super().__init__()
        key = {"kind": "image", "model": identity, "input_size": size, "precision": "float32"}
        try:
            path = exported_model(key, lambda p: _export(module, size, p))
        except (RuntimeError, ValueError, TypeError, NotImplementedError) as exc:
            raise ModelLoadError(
                f"cannot export this image backbone to ONNX ({type(exc).__name__}: {exc}); "
                "use runtime='torch', which runs every backbone."
            ) from exc
        self._session = inference_session(path, device)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        batch = np.ascontiguousarray(pixels.detach().float().cpu().numpy())
        return torch.from_numpy(self._session.run(None, {"pixels": batch})[0])

    def __deepcopy__(self, memo):
        return self  # a session holds no training state: copies share it
