"""The torch side of an estimator's ``fit`` and ``predict``: the head, the skorch
net, its per-call settings, seeding. The estimator passes itself for its
parameters; everything here reads them and nothing stores them."""

from __future__ import annotations

import copy
import math
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

from .._progress import counting
from ..heads import MLPHead, head_layers
from ._net import CountBatches, Examples, L2Normalize, Net, Schedule, TransferModule, collate
from ._params import HEAD_PREFIX

OPTIMIZERS = {"adamw": torch.optim.AdamW, "adam": torch.optim.Adam, "sgd": torch.optim.SGD}
LOSSES = {"cross_entropy": nn.CrossEntropyLoss, "bce": nn.BCEWithLogitsLoss, "mse": nn.MSELoss}


@contextmanager
def seeded(seed: int, device: torch.device):
    """Seed torch for what runs inside, and restore the caller's RNG state after."""
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def head_params(est) -> dict:
    """The ``head__*`` parameters of ``est``, without the prefix."""
    return {
        k.removeprefix(HEAD_PREFIX): v for k, v in vars(est).items() if k.startswith(HEAD_PREFIX)
    }


def make_head(head, in_features: int, out_features: int, dropout: float, params: dict):
    """The head module: built-in from a spec (``"linear"``, ``"mlp"``, sizes), or
    the user's own ``nn.Module`` class, built with ``in_features``,
    ``out_features`` and ``params`` (skorch's ``module__*`` convention), or a
    copy of an ``nn.Module`` instance."""
    if isinstance(head, type) and issubclass(head, nn.Module):
        try:
            return head(in_features=in_features, out_features=out_features, **params)
        except TypeError as exc:
            raise TypeError(
                f"head={head.__name__} is built as {head.__name__}(in_features={in_features}, "
                f"out_features={out_features}, **head__params) and that call failed: {exc}"
            ) from exc
    if params:
        names = ", ".join(HEAD_PREFIX + k for k in params)
        raise ValueError(
            f"{names} configure a head given as an nn.Module class, but head={head!r}; "
            "pass the class (e.g. head=MyHead, head__hidden=64) or drop them."
        )
    if isinstance(head, nn.Module):
        return copy.deepcopy(head)  # the parameter itself never trains
    return MLPHead(in_features, out_features, head_layers(head), dropout)


def examples(source, targets=None, weights=None) -> Examples:
    """The rows skorch iterates over; targets and weights come as NumPy arrays."""
    return Examples(source, _tensor(targets), _tensor(weights))


def _tensor(values):
    return None if values is None else torch.from_numpy(np.ascontiguousarray(values))


def make_net(est, module: nn.Module, device, plan, criterion=None) -> Net:
    """The skorch net; ``criterion`` (skorch's ``criterion`` and ``criterion__*``
    settings) replaces the loss ``est`` names, as soft targets do (``_soft``)."""
    optimizer = est.optimizer
    extra = {}
    if isinstance(optimizer, str):
        if optimizer == "sgd":
            extra["optimizer__momentum"] = 0.9
        optimizer = OPTIMIZERS[optimizer]
    loaders = {
        f"iterator_{kind}__{key}": value
        for kind in ("train", "valid")
        for key, value in (("collate_fn", collate), ("num_workers", plan.num_workers))
    }
    net_class = Net
    if getattr(est, "domain_loss", None) is not None:
        from ._domain import DomainNet

        net_class = DomainNet
        extra.update(domain_loss=est.domain_loss, domain_weight=est.domain_weight)
    return net_class(
        module=module,
        **(criterion or {"criterion": LOSSES[est._loss()]}),
        criterion__reduction="none",
        optimizer=optimizer,
        optimizer__weight_decay=est.weight_decay,
        optimizer__param_groups=[("body.*", {"lr": est.backbone_lr})],
        lr=est.lr,
        batch_size=est.batch_size,
        iterator_train__shuffle=True,
        train_split=None,
        predict_nonlinearity=None,
        verbose=table_verbosity(est.verbose),
        device=str(device),
        **loaders,
        **extra,
    )


def table_verbosity(verbose) -> int:
    """skorch's ``verbose`` for an estimator's: its table of losses per epoch
    from ``verbose=2`` on (1 shows sktransfer's progress line only)."""
    return int(int(verbose) >= 2)


