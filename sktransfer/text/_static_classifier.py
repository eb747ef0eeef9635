"""StaticClassifier: a static model's token vectors and a linear head trained
on the labels, predicting with NumPy alone.

``fit`` starts where a user would by hand (the frozen static vectors under a
logistic regression with its C chosen by cross-validation), then trains the
vectors of the training texts' tokens together with the head (torch, a few
seconds on a CPU). How many epochs pay is measured on held-out rows, the start
included, so when fine-tuning does not help the result is the frozen model's.
Prediction is a tokenizer pass, a mean of vectors and a matrix product:
NumPy only, torch is not imported.
"""

from __future__ import annotations

import numbers
import os
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, check_random_state

from .._progress import counting, display
from .._warn import warn
from ..exceptions import DataError
from ..io import text_rows
from ._static import StaticEmbedder, pool_vectors, token_vectors
from ._static_family import DEFAULT_STATIC_MODEL


class StaticClassifier(ClassifierMixin, BaseEstimator):
    """Classify texts with a static model whose token vectors train with the head.

    A static model (see :class:`~sktransfer.text.StaticEmbedder`) embeds a text
    as the mean of its tokens' vectors. ``fit``:

    1. embeds the training texts with the frozen vectors and fits a logistic
       regression on them, its ``C`` chosen by cross-validation (what
       ``make_pipeline(StaticEmbedder(...), LogisticRegressionCV())`` does);
    2. from that start, trains the vectors of the tokens in the training texts
       and the head together on the labels (Adam, cross-entropy, the logistic
       regression's L2 penalty on the head);
    3. picks the number of epochs by the log-loss on ``validation_fraction`` of
       the rows (stratified), the start (0 epochs) included, then repeats steps
       1-2 on all rows for that many epochs. When no epoch beats the start, the
       classifier is the frozen model under the logistic regression.

    Tokens that are not in the training texts keep their vectors. Prediction
    runs with NumPy (tokenizer, mean, matrix product); torch is needed to fit
    only. A fitted classifier pickles the trained tokens' vectors and the head;
    the static model itself is loaded again by name.

    Parameters
    ----------
    model : str or path, default="minishlab/potion-base-8M"
        The static model: a directory in model2vec's layout (e.g. written by
        :func:`~sktransfer.text.distill_static`), a registered static backbone,
        or a model2vec name on the Hugging Face hub (as ``StaticEmbedder``).
    max_epochs : int, default=20
        Most passes over the training rows.
    lr : float, default=1e-3
        Adam's learning rate, for the token vectors and the head.
    batch_size : int, default=32
        Texts per training step.
    validation_fraction : float or None, default=0.1
        Share of the rows held out to choose the number of epochs. With a
        class of fewer than 2 rows, or fewer held-out rows than classes, the
        vectors stay frozen (0 epochs) and a warning says so. ``None``: no
        rows are held out and ``max_epochs`` epochs train.
    patience : int, default=3
        Epochs without a better validation log-loss before training stops.
    random_state : int, RandomState instance or None, default=None
        Seeds the validation split, the logistic regression's folds and the
        training order.
    verbose : int, default=1
        ``1``: a progress line on stderr counting the training batches for a
        ``fit`` that runs past 2 s; ``0``: nothing is printed.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels, sorted.
    coef_ : ndarray of shape (1, dim) or (n_classes, dim)
        The head's weights, as :class:`~sklearn.linear_model.LogisticRegression`
        holds them (one row for two classes).
    intercept_ : ndarray of shape (1,) or (n_classes,)
        The head's biases.
    C_ : float
        The logistic regression's ``C`` the head started from (and whose
        penalty it trained with).
    n_epochs_ : int
        Epochs trained on all rows (0: the frozen model).
    validation_loss_ : list of float or None
        Validation log-loss at the start and after each epoch of the
        validation run (None when no rows were held out).
    token_ids_ : ndarray of shape (n_tokens,)
        Ids of the tokens whose vectors trained.
    token_vectors_ : ndarray of shape (n_tokens, dim)
        Their vectors now.
    embedder_ : StaticEmbedder
        The fitted embedder that loads the model and tokenizes.
    n_features_out_ : int
        Size of the static vectors.

    Examples
    --------
    >>> from sktransfer import StaticClassifier
    >>> clf = StaticClassifier(model="minilm-static")  # doctest: +SKIP
    >>> clf.fit(texts, labels).predict(["great coffee"])  # doctest: +SKIP
    """

    _parameter_constraints: ClassVar[dict] = {
        "max_epochs": [Interval(numbers.Integral, 0, None, closed="left")],
        "lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "validation_fraction": [None, Interval(numbers.Real, 0, 1, closed="neither")],
        "patience": [Interval(numbers.Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        model=DEFAULT_STATIC_MODEL,
        max_epochs=20,
        lr=1e-3,
        batch_size=32,
        validation_fraction=0.1,
        patience=3,
        random_state=None,
        verbose=1,
    ):
        self.model = model
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ fit
    def fit(self, X, y):
        """Train the token vectors of ``X``'s tokens and the head on ``y``.

        Parameters
        ----------
        X : texts (a list, 1-D array, Series or one-column frame)
        y : array-like of shape (n_samples,)
            One label per text (all strings or all numbers).

        Returns
        -------
        self
        """
        from ..finetune._targets import check_classes

        self._validate_params()
        if not isinstance(self.model, (str, os.PathLike)):
            raise TypeError(
                f"model={self.model!r} must be a static model directory, a registered "
                "static backbone or a model2vec name on the Hugging Face hub."
            )
        rows = text_rows(X)
        y, classes = check_classes(y)
        if len(y) != len(rows):
            raise DataError(
                f"X has {len(rows)} texts but y has {len(y)} labels: pass one label per text."
            )
        rng = check_random_state(self.random_state)
        with display(f"{type(self).__name__}.fit", enabled=self.verbose):
            embedder = StaticEmbedder(model=self.model, verbose=0).fit(rows.values[:1])
            ids = _token_ids(embedder, rows)
            codes = np.searchsorted(classes, y)
            vectors = token_vectors(embedder.model_)
            normalize = bool(embedder.model_.normalize)
            seed = int(rng.randint(np.iinfo(np.int32).max))
            epochs, losses = self.max_epochs, None
            held = self._held_out(codes, len(classes))
            if held is not None and self.max_epochs:
                train, valid = train_test_split(
                    np.arange(len(codes)), test_size=held, stratify=codes, random_state=seed
                )
                part = [ids[i] for i in train]
                start = _start(vectors, part, codes[train], normalize, len(classes), seed)
                *_, losses = self._train_tokens(
                    vectors, part, codes[train], start, normalize, seed,
                    valid=([ids[i] for i in valid], codes[valid]),
                )  # fmt: skip
                epochs = int(np.argmin(losses))
            elif self.validation_fraction is not None:
                epochs = 0
            start = _start(vectors, ids, codes, normalize, len(classes), seed)
            trained = np.zeros(0, dtype=np.int64), np.zeros((0, vectors.shape[1]), np.float32)
            weight, bias = start[0], start[1]
            if epochs:
                *trained, weight, bias, _ = self._train_tokens(
                    vectors, ids, codes, start, normalize, seed, epochs=epochs
                )
        self.embedder_ = embedder
        self.classes_ = classes
        self.C_ = float(start[2])
        self.n_epochs_ = epochs
        self.validation_loss_ = losses
        self.token_ids_, self.token_vectors_ = trained
        if len(classes) == 2:  # the two-logit head as one decision, as sklearn keeps it
            weight, bias = weight[1:] - weight[:1], bias[1:] - bias[:1]
        self.coef_, self.intercept_ = weight.astype(np.float32), bias.astype(np.float32)
        self.n_features_out_ = int(vectors.shape[1])
        return self

    def _held_out(self, codes, n_classes):
        """How many rows the validation split holds, or None (no validation;
        with ``validation_fraction`` set, a warning says why)."""
        if self.validation_fraction is None:
            return None
        n = len(codes)
        held = int(np.ceil(self.validation_fraction * n))
        smallest = int(np.bincount(codes).min())
        if smallest >= 2 and n_classes <= held <= n - n_classes:
            return held
        warn(
            f"{type(self).__name__}: cannot hold out validation_fraction="
            f"{self.validation_fraction} of {n} rows with {n_classes} classes (the "
            f"smallest has {smallest} rows; each class needs 2, and the held-out rows one "
            "per class), so the token vectors stay frozen. Pass more rows, a larger "
            "validation_fraction, or validation_fraction=None to train max_epochs epochs.",
            UserWarning,
        )
        return None

    def _train_tokens(
        self, vectors, ids, codes, start, normalize, seed, *, epochs=None, valid=None
    ):
        from ..finetune._static import train_tokens_and_head

        epochs = self.max_epochs if epochs is None else epochs
        steps = epochs * -(-len(ids) // self.batch_size)
        coef, intercept, C = start
        # A logistic regression's penalty, per row of the mean loss: C * sum(loss)
        # + |w|^2 / 2; the two-logit head holds w / 2 and -w / 2, hence 1 / (C n).
        l2 = (1.0 if coef.shape[0] == 2 else 0.5) / (C * len(ids))
        with counting("training", steps, "batches") as count:
            return train_tokens_and_head(
                vectors, ids, codes, coef, intercept,
                normalize=normalize, epochs=epochs, lr=self.lr, batch_size=self.batch_size,
                l2=l2, seed=seed, valid=valid, patience=self.patience, count=count,
            )  # fmt: skip

    # ------------------------------------------------------------ predict
    def _features(self, X) -> np.ndarray:
        """The texts' vectors: the tokens they use, read from the model (the
        trained ones replaced by their vectors now) and pooled."""
        check_is_fitted(self, "coef_")
        ids = _token_ids(self.embedder_, text_rows(X))
        used, local = np.unique(np.concatenate(ids), return_inverse=True)
        table = token_vectors(self.embedder_.model_, used)
        at = np.searchsorted(used, self.token_ids_).clip(max=len(used) - 1)
        hit = used[at] == self.token_ids_
        table[at[hit]] = self.token_vectors_[hit]
        local = np.split(local, np.cumsum([len(i) for i in ids])[:-1])
        return pool_vectors(table, local, bool(self.embedder_.model_.normalize))

    def decision_function(self, X) -> np.ndarray:
        """The head's scores: shape (n_samples,) for two classes (the second
        class's log-odds), else (n_samples, n_classes)."""
        scores = self._features(X) @ self.coef_.T + self.intercept_
        return scores.ravel() if len(self.classes_) == 2 else scores

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_``."""
        scores = self.decision_function(X).astype(np.float64)
        if scores.ndim == 1:
            positive = 1.0 / (1.0 + np.exp(-scores))
            return np.column_stack([1.0 - positive, positive])
        scores = scores - scores.max(axis=1, keepdims=True)
        proba = np.exp(scores)
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X) -> np.ndarray:
        """The most probable class of each text."""
        scores = self.decision_function(X)
        best = (scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)
        return self.classes_[best]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        return tags


def _token_ids(embedder, rows) -> list:
    """Per text of ``rows``, its token ids that have a vector; an error naming
    the first text none of whose tokens has one."""
    ids = embedder._known_units(rows.values)
    for i, found in enumerate(ids):
        if not len(found):
            raise embedder._no_vector_error(rows.values[i], rows.name(i))
    return ids


def _start(vectors, ids, codes, normalize, n_classes, seed):
    """``(coef, intercept, C)``: a logistic regression on the frozen vectors,
    ``C`` chosen by stratified cross-validation (up to 5 folds; fixed at 1 when
    a class has a single row), as a softmax head of one row per class."""
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV

    features = pool_vectors(vectors, ids, normalize)
    folds = min(5, int(np.bincount(codes).min()))
    if folds >= 2:
        from sklearn.model_selection import StratifiedKFold

        model = LogisticRegressionCV(
            Cs=10,
            cv=StratifiedKFold(folds, shuffle=True, random_state=seed),
            max_iter=3000,
            l1_ratios=(0,),
            scoring="neg_log_loss",
            use_legacy_attributes=False,
        ).fit(features, codes)
        C = float(np.ravel(model.C_)[0])
    else:
        model = LogisticRegression(C=1.0, max_iter=3000).fit(features, codes)
        C = 1.0
    coef, intercept = model.coef_, model.intercept_
    if n_classes == 2:
        coef = np.vstack([-coef / 2, coef / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    return coef.astype(np.float32), intercept.astype(np.float32), C
