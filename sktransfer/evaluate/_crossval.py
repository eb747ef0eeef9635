"""Cross-validating candidates on the same folds and ranking them.

The folds are written out as a loop (rather than ``cross_validate``) so that one
progress display can follow them and the out-of-fold predictions (and class
probabilities) of every candidate are kept for the report, at no extra fit: the
features of a test fold are computed once and given to the head's ``predict``
and ``predict_proba``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    mean_absolute_error,
    r2_score,
)
from sklearn.model_selection import KFold, StratifiedKFold

from .._plain import first_line
from .._report import transform_report
from .._warn import PartFailedWarning, warn

# name -> (scorer(y_true, y_pred), higher is better)
METRICS = {
    "classification": {
        "balanced_accuracy": (balanced_accuracy_score, True),
        "accuracy": (accuracy_score, True),
        "f1_macro": (lambda t, p: f1_score(t, p, average="macro", zero_division=0), True),
    },
    "regression": {
        "r2": (r2_score, True),
        "mae": (mean_absolute_error, False),
    },
}


def primary_metric(task: str) -> str:
    """The metric a leaderboard is sorted by: the first one listed for the task."""
    return next(iter(METRICS[task]))


@dataclass
class Result:
    """Scores of one candidate: per fold, out of fold, and how long it took."""

    name: str
    kind: str
    backbone: str
    head: str
    scores: dict[str, list[float]] = field(default_factory=dict)
    oof_pred: np.ndarray | None = None
    seconds: float = 0.0
    history: list | None = None  # the last fold's, as ``histories[-1]``
    error: str | None = None  # why the candidate could not be scored; None when it was
    features: str = ""  # what the head sees: "text", "tf-idf + tabular", ...
    histories: list | None = None  # per-epoch records of every fold (heads trained in epochs)
    oof_proba: np.ndarray | None = None  # out-of-fold class probabilities, columns ``classes``
    classes: np.ndarray | None = None
    # rows the candidate's backbone computed in this process (not those a cache
    # or an earlier candidate of the same backbone served), and the time it took
    rows_embedded: int = 0
    embed_seconds: float = 0.0


def one_blas_thread():
    """A context in which BLAS runs on one thread.

    Heads fit small problems; with torch loaded, BLAS threads compete with
    torch's OpenMP threads and a logistic regression on a few hundred
    embeddings runs many times slower on a busy 2-core machine than on one
    thread. The backbones keep their own threads (torch does not use this BLAS).
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def make_folds(
    y, task: str, cv: int, random_state: int, repeats: int = 1
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Shuffled (stratified, for classification) folds shared by every candidate.

    With ``repeats > 1`` the k-fold split is made ``repeats`` times, repeat ``r``
    shuffled with seed ``random_state + r``: ``cv * repeats`` folds, repeat by
    repeat (the first ``cv`` are those of ``repeats=1``).
    """
    if not isinstance(repeats, (int, np.integer)) or repeats < 1:
        raise ValueError(f"repeats={repeats!r}: use a positive int (1 is plain k-fold).")
    folds = []
    for r in range(repeats):
        splitter = (
            StratifiedKFold(cv, shuffle=True, random_state=random_state + r)
            if task == "classification"
            else KFold(cv, shuffle=True, random_state=random_state + r)
        )
        folds += list(splitter.split(np.zeros(len(y)), y))
    return folds


def first_repeat(folds) -> list:
    """The folds of the first repeat: those whose test parts first cover every row once."""
    if not folds:
        return []
    n = len(np.unique(np.concatenate([test for _, test in folds])))
    covered = np.cumsum([len(test) for _, test in folds])
    return folds[: int(np.searchsorted(covered, n)) + 1]


def cross_validate_candidates(
    candidates, X: pd.DataFrame, y: pd.Series, *, task: str, folds, verbose=1
) -> list[Result]:
    """Fit and score every candidate on every fold.

    Parameters
    ----------
    candidates : list of Candidate
    X : DataFrame
        Feature columns (see :func:`prepare_features`).
    y : Series
        Target.
    task : {"classification", "regression"}
    folds : list of (train positions, test positions)
        From :func:`make_folds` (with repeats, the out-of-fold predictions
        are those of the first repeat).
    verbose : int, default=1
        ``1``: one progress display over every candidate and fold (on stderr);
        ``0``: none.

    Returns
    -------
    list of Result, in the order of ``candidates``
        A candidate whose fit or predict raises is not scored: its ``error``
        says why (with a warning), and the others go on. When every candidate
        fails, the first exception is raised.
    """
    from ._progress import Progress

    with Progress(len(candidates) * len(folds), enabled=verbose > 0) as bar:
        return cross_validate_counted(candidates, X, y, task, folds, bar)


def cross_validate_counted(candidates, X, y, task, folds, bar) -> list[Result]:
    """:func:`cross_validate_candidates`, counting its fits in ``bar`` (a
    :class:`Progress` already open)."""
    y_arr = np.asarray(y)
    results, first = [], None
    for cand in candidates:
        res = Result(
            cand.name, cand.kind, cand.backbone, cand.head, features=getattr(cand, "features", "")
        )
        name = f"{cand.name:<36.36}"
        bar.stage(f"{name} fold 1/{len(folds)}")
        start = time.perf_counter()
        done = 0
        try:
            with transform_report() as embedded:
                for _ in _score_folds(cand, res, X, y_arr, task, folds):
                    done += 1
                    if done < len(folds):
                        bar.stage(f"{name} fold {done + 1}/{len(folds)}")
                    bar.step()
            res.rows_embedded = embedded.cache_stats["rows_embedded"]
            res.embed_seconds = sum(call.seconds for call in embedded.calls)
        except Exception as exc:  # one candidate failing leaves the others to finish
            first = first or exc
            res.error = failure(exc)
            res.scores, res.oof_pred, res.history = {}, None, None
            res.histories, res.oof_proba, res.classes = None, None, None
            warn(f"{cand.name}: failed and is left out ({res.error}).", PartFailedWarning)
            bar.step(len(folds) - done)
        res.seconds = time.perf_counter() - start
        results.append(res)
        bar.mark()
    if first is not None and all(r.error for r in results):
        raise first  # nothing to rank: the first cause, with its traceback
    return results


def failure(exc: BaseException) -> str:
    """An exception as one line: its type and the first line of its message."""
    first = first_line(exc)
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _score_folds(cand, res: Result, X, y_arr, task: str, folds):
    """Fit and score ``cand`` fold by fold into ``res``; yields after each fold."""
    res.scores = {m: [] for m in METRICS[task]}
    oof = np.empty(len(y_arr), dtype=y_arr.dtype)
    first = len(first_repeat(folds))
    histories, oof_proba = [], None
    # Through joblib: under parallel_config(backend="dask") (evaluate's scheduler=)
    # the folds run on a cluster; otherwise one after another in this process.
    fitted = Parallel(return_as="generator")(
        delayed(_fit_predict)(cand.pipeline, X, y_arr, train, test, task == "classification")
        for train, test in folds
    )
    for i, ((_, test), (pred, proba, classes, history)) in enumerate(
        zip(folds, fitted, strict=True)
    ):
        if i < first:
            oof[test] = pred
            if proba is not None:
                if oof_proba is None:
                    res.classes = np.asarray(classes)
                    oof_proba = np.full((len(y_arr), len(classes)), np.nan)
                if np.array_equal(classes, res.classes):
                    oof_proba[test] = proba
        for metric, (score, _) in METRICS[task].items():
            res.scores[metric].append(float(score(y_arr[test], pred)))
        if history is not None:
            histories.append(history)
        yield
    res.oof_pred = oof
    res.oof_proba = oof_proba
    res.histories = histories or None
    res.history = histories[-1] if histories else None


def predict_once(model, X, *, proba: bool = True):
    """``(predictions, class probabilities or None)`` of a fitted pipeline, with
    its features computed once: the steps before the head transform ``X`` and
    the head predicts from that (a backbone sees each row once, cache or not)."""
    from sklearn.pipeline import Pipeline

    if isinstance(model, Pipeline) and len(model.steps) > 1:
        features = model[:-1].transform(X)
        head = model[-1]
    else:
        features, head = X, model
    pred = head.predict(features)
    probs = None
    if proba and hasattr(head, "predict_proba"):
        probs = np.asarray(head.predict_proba(features))
    return pred, probs


def _fit_predict(pipeline, X, y_arr, train, test, proba: bool):
    """Fit a clone on one fold's training rows: its predictions of the test rows,
    their class probabilities and classes (classification) and its training
    history (not the fitted model: it stays where it ran)."""
    with one_blas_thread():
        model = clone(pipeline).fit(X.iloc[train], y_arr[train])
        pred, probs = predict_once(model, X.iloc[test], proba=proba)
    classes = getattr(model, "classes_", None) if probs is not None else None
    return pred, probs, classes, _history(model)


def _history(pipeline):
    """Per-epoch records of a head trained in epochs (skorch's history), if any."""
    head = pipeline.steps[-1][1]
    history = getattr(head, "history_", None)
    if history is None:  # the fine-tuning estimators keep their skorch net
        history = getattr(getattr(head, "net_", None), "history", None)
    return None if history is None else [dict(epoch) for epoch in history]


def backbone_speeds(results: list[Result]) -> dict:
    """``{backbone: (seconds, rows per second)}``: the time each backbone spent
    embedding, over the candidates that use it (with a cache, the first embeds
    the rows and the others read them), and the rows it computed per second."""
    totals: dict = {}
    for res in results:
        if res.kind == "transfer" and res.rows_embedded:
            seconds, rows = totals.get(res.backbone, (0.0, 0))
            totals[res.backbone] = (seconds + res.embed_seconds, rows + res.rows_embedded)
    return {b: (s, r / s if s > 0 else np.nan) for b, (s, r) in totals.items()}


def leaderboard(results: list[Result], task: str) -> pd.DataFrame:
    """One row per scored candidate, best first: mean and std of each metric, time, gain.

    ``embed_seconds`` and ``rows_per_second`` are its backbone's (see
    :func:`backbone_speeds`; NaN for baselines and backbones that computed no row).

    ``gain`` is the primary metric's mean minus that of the best baseline.
    """
    primary = primary_metric(task)
    speeds = backbone_speeds(results)
    rows = []
    for res in results:
        if res.error:  # listed with the failures, not ranked
            continue
        row = {
            "candidate": res.name,
            "kind": res.kind,
            "backbone": res.backbone,
            "features": res.features,
            "head": res.head,
        }
        for metric, values in res.scores.items():
            row[f"{metric}_mean"] = float(np.mean(values))
            row[f"{metric}_std"] = float(np.std(values))
        row["seconds"] = res.seconds
        row["embed_seconds"], row["rows_per_second"] = speeds.get(res.backbone, (np.nan, np.nan))
        rows.append(row)
    board = pd.DataFrame(rows)
    baselines = board.loc[board["kind"] == "baseline", f"{primary}_mean"]
    board[f"gain_{primary}"] = board[f"{primary}_mean"] - (
        baselines.max() if len(baselines) else np.nan
    )
    board = board.sort_values(f"{primary}_mean", ascending=False, kind="stable")
    board.insert(0, "rank", range(1, len(board) + 1))
    return board.reset_index(drop=True)
