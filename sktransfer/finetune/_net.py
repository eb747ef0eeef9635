"""The torch side of fine-tuning: what skorch trains and how batches reach it.

Every batch is ``({"x": inputs, "w": sample weights}, targets)``. ``x`` is
whatever the trained body takes: pooled embeddings (head only), a cached
feature map (frozen prefix), an image tensor, or a dict of token tensors.
"""

from __future__ import annotations

import math
import sys

import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, PrintLog
from skorch.utils import to_tensor
from torch import nn
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import Dataset, default_collate

from .._normalize import l2_normalize
from .._progress import current, is_terminal, plain


def frozen_modules(module: nn.Module) -> list[str]:
    """Names of the largest submodules whose parameters are all frozen.

    They are kept in eval mode while the rest trains, so BatchNorm statistics
    and dropout of frozen blocks behave as at inference (``""`` = all of it).
    """
    found: list[str] = []
    for name, sub in module.named_modules():
        if any(name == f or name.startswith(f + ".") or f == "" for f in found):
            continue
        params = list(sub.parameters())
        if params and not any(p.requires_grad for p in params):
            found.append(name)
    return found


class L2Normalize(nn.Module):
    """What an embedder's ``normalize=True`` does, for a trained body."""

    def forward(self, x):
        return l2_normalize(x)


class TransferModule(nn.Module):
    """``body`` (a backbone, part of one, or nothing) followed by ``head``.

    The body's parameters are frozen or not before this module is built; its
    frozen parts stay in eval mode during training.
    """

    def __init__(self, body: nn.Module | None, head: nn.Module):
        super().__init__()
        self.body = body if body is not None else nn.Identity()
        self.head = head
        self.frozen = frozen_modules(self.body)

    def forward(self, x, w=None):  # w: the sample weights, used by the loss only
        if self.frozen == [""]:
            with torch.no_grad():
                features = self.body(x)
        else:
            features = self.body(x)
        return self.head(features)

    def train(self, mode: bool = True):
        super().train(mode)
        if mode:
            for name in self.frozen:
                self.body.get_submodule(name).eval()
        return self


class Examples(Dataset):
    """Rows for skorch: item ``i`` is ``({"x": source[i], "w": w[i]}, y[i])``."""

    def __init__(self, source, y=None, w=None):
        self.source, self.y, self.w = source, y, w

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, i):
        w = self.w[i] if self.w is not None else torch.tensor(1.0)
        y = self.y[i] if self.y is not None else torch.tensor(0)
        return {"x": self.source[i], "w": w}, y

    def __getitems__(self, indices):
        """A whole batch at once when the source is a tensor (embeddings, cached
        feature maps): one indexing operation instead of one per row. The
        DataLoader hands the result to :func:`collate`, which passes it through."""
        if not isinstance(self.source, torch.Tensor):
            return [self[i] for i in indices]
        idx = torch.as_tensor(indices)
        w = self.w[idx] if self.w is not None else torch.ones(len(idx))
        y = self.y[idx] if self.y is not None else torch.zeros(len(idx), dtype=torch.long)
        return Batch(({"x": self.source[idx], "w": w}, y))


class Batch(tuple):
    """A batch that :meth:`Examples.__getitems__` already assembled."""


def collate(batch):
    """``default_collate``, except that 1-D tensors of unequal length (token ids,
    attention masks) are right-padded with zeros; the mask hides the padding."""
    if isinstance(batch, Batch):
        return tuple(batch)
    first = batch[0]
    if isinstance(first, dict):
        return {key: collate([b[key] for b in batch]) for key in first}
    if isinstance(first, (tuple, list)):
        return type(first)(collate(list(items)) for items in zip(*batch, strict=True))
    if (
        isinstance(first, torch.Tensor)
        and first.ndim == 1
        and any(b.shape != first.shape for b in batch)
    ):
        return pad_sequence(batch, batch_first=True, padding_value=0)
    return default_collate(batch)


