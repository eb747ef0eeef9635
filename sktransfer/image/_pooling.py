"""Pooling: a backbone's feature map or token sequence -> one vector per image."""

from __future__ import annotations

import torch
from torch import nn

POOLINGS = ("auto", "avg", "max", "token", "cls")


def check_pooling(pooling) -> None:
    if pooling not in POOLINGS:
        raise ValueError(f"pooling={pooling!r}; use one of {POOLINGS}.")


def pool(
    features: torch.Tensor, pooling: str, *, channels_last=False, prefix_tokens=0
) -> torch.Tensor:
    """Pool a feature map (N,C,H,W), (N,H,W,C) or token sequence (N,T,C) to (N,C)."""
    if features.ndim == 2:
        return features
    if features.ndim == 4:
        if channels_last:
            features = features.permute(0, 3, 1, 2)
        if pooling in ("token", "cls"):
            raise ValueError(
                "pooling='token' needs a transformer's token sequence; this layer is a "
                "feature map, use 'avg' or 'max'."
            )
        return features.amax(dim=(2, 3)) if pooling == "max" else features.mean(dim=(2, 3))
    if features.ndim == 3:
        if pooling in ("token", "cls", "auto"):
            return features[:, 0]
        patches = features[:, prefix_tokens:]
        return patches.amax(dim=1) if pooling == "max" else patches.mean(dim=1)
    raise ValueError(f"cannot pool features of shape {tuple(features.shape)}.")


class PooledFeatures(nn.Module):
    """Any module's output, pooled: how a registered backbone becomes vectors."""

    def __init__(self, model: nn.Module, pooling: str):
        super().__init__()
        self.model, self.pooling = model, pooling

    def forward(self, x):
        return pool(self.model(x), "avg" if self.pooling == "auto" else self.pooling)


class TimmFeatures(nn.Module):
    """timm model -> pooled features of the last (or an intermediate) stage."""

    def __init__(self, model: nn.Module, pooling: str, layer):
        super().__init__()
        self.model, self.pooling, self.layer = model, pooling, layer
        self.channels_last = getattr(model, "output_fmt", "NCHW") == "NHWC"
        self.prefix_tokens = getattr(model, "num_prefix_tokens", 0)

    def forward(self, x):
        if self.layer is not None:
            feats = self.model.forward_intermediates(
                x, indices=[self.layer], intermediates_only=True
            )[0]
            return pool(feats, "avg" if self.pooling == "auto" else self.pooling)
        feats = self.model.forward_features(x)
        if self.pooling == "auto":  # exactly the model's own pre-logits features
            return self.model.forward_head(feats, pre_logits=True)
        return pool(
            feats, self.pooling, channels_last=self.channels_last, prefix_tokens=self.prefix_tokens
        )


class GraphFeatures(nn.Module):
    """torchvision model cut at one graph node, then pooled."""

    def __init__(self, extractor: nn.Module, pooling: str, prefix_tokens: int):
        super().__init__()
        self.extractor, self.pooling, self.prefix_tokens = extractor, pooling, prefix_tokens

    def forward(self, x):
        feats = self.extractor(x)["features"]
        return pool(feats, self.pooling, prefix_tokens=self.prefix_tokens)
