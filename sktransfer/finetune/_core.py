"""The fine-tuning core: one estimator for every modality.

:class:`FineTuner` holds ``fit`` / ``partial_fit`` / prediction; what trains
follows from the embedder and the freeze settings (see ``_plans``), what ``y``
is from a targets mixin (``_targets``). :class:`TransferClassifier` and
:class:`TransferRegressor` are the two estimators; the image, text and SetFit
estimators are presets of them (``_presets``). Torch is imported only when an
estimator trains or predicts.
"""

from __future__ import annotations

import importlib
import numbers
import os
from copy import copy
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import train_test_split
from sklearn.utils import _safe_indexing, get_tags
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_sample_weight,
    _num_samples,
    check_is_fitted,
    check_random_state,
)

from ..exceptions import ParameterError
from ._params import HEAD_PREFIX, store
from ._targets import ClassifierTargets, RegressorTargets


def train(est, X, y, sample_weight=None, *, partial, classes=None, sample_domain=None, soft=None):
    """What ``fit`` and ``partial_fit`` of a fine-tuner ``est`` do, with the
    parameters checked first; the seam other trainers use (``_soft.fit_soft``).

    ``sample_domain``: skada's convention, target rows train the domain loss only
    (``_domain.split_domains``); ``soft``: train on soft targets instead of ``y``
    alone. One progress display counts what the call embeds and trains
    (``verbose``). Returns ``est``.
    """
    from .._progress import display

    est._validate_params()
    with display(f"{type(est).__name__}.fit", enabled=est.verbose):
        return est._train_shown(
            X, y, sample_weight, partial=partial, classes=classes,
            sample_domain=sample_domain, soft=soft,
        )  # fmt: skip


