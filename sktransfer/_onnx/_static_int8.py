"""int8 for convolutional networks: static quantization calibrated on fit rows.

ONNX Runtime's dynamic int8 runs convolutions as ``ConvInteger``, no faster
than float32 on a CPU. Static quantization fixes each activation's range in
advance, so convolutions run on int8 kernels: weights int8 with one scale per
output channel, activations uint8 with ranges measured on a calibration sample
(Quantize/Dequantize pairs around each operator, which ONNX Runtime fuses).

The ranges are the :data:`PERCENTILE` th percentile of each activation's
magnitude over the sample, not its extremes: a few very large activations would
otherwise stretch the scale and cost every other value its precision. Measured
on EfficientNet-Lite0 with two digit sets (``benchmarks/bench_int8_images.py``,
docs/benchmarks.md): min/max ranges moved the vectors most and cost accuracy
(0.97 of float32's on MNIST); the percentile ranges kept it (1.00), and ran
1.5-1.6× faster than float32 on ONNX Runtime. Leaving the first and last
convolutions, or the depthwise ones, in float moved the vectors further (each
float island adds a quantize step) and is not offered.

The calibration is done once, at ``fit``; its outcome is a small table (two
numbers per activation) that the fitted estimator keeps, so a pickled model
rebuilds the same int8 graph from the float32 one without the fit rows.
"""

from __future__ import annotations

import inspect
import json
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..exceptions import MissingDependencyError
from ._quiet import quiet_quantizer

PERCENTILE = 99.999
# Rows of the fit data the ranges are measured on (spread evenly over them),
# and the fewest that make a calibration.
CALIBRATION_ROWS = 64
MIN_CALIBRATION_ROWS = 16
# Below this mean cosine between the int8 and float32 vectors of the
# calibration rows, fit warns (Lite0 kept 0.95 on digits, at full accuracy).
MEAN_COSINE = 0.93


def _quantize_static():
    from onnxruntime.quantization import quantize_static

    if "calibration_cache_path" not in inspect.signature(quantize_static).parameters:
        import onnxruntime

        raise MissingDependencyError(
            f"precision='int8' for image backbones needs a newer ONNX Runtime than "
            f"{onnxruntime.__version__} (one whose quantize_static reads calibration "
            "ranges): pip install -U onnxruntime, or use precision='float32'."
        )
    return quantize_static


class _Batches:
    """ONNX Runtime's calibration reader over ``{input name: array}`` batches."""

    def __init__(self, batches: Iterable[dict]):
        self._it = iter(batches)

    def get_next(self):
        return next(self._it, None)


def _prepared(source: Path, folder: Path) -> Path:
    """``source`` with its batch normalisations folded into the convolutions and
    its shapes inferred: the graph the ranges are named after."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    target = folder / "prepared.onnx"
    with quiet_quantizer():
        quant_pre_process(str(source), str(target), skip_symbolic_shape=True)
    return target


def _write(quantize_static, prepared: Path, target: Path, reader, cache: Path) -> None:
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType

    with quiet_quantizer():
        quantize_static(
            str(prepared),
            str(target),
            reader,
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.Percentile,
            extra_options={"CalibPercentile": PERCENTILE},
            calibration_cache_path=str(cache),
        )


def calibrate(source: Path, batches: Iterable[dict]) -> dict[str, list[float]]:
    """The activation ranges of the float32 graph ``source`` over ``batches``:
    ``{tensor name: [low, high]}``."""
    quantize_static = _quantize_static()
    with tempfile.TemporaryDirectory(prefix="sktransfer-calibrate-") as tmp:
        folder = Path(tmp)
        prepared = _prepared(source, folder)
        cache = folder / "ranges.json"
        _write(quantize_static, prepared, folder / "int8.onnx", _Batches(batches), cache)
        data = json.loads(cache.read_text())["data"]
    return {
        name: [float(_number(d["lowest"])), float(_number(d["highest"]))]
        for name, d in data.items()
    }


def _number(value) -> float:
    """A range bound as ONNX Runtime's cache writes it (a number, or an array)."""
    if isinstance(value, dict):
        value = value["data"]
    return float(np.asarray(value, dtype=np.float64).reshape(-1)[0])


def quantize_static_int8(source: Path, target: Path, ranges: dict[str, list[float]]) -> dict:
    """Write ``source``'s graph to ``target`` with int8 weights and activations,
    the activations' ranges being ``ranges`` (from :func:`calibrate`)."""
    quantize_static = _quantize_static()
    with tempfile.TemporaryDirectory(prefix="sktransfer-quantize-") as tmp:
        folder = Path(tmp)
        prepared = _prepared(source, folder)
        cache = folder / "ranges.json"
        cache.write_text(
            json.dumps(
                {
                    "CLS": "TensorsData",
                    "calibration_method": {
                        "CLS": "CalibrationMethod",
                        "value": "CalibrationMethod.Percentile",
                    },
                    "data": {
                        name: {"CLS": "TensorData", "lowest": low, "highest": high}
                        for name, (low, high) in ranges.items()
                    },
                    "smooth_quant": False,
                }
            )
        )
        _write(quantize_static, prepared, target, None, cache)
    return {"int8": f"static, activation ranges at the {PERCENTILE} percentile"}
