"""Device resolution: one place decides where a model runs."""

from __future__ import annotations

import warnings

import torch


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
        raise ValueError(
            f"device={device!r} is not a device name; use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'."
        ) from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available on this "
            "machine; use device='auto' or device='cpu'."
        )
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(
            f"device={device!r} was requested but MPS is not available on this "
            "machine; use device='auto' or device='cpu'."
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
        warnings.warn(
            f"this estimator was fitted on {saved} (device={requested!r}), which "
            f"this machine lacks; it runs on {fallback} instead.",
            RuntimeWarning,
            stacklevel=3,
        )
        return fallback
