"""Late fusion: one head per backbone, stacked on out-of-fold probabilities."""

from __future__ import annotations

from sklearn.base import clone
from sklearn.ensemble import StackingClassifier
from sklearn.pipeline import Pipeline

from ._embedders import check_pairs, is_drop


class LateFusionClassifier(StackingClassifier):
    """scikit-learn's :class:`~sklearn.ensemble.StackingClassifier`, whose ``fit``
    first checks ``y`` by the label rule of every sktransfer classifier: one kind
    of label (all strings or all numbers), none missing (named by row), two
    classes at least. Built by :func:`make_late_fusion`."""

    def fit(self, X, y, **fit_params):
        from ..finetune._targets import check_classes

        y, _ = check_classes(y)
        return super().fit(X, y, **fit_params)


def make_late_fusion(
    embedders, *, head=None, final_estimator=None, cv=5, passthrough=False, n_jobs=None
) -> LateFusionClassifier:
    """A :class:`~sklearn.ensemble.StackingClassifier` of one head per embedder.

    Each embedder gets its own copy of ``head`` (``Pipeline([(name, embedder),
    ("head", head)])``); ``final_estimator`` learns from their out-of-fold
    class probabilities (``stack_method="predict_proba"``, ``cv`` folds), so a
    backbone whose head overfits is not trusted more than it earns. Nothing is
    re-derived: it is scikit-learn's stacking, so ``set_params(name="drop")``
    switches a backbone off in a grid, and ``name__name__param`` /
    ``name__head__param`` reach the embedder and its head.

    Every fold fits each embedder again; give the embedders a ``cache`` so each
    row goes through each backbone once (the refits then cost only the heads).

    Parameters
    ----------
    embedders : list of (str, transformer or "drop")
        The named embedders. Names must be unique and free of ``"__"``.
    head : classifier or None, default=None
        The per-backbone head, cloned for each embedder; ``None`` is
        ``LogisticRegression(max_iter=2000)``.
    final_estimator : classifier or None, default=None
        What combines the heads' probabilities; ``None`` is
        ``LogisticRegression(max_iter=2000)``.
    cv : int or cross-validation splitter, default=5
        Folds of the out-of-fold probabilities.
    passthrough : bool, default=False
        Give the final estimator the input too (only for numeric input).
    n_jobs : int or None, default=None
        Parallel fits of the heads (see ``StackingClassifier``).

    Returns
    -------
    LateFusionClassifier
        A :class:`~sklearn.ensemble.StackingClassifier` whose ``fit`` checks
        the labels as every sktransfer classifier does (one kind, none missing,
        two classes at least) before scikit-learn encodes them.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> from sktransfer.fusion import make_late_fusion
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(40, 2)), np.repeat([0, 1], 20)
    >>> X[:, 0] += y
    >>> stack = make_late_fusion([
    ...     ("a", FunctionTransformer(lambda X: X[:, :1])),
    ...     ("b", FunctionTransformer(lambda X: X[:, 1:])),
    ... ], cv=3).fit(X, y)
    >>> stack.predict_proba(X).shape
    (40, 2)
    """
    from sklearn.linear_model import LogisticRegression

    check_pairs(embedders)
    head = LogisticRegression(max_iter=2000) if head is None else head
    final = LogisticRegression(max_iter=2000) if final_estimator is None else final_estimator
    estimators = [
        (name, enc if is_drop(enc) else Pipeline([(name, enc), ("head", clone(head))]))
        for name, enc in embedders
    ]
    return LateFusionClassifier(
        estimators,
        final_estimator=final,
        cv=cv,
        stack_method="predict_proba",
        passthrough=passthrough,
        n_jobs=n_jobs,
    )
