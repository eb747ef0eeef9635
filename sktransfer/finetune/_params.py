"""The parameters of the fine-tuning estimators: one table.

sklearn reads an estimator's parameters from the signature of its class's
``__init__``, so every estimator with another parameter list needs its own
``__init__``. Each is written out in its class's source, generated from this
table by ``python -m sktransfer.finetune._generate`` (a test checks that the
source matches the table); :func:`store` is their body.
"""

from __future__ import annotations

# name -> default, in the order signatures (and docstrings) list them.
PARAMETERS = {
    "embedder": None,
    "n_iterations": None,
    "contrastive_epochs": 1,
    "contrastive_lr": 2e-5,
    "contrastive_batch_size": 16,
    "augment": None,
    "head": "linear",
    "dropout": 0.0,
    "unfreeze": 0,
    "lr": 3e-3,
    "backbone_lr": 1e-4,
    "max_epochs": "auto",
    "batch_size": 32,
    "optimizer": "adamw",
    "weight_decay": 0.01,
    "lr_schedule": None,
    "warmup": 0.1,
    "early_stopping": False,
    "validation_fraction": 0.1,
    "patience": 5,
    "restore_best": True,
    "class_weight": None,
    "domain_loss": None,
    "domain_weight": 1.0,
    "random_state": None,
    "device": "auto",
    "verbose": 1,
    "warm_start": False,
}
DOMAIN = ("domain_loss", "domain_weight")
CONTRASTIVE = ("n_iterations", "contrastive_epochs", "contrastive_lr", "contrastive_batch_size")
HEAD_PREFIX = "head__"  # parameters routed to a head given as an nn.Module class


def store(params: dict) -> None:
    """Store an ``__init__``'s arguments (its ``locals()``) on ``self`` as given,
    as sklearn asks: the named ones, and the ``head__*`` ones collected in
    ``head__params`` (skorch's ``module__*`` convention). Any other keyword is
    refused, naming where the parameters are listed."""
    params = dict(params)
    est, routed = params.pop("self"), params.pop("head__params")
    unknown = sorted(k for k in routed if not k.startswith(HEAD_PREFIX))
    if unknown:
        name = type(est).__name__
        raise TypeError(
            f"{name} got an unexpected keyword argument {unknown[0]!r}; "
            f"see help({name}) for its parameters."
        )
    for key, value in {**params, **routed}.items():
        setattr(est, key, value)
