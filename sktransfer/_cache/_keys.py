"""Cache keys: digests of row contents and of what determines a backbone's output."""

from __future__ import annotations

import functools
import hashlib
import json
from importlib import metadata


def digest(*parts: bytes) -> str:
    """SHA-256 over length-prefixed parts (so no two part lists collide)."""
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()


def namespace_of(identity: dict) -> str:
    """Digest of what determines a backbone's output (model, weights, preprocessing…)."""
    return digest(json.dumps(identity, sort_keys=True, default=str).encode())[:32]


@functools.cache
def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def library_versions(distributions) -> dict:
    """Installed versions of the libraries that compute an embedding.

    A new torch, transformers or timm can change the numbers a model produces
    (kernels, default options, preprocessing), so their versions are part of
    every namespace. Versions are read once per process.
    """
    return {name: _version(name) for name in sorted(distributions)}
