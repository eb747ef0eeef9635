"""Numeric precision of the forward pass: float32, or autocast to 16 bits.

Reduced precision runs the matrix products in bfloat16 or float16 through
``torch.autocast`` while the weights stay float32, so one loaded model serves
every precision; embeddings always come back as float32. On a GPU this is
where the speed is (tensor cores); on a CPU bfloat16 helps only where the
processor has bfloat16 instructions.
"""

from __future__ import annotations

import contextlib
from functools import partial

import torch

PRECISIONS = {"float32": None, "bfloat16": torch.bfloat16, "float16": torch.float16}


def check_precision(precision, device: torch.device) -> None:
    """Raise if ``precision`` is unknown or cannot autocast on ``device``."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision={precision!r}; use one of {', '.join(map(repr, PRECISIONS))}.")
    if precision == "float32":
        return
    if not torch.amp.is_autocast_available(device.type):
        raise ValueError(
            f"precision={precision!r} needs autocast, which torch does not offer on "
            f"{device}; use precision='float32' or another device."
        )


def autocast_for(precision, device: torch.device):
    """A zero-argument factory of the autocast context for ``precision`` (none
    for float32, and for the precisions other runtimes than torch run)."""
    dtype = PRECISIONS.get(precision)
    if dtype is None:
        return contextlib.nullcontext
    return partial(torch.autocast, device_type=device.type, dtype=dtype)
