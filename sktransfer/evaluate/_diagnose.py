"""Where the best candidate goes wrong: per-class figures, curves, most-confused rows.

The leaderboard says how good each candidate is on average; a reader deciding
whether to trust the best one needs to see which classes it gets wrong and on
which rows. Everything here comes from out-of-fold predictions on the folds of
the run. The class predictions were kept while cross-validating; so are the
probabilities when the result holds them (``oof_proba``), and otherwise they
are computed once more here with ``cross_val_predict`` on the same folds, with
the run's embedding cache, so the backbone does not run again.
"""

from __future__ import annotations

import base64
import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import precision_recall_fscore_support
from sklearn.model_selection import cross_val_predict

from .._plain import plain
from ._crossval import make_folds, one_blas_thread
from ._report import _pyplot, _save

TOP_ROWS = 12  # most-confused rows kept
SNIPPET = 300  # characters of a text shown in the report
THUMBNAIL = 96  # longest side of an image thumbnail, in pixels


@dataclass
class Diagnosis:
    """The best candidate's out-of-fold behaviour, row by row and class by class.

    Attributes
    ----------
    candidate : str
        Name of the candidate diagnosed (the leaderboard's first).
    task : {"classification", "regression"}
    y_true : ndarray
        The target of the evaluated rows, in their order.
    classes : ndarray or None
        The classes, sorted: the columns of ``proba``.
    per_class : DataFrame or None
        ``class``, ``precision``, ``recall``, ``f1``, ``support``; then the
        macro and support-weighted averages. ``None`` for regression.
    proba : ndarray or None
        Out-of-fold class probabilities, one row per evaluated row; ``None``
        for regression or a head without ``predict_proba``.
    positive : object or None
        The class the ROC and precision-recall curves treat as positive (the
        rarer one) when the target has two classes.
    confused : DataFrame
        The most confidently wrong rows (classification) or the rows with the
        largest absolute error (regression), worst first, with their text and
        image columns.
    text_columns, image_columns : list of str
        The text and image columns shown in ``confused``.
    """

    candidate: str
    task: str
    y_true: np.ndarray
    classes: np.ndarray | None = None
    per_class: pd.DataFrame | None = None
    proba: np.ndarray | None = None
    positive: object = None
    confused: pd.DataFrame = field(default_factory=pd.DataFrame)
    text_columns: list[str] = field(default_factory=list)
    image_columns: list[str] = field(default_factory=list)

    @property
    def content(self) -> list[str]:
        """The columns that show what a row is: its texts, then its images."""
        return [*self.text_columns, *self.image_columns]


def diagnose(ev, *, top: int = TOP_ROWS) -> Diagnosis:
    """Diagnose the best candidate of an :class:`Evaluation` from its out-of-fold predictions.

    Parameters
    ----------
    ev : Evaluation
        What :func:`evaluate` returned.
    top : int, default=12
        How many most-confused rows to keep.

    Returns
    -------
    Diagnosis
    """
    cand = ev.best
    result = next(r for r in ev.results if r.name == cand.name)
    y = np.asarray(ev.y)
    pred = np.asarray(result.oof_pred)
    diag = Diagnosis(
        cand.name,
        ev.task,
        y,
        text_columns=list(ev.columns.text),
        image_columns=list(ev.columns.image),
    )
    content = diag.content
    if ev.task == "regression":
        error = pred.astype(float) - y.astype(float)
        worst = np.argsort(-np.abs(error), kind="stable")[:top]
        diag.confused = _rows(ev.X, content, worst, true=y, predicted=pred, error=error)
        return diag
    diag.classes = np.unique(y)
    diag.per_class = per_class_table(y, pred, diag.classes)
    diag.proba = _kept_proba(result, diag.classes)
    if diag.proba is None:
        # The run's folds: the first `cv` of them are one partition of the rows
        # even when the run repeats its cross-validation.
        folds = make_folds(ev.y, ev.task, ev.meta["cv"], ev.meta["random_state"])[: ev.meta["cv"]]
        diag.proba = oof_proba(cand.pipeline, ev.X, ev.y, folds)
    if len(diag.classes) == 2:
        counts = pd.Series(y).value_counts()
        diag.positive = diag.classes[int(counts[diag.classes[1]] <= counts[diag.classes[0]])]
    wrong = np.flatnonzero(pred != y)
    if diag.proba is None:
        confidence = p_true = np.full(len(y), np.nan)
    else:
        column = {c: k for k, c in enumerate(diag.classes)}
        confidence = diag.proba[np.arange(len(y)), [column[p] for p in pred]]
        p_true = diag.proba[np.arange(len(y)), [column[t] for t in y]]
    worst = wrong[np.argsort(-np.nan_to_num(confidence[wrong], nan=0.0), kind="stable")][:top]
    diag.confused = _rows(
        ev.X, content, worst, true=y, predicted=pred, confidence=confidence, p_true=p_true
    )
    return diag


