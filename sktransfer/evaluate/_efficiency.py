"""The label-efficiency curve: how many labels does transfer save?

The best transfer candidate and the best baseline are trained again on growing
fractions of each training fold (a stratified subset for classification) and
scored on the whole test fold, the same folds as the leaderboard (its first
repeat). The 100% point is the leaderboard's own fold score. Cheap, because the
embeddings of every row are already in the run's cache: only the heads train.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import clone

from .._plain import plain
from .._subset import stratified_subset
from ._crossval import METRICS, first_repeat, one_blas_thread, primary_metric
from ._heads import HEADS

FRACTIONS = (0.05, 0.1, 0.25, 0.5, 1.0)


def efficiency_fits(fractions, n_folds: int) -> int:
    """Fits the curve costs: two candidates, every fraction below 100%, every fold."""
    return 2 * n_folds * sum(1 for f in fractions if f < 1)


def check_fractions(fractions) -> tuple:
    """The fractions sorted, each in (0, 1], with 1 always among them."""
    try:
        values = sorted({float(f) for f in fractions} | {1.0})
    except (TypeError, ValueError):
        raise ValueError(f"fractions={fractions!r}: give numbers in (0, 1].") from None
    bad = [f for f in values if not 0 < f <= 1]
    if bad:
        raise ValueError(
            f"fractions={[plain(f) for f in fractions]!r}: {bad[0]:g} is not in (0, 1]; "
            "give shares of each training fold, such as 0.05 or 0.5."
        )
    return tuple(values)


def label_efficiency(
    pair, results: dict, X, y, *, task: str, folds, fractions, random_state: int, progress
) -> pd.DataFrame:
    """Per-fold scores of ``pair`` (best transfer, best baseline candidate) on
    ``fractions`` of each training fold.

    Returns a long table: ``candidate``, ``kind``, ``fraction``, ``fold``,
    ``train_rows`` and ``score`` (the task's primary metric; NaN where a subset
    could not be trained, for example fewer rows than classes).
    """
    metric = primary_metric(task)
    score = METRICS[task][metric][0]
    y = np.asarray(y)
    folds = first_repeat(folds)
    rows = []
    for cand in pair:
        full = results[cand.name].scores[metric]
        for fraction in fractions:
            progress.stage(f"{cand.name:<36.36} {fraction:.0%} labels")
            for k, (train, test) in enumerate(folds):
                row = {"candidate": cand.name, "kind": cand.kind, "fraction": fraction, "fold": k}
                if fraction >= 1:
                    rows.append({**row, "train_rows": len(train), "score": full[k]})
                    continue
                n = max(1, round(fraction * len(train)))
                value = np.nan
                try:
                    part = train[_subset(y[train], n, task, random_state + k)]
                    model = _fresh(cand, task, random_state, y[part])
                    with one_blas_thread():
                        model.fit(X.iloc[part], y[part])
                        value = float(score(y[test], model.predict(X.iloc[test])))
                except Exception:  # too few rows for this fraction: a gap in the curve
                    pass
                rows.append({**row, "train_rows": n, "score": value})
                progress.step()
        progress.mark()  # this candidate's curve is done
    return pd.DataFrame(rows)


def _subset(y_train, n: int, task: str, seed: int) -> np.ndarray:
    if task == "classification":
        return stratified_subset(y_train, n, seed, param="fraction")
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(len(y_train), n, replace=False))


def _fresh(cand, task: str, random_state: int, y_part):
    """An unfitted copy of ``cand`` whose head is built for ``y_part``'s size (a
    head tuned by inner cross-validation needs to know how many rows a class has)."""
    model = clone(cand.pipeline)
    if cand.head in HEADS and "head" in model.named_steps:
        rows = int(pd.Series(y_part).value_counts().min()) if task == "classification" else None
        model.set_params(head=HEADS[cand.head].build(task, random_state, rows))
    return model


def summarize(points: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Mean, std and number of scored folds per candidate and fraction."""
    grouped = points.groupby(["candidate", "kind", "fraction"], sort=False)
    table = grouped.agg(
        train_rows=("train_rows", "mean"),
        mean=("score", "mean"),
        std=("score", "std"),
        folds=("score", "count"),
    ).reset_index()
    return table.rename(columns={"mean": f"{metric}_mean", "std": f"{metric}_std"})


def efficiency_verdict(summary: pd.DataFrame, metric: str) -> str:
    """One line: with what share of the labels transfer reaches the baseline's
    full-data score (its mean curve at or above it from that share on), or
    that it never does."""
    base = summary[summary["kind"] == "baseline"]
    transfer = summary[summary["kind"] == "transfer"].sort_values("fraction")
    target = float(base.loc[base["fraction"] == 1, f"{metric}_mean"].iloc[0])
    name = transfer["candidate"].iloc[0]
    first = None
    for row in transfer.iloc[::-1].to_dict("records"):  # from all labels down
        if not row[f"{metric}_mean"] >= target - 1e-12:
            break
        first = row
    if first is None:
        full = float(transfer[f"{metric}_mean"].iloc[-1])
        return (
            f"transfer never reaches the baseline's full-data score: {name} scores {full:.3f} "
            f"{metric} with all the labels, the baseline {target:.3f}"
        )
    fewest = first["fraction"] == transfer["fraction"].iloc[0] and first["fraction"] < 1
    return (
        f"transfer reaches the baseline's full-data score with {first['fraction']:.0%} of "
        f"the labels{' (the fewest tried)' if fewest else ''}: {name} scores "
        f"{first[f'{metric}_mean']:.3f} {metric} on {first['train_rows']:.0f} training rows "
        f"per fold, the baseline {target:.3f} on all {_full_rows(transfer):.0f}"
    )


def _full_rows(part: pd.DataFrame) -> float:
    return float(part.loc[part["fraction"] == 1, "train_rows"].iloc[0])


def plot_efficiency(summary: pd.DataFrame, metric: str, verdict: str, path) -> object:
    """Score against the share of labels, one line (mean ± std over folds) per candidate."""
    from ._report import _pyplot, _save

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    colors = {"baseline": "tab:orange", "transfer": "tab:blue"}
    for (name, kind), part in summary.groupby(["candidate", "kind"], sort=False):
        x = part["fraction"].to_numpy() * 100
        mean = part[f"{metric}_mean"].to_numpy()
        std = np.nan_to_num(part[f"{metric}_std"].to_numpy())
        color = colors.get(kind, "tab:gray")
        ax.plot(x, mean, "o-", color=color, label=name)
        ax.fill_between(x, mean - std, mean + std, color=color, alpha=0.15)
        if kind == "baseline":
            ax.axhline(mean[-1], color=color, ls="--", lw=1, label="baseline, all labels")
    ax.set_xscale("log")
    ticks = summary["fraction"].unique() * 100
    ax.set_xticks(ticks, [f"{t:g}%" for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel("share of each training fold's labels")
    ax.set_ylabel(f"{metric} on the test fold")
    ax.set_title("\n".join(_wrap(verdict, 80)), fontsize=8)
    ax.legend(fontsize=8)
    return _save(fig, path)


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width)
