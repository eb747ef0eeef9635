"""The image plan: what trains when an ImageEmbedder's backbone takes part.

When backbone blocks train, a copy of the embedder's backbone trains (the
shared loaded copy is never touched). For EfficientNet / MobileNetV3-style timm
models (``conv_stem -> bn1 -> blocks -> ...``, the default backbone among
them) the frozen prefix in front of the first trained block runs once per
``fit``, its feature maps are kept, and only the rest runs every epoch. Other
architectures (ResNets, ViTs, torchvision models) run the frozen prefix on
every batch, without gradients: their ``forward`` is not a plain sequence of
blocks, so there is no generic place to cut it.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from .._batching import resolve_num_workers, start_batch_size
from .._progress import counting
from ..exceptions import ParameterError
from ..image import ImageEmbedder, decoded_rows, run_module
from ..image._pooling import TimmFeatures
from ..io import image_rows
from ._blocks import freeze, named_blocks, timm_blocks


def augmentation(augment):
    """The PIL -> PIL transform for ``augment``."""
    from torchvision import transforms as T

    if augment == "light":
        return T.Compose(
            [
                T.RandomHorizontalFlip(),
                T.RandomAffine(degrees=10, translate=(0.1, 0.1), scale=(0.9, 1.1)),
            ]
        )
    if augment == "strong":
        return T.Compose(
            [
                T.RandomHorizontalFlip(),
                T.RandomAffine(degrees=20, translate=(0.15, 0.15), scale=(0.8, 1.2)),
                T.RandAugment(num_ops=2, magnitude=9),
            ]
        )
    if callable(augment) and not isinstance(augment, str):
        return augment
    raise ParameterError(
        "augment",
        augment,
        "use None, 'light', 'strong' or a transform that takes and "
        "returns a PIL image (e.g. a torchvision.transforms.Compose).",
    )


def image_blocks(body: nn.Module) -> list[list[str]]:
    """The blocks of an image embedder's module (see ``_blocks``)."""
    if isinstance(body, TimmFeatures):
        return timm_blocks(body.model, prefix="model.")
    return named_blocks(body.named_parameters())


def _stem_and_blocks(model: nn.Module):
    """``(stem modules, flat list of blocks)`` of an EfficientNet-style timm model, else None."""
    from timm.models.efficientnet import EfficientNet
    from timm.models.mobilenetv3 import MobileNetV3

    if not isinstance(model, (EfficientNet, MobileNetV3)):
        return None
    return [model.conv_stem, model.bn1], [block for stage in model.blocks for block in stage]


def prefix_cut(body: nn.Module) -> int | None:
    """Index of the first trained block when the frozen part in front of it can run
    once and be cached; None when it cannot (another architecture, or the stem trains)."""
    if not isinstance(body, TimmFeatures) or body.layer is not None:
        return None
    parts = _stem_and_blocks(body.model)
    if parts is None:
        return None
    stem, blocks = parts
    if any(p.requires_grad for m in stem for p in m.parameters()):
        return None
    for i, block in enumerate(blocks):
        if any(p.requires_grad for p in block.parameters()):
            return i
    return len(blocks)


class ImageBackbonePlan:
    """A copy of the backbone trains, fed decoded (and maybe augmented) images,
    or the cached output of its frozen prefix."""

    cache_prefix = True  # tests switch it off to compare both routes

    def __init__(self, embedder: ImageEmbedder, unfreeze, augment):
        self.embedder, self.unfreeze, self.augment = embedder, unfreeze, augment
        self.start = None
        self.n_rows = 0

    @property
    def num_workers(self) -> int:
        """The embedder's ``num_workers``, with ``"auto"`` resolved for these rows."""
        enc = self.embedder
        batch = start_batch_size(enc.batch_size, enc.device_, "image")
        return resolve_num_workers(enc.num_workers, enc.device_, self.n_rows, batch)

    def fit(self, X, targets=None):
        enc = self.embedder.fit(X)
        if enc.layer is not None and self.unfreeze and isinstance(enc.model_.module, TimmFeatures):
            raise ValueError(
                f"unfreeze={self.unfreeze!r} with layer={enc.layer!r}: for timm backbones, "
                "blocks can train only on the last layer's features (layer=None)."
            )
        if self.augment is not None:
            augmentation(self.augment)  # fail before any training
        body = copy.deepcopy(enc.model_.module)
        freeze(body, image_blocks(body), self.unfreeze)
        if self.augment is None and self.cache_prefix:
            self.start = prefix_cut(body)
        if self.start is not None:
            _, blocks = _stem_and_blocks(body.model)
            body.model.conv_stem, body.model.bn1 = nn.Identity(), nn.Identity()
            body.model.blocks = nn.Sequential(*blocks[self.start :])
        return self.inputs(X, training=True), body, enc.n_features_out_

    def inputs(self, X, training=False):
        rows = image_rows(X)
        self.n_rows = len(rows)
        preprocess = self.embedder.model_.preprocess
        if self.start is not None:
            return self._prefix_features(rows, preprocess)
        if training and self.augment is not None:
            from torchvision import transforms as T

            preprocess = T.Compose([augmentation(self.augment), preprocess])
        return decoded_rows(self.embedder, rows, preprocess=preprocess)

    def _prefix_features(self, rows, preprocess) -> torch.Tensor:
        """The frozen prefix's feature maps, computed with the shared backbone
        through the embedder's own loop: its precision, ``batch_size`` (``"auto"``
        halves on out-of-memory), workers and pinned memory. The outputs are
        plain tensors again once they leave the loop, so the layers after
        them can train."""
        enc = self.embedder
        stem, blocks = _stem_and_blocks(enc.model_.module.model)
        prefix = nn.Sequential(*stem, *blocks[: self.start])
        key = ("image-prefix", enc.embedding_id_, self.start, str(enc.device_))
        # out_dim is not read: a fit has rows, a prediction of no rows fails earlier
        with counting("frozen blocks", len(rows), "rows"):
            dataset = decoded_rows(enc, rows, preprocess=preprocess)
            features = run_module(enc, dataset, prefix, key, out_dim=0)
        return torch.from_numpy(features)
