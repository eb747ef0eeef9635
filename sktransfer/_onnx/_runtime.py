"""``runtime``: what executes a backbone, and the precisions each one offers."""

from __future__ import annotations

from ..exceptions import ParameterError

# runtime -> the precisions it runs
RUNTIMES = {
    "torch": ("float32", "bfloat16", "float16"),
    "onnx": ("float32", "int8"),
}


def check_runtime(runtime, precision) -> None:
    """Raise a :class:`ParameterError` unless ``runtime`` is known and runs
    ``precision``."""
    if runtime not in RUNTIMES:
        raise ParameterError(
            "runtime",
            runtime,
            "use 'torch' or 'onnx' (ONNX Runtime, pip install 'sktransfer[onnx]'; "
            "faster on a CPU, see docs/guide/speed.md).",
        )
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


def check_loaded(embedder, loaded: dict) -> None:
    """Raise when ``embedder``'s runtime or precision no longer matches what
    was loaded at fit (``loaded``: its identity then) and the change needs
    another model: on torch the precision is applied at every call, an ONNX
    graph is chosen (exported, quantized, calibrated) when fitting."""
    was = loaded.get("runtime", "torch"), loaded.get("precision", embedder.precision)
    now = embedder.runtime, embedder.precision
    if now[0] == was[0] and (now[0] == "torch" or now[1] == was[1]):
        return
    raise ParameterError(
        "runtime" if now[0] != was[0] else "precision",
        now[0] if now[0] != was[0] else now[1],
        f"it was fitted with runtime={was[0]!r}, precision={was[1]!r}; an ONNX graph is "
        "chosen when fitting, so call fit again after changing these.",
    )
