"""Domain adaptation of embeddings through skada's DA pipelines.

sktransfer does not ship its own CORAL: skada (the ``domain`` extra) is the
scikit-learn library for domain adaptation, with the ``sample_domain``
convention, metadata routing and a dozen adapters besides CORAL, and the
embedders work inside its pipelines as they are (they ignore ``sample_domain``).
This module adds what embeddings need on top: :func:`make_coral_pipeline`
builds ``embedder -> CORALAdapter -> estimator`` with a fixed covariance
shrinkage (skada's default estimates one per feature, and an embedding
dimension with a near-constant value then gives a covariance with a negative
rounding-error eigenvalue, hence NaN features), and :func:`coral_gap` measures
how far two sets of rows are apart in covariance (the Deep CORAL loss of
``domain_loss="coral"``). skada's ``CORALAdapter`` is re-exported here, and
:func:`make_da_pipeline` wraps skada's own.

scikit-learn's configuration is left as it was. skada routes ``sample_domain``
through scikit-learn's metadata routing and switches it on for the whole
process when it is imported; sktransfer imports skada with the configuration
put back afterwards, and its pipelines (:class:`DAPipeline`) switch routing
on only inside their own ``fit``, ``predict`` and other methods. So ordinary
scikit-learn calls (``Pipeline.fit(step__sample_weight=...)``,
``GridSearchCV.fit(sample_weight=...)``) keep working after a domain adaptation.

Which rows are target rows: a negative ``sample_domain``, or without
``sample_domain`` the label ``-1`` (NaN when the last step is a regressor),
as skada masks target labels. ``fit`` checks the rows before any work: one
domain label per row, at least one source row, and at least two target rows
for CORAL's covariance.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils.metaestimators import available_if

from ._lazy import lazy_names
from .exceptions import MissingDependencyError

if TYPE_CHECKING:  # re-exported on first access, so that importing this module needs no skada
    from skada import CORALAdapter

__all__ = ["CORALAdapter", "DAPipeline", "coral_gap", "make_coral_pipeline", "make_da_pipeline"]


def _skada():
    """skada, imported with scikit-learn's configuration put back afterwards (its
    import switches metadata routing on for the whole process)."""
    import sklearn

    try:
        with sklearn.config_context():
            import skada
    except ImportError as exc:
        raise MissingDependencyError(
            "domain adaptation pipelines come from skada, which is not installed; install "
            f"it with: pip install 'sktransfer[domain]'  ({exc})"
        ) from None
    return skada


__getattr__, __dir__ = lazy_names(__name__, {"CORALAdapter": _skada})


@contextmanager
def _routing():
    """Metadata routing on, for skada's selectors, and back as it was afterwards."""
    import sklearn

    with sklearn.config_context(enable_metadata_routing=True):
        yield


def _routed(name: str):
    """``Pipeline.<name>`` run with metadata routing on, available when the
    pipeline's own method is."""

    def check(self):
        getattr(super(DAPipeline, self), name)  # raises AttributeError when unavailable
        return True

    def method(self, *args, **kwargs):
        with _routing():
            return getattr(super(DAPipeline, self), name)(*args, **kwargs)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"``Pipeline.{name}``, with metadata routing on for this call only."
    return available_if(check)(method)


class DAPipeline(Pipeline):
    """skada's DA pipeline (a :class:`~sklearn.pipeline.Pipeline` of selector-
    wrapped steps) that switches scikit-learn's metadata routing on inside its
    own methods only, and checks its rows before fitting.

    Built by :func:`make_coral_pipeline` and :func:`make_da_pipeline`; its
    parameters are ``Pipeline``'s. ``fit`` takes ``sample_domain`` (positive:
    labelled source row, negative: unlabelled target row); without it, the label
    ``-1`` (NaN for a regressor) marks a target row. ``y`` may be a list or an
    array: the pipeline masks target labels in a copy, never in the caller's
    ``y``. Predictions need no ``sample_domain``: rows without one are target
    rows. Loading a pickled one imports skada with the configuration kept too.
    """

    def _checked(self, X, y, params):
        from sklearn.base import is_regressor

        from ._domains import check_counts, target_rows

        params = dict(params)
        if y is None:
            return y, params
        y = np.array(y)  # a copy: skada writes the mask into it
        last = self._final_estimator
        last = getattr(last, "base_estimator", last)  # skada's selector wraps each step
        regression = is_regressor(last)
        target = target_rows(X, y, params.get("sample_domain"), regression=regression)
        adapter = _adapter_name(self)
        check_counts(
            target,
            min_target=2 if adapter else 0,
            why=f"{adapter} adapts the source rows to the target rows' statistics",
            regression=regression,
        )
        if params.get("sample_domain") is None:
            params["sample_domain"] = np.where(target, -2, 1)
        return y, params

    def fit(self, X, y=None, **params):
        """Fit the steps on ``X``, ``y`` with metadata routing on; ``params`` go to
        the steps that ask for them (``sample_domain`` among them)."""
        y, params = self._checked(X, y, params)
        with _routing():
            return super().fit(X, y, **params)

    @available_if(lambda self: hasattr(super(), "fit_transform"))
    def fit_transform(self, X, y=None, **params):
        """``fit`` followed by ``transform`` of the last step, routing on."""
        y, params = self._checked(X, y, params)
        with _routing():
            return super().fit_transform(X, y, **params)

    @available_if(lambda self: hasattr(super(), "fit_predict"))
    def fit_predict(self, X, y=None, **params):
        """``fit`` followed by ``predict`` of the last step, routing on."""
        y, params = self._checked(X, y, params)
        with _routing():
            return super().fit_predict(X, y, **params)

    def __reduce__(self):
        # The state is pickled apart, so that loading imports skada through
        # _skada() (configuration kept) before it meets skada's classes; a plain
        # pickle would import skada first, switching routing on for the process.
        import pickle

        return _restore, (type(self), pickle.dumps(self.__getstate__()))

    predict = _routed("predict")
    predict_proba = _routed("predict_proba")
    predict_log_proba = _routed("predict_log_proba")
    decision_function = _routed("decision_function")
    score = _routed("score")
    score_samples = _routed("score_samples")
    transform = _routed("transform")
    inverse_transform = _routed("inverse_transform")


