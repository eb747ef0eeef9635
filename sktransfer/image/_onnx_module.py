"""An image backbone run by ONNX Runtime, as a module the batching loop calls.

The backbone's module (network and pooling: a float batch ``(N, 3, H, W)`` in,
``(N, D)`` vectors out) is exported once with a free batch dimension;
:class:`OnnxImageModule` runs it on the batches the embedder's loader decodes
and preprocesses exactly as on torch, so workers, ``batch_size`` and progress
are the torch path's. For ``precision="int8"`` the graph is quantized
statically with activation ranges calibrated on fit rows
(:mod:`sktransfer._onnx._static_int8`); :func:`calibration` measures them.
"""

from __future__ import annotations

import copy
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .._cache import namespace_of
from .._onnx import exported_model, inference_session
from .._onnx._static_int8 import (
    CALIBRATION_ROWS,
    MEAN_COSINE,
    MIN_CALIBRATION_ROWS,
    calibrate,
    quantize_static_int8,
)
from .._onnx._store import OPSET
from .._progress import counting
from .._warn import warn
from ..exceptions import ModelLoadError
from ..io._image_dataset import ImageDataset


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


def _graph(module: nn.Module, identity: dict, size: int, ranges: dict | None) -> Path:
    """The ONNX file of ``module``: float32, or int8 with activation ``ranges``."""
    key = {"kind": "image", "model": identity, "input_size": size, "precision": "float32"}
    quantize = None
    if ranges is not None:
        key = {**key, "precision": "int8", "calibration": namespace_of(ranges)}

        def quantize(source, target):
            return quantize_static_int8(source, target, ranges)

    try:
        return exported_model(key, lambda p: _export(module, size, p), quantize)
    except (RuntimeError, ValueError, TypeError, NotImplementedError) as exc:
        raise ModelLoadError(
            f"cannot export this image backbone to ONNX ({type(exc).__name__}: {exc}); "
            "use runtime='torch', which runs every backbone."
        ) from exc


class OnnxImageModule(nn.Module):
    """``module`` exported to ONNX (``identity`` names its content and
    preprocessing, ``size`` its input side) and run by ONNX Runtime on
    ``device``; int8 when ``ranges`` (from :func:`calibration`) are given."""

    def __init__(self, module: nn.Module, identity: dict, size: int, device, ranges=None):
        super().__init__()
        self._session = inference_session(_graph(module, identity, size, ranges), device)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        batch = np.ascontiguousarray(pixels.detach().float().cpu().numpy())
        return torch.from_numpy(self._session.run(None, {"pixels": batch})[0])

    def __deepcopy__(self, memo):
        return self  # a session holds no training state: copies share it


def calibration(backbone, rows, max_pixels: int, verbose=1) -> tuple[dict, list, np.ndarray]:
    """The int8 activation ranges of ``backbone``'s graph, measured on up to
    :data:`CALIBRATION_ROWS` of ``rows`` spread evenly over them; the
    preprocessed batches measured and the float32 graph's vectors of them (to
    compare the int8 graph with, :func:`check_int8`). The rows measured are
    counted in the progress display."""
    n = len(rows)
    if n < MIN_CALIBRATION_ROWS:
        raise ValueError(
            f"precision='int8' measures the activations' ranges on the rows given to fit: "
            f"got {n} usable row{'s' if n != 1 else ''}, it needs at least "
            f"{MIN_CALIBRATION_ROWS}. Fit on more images (the training rows), or use "
            "precision='float32'."
        )
    # batches of one size (ONNX Runtime's calibrator stacks them): a multiple of 8 rows
    positions = np.linspace(0, n - 1, min(n, CALIBRATION_ROWS) // 8 * 8).round().astype(int)
    images = ImageDataset(rows, backbone.preprocess, positions.tolist(), max_pixels)
    pixels = np.stack([images[k].numpy() for k in range(len(images))]).astype(np.float32)
    batches = [pixels[i : i + 8] for i in range(0, len(pixels), 8)]
    source = _graph(backbone.module, backbone.identity, backbone.input_size, None)

    def measured(count):
        for batch in batches:
            yield {"pixels": batch}
            count.update(len(batch))

    what = "int8 calibration"
    with counting(what, len(pixels), "rows", verbose=verbose, title=what) as count:
        ranges = calibrate(source, measured(count))
    session = inference_session(source, "cpu")
    reference = np.concatenate([session.run(None, {"pixels": b})[0] for b in batches])
    return ranges, batches, reference


def check_int8(int8: nn.Module, batches: list[np.ndarray], reference: np.ndarray) -> float:
    """The mean cosine between ``int8``'s vectors of the calibration ``batches``
    and the float32 ones (``reference``); a warning when it is under
    :data:`MEAN_COSINE`."""
    with torch.inference_mode():
        vectors = torch.cat([int8(torch.from_numpy(b)) for b in batches]).double()
    cos = float(
        torch.nn.functional.cosine_similarity(
            vectors, torch.from_numpy(reference).double(), dim=1
        ).mean()
    )
    if cos < MEAN_COSINE:
        warn(
            f"int8 moves this backbone's vectors of the calibration rows to a mean cosine of "
            f"{cos:.3f} with float32 (at least {MEAN_COSINE} was sought); check the accuracy "
            "against precision='float32', which keeps them.",
            RuntimeWarning,
        )
    return cos