class Schedule:
    """Learning-rate factor per optimizer step, for ``LambdaLR``.

    ``"cosine"``: linear warm-up from 0, then cosine decay to 0.
    ``"onecycle"``: from lr/25 up to lr during the warm-up, then down to
    lr/250000, both along a cosine (Smith's one-cycle policy, without the
    momentum cycle).
    """

    def __init__(self, kind: str, total_steps: int, warmup: float):
        self.kind = kind
        self.total_steps = max(int(total_steps), 1)
        self.warmup_steps = round(warmup * self.total_steps)

    def __call__(self, step: int) -> float:
        up = self.warmup_steps
        if step < up:
            t = step / up
            if self.kind == "cosine":
                return t
            return 1 / 25 + (1 - 1 / 25) * (1 - math.cos(math.pi * t)) / 2
        t = min((step - up) / max(self.total_steps - up, 1), 1.0)
        low = 0.0 if self.kind == "cosine" else 1 / 25 / 1e4
        return low + (1 - low) * (1 + math.cos(math.pi * t)) / 2


class EpochTable(PrintLog):
    """skorch's table of losses per epoch, written above sktransfer's progress
    line, and without colour codes when stdout is not a terminal."""

    def format_row(self, row, key, color):
        text = super().format_row(row, key, color)
        return text if is_terminal(sys.stdout) or not isinstance(text, str) else plain(text)

    def _sink(self, text, verbose):
        if not verbose:
            return
        shown = current()
        if self.sink is print and shown is not None:
            shown.write(text, file=sys.stdout)
        else:
            self.sink(text)


class CountBatches(Callback):
    """Advance a progress count after each training batch: by one, or by the
    batch's rows (``rows=True``)."""

    def __init__(self, count, rows: bool = False):
        self.count, self.rows = count, rows

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        if training:
            self.count.update(len(batch[1]) if self.rows else 1)


class Net(NeuralNet):
    """skorch's ``NeuralNet`` with per-row weights in the loss.

    The criterion is built with ``reduction="none"``; each row's loss is
    averaged over its outputs, multiplied by its weight (``X["w"]``, which the
    estimator normalises to mean 1 over the training rows) and averaged.
    Only parameters that require a gradient reach the optimizer. The table of
    losses (``verbose``) is :class:`EpochTable`.
    """

    @property
    def _default_callbacks(self):
        return [
            (name, EpochTable() if name == "print_log" else callback)
            for name, callback in super()._default_callbacks
        ]

    def get_loss(self, y_pred, y_true, X=None, training=False):
        loss = super().get_loss(y_pred, y_true, X=X, training=training)
        if loss.ndim > 1:
            loss = loss.flatten(1).mean(dim=1)
        weights = to_tensor(X["w"], device=self.device).to(loss.dtype)
        return (loss * weights).mean()

    def get_all_learnable_params(self):
        for name, param in super().get_all_learnable_params():
            if param.requires_grad:
                yield name, param

    # A pickle holds the trained weights once and no optimizer state. skorch
    # stores ``module_`` apart from the other attributes, so the ``module``
    # parameter (the same object here) would be stored a second time; and the
    # optimizer holds the trained parameters again plus Adam's two moments
    # (three times their size). After unpickling, ``module`` is ``module_``
    # again and the optimizer starts afresh on the trained weights: further
    # training works, with new moments. ``net_.save_params(f_optimizer=...)``
    # saves the optimizer's state for whoever needs it.
    def __getstate__(self):
        shared = self.__dict__.get("module") is self.__dict__.get("module_", False)
        optimizer = self.__dict__.pop("optimizer_", None)
        try:
            state = super().__getstate__()
        finally:
            if optimizer is not None:
                self.optimizer_ = optimizer
        if shared:
            state["module"] = _SAME_AS_MODULE_
        state["_rebuild_optimizer"] = optimizer is not None
        return state

    def __setstate__(self, state):
        rebuild = state.pop("_rebuild_optimizer", False)
        shared = isinstance(state.get("module"), str) and state["module"] == _SAME_AS_MODULE_
        super().__setstate__(state)
        if shared:
            self.module = self.module_
        if rebuild:
            self.initialize_optimizer()


_SAME_AS_MODULE_ = "<the trained module_>"