# max_epochs="auto": when only the head trains, as many epochs as make this many
# optimizer steps (an epoch over 150 rows is 5 steps; 20 of them underfit), and
# never fewer than AUTO_EPOCHS; when backbone blocks train, AUTO_EPOCHS.
# benchmarks/bench_defaults.py measures the rule against LogisticRegressionCV.
AUTO_STEPS = 1000
AUTO_EPOCHS = 20


def epochs_for(est, plan, n_train: int) -> int:
    """``est.max_epochs``, with ``"auto"`` resolved for ``n_train`` rows on ``plan``."""
    if est.max_epochs != "auto":
        return int(est.max_epochs)
    if not getattr(plan, "head_only", False):
        return AUTO_EPOCHS
    steps_per_epoch = max(1, math.ceil(n_train / est.batch_size))
    return max(AUTO_EPOCHS, math.ceil(AUTO_STEPS / steps_per_epoch))


def n_batches(est, plan, n_train: int, partial: bool) -> int:
    """Training batches one call runs (all epochs; fewer if it stops early)."""
    epochs = 1 if partial else epochs_for(est, plan, n_train)
    return epochs * math.ceil(n_train / est.batch_size)


def configure(net, est, plan, n_train: int, valid, partial: bool, count=None) -> None:
    """Set what differs between calls: epochs, validation, callbacks
    (``count``: a progress count advanced after each training batch)."""
    from skorch.callbacks import EarlyStopping, LRScheduler
    from skorch.helper import predefined_split

    epochs = 1 if partial else epochs_for(est, plan, n_train)
    callbacks = [("progress", CountBatches(count))] if count is not None else []
    if valid is not None:
        stop = EarlyStopping(
            monitor="valid_loss", patience=est.patience, load_best=est.restore_best
        )
        callbacks.append(("early_stopping", stop))
    if est.lr_schedule is not None and not partial:
        steps = epochs * math.ceil(n_train / est.batch_size)
        schedule = Schedule(est.lr_schedule, steps, est.warmup)
        scheduler = LRScheduler(
            policy=torch.optim.lr_scheduler.LambdaLR, lr_lambda=schedule, step_every="batch"
        )
        callbacks.append(("lr_schedule", scheduler))
    net.set_params(
        max_epochs=epochs,
        callbacks=callbacks,
        train_split=predefined_split(valid) if valid is not None else None,
    )


def release(net) -> None:
    """Drop per-call state (validation data, best weights, schedule) from the net,
    put back the learning rates a schedule moved, and leave its modules in
    evaluation mode, where predicting puts them: a prediction changes nothing."""
    for name in ("module_", "criterion_"):
        module = getattr(net, name, None)
        if isinstance(module, nn.Module):
            module.eval()
    net.set_params(callbacks=[], train_split=None)
    net.initialize_callbacks()  # set_params built callbacks_ from the old list
    optimizer = getattr(net, "optimizer_", None)
    for group in getattr(optimizer, "param_groups", []):
        if "initial_lr" in group:
            group["lr"] = group.pop("initial_lr")


def fit_net(est, net, plan, train, valid, *, body, width, seed, device, partial, criterion=None):
    """Build the net when ``net`` is None (body, then head), then train it for
    this call; seeded, so the same seed gives the same model. ``criterion``:
    see :func:`make_net`."""
    with seeded(seed, device):
        if net is None:
            if body is not None and getattr(plan.embedder, "normalize", False):
                body = nn.Sequential(body, L2Normalize())
            head = make_head(est.head, width, est._n_outputs(), est.dropout, head_params(est))
            net = make_net(est, TransferModule(body, head), device, plan, criterion)
            first = True
        else:
            first = False
        with counting("training", n_batches(est, plan, len(train), partial), "batches") as count:
            configure(net, est, plan, len(train), valid, partial, count)
            try:
                if first:
                    net.initialize()
                net.partial_fit(train)
            finally:
                release(net)
    return net


def predict_logits(net, source) -> np.ndarray:
    """The net's raw outputs for ``source``, float64."""
    with torch.no_grad():
        out = net.forward(examples(source))
    return out.float().numpy().astype(np.float64)
