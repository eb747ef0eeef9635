"""Domain adaptation of embeddings through skada's DA pipelines.

sktransfer does not ship its own CORAL: skada (the ``domain`` extra) is the
scikit-learn library for domain adaptation, with the ``sample_domain``
convention, metadata routing and a dozen adapters besides CORAL, and the
encoders work inside its pipelines as they are (they ignore ``sample_domain``).
This module adds what embeddings need on top: :func:`make_coral_pipeline`
builds ``encoder -> CORALAdapter -> estimator`` with a fixed covariance
shrinkage (skada's default estimates one per feature, and an embedding
dimension with a near-constant value then gives a covariance with a negative
rounding-error eigenvalue, hence NaN features), and :func:`coral_gap` measures
how far two sets of rows are apart in covariance (the Deep CORAL loss of
``domain_loss="coral"``). skada's ``make_da_pipeline`` and ``CORALAdapter``
are re-exported here for convenience.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # re-exported on first access, so that importing this module needs no skada
    from skada import CORALAdapter, make_da_pipeline

__all__ = ["CORALAdapter", "coral_gap", "make_coral_pipeline", "make_da_pipeline"]

_FROM_SKADA = ("CORALAdapter", "make_da_pipeline")


def _skada():
    try:
        import skada
    except ImportError as exc:
        raise ImportError(
            "domain adaptation pipelines come from skada, which is not installed; install "
            f"it with: pip install 'sktransfer[domain]'  ({exc})"
        ) from None
    return skada


def __getattr__(name: str):
    if name in _FROM_SKADA:
        return getattr(_skada(), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def make_coral_pipeline(encoder, estimator=None, *, reg: float = 0.1, memory=None):
    """``encoder -> CORAL -> estimator`` as a skada DA pipeline.

    Fit it on source and target rows together with ``sample_domain`` (positive
    for labelled source rows, negative for unlabelled target rows, whose labels
    are ignored); the encoder embeds all of them, CORAL re-colours the source
    embeddings with the target's covariance, and the estimator learns from the
    re-coloured source rows. Predictions on target rows need no
    ``sample_domain`` (rows without one are target rows).

    skada routes ``sample_domain`` through scikit-learn's metadata routing, so
    building the pipeline switches it on (``sklearn.set_config(
    enable_metadata_routing=True)``), as importing skada does.

    Parameters
    ----------
    encoder : transformer
        A :class:`~sktransfer.TextEmbedder`, :class:`~sktransfer.ImageEmbedder`
        or any transformer with a numeric output.
    estimator : estimator, default=None
        What learns from the aligned embeddings; ``None``:
        ``LogisticRegression(max_iter=1000)``.
    reg : float, default=0.1
        Shrinkage of both covariance estimates towards a multiple of the
        identity, in [0, 1]; skada's ``"auto"`` (per-feature Ledoit-Wolf) is
        accepted too, but can fail on embeddings (see the module's notes).
    memory : str or joblib.Memory, default=None
        Passed to the pipeline.

    Returns
    -------
    sklearn.pipeline.Pipeline
        skada's DA pipeline; steps are named after their classes.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> from sktransfer.adapt import make_coral_pipeline
    >>> rng = np.random.default_rng(0)
    >>> source, target = rng.normal(size=(40, 3)), 3 * rng.normal(size=(40, 3))
    >>> X, y = np.r_[source, target], np.r_[source[:, 0] > 0, [-1] * 40].astype(int)
    >>> domain = np.r_[[1] * 40, [-2] * 40]  # 1: source, -2: target
    >>> pipe = make_coral_pipeline(FunctionTransformer()).fit(X, y, sample_domain=domain)
    >>> float((pipe.predict(target) == (target[:, 0] > 0)).mean()) > 0.9
    True
    """
    import sklearn
    from sklearn.linear_model import LogisticRegression

    skada = _skada()
    sklearn.set_config(enable_metadata_routing=True)
    if estimator is None:
        estimator = LogisticRegression(max_iter=1000)
    return skada.make_da_pipeline(encoder, skada.CORALAdapter(reg=reg), estimator, memory=memory)


def coral_gap(source, target) -> float:
    """How far apart two sets of rows are in covariance: ``||C_s - C_t||_F^2 /
    (4 d^2)`` for ``d`` columns, the Deep CORAL loss (0: same covariance).

    Parameters
    ----------
    source, target : array-like of shape (n_source, d), (n_target, d)
        Features of each domain, e.g. embeddings, at least two rows each.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.adapt import coral_gap
    >>> rows = np.random.default_rng(0).normal(size=(500, 4))
    >>> coral_gap(rows, rows) == 0.0, round(coral_gap(rows, 2 * rows), 2)
    (True, 0.57)
    """
    import torch

    from .finetune._domain import coral_loss

    source = np.asarray(source, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if source.ndim != 2 or target.ndim != 2 or source.shape[1] != target.shape[1]:
        raise ValueError(
            f"source has shape {source.shape} and target {target.shape}: pass two 2-D "
            "arrays with the same number of columns."
        )
    if min(len(source), len(target)) < 2:
        raise ValueError("a covariance needs at least two rows in each of source and target.")
    with torch.no_grad():
        gap = coral_loss(torch.from_numpy(source), torch.from_numpy(target))
    return float(gap)
