"""Checking weight files that someone put in a cache folder before loading them.

torchvision names each published checkpoint after the start of its SHA-256
(``resnet18-f37072fd.pth``), and torch.hub checks that prefix when it
downloads. A file copied into ``$TORCH_HOME/hub/checkpoints`` by hand skips
that check, so it is done here, and the file is read with
``weights_only=True``: tensors and plain containers, never code.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlparse

from ._cache import file_digest
from ._plain import first_line
from .exceptions import ModelLoadError

_HEX = re.compile(r"[0-9a-f]{8,}")


def published_hash_prefix(file_name: str) -> str | None:
    """The hash prefix in a torchvision file name (after the last ``-``), or None."""
    stem = file_name.split(".", 1)[0]
    _, sep, tail = stem.rpartition("-")
    return tail if sep and _HEX.fullmatch(tail) else None


def check_torchvision_checkpoint(path, url: str | None = None):
    """Load a torchvision checkpoint found on disk, after checking it is the published file.

    Parameters
    ----------
    path : str or Path
        The local file, e.g. ``$TORCH_HOME/hub/checkpoints/resnet18-f37072fd.pth``.
    url : str, optional
        Where torchvision downloads it from. Its file name gives the expected
        hash prefix (the local name is checked against it); without it, the
        local file name does.

    Returns
    -------
    dict
        The state dict, read with ``torch.load(..., weights_only=True)``.

    Raises
    ------
    ValueError
        The file is not the published one (name or hash differ), or holds more
        than weights. The message names the path and what to do.
    """
    import torch

    path = Path(path)
    expected_name = os.path.basename(urlparse(url).path) if url else path.name
    fix = (
        f"Delete it and download {url or expected_name} again"
        if url
        else "Delete it and download the file again from the address torchvision gives"
    )
    if path.name != expected_name:
        raise ModelLoadError(
            f"{str(path)!r} is not {expected_name!r}, the file of {url}; torchvision looks "
            f"for the weights under that name. Save the download as {expected_name!r}."
        )
    expected = published_hash_prefix(expected_name)
    if expected is None:
        raise ModelLoadError(
            f"cannot check {str(path)!r}: its name {expected_name!r} carries no hash prefix "
            "(name-<8+ hex digits>.pth), so there is nothing to verify it against. Load it "
            "yourself with torch.load(path, weights_only=True) if you trust its origin."
        )
    actual = file_digest(path, remembered=False)[: len(expected)]
    if actual != expected:
        raise ModelLoadError(
            f"{str(path)!r} is not the published file: its SHA-256 starts with {actual}, "
            f"the published one with {expected}. {fix} (a partial or altered download)."
        )
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # UnpicklingError, RuntimeError: not plain weights
        first = first_line(exc) or type(exc).__name__
        raise ModelLoadError(
            f"cannot load {str(path)!r} as weights only ({first}). {fix}."
        ) from exc
