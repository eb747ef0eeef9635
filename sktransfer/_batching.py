"""Batching: how many rows per forward pass, how many loader workers, and the loop.

``batch_size="auto"`` starts from a size that suits the device and halves it
whenever the accelerator runs out of memory; the size that worked is remembered
for the same model and device, so later calls start there. ``num_workers="auto"``
decodes images in worker processes only when there are files (or encoded bytes)
to decode, more than one batch and a spare core to do it on, so decoding
overlaps with the forward pass instead of preceding it.

torch is imported by the functions that run a model, not with this module: the
numpy embedders check their ``batch_size`` here too, and never import torch.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING

import numpy as np

from ._whole import is_whole
from .exceptions import ParameterError

if TYPE_CHECKING:
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


def check_batch_size(batch_size, *, auto: bool = True) -> None:
    """Raise if ``batch_size`` is not a positive int, or ``"auto"`` where ``auto``
    (a numpy embedder has no device memory to size a batch for: ``auto=False``)."""
    if auto and batch_size == "auto":
        return
    if not is_whole(batch_size, 1):
        fix = "a positive int or 'auto'" if auto else "a positive number of texts, e.g. 1024"
        raise ParameterError("batch_size", batch_size, f"use {fix}.")


def check_num_workers(num_workers) -> None:
    """Raise if ``num_workers`` is neither a non-negative int nor ``"auto"``."""
    if num_workers == "auto":
        return
    if not is_whole(num_workers, 0):
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
    import torch

    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def _free_accelerator_memory(device: torch.device) -> None:
    import torch

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
    import torch

    size = start_batch_size(batch_size, device, kind, key)
    while True:
        try:
            result = run(size)
        except (RuntimeError, torch.cuda.OutOfMemoryError) as exc:
            size = smaller_batch_size(exc, size, batch_size, device)
            continue
        remember_batch_size(batch_size, key, size)
        return result


def smaller_batch_size(exc: BaseException, size: int, batch_size, device: torch.device) -> int:
    """The size to retry with after ``exc`` was raised at ``size``: half of it
    when ``exc`` is an out-of-memory error under ``batch_size="auto"``.
    Otherwise ``exc`` is raised again (with a hint for an explicit int)."""
    if not is_out_of_memory(exc):
        raise exc
    _free_accelerator_memory(device)
    if batch_size != "auto":
        raise RuntimeError(
            f"batch_size={batch_size} does not fit in {device} memory; pass a "
            "smaller batch_size, or batch_size='auto' to find one."
        ) from exc
    if size == 1:
        raise exc
    return size // 2


def remember_batch_size(batch_size, key: Hashable, size: int) -> None:
    """Under ``batch_size="auto"``, start later calls for ``key`` at ``size``."""
    if batch_size == "auto" and key is not None:
        with _LOCK:
            _WORKING[key] = size


def resolve_num_workers(
    num_workers, device: torch.device, n_rows: int, batch_size: int, decodes: bool = True
) -> int:
    """Worker processes for decoding ``n_rows`` images.

    ``"auto"``: none for rows already in memory (``decodes=False``: arrays and
    PIL images have nothing to decode, and a worker's start plus sending its
    tensors back costs more than the resizing it would take over), none for a
    single batch (starting workers costs more than it saves), none where
    processes do not start by ``fork`` (there each worker pickles the rows and
    re-imports the user's script) or inside a daemonic process (which may not
    have children); otherwise one per spare core, at most 8. On a CPU the
    forward pass needs the cores too, so half of them decode (at least one).
    """
    if num_workers != "auto":
        return int(num_workers)
    if (
        not decodes
        or n_rows <= batch_size
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


def iter_loader(dataset, module: Callable, **params):
    """Run ``module`` over a map-style ``dataset`` of image tensors, in order,
    yielding each batch's outputs as a float32 array as soon as it is computed.

    ``params`` are those of :func:`_forward` (``device``, ``batch_size``,
    ``num_workers``, ``autocast``, ``channels_last``, ``kind``,
    ``key``). One ``DataLoader`` serves all rows, so ``num_workers="auto"`` is
    resolved from their number. With ``batch_size="auto"`` an out-of-memory
    error halves the batch size and a new loader resumes from the first row
    not yet yielded; the size that fitted is remembered under ``key``.
    """
    for outputs in _forward(dataset, module, **params):
        yield outputs.cpu().numpy()


def run_loader(dataset, module: Callable, *, out_dim: int, **params) -> np.ndarray:
    """All of :func:`iter_loader`'s outputs as one array (``out_dim`` columns
    when there are no rows). They stay on the device until the end, so the
    host never waits for the GPU between batches."""
    outputs = list(_forward(dataset, module, **params))
    if not outputs:
        return np.zeros((0, out_dim), dtype=np.float32)
    import torch

    return torch.cat(outputs).cpu().numpy()


def _forward(
    dataset,
    module: Callable,
    *,
    device: torch.device,
    batch_size,
    num_workers,
    autocast,
    channels_last: bool = False,
    kind: str = "image",
    key: Hashable = None,
):
    """The loop: batches of ``dataset`` through ``module``, outputs left on the device.

    Decoding runs in worker processes that prefetch the next batches; on CUDA
    batches go through pinned memory and non-blocking copies. Each batch is
    computed under inference mode and autocast, which are left before it is
    yielded so that they do not leak into the caller's code. The rows done
    are counted in the open progress display, if any (``_progress.advance``).
    """
    import torch
    from torch.utils.data import DataLoader, Subset

    from ._progress import advance

    n_rows = len(dataset)
    size = start_batch_size(batch_size, device, kind, key)
    decodes = getattr(dataset, "decodes", True)
    workers = resolve_num_workers(num_workers, device, n_rows, size, decodes)
    cuda = device.type == "cuda"
    done = 0  # rows yielded so far
    while done < n_rows:
        rest = dataset if done == 0 else Subset(dataset, range(done, n_rows))
        loader = DataLoader(
            rest,
            batch_size=size,
            num_workers=workers,
            pin_memory=cuda,
            prefetch_factor=2 if workers else None,
        )
        batches = iter(loader)
        while True:
            try:
                batch = next(batches, None)
                if batch is None:
                    break
                with torch.inference_mode(), autocast():
                    batch = batch.to(device, non_blocking=True)
                    if channels_last:
                        batch = batch.contiguous(memory_format=torch.channels_last)
                    outputs = module(batch).float()
            except (RuntimeError, torch.cuda.OutOfMemoryError) as exc:
                del batches, loader  # stop its workers before starting new ones
                size = smaller_batch_size(exc, size, batch_size, device)
                break
            done += len(outputs)
            advance(len(outputs))
            yield outputs
    remember_batch_size(batch_size, key, size)
