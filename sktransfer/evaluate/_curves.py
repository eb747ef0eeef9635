"""The learning curve of a head trained in epochs, over every fold.

Each fold trains its own head, with early stopping, so folds stop at different
epochs: the curve at an epoch is the mean (± std) over the folds that reached
it, drawn as far as at least half of the folds went (beyond, a mean of one or
two folds would read as a trend). The best epoch, where that mean validation
loss is lowest, is marked.
"""

from __future__ import annotations

import numpy as np


def epoch_table(histories: list[list[dict]], key: str) -> np.ndarray:
    """``key`` per fold (rows) and epoch (columns), NaN after a fold stopped; only
    the epochs at least half of the folds reached."""
    lengths = sorted((len(h) for h in histories), reverse=True)
    width = lengths[(len(lengths) - 1) // 2] if lengths else 0
    table = np.full((len(histories), width), np.nan)
    for i, history in enumerate(histories):
        for j, epoch in enumerate(history[:width]):
            if key in epoch and epoch[key] is not None:
                table[i, j] = float(epoch[key])
    return table


def best_epoch(histories: list[list[dict]]) -> int | None:
    """The epoch (from 1) of the lowest mean validation loss over folds, or None."""
    table = epoch_table(histories, "valid_loss")
    if not table.size or np.isnan(table).all():
        return None
    with np.errstate(all="ignore"):
        mean = np.nanmean(table, axis=0)
    return int(np.nanargmin(mean)) + 1


def plot_learning_curves(histories: list[list[dict]], title: str, path):
    """Training and validation loss per epoch, mean ± std over folds, best epoch marked."""
    from ._report import _pyplot, _save

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for key, color in (("train_loss", "tab:blue"), ("valid_loss", "tab:orange")):
        table = epoch_table(histories, key)
        if not table.size or np.isnan(table).all():
            continue
        with np.errstate(all="ignore"):
            mean, std = np.nanmean(table, axis=0), np.nanstd(table, axis=0)
        epochs = np.arange(1, table.shape[1] + 1)
        ax.plot(epochs, mean, color=color, label=f"{key.replace('_', ' ')} (mean)")
        ax.fill_between(epochs, mean - std, mean + std, color=color, alpha=0.2)
    best = best_epoch(histories)
    if best is not None:
        ax.axvline(best, color="k", ls="--", lw=1, label=f"best epoch: {best}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(
        f"{title}\nmean ± std over {len(histories)} folds (epochs at least half of them reached)",
        fontsize=9,
    )
    ax.legend(fontsize=8)
    return _save(fig, path)
