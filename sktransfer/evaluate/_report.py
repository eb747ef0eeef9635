"""The leaderboard as text, CSV, JSON and PNG plots."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ._crossval import METRICS, Result, primary_metric


def describe_folds(cv, repeats=1) -> str:
    """``"5-fold cross-validation × 3 repeats"`` (``"5-fold cross-validation"`` for one)."""
    repeats = int(repeats or 1)
    return f"{cv}-fold cross-validation" + (f" × {repeats} repeats" if repeats > 1 else "")


def format_leaderboard(board: pd.DataFrame, task: str) -> str:
    """A fixed-width table for the terminal: mean ± std per metric, time, gain."""
    primary = primary_metric(task)
    table = pd.DataFrame({"#": board["rank"], "candidate": board["candidate"]})
    for metric in METRICS[task]:
        table[metric] = [
            f"{m:.3f} ± {s:.3f}"
            for m, s in zip(board[f"{metric}_mean"], board[f"{metric}_std"], strict=True)
        ]
    table[f"vs best baseline ({primary}, 95% interval)"] = _verdicts(board, primary)
    table["time"] = [f"{s:.1f}s" for s in board["seconds"]]
    if "rows_per_second" in board and board["rows_per_second"].notna().any():
        table["embedding"] = [
            "" if np.isnan(r) else f"{r:,.0f} rows/s" for r in board["rows_per_second"]
        ]
    return table.to_string(index=False)


def _verdicts(board: pd.DataFrame, primary: str) -> list[str]:
    """``+0.012 [-0.020, +0.044] tie`` per row (see ``_verdict.py``); the best baseline
    reads ``baseline``."""
    if "verdict" not in board:  # a board made without verdicts: the gain alone
        return [
            "" if kind != "transfer" or np.isnan(g) else f"{g:+.3f}"
            for kind, g in zip(board["kind"], board[f"gain_{primary}"], strict=True)
        ]
    out = []
    for row in board.to_dict("records"):
        verdict, gain = row["verdict"], row[f"gain_{primary}"]
        if verdict in ("", "baseline") or not isinstance(verdict, str) or np.isnan(gain):
            out.append(verdict if isinstance(verdict, str) else "")
        else:
            out.append(f"{gain:+.3f} [{row['ci_low']:+.3f}, {row['ci_high']:+.3f}] {verdict}")
    return out


def write_tables(out: Path, board: pd.DataFrame, results: list[Result], meta: dict) -> list[Path]:
    """``leaderboard.csv``, ``leaderboard.json`` (with run details) and ``folds.csv``."""
    out.mkdir(parents=True, exist_ok=True)
    board.to_csv(out / "leaderboard.csv", index=False)
    folds = pd.DataFrame(
        [
            {"candidate": r.name, "fold": i, "metric": metric, "score": value}
            for r in results
            for metric, values in r.scores.items()
            for i, value in enumerate(values)
        ]
    )
    folds.to_csv(out / "folds.csv", index=False)
    payload = {**meta, "leaderboard": json.loads(board.to_json(orient="records"))}
    (out / "leaderboard.json").write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return [out / "leaderboard.csv", out / "leaderboard.json", out / "folds.csv"]


def write_failed(out: Path, failed: list[dict]) -> list[Path]:
    """``failed.csv``: the candidates left out of the leaderboard and why (none: no file)."""
    return _write_list(out / "failed.csv", pd.DataFrame(failed, columns=["candidate", "cause"]))


def write_skipped(out: Path, skipped: pd.DataFrame) -> list[Path]:
    """``skipped_rows.csv``: the rows left out as unusable and why (none: no file)."""
    return _write_list(out / "skipped_rows.csv", skipped)


def _write_list(path: Path, table: pd.DataFrame) -> list[Path]:
    if table.empty:
        path.unlink(missing_ok=True)  # a previous run's list would be read as this one's
        return []
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False)
    return [path]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    """Lay out, write as PNG and close ``fig`` (made through :func:`_pyplot`)."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_fold_scores(results: list[Result], board: pd.DataFrame, metric: str, path: Path) -> Path:
    """Each candidate's per-fold scores as dots and their mean as a bar, best on top."""
    plt = _pyplot()
    order = list(board["candidate"])[::-1]
    by_name = {r.name: r for r in results}
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(order) + 1.5))
    colors = {"reference": "0.6", "baseline": "tab:orange", "transfer": "tab:blue"}
    for i, name in enumerate(order):
        res = by_name[name]
        values = res.scores[metric]
        ax.barh(i, np.mean(values), color=colors.get(res.kind, "tab:blue"), alpha=0.35)
        ax.plot(values, np.full(len(values), i), "o", color=colors.get(res.kind, "tab:blue"))
    ax.set_yticks(range(len(order)), order)
    ax.set_xlabel(f"{metric} per fold (bar: mean)")
    ax.set_title("Cross-validated scores")
    return _save(fig, path)


def plot_confusion(y_true, y_pred, title: str, path: Path) -> Path:
    """Confusion matrix of out-of-fold predictions (counts)."""
    from sklearn.metrics import ConfusionMatrixDisplay

    plt = _pyplot()
    labels = np.unique(np.concatenate([np.asarray(y_true), np.asarray(y_pred)]))
    fig, ax = plt.subplots(figsize=(0.5 * len(labels) + 4, 0.5 * len(labels) + 3.5))
    ConfusionMatrixDisplay.from_predictions(
        y_true, y_pred, labels=labels, ax=ax, colorbar=False, xticks_rotation=45
    )
    ax.set_title(title, fontsize=9)
    return _save(fig, path)


def plot_predicted_vs_true(y_true, y_pred, title: str, path: Path) -> Path:
    """Out-of-fold predictions against the truth, for numeric targets."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(y_true, y_pred, s=8, alpha=0.6)
    lo, hi = float(np.min(y_true)), float(np.max(y_true))
    ax.plot([lo, hi], [lo, hi], "k--", lw=1)
    ax.set_xlabel("true")
    ax.set_ylabel("predicted (out of fold)")
    ax.set_title(title, fontsize=9)
    return _save(fig, path)


def write_plots(out: Path, board: pd.DataFrame, results: list[Result], y, task: str) -> list[Path]:
    """``scores.png`` and the best candidate's ``confusion_matrix.png`` (or
    ``predicted_vs_true.png``)."""
    out.mkdir(parents=True, exist_ok=True)
    by_name = {r.name: r for r in results}
    ranked = [by_name[name] for name in board["candidate"]]
    best = ranked[0]
    paths = [plot_fold_scores(results, board, primary_metric(task), out / "scores.png")]
    title = f"{best.name} (out-of-fold)"
    if task == "classification":
        paths.append(plot_confusion(y, best.oof_pred, title, out / "confusion_matrix.png"))
    else:
        paths.append(plot_predicted_vs_true(y, best.oof_pred, title, out / "predicted_vs_true.png"))
    return paths  # learning_curve.png (every fold): Evaluation.write, from _curves.py
