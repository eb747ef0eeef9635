"""``runtime``: what executes a backbone, and the precisions each one offers."""

from __future__ import annotations

from ..exceptions import ParameterError

# runtime -> the precisions it runs
RUNTIMES = {
    "torch": ("float32", "bfloat16", "float16"),
    "onnx": ("float32", "int8"),
}


def check_runtime(runtime, precision, *, no_int8: str | None = None) -> None:
    """Raise a :class:`ParameterError` unless ``runtime`` is known and runs
    ``precision``; ``no_int8``: why int8 is not offered for this kind of model."""
    if runtime not in RUNTIMES:
        raise ParameterError(
            "runtime",
            runtime,
            "use 'torch' or 'onnx' (ONNX Runtime, pip install 'sktransfer[onnx]'; "
            "faster on a CPU, see docs/guide/speed.md).",
        )
    if precision == "int8" and no_int8:
        raise ParameterError("precision", precision, no_int8)
    allowed = RUNTIMES[runtime]
    if precision not in allowed:
        other = next((r for r, ps in RUNTIMES.items() if precision in ps and r != runtime), None)
        fix = f"with runtime={runtime!r} use precision {' or '.join(map(repr, allowed))}"
        if other is not None:
            fix += f", or runtime={other!r} for precision={precision!r}"
        raise ParameterError("precision", precision, fix + ".")


def needs_torch(embedder, what: str) -> None:
    """Raise unless ``embedder`` runs on torch: ``what`` (training its blocks)
    needs the torch module, which an ONNX file is not."""
    runtime = getattr(embedder, "runtime", "torch")
    if runtime != "torch":
        raise ParameterError(
            "runtime",
            runtime,
            f"{what} needs the torch runtime: pass an embedder with runtime='torch' "
            "(runtime='onnx' serves frozen embeddings: unfreeze=0).",
        )
