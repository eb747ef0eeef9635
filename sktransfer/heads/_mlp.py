"""A linear or MLP head, described by a small spec an estimator can grid-search over."""

from __future__ import annotations

import numbers

from torch import nn


def head_layers(head) -> tuple[int, ...]:
    """Hidden layer sizes of a head spec.

    ``"linear"`` (no hidden layer), ``"mlp"`` (one hidden layer of 256), an int
    (one hidden layer of that size) or a sequence of ints (one layer each).
    """
    if head in ("linear", None):
        return ()
    if head == "mlp":
        return (256,)
    sizes = (head,) if isinstance(head, numbers.Integral) else head
    try:
        sizes = tuple(sizes)
    except TypeError:
        sizes = None
    if not sizes or not all(isinstance(s, numbers.Integral) and s > 0 for s in sizes):
        raise ValueError(
            f"head={head!r}; use 'linear', 'mlp', a hidden layer size such as 256, or a "
            "tuple of sizes such as (512, 128)."
        )
    return tuple(int(s) for s in sizes)


class MLPHead(nn.Module):
    """``Dropout -> [Linear -> ReLU -> Dropout] * len(hidden) -> Linear``.

    With no hidden layer this is a (dropout +) linear layer: logistic or linear
    regression trained by gradient descent.

    Parameters
    ----------
    in_features, out_features : int
        Feature size of the backbone, number of outputs (classes, labels or targets).
    hidden : tuple of int, default=()
        Hidden layer sizes.
    dropout : float, default=0.0
        Dropout probability on the features and after each hidden layer.
    """

    def __init__(self, in_features: int, out_features: int, hidden=(), dropout: float = 0.0):
        super().__init__()
        layers: list[nn.Module] = []
        width = in_features
        for size in hidden:
            if dropout:
                layers.append(nn.Dropout(dropout))
            layers += [nn.Linear(width, size), nn.ReLU()]
            width = size
        if dropout:
            layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(width, out_features))
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)
