"""Image backbones: a name + weights -> a module that maps images to vectors.

The name resolves through the backbone registry (:mod:`sktransfer._backbones`):
a registered entry, or a family (torchvision, timm). Preprocessing comes from
the weights' own config, only the input size may be overridden. Loaded modules
are shared through the store of loaded models.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import nn

from .._backbones import Backbone, get_backbone
from .._registry import shared_model
from ._pooling import PooledFeatures, check_pooling
from ._size import check_image_size
from ._state_dict import check_weights_path, weights_identity

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class ImageBackbone:
    """A ready-to-run image embedder."""

    module: nn.Module  # (N, 3, H, W) float -> (N, D)
    preprocess: object  # PIL.Image -> (3, H, W) float tensor
    input_size: int = 224  # side of the preprocessed square image
    identity: dict = field(default_factory=dict)  # what determines the output


def build_image_backbone(
    *, model, weights, family, pooling, layer, image_size, device
) -> ImageBackbone:
    """Load (or fetch from the store of loaded models) and wrap an image backbone."""
    check_pooling(pooling)
    check_image_size(image_size)
    if layer is not None and (isinstance(layer, bool) or not isinstance(layer, (int, str))):
        raise TypeError(f"layer={layer!r} must be None, a stage index (int) or a node name (str).")
    entry = get_backbone(model, kind="image", family=family)
    if entry.family in ("timm", "torchvision"):  # a registered loader reads weights its own way
        check_weights_path(weights)
    identity = _entry_identity(entry, weights)
    key = (entry.family, identity["arch"], identity["weights"], str(device))
    base = shared_model(("image", *key), lambda: _load(entry, weights).eval().to(device))
    preprocess, cfg = _preprocess(entry, base, weights, image_size)
    size = _input_size(cfg)
    features = entry.features or _pooled_features
    module = features(base, pooling, layer, size, key)
    identity = {
        "family": entry.family,
        **identity,
        "pooling": pooling,
        "layer": layer,
        "preprocess": {k: str(v) for k, v in sorted(cfg.items())},
    }
    return ImageBackbone(
        module=module.eval(), preprocess=preprocess, input_size=size, identity=identity
    )


def _load(entry: Backbone, weights):
    """``entry``'s module; with ``weights=None`` its random initialisation is seeded,
    so every load (each device, each process, after unpickling) gives the same
    weights and the embeddings are reproducible (and safe to cache)."""
    if weights is not None:
        return entry.loader(weights)
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return entry.loader(weights)


def _entry_identity(entry: Backbone, weights) -> dict:
    if entry.identity is not None:
        return dict(entry.identity(weights))
    # A registered loader: its name and where its code lives identify it.
    loader = (
        f"{getattr(entry.loader, '__module__', '')}.{getattr(entry.loader, '__qualname__', '')}"
    )
    return {"arch": entry.name, "weights": weights_identity(weights), "loader": loader}


def _input_size(cfg: dict) -> int:
    if "input_size" in cfg:
        return int(cfg["input_size"][-1])
    return int((cfg.get("crop_size") or [224])[0])


def _preprocess(entry: Backbone, module, weights, image_size):
    if callable(entry.preprocess):
        return entry.preprocess(module, weights, image_size)
    return config_transform(entry.preprocess or {}, image_size)


def config_transform(config: dict, image_size=None):
    """A resize / center-crop / normalise transform from a small config dict
    (``input_size``, ``mean``, ``std``, ``interpolation``, ``crop_pct``)."""
    import timm.data

    known = {"input_size", "mean", "std", "interpolation", "crop_pct"}
    unknown = sorted(set(config) - known)
    if unknown:
        raise ValueError(f"preprocess keys {unknown} are not known; use some of {sorted(known)}.")
    side = int(image_size or config.get("input_size", 224))
    cfg = {
        "input_size": (3, side, side),
        "mean": tuple(config.get("mean", IMAGENET_MEAN)),
        "std": tuple(config.get("std", IMAGENET_STD)),
        "interpolation": config.get("interpolation", "bilinear"),
        "crop_pct": float(config.get("crop_pct", 1.0)),
    }
    return timm.data.create_transform(**cfg, is_training=False), cfg


def _pooled_features(module, pooling, layer, size, key):
    if layer is not None:
        raise ValueError(
            f"layer={layer!r}: a registered backbone has no stages to pick from; "
            "return the features you want from its loader."
        )
    if pooling in ("token", "cls"):
        pooling = "token"
    return PooledFeatures(module, pooling)
