"""Device resolution and device preparation: one place decides where a model
runs and how its module is laid out for that device."""

from __future__ import annotations

import torch

from ._warn import warn
from .exceptions import Named, ParameterError


def resolve_device(device="auto") -> torch.device:
    """Turn ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"`` or a
    :class:`torch.device` into a usable :class:`torch.device`.

    ``"auto"`` picks CUDA, then Apple MPS, then the CPU. An explicit device that
    this machine lacks is an error, so a typo never silently runs on the CPU.
    """
    if device is None or device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ParameterError(
            "device", device, "not a device name; use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'."
        ) from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ParameterError(
            "device",
            device,
            "CUDA is not available on this machine; use ",
            Named("device", "auto"),
            " or ",
            Named("device", "cpu"),
            ".",
        )
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ParameterError(
            "device",
            device,
            "MPS is not available on this machine; use ",
            Named("device", "auto"),
            " or ",
            Named("device", "cpu"),
            ".",
        )
    return dev


def device_after_unpickle(requested, saved: torch.device) -> torch.device:
    """Device for an estimator unpickled on a possibly different machine.

    An estimator fitted on a GPU must still load on a CPU-only machine, so a
    device that is missing here falls back to ``"auto"`` with a warning.
    """
    try:
        return resolve_device(requested)
    except ValueError:
        fallback = resolve_device("auto")
        warn(
            f"this estimator was fitted on {saved} (device={requested!r}), which "
            f"this machine lacks; it runs on {fallback} instead.",
            RuntimeWarning,
        )
        return fallback


def prepared_module(key, module, *, channels_last=False, compile=False, part: str = ""):
    """``module`` laid out and compiled for fast inference (on the device it is
    on already): the one place where embedders apply :func:`torch.compile`.

    ``channels_last`` stores 4-D weights as NHWC, the layout convolution
    kernels of cuDNN and oneDNN run fastest on; ``compile`` wraps the module in
    :func:`torch.compile` (``compile`` may be a dict of its keyword arguments);
    ``part`` names the submodule to compile instead of the whole (e.g.
    ``"0.model"``, the transformer inside a SentenceTransformer, whose
    tokenising wrapper cannot be traced), in a copy of ``module``. These change
    speed, not results (up to float rounding). The prepared copy is shared
    under ``key`` plus the settings, so the plain module that other embedders
    share is never modified.
    """
    if not channels_last and not compile:
        return module
    from ._registry import shared_model

    def prepare():
        import copy

        out = module
        if channels_last or part:
            out = copy.deepcopy(module)
        if channels_last:
            out = out.to(memory_format=torch.channels_last)
        if compile and part:
            parent, _, name = part.rpartition(".")
            holder = out.get_submodule(parent) if parent else out
            setattr(holder, name, torch.compile(getattr(holder, name), **compile_options(compile)))
        elif compile:
            out = torch.compile(out, **compile_options(compile))
        return out

    options = tuple(sorted(compile_options(compile).items())) if compile else None
    return shared_model(("prepared", key, bool(channels_last), options, part), prepare)


def compile_options(compile) -> dict:
    """Keyword arguments for :func:`torch.compile` from a ``compile`` parameter."""
    return dict(compile) if isinstance(compile, dict) else {}


def check_compile(compile, runtime: str = "torch") -> None:
    """Raise unless ``compile`` is a bool or a dict of torch.compile options
    (and off unless the model runs on torch)."""
    if compile is not False and runtime != "torch":
        raise ParameterError(
            "compile",
            compile,
            f"torch.compile compiles torch models; with runtime={runtime!r} leave compile=False "
            "(ONNX Runtime optimises the graph itself).",
        )
    if isinstance(compile, dict):
        import inspect

        known = set(inspect.signature(torch.compile).parameters) - {"model"}
        unknown = sorted(set(compile) - known)
        if unknown:
            raise ParameterError(
                "compile",
                compile,
                f"{unknown} are not torch.compile arguments; use some of {sorted(known)}.",
            )
        return
    check_flag("compile", compile)


def check_flag(name: str, value) -> None:
    """Raise unless ``value`` is a bool."""
    if not isinstance(value, bool):
        more = " or a dict of torch.compile arguments" if name == "compile" else ""
        raise ParameterError(name, value, f"use True or False{more}.")
