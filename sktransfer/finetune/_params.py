"""The parameters of the fine-tuning estimators: one table, one generated ``__init__``.

sklearn reads an estimator's parameters from the signature of its class's
``__init__``, so every estimator with another parameter list needs its own
``__init__``; :func:`keyword_init` makes each from this table instead of
writing the same twenty keywords five times.
"""

from __future__ import annotations

import inspect

# name -> default, in the order signatures (and docstrings) list them.
PARAMETERS = {
    "encoder": None,
    "n_iterations": 20,
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


def keyword_init(*, drop=(), **defaults):
    """An ``__init__`` taking the keyword-only parameters of :data:`PARAMETERS`
    less ``drop``, with ``defaults`` overriding the table's, plus any
    ``head__*`` parameters (skorch's ``module__*`` convention). It only stores
    them, as sklearn asks."""
    unknown = (set(drop) | set(defaults)) - set(PARAMETERS)
    if unknown:
        raise TypeError(f"not fine-tuning parameters: {sorted(unknown)}")
    kw = inspect.Parameter.KEYWORD_ONLY
    signature = inspect.Signature(
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [
            inspect.Parameter(name, kw, default=defaults.get(name, default))
            for name, default in PARAMETERS.items()
            if name not in drop
        ]
    )

    def __init__(self, **params):
        routed = {k: params.pop(k) for k in list(params) if k.startswith(HEAD_PREFIX)}
        try:
            bound = signature.bind(self, **params)
        except TypeError as exc:
            name = type(self).__name__
            raise TypeError(f"{name}: {exc}; see help({name}) for its parameters.") from None
        bound.apply_defaults()
        for name, value in {**bound.arguments, **routed}.items():
            if name != "self":
                setattr(self, name, value)

    __init__.__signature__ = signature
    return __init__
