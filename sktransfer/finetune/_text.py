"""The text plan: what trains when a TextEmbedder's transformer layers take part.

When transformer layers train, a copy of the sentence-transformers model
trains (the shared loaded copy is never touched). The frozen layers still run
on every batch, without gradients: a transformer layer takes an attention-mask
format that is internal to each ``transformers`` version, so calling the
layers one by one to start from cached hidden states would break with it.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.utils.data import Dataset

from ..io import text_rows
from ..text import TextEmbedder
from ._blocks import freeze, named_blocks


class SentenceBody(nn.Module):
    """A sentence-transformers model as a module: token tensors -> sentence embedding."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(dict(x))["sentence_embedding"]


def text_blocks(body: nn.Module) -> list[list[str]]:
    """The transformer layers of a sentence model (embeddings join the first)."""
    from transformers import PreTrainedModel

    for name, module in body.named_modules():
        if isinstance(module, PreTrainedModel):
            return named_blocks(module.named_parameters(), prefix=f"{name}.")
    return named_blocks(body.named_parameters())


class TokenizedTexts(Dataset):
    """Texts tokenised once by the model's own preprocessing, kept unpadded;
    :func:`collate` pads each batch to its longest row."""

    def __init__(self, texts, model, chunk: int = 256):
        self.items = []
        for start in range(0, len(texts), chunk):
            features = model.preprocess(texts[start : start + chunk])
            mask = features["attention_mask"].bool()
            keys = [
                k
                for k, v in features.items()
                if isinstance(v, torch.Tensor) and v.shape == mask.shape
            ]
            for i in range(mask.shape[0]):
                self.items.append({k: features[k][i][mask[i]] for k in keys})

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


class TextBackbonePlan:
    """A copy of the sentence model trains (its last layers, or all of it)."""

    num_workers = 0

    def __init__(self, embedder: TextEmbedder, unfreeze):
        self.embedder, self.unfreeze = embedder, unfreeze

    def fit(self, X, targets=None):
        enc = self.embedder.fit(X)
        body = SentenceBody(copy.deepcopy(enc.model_))
        freeze(body, text_blocks(body), self.unfreeze)
        return self.inputs(X, training=True), body, enc.n_features_out_

    def inputs(self, X, training=False):
        return TokenizedTexts(text_rows(X).values, self.embedder.model_)
