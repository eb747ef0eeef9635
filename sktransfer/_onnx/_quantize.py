"""int8 for transformers: dynamic quantization of the weight matrices.

One scale per output channel keeps MiniLM's vectors at a mean cosine of 0.99
to the float32 ones and the accuracy within 0.01 (benchmarks/bench_cpu.py); one
scale per matrix moves them further, at the same speed. Activations
are quantized per batch at run time (no calibration set), and only the
matrix products with constant weights are quantized: the attention products
between activations stay in float.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def _quiet_root_logger():
    """ONNX Runtime's quantizer advises through the root logger; not here."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def quantize_matmuls_int8(source: Path, target: Path) -> None:
    """Write ``source``'s graph to ``target`` with int8 per-channel weights in
    its matrix products (dynamic activation quantization)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _quiet_root_logger():
        quantize_dynamic(
            str(source),
            str(target),
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul"],
            extra_options={"MatMulConstBOnly": True},
        )
