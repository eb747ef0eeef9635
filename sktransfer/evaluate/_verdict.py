"""Is one candidate better than another? The corrected resampled t-test.

Two candidates scored on the same folds give paired per-fold differences
``d_1 … d_J`` (``J`` = folds × repeats). Their training sets overlap, so the
differences are correlated, and the plain paired t-test's variance ``s² / J``
is too small: it calls noise a win. Nadeau and Bengio (2003, "Inference for the
generalization error", Machine Learning 52) correct it to
``(1 / J + n_test / n_train) · s²``, with ``J - 1`` degrees of freedom; Bouckaert
and Frank (2004) showed it keeps its nominal error rate on repeated
cross-validation. The 95% interval of the mean difference decides the label:
*better* when it lies above 0, *worse* when below, otherwise *tie*.

Pure numpy / scipy, so that a reader can check it by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.95
# Kinds from cheapest to dearest, for recommending one of several tied candidates.
KIND_COST = {"reference": 0, "baseline": 1, "transfer": 2}


@dataclass(frozen=True)
class Comparison:
    """The mean difference ``gain`` of paired per-fold scores (``a - b``), its
    interval ``[ci_low, ci_high]``, the two-sided p-value and the label."""

    gain: float
    ci_low: float
    ci_high: float
    p_value: float
    verdict: str  # "better", "tie" or "worse": a compared with b


def holdout_ratio(folds) -> float:
    """``n_test / n_train`` of a list of ``(train, test)`` folds (their mean sizes)."""
    n_train = np.mean([len(train) for train, _ in folds])
    n_test = np.mean([len(test) for _, test in folds])
    return float(n_test / n_train)


def corrected_ttest(
    a, b, *, holdout_ratio: float, confidence: float = CONFIDENCE, higher_is_better=True
) -> Comparison:
    """Compare per-fold scores ``a`` and ``b`` (same folds, same order).

    Parameters
    ----------
    a, b : sequence of float
        Scores of two candidates on the same ``J >= 2`` folds.
    holdout_ratio : float
        Rows in a test fold over rows in a training fold (``1 / (k - 1)`` for
        k-fold cross-validation, however often it is repeated).
    confidence : float, default=0.95
    higher_is_better : bool, default=True
        Whether a larger score is better (``False`` for an error such as MAE).

    Returns
    -------
    Comparison
    """
    from scipy import stats

    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if d.ndim != 1 or len(d) < 2:
        raise ValueError(f"need the scores of at least 2 paired folds, got {d.shape}.")
    if not np.isfinite(d).all():
        return Comparison(np.nan, np.nan, np.nan, np.nan, "")
    n = len(d)
    mean = float(d.mean())
    se = float(np.sqrt((1 / n + holdout_ratio) * d.var(ddof=1)))
    if se <= 1e-12 * max(1.0, abs(mean)):  # every fold differs by the same amount
        low = high = mean
        p_value = 1.0 if abs(mean) <= 1e-12 else 0.0
    else:
        half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * se
        low, high = mean - half, mean + half
        p_value = float(2 * stats.t.sf(abs(mean) / se, n - 1))
    if abs(mean) <= 1e-12 and low == high:
        verdict = "tie"
    elif low > 0:
        verdict = "better" if higher_is_better else "worse"
    elif high < 0:
        verdict = "worse" if higher_is_better else "better"
    else:
        verdict = "tie"
    return Comparison(mean, low, high, p_value, verdict)


def add_verdicts(board, scores: dict, *, metric: str, holdout_ratio: float, confidence=CONFIDENCE):
    """``board`` with ``ci_low``, ``ci_high`` and ``verdict`` columns: each
    candidate compared with the best baseline on ``metric`` (higher is better).

    ``scores`` maps a candidate name to its per-fold scores of ``metric``. The
    best baseline itself reads ``"baseline"``; with no baseline scored, or a
    single fold, the columns are empty.
    """
    board = board.copy()
    board["ci_low"], board["ci_high"], board["verdict"] = np.nan, np.nan, ""
    baselines = board.loc[board["kind"] == "baseline", "candidate"]
    if not len(baselines):
        return board
    best_baseline = baselines.iloc[0]  # the board is sorted best first
    gain = f"gain_{metric}"
    for i, name in board["candidate"].items():
        if name == best_baseline:
            board.loc[i, "verdict"] = "baseline"
            continue
        if len(scores[name]) < 2:
            continue
        cmp = corrected_ttest(
            scores[name],
            scores[best_baseline],
            holdout_ratio=holdout_ratio,
            confidence=confidence,
        )
        board.loc[i, [gain, "ci_low", "ci_high", "verdict"]] = [
            cmp.gain,
            cmp.ci_low,
            cmp.ci_high,
            cmp.verdict,
        ]
    return board


def cost_key(row) -> tuple:
    """How dear a candidate is to run: its kind (reference, then the baselines,
    then transfer), the parameters of its pretrained backbones, its head (in
    the order of :data:`HEADS`: a linear head before an MLP), then its time."""
    from ._heads import HEADS

    heads = list(HEADS)
    head = heads.index(row["head"]) if row["head"] in heads else -1
    return (
        KIND_COST.get(row["kind"], len(KIND_COST)),
        row.get("backbone_params", 0) or 0,
        head,
        row["seconds"],
    )


def headline(board, scores: dict, *, metric: str, holdout_ratio: float, confidence=CONFIDENCE):
    """What the leaderboard says, as a dict with ``text``, ``best``, ``winner``
    (whether the top-ranked candidate is better than every other one by
    :func:`corrected_ttest`), ``tied`` (the candidates it cannot be told apart
    from) and ``recommended`` (the best when it wins, else the cheapest of it
    and its ties by :func:`cost_key`, the reference left out unless alone)."""
    rows = {r["candidate"]: r for r in board.to_dict("records")}
    names = list(rows)
    best = names[0]
    mean = rows[best][f"{metric}_mean"]
    tied, closest = [], None
    for name in names[1:]:
        if len(scores[best]) < 2:
            tied.append(name)
            continue
        cmp = corrected_ttest(
            scores[best], scores[name], holdout_ratio=holdout_ratio, confidence=confidence
        )
        if cmp.verdict != "better":
            tied.append(name)
        elif closest is None:
            closest = (name, cmp)
    level = f"{confidence:.0%}"
    if not tied:
        text = f"best: {best} ({metric} {mean:.3f})"
        if closest is not None:
            name, cmp = closest
            text += (
                f", better than every other candidate; over the runner-up {name}: "
                f"{cmp.gain:+.3f} ({level} interval {cmp.ci_low:+.3f} to {cmp.ci_high:+.3f})"
            )
        return {"text": text, "best": best, "winner": True, "tied": [], "recommended": best}
    group = [best, *tied]
    choices = [n for n in group if rows[n]["kind"] != "reference"] or group
    recommended = min(choices, key=lambda n: cost_key(rows[n]))
    text = (
        f"no clear winner: {best} ranks first ({metric} {mean:.3f}) but is tied with "
        f"{', '.join(tied)} (the {level} interval of each difference contains 0); "
        f"recommended: {recommended}, the cheapest of them"
    )
    reference = next((n for n in tied if rows[n]["kind"] == "reference"), None)
    if reference is not None:
        text += (
            f". {best} is not distinguishable from the {reference} reference: "
            "more rows or more repeats narrow the intervals"
        )
    return {
        "text": text,
        "best": best,
        "winner": False,
        "tied": tied,
        "recommended": recommended,
    }