def per_class_table(y_true, y_pred, classes) -> pd.DataFrame:
    """Precision, recall, F1 and support per class, then their macro and weighted averages."""
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=classes, zero_division=0)
    rows = [
        {"class": c, "precision": p[k], "recall": r[k], "f1": f[k], "support": int(s[k])}
        for k, c in enumerate(classes)
    ]
    for average in ("macro", "weighted"):
        p, r, f, _ = precision_recall_fscore_support(
            y_true, y_pred, labels=classes, average=average, zero_division=0
        )
        rows.append(
            {
                "class": f"{average} avg",
                "precision": p,
                "recall": r,
                "f1": f,
                "support": len(y_true),
            }
        )
    return pd.DataFrame(rows)


def oof_proba(pipeline, X, y, folds) -> np.ndarray | None:
    """Out-of-fold ``predict_proba`` of ``pipeline`` on ``folds`` (columns: sorted classes);
    ``None`` when its head has no probabilities."""
    if not hasattr(pipeline, "predict_proba"):
        return None
    with one_blas_thread(), warnings.catch_warnings():
        # the run already warned about anything a fit says (convergence, small classes)
        warnings.simplefilter("ignore")
        return cross_val_predict(clone(pipeline), X, y, cv=folds, method="predict_proba")


def _kept_proba(result, classes) -> np.ndarray | None:
    """The out-of-fold probabilities kept while cross-validating, when the
    result holds them for every row and every class (no fit needed)."""
    proba = getattr(result, "oof_proba", None)
    if proba is None or not np.array_equal(getattr(result, "classes", None), classes):
        return None
    return None if np.isnan(proba).any() else proba


def _rows(X: pd.DataFrame, content: list[str], positions, **values) -> pd.DataFrame:
    table = pd.DataFrame({k: np.asarray(v)[positions] for k, v in values.items()})
    for col in content:
        table[col] = [_as_text(v) for v in X[col].to_numpy()[positions]]
    return table


def _as_text(value) -> str:
    return value if isinstance(value, str) else f"<{type(value).__name__}>"


def write_diagnosis(out: Path, diag: Diagnosis) -> list[Path]:
    """``per_class.csv``, ``most_confused.csv``, and ``roc.png`` / ``pr.png`` for two classes.

    A file that does not apply to this run (curves for more than two classes,
    per-class figures for a numeric target) is removed, so that one left by an
    earlier run into the same folder is not read as this run's.
    """
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    if diag.per_class is not None:
        diag.per_class.to_csv(out / "per_class.csv", index=False)
        paths.append(out / "per_class.csv")
    else:
        (out / "per_class.csv").unlink(missing_ok=True)
    diag.confused.to_csv(out / "most_confused.csv", index=False)
    paths.append(out / "most_confused.csv")
    curves = diag.positive is not None and diag.proba is not None
    for name, display, title in CURVES:
        if curves:
            paths.append(plot_curve(diag, display, title, out / name))
        else:
            (out / name).unlink(missing_ok=True)
    return paths


def _positive_scores(diag: Diagnosis) -> tuple[np.ndarray, np.ndarray]:
    k = int(np.flatnonzero(diag.classes == diag.positive)[0])
    return diag.y_true == diag.positive, diag.proba[:, k]


# The curves drawn for two classes: file name, sklearn display, title.
CURVES = (
    ("roc.png", "RocCurveDisplay", "ROC"),
    ("pr.png", "PrecisionRecallDisplay", "Precision-recall"),
)


def plot_curve(diag: Diagnosis, display: str, title: str, path: Path) -> Path:
    """A curve (sklearn's ``display``) of the out-of-fold probability of the
    positive class."""
    import sklearn.metrics

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 5))
    truth, score = _positive_scores(diag)
    getattr(sklearn.metrics, display).from_predictions(
        truth, score, pos_label=True, name=diag.candidate, ax=ax, plot_chance_level=True
    )
    ax.set_title(f"{title}, positive class {plain(diag.positive)!r} (out-of-fold)", fontsize=9)
    return _save(fig, path)


def thumbnail(value, size: int = THUMBNAIL) -> str | None:
    """A small JPEG of an image row as a ``data:`` URI; ``None`` when it cannot be read."""
    from PIL import Image

    from ..io import load_rgb

    try:
        img = load_rgb(value, "thumbnail")
    except (ValueError, TypeError, OSError):
        return None
    scale = size / max(img.size)
    if scale < 1:
        img.thumbnail((size, size))
    elif scale >= 2:  # a tiny image (a 28-pixel digit) is drawn bigger, pixels kept sharp
        factor = int(scale)
        img = img.resize((img.width * factor, img.height * factor), Image.Resampling.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
