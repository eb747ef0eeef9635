"""Batching: how many rows per forward pass, how many loader workers, and the loop.

``batch_size="auto"`` starts from a size that suits the device and halves it
whenever the accelerator runs out of memory; the size that worked is remembered
for the same model and device, so later calls start there. ``num_workers="auto"``
decodes images in worker processes only when there is more than one batch and a
spare core to do it on, so decoding overlaps with the forward pass instead of
preceding it.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Hashable
from numbers import Integral

import numpy as np
import torch

# First batch size tried by batch_size="auto": on a CPU throughput is flat past a
# few dozen rows; on an accelerator larger batches fill the device, and an
# out-of-memory error halves them.
_AUTO_START = {
    ("cpu", "text"): 32,
    ("cpu", "image"): 32,
    ("cuda", "text"): 256,
    ("cuda", "image"): 256,
    ("mps", "text"): 64,
    ("mps", "image"): 64,
}

_WORKING: dict[Hashable, int] = {}  # (key) -> largest batch size that fitted
_LOCK = threading.Lock()


def check_batch_size(batch_size) -> None:
    """Raise if ``batch_size`` is neither a positive int nor ``"auto"``."""
    if batch_size == "auto":
        return
    if isinstance(batch_size, bool) or not isinstance(batch_size, Integral) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r}; use a positive int or 'auto'.")


def check_num_workers(num_workers) -> None:
    """Raise if ``num_workers`` is neither a non-negative int nor ``"auto"``."""
    if num_workers == "auto":
        return
    if isinstance(num_workers, bool) or not isinstance(num_workers, Integral) or num_workers < 0:
        raise ValueError(
            f"num_workers={num_workers!r}; use 0 (decode in the main process), a positive "
            "number of worker processes, or 'auto'."
        )


def start_batch_size(batch_size, device: torch.device, kind: str, key: Hashable = None) -> int:
    """The batch size to try first: ``batch_size`` itself, or for ``"auto"`` the
    size that last worked for ``key`` (or the device's default)."""
    if batch_size != "auto":
        return int(batch_size)
    with _LOCK:
        if key is not None and key in _WORKING:
            return _WORKING[key]
    return _AUTO_START.get((device.type, kind), 32)


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is an accelerator out-of-memory error."""
    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def _free_accelerator_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
    elif device.type == "mps":
        torch.mps.empty_cache()


def with_batch_size(
    run: Callable[[int], object],
    batch_size,
    device: torch.device,
    kind: str,
    key: Hashable = None,
):
    """Call ``run(size)``; with ``batch_size="auto"``, halve ``size`` on each
    out-of-memory error and remember the size that fitted under ``key``.

    An explicit int is used as given: an out-of-memory error is raised with a
    hint instead of silently changing what the user asked for.
    """
    size = start_batch_size(batch_size, device, kind, key)
    while True:
        try:
            result = run(size)
        except (RuntimeError, torch.cuda.OutOfMemoryError) as exc:
            if not is_out_of_memory(exc):
                raise
            _free_accelerator_memory(device)
            if batch_size != "auto":
                raise RuntimeError(
                    f"batch_size={batch_size} does not fit in {device} memory; pass a "
                    "smaller batch_size, or batch_size='auto' to find one."
                ) from exc
            if size == 1:
                raise
            size //= 2
            continue
        if batch_size == "auto" and key is not None:
            with _LOCK:
                _WORKING[key] = size
        return result


def resolve_num_workers(num_workers, device: torch.device, n_rows: int, batch_size: int) -> int:
    """Worker processes for decoding ``n_rows`` images.

    ``"auto"``: none for a single batch (starting workers costs more than it
    saves), none where processes do not start by ``fork`` (there each worker
    pickles the rows and re-imports the user's script) or inside a daemonic
    process (which may not have children); otherwise one per
    spare core, at most 8. On a CPU the forward pass needs the cores too, so
    half of them decode (at least one).
    """
    if num_workers != "auto":
        return int(num_workers)
    if (
        n_rows <= batch_size
        or multiprocessing.get_start_method() != "fork"
        or multiprocessing.current_process().daemon
    ):
        return 0
    cores = _usable_cores()
    if cores < 2:
        return 0
    spare = cores - 1 if device.type != "cpu" else cores // 2
    return max(1, min(8, spare))


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def run_loader(
    dataset,
    module: Callable,
    *,
    device: torch.device,
    batch_size: int,
    num_workers: int,
    autocast,
    channels_last: bool = False,
    out_dim: int,
    verbose: bool = False,
) -> np.ndarray:
    """Run ``module`` over a map-style ``dataset`` of image tensors, in order.

    Decoding runs in ``num_workers`` processes that prefetch the next batches;
    on CUDA batches go through pinned memory and non-blocking copies, and
    outputs stay on the device until the end, so the host never waits for the
    GPU between batches.
    """
    from torch.utils.data import DataLoader
    from tqdm.auto import tqdm

    cuda = device.type == "cuda"
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        num_workers=num_workers,
        pin_memory=cuda,
        prefetch_factor=2 if num_workers else None,
    )
    outputs = []
    with torch.inference_mode(), autocast():
        for batch in tqdm(loader, desc="images", unit="batch", disable=not verbose):
            batch = batch.to(device, non_blocking=True)
            if channels_last:
                batch = batch.contiguous(memory_format=torch.channels_last)
            outputs.append(module(batch).float())
    if not outputs:
        return np.zeros((0, out_dim), dtype=np.float32)
    return torch.cat(outputs).cpu().numpy()
