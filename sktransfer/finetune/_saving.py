"""A fine-tuner's trained net as plain data, and back: what ``sktransfer.save`` stores.

A fitted fine-tuner holds torch objects (its skorch net and the plan that feeds
it), which a skops file cannot hold as data. While saving, :func:`nets_as_data`
replaces them by the head's ``state_dict`` as NumPy arrays; after loading,
:func:`nets_from_data` rebuilds the same net from those arrays. Only a head
trained on frozen features is stored this way: a fine-tuner that trained
backbone weights is refused (saving it would need the backbone's weights too).
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from ._core import FineTuner

# The attribute that carries the arrays in a saved file.
SAVED = "_saved_net"


@contextmanager
def nets_as_data(estimators):
    """While the block runs, every fitted fine-tuner among ``estimators`` holds
    its net as arrays instead of torch objects; restored afterwards (also when
    the block fails). Raises ``ValueError`` before changing anything when one
    trained backbone weights."""
    tuners = [e for e in estimators if isinstance(e, FineTuner) and hasattr(e, "net_")]
    states = [_head_as_arrays(est) for est in tuners]  # may refuse: nothing changed yet
    undo = []
    try:
        for est, state in zip(tuners, states, strict=True):
            undo.append((est, est.__dict__.pop("net_"), est.__dict__.pop("plan_")))
            setattr(est, SAVED, state)
        yield
    finally:
        for est, net, plan in reversed(undo):
            est.__dict__.pop(SAVED, None)
            est.net_, est.plan_ = net, plan


def nets_from_data(estimators) -> None:
    """After loading: rebuild the net of every fine-tuner among ``estimators``
    that holds the arrays :func:`nets_as_data` stored."""
    for est in list(estimators):
        saved = est.__dict__.pop(SAVED, None) if isinstance(est, FineTuner) else None
        if saved is not None:
            _rebuild_net(est, saved)


def _head_as_arrays(est) -> dict:
    """The trained head of a head-only fine-tuner as numpy arrays."""
    from torch import nn

    from ._plans import FeaturePlan

    if not isinstance(est.plan_, FeaturePlan):
        raise ValueError(
            f"cannot save {type(est).__name__}(unfreeze={est.unfreeze!r}, "
            f"augment={getattr(est, 'augment', None)!r}) as data: it trained backbone "
            "weights, and only a head trained on frozen features (unfreeze=0, "
            "augment=None) is saved that way so far. Pickle it yourself (joblib.dump) "
            "if you need to keep it."
        )
    module = est.net_.module_
    first = next(m for m in module.head.modules() if isinstance(m, nn.Linear))
    state = {k: v.detach().cpu().float().numpy() for k, v in module.state_dict().items()}
    return {"in_features": int(first.in_features), "state": state}


def _rebuild_net(est, saved: dict) -> None:
    import torch

    from .._device import device_after_unpickle
    from ._net import TransferModule
    from ._plans import FeaturePlan
    from ._training import head_params, make_head, make_net

    device = device_after_unpickle(est.device, torch.device("cpu"))
    plan = FeaturePlan(est.embedder_)
    head = make_head(
        est.head, saved["in_features"], est._n_outputs(), est.dropout, head_params(est)
    )
    net = make_net(est, TransferModule(None, head), device, plan)
    net.initialize()
    state = {k: torch.from_numpy(np.asarray(v)) for k, v in saved["state"].items()}
    net.module_.load_state_dict(state)
    est.plan_, est.net_ = plan, net
