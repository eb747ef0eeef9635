"""int8 for transformers: dynamic quantization of the weight matrices, the
operators left in float chosen by measurement.

Weights are int8 with one scale per output channel, activations are quantized
per batch at run time, and only the matrix products with constant weights are
quantized (the attention products between activations stay in float). Whether
that keeps the vectors is measured when the model is exported: on a fixed set
of probe texts the int8 graph's vectors must keep a mean cosine of
:data:`MEAN_COSINE` (and a least one of :data:`MIN_COSINE`) with the float32
graph's. MiniLM does with every product quantized; MPNet does not (about 0.90:
the feed-forward output projection reads GELU outputs with a few very large
values), so the next step leaves those projections in float (MPNet: 0.99 on
the probe texts and on reviews). The manifest of the exported file records
the step chosen and the cosines measured.
When no step keeps the vectors, the last is used with a warning naming the
cosine it reached.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from .._warn import warn
from ._quiet import quiet_quantizer

MEAN_COSINE = 0.985
MIN_COSINE = 0.97


def _feed_forward_outputs(source: Path) -> list[str]:
    """The matrix products that project a feed-forward block's activations back
    (``.../output/dense/MatMul`` outside attention, in transformers' naming)."""
    import onnx

    graph = onnx.load(str(source), load_external_data=False).graph
    return [
        node.name
        for node in graph.node
        if node.op_type == "MatMul"
        and "/output/dense" in node.name
        and "attention" not in node.name
    ]


def _quantize(source: Path, target: Path, exclude: list[str]) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with quiet_quantizer():
        quantize_dynamic(
            str(source),
            str(target),
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul"],
            nodes_to_exclude=exclude,
            extra_options={"MatMulConstBOnly": True},
        )


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)


def quantize_matmuls_int8(
    source: Path, target: Path, probe: Callable[[Path], np.ndarray], name: str = "the model"
) -> dict:
    """Write ``source``'s graph to ``target`` with int8 weights in its matrix
    products, leaving in float what the measurement asks; ``probe(path)`` gives
    a graph's vectors of the probe texts. Returns what was chosen and measured."""
    reference = probe(source)
    steps = [
        ("every product", lambda: []),
        ("feed-forward outputs in float", lambda: _feed_forward_outputs(source)),
    ]
    for label, exclude in steps:  # the graph is read for names only if a step fails
        _quantize(source, target, exclude())
        cos = _cosines(probe(target), reference)
        chosen = {"int8": label, "mean_cosine": float(cos.mean()), "min_cosine": float(cos.min())}
        if cos.mean() >= MEAN_COSINE and cos.min() >= MIN_COSINE:
            return chosen
    warn(
        f"int8 moves the vectors of {name} to a mean cosine of {cos.mean():.3f} with float32 "
        f"(at least {MEAN_COSINE} was sought); precision='float32' keeps them.",
        RuntimeWarning,
    )
    return chosen
