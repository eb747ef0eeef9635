"""What ``y`` is for the fine-tuning estimators: labels or numbers.

A mixin turns ``y`` into the net's targets (class codes, a 0/1 label matrix,
standardised numbers), names the loss, and turns the net's outputs back into
predictions in ``y``'s own terms. NumPy only: the net sees tensors made from
these arrays in ``_training``.

Labels follow one rule: every label of ``y`` is of one kind, all strings or all
numbers (bools count as numbers), and none is missing. A missing label (None,
NaN, pandas' NA) or a mix of kinds is an error naming the rows, never a class
of its own or a silent conversion to strings. A classifier needs two classes at
least. Every classifier of the package checks its labels here.

Encoded labels: scikit-learn's ``cross_val_predict(method="predict_proba")`` and
``StackingClassifier`` encode ``y`` as ``0..k-1`` (``LabelEncoder``: the classes in
sorted order) before fitting. A classifier whose classes are names fixed before
``fit`` (``ZeroShotClassifier``'s ``labels``, a distilled student's teacher) reads
an integer ``y`` by that same rule: the value ``i`` is the ``i``-th name in sorted
order, and its ``classes_`` are then the codes ``0..k-1``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, softmax
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import _check_sample_weight, _num_samples, check_array, column_or_1d

from ..io._rows import Rows, is_missing


def check_labels(y, *, positions=None):
    """``y`` as a 1-D or 2-D array after the label rule above, or an error that
    names the offending rows and the fix. ``positions``: where the rows of ``y``
    are in the user's ``y`` when ``y`` is a subset of it."""
    index = list(y.index) if hasattr(y, "index") and hasattr(y, "iloc") else None
    if hasattr(y, "to_numpy"):
        y = y.to_numpy()
    if not hasattr(y, "ndim") and not isinstance(y, (list, tuple)):
        y = np.asarray(y)
    if not hasattr(y, "ndim"):
        values = list(y)
        if any(isinstance(v, (list, tuple, set, frozenset, np.ndarray)) for v in values):
            lengths = {len(v) if hasattr(v, "__len__") else -1 for v in values}
            flat = [x for v in values if hasattr(v, "__iter__") for x in v]
            if len(lengths) > 1 or not all(x in (0, 1) for x in flat):
                raise ValueError(
                    "y holds a list of labels per row; turn it into a 0/1 indicator "
                    "matrix first, e.g. y = sklearn.preprocessing.MultiLabelBinarizer()"
                    ".fit_transform(y) (keep the binarizer to read predictions back)."
                )
        y = np.empty(len(values), dtype=object)
        y[:] = values
        if all(isinstance(v, (list, tuple, np.ndarray)) for v in values) and values:
            y = np.asarray(values)
    rows = Rows(y, index, positions) if y.ndim == 1 else None  # names rows in the errors below
    if rows is not None and y.dtype.kind in "OfU":
        missing = [i for i, v in enumerate(y) if is_missing(v)]
        if missing:
            raise ValueError(
                f"y is missing at {rows.describe(missing)} ({len(missing)} of {len(y)} rows): "
                "a classifier needs a label for every row; drop those rows or fill them in."
            )
    if rows is not None and y.dtype.kind == "O":
        kinds = {}
        for i, v in enumerate(y):
            kind = "string" if isinstance(v, (str, np.str_)) else "number"
            if kind == "number" and not isinstance(v, (int, float, bool, np.number, np.bool_)):
                kind = type(v).__name__
            kinds.setdefault(kind, i)
        if len(kinds) > 1:
            examples = ", ".join(f"{rows.name(i)}: {y[i]!r}" for i in sorted(kinds.values()))
            raise ValueError(
                f"y mixes labels of different kinds ({', '.join(sorted(kinds))}: {examples}); "
                "use one kind for all, e.g. y.astype(str)."
            )
        if set(kinds) == {"string"}:
            y = y.astype(str)
        elif set(kinds) == {"number"}:
            y = np.asarray(y.tolist())
    return y


def check_n_classes(classes) -> None:
    """An error unless there are two classes at least."""
    classes = list(np.asarray(classes).tolist())
    if len(classes) < 2:
        held = f"1 class ({classes[0]!r})" if classes else "no labels"
        raise ValueError(
            f"y holds {held} but a classifier needs at least 2 classes; check the target column."
        )


