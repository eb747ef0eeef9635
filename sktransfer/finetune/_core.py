"""The fine-tuning core: one estimator for every modality.

:class:`FineTuner` holds ``fit`` / ``partial_fit`` / prediction; what trains
follows from the encoder and the freeze settings (see ``_plans``), what ``y``
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
from ._params import CONTRASTIVE, HEAD_PREFIX, keyword_init
from ._targets import ClassifierTargets, RegressorTargets


class FineTuner(BaseEstimator):
    """Fine-tuning through skorch; see :class:`ImageClassifier` for the parameters.

    Presets set ``_encoder_name``, the public encoder class used when
    ``encoder`` is None or a model name.
    """

    _encoder_name: str | None = None

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

    # ------------------------------------------------------------ the encoder
    @classmethod
    def _default_encoder(cls):
        if cls._encoder_name is None:
            return None
        return getattr(importlib.import_module("sktransfer"), cls._encoder_name)

    def _make_encoder(self):
        encoder, default = self.encoder, self._default_encoder()
        if encoder is None or isinstance(encoder, (str, os.PathLike)):
            if default is None:
                raise ParameterError(
                    "encoder",
                    encoder,
                    f"{type(self).__name__} has no default encoder; pass "
                    "an ImageEmbedder, a TextEmbedder or another sklearn transformer.",
                )
            return default() if encoder is None else default(model=encoder)
        if not (hasattr(encoder, "fit") and hasattr(encoder, "transform")):
            example = default.__name__ if default is not None else "TextEmbedder"
            raise TypeError(
                f"encoder={encoder!r} must be None, a model name, or an sklearn transformer "
                f"such as {example}(...)."
            )
        return clone(encoder)

    def _make_plan(self, encoder, seed, device):
        from ._plans import make_plan

        expected = self._encoder_name
        return make_plan(encoder, self.unfreeze, getattr(self, "augment", None), expected)

    # ------------------------------------------------------------ fitting
    def fit(self, X, y, sample_weight=None, sample_domain=None):
        """Train the head (and the unfrozen blocks) on ``X``, ``y``.

        Parameters
        ----------
        X : rows the encoder takes
            Texts or images (see the encoders), or whatever another encoder takes.
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
        self._validate_params()
        return self._train(X, y, sample_weight, partial=False, sample_domain=sample_domain)

    def partial_fit(self, X, y, sample_weight=None, **kwargs):
        """One epoch over ``X``, ``y``, continuing from the current weights.

        The first call builds the model (classifiers need ``classes`` then;
        regressors standardise targets with its statistics). No validation
        split, early stopping or schedule; weights are used as given.
        """
        self._validate_params()
        return self._train(X, y, sample_weight, partial=True, **kwargs)

    def _train(self, X, y, sample_weight, *, partial, classes=None, sample_domain=None, soft=None):
        """``sample_domain``: skada's convention, target rows train the domain loss only
        (``_domain.split_domains``); ``soft``: train on soft targets instead of ``y``
        alone (``_soft.fit_soft``). One progress display counts what the call
        embeds and trains (``verbose``)."""
        from .._progress import display

        with display(f"{type(self).__name__}.fit", enabled=self.verbose):
            return self._train_shown(
                X, y, sample_weight, partial=partial, classes=classes,
                sample_domain=sample_domain, soft=soft,
            )  # fmt: skip

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
            plan = self._make_plan(self._make_encoder(), seed, device)
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
        self.encoder_, self.plan_, self.net_ = plan.encoder, plan, net
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
        """Number of input columns, when the encoder takes a 2-D array."""
        check_is_fitted(self)
        return self.encoder_.n_features_in_

    @property
    def feature_names_in_(self):
        """Input column names, when the encoder was fitted on a DataFrame."""
        check_is_fitted(self)
        return self.encoder_.feature_names_in_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        if self.encoder is not None or self._encoder_name is not None:
            tags.input_tags = copy(get_tags(self._make_encoder()).input_tags)
        tags.target_tags.required = True
        return tags


class TransferClassifier(ClassifierTargets, FineTuner):
    """Classify rows with any encoder and a trained head; with an
    :class:`ImageEmbedder` or :class:`TextEmbedder`, optionally fine-tune its
    last blocks. The parameters are :class:`ImageClassifier`'s; ``encoder`` has
    no default."""

    # One __init__ per distinct parameter list, generated from one table (_params).
    __init__ = keyword_init(drop=CONTRASTIVE)


class TransferRegressor(RegressorTargets, FineTuner):
    """Predict numbers from rows with any encoder and a trained head (see
    :class:`TransferClassifier`); the parameters are :class:`ImageRegressor`'s."""

    __init__ = keyword_init(drop=(*CONTRASTIVE, "class_weight"))
