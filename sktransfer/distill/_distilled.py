"""Knowledge distillation as a classifier: a student trained on a fitted
teacher's soft predictions, mixed with the labels where there are any."""

from __future__ import annotations

import numbers
from copy import copy
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.utils import get_tags
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ._labels import label_codes
from ._teacher import check_teacher, teacher_proba


def _student_has(name):
    def check(self):
        # The fitted student when there is one, else the unfitted parameter.
        getattr(getattr(self, "student_", self.student), name)
        return True

    return check


class DistilledClassifier(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Train a student classifier on a fitted teacher's soft predictions
    (knowledge distillation), mixed with the hard labels by a weight.

    A large, accurate teacher (a fine-tuned backbone, a pipeline on a big
    embedder) passes what it knows to a small, fast student: the student learns
    the teacher's class probabilities softened by ``temperature``, which say
    which wrong classes are nearly right, on every training row; rows without
    a label (``-1`` in ``y``, scikit-learn's semi-supervised rule) take part
    through the teacher alone, so unlabelled data makes the student better.

    The teacher is asked once per ``fit``, for all training rows at once; the
    student's epochs reuse those probabilities. A teacher that is a sktransfer
    pipeline embeds through its embedder's cache, so with ``cache=`` set a
    second fit (another ``alpha``, another fold) costs the head only.

    Parameters
    ----------
    teacher : fitted classifier with ``predict_proba``
        Any single-label classifier, a :class:`~sklearn.pipeline.Pipeline`
        included. It is used as it is and never refitted. To clone a
        DistilledClassifier (``GridSearchCV``, ``cross_val_score``) wrap it in
        :class:`sklearn.frozen.FrozenEstimator`, which cloning keeps fitted.
    student : classifier
        Trained in ``fit`` (a clone of it). A fine-tuning classifier
        (:class:`~sktransfer.ImageClassifier`, :class:`~sktransfer.TextClassifier`,
        :class:`~sktransfer.SetFitClassifier`, or one with any embedder) trains
        on the soft targets. Any other classifier (``LogisticRegression`` on
        embeddings, a ``Pipeline``) has no soft-target loss: it is fitted to the
        labels where there are labels and to the teacher's most probable class
        where there are none, and ``temperature`` and ``alpha`` do not apply.
    temperature : float, default=2.0
        The teacher's probabilities become ``p ** (1 / temperature)``,
        renormalised (its softmax at that temperature); above 1 they are
        softer, so the relative sizes of the small ones are learnt too.
    alpha : float, default=0.5
        On labelled rows, the weight of the teacher's soft targets; the labels
        get ``1 - alpha``. Unlabelled rows learn from the teacher alone.
        ``alpha=0`` trains the labelled rows on their labels only.

    Attributes
    ----------
    student_ : classifier
        The fitted student; it alone predicts, so the teacher is not needed
        (nor loaded) at prediction time.
    classes_ : ndarray of shape (n_classes,)
        The student's class labels: the teacher's, for a fine-tuning student
        (their codes for an encoded ``y``, see Notes).
    n_unlabelled_ : int
        Rows of the last ``fit`` that had no label.

    Notes
    -----
    The loss of a fine-tuning student on a labelled row is
    ``alpha * T**2 * KL(q_T || softmax(z / T)) + (1 - alpha) * CE(z, y)``,
    where ``q_T`` is the softened teacher distribution, ``z`` the student's
    logits and ``T`` the temperature (Hinton, Vinyals and Dean, 2015); on an
    unlabelled row it is the first term with weight 1. ``sample_weight`` and
    the student's ``class_weight`` multiply it per row.

    Labels: ``-1`` marks an unlabelled row. With integer labels that is the
    integer ``-1``; with string labels, put the strings and the integer ``-1``
    in an object array (``y = np.asarray(y, dtype=object); y[mask] = -1``). A
    string ``"-1"`` is an error, as is a label the teacher does not know. The
    labelled rows follow the fine-tuners' rule: all strings or all numbers,
    none missing. An integer ``y`` for a teacher whose classes are strings is
    scikit-learn's encoding of them (``cross_val_predict(method="predict_proba")``
    and ``StackingClassifier`` pass ``y`` so): ``i`` is the teacher's ``i``-th
    class in sorted order, and ``classes_`` are then the codes ``0..k-1``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sktransfer import DistilledClassifier, ImageClassifier
    >>> from sktransfer.image import PixelFeatures
    >>> digits = load_digits()
    >>> images, y = (digits.images[:120] * 15).astype(np.uint8), digits.target[:120]
    >>> teacher = make_pipeline(PixelFeatures(image_size=8), LogisticRegression(max_iter=500))
    >>> teacher = teacher.fit(images[:60], y[:60])
    >>> y_semi = y.copy(); y_semi[60:] = -1  # the last 60 rows have no label
    >>> pixels = PixelFeatures(image_size=4)
    >>> student = ImageClassifier(embedder=pixels, max_epochs=5, random_state=0)
    >>> clf = DistilledClassifier(teacher=teacher, student=student, temperature=2.0, alpha=0.5)
    >>> clf.fit(images, y_semi).predict_proba(images[:2]).shape
    (2, 10)
    >>> clf.n_unlabelled_
    60
    """

    _parameter_constraints: ClassVar[dict] = {
        "teacher": "no_validation",  # checked in fit, with the fix in the error
        "student": [HasMethods(["fit", "predict"])],
        "temperature": [Interval(numbers.Real, 0, None, closed="neither")],
        "alpha": [Interval(numbers.Real, 0, 1, closed="both")],
    }

    def __init__(self, *, teacher, student, temperature=2.0, alpha=0.5):
        self.teacher = teacher
        self.student = student
        self.temperature = temperature
        self.alpha = alpha

    def fit(self, X, y, sample_weight=None):
        """Fit a clone of the student to the teacher's soft predictions on ``X``
        and to the labels of ``y``.

        Parameters
        ----------
        X : rows the teacher and the student take
        y : array-like of shape (n_samples,)
            Labels among the teacher's classes; ``-1`` for unlabelled rows.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-row weights, passed to the student.

        Returns
        -------
        self
        """
        from ..finetune import TransferClassifier

        self._validate_params()
        classes = check_teacher(self.teacher)
        order = np.argsort(classes, kind="stable")
        classes = classes[order]
        if y is None:
            raise ValueError(
                "DistilledClassifier requires y to be passed, but the target y is None; "
                "pass -1 for rows without a label."
            )
        codes, encoded = label_codes(y, classes)
        if encoded:  # scikit-learn's encoding of the teacher's classes
            classes = np.arange(len(classes))
        proba = teacher_proba(self.teacher, X, classes, order)
        labelled = codes >= 0
        # The teacher's choice where there is no label.
        filled = classes[np.where(labelled, codes, proba.argmax(axis=1))]
        student = clone(self.student)
        if isinstance(student, TransferClassifier):
            from ..finetune import fit_soft

            fit_soft(
                student, X, filled, classes, proba, labelled,
                temperature=self.temperature, alpha=self.alpha, sample_weight=sample_weight,
            )  # fmt: skip
        else:
            extra = {} if sample_weight is None else {"sample_weight": sample_weight}
            student.fit(X, filled, **extra)
        self.student_ = student
        self.classes_ = np.asarray(student.classes_)
        self.n_unlabelled_ = int((~labelled).sum())
        return self

    def predict(self, X):
        """The student's labels for ``X``."""
        check_is_fitted(self)
        return self.student_.predict(X)

    @available_if(_student_has("predict_proba"))
    def predict_proba(self, X):
        """The student's class probabilities for ``X``, columns in ``classes_`` order."""
        check_is_fitted(self)
        return self.student_.predict_proba(X)

    @available_if(_student_has("decision_function"))
    def decision_function(self, X):
        """The student's decision function for ``X``."""
        check_is_fitted(self)
        return self.student_.decision_function(X)

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "student_")

    @property
    def n_features_in_(self):
        """Number of input columns, when the student takes a 2-D array."""
        check_is_fitted(self)
        return self.student_.n_features_in_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags = copy(get_tags(self.student).input_tags)
        tags.target_tags.required = True
        return tags
