"""Image fine-tuning: ImageClassifier and ImageRegressor.

When backbone blocks train, a copy of the encoder's backbone trains (the
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
from ..image import ImageEmbedder
from ..image._pooling import TimmFeatures
from ..io import ImageDataset, image_rows
from ._base import BaseFineTuner, TunedClassifierMixin, TunedRegressorMixin
from ._blocks import freeze, named_blocks, timm_blocks
from ._docs import documented


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
    raise ValueError(
        f"augment={augment!r}; use None, 'light', 'strong' or a transform that takes and "
        "returns a PIL image (e.g. a torchvision.transforms.Compose)."
    )


def image_blocks(body: nn.Module) -> list[list[str]]:
    """The blocks of an image encoder's module (see ``_blocks``)."""
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

    def __init__(self, encoder: ImageEmbedder, unfreeze, augment):
        self.encoder, self.unfreeze, self.augment = encoder, unfreeze, augment
        self.start = None
        self.n_rows = 0

    @property
    def num_workers(self) -> int:
        """The encoder's ``num_workers``, with ``"auto"`` resolved for these rows."""
        enc = self.encoder
        batch = start_batch_size(enc.batch_size, enc.device_, "image")
        return resolve_num_workers(enc.num_workers, enc.device_, self.n_rows, batch)

    def fit(self, X, targets=None):
        enc = self.encoder.fit(X)
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
        preprocess = self.encoder.model_.preprocess
        if self.start is not None:
            return self._prefix_features(rows, preprocess)
        if training and self.augment is not None:
            from torchvision import transforms as T

            preprocess = T.Compose([augmentation(self.augment), preprocess])
        return ImageDataset(rows, preprocess)

    def _prefix_features(self, rows, preprocess) -> torch.Tensor:
        """The frozen prefix's feature maps, computed with the shared backbone."""
        from torch.utils.data import DataLoader

        stem, blocks = _stem_and_blocks(self.encoder.model_.module.model)
        prefix = nn.Sequential(*stem, *blocks[: self.start])
        loader = DataLoader(
            ImageDataset(rows, preprocess),
            batch_size=start_batch_size(self.encoder.batch_size, self.encoder.device_, "image"),
            num_workers=self.num_workers,
        )
        device = self.encoder.device_
        # no_grad, not inference_mode: these tensors feed layers that train.
        with torch.no_grad():
            chunks = [prefix(batch.to(device)).float().cpu() for batch in loader]
        return torch.cat(chunks)


class _ImageFineTuner(BaseFineTuner):
    _default_encoder = ImageEmbedder

    def __init__(
        self,
        *,
        encoder=None,
        augment=None,
        head="linear",
        dropout=0.0,
        unfreeze=0,
        lr=3e-3,
        backbone_lr=1e-4,
        max_epochs=20,
        batch_size=32,
        optimizer="adamw",
        weight_decay=0.01,
        lr_schedule=None,
        warmup=0.1,
        early_stopping=False,
        validation_fraction=0.1,
        patience=5,
        restore_best=True,
        random_state=None,
        device="auto",
        verbose=0,
        warm_start=False,
    ):
        self.encoder = encoder
        self.augment = augment
        self.head = head
        self.dropout = dropout
        self.unfreeze = unfreeze
        self.lr = lr
        self.backbone_lr = backbone_lr
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.warmup = warmup
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.restore_best = restore_best
        self.random_state = random_state
        self.device = device
        self.verbose = verbose
        self.warm_start = warm_start

    def _backbone_plan(self, encoder, unfreeze):
        return ImageBackbonePlan(encoder, unfreeze, self.augment)


_IMAGE_DOC = dict(
    encoder="ImageEmbedder",
    example='model="resnet18", image_size=160',
    blocks="timm's own block grouping for timm models; stages' blocks such as "
    "``layer4.1`` for torchvision models",
)


@documented(
    "Predict numbers from images with a pretrained backbone and a trained head.",
    tail="""Examples
--------
>>> import numpy as np
>>> from sktransfer import ImageEmbedder, ImageRegressor
>>> rng = np.random.default_rng(0)
>>> images = rng.integers(0, 255, (8, 32, 32, 3), dtype=np.uint8)
>>> brightness = images.mean(axis=(1, 2, 3))
>>> reg = ImageRegressor(encoder=ImageEmbedder(image_size=64), random_state=0)
>>> reg.fit(images, brightness).predict(images).shape
(8,)
""",
    **_IMAGE_DOC,
)
class ImageRegressor(TunedRegressorMixin, _ImageFineTuner):
    pass


@documented(
    "Classify images with a pretrained backbone, a trained head and, optionally, "
    "its last blocks fine-tuned.",
    tail="""Examples
--------
>>> import numpy as np
>>> from sktransfer import ImageClassifier, ImageEmbedder
>>> rng = np.random.default_rng(0)
>>> images = rng.integers(0, 255, (8, 32, 32, 3), dtype=np.uint8)
>>> labels = ["cat", "dog"] * 4
>>> clf = ImageClassifier(encoder=ImageEmbedder(image_size=64), unfreeze=1,
...                       max_epochs=2, random_state=0)
>>> clf.fit(images, labels).predict_proba(images).shape
(8, 2)
""",
    **_IMAGE_DOC,
)
class ImageClassifier(TunedClassifierMixin, _ImageFineTuner):
    def __init__(
        self,
        *,
        encoder=None,
        augment=None,
        head="linear",
        dropout=0.0,
        unfreeze=0,
        lr=3e-3,
        backbone_lr=1e-4,
        max_epochs=20,
        batch_size=32,
        optimizer="adamw",
        weight_decay=0.01,
        lr_schedule=None,
        warmup=0.1,
        early_stopping=False,
        validation_fraction=0.1,
        patience=5,
        restore_best=True,
        class_weight=None,
        random_state=None,
        device="auto",
        verbose=0,
        warm_start=False,
    ):
        super().__init__(
            encoder=encoder,
            augment=augment,
            head=head,
            dropout=dropout,
            unfreeze=unfreeze,
            lr=lr,
            backbone_lr=backbone_lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            optimizer=optimizer,
            weight_decay=weight_decay,
            lr_schedule=lr_schedule,
            warmup=warmup,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            patience=patience,
            restore_best=restore_best,
            random_state=random_state,
            device=device,
            verbose=verbose,
            warm_start=warm_start,
        )
        self.class_weight = class_weight
