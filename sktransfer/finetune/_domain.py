"""Deep domain alignment while fine-tuning: unlabelled target rows in every batch
and a loss that pulls the two domains' features together.

Rows follow skada's ``sample_domain`` convention: a positive domain label marks
a labelled source row, a negative one an unlabelled target row. Without
``sample_domain``, a label of ``-1`` (classifiers) or NaN (regressors) marks a
target row, as skada's DA pipelines mask them. The estimator trains on the
source rows as before; every training batch also carries as many target rows,
drawn at random, and :class:`DomainNet` adds ``domain_weight`` times the domain
loss between the two sets of features the head's last linear layer reads (the
head's input for a linear head, an MLP head's last hidden layer).
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import torch
from sklearn.base import is_regressor
from sklearn.utils import _safe_indexing
from skorch.callbacks import PassthroughScoring
from skorch.dataset import unpack_data
from torch import nn
from torch.utils.data import Dataset

from .._domains import check_counts, target_rows
from ._net import Batch, Net


def coral_loss(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Deep CORAL (Sun & Saenko, 2016): ``||C_s - C_t||_F^2 / (4 d^2)``, with
    ``C`` the covariance of each domain's rows (``d`` features each); 0 when a
    domain has fewer than two rows (no covariance to compare)."""
    dtype = torch.promote_types(source.dtype, torch.float32)  # no half-precision statistics
    source, target = source.flatten(1).to(dtype), target.flatten(1).to(dtype)
    if len(source) < 2 or len(target) < 2:
        return source.sum() * 0.0
    d = source.shape[1]
    gap = torch.cov(source.T) - torch.cov(target.T)
    return (gap * gap).sum() / (4 * d * d)


DOMAIN_LOSSES = {"coral": coral_loss}


def domain_loss_function(domain_loss):
    """The function for ``domain_loss``: a name of :data:`DOMAIN_LOSSES` or the user's own
    ``loss(source_features, target_features) -> scalar tensor``."""
    if callable(domain_loss):
        return domain_loss
    return DOMAIN_LOSSES[domain_loss]


def split_domains(est, X, y, sample_weight, sample_domain):
    """``(X, y, sample_weight)`` of the labelled source rows and ``X`` of the target
    rows (None when the estimator has no domain loss, so they are left out).

    Target rows come from ``sample_domain`` (negative = target) or, without it and
    with a domain loss, from skada's masked labels (-1, or NaN for regressors); see
    ``sktransfer._domains``."""
    domain_loss = getattr(est, "domain_loss", None)
    if sample_domain is None and (domain_loss is None or y is None):
        return X, y, sample_weight, None
    regression = is_regressor(est)
    target = target_rows(X, y, sample_domain, regression=regression)
    check_counts(
        target,
        min_target=0 if domain_loss is None else 2,
        why=f"domain_loss={domain_loss!r} compares the covariance of source and target features",
        regression=regression,
    )
    source = np.flatnonzero(~target)
    X_target = _safe_indexing(X, np.flatnonzero(target)) if domain_loss is not None else None
    if sample_weight is not None:
        sample_weight = _safe_indexing(np.asarray(sample_weight), source)
    return _safe_indexing(X, source), _safe_indexing(y, source), sample_weight, X_target


class DomainExamples(Dataset):
    """The source rows of ``examples``, each paired with a target row drawn at random
    (with replacement): item ``i`` is ``({"x", "w", "xt"}, y)``."""

    def __init__(self, examples, target):
        self.examples, self.target = examples, target

    def __len__(self) -> int:
        return len(self.examples)

    def _draw(self, n: int) -> torch.Tensor:
        return torch.randint(len(self.target), (n,))

    def __getitem__(self, i):
        X, y = self.examples[i]
        return {**X, "xt": self.target[int(self._draw(1)[0])]}, y

    def __getitems__(self, indices):
        if not isinstance(self.target, torch.Tensor) or not hasattr(self.examples, "__getitems__"):
            return [self[i] for i in indices]
        batch = self.examples.__getitems__(indices)
        if not isinstance(batch, Batch):
            return [self[i] for i in indices]
        X, y = batch
        return Batch(({**X, "xt": self.target[self._draw(len(indices))]}, y))


def last_linear(head: nn.Module) -> nn.Linear:
    layers = [m for m in head.modules() if isinstance(m, nn.Linear)]
    if not layers:
        raise ValueError(
            f"domain_loss aligns the features the head's last nn.Linear layer reads, and "
            f"the head {type(head).__name__} has none; use a built-in head or add one."
        )
    return layers[-1]


def check_alignable(module: nn.Module) -> None:
    """Refuse a domain loss on features nothing trains: a linear head on a frozen body."""
    last = {id(p) for p in last_linear(module.head).parameters()}
    if not any(p.requires_grad and id(p) not in last for p in module.parameters()):
        raise ValueError(
            "domain_loss aligns the features the head's last layer reads, but with a linear "
            "head on a frozen backbone nothing before that layer trains; use head='mlp' (or "
            "hidden sizes, e.g. head=(256,)) or unfreeze=N."
        )


@contextmanager
def penultimate(head: nn.Module):
    """Collect the input of ``head``'s last linear layer at each forward pass inside."""
    seen: list[torch.Tensor] = []
    hook = last_linear(head).register_forward_pre_hook(lambda _, args: seen.append(args[0]))
    try:
        yield seen
    finally:
        hook.remove()


class DomainNet(Net):
    """:class:`Net` whose training steps add ``domain_weight`` times the domain loss
    between the batch's source and target features; ``history`` records it per
    epoch as ``"domain_loss"``."""

    def __init__(self, *args, domain_loss="coral", domain_weight=1.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.domain_loss = domain_loss
        self.domain_weight = domain_weight

    def get_default_callbacks(self):
        scoring = PassthroughScoring(name="domain_loss", on_train=True)
        return [*super().get_default_callbacks(), ("domain_loss", scoring)]

    def initialize_module(self):
        super().initialize_module()
        check_alignable(self.module_)
        return self

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        Xi = dict(Xi)
        target = Xi.pop("xt")
        with penultimate(self.module_.head) as seen:
            y_pred = self.infer(Xi, **fit_params)
            self.infer({"x": target}, **fit_params)
        loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        gap = domain_loss_function(self.domain_loss)(seen[0], seen[1])
        total = loss + self.domain_weight * gap
        total.backward()
        self.history.record_batch("domain_loss", float(gap.detach()))
        return {"loss": total, "y_pred": y_pred}
