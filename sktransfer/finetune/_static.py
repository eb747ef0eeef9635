"""The static plan: a static model's token vectors train with the head.

A :class:`~sktransfer.StaticEmbedder` embeds a text as the mean of its tokens'
vectors (each scaled by the model's token weight, when it has them). With
``unfreeze`` other than 0 a copy of the vectors of the tokens in the training
texts trains with the head on the labels (the shared loaded model is never
touched; other tokens keep their vectors). The texts are tokenized once, as
the embedder tokenizes them; each batch is padded with an id the mean leaves
out, so a text's vector at the start of training is exactly the embedder's.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from ..io import text_rows
from ..text._static import token_ids, token_vectors
from ._training import seeded


class StaticBody(nn.Module):
    """Token ids (shifted by one; 0 pads) -> the mean of their vectors, unit
    length when ``normalize``.

    Only the vectors of ``trained`` token ids (those of the training texts) are
    parameters; every other token keeps its vector, so the optimizer updates a
    few thousand rows, not the whole vocabulary, at every step.
    """

    def __init__(self, vectors: np.ndarray, trained: np.ndarray, normalize: bool):
        super().__init__()
        table = torch.zeros(len(vectors) + 1, vectors.shape[1])
        table[1:] = torch.from_numpy(vectors)
        trained = np.unique(np.asarray(trained, dtype=np.int64))  # shifted ids
        slot = torch.zeros(len(table), dtype=torch.long)  # 0: the token keeps its vector
        slot[torch.from_numpy(trained)] = torch.arange(1, len(trained) + 1)
        self.register_buffer("table", table)
        self.register_buffer("slot", slot)
        self.tuned = nn.Parameter(torch.cat([torch.zeros(1, table.shape[1]), table[trained]]))
        self.normalize = normalize

    def forward(self, ids):
        slot = self.slot[ids]
        vectors = torch.where((slot > 0).unsqueeze(-1), self.tuned[slot], self.table[ids])
        mask = (ids > 0).unsqueeze(-1).to(vectors.dtype)
        out = (vectors * mask).sum(1) / mask.sum(1).clamp(min=1)
        return nn.functional.normalize(out, dim=1) if self.normalize else out

    def token_vectors(self) -> np.ndarray:
        """Every token's vector now (row ``i`` for token id ``i``), as NumPy."""
        with torch.no_grad():
            table = self.table.clone()
            tuned = self.slot > 0
            table[tuned] = self.tuned[self.slot[tuned]]
        return table[1:].cpu().numpy()


class TokenIds(Dataset):
    """Each text's known token ids, shifted by one (a text with none: the pad)."""

    def __init__(self, texts, model):
        self.items = [
            torch.from_numpy(ids.astype(np.int64) + 1)
            if len(ids)
            else torch.zeros(1, dtype=torch.long)
            for ids in token_ids(model, texts)
        ]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


class StaticBackbonePlan:
    """The token vectors of a static model train with the head."""

    num_workers = 0

    def __init__(self, embedder):
        self.embedder = embedder

    def fit(self, X, targets=None):
        enc = self.embedder.fit(X)
        model = enc.model_
        source = self.inputs(X, training=True)
        seen = torch.cat(source.items).numpy()
        seen = seen[seen > 0]
        body = StaticBody(token_vectors(model), seen, bool(model.normalize or enc.normalize))
        return source, body, enc.n_features_out_

    def inputs(self, X, training=False):
        return TokenIds(text_rows(X).values, self.embedder.model_)


def _padded(items, rows):
    return nn.utils.rnn.pad_sequence([items[i] for i in rows], batch_first=True)


def _weights(vectors, seen_ids, normalize, coef, intercept):
    body = StaticBody(vectors, seen_ids, normalize)
    head = nn.Linear(coef.shape[1], coef.shape[0])
    with torch.no_grad():
        head.weight.copy_(torch.from_numpy(np.asarray(coef, dtype=np.float32)))
        head.bias.copy_(torch.from_numpy(np.asarray(intercept, dtype=np.float32)))
    return body, head


def train_tokens_and_head(
    vectors: np.ndarray,
    ids: list,
    codes: np.ndarray,
    coef: np.ndarray,
    intercept: np.ndarray,
    *,
    normalize: bool,
    epochs: int,
    lr: float,
    batch_size: int,
    l2: float,
    seed: int,
    valid: tuple | None = None,
    patience: int = 3,
    count=None,
):
    """Train the vectors of the tokens in ``ids`` and a softmax head on class
    ``codes``, starting from ``coef`` / ``intercept`` (a logistic regression's
    solution on the frozen vectors, one row per class).

    ``ids``: per text, its known token ids (unshifted); ``l2``: the head's
    penalty per row (a logistic regression's ``1 / (2 C n)``), so the start is
    the loss's optimum for the head. With ``valid`` (``(ids, codes)``), the
    validation log-loss is measured before training and after each epoch;
    training stops ``patience`` epochs after the best. ``count`` advances by
    one per batch.

    Returns ``(token ids trained, their vectors, coef, intercept, losses)``
    (NumPy, the state after the last epoch) and ``losses`` the validation
    log-loss per epoch, index 0 the start (empty without ``valid``).
    """
    items = [torch.from_numpy(np.asarray(i, dtype=np.int64) + 1) for i in ids]
    seen = torch.cat(items).numpy()
    targets = torch.from_numpy(np.asarray(codes, dtype=np.int64))
    losses = []
    with seeded(seed, torch.device("cpu")):
        body, head = _weights(vectors, seen, normalize, coef, intercept)
        optimizer = torch.optim.Adam([body.tuned, *head.parameters()], lr=lr)
        if valid is not None:
            v_items = [torch.from_numpy(np.asarray(i, dtype=np.int64) + 1) for i in valid[0]]
            v_batch, v_targets = _padded(v_items, range(len(v_items))), torch.as_tensor(valid[1])

            def valid_loss():
                with torch.no_grad():
                    out = head(body(v_batch))
                    return float(nn.functional.cross_entropy(out, v_targets))

            losses.append(valid_loss())
        best, since = (losses[0] if losses else None), 0
        for _ in range(epochs):
            order = torch.randperm(len(items))
            for start in range(0, len(items), batch_size):
                rows = order[start : start + batch_size]
                out = head(body(_padded(items, rows.tolist())))
                loss = nn.functional.cross_entropy(out, targets[rows])
                loss = loss + l2 * head.weight.pow(2).sum()
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                if count is not None:
                    count.update(1)
            if valid is not None:
                losses.append(valid_loss())
                if losses[-1] < best:
                    best, since = losses[-1], 0
                else:
                    since += 1
                    if since >= patience:
                        break
    with torch.no_grad():
        trained = np.unique(seen) - 1
        table = body.token_vectors()
        return (
            trained.astype(np.int64),
            table[trained],
            head.weight.detach().cpu().numpy(),
            head.bias.detach().cpu().numpy(),
            losses,
        )