def check_classes(y):
    """``(y, classes)``: 1-D single-label ``y`` after the label rule, and its sorted
    classes, two at least; an error otherwise."""
    y = column_or_1d(check_labels(y), warn=True)
    check_classification_targets(y)
    classes = unique_labels(y)
    check_n_classes(classes)
    return y, classes


def is_encoded(y, names) -> bool:
    """True when ``y`` holds integers (not bools) and every one of ``names`` is a
    string: ``y`` is then read as scikit-learn's encoding of the sorted names (see
    above)."""
    values = np.asarray(y)
    if values.dtype.kind == "O":
        values = np.asarray(values.tolist())
    names = list(np.asarray(names, dtype=object).tolist())
    return values.dtype.kind in "iu" and len(names) > 0 and all(isinstance(n, str) for n in names)


ENCODED_RULE = (
    "an integer y for classes that are names is read as scikit-learn's encoding of them "
    "(LabelEncoder, as cross_val_predict and StackingClassifier pass y: 0 is the first "
    "name in sorted order)"
)


class ClassifierTargets(ClassifierMixin):
    """Labels of any type, single- or multi-label."""

    def _init_targets(self, y, classes=None, sample_weight=None):
        y = self._check_y(y)
        self.multilabel_ = y.ndim == 2
        if self.multilabel_:
            self.classes_ = np.arange(y.shape[1])
            self._label_dtype = y.dtype
            return
        labels = unique_labels(y) if classes is None else np.unique(np.asarray(classes))
        check_n_classes(labels)
        self.classes_ = labels

    def _check_y(self, y):
        y = check_labels(y)
        if y.ndim == 2 and y.shape[1] > 1:
            if type_of_target(y) != "multilabel-indicator":
                raise ValueError(
                    "a 2-D y must be a multi-label indicator matrix (0/1 columns, one per "
                    f"label); got {type_of_target(y)!r} targets. For lists of labels per "
                    "row, use sklearn.preprocessing.MultiLabelBinarizer."
                )
            return check_array(y, input_name="y")
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        return y

    def _encode_targets(self, y) -> np.ndarray:
        """Class codes (int64), or the label matrix as float32 for multi-label ``y``."""
        y = self._check_y(y)
        if self.multilabel_ != (y.ndim == 2) or (
            self.multilabel_ and y.shape[1] != len(self.classes_)
        ):
            raise ValueError(
                "y does not have the shape of the targets this classifier was fitted on "
                f"({len(self.classes_)} {'labels' if self.multilabel_ else 'classes'})."
            )
        if self.multilabel_:
            return np.asarray(y, dtype=np.float32)
        codes = np.searchsorted(self.classes_, y).clip(max=len(self.classes_) - 1)
        unseen = self.classes_[codes] != y
        if unseen.any():
            raise ValueError(
                f"y holds labels {list(np.unique(y[unseen]))[:5]} that are not among the "
                f"classes {list(self.classes_)[:10]} of this classifier; pass every label "
                "in `classes` on the first partial_fit call, or refit."
            )
        return codes.astype(np.int64)

    def _class_weights(self, targets):
        if self.multilabel_:
            raise ValueError("class_weight is not supported for multi-label targets.")
        return compute_sample_weight(self.class_weight, targets)

    def _stratify(self, targets, n_valid):
        if self.multilabel_:
            return None
        counts = np.bincount(targets)
        present = counts[counts > 0]
        ok = present.min() >= 2 and n_valid >= len(present)
        return targets if ok else None

    def _n_outputs(self) -> int:
        return len(self.classes_)

    def _loss(self) -> str:
        return "bce" if self.multilabel_ else "cross_entropy"

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
        logits = self._forward(X)
        return expit(logits) if self.multilabel_ else softmax(logits, axis=1)

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


class RegressorTargets(RegressorMixin):
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

    def _encode_targets(self, y) -> np.ndarray:
        table = self._check_y(y).reshape(_num_samples(y), -1)
        if table.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {table.shape[1]} target columns; this regressor was fitted on "
                f"{self.n_outputs_}."
            )
        return ((table - self._y_mean) / self._y_scale).astype(np.float32)

    def _n_outputs(self) -> int:
        return self.n_outputs_

    def _loss(self) -> str:
        return "mse"

    def predict(self, X):
        """Predicted targets, in the units and shape of ``y``."""
        out = self._forward(X) * self._y_scale + self._y_mean
        return out.ravel() if self._y_ndim == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
