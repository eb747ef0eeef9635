"""Soft targets: train a fine-tuning classifier on another model's class
probabilities (knowledge distillation), mixed with the labels where known.

The loss compares the net's outputs with one float32 row per example: the
teacher's probabilities softened by the temperature, then the class code
(``-1``: no label). :func:`fit_soft` hands these rows and the loss to the
core's :func:`~sktransfer.finetune._core.train`, so the plan, head, weights,
seeding and early stopping are the estimator's own.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.special import softmax
from torch import nn
from torch.nn import functional as F


def soften(proba: np.ndarray, temperature: float) -> np.ndarray:
    """``proba ** (1 / T)``, renormalised: the teacher's softmax at temperature T
    when ``proba`` is a softmax of logits."""
    return softmax(np.log(np.clip(proba, 1e-12, None)) / temperature, axis=1)


class SoftTargetLoss(nn.Module):
    """Per row: ``alpha * KL(q_T || softmax(z / T)) * T**2 + (1 - alpha) * CE(z, label)``
    on labelled rows, the KL term alone on unlabelled rows (Hinton et al., 2015;
    ``T**2`` keeps the gradients of both terms on one scale).

    Targets of shape (n, n_classes + 1) are the softened teacher probabilities
    ``q_T`` and the class code (``-1``: unlabelled); 1-D targets are class codes,
    trained with plain cross-entropy (a later ``partial_fit`` on labels).
    """

    def __init__(self, temperature: float = 1.0, alpha: float = 0.5, reduction: str = "none"):
        super().__init__()
        self.temperature, self.alpha, self.reduction = temperature, alpha, reduction

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if target.ndim == 1:
            return F.cross_entropy(logits, target.long(), reduction=self.reduction)
        soft, codes = target[:, :-1], target[:, -1].long()
        t = self.temperature
        log_student = F.log_softmax(logits / t, dim=1)
        kl = (soft * (torch.log(soft.clamp_min(1e-12)) - log_student)).sum(dim=1) * t * t
        hard = F.cross_entropy(logits, codes.clamp_min(0), reduction="none")
        loss = torch.where(codes >= 0, self.alpha * kl + (1 - self.alpha) * hard, kl)
        if self.reduction == "mean":
            return loss.mean()
        return loss.sum() if self.reduction == "sum" else loss


class SoftTargets:
    """What ``train`` needs for soft targets: the rows the loss reads, and the loss."""

    def __init__(self, proba, labelled, *, temperature: float, alpha: float):
        self.soft = soften(np.asarray(proba, dtype=np.float64), temperature)
        self.labelled = np.asarray(labelled, dtype=bool)
        self.temperature, self.alpha = float(temperature), float(alpha)

    def rows(self, codes: np.ndarray) -> np.ndarray:
        hard = np.where(self.labelled, codes, -1)
        return np.column_stack([self.soft, hard]).astype(np.float32)

    def criterion(self) -> dict:
        return {
            "criterion": SoftTargetLoss,
            "criterion__temperature": self.temperature,
            "criterion__alpha": self.alpha,
        }


def fit_soft(est, X, y, classes, proba, labelled, *, temperature, alpha, sample_weight=None):
    """Fit the fine-tuning classifier ``est`` from scratch on soft targets.

    ``y`` holds a label for every row (the teacher's choice where ``labelled``
    is False: it stratifies the validation split, weighs classes and pairs
    texts for SetFit); ``proba`` the teacher's probabilities, one column per
    label of ``classes`` in sorted order. Returns ``est``.
    """
    from ._core import train

    soft = SoftTargets(proba, labelled, temperature=temperature, alpha=alpha)
    return train(est, X, y, sample_weight, partial=False, classes=classes, soft=soft)
