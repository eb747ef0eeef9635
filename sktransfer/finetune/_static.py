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
from ..text._static import token_ids


def token_vectors(model) -> np.ndarray:
    """One float32 vector per token id of a model2vec ``model``: its row of the
    embedding (through the model's token mapping) times the token's weight."""
    vectors = np.asarray(model.embedding, dtype=np.float32)
    if model.token_mapping is not None:
        vectors = vectors[np.asarray(model.token_mapping)]
    if model.weights is not None:
        vectors = vectors * np.asarray(model.weights, dtype=np.float32)[:, None]
    return vectors


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