def _restore(cls, state: bytes):
    """A pickled :class:`DAPipeline`, skada imported with the configuration kept."""
    import pickle

    _skada()
    pipe = cls.__new__(cls)
    pipe.__setstate__(pickle.loads(state))
    return pipe


def _adapter_name(pipe) -> str | None:
    """The class name of the pipeline's first skada adapter (a step that needs
    target rows), or None."""
    try:
        _skada()
        from skada.base import BaseAdapter
    except ImportError:  # pragma: no cover - a DAPipeline is built through skada
        return None
    for _, step in pipe.steps:
        inner = getattr(step, "base_estimator", step)
        if isinstance(inner, BaseAdapter):
            return type(inner).__name__
    return None


def make_da_pipeline(*steps, **kwargs) -> DAPipeline:
    """skada's ``make_da_pipeline(*steps, **kwargs)`` as a :class:`DAPipeline`:
    metadata routing is switched on inside its methods only, and ``fit`` checks
    its rows first. Takes skada's arguments (``memory``, ``verbose``,
    ``default_selector``, ``mask_target_labels``)."""
    pipe = _skada().make_da_pipeline(*steps, **kwargs)
    return DAPipeline(pipe.steps, memory=pipe.memory, verbose=pipe.verbose)


def make_coral_pipeline(embedder, estimator=None, *, reg: float = 0.1, memory=None):
    """``embedder -> CORAL -> estimator`` as a skada DA pipeline.

    Fit it on source and target rows together with ``sample_domain`` (positive
    for labelled source rows, negative for unlabelled target rows, whose labels
    are ignored); the embedder embeds all of them, CORAL re-colours the source
    embeddings with the target's covariance, and the estimator learns from the
    re-coloured source rows. Without ``sample_domain``, the label ``-1`` (NaN
    for a regressor) marks a target row. Predictions on target rows need no
    ``sample_domain`` (rows without one are target rows). ``fit`` refuses rows
    that CORAL cannot use, naming the count and the fix: no source row, or
    fewer than two target rows (a covariance needs two).

    skada routes ``sample_domain`` through scikit-learn's metadata routing; the
    pipeline switches it on inside its own methods only, so scikit-learn's
    configuration is the same before and after (see the module's notes).

    Parameters
    ----------
    embedder : transformer
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
    DAPipeline
        skada's DA pipeline (a ``Pipeline``); steps are named after their
        classes.

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

    Without ``sample_domain``, the label ``-1`` alone marks the target rows:

    >>> same = make_coral_pipeline(FunctionTransformer()).fit(X, y)
    >>> bool((same.predict(target) == pipe.predict(target)).all())
    True
    """
    from sklearn.linear_model import LogisticRegression

    skada = _skada()
    if estimator is None:
        estimator = LogisticRegression(max_iter=1000)
    return make_da_pipeline(embedder, skada.CORALAdapter(reg=reg), estimator, memory=memory)


def coral_gap(X_source, X_target) -> float:
    """How far apart two sets of rows are in covariance: ``||C_s - C_t||_F^2 /
    (4 d^2)`` for ``d`` columns, the Deep CORAL loss (0: same covariance).

    Parameters
    ----------
    X_source, X_target : array-like of shape (n_source, d), (n_target, d)
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

    source = np.asarray(X_source, dtype=np.float64)
    target = np.asarray(X_target, dtype=np.float64)
    if source.ndim != 2 or target.ndim != 2 or source.shape[1] != target.shape[1]:
        raise ValueError(
            f"X_source has shape {source.shape} and X_target {target.shape}: pass two 2-D "
            "arrays with the same number of columns."
        )
    if min(len(source), len(target)) < 2:
        raise ValueError("a covariance needs at least two rows in each of X_source and X_target.")
    with torch.no_grad():
        gap = coral_loss(torch.from_numpy(source), torch.from_numpy(target))
    return float(gap)