class FineTuner(BaseEstimator):
    """Fine-tuning through skorch; see :class:`TransferClassifier` for the parameters.

    Presets set ``_embedder_name``, the public embedder class used when
    ``embedder`` is None or a model name.
    """

    _embedder_name: str | None = None

    _parameter_constraints: ClassVar[dict] = {
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "backbone_lr": [Interval(numbers.Real, 0, None, closed="left")],
        "max_epochs": [Interval(numbers.Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "optimizer": [StrOptions({"adamw", "adam", "sgd"}), type],
        "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
        "lr_schedule": [None, StrOptions({"cosine", "onecycle"})],
        "warmup": [Interval(numbers.Real, 0, 1, closed="both")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
        "patience": [Interval(numbers.Integral, 1, None, closed="left")],
        "restore_best": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "domain_loss": [None, StrOptions({"coral"}), callable],
        "domain_weight": [Interval(numbers.Real, 0, None, closed="left")],
    }
    # Asked for by name in a metadata-routed pipeline (skada's DA pipelines among them).
    __metadata_request__fit: ClassVar[dict] = {"sample_domain": True}
    __metadata_request__partial_fit: ClassVar[dict] = {"sample_domain": True}

    # ------------------------------------------------------------ parameters
    def get_params(self, deep=True):
        params = super().get_params(deep=deep)
        params.update((k, v) for k, v in vars(self).items() if k.startswith(HEAD_PREFIX))
        return params

    def set_params(self, **params):
        for key in [k for k in params if k.startswith(HEAD_PREFIX)]:
            setattr(self, key, params.pop(key))
        return super().set_params(**params)

    # ------------------------------------------------------------ the embedder
    @classmethod
    def _default_embedder(cls):
        if cls._embedder_name is None:
            return None
        return getattr(importlib.import_module("sktransfer"), cls._embedder_name)

    def _make_embedder(self):
        embedder, default = self.embedder, self._default_embedder()
        if embedder is None or isinstance(embedder, (str, os.PathLike)):
            if default is None:
                raise ParameterError(
                    "embedder",
                    embedder,
                    f"{type(self).__name__} has no default embedder; pass "
                    "an ImageEmbedder, a TextEmbedder or another sklearn transformer.",
                )
            return default() if embedder is None else default(model=embedder)
        if not (hasattr(embedder, "fit") and hasattr(embedder, "transform")):
            example = default.__name__ if default is not None else "TextEmbedder"
            raise TypeError(
                f"embedder={embedder!r} must be None, a model name, or an sklearn transformer "
                f"such as {example}(...)."
            )
        return clone(embedder)

    def _make_plan(self, embedder, seed, device):
        from ._plans import make_plan

        expected = self._embedder_name
        return make_plan(embedder, self.unfreeze, getattr(self, "augment", None), expected)

    # ------------------------------------------------------------ fitting
    def fit(self, X, y, sample_weight=None, sample_domain=None):
        """Train the head (and the unfrozen blocks) on ``X``, ``y``.

        Parameters
        ----------
        X : rows the embedder takes
            Texts or images (see the embedders), or whatever another embedder takes.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Labels of any type, a 0/1 multi-label indicator matrix, or numbers.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-row weights, multiplied by the class weights; normalised to mean 1
            so that ``lr`` means the same whatever their scale.
        sample_domain : array-like of shape (n_samples,), default=None
            skada's domain labels: positive for labelled source rows, negative for
            unlabelled target rows (whose ``y`` is ignored). With ``domain_loss``
            the target rows are aligned with the source rows in every batch;
            without it they are left out.

        Returns
        -------
        self
        """
        return train(self, X, y, sample_weight, partial=False, sample_domain=sample_domain)

    def partial_fit(self, X, y, sample_weight=None, **kwargs):
        """One epoch over ``X``, ``y``, continuing from the current weights.

        The first call builds the model (classifiers need ``classes`` then;
        regressors standardise targets with its statistics). No validation
        split, early stopping or schedule; weights are used as given.
        """
        return train(self, X, y, sample_weight, partial=True, **kwargs)

    def _train_shown(self, X, y, sample_weight, *, partial, classes, sample_domain, soft):
        from .._device import resolve_device
        from ._domain import split_domains
        from ._training import examples, fit_net

        self._check_lengths(X, y)
        X, y, sample_weight, X_target = split_domains(self, X, y, sample_weight, sample_domain)
        n = _num_samples(X)
        first = not ((partial or self.warm_start) and self.__sklearn_is_fitted__())
        if first:
            self._init_targets(y, classes=classes, sample_weight=sample_weight)
        targets = self._encode_targets(y)
        weights = self._row_weights(targets, sample_weight, n, partial=partial)
        rows = targets if soft is None else soft.rows(targets)  # what the loss compares to
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        device = resolve_device(self.device)

        valid_idx = None
        if self.early_stopping and not partial:
            train_idx, valid_idx = self._split(n, targets, seed)
        else:
            train_idx = np.arange(n)
        X_train = _safe_indexing(X, train_idx) if valid_idx is not None else X

        body = width = net = None
        if first:
            plan = self._make_plan(self._make_embedder(), seed, device)
            source, body, width = plan.fit(X_train, targets[train_idx])
        else:
            plan, net = self.plan_, self.net_
            source = plan.inputs(X_train, training=True)
        train = examples(source, rows[train_idx], weights[train_idx])
        valid = None
        if valid_idx is not None:
            valid_source = plan.inputs(_safe_indexing(X, valid_idx), training=False)
            valid = examples(valid_source, rows[valid_idx], weights[valid_idx])
        if X_target is not None:
            from ._domain import DomainExamples

            train = DomainExamples(train, plan.inputs(X_target, training=True))

        net = fit_net(
            self, net, plan, train, valid, body=body, width=width, seed=seed, device=device,
            partial=partial, criterion=None if soft is None else soft.criterion(),
        )  # fmt: skip
        self.embedder_, self.plan_, self.net_ = plan.embedder, plan, net
        return self

    def _check_lengths(self, X, y) -> int:
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        n, n_y = _num_samples(X), _num_samples(y)
        if n == 0:
            raise ValueError("X holds 0 rows: at least one row is needed to train.")
        if n != n_y:
            raise ValueError(
                f"X has {n} rows but y has {n_y}: pass one target per row "
                "(inconsistent numbers of samples)."
            )
        return n

    def _row_weights(self, targets, sample_weight, n, *, partial) -> np.ndarray:
        w = _check_sample_weight(sample_weight, np.empty(n), dtype=np.float64)
        bad = np.flatnonzero(~np.isfinite(w) | (w < 0))
        if len(bad):
            raise ValueError(
                f"sample_weight[{bad[0]}] is {w[bad[0]]!r} ({len(bad)} rows have a negative "
                "or non-finite weight): weights must be finite and >= 0 (0 leaves a row out)."
            )
        class_weight = getattr(self, "class_weight", None)
        if class_weight is not None:
            if partial and class_weight == "balanced":
                raise ValueError(
                    "class_weight='balanced' needs all of y at once; it is not supported "
                    "by partial_fit. Pass a dict of class weights instead."
                )
            w = w * self._class_weights(targets)
        if w.sum() <= 0:
            raise ValueError("sample_weight sums to 0: at least one row needs a positive weight.")
        if not partial:
            w = w / w.mean()
        return w.astype(np.float32)

    def _split(self, n, targets, seed):
        n_valid = max(1, round(self.validation_fraction * n))
        if n - n_valid < 1:
            raise ValueError(
                f"early_stopping needs a validation split, but {n} rows leave none to "
                "train on; pass more rows or early_stopping=False."
            )
        stratify = self._stratify(targets, n_valid)
        idx = np.arange(n)
        train, valid = train_test_split(
            idx, test_size=n_valid, random_state=seed % (2**32), stratify=stratify
        )
        return np.sort(train), np.sort(valid)

    def _stratify(self, targets, n_valid):
        return None

    # ------------------------------------------------------------ prediction
    def _forward(self, X) -> np.ndarray:
        from .._progress import display
        from ._training import predict_logits

        check_is_fitted(self)
        with display(f"{type(self).__name__}.predict", enabled=self.verbose):
            return predict_logits(self.net_, self.plan_.inputs(X, training=False))

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "net_")

    @property
    def n_features_in_(self):
        """Number of input columns, when the embedder takes a 2-D array."""
        check_is_fitted(self)
        return self.embedder_.n_features_in_

    @property
    def feature_names_in_(self):
        """Input column names, when the embedder was fitted on a DataFrame."""
        check_is_fitted(self)
        return self.embedder_.feature_names_in_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        if self.embedder is not None or self._embedder_name is not None:
            tags.input_tags = copy(get_tags(self._make_embedder()).input_tags)
        tags.target_tags.required = True
        return tags


class TransferClassifier(ClassifierTargets, FineTuner):
    # generated by `python -m sktransfer.finetune._generate` from the parameter table: do not edit
    """Classify rows with any embedder and a trained head; with an ImageEmbedder or a
    TextEmbedder, optionally its last blocks fine-tuned. The modality-neutral estimator that
    ImageClassifier and TextClassifier preset.

    Parameters
    ----------
    embedder : sklearn transformer, default=None
        What turns rows into features (no default): an :class:`ImageEmbedder` or a
        :class:`TextEmbedder` (whose last blocks can then train, ``unfreeze``), or any other
        sklearn transformer with a numeric output (a ``Pipeline`` ending in ``PCA``, a
        ``FunctionTransformer()`` on features already computed…), with ``unfreeze=0``.
        Grid-search its parameters as ``embedder__model`` etc.
    augment : None, "light", "strong" or callable, default=None
        Training-time augmentation of each decoded image (a PIL image in, a PIL image out),
        before the weights' own preprocessing. ``"light"``: flips and small shifts,
        rotations and zooms; ``"strong"``: the same, larger, plus ``RandAugment``. Both flip
        left-right: for digits or text in images pass your own torchvision transform.
        Augmentation makes the backbone run on every batch (no fast path).
    head : "linear", "mlp", int or tuple of int, default="linear"
        The head on the pooled features: linear, or an MLP with these hidden sizes
        (``"mlp"`` is one hidden layer of 256). Or your own ``nn.Module`` class, built as
        ``head(in_features=..., out_features=..., **head__params)`` with the ``head__*``
        parameters routed to it (as skorch's ``module__*``), e.g. ``head=MyHead,
        head__hidden=64``; or an ``nn.Module`` instance, copied when fitting.
    dropout : float, default=0.0
        Dropout on the features and after each hidden layer of the head.
    unfreeze : 0, "head", int or "all", default=0
        What trains besides the head. ``0`` / ``"head"``: nothing (the fast path: each row
        is embedded once, before training). ``N``: the last N blocks of the backbone (the
        last N transformer layers of a TextEmbedder, or the last N blocks of an
        ImageEmbedder's backbone). ``"all"``: the whole backbone. Frozen blocks stay in eval
        mode (BatchNorm statistics and dropout as at inference).
    lr : float, default=0.003
        Learning rate of the head.
    backbone_lr : float, default=0.0001
        Learning rate of the unfrozen backbone blocks: smaller than the head's
        (discriminative rates), so that training does not wipe out what the backbone learned
        in pre-training.
    max_epochs : int or "auto", default="auto"
        Passes over the training rows. An epoch is ``ceil(n_rows / batch_size)`` optimizer
        steps. ``"auto"``: when only the head trains (``unfreeze=0``, the fast path, where
        an epoch over the embeddings costs milliseconds), enough epochs for 1,000 optimizer
        steps and at least 20 (150 rows: 200 epochs; 4,000 rows: 20); when backbone blocks
        train, 20.
    batch_size : int, default=32
        Rows per optimizer step (and per forward pass when predicting).
    optimizer : {"adamw", "adam", "sgd"} or torch optimizer class, default="adamw"
        ``"sgd"`` uses momentum 0.9.
    weight_decay : float, default=0.01
        Passed to the optimizer.
    lr_schedule : None, "cosine" or "onecycle", default=None
        Per-step learning-rate schedule: constant, linear warm-up then cosine decay to 0, or
        one-cycle (warm-up from lr/25, then cosine decay).
    warmup : float, default=0.1
        Fraction of the steps spent warming up, for both schedules.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows (stratified for classifiers) and stop
        when their loss has not improved for ``patience`` epochs.
    validation_fraction : float, default=0.1
        Share of the rows held out when ``early_stopping``.
    patience : int, default=5
        Epochs without improvement of the validation loss before stopping.
    restore_best : bool, default=True
        With ``early_stopping``, end with the weights of the best epoch.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss, multiplied by ``sample_weight``.
    domain_loss : None, "coral" or callable, default=None
        Deep domain alignment with unlabelled target rows, given to ``fit`` by
        ``sample_domain`` (negative = target, skada's convention) or the label -1.
        ``"coral"``: every batch also draws as many target rows, and the loss adds
        ``domain_weight * ||C_s - C_t||_F^2 / (4 d^2)`` (Deep CORAL) between the covariances
        of the source and target features that the head's last linear layer reads; or your
        own ``loss(source, target) -> scalar tensor``. Needs something to train before that
        layer: ``head="mlp"`` (or hidden sizes) or ``unfreeze=N``. See the domain adaptation
        guide.
    domain_weight : float, default=1.0
        Weight of ``domain_loss`` against the label loss.
    random_state : int, RandomState or None, default=None
        Seeds the head's initialisation, the shuffling, dropout and the validation split:
        two fits with the same seed give the same model on a CPU.
    device : {"auto", "cpu", "cuda", "cuda:N", "mps"}, default="auto"
        Where training runs (the embedder embeds on its own ``device``).
    verbose : int, default=1
        0: nothing is printed. 1: a progress line on stderr while ``fit`` or ``predict``
        runs past 2 s, counted in rows embedded, pairs (SetFit) and training batches, with
        the time left (plain lines at most every 30 s when stderr is not a terminal). 2:
        also skorch's table of losses per epoch.
    warm_start : bool, default=False
        If True, ``fit`` continues from the weights of the previous ``fit`` instead of
        starting again.

    Attributes
    ----------
    classes_ : ndarray
        The labels, or ``arange(n_labels)`` for a multi-label indicator ``y``.
    multilabel_ : bool
        Whether ``y`` was a multi-label indicator matrix (sigmoid outputs, BCE loss).
    embedder_ : transformer
        The fitted embedder (its loaded backbone is shared with other estimators).
    net_ : skorch.NeuralNet
        The trained net; ``net_.history`` holds the losses of every epoch, e.g.
        ``net_.history[:, "train_loss"]``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> from sktransfer import TransferClassifier
    >>> X = np.random.default_rng(0).normal(size=(20, 4))
    >>> y = np.where(X[:, 0] > 0, "up", "down")
    >>> clf = TransferClassifier(embedder=FunctionTransformer(), max_epochs=5, random_state=0)
    >>> clf.fit(X, y).predict_proba(X[:3]).shape
    (3, 2)
    """

    def __init__(
        self,
        *,
        embedder=None,
        augment=None,
        head="linear",
        dropout=0.0,
        unfreeze=0,
        lr=0.003,
        backbone_lr=0.0001,
        max_epochs="auto",
        batch_size=32,
        optimizer="adamw",
        weight_decay=0.01,
        lr_schedule=None,
        warmup=0.1,
        early_stopping=False,
        validation_fraction=0.1,
        patience=5,
        restore_best=True,
        class_weight=None,
        domain_loss=None,
        domain_weight=1.0,
        random_state=None,
        device="auto",
        verbose=1,
        warm_start=False,
        **head__params,
    ):
        store(locals())

    # end of generated code


class TransferRegressor(RegressorTargets, FineTuner):
    # generated by `python -m sktransfer.finetune._generate` from the parameter table: do not edit
    """Predict numbers from rows with any embedder and a trained head (see TransferClassifier).
    The modality-neutral estimator that ImageRegressor and TextRegressor preset.

    Parameters
    ----------
    embedder : sklearn transformer, default=None
        What turns rows into features (no default): an :class:`ImageEmbedder` or a
        :class:`TextEmbedder` (whose last blocks can then train, ``unfreeze``), or any other
        sklearn transformer with a numeric output (a ``Pipeline`` ending in ``PCA``, a
        ``FunctionTransformer()`` on features already computed…), with ``unfreeze=0``.
        Grid-search its parameters as ``embedder__model`` etc.
    augment : None, "light", "strong" or callable, default=None
        Training-time augmentation of each decoded image (a PIL image in, a PIL image out),
        before the weights' own preprocessing. ``"light"``: flips and small shifts,
        rotations and zooms; ``"strong"``: the same, larger, plus ``RandAugment``. Both flip
        left-right: for digits or text in images pass your own torchvision transform.
        Augmentation makes the backbone run on every batch (no fast path).
    head : "linear", "mlp", int or tuple of int, default="linear"
        The head on the pooled features: linear, or an MLP with these hidden sizes
        (``"mlp"`` is one hidden layer of 256). Or your own ``nn.Module`` class, built as
        ``head(in_features=..., out_features=..., **head__params)`` with the ``head__*``
        parameters routed to it (as skorch's ``module__*``), e.g. ``head=MyHead,
        head__hidden=64``; or an ``nn.Module`` instance, copied when fitting.
    dropout : float, default=0.0
        Dropout on the features and after each hidden layer of the head.
    unfreeze : 0, "head", int or "all", default=0
        What trains besides the head. ``0`` / ``"head"``: nothing (the fast path: each row
        is embedded once, before training). ``N``: the last N blocks of the backbone (the
        last N transformer layers of a TextEmbedder, or the last N blocks of an
        ImageEmbedder's backbone). ``"all"``: the whole backbone. Frozen blocks stay in eval
        mode (BatchNorm statistics and dropout as at inference).
    lr : float, default=0.003
        Learning rate of the head.
    backbone_lr : float, default=0.0001
        Learning rate of the unfrozen backbone blocks: smaller than the head's
        (discriminative rates), so that training does not wipe out what the backbone learned
        in pre-training.
    max_epochs : int or "auto", default="auto"
        Passes over the training rows. An epoch is ``ceil(n_rows / batch_size)`` optimizer
        steps. ``"auto"``: when only the head trains (``unfreeze=0``, the fast path, where
        an epoch over the embeddings costs milliseconds), enough epochs for 1,000 optimizer
        steps and at least 20 (150 rows: 200 epochs; 4,000 rows: 20); when backbone blocks
        train, 20.
    batch_size : int, default=32
        Rows per optimizer step (and per forward pass when predicting).
    optimizer : {"adamw", "adam", "sgd"} or torch optimizer class, default="adamw"
        ``"sgd"`` uses momentum 0.9.
    weight_decay : float, default=0.01
        Passed to the optimizer.
    lr_schedule : None, "cosine" or "onecycle", default=None
        Per-step learning-rate schedule: constant, linear warm-up then cosine decay to 0, or
        one-cycle (warm-up from lr/25, then cosine decay).
    warmup : float, default=0.1
        Fraction of the steps spent warming up, for both schedules.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows (stratified for classifiers) and stop
        when their loss has not improved for ``patience`` epochs.
    validation_fraction : float, default=0.1
        Share of the rows held out when ``early_stopping``.
    patience : int, default=5
        Epochs without improvement of the validation loss before stopping.
    restore_best : bool, default=True
        With ``early_stopping``, end with the weights of the best epoch.
    domain_loss : None, "coral" or callable, default=None
        Deep domain alignment with unlabelled target rows, given to ``fit`` by
        ``sample_domain`` (negative = target, skada's convention) or the label -1.
        ``"coral"``: every batch also draws as many target rows, and the loss adds
        ``domain_weight * ||C_s - C_t||_F^2 / (4 d^2)`` (Deep CORAL) between the covariances
        of the source and target features that the head's last linear layer reads; or your
        own ``loss(source, target) -> scalar tensor``. Needs something to train before that
        layer: ``head="mlp"`` (or hidden sizes) or ``unfreeze=N``. See the domain adaptation
        guide.
    domain_weight : float, default=1.0
        Weight of ``domain_loss`` against the label loss.
    random_state : int, RandomState or None, default=None
        Seeds the head's initialisation, the shuffling, dropout and the validation split:
        two fits with the same seed give the same model on a CPU.
    device : {"auto", "cpu", "cuda", "cuda:N", "mps"}, default="auto"
        Where training runs (the embedder embeds on its own ``device``).
    verbose : int, default=1
        0: nothing is printed. 1: a progress line on stderr while ``fit`` or ``predict``
        runs past 2 s, counted in rows embedded, pairs (SetFit) and training batches, with
        the time left (plain lines at most every 30 s when stderr is not a terminal). 2:
        also skorch's table of losses per epoch.
    warm_start : bool, default=False
        If True, ``fit`` continues from the weights of the previous ``fit`` instead of
        starting again.

    Attributes
    ----------
    n_outputs_ : int
        Number of target columns (targets are standardised while training).
    embedder_ : transformer
        The fitted embedder (its loaded backbone is shared with other estimators).
    net_ : skorch.NeuralNet
        The trained net; ``net_.history`` holds the losses of every epoch, e.g.
        ``net_.history[:, "train_loss"]``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> from sktransfer import TransferRegressor
    >>> X = np.random.default_rng(0).normal(size=(20, 4))
    >>> reg = TransferRegressor(embedder=FunctionTransformer(), max_epochs=5, random_state=0)
    >>> reg.fit(X, X.sum(axis=1)).predict(X[:3]).shape
    (3,)
    """

    def __init__(
        self,
        *,
        embedder=None,
        augment=None,
        head="linear",
        dropout=0.0,
        unfreeze=0,
        lr=0.003,
        backbone_lr=0.0001,
        max_epochs="auto",
        batch_size=32,
        optimizer="adamw",
        weight_decay=0.01,
        lr_schedule=None,
        warmup=0.1,
        early_stopping=False,
        validation_fraction=0.1,
        patience=5,
        restore_best=True,
        domain_loss=None,
        domain_weight=1.0,
        random_state=None,
        device="auto",
        verbose=1,
        warm_start=False,
        **head__params,
    ):
        store(locals())

    # end of generated code
