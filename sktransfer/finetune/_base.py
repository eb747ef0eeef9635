"""The shared fine-tuning estimator: targets, weights, the skorch net, prediction.

A *plan* decides what the net trains on and what it trains:

* :class:`FeaturePlan` (the fast path): nothing in the backbone trains and no
  augmentation is on, so the encoder embeds each row once (its cache, when it
  has one, makes that free the second time) and only the head trains;
* the image and text plans (``_image.py``, ``_text.py``): a copy of the
  backbone whose last blocks (or all of it) train together with the head.

Every plan has ``fit(X, targets) -> (source, body, width)`` and
``inputs(X, training) -> source``; ``source[i]`` is what ``body`` takes for
row ``i``, ``width`` the size of ``body``'s output.
"""

from __future__ import annotations

import math
import numbers
import os
from contextlib import contextmanager
from copy import copy
from typing import ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.model_selection import train_test_split
from sklearn.utils import _safe_indexing, get_tags
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import (
    _check_sample_weight,
    _num_samples,
    check_array,
    check_is_fitted,
    check_random_state,
    column_or_1d,
)
from torch import nn

from .._device import resolve_device
from ..heads import MLPHead, head_layers
from ._blocks import check_unfreeze
from ._net import Examples, Net, Schedule, TransferModule, collate

_OPTIMIZERS = {"adamw": torch.optim.AdamW, "adam": torch.optim.Adam, "sgd": torch.optim.SGD}


def as_features(values) -> torch.Tensor:
    """An encoder's output (array, sparse matrix, DataFrame) as a float32 tensor."""
    if hasattr(values, "toarray"):
        values = values.toarray()
    values = np.asarray(values, dtype=np.float32)
    if values.ndim != 2:
        raise ValueError(f"the encoder returned an array of shape {values.shape}; expected 2-D.")
    return torch.from_numpy(np.ascontiguousarray(values))


class FeaturePlan:
    """Head only: embed the rows once, train the head on the embeddings."""

    num_workers = 0

    def __init__(self, encoder):
        self.encoder = encoder

    def fit(self, X, targets=None):
        source = as_features(self.encoder.fit_transform(X))
        return source, None, source.shape[1]

    def inputs(self, X, training=False):
        return as_features(self.encoder.transform(X))


class L2Normalize(nn.Module):
    """What an encoder's ``normalize=True`` does, for a trained body."""

    def forward(self, x):
        return nn.functional.normalize(x, dim=-1)


@contextmanager
def seeded(seed: int, device: torch.device):
    """Seed torch for what runs inside, and restore the caller's RNG state after."""
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


