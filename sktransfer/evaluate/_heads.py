"""The heads a leaderboard compares: a small table, name -> how to build one.

Kept apart from the candidates so that the command line lists the head names
without importing scikit-learn's models or any deep-learning library.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Head:
    """A way to predict the target from features.

    ``build(task, random_state, min_class_rows)`` returns a fresh estimator for
    ``"classification"`` or ``"regression"``; ``min_class_rows`` is the fewest
    rows any class has in a training fold (``None`` for regression), so a head
    that tunes itself by inner cross-validation knows how many folds it can use.
    """

    name: str
    description: str
    build: Callable[[str, int, int | None], object]
    # True: the head reads the text column itself through a text model (its
    # ``embedder``), instead of the features of the candidate's ColumnTransformer.
    on_text: bool = False


def _linear(task: str, random_state: int, min_class_rows: int | None):
    # The penalty is tuned by inner cross-validation: a fixed C suits TF-IDF and
    # embeddings differently, and an untuned head would rank the features unfairly.
    from sklearn.linear_model import LogisticRegression, RidgeCV
    from sklearn.model_selection import GridSearchCV

    if task == "regression":
        return RidgeCV(alphas=np.logspace(-2, 3, 6))
    logreg = LogisticRegression(max_iter=2000, class_weight="balanced", random_state=random_state)
    inner = min(3, min_class_rows or 0)
    if inner < 2:  # too few rows per class to tune C: the default penalty
        return logreg
    # GridSearchCV rather than LogisticRegressionCV, whose balanced class weights
    # fail on string labels such as folder names "0" … "9" in scikit-learn 1.9.
    return GridSearchCV(logreg, {"C": np.logspace(-2, 1, 4)}, cv=inner, scoring="balanced_accuracy")


def _mlp(task: str, random_state: int, min_class_rows: int | None):
    # The fine-tuning estimators' head-only path on the features the pipeline
    # already computed (the identity embedder): trained in epochs by skorch, with
    # early stopping on a held-out tenth, so the leaderboard can draw its
    # learning curve. Training the backbone itself inside a leaderboard costs a
    # backbone pass per row, epoch and fold: that is ImageClassifier(unfreeze=N)
    # / TextClassifier(unfreeze=N), used directly.
    from sklearn.preprocessing import FunctionTransformer

    from ..finetune import TransferClassifier, TransferRegressor

    cls = TransferRegressor if task == "regression" else TransferClassifier
    extra = {} if task == "regression" else {"class_weight": "balanced"}
    return cls(
        embedder=FunctionTransformer(),
        head=(256,),
        dropout=0.2,
        max_epochs=60,
        early_stopping=True,
        validation_fraction=0.1,
        patience=6,
        random_state=random_state,
        **extra,
    )


def _zero_shot(task: str, random_state: int, min_class_rows: int | None):
    # Label names only (prototype_weight=0): the labelled rows name the classes
    # and nothing else, so the row measures what the class names alone are worth.
    # Its embedder, the candidate's text model with the run's cache, is set by
    # build_candidates: the texts are embedded once for all candidates.
    from ..similarity import ZeroShotClassifier

    if task != "classification":
        raise ValueError("head 'zero-shot' classifies: the target must be classes, not numbers.")
    return ZeroShotClassifier(prototype_weight=0.0)


HEADS: dict[str, Head] = {
    "logreg": Head(
        "logreg",
        "logistic regression, penalty tuned by inner cross-validation "
        "(ridge regression for numeric targets)",
        _linear,
    ),
    "mlp": Head(
        "mlp",
        "a one-hidden-layer (256) head trained by skorch with early stopping "
        "(the fine-tuning estimators' head-only fast path); draws a learning curve",
        _mlp,
    ),
    "zero-shot": Head(
        "zero-shot",
        'no training: each text gets the class whose name ("This text is about '
        '{class}.") its embedding is closest to; needs class names that are words',
        _zero_shot,
        on_text=True,
    ),
}
