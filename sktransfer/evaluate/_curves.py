"""The learning curve of a head trained in epochs, over every fold.

Each fold trains its own head, with early stopping, so folds stop at different
epochs: the curve at an epoch is the mean (± std) over the folds that reached
it. The best epoch, where the mean validation loss is lowest, is marked.
"""

from __future__ import annotations

import numpy as np


def epoch_table(histories: list[list[dict]], key: str) -> np.ndarray:
    """``key`` per fold (rows) and epoch (columns), NaN after a fold stopped."""
    width = max((len(h) for h in histories), default=0)
    table = np.full((len(histories), width), np.nan)
    for i, history in enumerate(histories):
        for j, epoch in enumerate(history):
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
    ax.set_title(f"{title}\n{len(histories)} folds, band: ± std", fontsize=9)
    ax.legend(fontsize=8)
    return _save(fig, path)