class BaseFineTuner(BaseEstimator):
    """Fine-tuning through skorch; see :class:`ImageClassifier` for the parameters.

    Subclasses set ``_default_encoder`` (the encoder class used when
    ``encoder`` is None or a model name) and implement ``_backbone_plan``.
    """

    _default_encoder: type = None

    _parameter_constraints: ClassVar[dict] = {
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "backbone_lr": [Interval(numbers.Real, 0, None, closed="left")],
        "max_epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "optimizer": [StrOptions(set(_OPTIMIZERS)), type],
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
    }

    # ------------------------------------------------------------ the encoder
    def _make_encoder(self):
        encoder = self.encoder
        if encoder is None:
            return self._default_encoder()
        if isinstance(encoder, (str, os.PathLike)):
            return self._default_encoder(model=encoder)
        if not (hasattr(encoder, "fit") and hasattr(encoder, "transform")):
            raise TypeError(
                f"encoder={encoder!r} must be None, a model name, or an sklearn transformer "
                f"such as {self._default_encoder.__name__}(...)."
            )
        return clone(encoder)

    def _make_plan(self, encoder, seed, device):
        unfreeze = check_unfreeze(self.unfreeze)
        augment = getattr(self, "augment", None)
        if unfreeze == 0 and augment is None:
            return FeaturePlan(encoder)
        if not isinstance(encoder, self._default_encoder):
            what = f"unfreeze={self.unfreeze!r}" if unfreeze else f"augment={augment!r}"
            raise ValueError(
                f"{what} runs the backbone on every batch, so the encoder must be a "
                f"{self._default_encoder.__name__} (or a model name); with "
                f"{type(encoder).__name__} only the head trains (unfreeze=0, augment=None)."
            )
        return self._backbone_plan(encoder, unfreeze)

    def _backbone_plan(self, encoder, unfreeze):  # pragma: no cover - abstract
        raise NotImplementedError

    # ------------------------------------------------------------ fitting
    def fit(self, X, y, sample_weight=None):
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

        Returns
        -------
        self
        """
        self._validate_params()
        return self._train(X, y, sample_weight, partial=False)

    def partial_fit(self, X, y, sample_weight=None, **kwargs):
        """One epoch over ``X``, ``y``, continuing from the current weights.

        The first call builds the model (classifiers need ``classes`` then;
        regressors standardise targets with its statistics). No validation
        split, early stopping or schedule; weights are used as given.
        """
        self._validate_params()
        return self._train(X, y, sample_weight, partial=True, **kwargs)

    def _train(self, X, y, sample_weight, *, partial, classes=None):
        n = self._check_lengths(X, y)
        first = not ((partial or self.warm_start) and self.__sklearn_is_fitted__())
        if first:
            self._init_targets(y, classes=classes, sample_weight=sample_weight)
        targets = self._encode_targets(y)
        weights = self._row_weights(targets, sample_weight, n, partial=partial)
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        device = resolve_device(self.device)

        valid_idx = None
        if self.early_stopping and not partial:
            train_idx, valid_idx = self._split(n, targets, seed)
        else:
            train_idx = np.arange(n)
        X_train = _safe_indexing(X, train_idx) if valid_idx is not None else X

        if first:
            plan = self._make_plan(self._make_encoder(), seed, device)
            source, body, width = plan.fit(X_train, targets[train_idx])
            if getattr(plan.encoder, "normalize", False) and body is not None:
                body = nn.Sequential(body, L2Normalize())
        else:
            plan, net = self.plan_, self.net_
            source = plan.inputs(X_train, training=True)
        train = Examples(source, targets[train_idx], weights[train_idx])
        valid = None
        if valid_idx is not None:
            valid_source = plan.inputs(_safe_indexing(X, valid_idx), training=False)
            valid = Examples(valid_source, targets[valid_idx], weights[valid_idx])

        with seeded(seed, device):
            if first:
                head = MLPHead(width, self._n_outputs(), head_layers(self.head), self.dropout)
                net = self._make_net(TransferModule(body, head), device, plan)
            self._configure(net, len(train), valid, partial)
            try:
                if first:
                    net.initialize()
                net.partial_fit(train)
            finally:
                self._release(net)
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

    def _row_weights(self, targets, sample_weight, n, *, partial):
        w = _check_sample_weight(sample_weight, np.empty(n), dtype=np.float64)
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
        return torch.from_numpy(w.astype(np.float32))

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

    # ------------------------------------------------------------ the net
    def _make_net(self, module, device, plan):
        optimizer = self.optimizer
        extra = {}
        if isinstance(optimizer, str):
            if optimizer == "sgd":
                extra["optimizer__momentum"] = 0.9
            optimizer = _OPTIMIZERS[optimizer]
        loaders = {
            f"iterator_{kind}__{key}": value
            for kind in ("train", "valid")
            for key, value in (("collate_fn", collate), ("num_workers", plan.num_workers))
        }
        return Net(
            module=module,
            criterion=self._criterion(),
            criterion__reduction="none",
            optimizer=optimizer,
            optimizer__weight_decay=self.weight_decay,
            optimizer__param_groups=[("body.*", {"lr": self.backbone_lr})],
            lr=self.lr,
            batch_size=self.batch_size,
            iterator_train__shuffle=True,
            train_split=None,
            predict_nonlinearity=None,
            verbose=int(self.verbose),
            device=str(device),
            **loaders,
            **extra,
        )

    def _configure(self, net, n_train, valid, partial):
        """Set what differs between calls: epochs, validation, callbacks."""
        from skorch.callbacks import EarlyStopping, LRScheduler, ProgressBar
        from skorch.helper import predefined_split

        epochs = 1 if partial else self.max_epochs
        callbacks = []
        if valid is not None:
            stop = EarlyStopping(
                monitor="valid_loss", patience=self.patience, load_best=self.restore_best
            )
            callbacks.append(("early_stopping", stop))
        if self.lr_schedule is not None and not partial:
            steps = epochs * math.ceil(n_train / self.batch_size)
            schedule = Schedule(self.lr_schedule, steps, self.warmup)
            callbacks.append(
                (
                    "lr_schedule",
                    LRScheduler(
                        policy=torch.optim.lr_scheduler.LambdaLR,
                        lr_lambda=schedule,
                        step_every="batch",
                    ),
                )
            )
        if int(self.verbose) >= 2:
            callbacks.append(("progress_bar", ProgressBar()))
        net.set_params(
            max_epochs=epochs,
            callbacks=callbacks,
            train_split=predefined_split(valid) if valid is not None else None,
        )

    @staticmethod
    def _release(net):
        """Drop per-call state (validation data, best weights, schedule) from the net,
        and put back the learning rates a schedule moved."""
        net.set_params(callbacks=[], train_split=None)
        optimizer = getattr(net, "optimizer_", None)
        for group in getattr(optimizer, "param_groups", []):
            if "initial_lr" in group:
                group["lr"] = group.pop("initial_lr")

    # ------------------------------------------------------------ prediction
    def _forward(self, X) -> np.ndarray:
        check_is_fitted(self)
        source = self.plan_.inputs(X, training=False)
        with torch.no_grad():
            out = self.net_.forward(Examples(source))
        return out.float().numpy().astype(np.float64)

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
        tags.input_tags = copy(get_tags(self._make_encoder()).input_tags)
        tags.target_tags.required = True
        return tags


class TunedClassifierMixin(ClassifierMixin):
    """Labels of any type, single- or multi-label, for :class:`BaseFineTuner`."""

    def _init_targets(self, y, classes=None, sample_weight=None):
        y = self._check_y(y)
        self.multilabel_ = y.ndim == 2
        if self.multilabel_:
            self.classes_ = np.arange(y.shape[1])
            self._label_dtype = y.dtype
            return
        labels = unique_labels(y) if classes is None else np.unique(np.asarray(classes))
        if len(labels) < 2:
            raise ValueError(
                f"y holds 1 class ({labels[0]!r}) but a classifier needs at least 2 classes; "
                "check the target column."
            )
        self.classes_ = labels

    def _check_y(self, y):
        if not hasattr(y, "ndim"):
            y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] > 1:
            y = check_array(y, input_name="y")
            if type_of_target(y) != "multilabel-indicator":
                raise ValueError(
                    "a 2-D y must be a multi-label indicator matrix (0/1 columns, one per "
                    f"label); got {type_of_target(y)!r} targets."
                )
            return y
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        return y

    def _encode_targets(self, y):
        y = self._check_y(y)
        if self.multilabel_ != (y.ndim == 2) or (
            self.multilabel_ and y.shape[1] != len(self.classes_)
        ):
            raise ValueError(
                "y does not have the shape of the targets this classifier was fitted on "
                f"({len(self.classes_)} {'labels' if self.multilabel_ else 'classes'})."
            )
        if self.multilabel_:
            return torch.from_numpy(np.asarray(y, dtype=np.float32))
        codes = np.searchsorted(self.classes_, y).clip(max=len(self.classes_) - 1)
        unseen = self.classes_[codes] != y
        if unseen.any():
            raise ValueError(
                f"y holds labels {list(np.unique(y[unseen]))[:5]} that are not among the "
                f"classes {list(self.classes_)[:10]} of this classifier; pass every label "
                "in `classes` on the first partial_fit call, or refit."
            )
        return torch.from_numpy(codes.astype(np.int64))

    def _class_weights(self, targets):
        if self.multilabel_:
            raise ValueError("class_weight is not supported for multi-label targets.")
        return compute_sample_weight(self.class_weight, targets.numpy())

    def _stratify(self, targets, n_valid):
        if self.multilabel_:
            return None
        counts = np.bincount(targets.numpy())
        present = counts[counts > 0]
        ok = present.min() >= 2 and n_valid >= len(present)
        return targets.numpy() if ok else None

    def _n_outputs(self) -> int:
        return len(self.classes_)

    def _criterion(self):
        return nn.BCEWithLogitsLoss if self.multilabel_ else nn.CrossEntropyLoss

    def decision_function(self, X):
        """Logits: shape (n,) for two classes (positive class minus negative),
        (n, n_classes) otherwise, (n, n_labels) for multi-label targets."""
        logits = self._forward(X)
        if not self.multilabel_ and logits.shape[1] == 2:
            return logits[:, 1] - logits[:, 0]
        return logits

    def predict_proba(self, X):
        """Class probabilities (softmax; rows sum to 1), or per-label
        probabilities (sigmoid) for multi-label targets."""
        logits = torch.from_numpy(self._forward(X))
        if self.multilabel_:
            return torch.sigmoid(logits).numpy()
        return torch.softmax(logits, dim=1).numpy()

    def predict(self, X):
        """Labels (as given in ``y``), or the 0/1 indicator matrix for multi-label targets."""
        logits = self._forward(X)
        if self.multilabel_:
            return (logits > 0).astype(self._label_dtype)
        return self.classes_[logits.argmax(axis=1)]

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch over ``X``, ``y``, continuing from the current weights.

        Parameters
        ----------
        X, y, sample_weight : as in :meth:`fit`
        classes : array-like, default=None
            Every label ``y`` can hold; needed on the first call unless its ``y``
            already holds them all (or is a multi-label matrix).

        Returns
        -------
        self
        """
        return super().partial_fit(X, y, sample_weight=sample_weight, classes=classes)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class TunedRegressorMixin(RegressorMixin):
    """Numeric targets, one or several columns, standardised while training."""

    def _init_targets(self, y, classes=None, sample_weight=None):
        y = self._check_y(y)
        self._y_ndim = y.ndim
        table = y.reshape(len(y), -1)
        self.n_outputs_ = table.shape[1]
        # Weighted, so that a weight of 2 standardises like a repeated row.
        w = _check_sample_weight(sample_weight, table, dtype=np.float64)
        if w.sum() <= 0:
            w = np.ones_like(w)
        self._y_mean = np.average(table, axis=0, weights=w)
        scale = np.sqrt(np.average((table - self._y_mean) ** 2, axis=0, weights=w))
        self._y_scale = np.where(scale > 0, scale, 1.0)

    def _check_y(self, y):
        return check_array(y, ensure_2d=False, dtype=np.float64, input_name="y")

    def _encode_targets(self, y):
        table = self._check_y(y).reshape(_num_samples(y), -1)
        if table.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {table.shape[1]} target columns; this regressor was fitted on "
                f"{self.n_outputs_}."
            )
        return torch.from_numpy(((table - self._y_mean) / self._y_scale).astype(np.float32))

    def _n_outputs(self) -> int:
        return self.n_outputs_

    def _criterion(self):
        return nn.MSELoss

    def predict(self, X):
        """Predicted targets, in the units and shape of ``y``."""
        out = self._forward(X) * self._y_scale + self._y_mean
        return out.ravel() if self._y_ndim == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
