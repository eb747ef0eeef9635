"""Cross-validating candidates on the same folds and ranking them.

The folds are written out as a loop (rather than ``cross_validate``) so that a
progress bar can follow them and the out-of-fold predictions of every candidate
are kept for the confusion matrix, at no extra fit.
"""

from __future__ import annotations

import sys
import time
import warnings
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
    history: list | None = None
    error: str | None = None  # why the candidate could not be scored; None when it was


def one_blas_thread():
    """A context in which BLAS runs on one thread.

    Heads fit small problems; with torch loaded, BLAS threads compete with
    torch's OpenMP threads and a logistic regression on a few hundred
    embeddings runs many times slower on a busy 2-core machine than on one
    thread. The backbones keep their own threads (torch does not use this BLAS).
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def make_folds(y, task: str, cv: int, random_state: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Shuffled (stratified, for classification) folds shared by every candidate."""
    splitter = (
        StratifiedKFold(cv, shuffle=True, random_state=random_state)
        if task == "classification"
        else KFold(cv, shuffle=True, random_state=random_state)
    )
    return list(splitter.split(np.zeros(len(y)), y))


def cross_validate_candidates(
    candidates, X: pd.DataFrame, y: pd.Series, *, task: str, folds, progress: bool = True
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
    progress : bool
        Show a progress bar over the folds of each candidate (on stderr).

    Returns
    -------
    list of Result, in the order of ``candidates``
        A candidate whose fit or predict raises is not scored: its ``error``
        says why (with a warning), and the others go on. When every candidate
        fails, the first exception is raised.
    """
    y_arr = np.asarray(y)
    results, first = [], None
    for cand in candidates:
        res = Result(cand.name, cand.kind, cand.backbone, cand.head)
        start = time.perf_counter()
        try:
            _score_folds(cand, res, X, y_arr, task, folds, progress)
        except Exception as exc:  # one candidate failing leaves the others to finish
            first = first or exc
            res.error = failure(exc)
            res.scores, res.oof_pred, res.history = {}, None, None
            warnings.warn(f"{cand.name}: failed and is left out ({res.error}).", stacklevel=2)
        res.seconds = time.perf_counter() - start
        results.append(res)
    if first is not None and all(r.error for r in results):
        raise first  # nothing to rank: the first cause, with its traceback
    return results


def failure(exc: BaseException) -> str:
    """An exception as one line: its type and the first line of its message."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _score_folds(cand, res: Result, X, y_arr, task: str, folds, progress: bool) -> None:
    from tqdm.auto import tqdm

    res.scores = {m: [] for m in METRICS[task]}
    oof = np.empty(len(y_arr), dtype=y_arr.dtype)
    bar = tqdm(
        folds, desc=f"{cand.name:<40.40}", unit="fold", disable=not progress, file=sys.stderr
    )
    # Through joblib: under parallel_config(backend="dask") (evaluate's scheduler=)
    # the folds run on a cluster; otherwise one after another in this process.
    fitted = Parallel(return_as="generator")(
        delayed(_fit_predict)(cand.pipeline, X, y_arr, train, test) for train, test in folds
    )
    for (_, test), (pred, history) in zip(bar, fitted, strict=True):
        oof[test] = pred
        for metric, (score, _) in METRICS[task].items():
            res.scores[metric].append(float(score(y_arr[test], pred)))
        res.history = history
    res.oof_pred = oof


def _fit_predict(pipeline, X, y_arr, train, test):
    """Fit a clone on one fold's training rows; its predictions of the test rows
    and its training history (not the fitted model: it stays where it ran)."""
    with one_blas_thread():
        model = clone(pipeline).fit(X.iloc[train], y_arr[train])
        return model.predict(X.iloc[test]), _history(model)


def _history(pipeline):
    """Per-epoch records of a head trained in epochs (skorch's history), if any."""
    head = pipeline.steps[-1][1]
    history = getattr(head, "history_", None)
    if history is None:  # the fine-tuning estimators keep their skorch net
        history = getattr(getattr(head, "net_", None), "history", None)
    return None if history is None else [dict(epoch) for epoch in history]


def leaderboard(results: list[Result], task: str) -> pd.DataFrame:
    """One row per scored candidate, best first: mean and std of each metric, time, gain.

    ``gain`` is the primary metric's mean minus that of the best baseline.
    """
    primary = primary_metric(task)
    rows = []
    for res in results:
        if res.error:  # listed with the failures, not ranked
            continue
        row = {"candidate": res.name, "kind": res.kind, "backbone": res.backbone, "head": res.head}
        for metric, values in res.scores.items():
            row[f"{metric}_mean"] = float(np.mean(values))
            row[f"{metric}_std"] = float(np.std(values))
        row["seconds"] = res.seconds
        rows.append(row)
    board = pd.DataFrame(rows)
    baselines = board.loc[board["kind"] == "baseline", f"{primary}_mean"]
    board[f"gain_{primary}"] = board[f"{primary}_mean"] - (
        baselines.max() if len(baselines) else np.nan
    )
    board = board.sort_values(f"{primary}_mean", ascending=False, kind="stable")
    board.insert(0, "rank", range(1, len(board) + 1))
    return board.reset_index(drop=True)
